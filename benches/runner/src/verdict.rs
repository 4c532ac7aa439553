//! The bench's acceptance points, judged from one bench's results: each a figure, a
//! bar from `benches/targets.toml` and pass/fail (or not measured). Ratios compare
//! direct saturation cells — the same keep-alive connections for every system — with
//! the pgbench ceiling or the peers' best.

use serde::Serialize;

use crate::cli::Config;
use crate::model::{CellResult, Load, Status, System};
use crate::picks::{best_saturation, best_seed, Best, Kind};
use crate::summary::Summary;
use crate::targets::{self, Thresholds};

/// One acceptance point.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Verdict {
    /// What is judged.
    pub point: &'static str,
    /// The measured figure, with where it comes from.
    pub figure: String,
    /// The bar it must pass.
    pub threshold: String,
    /// The number compared with the bar (a ratio, seconds or MiB).
    pub value: Option<f64>,
    /// Passed, failed, or None when a side was not measured (or the load differs).
    pub pass: Option<bool>,
}

impl Verdict {
    /// A point that cannot be judged: a side was not measured (`figure` says which).
    fn unmeasured(point: &'static str, figure: String, threshold: String) -> Verdict {
        Verdict {
            point,
            figure,
            threshold,
            value: None,
            pass: None,
        }
    }

    /// `pass`, `FAIL` or `n/a` (not measured, or not the acceptance load).
    pub fn word(&self) -> &'static str {
        match self.pass {
            Some(true) => "pass",
            Some(false) => "FAIL",
            None => "n/a",
        }
    }
}

fn is_prefork(r: &CellResult) -> bool {
    r.cell.prefork().is_some()
}

/// prefork `--db sync` at `--batch` b (threads or evloop).
fn sync_batch(r: &CellResult) -> Option<u32> {
    r.cell
        .prefork()
        .filter(|p| !p.db.is_evented())
        .map(|p| p.batch)
}

/// `prefork threads 2 workers, batch 1`.
fn name(r: &CellResult) -> String {
    format!("{} {}", r.cell.system().title(), r.cell.variant.label())
}

/// Every acceptance point, against the shipped bars.
pub fn verdicts(results: &[CellResult], cfg: &Config) -> Vec<Verdict> {
    verdicts_against(results, cfg, &targets::get().thresholds)
}

/// Every acceptance point, against `bars`.
pub fn verdicts_against(results: &[CellResult], cfg: &Config, bars: &Thresholds) -> Vec<Verdict> {
    let ceiling = best_saturation(results, |r| r.cell.system() == System::Pgbench);
    let batch_one = best_saturation(results, |r| sync_batch(r) == Some(1));
    let grouped = best_saturation(results, |r| sync_batch(r).is_some_and(|b| b > 1));
    let prefork = best_saturation(results, is_prefork);
    let express = best_saturation(results, |r| r.cell.system() == System::Express);
    let django = best_saturation(results, |r| r.cell.system() == System::Django);
    let mut out = vec![
        ratio(
            "prefork --db sync --batch 1 vs the pgbench ceiling",
            batch_one,
            ceiling,
            bars.batch_one_vs_pgbench,
        ),
        group_commit(
            "prefork --db sync group commit vs the pgbench ceiling, rows = 201s",
            grouped,
            ceiling,
            bars.group_commit_vs_pgbench,
        ),
        ratio(
            "prefork's best vs Express/PM2's best",
            prefork,
            express,
            bars.prefork_vs_express,
        ),
        ratio(
            "prefork's best vs Django/Gunicorn's best",
            prefork,
            django,
            bars.prefork_vs_django,
        ),
    ];
    out.push(seed_time(results, cfg, bars.seed_max_s));
    out.push(worker_rss(results, cfg, bars.worker_rss_max_mib));
    out.extend(evented(results, ceiling, bars));
    out
}

/// The `--db evented` points: `--batch 1` (its best connection count) against the
/// ceiling and axum's best, group commit against the ceiling and `--db sync`'s, the
/// seed time against pgbench's at the same load, and its workers' peak RSS.
fn evented(results: &[CellResult], ceiling: Option<Best>, bars: &Thresholds) -> Vec<Verdict> {
    let ev = Kind::EvloopEvented;
    let batch_one = best_saturation(results, |r| ev.one_commit(r));
    let grouped = best_saturation(results, |r| ev.grouped(r));
    let axum = best_saturation(results, |r| r.cell.system() == System::Axum);
    let sync_grouped = best_saturation(results, |r| Kind::EvloopSync.grouped(r));
    vec![
        ratio(
            "prefork evloop --db evented --batch 1 (best --db-conns) vs the pgbench ceiling",
            batch_one,
            ceiling,
            bars.evented_batch_one_vs_pgbench,
        ),
        ratio(
            "prefork evloop --db evented --batch 1 (best --db-conns) vs axum's best pool",
            batch_one,
            axum,
            bars.evented_batch_one_vs_axum,
        ),
        group_commit(
            "prefork evloop --db evented group commit vs the pgbench ceiling, rows = 201s",
            grouped,
            ceiling,
            bars.evented_group_commit_vs_pgbench,
        ),
        ratio(
            "prefork evloop --db evented group commit vs --db sync group commit",
            grouped,
            sync_grouped,
            bars.evented_group_commit_vs_sync,
        ),
        evented_seed_time(results, bars.evented_seed_vs_pgbench_time),
        evented_rss(results, bars.evented_worker_rss_max_mib),
    ]
}

/// The fastest evented seed cell's time ÷ pgbench's at the same seed load, at most `max`.
fn evented_seed_time(results: &[CellResult], max: f64) -> Verdict {
    let point = "seed model, prefork evloop --db evented's time vs pgbench -c users -t loops";
    let threshold = format!("≤ {max}× pgbench's time");
    let ours = best_seed(results, |r| Kind::EvloopEvented.has(r));
    let theirs = best_seed(results, |r| Kind::Pgbench.has(r));
    let (Some((o, os)), Some((t, ts))) = (ours, theirs) else {
        let missing = if ours.is_none() {
            "no evented seed cell measured"
        } else {
            "no pgbench seed cell measured"
        };
        return Verdict::unmeasured(point, missing.into(), threshold);
    };
    let load = match t.cell.load {
        Load::Seed(l) => format!("-c {} -t {}", l.users, l.loops),
        Load::Saturation(_) => String::new(),
    };
    let value = os.elapsed_s / ts.elapsed_s.max(f64::MIN_POSITIVE);
    Verdict {
        point,
        figure: format!(
            "{:.2} s ({}) = {value:.2}× {:.2} s (pgbench {load})",
            os.elapsed_s,
            name(o),
            ts.elapsed_s
        ),
        threshold,
        value: Some(value),
        pass: Some(value <= max),
    }
}

/// The largest one-worker peak RSS over every evented cell (seed and saturation).
fn evented_rss(results: &[CellResult], max_mib: f64) -> Verdict {
    let point = "peak RSS per prefork worker, --db evented cells (seed and saturation)";
    let threshold = format!("≤ {max_mib} MiB");
    let evented: Vec<&CellResult> = results
        .iter()
        .filter(|r| r.status == Status::Ok && Kind::EvloopEvented.has(r))
        .collect();
    let worst = evented
        .iter()
        .filter_map(|r| Some((*r, Summary::of(r)?.worker_peak_rss_mib?)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let Some((r, mib)) = worst else {
        let figure = "no evented cell measured".into();
        return Verdict::unmeasured(point, figure, threshold);
    };
    let load = if r.cell.is_seed() {
        "seed"
    } else {
        "saturation"
    };
    Verdict {
        point,
        figure: format!(
            "{mib:.1} MiB, the largest of {} evented cells ({}, {load})",
            evented.len(),
            name(r)
        ),
        threshold,
        value: Some(mib),
        pass: Some(mib <= max_mib),
    }
}

/// `ours ÷ theirs ≥ min`.
fn ratio(point: &'static str, ours: Option<Best>, theirs: Option<Best>, min: f64) -> Verdict {
    let threshold = format!("≥ {min}×");
    let (Some((o, os)), Some((t, ts))) = (ours, theirs) else {
        let missing = if ours.is_none() {
            "our side"
        } else {
            "the reference"
        };
        return Verdict::unmeasured(point, format!("{missing} not measured"), threshold);
    };
    let value = os.rps / ts.rps;
    Verdict {
        point,
        figure: format!(
            "{:.0} req/s ({}) = {value:.2}× {:.0} ({})",
            os.rps,
            name(o),
            ts.rps,
            name(t)
        ),
        threshold,
        value: Some(value),
        pass: Some(value >= min),
    }
}

/// Group commit: the ratio, and rows = 201s in that cell.
fn group_commit(
    point: &'static str,
    grouped: Option<Best>,
    ceiling: Option<Best>,
    min: f64,
) -> Verdict {
    let mut v = ratio(point, grouped, ceiling, min);
    v.threshold.push_str(", rows = 201s");
    if let Some(last) = grouped.and_then(|(r, _)| r.runs.last()) {
        let same = last.rows == last.created;
        v.figure.push_str(&format!(
            "; {} rows {} {} 201s",
            last.rows,
            if same { "=" } else { "≠" },
            last.created
        ));
        v.pass = v.pass.map(|p| p && same);
    }
    v
}

/// Whether the seed load is the acceptance's (the published client's) users × loops.
fn acceptance_seed(cfg: &Config) -> bool {
    targets::get().published.is_published_load(cfg.seed)
}

/// The fastest prefork seed cell's time.
fn seed_time(results: &[CellResult], cfg: &Config, max_s: f64) -> Verdict {
    let point = "seed model 10×1000, connection per request (prefork's best)";
    let threshold = format!("< {max_s} s");
    let best = results
        .iter()
        .filter(|r| r.status == Status::Ok && r.cell.is_seed() && is_prefork(r))
        .filter_map(|r| Some((r, Summary::of(r)?)))
        .min_by(|a, b| a.1.elapsed_s.total_cmp(&b.1.elapsed_s));
    let Some((r, s)) = best else {
        let figure = "no prefork seed cell measured".into();
        return Verdict::unmeasured(point, figure, threshold);
    };
    let load = |r: &CellResult| match r.cell.load {
        Load::Seed(l) => l.label(),
        Load::Saturation(_) => String::new(),
    };
    let mut figure = format!(
        "{:.2} s ({}, {:.0} req/s, load {})",
        s.elapsed_s,
        name(r),
        s.rps,
        load(r)
    );
    let pass = if acceptance_seed(cfg) {
        Some(s.elapsed_s < max_s)
    } else {
        figure.push_str(&format!(
            ": not the acceptance's {}",
            targets::get().published.load().label()
        ));
        None
    };
    Verdict {
        point,
        figure,
        threshold,
        value: Some(s.elapsed_s),
        pass,
    }
}

/// The largest one-worker peak RSS over prefork's seed cells.
fn worker_rss(results: &[CellResult], cfg: &Config, max_mib: f64) -> Verdict {
    let point = "peak RSS per prefork worker under the seed load";
    let threshold = format!("< {max_mib} MiB");
    let worst = results
        .iter()
        .filter(|r| r.status == Status::Ok && r.cell.is_seed() && is_prefork(r))
        .filter_map(|r| Some((r, Summary::of(r)?.worker_peak_rss_mib?)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let Some((r, mib)) = worst else {
        let figure = "no prefork seed cell measured".into();
        return Verdict::unmeasured(point, figure, threshold);
    };
    let cells = results
        .iter()
        .filter(|r| r.cell.is_seed() && is_prefork(r))
        .count();
    let mut figure = format!(
        "{mib:.1} MiB, the largest of {cells} prefork seed cells ({})",
        name(r)
    );
    if !acceptance_seed(cfg) {
        figure.push_str(&format!(", under {}×{}", cfg.seed.users, cfg.seed.loops));
    }
    Verdict {
        point,
        figure,
        threshold,
        value: Some(mib),
        pass: Some(mib < max_mib),
    }
}

#[cfg(test)]
mod tests;
