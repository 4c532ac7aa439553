//! The bench's targets, from `benches/targets.toml` (compiled in, parsed once): the
//! acceptance bars and the published figures of the original experiment.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::model::{Round, SeedLoad};

/// The data file, documented field by field in its comments.
const TEXT: &str = include_str!("../../targets.toml");

/// Everything the file holds.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// The acceptance bars.
    pub thresholds: Thresholds,
    /// The original experiment's figures.
    pub published: Published,
}

/// The acceptance bars (see the file for each one's meaning).
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// prefork `--batch 1` ÷ the pgbench ceiling, at least.
    pub batch_one_vs_pgbench: f64,
    /// prefork group commit ÷ the pgbench ceiling, at least.
    pub group_commit_vs_pgbench: f64,
    /// prefork's best ÷ Express/PM2's best, at least.
    pub prefork_vs_express: f64,
    /// prefork's best ÷ Django/Gunicorn's best, at least.
    pub prefork_vs_django: f64,
    /// The seed model's run, less than this many seconds.
    pub seed_max_s: f64,
    /// Peak RSS of one prefork worker, less than this many MiB.
    pub worker_rss_max_mib: f64,
    /// prefork evloop `--db evented --batch 1` ÷ the pgbench ceiling, at least.
    pub evented_batch_one_vs_pgbench: f64,
    /// prefork evloop `--db evented --batch 1` ÷ the axum peer's best, at least.
    pub evented_batch_one_vs_axum: f64,
    /// prefork evloop `--db evented` group commit ÷ the pgbench ceiling, at least.
    pub evented_group_commit_vs_pgbench: f64,
    /// prefork evloop `--db evented` group commit ÷ `--db sync` group commit, at least.
    pub evented_group_commit_vs_sync: f64,
    /// prefork evloop `--db evented`'s seed time ÷ pgbench's at the seed load, at most.
    pub evented_seed_vs_pgbench_time: f64,
    /// Peak RSS of one prefork worker in a `--db evented` cell, at most this many MiB.
    pub evented_worker_rss_max_mib: f64,
}

/// The published rounds and their client.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Published {
    /// Users of the published client.
    pub users: u64,
    /// Requests per user.
    pub loops: u64,
    /// One row per round, in the published order.
    pub rows: Vec<PublishedRow>,
}

/// A published row: the experiment's total times, in seconds.
#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedRow {
    /// The row.
    pub round: Round,
    /// Node/Express under PM2.
    pub express_s: Option<f64>,
    /// Django/DRF under Gunicorn.
    pub django_s: Option<f64>,
}

impl Published {
    /// Requests of every published round.
    pub fn requests(&self) -> f64 {
        (self.users * self.loops) as f64
    }

    /// The published client as a seed load.
    pub fn load(&self) -> SeedLoad {
        SeedLoad {
            users: self.users,
            loops: self.loops,
            warmup_loops: 0,
        }
    }

    /// Whether a seed load is the published one, so its times compare with the
    /// published times (any other load compares by rate only).
    pub fn is_published_load(&self, load: SeedLoad) -> bool {
        (load.users, load.loops) == (self.users, self.loops)
    }

    /// The published row of `round`.
    pub fn row(&self, round: Round) -> Option<&PublishedRow> {
        self.rows.iter().find(|p| p.round == round)
    }
}

/// The targets, parsed on first use.
pub fn get() -> &'static Targets {
    static TARGETS: OnceLock<Targets> = OnceLock::new();
    TARGETS
        .get_or_init(|| parse(TEXT).expect("benches/targets.toml is valid (a unit test checks it)"))
}

/// Parses a targets file.
pub fn parse(text: &str) -> Result<Targets, toml::de::Error> {
    toml::from_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped file parses; every round has a row, in order, with Django's time.
    #[test]
    fn shipped_file() {
        let t = parse(TEXT).unwrap();
        let rounds: Vec<Round> = t.published.rows.iter().map(|p| p.round).collect();
        assert_eq!(rounds, Round::ALL);
        assert!(t.published.rows.iter().all(|p| p.django_s.is_some()));
        assert_eq!(t.published.row(Round::One).unwrap().express_s, Some(36.0));
        assert_eq!(t.published.requests(), 10_000.0);
        assert_eq!(t.thresholds.worker_rss_max_mib, 16.0);
        assert_eq!(t.thresholds.evented_worker_rss_max_mib, 8.0);
    }

    /// Only the published users × loops is the published load, whatever the warm-up.
    #[test]
    fn published_load() {
        let p = &get().published;
        let load = |users, loops| SeedLoad {
            users,
            loops,
            warmup_loops: 5,
        };
        assert!(p.is_published_load(load(10, 1000)));
        assert!(!p.is_published_load(load(10, 100)));
        assert!(!p.is_published_load(load(20, 500)));
        assert_eq!(load(10, 100).label(), "10×100");
    }

    /// A misspelt field is an error naming it, not a silent default.
    #[test]
    fn rejects_unknown_fields() {
        let text = TEXT.replace("seed_max_s", "seed_max");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("seed_max"), "{err}");
    }
}
