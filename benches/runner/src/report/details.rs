//! The "every cell" table: each cell's figures, resources and status.

use std::fmt::Write as _;

use super::table::{spread, status_text, table_head, table_row};
use crate::model::{CellResult, Load, Status};
use crate::summary::Summary;

/// Appends the table of every cell and its notes.
pub fn markdown(out: &mut String, results: &[CellResult]) {
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
        (Load::Saturation(s), route) => format!("{} keep-alive{}", s.connections, route.via()),
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
    // The HTTP ceilings answer 200 and write no row.
    let count = |n: u64| match c.variant.inserts() {
        true => n.to_string(),
        false => "—".to_string(),
    };
    row.extend([
        format!("{:.0}", s.requests),
        count(last.created),
        count(last.rows),
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
