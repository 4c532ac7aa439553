//! The experiment's comparisons in the report: prefork `--batch 1` vs group commit
//! against the pgbench ceiling, `--accept reuseport` vs `shared` with the workers'
//! balance from `GET /stats`, and the acceptance verdicts.

use std::fmt::Write as _;

use super::table::{ceiling_title, status_text, table_head, table_row};
use crate::cli::Config;
use crate::model::{Accept, Balance, CellResult, Load, Route, Section, Spread, System};
use crate::plan;
use crate::summary::Summary;
use crate::verdict::Verdict;

/// prefork's direct saturation cells with reuseport (without an access log) and the axum
/// peer's pool sizes, in run order, after the ceiling.
pub fn group_commit_table(out: &mut String, results: &[CellResult], cfg: &Config) {
    let ceiling = results
        .iter()
        .find(|r| !r.cell.is_seed() && r.cell.system() == System::Pgbench);
    let rows: Vec<&CellResult> = results
        .iter()
        .filter(|r| !r.cell.is_seed() && r.cell.route == Route::Direct)
        .filter(|r| !r.cell.variant.keeps_access_log())
        .filter(|r| {
            r.cell.system() == System::Axum
                || r.cell
                    .prefork()
                    .is_some_and(|p| p.accept == Accept::Reuseport)
        })
        .collect();
    if ceiling.is_none() && rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## Group commit: {} keep-alive connections, prefork `--batch 1` vs group commit, against the pgbench ceiling\n",
        cfg.saturation.connections
    );
    let head = [
        "row",
        "run mode",
        "req/s",
        "× pgbench",
        "p50 ms",
        "p99 ms",
        "201s = rows",
        "mean batch",
        "worker peak RSS MiB",
    ];
    table_head(out, &head.map(String::from));
    let ceiling_rps = ceiling.and_then(Summary::of).map(|s| s.rps);
    for r in ceiling.into_iter().chain(rows) {
        table_row(out, &group_commit_row(r, ceiling_rps, cfg));
    }
    let _ = writeln!(
        out,
        "\n`× pgbench`: the row's rate ÷ the ceiling's tps (same INSERT, same client count, \
         no HTTP). Mean batch: rows per commit during the measured run, from `GET /stats`. \
         Threads mode runs its default request threads (2 × CPUs) per worker unless the \
         run mode says `× T threads`. The axum peer commits each INSERT by itself (one \
         commit per request, like `--batch 1`) on a deadpool-postgres pool of that many \
         connections; its best pool size is its saturation row. `evented ×K`: prefork \
         evloop `--db evented --db-conns K`, the event loop's own K pipelined PostgreSQL \
         connections per worker instead of a blocking client.\n"
    );
}

fn group_commit_row(r: &CellResult, ceiling: Option<f64>, cfg: &Config) -> Vec<String> {
    let title = match r.cell.system() {
        System::Pgbench => ceiling_title(cfg.saturation.connections),
        system => system.title().to_string(),
    };
    let mut row = vec![title, r.cell.variant.label()];
    let (Some(s), Some(last)) = (Summary::of(r), r.runs.last()) else {
        row.push(status_text(r).unwrap_or_default());
        row.extend(std::iter::repeat_n(String::new(), 6));
        return row;
    };
    let flag = status_text(r).map_or(String::new(), |t| format!(" {t}"));
    row.extend([
        format!("{:.0}{flag}", s.rps),
        ceiling.map_or("—".into(), |c| format!("{:.2}×", s.rps / c)),
        format!("{:.2}", s.p50_ms),
        format!("{:.2}", s.p99_ms),
        format!(
            "{} {} {}",
            last.created,
            if last.created == last.rows {
                "="
            } else {
                "≠"
            },
            last.rows
        ),
        match r.cell.system() {
            System::Axum => "1 (autocommit)".into(),
            _ => balance_text(r, |b| format!("{:.1}", b.mean_batch)),
        },
        s.worker_peak_rss_mib
            .map_or("—".into(), |m| format!("{m:.1}")),
    ]);
    row
}

/// A figure of the last run's balance, or why there is none.
fn balance_text(r: &CellResult, f: impl Fn(&Balance) -> String) -> String {
    let Some(last) = r.runs.last() else {
        return "—".into();
    };
    match (&last.balance, &last.stats_error) {
        (Some(b), _) => f(b),
        (None, Some(_)) => "no /stats".into(),
        (None, None) => "—".into(),
    }
}

/// `22–28% (CV 0.08)`.
fn spread_text(s: Option<Spread>) -> String {
    s.map_or("—".into(), |s| {
        format!(
            "{:.0}–{:.0}% (CV {:.2})",
            s.min_share * 100.0,
            s.max_share * 100.0,
            s.cv
        )
    })
}

/// The accept pairs under both loads.
pub fn accept_table(out: &mut String, results: &[CellResult], cfg: &Config) {
    let found = plan::ran_in_section(cfg, Section::Accept, results);
    if found.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## Accept strategies: prefork evloop, {} workers, `--accept reuseport` vs `shared`\n",
        plan::accept_workers(cfg.quick)
    );
    let head = [
        "load",
        "accept",
        "req/s",
        "p99 ms",
        "requests per worker: min–max share",
        "connections per worker: min–max share",
        "mean batch",
    ];
    table_head(out, &head.map(String::from));
    for r in found {
        table_row(out, &accept_row(r));
    }
    let _ = writeln!(
        out,
        "\nShares: each worker's part of the requests (connections) it answered (accepted) \
         during the measured run, from `GET /stats` read before and after it; even is \
         1/workers each. CV: standard deviation ÷ mean of the per-worker counts (0 = even).\n"
    );
}

fn accept_row(r: &CellResult) -> Vec<String> {
    let load = match r.cell.load {
        Load::Seed(s) => format!("seed {}×{}, connection per request", s.users, s.loops),
        Load::Saturation(s) => format!("{} keep-alive", s.connections),
    };
    let accept = r.cell.prefork().map_or("", |p| p.accept.name());
    let mut row = vec![load, accept.to_string()];
    let Some(s) = Summary::of(r) else {
        row.push(status_text(r).unwrap_or_default());
        row.extend(std::iter::repeat_n(String::new(), 4));
        return row;
    };
    row.extend([
        format!("{:.0}", s.rps),
        format!("{:.2}", s.p99_ms),
        balance_text(r, |b| spread_text(b.requests)),
        balance_text(r, |b| spread_text(b.connections)),
        balance_text(r, |b| format!("{:.1}", b.mean_batch)),
    ]);
    row
}

/// One line per acceptance point.
pub fn verdict_lines(out: &mut String, verdicts: &[Verdict]) {
    if verdicts.iter().all(|v| v.pass.is_none()) {
        return;
    }
    let _ = writeln!(out, "## Acceptance, this run\n");
    for v in verdicts {
        let word = match v.pass {
            Some(false) => "**FAIL**".to_string(),
            _ => v.word().to_string(),
        };
        let _ = writeln!(
            out,
            "- {word}: {} — {} (bar {})",
            v.point, v.figure, v.threshold
        );
    }
    let _ = writeln!(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spreads print as percent shares with the CV; none as a dash.
    #[test]
    fn spreads() {
        let s = Spread {
            min_share: 0.2249,
            max_share: 0.28,
            cv: 0.0812,
        };
        assert_eq!(spread_text(Some(s)), "22–28% (CV 0.08)");
        assert_eq!(spread_text(None), "—");
    }

    /// Verdict lines name the word, the point, the figure and the bar.
    #[test]
    fn lines() {
        let v = Verdict {
            point: "p",
            figure: "1 req/s".into(),
            threshold: "≥ 2×".into(),
            value: Some(0.5),
            pass: Some(false),
        };
        let mut out = String::new();
        verdict_lines(&mut out, std::slice::from_ref(&v));
        assert!(out.contains("- **FAIL**: p — 1 req/s (bar ≥ 2×)"), "{out}");
        let mut none = String::new();
        verdict_lines(&mut none, &[Verdict { pass: None, ..v }]);
        assert!(none.is_empty());
    }
}
