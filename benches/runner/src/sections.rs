//! The issue-5 sections as data: prefork `--batch 1` vs group commit against the pgbench
//! ceiling, and `--accept reuseport` vs `shared`. `bench.rs` runs them; a cell that
//! another section already measured (same run mode, load, route) runs once.

use crate::cell::{Cell, Load, Route, Section};
use crate::cli::{SaturationLoad, SeedLoad};
use crate::prefork_mode::{Accept, Prefork, DEFAULT_BATCH};
use crate::system::{Mode, Variant};

/// Run modes tried in the group-commit section, each at every batch of [`BATCHES`].
/// Evloop: one worker (the biggest batches: every connection's inserts in one commit)
/// and one per core. Threads: the default request threads (2 × CPUs) per worker, and
/// 32 per worker — 64 PostgreSQL connections, one per client as pgbench has, which is
/// what one commit per request needs to share WAL flushes.
const GROUP_COMMIT_RUNS: [Prefork; 4] = [
    run(Mode::Evloop, 2, None),
    run(Mode::Evloop, 1, None),
    run(Mode::Threads, 2, None),
    run(Mode::Threads, 2, Some(32)),
];

/// The batch sizes compared: one commit per request, and the default group commit.
pub const BATCHES: [u32; 2] = [1, DEFAULT_BATCH];

/// `--quick`'s group-commit rows: the best guess for `--batch 1` (threads: many
/// requests' commits in flight at once, so PostgreSQL shares their WAL flushes) and for
/// group commit (evloop, one worker per core).
const QUICK_BATCH_ONE: Prefork = run(Mode::Threads, 2, Some(32));
const QUICK_GROUP_COMMIT: Prefork = run(Mode::Evloop, 2, None);

/// A run mode at the default batch, reuseport.
const fn run(mode: Mode, workers: u32, threads: Option<u32>) -> Prefork {
    Prefork {
        mode,
        workers,
        threads,
        batch: DEFAULT_BATCH,
        accept: Accept::Reuseport,
    }
}

/// Workers of the accept comparison: more than the 2 cores, so an uneven spread shows
/// (`--quick`: 2, which the other sections measure already for reuseport).
pub fn accept_workers(quick: bool) -> u32 {
    if quick {
        2
    } else {
        4
    }
}

fn with_batch(run: Prefork, batch: u32) -> Prefork {
    Prefork { batch, ..run }
}

fn saturation(p: Prefork, load: SaturationLoad, section: Section) -> Cell {
    Cell {
        variant: Variant::Prefork(p),
        load: Load::Saturation(load),
        route: Route::Direct,
        section,
    }
}

/// prefork's `--batch 1` and group-commit cells at the saturation load (the pgbench
/// ceiling cell is `cell::ceiling_cell`, run just before them).
pub fn group_commit_cells(quick: bool, load: SaturationLoad) -> Vec<Cell> {
    let runs: Vec<Prefork> = if quick {
        vec![
            with_batch(QUICK_BATCH_ONE, 1),
            with_batch(QUICK_GROUP_COMMIT, DEFAULT_BATCH),
        ]
    } else {
        GROUP_COMMIT_RUNS
            .iter()
            .flat_map(|&run| BATCHES.map(|b| with_batch(run, b)))
            .collect()
    };
    runs.into_iter()
        .map(|p| saturation(p, load, Section::GroupCommit))
        .collect()
}

/// The evloop run modes compared: same workers and batch, reuseport then shared.
pub fn accept_pair(quick: bool) -> [Prefork; 2] {
    let plain = Prefork::plain(Mode::Evloop, accept_workers(quick));
    [
        plain,
        Prefork {
            accept: Accept::Shared,
            ..plain
        },
    ]
}

/// The accept comparison under the seed load (connection per request).
pub fn accept_seed_cells(quick: bool, load: SeedLoad) -> Vec<Cell> {
    accept_pair(quick)
        .map(|p| Cell {
            variant: Variant::Prefork(p),
            load: Load::Seed(load),
            route: Route::Direct,
            section: Section::Accept,
        })
        .to_vec()
}

/// The accept comparison under the saturation load (keep-alive).
pub fn accept_saturation_cells(quick: bool, load: SaturationLoad) -> Vec<Cell> {
    accept_pair(quick)
        .map(|p| saturation(p, load, Section::Accept))
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::Tag;
    use std::time::Duration;

    fn sat() -> SaturationLoad {
        SaturationLoad {
            connections: 64,
            duration: Duration::from_secs(10),
            warmup: Duration::from_secs(2),
        }
    }

    fn seed() -> SeedLoad {
        SeedLoad {
            users: 10,
            loops: 1000,
            warmup_loops: 50,
        }
    }

    fn keys(cells: &[Cell]) -> Vec<String> {
        cells.iter().map(Cell::key).collect()
    }

    /// The full group-commit section tries evloop 2 and 1 and threads 2 (default and 32
    /// threads), each at batch 1 and 256.
    #[test]
    fn group_commit_full() {
        let cells = group_commit_cells(false, sat());
        assert_eq!(
            keys(&cells),
            [
                "sat-direct-evloop-2-b1",
                "sat-direct-evloop-2",
                "sat-direct-evloop-1-b1",
                "sat-direct-evloop-1",
                "sat-direct-threads-2-b1",
                "sat-direct-threads-2",
                "sat-direct-threads-2-t32-b1",
                "sat-direct-threads-2-t32",
            ]
        );
        assert!(cells
            .iter()
            .all(|c| c.tags() == [Tag::Saturation, Tag::Direct, Tag::GroupCommit]));
    }

    /// `--quick` keeps one `--batch 1` row and one group-commit row.
    #[test]
    fn group_commit_quick() {
        let cells = group_commit_cells(true, sat());
        assert_eq!(
            keys(&cells),
            ["sat-direct-threads-2-t32-b1", "sat-direct-evloop-2"]
        );
    }

    /// The accept pairs differ only in the strategy; quick's reuseport cells are the
    /// published round 2 and the group-commit row, so they run once.
    #[test]
    fn accept_cells() {
        let [a, b] = accept_pair(false);
        assert_eq!((a.workers, a.batch, a.accept), (4, 256, Accept::Reuseport));
        assert_eq!((b.workers, b.batch, b.accept), (4, 256, Accept::Shared));
        assert_eq!(
            keys(&accept_seed_cells(false, seed())),
            ["seed-evloop-4", "seed-evloop-4-shared"]
        );
        let quick = accept_saturation_cells(true, sat());
        assert_eq!(quick[1].tags(), [Tag::Saturation, Tag::Direct, Tag::Accept]);
        let group = group_commit_cells(true, sat());
        assert!(quick[0].same_measurement(&group[1]));
        assert!(!quick[1].same_measurement(&group[1]));
        let round_two = crate::cell::seed_cells(crate::system::System::PreforkEvloop, true, seed());
        assert!(accept_seed_cells(true, seed())[0].same_measurement(&round_two[0]));
    }
}
