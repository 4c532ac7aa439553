//! Which measured cells stand for a kind of run mode: the fastest direct saturation
//! cell, or the shortest seed cell, among those a kind keeps. The acceptance verdicts
//! and the one-commit-per-request table choose from the same cells this way.

use crate::model::{CellResult, Mode, Route, Status, System};
use crate::summary::Summary;

/// A measured cell and its summary.
pub type Best<'a> = (&'a CellResult, Summary);

/// The ok direct saturation cell with the highest median rate among those `keep` keeps
/// (never one with an access log: the access-log section measures its cost, not a run
/// mode to compare).
pub fn best_saturation<'a>(
    results: &'a [CellResult],
    keep: impl Fn(&CellResult) -> bool,
) -> Option<Best<'a>> {
    results
        .iter()
        .filter(|r| r.status == Status::Ok && !r.cell.is_seed() && r.cell.route == Route::Direct)
        .filter(|r| !r.cell.variant.keeps_access_log())
        .filter(|r| keep(r))
        .filter_map(|r| Some((r, Summary::of(r)?)))
        .max_by(|a, b| a.1.rps.total_cmp(&b.1.rps))
}

/// The ok seed cell with the shortest median time among those `keep` keeps.
pub fn best_seed<'a>(
    results: &'a [CellResult],
    keep: impl Fn(&CellResult) -> bool,
) -> Option<Best<'a>> {
    results
        .iter()
        .filter(|r| r.status == Status::Ok && r.cell.is_seed())
        .filter(|r| keep(r))
        .filter_map(|r| Some((r, Summary::of(r)?)))
        .min_by(|a, b| a.1.elapsed_s.total_cmp(&b.1.elapsed_s))
}

/// A kind of run mode the report and the verdicts compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// prefork evloop, `--db sync`.
    EvloopSync,
    /// prefork evloop, `--db evented`.
    EvloopEvented,
    /// prefork threads (`--db sync`).
    ThreadsSync,
    /// The axum peer.
    Axum,
    /// Express under PM2.
    Express,
    /// Django under Gunicorn.
    Django,
    /// pgbench, the same INSERT with no HTTP.
    Pgbench,
}

impl Kind {
    /// The servers of the one-commit-per-request table, in row order.
    pub const SERVERS: [Kind; 6] = [
        Kind::EvloopSync,
        Kind::EvloopEvented,
        Kind::ThreadsSync,
        Kind::Axum,
        Kind::Express,
        Kind::Django,
    ];

    /// The row title.
    pub fn title(self) -> &'static str {
        match self {
            Kind::EvloopSync => "prefork evloop, --db sync",
            Kind::EvloopEvented => "prefork evloop, --db evented",
            Kind::ThreadsSync => "prefork threads, --db sync",
            Kind::Axum => System::Axum.title(),
            Kind::Express => System::Express.title(),
            Kind::Django => System::Django.title(),
            Kind::Pgbench => System::Pgbench.title(),
        }
    }

    /// Whether `r` is a run mode of this kind (any batch, any accept).
    pub fn has(self, r: &CellResult) -> bool {
        let prefork = r.cell.prefork();
        match self {
            Kind::EvloopSync => {
                prefork.is_some_and(|p| p.mode == Mode::Evloop && !p.db.is_evented())
            }
            Kind::EvloopEvented => prefork.is_some_and(|p| p.db.is_evented()),
            Kind::ThreadsSync => prefork.is_some_and(|p| p.mode == Mode::Threads),
            Kind::Axum => r.cell.system() == System::Axum,
            Kind::Express => r.cell.system() == System::Express,
            Kind::Django => r.cell.system() == System::Django,
            Kind::Pgbench => r.cell.system() == System::Pgbench,
        }
    }

    /// Whether `r` is of this kind and commits each request by itself: prefork at
    /// `--batch 1`; every peer does (pgbench: one transaction per INSERT).
    pub fn one_commit(self, r: &CellResult) -> bool {
        self.has(r) && r.cell.prefork().is_none_or(|p| p.batch == 1)
    }

    /// Whether `r` is of this kind with group commit (prefork, `--batch` > 1).
    pub fn grouped(self, r: &CellResult) -> bool {
        self.has(r) && r.cell.prefork().is_some_and(|p| p.batch > 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Prefork, Variant};

    fn result(variant: Variant, seed: bool, rps: f64, secs: f64) -> CellResult {
        CellResult::sample(variant, seed, rps, secs)
    }

    fn evented(conns: u32, batch: u32) -> Variant {
        Variant::Prefork(Prefork {
            batch,
            ..Prefork::evented(2, conns)
        })
    }

    /// The best evented `--batch 1` cell is its fastest connection count; kinds keep
    /// sync and evented apart; seed cells pick the shortest time.
    #[test]
    fn kinds_and_bests() {
        let results = vec![
            result(evented(4, 1), false, 100.0, 10.0),
            result(evented(16, 1), false, 300.0, 10.0),
            result(evented(4, 256), false, 900.0, 10.0),
            result(
                Variant::Prefork(Prefork::plain(Mode::Evloop, 2)),
                false,
                800.0,
                10.0,
            ),
            result(Variant::Prefork(Prefork::evented(1, 4)), true, 5000.0, 2.0),
            result(Variant::Prefork(Prefork::evented(2, 4)), true, 6000.0, 1.5),
            result(Variant::Pgbench, true, 9000.0, 1.1),
        ];
        let k = Kind::EvloopEvented;
        let (b, _) = best_saturation(&results, |r| k.one_commit(r)).unwrap();
        assert_eq!(b.cell.variant, evented(16, 1));
        let (g, _) = best_saturation(&results, |r| Kind::EvloopSync.grouped(r)).unwrap();
        assert_eq!(g.cell.variant.key(), "evloop-2");
        let (s, _) = best_seed(&results, |r| k.has(r)).unwrap();
        assert_eq!(s.cell.variant.key(), "evloop-2-ev4");
        assert!(Kind::Pgbench.one_commit(&results[6]));
        assert!(best_saturation(&results, |r| Kind::ThreadsSync.has(r)).is_none());
    }
}
