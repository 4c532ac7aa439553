//! The systems under test and their run modes: plain data, with the names and keys the
//! report and the file names use. How to start each one is `launch.rs`'s job.

use serde::Serialize;

/// A column of the published table's shape, or a reference row of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum System {
    /// prefork, `--mode evloop`.
    PreforkEvloop,
    /// prefork, `--mode threads`.
    PreforkThreads,
    /// Express + Knex under PM2.
    Express,
    /// Django + DRF under Gunicorn.
    Django,
    /// axum + tokio-postgres + deadpool-postgres: one process, a multi-thread runtime.
    Axum,
    /// PostgreSQL's `pgbench` running the same INSERT: the ceiling row of the saturation
    /// rounds (a client, not a server; not in [`System::ALL`], which are the servers).
    Pgbench,
    /// nginx answering `return 200` itself: the machine's HTTP ceiling (not in
    /// [`System::ALL`]).
    Nginx,
}

impl System {
    /// Every server of the published table, in column order.
    pub const ALL: [System; 5] = [
        System::PreforkEvloop,
        System::PreforkThreads,
        System::Express,
        System::Django,
        System::Axum,
    ];

    /// The column title.
    pub fn title(self) -> &'static str {
        match self {
            System::PreforkEvloop => "prefork evloop",
            System::PreforkThreads => "prefork threads",
            System::Express => "Express (PM2)",
            System::Django => "Django/DRF (Gunicorn)",
            System::Axum => "axum (tokio-postgres)",
            System::Pgbench => "pgbench",
            System::Nginx => "nginx",
        }
    }

    /// Whether this is one of the reference peers (left out by `--no-peers`).
    pub fn is_peer(self) -> bool {
        matches!(self, System::Express | System::Django | System::Axum)
    }

    /// The systems an `--only` word names (`prefork` names both modes).
    pub fn parse_group(word: &str) -> Option<Vec<System>> {
        Some(match word {
            "prefork" => vec![System::PreforkEvloop, System::PreforkThreads],
            "prefork-evloop" | "evloop" => vec![System::PreforkEvloop],
            "prefork-threads" | "threads" => vec![System::PreforkThreads],
            "express" | "pm2" | "node" => vec![System::Express],
            "django" | "gunicorn" | "python" => vec![System::Django],
            "axum" | "tokio" | "rust" => vec![System::Axum],
            "pgbench" | "ceiling" => vec![System::Pgbench],
            _ => return None,
        })
    }
}

/// How prefork workers handle connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// One mio event loop per worker.
    Evloop,
    /// An acceptor and a thread pool per worker.
    Threads,
}

impl Mode {
    /// prefork's `--mode` value: `evloop` / `threads`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Evloop => "evloop",
            Mode::Threads => "threads",
        }
    }

    /// The prefork column of this mode.
    pub fn system(self) -> System {
        match self {
            Mode::Evloop => System::PreforkEvloop,
            Mode::Threads => System::PreforkThreads,
        }
    }
}

/// The axum peer's `POOL_SIZE` (PostgreSQL connections) in the seed rounds: its own
/// default. The saturation load tries a few sizes around it and keeps the best.
pub const AXUM_POOL: u32 = 16;

/// prefork's `--batch` when the bench does not vary it (the server's default).
pub const DEFAULT_BATCH: u32 = 256;

/// prefork's `--db-conns` default: PostgreSQL connections per worker with `--db evented`.
pub const EVENTED_CONNS: u32 = 4;

/// How prefork's task service talks to PostgreSQL (`--db`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "db", rename_all = "lowercase")]
pub enum Db {
    /// `--db sync`: a blocking client per serving thread (prefork's default).
    Sync,
    /// `--db evented --db-conns K`: the event loop's own non-blocking, pipelined
    /// connections, K per worker (`--mode evloop` only).
    Evented {
        /// `--db-conns`.
        conns: u32,
    },
}

impl Db {
    /// The flags prefork takes for it (none for its default, `sync`).
    pub fn args(self) -> Vec<String> {
        match self {
            Db::Sync => Vec::new(),
            Db::Evented { conns } => vec![
                "--db".into(),
                "evented".into(),
                "--db-conns".into(),
                conns.to_string(),
            ],
        }
    }

    /// Whether this is `--db evented`.
    pub fn is_evented(self) -> bool {
        matches!(self, Db::Evented { .. })
    }
}

/// prefork's `--accept`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Accept {
    /// One `SO_REUSEPORT` listener per worker: the kernel spreads connections.
    Reuseport,
    /// One listener for every worker (the Gunicorn/PM2 model).
    Shared,
}

impl Accept {
    /// The flag's value.
    pub fn name(self) -> &'static str {
        match self {
            Accept::Reuseport => "reuseport",
            Accept::Shared => "shared",
        }
    }
}

/// One prefork run mode of the task endpoint (worker model, worker count, group-commit
/// batch, accept strategy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Prefork {
    /// Worker model.
    pub mode: Mode,
    /// Worker processes.
    pub workers: u32,
    /// `--threads` in threads mode (None: prefork's default, 2 × CPUs).
    pub threads: Option<u32>,
    /// `--batch`: most inserts committed together (1 = one commit per request).
    pub batch: u32,
    /// `--accept`.
    pub accept: Accept,
    /// `--db` (and `--db-conns`).
    pub db: Db,
    /// `--access-log FILE`: one line per response (the access-log section measures its
    /// cost; off everywhere else).
    pub access_log: bool,
}

impl Prefork {
    /// The published rounds' run mode: default batch, reuseport.
    pub const fn plain(mode: Mode, workers: u32) -> Prefork {
        Prefork {
            mode,
            workers,
            threads: None,
            batch: DEFAULT_BATCH,
            accept: Accept::Reuseport,
            db: Db::Sync,
            access_log: false,
        }
    }

    /// A published round's run mode with `--db evented --db-conns conns`.
    pub const fn evented(workers: u32, conns: u32) -> Prefork {
        Prefork {
            db: Db::Evented { conns },
            ..Prefork::plain(Mode::Evloop, workers)
        }
    }

    /// Whether threads, batch, accept, db and the access log are the defaults (a
    /// published round's run mode).
    pub fn is_plain(&self) -> bool {
        *self == Prefork::plain(self.mode, self.workers)
    }

    /// Whether this is a published round's run mode but for `--db` (a seed-round row).
    pub fn is_round(&self) -> bool {
        Prefork {
            db: Db::Sync,
            ..*self
        }
        .is_plain()
    }

    /// `2 workers, batch 256`, `2 workers × 32 threads, batch 1`, `4 workers, batch 256,
    /// shared accept`, `2 workers, evented ×8, batch 1`, `2 workers, batch 256, access
    /// log`: the batch always shows, now that it is what the bench varies.
    pub fn label(&self) -> String {
        let mut label = workers_label(self.workers);
        if let Some(t) = self.threads {
            label.push_str(&format!(" × {t} threads"));
        }
        if let Db::Evented { conns } = self.db {
            label.push_str(&format!(", evented ×{conns}"));
        }
        label.push_str(&format!(", batch {}", self.batch));
        if self.accept != Accept::Reuseport {
            label.push_str(&format!(", {} accept", self.accept.name()));
        }
        if self.access_log {
            label.push_str(", access log");
        }
        label
    }

    /// `evloop-2`, `threads-2-t32-b1`, `evloop-4-shared`, `evloop-2-ev8-b1`,
    /// `evloop-2-alog`: the published rounds keep their keys.
    pub fn key(&self) -> String {
        let mut key = format!("{}-{}", self.mode.name(), self.workers);
        if let Some(t) = self.threads {
            key.push_str(&format!("-t{t}"));
        }
        if let Db::Evented { conns } = self.db {
            key.push_str(&format!("-ev{conns}"));
        }
        if self.batch != DEFAULT_BATCH {
            key.push_str(&format!("-b{}", self.batch));
        }
        if self.accept != Accept::Reuseport {
            key.push_str(&format!("-{}", self.accept.name()));
        }
        if self.access_log {
            key.push_str("-alog");
        }
        key
    }
}

/// `1 worker`, `2 workers`.
fn workers_label(workers: u32) -> String {
    match workers {
        1 => "1 worker".to_string(),
        n => format!("{n} workers"),
    }
}

/// Experiment knobs the bench passes to every prefork it starts, shown in the report
/// when used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Knobs {
    /// `--pin-cpus`: worker i bound to CPU i mod N.
    pub pin_cpus: bool,
    /// `--backlog N` (None: prefork's default).
    pub backlog: Option<u32>,
}

impl Knobs {
    /// The flags, in prefork's spelling.
    pub fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.pin_cpus {
            args.push("--pin-cpus".to_string());
        }
        if let Some(n) = self.backlog {
            args.extend(["--backlog".to_string(), n.to_string()]);
        }
        args
    }

    /// `--pin-cpus --backlog 4096`, or `none (…defaults)` for the report.
    pub fn describe(&self) -> String {
        let args = self.args();
        if args.is_empty() {
            "none (prefork's defaults: no CPU pinning, its default backlog)".into()
        } else {
            args.join(" ")
        }
    }
}

/// One run mode of one system: what the published table's rows vary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Variant {
    /// `prefork --mode M --workers N --batch B --accept A` (the task endpoint).
    Prefork(Prefork),
    /// `prefork --app hello --mode M --workers N`: a fixed 200 on every path, no
    /// database — prefork's HTTP ceiling.
    Hello {
        /// Worker model.
        mode: Mode,
        /// Worker processes.
        workers: u32,
        /// `--access-log FILE` (the access-log section measures its cost).
        access_log: bool,
    },
    /// nginx alone answering `return 200 "ok"`: the machine's HTTP ceiling.
    NginxReturn,
    /// `pm2-runtime start app.js`: one process (PM2's fork mode).
    Pm2Fork,
    /// `pm2-runtime start app.js -i N` (cluster mode; -1 = CPUs − 1).
    Pm2Cluster {
        /// PM2's `-i` argument.
        instances: i32,
    },
    /// `gunicorn --workers N` (sync workers).
    GunicornSync {
        /// Worker processes.
        workers: u32,
    },
    /// `gunicorn --worker-class gevent --worker-connections C --workers N`.
    GunicornGevent {
        /// Worker processes.
        workers: u32,
        /// Greenlets per worker.
        connections: u32,
    },
    /// The axum peer with `POOL_SIZE=pool`: one process, tokio's multi-thread runtime
    /// with its default worker count (one per CPU), one INSERT (one commit) per request.
    Axum {
        /// PostgreSQL connections in its deadpool-postgres pool.
        pool: u32,
    },
    /// `pgbench -M prepared -j 2`: with the saturation load's client count for a time (the
    /// ceiling), or with the seed load's users × loops as clients × transactions.
    Pgbench,
}

impl Variant {
    /// The system this is a run mode of.
    pub fn system(&self) -> System {
        match self {
            Variant::Prefork(p) => p.mode.system(),
            Variant::Hello { mode, .. } => mode.system(),
            Variant::NginxReturn => System::Nginx,
            Variant::Pm2Fork | Variant::Pm2Cluster { .. } => System::Express,
            Variant::GunicornSync { .. } | Variant::GunicornGevent { .. } => System::Django,
            Variant::Axum { .. } => System::Axum,
            Variant::Pgbench => System::Pgbench,
        }
    }

    /// Whether a run inserts one row per request (checked against the `201`s); the
    /// HTTP ceilings (`--app hello`, nginx's `return 200`) touch no database.
    pub fn inserts(&self) -> bool {
        !matches!(self, Variant::Hello { .. } | Variant::NginxReturn)
    }

    /// Whether the server writes an access log (`--access-log FILE`).
    pub fn keeps_access_log(&self) -> bool {
        matches!(
            self,
            Variant::Prefork(Prefork {
                access_log: true,
                ..
            }) | Variant::Hello {
                access_log: true,
                ..
            }
        )
    }

    /// The same prefork run mode with `--access-log FILE` (None for the other systems,
    /// which the bench runs without one).
    pub const fn with_access_log(self) -> Option<Variant> {
        match self {
            Variant::Prefork(p) => Some(Variant::Prefork(Prefork {
                access_log: true,
                ..p
            })),
            Variant::Hello { mode, workers, .. } => Some(Variant::Hello {
                mode,
                workers,
                access_log: true,
            }),
            _ => None,
        }
    }

    /// A short human label: `2 workers`, `cluster -i -1`, `gevent 1000×9`, `1 process,
    /// pool 16`.
    pub fn label(&self) -> String {
        match *self {
            Variant::Prefork(p) => p.label(),
            Variant::Hello {
                workers,
                access_log,
                ..
            } => {
                let log = if access_log { ", access log" } else { "" };
                format!("{}, --app hello{log}", workers_label(workers))
            }
            Variant::NginxReturn => "return 200 \"ok\"".into(),
            Variant::Pm2Fork => "fork".into(),
            Variant::Pm2Cluster { instances } => format!("cluster -i {instances}"),
            Variant::GunicornSync { workers } => format!("sync {workers}"),
            Variant::GunicornGevent {
                workers,
                connections,
            } => format!("gevent {connections}×{workers}"),
            Variant::Axum { pool } => format!("1 process, pool {pool}"),
            Variant::Pgbench => "-M prepared -j 2".into(),
        }
    }

    /// A file-name-safe key: `evloop-2`, `pm2-cluster-cpus-1`, `gevent-1000x9`,
    /// `axum-pool16`.
    pub fn key(&self) -> String {
        match *self {
            Variant::Prefork(p) => p.key(),
            Variant::Hello {
                mode,
                workers,
                access_log,
            } => {
                let log = if access_log { "-alog" } else { "" };
                format!("hello-{}-{workers}{log}", mode.name())
            }
            Variant::NginxReturn => "nginx-return-200".into(),
            Variant::Pm2Fork => "pm2-fork".into(),
            Variant::Pm2Cluster { instances } if instances < 0 => {
                format!("pm2-cluster-cpus{instances}")
            }
            Variant::Pm2Cluster { instances } => format!("pm2-cluster-{instances}"),
            Variant::GunicornSync { workers } => format!("sync-{workers}"),
            Variant::GunicornGevent {
                workers,
                connections,
            } => format!("gevent-{connections}x{workers}"),
            Variant::Axum { pool } => format!("axum-pool{pool}"),
            Variant::Pgbench => "pgbench".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Labels and keys name the published rows' run modes.
    #[test]
    fn variant_labels_and_keys() {
        let v = Variant::GunicornGevent {
            workers: 9,
            connections: 1000,
        };
        assert_eq!(
            (v.label(), v.key()),
            ("gevent 1000×9".into(), "gevent-1000x9".into())
        );
        let c = Variant::Pm2Cluster { instances: -1 };
        assert_eq!(
            (c.label(), c.key()),
            ("cluster -i -1".into(), "pm2-cluster-cpus-1".into())
        );
        assert_eq!(c.system(), System::Express);
        let p = Variant::Prefork(Prefork::plain(Mode::Threads, 1));
        assert_eq!(
            (p.label(), p.system()),
            ("1 worker, batch 256".into(), System::PreforkThreads)
        );
        let h = Variant::Hello {
            mode: Mode::Threads,
            workers: 2,
            access_log: false,
        };
        assert_eq!(
            (h.label(), h.key(), h.system(), h.inserts()),
            (
                "2 workers, --app hello".into(),
                "hello-threads-2".into(),
                System::PreforkThreads,
                false
            )
        );
        assert!(!Variant::NginxReturn.inserts() && p.inserts());
        let hl = h.with_access_log().unwrap();
        assert_eq!(
            (hl.label(), hl.key(), hl.keeps_access_log()),
            (
                "2 workers, --app hello, access log".into(),
                "hello-threads-2-alog".into(),
                true
            )
        );
        let pl = p.with_access_log().unwrap();
        assert_eq!(
            (pl.label(), pl.key(), pl.system()),
            (
                "1 worker, batch 256, access log".into(),
                "threads-1-alog".into(),
                System::PreforkThreads
            )
        );
        assert!(pl.keeps_access_log() && !p.keeps_access_log() && !h.keeps_access_log());
        assert_eq!(Variant::NginxReturn.with_access_log(), None);
        assert!(!matches!(pl, Variant::Prefork(q) if q.is_plain() || q.is_round()));
        let a = Variant::Axum { pool: 32 };
        assert_eq!(
            (a.label(), a.key(), a.system(), a.inserts()),
            (
                "1 process, pool 32".into(),
                "axum-pool32".into(),
                System::Axum,
                true
            )
        );
        assert!(System::Axum.is_peer());
        assert_eq!(System::parse_group("axum"), Some(vec![System::Axum]));
    }

    /// The published rounds keep their labels and keys; variations name themselves.
    #[test]
    fn prefork_labels_and_keys() {
        let plain = Prefork::plain(Mode::Evloop, 2);
        assert!(plain.is_plain());
        assert_eq!(
            (plain.label(), plain.key()),
            ("2 workers, batch 256".into(), "evloop-2".into())
        );
        let one = Prefork {
            batch: 1,
            ..Prefork::plain(Mode::Threads, 1)
        };
        assert_eq!(
            (one.label(), one.key()),
            ("1 worker, batch 1".into(), "threads-1-b1".into())
        );
        let shared = Prefork {
            accept: Accept::Shared,
            ..Prefork::plain(Mode::Evloop, 4)
        };
        assert!(!shared.is_plain());
        assert_eq!(shared.key(), "evloop-4-shared");
        assert_eq!(shared.label(), "4 workers, batch 256, shared accept");
        let many = Prefork {
            threads: Some(32),
            batch: 1,
            ..Prefork::plain(Mode::Threads, 2)
        };
        assert!(!many.is_plain());
        assert_eq!(
            (many.label(), many.key()),
            (
                "2 workers × 32 threads, batch 1".into(),
                "threads-2-t32-b1".into()
            )
        );
        let evented = Prefork {
            batch: 1,
            ..Prefork::evented(2, 8)
        };
        assert!(!evented.is_plain() && !evented.is_round());
        assert_eq!(
            (evented.label(), evented.key()),
            (
                "2 workers, evented ×8, batch 1".into(),
                "evloop-2-ev8-b1".into()
            )
        );
        assert!(Prefork::evented(1, EVENTED_CONNS).is_round());
        assert_eq!(
            Db::Evented { conns: 4 }.args(),
            ["--db", "evented", "--db-conns", "4"]
        );
        assert!(Db::Sync.args().is_empty());
    }

    /// Knobs become prefork flags only when set.
    #[test]
    fn knobs() {
        assert!(Knobs::default().args().is_empty());
        assert!(Knobs::default().describe().starts_with("none"));
        let k = Knobs {
            pin_cpus: true,
            backlog: Some(4096),
        };
        assert_eq!(k.args(), ["--pin-cpus", "--backlog", "4096"]);
        assert_eq!(k.describe(), "--pin-cpus --backlog 4096");
    }
}
