//! `GET /stats`: every live worker's counters from the shared scoreboard, as JSON.
//!
//! ```json
//! {"workers":[{"slot":0,"pid":123,"connections":10,"requests":12,"batches":3,
//!              "batched_rows":9,"mean_batch":3.0}, …],
//!  "total":{"workers":2,"connections":20,"requests":24,"batches":6,
//!           "batched_rows":18,"mean_batch":3.0}}
//! ```
//!
//! Workers are sorted by slot (then pid); counters start at 0 for each worker
//! incarnation. `batches` counts the commits a service made of deferred jobs and
//! `batched_rows` the jobs they committed (the task service: rows), so `mean_batch`
//! (`batched_rows / batches`, 0 when there was none) is the group commit's size.
//! The request asking is not counted yet (a worker counts a request once answered).
//! Not on the hot path, so serde builds the body.

use serde::Serialize;

use crate::http::response::Response;
use crate::scoreboard::{mean, Board, WorkerStats};

/// One worker's entry.
#[derive(Debug, Serialize)]
struct WorkerJson {
    slot: usize,
    pid: u32,
    connections: u64,
    requests: u64,
    batches: u64,
    batched_rows: u64,
    mean_batch: f64,
}

/// The sums over every listed worker.
#[derive(Debug, Default, Serialize)]
struct TotalJson {
    workers: usize,
    connections: u64,
    requests: u64,
    batches: u64,
    batched_rows: u64,
    mean_batch: f64,
}

#[derive(Debug, Serialize)]
struct StatsJson {
    workers: Vec<WorkerJson>,
    total: TotalJson,
}

/// 200 with the live workers of `board`.
pub(crate) fn response(board: &Board) -> Response {
    let workers = board.snapshot();
    Response::json(200, body(&workers)).with_header("Cache-Control", "no-store")
}

/// The JSON document for `workers` (already sorted).
pub(crate) fn body(workers: &[WorkerStats]) -> Vec<u8> {
    let stats = StatsJson {
        workers: workers.iter().map(worker_json).collect(),
        total: total(workers),
    };
    serde_json::to_vec(&stats).expect("plain numbers always serialize")
}

fn worker_json(w: &WorkerStats) -> WorkerJson {
    WorkerJson {
        slot: w.slot,
        pid: w.pid,
        connections: w.connections,
        requests: w.requests,
        batches: w.commits,
        batched_rows: w.committed_jobs,
        mean_batch: w.mean_group(),
    }
}

fn total(workers: &[WorkerStats]) -> TotalJson {
    let mut total = workers.iter().fold(TotalJson::default(), |mut t, w| {
        t.connections += w.connections;
        t.requests += w.requests;
        t.batches += w.commits;
        t.batched_rows += w.committed_jobs;
        t
    });
    total.workers = workers.len();
    total.mean_batch = mean(total.batched_rows, total.batches);
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// Two workers: entries in order, totals summed, mean batch per worker and overall
    /// (0 for a worker without a commit).
    #[test]
    fn body_lists_workers_and_totals() {
        let workers = [
            WorkerStats {
                slot: 0,
                pid: 11,
                connections: 4,
                requests: 6,
                commits: 2,
                committed_jobs: 5,
                ..WorkerStats::default()
            },
            WorkerStats {
                slot: 1,
                pid: 12,
                connections: 1,
                requests: 1,
                ..WorkerStats::default()
            },
        ];
        let got: Value = serde_json::from_slice(&body(&workers)).unwrap();
        let expected = json!({
            "workers": [
                {"slot":0,"pid":11,"connections":4,"requests":6,"batches":2,
                 "batched_rows":5,"mean_batch":2.5},
                {"slot":1,"pid":12,"connections":1,"requests":1,"batches":0,
                 "batched_rows":0,"mean_batch":0.0},
            ],
            "total": {"workers":2,"connections":5,"requests":7,"batches":2,
                      "batched_rows":5,"mean_batch":2.5},
        });
        assert_eq!(got, expected);
    }

    /// No worker listed: an empty list and zero totals, still valid JSON.
    #[test]
    fn body_without_workers() {
        let got: Value = serde_json::from_slice(&body(&[])).unwrap();
        assert_eq!(got["workers"], json!([]));
        assert_eq!(got["total"]["workers"], 0);
        assert_eq!(got["total"]["mean_batch"], 0.0);
    }
}
