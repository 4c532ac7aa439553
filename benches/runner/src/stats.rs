//! prefork's `GET /stats` (per-worker counters from the shared scoreboard): read before
//! and after a measured run, the difference is the run's own work per worker, and its
//! spread says how evenly the accept strategy shared connections and requests.
//!
//! Contract: `{"workers":[{"slot":0,"pid":123,"connections":N,
//! "requests":N,"batches":N,"batched_rows":N,"mean_batch":F}, …],"total":{…}}`, counters
//! from 0 per worker incarnation.

use serde::Deserialize;

use crate::model::{Balance, Spread, WorkerStats};
use crate::net;

/// Why a server's counters could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// No connection or no complete response.
    #[error("GET /stats: {0}")]
    Io(#[from] std::io::Error),
    /// A status other than 200 (a prefork without `/stats` answers 404).
    #[error("GET /stats answered {0}")]
    Status(u16),
    /// The body is not the contract's JSON.
    #[error("GET /stats: unexpected JSON ({0})")]
    Json(#[from] serde_json::Error),
}

/// The body of `GET /stats`: only the per-worker list is read (totals are recomputed).
#[derive(Debug, Deserialize)]
struct Body {
    workers: Vec<WorkerStats>,
}

/// Parses a `/stats` body.
pub fn parse(body: &str) -> Result<Vec<WorkerStats>, StatsError> {
    Ok(serde_json::from_str::<Body>(body)?.workers)
}

/// Reads the counters of the prefork on `port`.
pub fn fetch(port: u16) -> Result<Vec<WorkerStats>, StatsError> {
    match net::get(port, "/stats")? {
        (200, body) => parse(&body),
        (status, _) => Err(StatsError::Status(status)),
    }
}

/// Each worker's work between two readings. A worker absent before (respawned during
/// the run) counts from 0; one gone after (it exited) is lost, with what it did.
pub fn delta(before: &[WorkerStats], after: &[WorkerStats]) -> Vec<WorkerStats> {
    after
        .iter()
        .map(|a| {
            let Some(b) = before.iter().find(|b| b.slot == a.slot && b.pid == a.pid) else {
                return *a;
            };
            WorkerStats {
                connections: a.connections.saturating_sub(b.connections),
                requests: a.requests.saturating_sub(b.requests),
                batches: a.batches.saturating_sub(b.batches),
                batched_rows: a.batched_rows.saturating_sub(b.batched_rows),
                ..*a
            }
        })
        .collect()
}

/// The spread of per-worker counts (None without workers or without any count).
pub fn spread(counts: &[u64]) -> Option<Spread> {
    let total: u64 = counts.iter().sum();
    if counts.is_empty() || total == 0 {
        return None;
    }
    let n = counts.len() as f64;
    let mean = total as f64 / n;
    let var = counts
        .iter()
        .map(|&c| (c as f64 - mean).powi(2))
        .sum::<f64>()
        / n;
    let share = |c: u64| c as f64 / total as f64;
    Some(Spread {
        min_share: share(*counts.iter().min()?),
        max_share: share(*counts.iter().max()?),
        cv: var.sqrt() / mean,
    })
}

// `Balance` is plain data of the model; reading it from the counters is this module's.
impl Balance {
    /// The balance of per-worker counts of one run.
    pub fn of(mut per_worker: Vec<WorkerStats>) -> Balance {
        per_worker.sort_by_key(|w| w.slot);
        let counts = |f: fn(&WorkerStats) -> u64| per_worker.iter().map(f).collect::<Vec<_>>();
        let batches: u64 = per_worker.iter().map(|w| w.batches).sum();
        let batched_rows: u64 = per_worker.iter().map(|w| w.batched_rows).sum();
        Balance {
            workers: per_worker.len(),
            requests: spread(&counts(|w| w.requests)),
            connections: spread(&counts(|w| w.connections)),
            batches,
            batched_rows,
            mean_batch: if batches == 0 {
                0.0
            } else {
                batched_rows as f64 / batches as f64
            },
            per_worker,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body as the contract describes it (two workers, extra fields ignored).
    const BODY: &str = r#"{"workers":[
        {"slot":1,"pid":201,"connections":30,"requests":300,"batches":10,"batched_rows":290,"mean_batch":29.0},
        {"slot":0,"pid":200,"connections":10,"requests":100,"batches":5,"batched_rows":95,"mean_batch":19.0}],
        "total":{"workers":2,"connections":40,"requests":400,"batches":15,"batched_rows":385,"mean_batch":25.67}}"#;

    /// The contract's JSON parses; anything else is an error, not a panic.
    #[test]
    fn parses_contract() {
        let w = parse(BODY).unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!((w[0].slot, w[0].pid, w[0].requests), (1, 201, 300));
        assert_eq!(w[1].batched_rows, 95);
        assert!(matches!(parse("Not Found"), Err(StatsError::Json(_))));
        assert!(matches!(parse(r#"{"total":{}}"#), Err(StatsError::Json(_))));
    }

    /// The run's counts are after − before per incarnation; a respawned worker counts from 0.
    #[test]
    fn deltas() {
        let after = parse(BODY).unwrap();
        let before = [
            WorkerStats {
                slot: 0,
                pid: 200,
                connections: 4,
                requests: 40,
                batches: 1,
                batched_rows: 15,
            },
            WorkerStats {
                slot: 1,
                pid: 199,
                connections: 9,
                requests: 90,
                batches: 9,
                batched_rows: 90,
            },
        ];
        let d = delta(&before, &after);
        assert_eq!((d[0].slot, d[0].requests), (1, 300), "new pid: as is");
        assert_eq!(
            (
                d[1].connections,
                d[1].requests,
                d[1].batches,
                d[1].batched_rows
            ),
            (6, 60, 4, 80)
        );
    }

    /// Shares and the coefficient of variation of even and uneven spreads.
    #[test]
    fn spreads() {
        let even = spread(&[50, 50, 50, 50]).unwrap();
        assert_eq!((even.min_share, even.max_share, even.cv), (0.25, 0.25, 0.0));
        let uneven = spread(&[10, 30]).unwrap();
        assert_eq!((uneven.min_share, uneven.max_share), (0.25, 0.75));
        assert!((uneven.cv - 0.5).abs() < 1e-12);
        assert_eq!(spread(&[0, 0]), None);
        assert_eq!(spread(&[]), None);
    }

    /// A balance sums the commits, divides rows by commits and orders workers by slot.
    #[test]
    fn balance() {
        let b = Balance::of(parse(BODY).unwrap());
        assert_eq!((b.workers, b.batches, b.batched_rows), (2, 15, 385));
        assert!((b.mean_batch - 385.0 / 15.0).abs() < 1e-12);
        assert_eq!(b.per_worker[0].slot, 0);
        assert_eq!(b.requests.unwrap().max_share, 0.75);
        assert_eq!(Balance::of(vec![]).mean_batch, 0.0);
    }
}
