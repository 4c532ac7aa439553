//! The systems under test and their run modes, and how to start each one: the command
//! line, environment and directory of a server (started and stopped by `server.rs`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::prefork_mode::{Knobs, Prefork};

/// A column of the published table's shape.
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
    /// PostgreSQL's `pgbench` running the same INSERT: the ceiling row of the saturation
    /// rounds (a client, not a server; not in [`System::ALL`], which are the servers).
    Pgbench,
}

impl System {
    /// Every system, in column order.
    pub const ALL: [System; 4] = [
        System::PreforkEvloop,
        System::PreforkThreads,
        System::Express,
        System::Django,
    ];

    /// The column title.
    pub fn title(self) -> &'static str {
        match self {
            System::PreforkEvloop => "prefork evloop",
            System::PreforkThreads => "prefork threads",
            System::Express => "Express (PM2)",
            System::Django => "Django/DRF (Gunicorn)",
            System::Pgbench => "pgbench",
        }
    }

    /// Whether this is one of the reference peers (left out by `--no-peers`).
    pub fn is_peer(self) -> bool {
        matches!(self, System::Express | System::Django)
    }

    /// The systems an `--only` word names (`prefork` names both modes).
    pub fn parse_group(word: &str) -> Option<Vec<System>> {
        Some(match word {
            "prefork" => vec![System::PreforkEvloop, System::PreforkThreads],
            "prefork-evloop" | "evloop" => vec![System::PreforkEvloop],
            "prefork-threads" | "threads" => vec![System::PreforkThreads],
            "express" | "pm2" | "node" => vec![System::Express],
            "django" | "gunicorn" | "python" => vec![System::Django],
            "pgbench" | "ceiling" => vec![System::Pgbench],
            _ => return None,
        })
    }

    /// Why this system cannot run here, if it cannot (its binaries are missing).
    pub fn unavailable(self, env: &Env) -> Option<String> {
        let missing = |path: &Path, how: &str| {
            let shown = path.strip_prefix(env.root).unwrap_or(path);
            (!path.exists()).then(|| format!("{} not found ({how})", shown.display()))
        };
        match self {
            System::PreforkEvloop | System::PreforkThreads => {
                missing(&env.bin_dir.join("prefork"), "run bin/setup")
            }
            System::Express => match find_on_path("node") {
                None => Some("node not found on PATH (peers/install skipped Express)".into()),
                Some(_) => missing(&pm2_runtime(env.root), "run peers/install express"),
            },
            System::Django => missing(&gunicorn(env.root), "run peers/install django"),
            System::Pgbench => crate::pgbench::find().err().map(|e| e.to_string()),
        }
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

/// One run mode of one system: what the published table's rows vary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Variant {
    /// `prefork --mode M --workers N --batch B --accept A`.
    Prefork(Prefork),
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
    /// `pgbench -M prepared -j 2` with the saturation load's client count (the ceiling).
    Pgbench,
}

impl Variant {
    /// The system this is a run mode of.
    pub fn system(&self) -> System {
        match self {
            Variant::Prefork(p) => match p.mode {
                Mode::Evloop => System::PreforkEvloop,
                Mode::Threads => System::PreforkThreads,
            },
            Variant::Pm2Fork | Variant::Pm2Cluster { .. } => System::Express,
            Variant::GunicornSync { .. } | Variant::GunicornGevent { .. } => System::Django,
            Variant::Pgbench => System::Pgbench,
        }
    }

    /// A short human label: `2 workers`, `cluster -i -1`, `gevent 1000×9`.
    pub fn label(&self) -> String {
        match *self {
            Variant::Prefork(p) => p.label(),
            Variant::Pm2Fork => "fork".into(),
            Variant::Pm2Cluster { instances } => format!("cluster -i {instances}"),
            Variant::GunicornSync { workers } => format!("sync {workers}"),
            Variant::GunicornGevent {
                workers,
                connections,
            } => format!("gevent {connections}×{workers}"),
            Variant::Pgbench => "-M prepared -j 2".into(),
        }
    }

    /// A file-name-safe key: `evloop-2`, `pm2-cluster-cpus-1`, `gevent-1000x9`.
    pub fn key(&self) -> String {
        match *self {
            Variant::Prefork(p) => p.key(),
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
            Variant::Pgbench => "pgbench".into(),
        }
    }

    /// How to start this variant listening on `127.0.0.1:port` (None for pgbench, which
    /// is a client: `pgbench.rs` runs it).
    pub fn launch(&self, port: u16, env: &Env) -> Option<Launch> {
        Some(match *self {
            Variant::Pgbench => return None,
            Variant::Prefork(p) => p.launch(port, env),
            Variant::Pm2Fork => pm2(&[], port, env),
            Variant::Pm2Cluster { instances } => pm2(&["-i", &instances.to_string()], port, env),
            Variant::GunicornSync { workers } => gunicorn_cmd(&[], workers, port, env),
            Variant::GunicornGevent {
                workers,
                connections,
            } => {
                let c = connections.to_string();
                let extra = ["--worker-class", "gevent", "--worker-connections", &c];
                gunicorn_cmd(&extra, workers, port, env)
            }
        })
    }
}

/// What every launch needs to know about the bench.
#[derive(Clone, Debug)]
pub struct Env<'a> {
    /// Workspace root (peers/).
    pub root: &'a Path,
    /// Where `prefork` is.
    pub bin_dir: &'a Path,
    /// The private cluster's directory, which is also its Unix-socket directory.
    pub pg_dir: &'a Path,
    /// The cluster's connection string (prefork's `--database-url`).
    pub db_url: &'a str,
    /// PM2's state directory (so PM2 never writes `~/.pm2`).
    pub pm2_home: &'a Path,
    /// Flags passed to every prefork (`--pin-cpus`, `--backlog`).
    pub knobs: Knobs,
}

impl Env<'_> {
    /// The `PG*` variables the peers read (see peers/README.md).
    pub fn pg_vars(&self) -> Vec<(String, String)> {
        let host = self.pg_dir.display().to_string();
        [
            ("PGHOST", host.as_str()),
            ("PGPORT", "5432"),
            ("PGUSER", "postgres"),
            ("PGDATABASE", "prefork"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

/// A server's command line, environment and working directory.
#[derive(Clone, Debug)]
pub struct Launch {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Variables added to the inherited environment.
    pub env: Vec<(String, String)>,
    /// Inherited variables removed.
    pub unset: Vec<&'static str>,
    /// Working directory.
    pub cwd: PathBuf,
}

impl Launch {
    /// The command as a shell would show it (for logs and the JSON).
    pub fn display(&self) -> String {
        let mut words = vec![self.program.display().to_string()];
        words.extend(self.args.iter().cloned());
        words.join(" ")
    }
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

fn pm2_runtime(root: &Path) -> PathBuf {
    root.join("peers/express/node_modules/.bin/pm2-runtime")
}

fn gunicorn(root: &Path) -> PathBuf {
    root.join("target/peers/venv/bin/gunicorn")
}

fn pm2(extra: &[&str], port: u16, env: &Env) -> Launch {
    let mut args = strings(&["start", "app.js"]);
    args.extend(strings(extra));
    let mut vars = env.pg_vars();
    vars.push(("PORT".into(), port.to_string()));
    vars.push(("HOST".into(), "127.0.0.1".into()));
    vars.push(("PM2_HOME".into(), env.pm2_home.display().to_string()));
    Launch {
        program: pm2_runtime(env.root),
        args,
        env: vars,
        // The app prefers a postgres:// DATABASE_URL over the PG* variables: an
        // inherited one must not point it at another database.
        unset: vec!["DATABASE_URL"],
        cwd: env.root.join("peers/express"),
    }
}

fn gunicorn_cmd(extra: &[&str], workers: u32, port: u16, env: &Env) -> Launch {
    let bind = format!("127.0.0.1:{port}");
    let workers = workers.to_string();
    let mut args = strings(&["tasksite.wsgi", "-b", &bind, "--workers", &workers]);
    args.extend(strings(extra));
    // Gunicorn 27's management socket (~/.gunicorn/gunicorn.ctl) would be shared by
    // every Gunicorn on the machine; it plays no part in serving requests.
    args.push("--no-control-socket".into());
    Launch {
        program: gunicorn(env.root),
        args,
        env: env.pg_vars(),
        unset: vec![],
        cwd: env.root.join("peers/django"),
    }
}

/// The first executable `name` in `$PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> (PathBuf, PathBuf) {
        (
            PathBuf::from("/repo"),
            PathBuf::from("/repo/target/pg/bench"),
        )
    }

    /// Labels and keys name the published rows' run modes.
    #[test]
    fn labels_and_keys() {
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
    }

    /// Launch lines: prefork gets its flags, the peers their PG* variables and ports.
    #[test]
    fn launch_lines() {
        let (root, pg) = env();
        let e = Env {
            root: &root,
            bin_dir: &root.join("target/release"),
            pg_dir: &pg,
            db_url: "host=/x",
            pm2_home: &root.join("target/bench/pm2"),
            knobs: Knobs {
                pin_cpus: true,
                backlog: None,
            },
        };
        let p = Variant::Prefork(Prefork::plain(Mode::Evloop, 3))
            .launch(20001, &e)
            .unwrap();
        assert!(p.display().ends_with(
            "prefork --bind 127.0.0.1:20001 --workers 3 --mode evloop --batch 256 \
             --accept reuseport --pin-cpus --database-url host=/x"
        ));
        let x = Variant::Pm2Cluster { instances: -1 }
            .launch(20002, &e)
            .unwrap();
        assert_eq!(x.args, ["start", "app.js", "-i", "-1"]);
        assert!(x.env.contains(&("PORT".into(), "20002".into())));
        assert!(x
            .env
            .contains(&("PGHOST".into(), "/repo/target/pg/bench".into())));
        let g = Variant::GunicornSync { workers: 9 }
            .launch(20003, &e)
            .unwrap();
        assert_eq!(g.cwd, root.join("peers/django"));
        assert!(g
            .display()
            .contains("-b 127.0.0.1:20003 --workers 9 --no-control-socket"));
    }
}
