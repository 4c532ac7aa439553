//! Memory shared by the master and its workers: one cell per worker incarnation, holding
//! its heartbeat, its identity (pid, slot) and its activity counters.
//!
//! A [`Scoreboard`] is mapped `MAP_SHARED | MAP_ANONYMOUS` in the master before the first
//! fork, so every worker writes to the same pages. A cell is a fixed group of
//! [`FIELDS`] atomics:
//!
//! - the heartbeat: [`Heartbeat::beat`] stores "now" in milliseconds of
//!   `CLOCK_MONOTONIC`, a clock that is the same for every process on the machine; the
//!   master reads it to detect a hung worker;
//! - the pid and slot of the worker using the cell: a cell is *live* while its pid is not
//!   zero (set by the master right after fork, and by the child itself before it serves,
//!   so neither side waits for the other; zeroed by the master when it reaps the worker);
//! - the [`Counters`] (connections accepted and closed, requests answered by status
//!   class, bytes received and sent, commits and jobs committed, database errors and
//!   reconnections, a histogram of request latencies), reset when the cell is
//!   allocated, so they count one incarnation only.
//!
//! Cells are handed out per worker *incarnation*, not per slot: during a rolling restart
//! the old and the new worker of one slot run side by side, each with its own cell.
//! Any worker can read every cell ([`Board::snapshot`]) to answer `GET /stats`: the
//! master hands each worker the [`Board`] in its spec. `GET /metrics` reads the same
//! cells.
//!
//! Every counter is only ever added to by its own worker (relaxed atomic adds on the
//! worker's own cache lines: no lock, no syscall) and read by any.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use nix::time::{clock_gettime, ClockId};

use crate::sys;

/// Cells mapped by default: far more than any sane worker count, so TTIN can grow the
/// pool and rolling restarts can overlap without remapping (320 KiB of shared memory,
/// which `/stats` and `/metrics` scan in microseconds; pages no worker ever touched
/// are never backed by memory).
pub const DEFAULT_CAPACITY: usize = 1024;

/// Atomics per cell: five 64-byte cache lines (the mapping is page-aligned, so every
/// cell starts on a line of its own and two workers' counters never share one).
pub const FIELDS: usize = 40;

/// Upper bounds of the request-latency histogram's buckets, in microseconds (the last
/// bucket, [`LATENCY_BUCKETS`]` - 1`, holds everything slower: Prometheus' `+Inf`).
pub const LATENCY_BOUNDS_US: [u64; 13] = [
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000, 5_000_000,
];

/// Buckets of the latency histogram: one per bound, and one above the last.
pub const LATENCY_BUCKETS: usize = LATENCY_BOUNDS_US.len() + 1;

/// Status classes counted: 1xx to 5xx.
pub const STATUS_CLASSES: usize = 5;

/// The field indexes within a cell (the last few are spare, for the cache-line size).
const HEARTBEAT: usize = 0;
const PID: usize = 1;
const SLOT: usize = 2;
const CONNECTIONS: usize = 3;
const REQUESTS: usize = 4;
const COMMITS: usize = 5;
const COMMITTED_JOBS: usize = 6;
const CLOSED: usize = 7;
const RECEIVED_BYTES: usize = 8;
const SENT_BYTES: usize = 9;
const DB_ERRORS: usize = 10;
const DB_RECONNECTS: usize = 11;
const REJECTED: usize = 12;
/// Responses by status class: `RESPONSES + 0` is 1xx … `RESPONSES + 4` is 5xx.
const RESPONSES: usize = 13;
/// The sum of the latencies recorded in the histogram, in nanoseconds.
const LATENCY_SUM_NS: usize = RESPONSES + STATUS_CLASSES;
/// The histogram's buckets (not cumulative: each counts its own range).
const LATENCY: usize = LATENCY_SUM_NS + 1;
/// The first field a new incarnation resets (the ones before are the heartbeat and
/// the identity).
const FIRST_COUNTER: usize = CONNECTIONS;
const _: () = assert!(
    LATENCY + LATENCY_BUCKETS <= FIELDS,
    "a cell holds every field"
);
const _: () = assert!(
    (FIELDS * 8).is_multiple_of(64),
    "cells fill whole cache lines"
);

/// One cell's atomics.
type Fields = [AtomicU64; FIELDS];

/// One worker's heartbeat cell. `Clone + Send + Sync`: threads mode shares it.
#[derive(Clone, Debug)]
pub struct Heartbeat {
    cell: &'static Fields,
}

impl Heartbeat {
    /// Records that the worker is alive now. Cheap: one vDSO clock read, one atomic store.
    pub fn beat(&self) {
        self.cell[HEARTBEAT].store(now_ms(), Ordering::Relaxed);
    }
}

/// Where counts made outside any worker go (sessions and database clients built by
/// tests or tools): added to, never read.
static DISCARDED: Fields = [const { AtomicU64::new(0) }; FIELDS];

/// One worker's activity counters (for `GET /stats` and `GET /metrics`).
/// `Clone + Send + Sync`: threads mode shares it, and a service reaches it through
/// [`crate::service::WorkerInfo::counters`]. CONTRACT (the workers call these):
/// `connection()` per accepted connection and `closed()` when it is dropped;
/// `requests(n)` per answered requests; `answered(status, latency)` per response encoded
/// for a parsed request and `rejected(status)` per error answer of the HTTP parser;
/// `received(n)`/`sent(n)` per read and write on a client socket; `commit(jobs)` per
/// commit of `jobs` deferred jobs (the task service: rows); services call
/// `db_errors(n)` and `db_reconnect()`. Each is one or two relaxed atomic adds on the
/// worker's own cache lines.
#[derive(Clone, Copy, Debug)]
pub struct Counters {
    cell: &'static Fields,
}

impl Counters {
    /// Counters of this process only, not in the shared scoreboard (for tests).
    pub fn detached() -> Counters {
        Counters {
            cell: Box::leak(Box::new([const { AtomicU64::new(0) }; FIELDS])),
        }
    }

    /// Counters that count nowhere anyone reads: for connections and clients made
    /// outside a worker (unit tests, tools). Costs no allocation.
    pub fn discarded() -> Counters {
        Counters { cell: &DISCARDED }
    }

    /// One connection accepted.
    pub fn connection(&self) {
        self.cell[CONNECTIONS].fetch_add(1, Ordering::Relaxed);
    }

    /// One connection closed (open connections = accepted − closed).
    pub fn closed(&self) {
        self.cell[CLOSED].fetch_add(1, Ordering::Relaxed);
    }

    /// `n` bytes read from a client.
    pub fn received(&self, n: usize) {
        self.cell[RECEIVED_BYTES].fetch_add(n as u64, Ordering::Relaxed);
    }

    /// `n` bytes written to a client.
    pub fn sent(&self, n: usize) {
        self.cell[SENT_BYTES].fetch_add(n as u64, Ordering::Relaxed);
    }

    /// A response with `status` encoded for a parsed request, `latency` after the
    /// request was complete (see the README's "Metrics" for what it spans).
    pub fn answered(&self, status: u16, latency: Duration) {
        self.cell[RESPONSES + status_class(status)].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        let micros = nanos / 1_000;
        let bucket = LATENCY_BOUNDS_US
            .iter()
            .position(|&bound| micros <= bound)
            .unwrap_or(LATENCY_BOUNDS_US.len());
        self.cell[LATENCY + bucket].fetch_add(1, Ordering::Relaxed);
        self.cell[LATENCY_SUM_NS].fetch_add(nanos, Ordering::Relaxed);
    }

    /// An error answer the HTTP parser gave on its own (malformed or oversized request,
    /// read timeout): counted in its status class, and apart, with no latency.
    pub fn rejected(&self, status: u16) {
        self.cell[RESPONSES + status_class(status)].fetch_add(1, Ordering::Relaxed);
        self.cell[REJECTED].fetch_add(1, Ordering::Relaxed);
    }

    /// `n` requests whose database work failed (answered 503 or 500 because of the
    /// database).
    pub fn db_errors(&self, n: u64) {
        if n > 0 {
            self.cell[DB_ERRORS].fetch_add(n, Ordering::Relaxed);
        }
    }

    /// A database connection established again after one was lost (or could not be
    /// made).
    pub fn db_reconnect(&self) {
        self.cell[DB_RECONNECTS].fetch_add(1, Ordering::Relaxed);
    }

    /// `n` requests answered.
    pub fn requests(&self, n: u64) {
        self.cell[REQUESTS].fetch_add(n, Ordering::Relaxed);
    }

    /// One commit of `jobs` deferred jobs.
    pub fn commit(&self, jobs: u64) {
        self.cell[COMMITS].fetch_add(1, Ordering::Relaxed);
        self.cell[COMMITTED_JOBS].fetch_add(jobs, Ordering::Relaxed);
    }

    /// What has been counted so far, with the cell's slot and pid (zero when detached).
    pub fn get(&self) -> WorkerStats {
        read_counters(self.cell)
    }
}

/// Index of `status`'s class among [`STATUS_CLASSES`] (0 for 1xx … 4 for 5xx); a
/// status outside 100..=599 counts as a server error.
fn status_class(status: u16) -> usize {
    match status / 100 {
        class @ 1..=5 => usize::from(class) - 1,
        _ => STATUS_CLASSES - 1,
    }
}

/// One live worker's line of the scoreboard, as read at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Its listener slot.
    pub slot: usize,
    /// Its process id.
    pub pid: u32,
    /// Connections accepted.
    pub connections: u64,
    /// Requests answered.
    pub requests: u64,
    /// Commits of deferred jobs (the task service: insert transactions).
    pub commits: u64,
    /// Jobs made durable by those commits (the task service: rows).
    pub committed_jobs: u64,
    /// Connections closed.
    pub closed: u64,
    /// Bytes read from clients.
    pub received_bytes: u64,
    /// Bytes written to clients.
    pub sent_bytes: u64,
    /// Requests whose database work failed.
    pub db_errors: u64,
    /// Database connections established again after a loss.
    pub db_reconnects: u64,
    /// Error answers of the HTTP parser (also in [`WorkerStats::responses`]).
    pub rejected: u64,
    /// Responses by status class, 1xx to 5xx.
    pub responses: [u64; STATUS_CLASSES],
    /// Sum of the latencies in [`WorkerStats::latency`], in nanoseconds.
    pub latency_sum_ns: u64,
    /// The latency histogram's buckets, each counting its own range (not cumulative):
    /// one per [`LATENCY_BOUNDS_US`] bound, the last above them all.
    pub latency: [u64; LATENCY_BUCKETS],
}

impl WorkerStats {
    /// Connections open at the moment of reading (accepted − closed).
    pub fn open(&self) -> u64 {
        self.connections.saturating_sub(self.closed)
    }

    /// Jobs per commit (the group commit's size); 0 when nothing was committed.
    pub fn mean_group(&self) -> f64 {
        mean(self.committed_jobs, self.commits)
    }
}

/// `jobs / commits`, 0 when there was no commit.
pub fn mean(jobs: u64, commits: u64) -> f64 {
    if commits == 0 {
        0.0
    } else {
        jobs as f64 / commits as f64
    }
}

/// A read-only view of every cell, for `GET /stats`: `Copy`, valid in every process
/// forked after the scoreboard was mapped.
#[derive(Clone, Copy, Debug)]
pub struct Board {
    cells: &'static [Fields],
}

impl Board {
    /// Every live cell, sorted by slot (then pid: during a rolling restart a slot's old
    /// and new worker are both live).
    pub fn snapshot(&self) -> Vec<WorkerStats> {
        let mut live: Vec<WorkerStats> = self.cells.iter().filter_map(read_live).collect();
        live.sort_by_key(|w| (w.slot, w.pid));
        live
    }
}

/// A cell's counters and identity, if a worker owns it. The pid is read again after
/// the rest: a cell released (or re-allocated) while being read is skipped rather than
/// reported with another incarnation's numbers.
fn read_live(cell: &Fields) -> Option<WorkerStats> {
    let pid = cell[PID].load(Ordering::Acquire);
    if pid == 0 {
        return None;
    }
    let stats = read_counters(cell);
    (cell[PID].load(Ordering::Acquire) == pid).then_some(WorkerStats {
        pid: pid as u32,
        ..stats
    })
}

fn read_counters(cell: &Fields) -> WorkerStats {
    let get = |field: usize| cell[field].load(Ordering::Relaxed);
    // Closed before accepted: the open count derived from them is never negative.
    let closed = get(CLOSED);
    WorkerStats {
        slot: get(SLOT) as usize,
        pid: get(PID) as u32,
        connections: get(CONNECTIONS),
        requests: get(REQUESTS),
        commits: get(COMMITS),
        committed_jobs: get(COMMITTED_JOBS),
        closed,
        received_bytes: get(RECEIVED_BYTES),
        sent_bytes: get(SENT_BYTES),
        db_errors: get(DB_ERRORS),
        db_reconnects: get(DB_RECONNECTS),
        rejected: get(REJECTED),
        responses: std::array::from_fn(|class| get(RESPONSES + class)),
        latency_sum_ns: get(LATENCY_SUM_NS),
        latency: std::array::from_fn(|bucket| get(LATENCY + bucket)),
    }
}

/// Index of an allocated cell, as the master tracks it per worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell(usize);

/// The master's view of the shared cells: which are in use, and how old each beat is.
#[derive(Debug)]
pub struct Scoreboard {
    cells: &'static [Fields],
    /// Free cell indexes; popped from the end, so recently released cells are reused.
    free: Vec<usize>,
}

impl Scoreboard {
    /// Maps `capacity` cells of shared memory (call before the first fork).
    pub fn new(capacity: usize) -> io::Result<Scoreboard> {
        let atomics = sys::shared_atomics(capacity.max(1) * FIELDS)?;
        let (cells, rest) = atomics.as_chunks::<FIELDS>();
        debug_assert!(rest.is_empty());
        let free = (0..cells.len()).rev().collect();
        Ok(Scoreboard { cells, free })
    }

    /// Takes a free cell for a worker about to be forked: counters reset, stamped "now"
    /// so the worker is not judged hung before its first beat, not live until
    /// [`Scoreboard::occupy`]. `None` when every cell is in use.
    pub fn allocate(&mut self) -> Option<Cell> {
        let index = self.free.pop()?;
        let cell = &self.cells[index];
        for field in &cell[FIRST_COUNTER..] {
            field.store(0, Ordering::Relaxed);
        }
        cell[HEARTBEAT].store(now_ms(), Ordering::Relaxed);
        Some(Cell(index))
    }

    /// Marks `cell` as used by the worker `pid` of `slot`, which makes it visible to
    /// `/stats`. Called on both sides of fork with the same values (see the module docs).
    pub fn occupy(&self, cell: Cell, slot: usize, pid: u32) {
        let fields = &self.cells[cell.0];
        fields[SLOT].store(slot as u64, Ordering::Relaxed);
        fields[PID].store(u64::from(pid), Ordering::Release);
    }

    /// Returns a reaped worker's cell to the pool; it leaves `/stats` at once.
    pub fn release(&mut self, cell: Cell) {
        debug_assert!(!self.free.contains(&cell.0), "cell released twice");
        self.cells[cell.0][PID].store(0, Ordering::Release);
        self.free.push(cell.0);
    }

    /// The handle a worker writes its beats through.
    pub fn heartbeat(&self, cell: Cell) -> Heartbeat {
        Heartbeat {
            cell: &self.cells[cell.0],
        }
    }

    /// The handle a worker counts its work through.
    pub fn counters(&self, cell: Cell) -> Counters {
        Counters {
            cell: &self.cells[cell.0],
        }
    }

    /// A read-only view of every cell, for the workers' `/stats`.
    pub fn board(&self) -> Board {
        Board { cells: self.cells }
    }

    /// Time since the cell's last beat.
    pub fn age(&self, cell: Cell) -> Duration {
        let last = self.cells[cell.0][HEARTBEAT].load(Ordering::Relaxed);
        Duration::from_millis(now_ms().saturating_sub(last))
    }
}

/// Milliseconds of `CLOCK_MONOTONIC`, comparable between processes on this machine.
fn now_ms() -> u64 {
    // CLOCK_MONOTONIC cannot fail on Linux (it only fails for an invalid clock id).
    let now = clock_gettime(ClockId::CLOCK_MONOTONIC).expect("CLOCK_MONOTONIC is readable");
    (now.tv_sec() as u64) * 1000 + (now.tv_nsec() as u64) / 1_000_000
}

#[cfg(test)]
mod tests;
