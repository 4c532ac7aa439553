//! A cell is one measurement: a system's run mode × a load model × a route, planned for
//! one part of the report. Plain data; `plan.rs` lists the cells, `bench.rs` runs them.

use std::time::Duration;

use serde::Serialize;

use super::system::{System, Variant, AXUM_POOL};

/// The seed's client model: users in a closed loop, a new connection per request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SeedLoad {
    /// Concurrent users.
    pub users: u64,
    /// Requests per user.
    pub loops: u64,
    /// Requests per user of the warm-up before each measured run.
    pub warmup_loops: u64,
}

impl SeedLoad {
    /// `10×100`: users × requests per user.
    pub fn label(&self) -> String {
        format!("{}×{}", self.users, self.loops)
    }
}

/// The saturation model: keep-alive connections as fast as the server answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SaturationLoad {
    /// Keep-alive connections.
    pub connections: u64,
    /// Target length of the measured run.
    pub duration: Duration,
    /// Warm-up length (its rate sizes the measured run).
    pub warmup: Duration,
}

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
    /// The HTTP ceilings: prefork `--app hello` and nginx `return 200` beside group commit.
    Ceilings,
    /// The access-log section: prefork without and with `--access-log FILE`.
    AccessLog,
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
            "ceilings" | "hello" => Tag::Ceilings,
            "access-log" | "alog" => Tag::AccessLog,
            _ => return None,
        })
    }
}

/// How the client reaches the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Route {
    /// loadgen → server.
    Direct,
    /// loadgen → nginx → server (upstream keep-alive).
    Nginx,
    /// loadgen → nginx → server over a Unix socket (prefork's `--bind unix:PATH`;
    /// upstream keep-alive): how nginx usually reaches an app server on its own host.
    NginxUnix,
}

impl Route {
    /// ` via nginx`, ` via nginx over a Unix socket`, or nothing for direct.
    pub fn via(self) -> &'static str {
        match self {
            Route::Direct => "",
            Route::Nginx => " via nginx",
            Route::NginxUnix => " via nginx over a Unix socket",
        }
    }
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
    /// prefork `--app hello` and nginx `return 200` beside prefork's group commit.
    Ceilings,
    /// prefork without and with `--access-log FILE`, at the saturation load: its cost.
    AccessLog,
}

impl Section {
    /// The `--only` word of the section, if it has one.
    pub fn tag(self) -> Option<Tag> {
        match self {
            Section::Rounds => None,
            Section::GroupCommit => Some(Tag::GroupCommit),
            Section::Accept => Some(Tag::Accept),
            Section::Ceilings => Some(Tag::Ceilings),
            Section::AccessLog => Some(Tag::AccessLog),
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
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
            Variant::Prefork(p) if p.is_round() => by_workers(p.workers),
            Variant::GunicornSync { workers } => by_workers(workers),
            Variant::Pm2Fork => Some(Round::One),
            // One process, like PM2's fork mode; its pool size is tuned at saturation.
            Variant::Axum { pool: AXUM_POOL } => Some(Round::One),
            Variant::Pm2Cluster { instances: 2 } => Some(Round::Two),
            Variant::Pm2Cluster { instances: -1 } => Some(Round::Three),
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
            _ => None,
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
            Route::Nginx | Route::NginxUnix => Tag::Nginx,
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

    /// The prefork run mode, if this is a prefork cell of the task endpoint.
    pub fn prefork(&self) -> Option<super::system::Prefork> {
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
        match (self.variant, self.load) {
            (Variant::Pgbench, Load::Saturation(s)) => {
                return format!(
                    "pgbench ceiling {}, {} clients ~{}s",
                    self.variant.label(),
                    s.connections,
                    s.duration.as_secs_f64()
                );
            }
            (Variant::Pgbench, Load::Seed(s)) => {
                return format!(
                    "pgbench {}, seed {} ({} clients × {} transactions)",
                    self.variant.label(),
                    s.label(),
                    s.users,
                    s.loops
                );
            }
            _ => {}
        }
        let load = match self.load {
            Load::Seed(s) => format!("seed {}", s.label()),
            Load::Saturation(s) => format!(
                "saturation {} keep-alive ~{}s",
                s.connections,
                s.duration.as_secs_f64()
            ),
        };
        let via = self.route.via();
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
            (Load::Saturation(_), Route::NginxUnix) => {
                format!("sat-nginx-unix-{}", self.variant.key())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::system::{Mode, Prefork};
    use super::*;

    fn sat() -> SaturationLoad {
        SaturationLoad {
            connections: 64,
            duration: Duration::from_secs(10),
            warmup: Duration::from_secs(2),
        }
    }

    /// Cells answer to their phase, route and section words and have distinct keys.
    #[test]
    fn tags_and_keys() {
        let cell = |variant, route, section| Cell {
            variant,
            load: Load::Saturation(sat()),
            route,
            section,
        };
        let sync = Variant::GunicornSync { workers: 3 };
        let direct = cell(sync, Route::Direct, Section::Rounds);
        let nginx = cell(sync, Route::Nginx, Section::Rounds);
        assert_eq!(direct.tags(), [Tag::Saturation, Tag::Direct]);
        assert_eq!(nginx.tags(), [Tag::Saturation, Tag::Nginx]);
        assert_eq!(nginx.key(), "sat-nginx-sync-3");
        assert!(nginx.describe().ends_with("via nginx"));
        let ceiling = cell(Variant::Pgbench, Route::Direct, Section::GroupCommit);
        assert_eq!(
            ceiling.tags(),
            [Tag::Saturation, Tag::Direct, Tag::GroupCommit]
        );
        assert_eq!(
            (ceiling.system(), ceiling.key()),
            (System::Pgbench, "sat-direct-pgbench".into())
        );
        assert!(ceiling.describe().contains("64 clients"));
        assert!(!direct.same_measurement(&nginx));
        let grouped = Variant::Prefork(Prefork::plain(Mode::Evloop, 2));
        assert!(
            cell(grouped, Route::Direct, Section::Ceilings).same_measurement(&cell(
                grouped,
                Route::Direct,
                Section::GroupCommit
            ))
        );
    }

    /// Published rows: plain prefork, PM2 and Gunicorn run modes; nothing else.
    #[test]
    fn rounds() {
        assert_eq!(
            Round::of(&Variant::Pm2Cluster { instances: -1 }),
            Some(Round::Three)
        );
        let shared = Prefork {
            accept: super::super::system::Accept::Shared,
            ..Prefork::plain(Mode::Evloop, 2)
        };
        assert_eq!(Round::of(&Variant::Prefork(shared)), None);
        assert_eq!(Round::of(&Variant::NginxReturn), None);
        assert_eq!(Round::of(&Variant::Axum { pool: 16 }), Some(Round::One));
        assert_eq!(Round::of(&Variant::Axum { pool: 8 }), None);
        assert_eq!(System::parse_group("pgbench"), Some(vec![System::Pgbench]));
        assert!(!System::ALL.contains(&System::Pgbench));
    }
}
