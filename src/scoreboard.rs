//! Memory shared by the master and its workers: one heartbeat cell per worker.
//!
//! A [`Scoreboard`] is mapped `MAP_SHARED | MAP_ANONYMOUS` in the master before the first
//! fork, so every worker writes to the same pages. A [`Heartbeat`] is one worker's cell:
//! `beat()` stores "now" in milliseconds of `CLOCK_MONOTONIC`, a clock that is the same
//! for every process on the machine; the master reads the cell to detect a hung worker.
//!
//! Cells are handed out per worker *incarnation*, not per slot: during a rolling restart
//! the old and the new worker of one slot run side by side, each with its own cell.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use nix::time::{clock_gettime, ClockId};

use crate::sys;

/// Cells mapped by default: far more than any sane worker count, so TTIN can grow the
/// pool without remapping (32 KiB of shared memory).
pub const DEFAULT_CAPACITY: usize = 4096;

/// One worker's heartbeat cell. `Clone + Send + Sync`: threads mode shares it.
#[derive(Clone, Debug)]
pub struct Heartbeat {
    cell: &'static AtomicU64,
}

impl Heartbeat {
    /// Records that the worker is alive now. Cheap: one vDSO clock read, one atomic store.
    pub fn beat(&self) {
        self.cell.store(now_ms(), Ordering::Relaxed);
    }
}

/// Index of an allocated cell, as the master tracks it per worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell(usize);

/// The master's view of the shared cells: which are in use, and how old each beat is.
#[derive(Debug)]
pub struct Scoreboard {
    cells: &'static [AtomicU64],
    /// Free cell indexes; popped from the end, so recently released cells are reused.
    free: Vec<usize>,
}

impl Scoreboard {
    /// Maps `capacity` cells of shared memory (call before the first fork).
    pub fn new(capacity: usize) -> io::Result<Scoreboard> {
        let cells = sys::shared_atomics(capacity)?;
        let free = (0..cells.len()).rev().collect();
        Ok(Scoreboard { cells, free })
    }

    /// Takes a free cell for a worker about to be forked, stamped "now" so the worker
    /// is not judged hung before its first beat. `None` when every cell is in use.
    pub fn allocate(&mut self) -> Option<Cell> {
        let index = self.free.pop()?;
        self.cells[index].store(now_ms(), Ordering::Relaxed);
        Some(Cell(index))
    }

    /// Returns a reaped worker's cell to the pool.
    pub fn release(&mut self, cell: Cell) {
        debug_assert!(!self.free.contains(&cell.0), "cell released twice");
        self.free.push(cell.0);
    }

    /// The handle a worker writes its beats through.
    pub fn heartbeat(&self, cell: Cell) -> Heartbeat {
        Heartbeat {
            cell: &self.cells[cell.0],
        }
    }

    /// Time since the cell's last beat.
    pub fn age(&self, cell: Cell) -> Duration {
        let last = self.cells[cell.0].load(Ordering::Relaxed);
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
mod tests {
    use super::*;

    /// A freshly allocated cell is young; an old stamp shows as a large age.
    #[test]
    fn age_of_new_and_stale_cells() {
        let mut board = Scoreboard::new(4).unwrap();
        let cell = board.allocate().unwrap();
        assert!(board.age(cell) < Duration::from_secs(1));
        board.cells[cell.0].store(now_ms() - 5_000, Ordering::Relaxed);
        assert!(board.age(cell) >= Duration::from_secs(5));
        board.heartbeat(cell).beat();
        assert!(board.age(cell) < Duration::from_secs(1));
    }

    /// Cells run out at capacity and released cells can be allocated again.
    #[test]
    fn allocate_until_full_then_release() {
        let mut board = Scoreboard::new(2).unwrap();
        let a = board.allocate().unwrap();
        let b = board.allocate().unwrap();
        assert_ne!(a, b);
        assert_eq!(board.allocate(), None);
        board.release(a);
        assert_eq!(board.allocate(), Some(a));
    }

    /// A beat from a forked child is visible to the parent (the memory is shared).
    #[test]
    fn beat_from_child_is_seen_by_parent() {
        use nix::sys::wait::waitpid;
        let mut board = Scoreboard::new(1).unwrap();
        let cell = board.allocate().unwrap();
        board.cells[cell.0].store(0, Ordering::Relaxed);
        let heartbeat = board.heartbeat(cell);
        // The test harness is multi-threaded: the child only does async-signal-safe
        // things (a clock read, an atomic store, `_exit`).
        match sys::fork().unwrap() {
            nix::unistd::ForkResult::Child => {
                heartbeat.beat();
                sys::exit_immediately(0);
            }
            nix::unistd::ForkResult::Parent { child } => {
                waitpid(child, None).unwrap();
            }
        }
        assert!(board.age(cell) < Duration::from_secs(1));
    }

    /// The handle can be shared between threads, as threads mode does.
    #[test]
    fn heartbeat_is_send_and_sync() {
        fn assert_send_sync<T: Clone + Send + Sync>() {}
        assert_send_sync::<Heartbeat>();
    }
}
