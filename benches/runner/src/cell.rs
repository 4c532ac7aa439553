//! A cell is one measurement: a system's run mode × a load model × a route. The seed
//! rounds and the saturation rounds are data here; `bench.rs` runs them.

use serde::Serialize;

use crate::cli::{SaturationLoad, SeedLoad};
use crate::prefork_mode::Prefork;
use crate::system::{Mode, System, Variant};

/// Words `--only` accepts besides system names; each cell carries some of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tag {
    /// The seed's rounds (10 users × 1000, connection per request).
    Seed,
    /// The saturation rounds (keep-alive, fixed duration).
    Saturation,
    /// Client straight to the server.
    Direct,
    /// Client to nginx, nginx to the server.
    Nginx,
    /// The group-commit section: pgbench and prefork `--batch 1` vs group commit.
    GroupCommit,
    /// The accept-strategy section: prefork `--accept reuseport` vs `shared`.
    Accept,
}

impl Tag {
    /// The tag an `--only` word names, if any.
    pub fn parse(word: &str) -> Option<Tag> {
        Some(match word {
            "seed" => Tag::Seed,
            "saturation" | "sat" => Tag::Saturation,
            "direct" => Tag::Direct,
            "nginx" => Tag::Nginx,
            "group-commit" | "batch" => Tag::GroupCommit,
            "accept" => Tag::Accept,
            _ => return None,
        })
    }
}

/// How the client reaches the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Route {
    /// loadgen → server.
    Direct,
    /// loadgen → nginx → server (upstream keep-alive).
    Nginx,
}

/// Which part of the report a cell was planned for (a measurement shared by two parts
/// runs once, under the first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Section {
    /// The published seed rounds, and each system's saturation at its best seed mode.
    Rounds,
    /// The pgbench ceiling and prefork `--batch 1` vs group commit at the saturation load.
    GroupCommit,
    /// prefork evloop `--accept reuseport` vs `shared`, seed load and saturation load.
    Accept,
}

impl Section {
    /// The `--only` word of the section, if it has one.
    pub fn tag(self) -> Option<Tag> {
        match self {
            Section::Rounds => None,
            Section::GroupCommit => Some(Tag::GroupCommit),
            Section::Accept => Some(Tag::Accept),
        }
    }
}

/// The client model of a cell.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "model", rename_all = "lowercase")]
pub enum Load {
    /// Closed loop, a new connection per request.
    Seed(SeedLoad),
    /// Keep-alive connections, sized to last about `duration`.
    Saturation(SaturationLoad),
}

/// A row of the published table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Round {
    /// One process.
    One,
    /// Two workers.
    Two,
    /// Three workers (PM2 `-i -1`).
    Three,
    /// Nine workers (Gunicorn's 2×CPU+1 on the experiment's machine).
    Nine,
    /// gevent, 1000 connections × 9 workers.
    Gevent1000x9,
    /// gevent, 500 connections × 4 workers.
    Gevent500x4,
    /// gevent, 1000 connections × 1 worker.
    Gevent1000x1,
}

impl Round {
    /// Every row, in the published order.
    pub const ALL: [Round; 7] = [
        Round::One,
        Round::Two,
        Round::Three,
        Round::Nine,
        Round::Gevent1000x9,
        Round::Gevent500x4,
        Round::Gevent1000x1,
    ];

    /// The row title.
    pub fn title(self) -> &'static str {
        match self {
            Round::One => "1: one process",
            Round::Two => "2: 2 workers",
            Round::Three => "3: 3 workers (PM2 `-i -1` = CPUs − 1)",
            Round::Nine => "9 workers (Gunicorn's 2×CPU+1 there)",
            Round::Gevent1000x9 => "gevent 1000 × 9",
            Round::Gevent500x4 => "gevent 500 × 4",
            Round::Gevent1000x1 => "gevent 1000 × 1",
        }
    }

    /// The row a seed-round variant belongs to.
    pub fn of(variant: &Variant) -> Option<Round> {
        let by_workers = |n| match n {
            1 => Some(Round::One),
            2 => Some(Round::Two),
            3 => Some(Round::Three),
            9 => Some(Round::Nine),
            _ => None,
        };
        match *variant {
            Variant::Prefork(p) if p.is_plain() => by_workers(p.workers),
            Variant::Prefork(_) => None,
            Variant::GunicornSync { workers } => by_workers(workers),
            Variant::Pm2Fork => Some(Round::One),
            Variant::Pm2Cluster { instances: 2 } => Some(Round::Two),
            Variant::Pm2Cluster { instances: -1 } => Some(Round::Three),
            Variant::Pm2Cluster { .. } => None,
            Variant::GunicornGevent {
                workers: 9,
                connections: 1000,
            } => Some(Round::Gevent1000x9),
            Variant::GunicornGevent {
                workers: 4,
                connections: 500,
            } => Some(Round::Gevent500x4),
            Variant::GunicornGevent {
                workers: 1,
                connections: 1000,
            } => Some(Round::Gevent1000x1),
            Variant::GunicornGevent { .. } => None,
            Variant::Pgbench => None,
        }
    }
}

/// One measurement to make.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Cell {
    /// The system's run mode.
    pub variant: Variant,
    /// The client model.
    pub load: Load,
    /// Direct or through nginx.
    pub route: Route,
    /// The report section it was planned for.
    pub section: Section,
}

impl Cell {
    /// The system (column).
    pub fn system(&self) -> System {
        self.variant.system()
    }

    /// The `--only` words this cell answers to: its phase, its route, its section's.
    pub fn tags(&self) -> Vec<Tag> {
        let phase = match self.load {
            Load::Seed(_) => Tag::Seed,
            Load::Saturation(_) => Tag::Saturation,
        };
        let route = match self.route {
            Route::Direct => Tag::Direct,
            Route::Nginx => Tag::Nginx,
        };
        [Some(phase), Some(route), self.section.tag()]
            .into_iter()
            .flatten()
            .collect()
    }

    /// Whether `other` measures the same thing (same run mode, load and route), whatever
    /// section planned it: such a cell runs once.
    pub fn same_measurement(&self, other: &Cell) -> bool {
        self.variant == other.variant && self.load == other.load && self.route == other.route
    }

    /// The prefork run mode, if this is a prefork cell.
    pub fn prefork(&self) -> Option<Prefork> {
        match self.variant {
            Variant::Prefork(p) => Some(p),
            _ => None,
        }
    }

    /// Whether this is a seed-round cell.
    pub fn is_seed(&self) -> bool {
        matches!(self.load, Load::Seed(_))
    }

    /// `prefork evloop 2 workers, seed 10×1000` — for progress lines.
    pub fn describe(&self) -> String {
        if let (Variant::Pgbench, Load::Saturation(s)) = (self.variant, self.load) {
            return format!(
                "pgbench ceiling {}, {} clients ~{}s",
                self.variant.label(),
                s.connections,
                s.duration.as_secs_f64()
            );
        }
        let load = match self.load {
            Load::Seed(s) => format!("seed {}×{}", s.users, s.loops),
            Load::Saturation(s) => format!(
                "saturation {} keep-alive ~{}s",
                s.connections,
                s.duration.as_secs_f64()
            ),
        };
        let via = match self.route {
            Route::Direct => "",
            Route::Nginx => " via nginx",
        };
        format!(
            "{} {}, {load}{via}",
            self.system().title(),
            self.variant.label()
        )
    }

    /// A file-name-safe name: `seed-evloop-2`, `sat-nginx-sync-3`.
    pub fn key(&self) -> String {
        match (self.load, self.route) {
            (Load::Seed(_), _) => format!("seed-{}", self.variant.key()),
            (Load::Saturation(_), Route::Direct) => format!("sat-direct-{}", self.variant.key()),
            (Load::Saturation(_), Route::Nginx) => format!("sat-nginx-{}", self.variant.key()),
        }
    }
}

fn prefork(mode: Mode, workers: u32) -> Variant {
    Variant::Prefork(Prefork::plain(mode, workers))
}

/// The seed rounds' run modes of `system`: the published rows (round 2 only with `quick`).
pub fn seed_variants(system: System, quick: bool) -> Vec<Variant> {
    if quick {
        return vec![quick_variant(system)];
    }
    match system {
        System::PreforkEvloop => [1, 2, 3, 9].map(|n| prefork(Mode::Evloop, n)).to_vec(),
        System::PreforkThreads => [1, 2, 3, 9].map(|n| prefork(Mode::Threads, n)).to_vec(),
        System::Express => vec![
            Variant::Pm2Fork,
            Variant::Pm2Cluster { instances: 2 },
            Variant::Pm2Cluster { instances: -1 },
        ],
        System::Pgbench => vec![],
        System::Django => {
            let mut all: Vec<Variant> = [1, 2, 3, 9]
                .map(|workers| Variant::GunicornSync { workers })
                .to_vec();
            for (connections, workers) in [(1000, 9), (500, 4), (1000, 1)] {
                all.push(Variant::GunicornGevent {
                    workers,
                    connections,
                });
            }
            all
        }
    }
}

/// The experiment's round 2 (two workers each): `--quick`'s one cell per system, and the
/// saturation choice when no seed round of the system ran.
pub fn quick_variant(system: System) -> Variant {
    match system {
        System::PreforkEvloop => prefork(Mode::Evloop, 2),
        System::PreforkThreads => prefork(Mode::Threads, 2),
        System::Express => Variant::Pm2Cluster { instances: 2 },
        System::Django => Variant::GunicornSync { workers: 2 },
        System::Pgbench => Variant::Pgbench,
    }
}

/// The ceiling cell: `pgbench` with the same INSERT and the saturation load's clients.
pub fn ceiling_cell(load: SaturationLoad) -> Cell {
    Cell {
        variant: Variant::Pgbench,
        load: Load::Saturation(load),
        route: Route::Direct,
        section: Section::GroupCommit,
    }
}

/// The seed cells of `system`.
pub fn seed_cells(system: System, quick: bool, load: SeedLoad) -> Vec<Cell> {
    seed_variants(system, quick)
        .into_iter()
        .map(|variant| Cell {
            variant,
            load: Load::Seed(load),
            route: Route::Direct,
            section: Section::Rounds,
        })
        .collect()
}

/// The saturation cells of one variant: direct, then through nginx if wanted.
pub fn saturation_cells(variant: Variant, load: SaturationLoad, nginx: bool) -> Vec<Cell> {
    let routes: &[Route] = if nginx {
        &[Route::Direct, Route::Nginx]
    } else {
        &[Route::Direct]
    };
    routes
        .iter()
        .map(|&route| Cell {
            variant,
            load: Load::Saturation(load),
            route,
            section: Section::Rounds,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The full matrix has the 18 seed cells, each on a published row.
    #[test]
    fn seed_matrix() {
        let all: Vec<Variant> = System::ALL
            .iter()
            .flat_map(|&s| seed_variants(s, false))
            .collect();
        assert_eq!(all.len(), 4 + 4 + 3 + 7);
        assert!(all.iter().all(|v| Round::of(v).is_some()));
        let quick: Vec<Variant> = System::ALL
            .iter()
            .flat_map(|&s| seed_variants(s, true))
            .collect();
        assert_eq!(quick.len(), 4);
        assert!(quick.iter().all(|v| Round::of(v) == Some(Round::Two)));
    }

    /// Cells answer to their phase and route words and have distinct keys.
    #[test]
    fn tags_and_keys() {
        let load = SaturationLoad {
            connections: 64,
            duration: std::time::Duration::from_secs(10),
            warmup: std::time::Duration::from_secs(2),
        };
        let cells = saturation_cells(Variant::GunicornSync { workers: 3 }, load, true);
        assert_eq!(cells[0].tags(), [Tag::Saturation, Tag::Direct]);
        assert_eq!(cells[1].tags(), [Tag::Saturation, Tag::Nginx]);
        assert_eq!(cells[1].key(), "sat-nginx-sync-3");
        assert!(cells[1].describe().ends_with("via nginx"));
    }

    /// The pgbench ceiling is a direct saturation cell of its own `--only` word.
    #[test]
    fn ceiling() {
        let load = SaturationLoad {
            connections: 64,
            duration: std::time::Duration::from_secs(3),
            warmup: std::time::Duration::from_secs(1),
        };
        let c = ceiling_cell(load);
        assert_eq!(c.tags(), [Tag::Saturation, Tag::Direct, Tag::GroupCommit]);
        assert_eq!(
            (c.system(), c.key()),
            (System::Pgbench, "sat-direct-pgbench".into())
        );
        assert!(c.describe().contains("64 clients"));
        assert_eq!(System::parse_group("pgbench"), Some(vec![System::Pgbench]));
        assert!(!System::ALL.contains(&System::Pgbench));
    }
}
