//! The markdown printed on stdout: the seed rounds in the published table's shape with
//! the published numbers beside ours, the saturation rounds, and every cell in detail.

use std::fmt::Write as _;

use crate::bench::{best_variant, CellResult, Status};
use crate::cell::{Load, Route};
use crate::cli::Config;
use crate::machine::Machine;
use crate::summary::Summary;
use crate::system::System;

/// The whole markdown report.
pub fn markdown(results: &[CellResult], machine: &Machine, cfg: &Config) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# prefork bench, {}\n", machine.date);
    let _ = writeln!(out, "Machine: {}.\n", machine.summary());
    crate::compare::knobs_line(&mut out, cfg);
    if results.iter().any(|r| r.cell.is_seed()) {
        crate::seed_table::markdown(&mut out, results, cfg);
    }
    if results.iter().any(|r| !r.cell.is_seed()) {
        saturation_table(&mut out, results, cfg);
    }
    crate::compare::markdown(&mut out, results, cfg);
    details_table(&mut out, results);
    out
}

/// `skipped: …` / `FAIL: …`, or None for a measured cell.
pub fn status_text(r: &CellResult) -> Option<String> {
    let note = || short(r.note.as_deref().unwrap_or(""));
    match r.status {
        Status::Ok if !r.runs.is_empty() => None,
        Status::Ok => Some("—".into()),
        Status::Skipped => Some(format!("skipped: {}", note())),
        Status::Fail => Some(format!("**FAIL**: {}", note())),
    }
}

/// `, 3010–3200`: the spread of repeated runs' rates (nothing for one run).
pub fn spread(s: &Summary) -> String {
    if s.runs < 2 {
        return String::new();
    }
    format!(", {:.0}–{:.0}", s.rps_min, s.rps_max)
}

/// ` ⚠ 3 errors`, or nothing.
pub fn errors(s: &Summary) -> String {
    if s.errors == 0 {
        return String::new();
    }
    format!(" ⚠ {} errors", s.errors)
}

/// The first line of a note, cut to fit a table cell, without `|`.
fn short(note: &str) -> String {
    let line = note.lines().next().unwrap_or("").replace('|', "/");
    if line.chars().count() <= 70 {
        return line;
    }
    let cut: String = line.chars().take(69).collect();
    format!("{cut}…")
}

fn saturation_table(out: &mut String, results: &[CellResult], cfg: &Config) {
    let s = cfg.saturation;
    let _ = writeln!(
        out,
        "## Saturation: {} keep-alive connections, about {} s per run, each system at its best seed-round mode\n",
        s.connections,
        s.duration.as_secs_f64()
    );
    let head = [
        "system",
        "run mode",
        "direct req/s",
        "p50 ms",
        "p99 ms",
        "via nginx req/s",
        "p50 ms",
        "p99 ms",
    ];
    table_head(out, &head.map(String::from));
    for system in System::ALL {
        let best = best_variant(results, system);
        let find = |route| {
            results
                .iter()
                .find(|r| !r.cell.is_seed() && r.cell.variant == best && r.cell.route == route)
        };
        let (direct, nginx) = (find(Route::Direct), find(Route::Nginx));
        let Some(any) = direct.or(nginx) else {
            continue;
        };
        let mut row = vec![system.title().to_string(), any.cell.variant.label()];
        row.extend(saturation_cols(direct));
        row.extend(saturation_cols(nginx));
        table_row(out, &row);
    }
    if let Some(r) = results.iter().find(|r| r.cell.system() == System::Pgbench) {
        let mut row = vec![ceiling_title(s.connections), r.cell.variant.label()];
        row.extend(saturation_cols(Some(r)));
        row.extend(saturation_cols(None));
        table_row(out, &row);
    }
    let _ = writeln!(
        out,
        "\nThe pgbench row is the database's own ceiling for this load: the same \
         `INSERT … RETURNING`, prepared, one per transaction, from {} clients on the same \
         private cluster, no HTTP; its rate is pgbench's tps without connection time, its \
         latency that of a 10% sample, and its rows are checked against its transactions.",
        s.connections
    );
    let _ = writeln!(
        out,
        "\nEach run's length is sized from its warm-up rate (loops = rate × duration ÷ \
         connections), so every request is counted and the row count is checked exactly. \
         Gunicorn's sync worker closes each connection despite keep-alive.\n"
    );
}

/// The ceiling row's title: `pgbench (same INSERT, 64 clients) — ceiling`.
pub fn ceiling_title(clients: u64) -> String {
    format!("pgbench (same INSERT, {clients} clients) — ceiling")
}

fn saturation_cols(r: Option<&CellResult>) -> [String; 3] {
    let Some(r) = r else {
        return ["—".into(), "—".into(), "—".into()];
    };
    if let Some(text) = status_text(r) {
        return [text, String::new(), String::new()];
    }
    let s = Summary::of(r).expect("an ok cell has runs");
    [
        format!("{:.0}{}{}", s.rps, spread(&s), errors(&s)),
        format!("{:.2}", s.p50_ms),
        format!("{:.2}", s.p99_ms),
    ]
}

fn details_table(out: &mut String, results: &[CellResult]) {
    let _ = writeln!(out, "## Every cell\n");
    let head = [
        "system",
        "mode",
        "load",
        "requests",
        "201",
        "rows",
        "errors",
        "time s",
        "req/s",
        "p50 ms",
        "p99 ms",
        "peak RSS MiB",
        "worker peak RSS MiB",
        "PSS MiB",
        "server CPU s",
        "PG CPU s",
        "nginx CPU s",
        "status",
    ];
    table_head(out, &head.map(String::from));
    for r in results {
        table_row(out, &detail_row(r));
    }
    let _ = writeln!(
        out,
        "\nPeak RSS: the server's whole process tree, summed, sampled every 100 ms (shared \
         pages count once per process); worker peak RSS: the largest of one process below \
         the server's root (a prefork or Gunicorn worker, a PM2 app), sampled alike; PSS \
         splits shared pages, at the end of the run. CPU: user + \
         system time of the tree during the measured run. Medians over runs; rows and 201s \
         of the last run.\n"
    );
}

fn detail_row(r: &CellResult) -> Vec<String> {
    let c = &r.cell;
    let load = match (c.load, c.route) {
        (Load::Seed(s), _) => format!("{}×{} close", s.users, s.loops),
        (Load::Saturation(s), Route::Direct) => format!("{} keep-alive", s.connections),
        (Load::Saturation(s), Route::Nginx) => format!("{} keep-alive via nginx", s.connections),
    };
    let mut row = vec![c.system().title().to_string(), c.variant.label(), load];
    let status = match r.status {
        Status::Ok => "ok".to_string(),
        _ => status_text(r).unwrap_or_default(),
    };
    let (Some(s), Some(last)) = (Summary::of(r), r.runs.last()) else {
        row.extend(std::iter::repeat_n(String::new(), 14));
        row.push(status);
        return row;
    };
    let opt = |v: Option<f64>| v.map_or("—".into(), |v| format!("{v:.2}"));
    row.extend([
        format!("{:.0}", s.requests),
        last.created.to_string(),
        last.rows.to_string(),
        s.errors.to_string(),
        format!("{:.2}", s.elapsed_s),
        format!("{:.0}{}", s.rps, spread(&s)),
        format!("{:.2}", s.p50_ms),
        format!("{:.2}", s.p99_ms),
        format!("{:.1}", s.peak_rss_mib),
        s.worker_peak_rss_mib
            .map_or("—".into(), |m| format!("{m:.1}")),
        format!("{:.1}", s.pss_mib),
        format!("{:.2}", s.server_cpu_s),
        opt(s.pg_cpu_s),
        opt(s.nginx_cpu_s),
        status,
    ]);
    row
}

/// A markdown table head and its rule.
pub fn table_head(out: &mut String, head: &[String]) {
    table_row(out, head);
    let rule: Vec<String> = head.iter().map(|_| "---".to_string()).collect();
    table_row(out, &rule);
}

/// A markdown table row.
pub fn table_row(out: &mut String, cells: &[String]) {
    let _ = writeln!(out, "| {} |", cells.join(" | "));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Long notes are cut to one line without table-breaking pipes.
    #[test]
    fn short_notes() {
        assert_eq!(short("a | b\nsecond line"), "a / b");
        let long = "x".repeat(100);
        assert_eq!(short(&long).chars().count(), 70);
    }
}
