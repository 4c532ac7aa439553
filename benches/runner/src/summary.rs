//! A cell's runs condensed (median, spread, peaks), the published numbers, and
//! `results.json`.

use serde::Serialize;
use serde_json::{json, Value};

use crate::bench::{CellResult, Status};
use crate::cell::{Load, Round};
use crate::cli::{Config, SeedLoad};
use crate::machine::Machine;

/// The median of some values (mean of the middle two for an even count).
pub fn median(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = values.collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// A cell's runs condensed: medians, the rate's spread, memory peaks.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct Summary {
    /// Runs condensed.
    pub runs: usize,
    /// Median requests per second.
    pub rps: f64,
    /// Slowest run's rate.
    pub rps_min: f64,
    /// Fastest run's rate.
    pub rps_max: f64,
    /// Median total time, s.
    pub elapsed_s: f64,
    /// Median of the runs' median latency, ms.
    pub p50_ms: f64,
    /// Median of the runs' 99th-percentile latency, ms.
    pub p99_ms: f64,
    /// Median requests per run.
    pub requests: f64,
    /// Errors over all runs.
    pub errors: u64,
    /// Highest summed RSS of the server's tree over all runs, MiB.
    pub peak_rss_mib: f64,
    /// Highest RSS of one worker process over all runs, MiB (None: no process below
    /// the root, as for pgbench).
    pub worker_peak_rss_mib: Option<f64>,
    /// Median summed PSS of the server's tree at the end of a run, MiB.
    pub pss_mib: f64,
    /// Median CPU seconds of the server's tree per run.
    pub server_cpu_s: f64,
    /// Median CPU seconds of PostgreSQL per run.
    pub pg_cpu_s: Option<f64>,
    /// Median CPU seconds of nginx per run.
    pub nginx_cpu_s: Option<f64>,
}

impl Summary {
    /// Condenses the runs of `result` (None if nothing ran).
    pub fn of(result: &CellResult) -> Option<Summary> {
        let runs = &result.runs;
        let med = |f: &dyn Fn(&crate::run::RunRecord) -> f64| median(runs.iter().map(f));
        let opt =
            |f: &dyn Fn(&crate::run::RunRecord) -> Option<f64>| median(runs.iter().filter_map(f));
        let rps = runs.iter().map(|r| r.rps);
        Some(Summary {
            runs: runs.len(),
            rps: med(&|r| r.rps)?,
            rps_min: rps.clone().fold(f64::INFINITY, f64::min),
            rps_max: rps.fold(0.0, f64::max),
            elapsed_s: med(&|r| r.elapsed_s)?,
            p50_ms: med(&|r| r.latency_ms.p50)?,
            p99_ms: med(&|r| r.latency_ms.p99)?,
            requests: med(&|r| r.requests as f64)?,
            errors: runs.iter().map(|r| r.error_total).sum(),
            peak_rss_mib: runs
                .iter()
                .map(|r| mib(r.server.peak_rss_kib))
                .fold(0.0, f64::max),
            worker_peak_rss_mib: runs
                .iter()
                .map(|r| r.server.worker_peak_rss_kib)
                .max()
                .filter(|&kib| kib > 0)
                .map(mib),
            pss_mib: med(&|r| mib(r.server.pss_end_kib))?,
            server_cpu_s: med(&|r| r.server.cpu_s)?,
            pg_cpu_s: opt(&|r| r.postgres.map(|u| u.cpu_s)),
            nginx_cpu_s: opt(&|r| r.nginx.map(|u| u.cpu_s)),
        })
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A published row: the experiment's total times for 10,000 POSTs, in seconds.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Published {
    /// The row.
    pub round: Round,
    /// Node/Express under PM2.
    pub express_s: Option<f64>,
    /// Django/DRF under Gunicorn.
    pub django_s: Option<f64>,
}

/// The published table (issue 4). Round 1's Express rate is printed there as 227 req/s,
/// although 10,000 / 36 s is 278 req/s; we show the times and compute rates from them.
pub const PUBLISHED: [Published; 7] = [
    row(Round::One, Some(36.0), Some(92.0)),
    row(Round::Two, Some(47.0), Some(65.0)),
    row(Round::Three, Some(44.0), Some(58.0)),
    row(Round::Nine, None, Some(52.0)),
    row(Round::Gevent1000x9, None, Some(60.0)),
    row(Round::Gevent500x4, None, Some(59.0)),
    row(Round::Gevent1000x1, None, Some(102.0)),
];

/// Requests of every published round.
pub const PUBLISHED_REQUESTS: f64 = 10_000.0;

/// The published rounds' client: 10 users × 1000 requests each.
pub const PUBLISHED_LOAD: SeedLoad = SeedLoad {
    users: 10,
    loops: 1000,
    warmup_loops: 0,
};

/// Whether a seed load is the published one, so its times compare with the published
/// times (any other load compares by rate only).
pub fn is_published_load(load: SeedLoad) -> bool {
    (load.users, load.loops) == (PUBLISHED_LOAD.users, PUBLISHED_LOAD.loops)
}

/// `10×100`: a seed load as users × requests per user.
pub fn load_label(load: SeedLoad) -> String {
    format!("{}×{}", load.users, load.loops)
}

const fn row(round: Round, express_s: Option<f64>, django_s: Option<f64>) -> Published {
    Published {
        round,
        express_s,
        django_s,
    }
}

/// The published row of `round`.
pub fn published(round: Round) -> Option<&'static Published> {
    PUBLISHED.iter().find(|p| p.round == round)
}

/// `results.json`: the machine, the configuration, every cell with its summary and
/// runs, and the published numbers.
pub fn results_json(
    results: &[CellResult],
    machine: &Machine,
    cfg: &Config,
    interrupted: bool,
) -> Value {
    let cells: Vec<Value> = results.iter().map(cell_json).collect();
    let failed = results.iter().filter(|r| r.status == Status::Fail).count();
    json!({
        "machine": machine,
        "config": {
            "quick": cfg.quick,
            "repeat": cfg.repeat,
            "seed": cfg.seed,
            "saturation": {
                "connections": cfg.saturation.connections,
                "duration_s": cfg.saturation.duration.as_secs_f64(),
                "warmup_s": cfg.saturation.warmup.as_secs_f64(),
            },
            "peers": cfg.peers,
            "nginx": cfg.nginx,
            "prefork_knobs": cfg.knobs,
        },
        "acceptance": crate::verdict::verdicts(results, cfg),
        "interrupted": interrupted,
        "failed_cells": failed,
        "cells": cells,
        "published": {
            "requests": PUBLISHED_REQUESTS,
            "client": "10 users × 1000, new connection per request",
            "rows": PUBLISHED,
        },
    })
}

fn cell_json(r: &CellResult) -> Value {
    let c = &r.cell;
    let (phase, load) = match c.load {
        Load::Seed(s) => ("seed", json!({"users": s.users, "loops": s.loops})),
        Load::Saturation(s) => (
            "saturation",
            json!({"connections": s.connections, "duration_s": s.duration.as_secs_f64()}),
        ),
    };
    json!({
        "key": c.key(),
        "system": c.system(),
        "system_title": c.system().title(),
        "variant": c.variant,
        "label": c.variant.label(),
        "phase": phase,
        "round": if c.is_seed() { Round::of(&c.variant) } else { None },
        "route": c.route,
        "section": c.section,
        "load": load,
        "status": r.status,
        "note": r.note,
        "summary": Summary::of(r),
        "runs": r.runs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Medians of odd and even counts; nothing gives None.
    #[test]
    fn medians() {
        assert_eq!(median([3.0, 1.0, 2.0].into_iter()), Some(2.0));
        assert_eq!(median([4.0, 1.0, 2.0, 3.0].into_iter()), Some(2.5));
        assert_eq!(median(std::iter::empty()), None);
    }

    /// Every published row is a round, in order, with Django's time.
    #[test]
    fn published_rows() {
        let rounds: Vec<Round> = PUBLISHED.iter().map(|p| p.round).collect();
        assert_eq!(rounds, Round::ALL);
        assert!(PUBLISHED.iter().all(|p| p.django_s.is_some()));
        assert_eq!(published(Round::One).unwrap().express_s, Some(36.0));
        let requests = PUBLISHED_LOAD.users * PUBLISHED_LOAD.loops;
        assert_eq!(requests as f64, PUBLISHED_REQUESTS);
    }

    /// Only 10 users × 1000 is the published load, whatever the warm-up.
    #[test]
    fn published_load() {
        let load = |users, loops| SeedLoad {
            users,
            loops,
            warmup_loops: 5,
        };
        assert!(is_published_load(load(10, 1000)));
        assert!(!is_published_load(load(10, 100)));
        assert!(!is_published_load(load(20, 500)));
        assert_eq!(load_label(load(10, 100)), "10×100");
    }
}
