//! The access log's cost: prefork at the saturation load without and with
//! `--access-log FILE`, pair by pair. The bench runs each pair's cells alternately
//! (`bench.rs`: A B, then B A, …), so each ratio with ÷ without is of two runs made
//! back to back on this machine, and the table reports the median over the pairs.

use std::fmt::Write as _;

use serde::Serialize;

use super::table::{status_text, table_head, table_row};
use crate::cli::Config;
use crate::model::{AccessLogCheck, CellResult, RunRecord, Section};
use crate::plan;
use crate::summary::median;

/// The goal: the access log costs less than this share of the throughput, %.
pub const GOAL_PCT: f64 = 5.0;

/// One run mode's access-log cost: its cell without and its cell with the log.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Cost {
    /// `prefork evloop`.
    pub system: String,
    /// The run mode without the log: `2 workers, --app hello`.
    pub run_mode: String,
    /// The cell without the log.
    pub without_key: String,
    /// The cell with the log.
    pub with_key: String,
    /// Pairs of clean runs made back to back (without then with, or the reverse).
    pub pairs: usize,
    /// Median rate of those pairs' runs without the log, req/s.
    pub rps_without: Option<f64>,
    /// Median rate of those pairs' runs with the log, req/s.
    pub rps_with: Option<f64>,
    /// Median over the pairs of with ÷ without.
    pub ratio: Option<f64>,
    /// The lowest pair's ratio.
    pub ratio_min: Option<f64>,
    /// The highest pair's ratio.
    pub ratio_max: Option<f64>,
    /// (1 − ratio) × 100: the throughput the log costs, % (negative: noise).
    pub cost_pct: Option<f64>,
    /// Whether the cost is under [`GOAL_PCT`].
    pub within_goal: Option<bool>,
    /// The last clean run's log: size, lines, the responses loadgen counted.
    pub log: Option<AccessLogCheck>,
}

/// The cost of every pair whose cell with the log is in `results`, in plan order.
pub fn costs(cfg: &Config, results: &[CellResult]) -> Vec<Cost> {
    let found = plan::ran_in_section(cfg, Section::AccessLog, results);
    found
        .iter()
        .filter(|r| !r.cell.variant.keeps_access_log())
        .filter_map(|without| {
            let logged = without.cell.variant.with_access_log()?;
            let with = found.iter().find(|r| r.cell.variant == logged)?;
            Some(cost(without, with))
        })
        .collect()
}

/// The clean runs of a cell.
fn clean(r: &CellResult) -> impl Iterator<Item = &RunRecord> {
    r.runs.iter().filter(|run| run.failure.is_none())
}

/// The cost of one pair of cells: runs are paired in order (run i without, run i with).
fn cost(without: &CellResult, with: &CellResult) -> Cost {
    let pairs: Vec<(&RunRecord, &RunRecord)> = clean(without)
        .zip(clean(with))
        .filter(|(a, _)| a.rps > 0.0)
        .collect();
    let ratios: Vec<f64> = pairs.iter().map(|(a, b)| b.rps / a.rps).collect();
    let ratio = median(ratios.iter().copied());
    Cost {
        system: without.cell.system().title().to_string(),
        run_mode: without.cell.variant.label(),
        without_key: without.cell.key(),
        with_key: with.cell.key(),
        pairs: pairs.len(),
        rps_without: median(pairs.iter().map(|(a, _)| a.rps)),
        rps_with: median(pairs.iter().map(|(_, b)| b.rps)),
        ratio,
        ratio_min: ratios.iter().copied().reduce(f64::min),
        ratio_max: ratios.iter().copied().reduce(f64::max),
        cost_pct: ratio.map(|r| (1.0 - r) * 100.0),
        within_goal: ratio.map(|r| (1.0 - r) * 100.0 < GOAL_PCT),
        log: clean(with).filter_map(|run| run.access_log).last(),
    }
}

/// Appends the table and its note, when a cell with the log ran.
pub fn markdown(out: &mut String, results: &[CellResult], cfg: &Config) {
    let costs = costs(cfg, results);
    if costs.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## Access log cost: {} keep-alive connections, prefork without and with `--access-log FILE`\n",
        cfg.saturation.connections
    );
    let head = [
        "system",
        "run mode",
        "without req/s",
        "with req/s",
        "with ÷ without",
        "cost",
        &format!("goal: cost < {GOAL_PCT:.0} %"),
        "pairs",
        "log lines ≥ answered",
    ];
    table_head(out, &head.map(String::from));
    let find = |key: &str| results.iter().find(|r| r.cell.key() == key);
    for c in &costs {
        let problem = [find(&c.without_key), find(&c.with_key)]
            .into_iter()
            .flatten()
            .find_map(status_text);
        table_row(out, &row(c, problem));
    }
    let _ = writeln!(out, "\n{}\n", note(&costs, cfg));
}

/// A table row; `problem` is the status of a side that failed or was skipped.
fn row(c: &Cost, problem: Option<String>) -> Vec<String> {
    let rate = |rps: Option<f64>| rps.map_or("—".into(), |r| format!("{r:.0}"));
    let mut row = vec![
        c.system.clone(),
        c.run_mode.clone(),
        rate(c.rps_without),
        rate(c.rps_with),
    ];
    if let (Some(ratio), Some(cost), Some(within)) = (c.ratio, c.cost_pct, c.within_goal) {
        row.extend([
            format!("{ratio:.2}×{}", ratio_spread(c)),
            format!("{cost:.1} %"),
            if within { "within" } else { "**over**" }.to_string(),
        ]);
    } else {
        row.extend(["—".into(), "—".into(), "—".into()]);
    }
    if let Some(text) = problem {
        row[6] = text;
    }
    row.push(c.pairs.to_string());
    row.push(c.log.map_or("—".into(), log_text));
    row
}

/// `, 0.95–0.99`: the pairs' lowest and highest ratio (nothing for one pair).
fn ratio_spread(c: &Cost) -> String {
    match (c.pairs, c.ratio_min, c.ratio_max) {
        (2.., Some(lo), Some(hi)) => format!(", {lo:.2}–{hi:.2}"),
        _ => String::new(),
    }
}

/// `812345 ≥ 640000 (78.1 MiB)`, or `**300 < 640000**` when lines are missing.
fn log_text(log: AccessLogCheck) -> String {
    let mib = log.bytes as f64 / (1024.0 * 1024.0);
    if log.complete() {
        format!("{} ≥ {} ({mib:.1} MiB)", log.lines, log.answered)
    } else {
        format!("**{} < {}** ({mib:.1} MiB)", log.lines, log.answered)
    }
}

/// The note under the table: how the ratio was made, over how many pairs.
fn note(costs: &[Cost], cfg: &Config) -> String {
    let counts: Vec<usize> = costs.iter().map(|c| c.pairs).collect();
    let over = match counts.split_first() {
        Some((&n, rest)) if rest.iter().all(|&m| m == n) => format!(
            "{n} same-session pair{} of runs",
            if n == 1 { "" } else { "s" }
        ),
        _ => "the same-session pairs of runs the `pairs` column counts".to_string(),
    };
    format!(
        "Each ratio is the median, over {over} on this machine, of with ÷ without: the two \
         cells of a pair run back to back, each with a fresh server, without first in odd \
         repetitions and with first in even ones (`--repeat {}`); the req/s columns are the medians of the same \
         runs, and with two pairs or more the ratio column also gives their range. Cost = \
         (1 − ratio) × 100, against the goal of under {GOAL_PCT:.0} % of the throughput; a \
         negative cost is noise. The log is a file in the bench's output directory \
         (`logs/*.access.log`), removed after each run; its lines are counted once the \
         server has stopped (workers write what they hold at exit) and must be at least \
         the measured run's responses (the warm-up and the bench's `/health` and `/stats` \
         requests are logged too).",
        cfg.repeat
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Cell, Load, Mode, Prefork, Route, Status, Variant};

    /// An ok saturation cell of `variant` planned in `section` with one run per rate.
    fn result(cfg: &Config, variant: Variant, section: Section, rates: &[f64]) -> CellResult {
        let runs = rates
            .iter()
            .map(|&rps| {
                let mut run = RunRecord::sample(rps, 1.0, 0, 0);
                run.access_log = variant.keeps_access_log().then_some(AccessLogCheck {
                    bytes: 2 * 1024 * 1024,
                    lines: 25_000,
                    answered: 20_000,
                });
                run
            })
            .collect();
        CellResult {
            cell: Cell {
                variant,
                load: Load::Saturation(cfg.saturation),
                route: Route::Direct,
                section,
            },
            status: Status::Ok,
            note: None,
            runs,
        }
    }

    /// Two pairs of the task endpoint (the "without" run by the group-commit section)
    /// and one of hello: medians, ratio, cost and verdict; the note says the pair count.
    #[test]
    fn table() {
        let cfg = Config::parsed(&["--quick", "--repeat", "2"]);
        let plain = Variant::Prefork(Prefork::plain(Mode::Evloop, 2));
        let hello = Variant::Hello {
            mode: Mode::Evloop,
            workers: 2,
            access_log: false,
        };
        let logged = |v: Variant| v.with_access_log().unwrap();
        let results = [
            result(&cfg, plain, Section::GroupCommit, &[20_000.0, 22_000.0]),
            result(
                &cfg,
                logged(plain),
                Section::AccessLog,
                &[19_600.0, 21_120.0],
            ),
            result(&cfg, hello, Section::Ceilings, &[60_000.0, 50_000.0]),
            result(
                &cfg,
                logged(hello),
                Section::AccessLog,
                &[54_000.0, 45_000.0],
            ),
        ];
        let costs = costs(&cfg, &results);
        assert_eq!(costs.len(), 2);
        let task = &costs[1];
        assert_eq!(
            (task.pairs, task.rps_without, task.rps_with),
            (2, Some(21_000.0), Some(20_360.0))
        );
        // Pairs: 0.98 and 0.96; median 0.97.
        assert!((task.ratio.unwrap() - 0.97).abs() < 1e-9);
        assert_eq!(task.within_goal, Some(true));
        let mut out = String::new();
        markdown(&mut out, &results, &cfg);
        assert!(out.contains("## Access log cost: 64 keep-alive"), "{out}");
        assert!(
            out.contains(
                "| prefork evloop | 2 workers, batch 256 | 21000 | 20360 | 0.97×, 0.96–0.98 \
                 | 3.0 % | within | 2 | 25000 ≥ 20000 (2.0 MiB) |"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "| prefork evloop | 2 workers, --app hello | 55000 | 49500 | 0.90×, 0.90–0.90 \
                 | 10.0 % | **over** | 2 |"
            ),
            "{out}"
        );
        assert!(
            out.contains("median, over 2 same-session pairs of runs"),
            "{out}"
        );
        // Without a cell with the log there is no section.
        let mut none = String::new();
        markdown(&mut none, &[results[0].clone(), results[2].clone()], &cfg);
        assert!(none.is_empty(), "{none}");
    }

    /// A failed side shows its status in the verdict column; its failed run pairs with
    /// nothing, and a short log is flagged.
    #[test]
    fn failures() {
        let cfg = Config::parsed(&["--quick"]);
        let plain = Variant::Prefork(Prefork::plain(Mode::Evloop, 2));
        let without = result(&cfg, plain, Section::AccessLog, &[20_000.0]);
        let mut with = result(
            &cfg,
            plain.with_access_log().unwrap(),
            Section::AccessLog,
            &[19_000.0],
        );
        with.status = Status::Fail;
        with.note = Some("access log short".into());
        with.runs[0].failure = Some("access log short".into());
        let mut out = String::new();
        markdown(&mut out, &[without, with], &cfg);
        assert!(
            out.contains("| — | — | — | **FAIL**: access log short | 0 | — |"),
            "{out}"
        );
        let short = AccessLogCheck {
            bytes: 1024 * 1024,
            lines: 10,
            answered: 20,
        };
        assert_eq!(log_text(short), "**10 < 20** (1.0 MiB)");
        assert!(short
            .failure()
            .unwrap()
            .contains("10 lines for 20 responses"));
    }
}
