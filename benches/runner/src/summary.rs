//! A cell's runs condensed: medians, the rate's spread, peaks.

use serde::Serialize;

use crate::model::{CellResult, RunRecord};

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
    /// The median rate of `result`'s runs (None if none ran).
    pub fn median_rps(result: &CellResult) -> Option<f64> {
        median(result.runs.iter().map(|r| r.rps))
    }

    /// Condenses the runs of `result` (None if nothing ran).
    pub fn of(result: &CellResult) -> Option<Summary> {
        let runs = &result.runs;
        let med = |f: &dyn Fn(&RunRecord) -> f64| median(runs.iter().map(f));
        let opt = |f: &dyn Fn(&RunRecord) -> Option<f64>| median(runs.iter().filter_map(f));
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
}
