//! How to start each server: its command line, environment and working directory
//! (started and stopped by `server.rs`), and the programs the bench looks for.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::model::{Knobs, Mode, Prefork, System, Variant};

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

    fn prefork(&self) -> PathBuf {
        self.bin_dir.join("prefork")
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

/// How to start `variant` listening on `127.0.0.1:port`; None for pgbench (a client,
/// run by `pgbench.rs`) and nginx's `return 200` (started by `nginx.rs`).
pub fn launch(variant: &Variant, port: u16, env: &Env) -> Option<Launch> {
    Some(match *variant {
        Variant::Pgbench | Variant::NginxReturn => return None,
        Variant::Prefork(p) => prefork(&p, port, env),
        Variant::Hello { mode, workers, .. } => hello(mode, workers, port, env),
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
        Variant::Axum { pool } => axum(pool, port, env),
    })
}

/// Why the server of `variant` cannot run here, if it cannot (its binaries are
/// missing); pgbench's own check is `pgbench::find`.
pub fn unavailable(variant: &Variant, env: &Env) -> Option<String> {
    let missing = |path: &Path, how: &str| {
        let shown = path.strip_prefix(env.root).unwrap_or(path);
        (!path.exists()).then(|| format!("{} not found ({how})", shown.display()))
    };
    match variant.system() {
        System::PreforkEvloop | System::PreforkThreads => missing(&env.prefork(), "run bin/setup")
            .or_else(|| match variant {
                v if v.keeps_access_log() && !has_flag(&env.prefork(), "--access-log") => {
                    Some("this prefork has no `--access-log` (rebuild it: bin/setup)".into())
                }
                Variant::Hello { .. } if !has_flag(&env.prefork(), "--app") => {
                    Some("this prefork has no `--app hello` (rebuild it: bin/setup)".into())
                }
                Variant::Prefork(p)
                    if p.db.is_evented() && !has_flag(&env.prefork(), "--db-conns") =>
                {
                    Some("this prefork has no `--db evented` (rebuild it: bin/setup)".into())
                }
                _ => None,
            }),
        System::Express => match find_on_path("node") {
            None => Some("node not found on PATH (peers/install skipped Express)".into()),
            Some(_) => missing(&pm2_runtime(env.root), "run peers/install express"),
        },
        System::Django => missing(&gunicorn(env.root), "run peers/install django"),
        System::Axum => missing(&axum_peer(env.root), "run peers/install axum"),
        System::Nginx => find_nginx()
            .is_none()
            .then(|| "nginx not found on PATH or in /usr/sbin (bin/setup installs it)".into()),
        System::Pgbench => None,
    }
}

/// Whether `program --help` lists `flag`.
fn has_flag(program: &Path, flag: &str) -> bool {
    Command::new(program)
        .arg("--help")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(flag))
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// `prefork --bind … --workers N --mode M [mode-specific flags] [knobs]`.
fn prefork_cmd(mode: Mode, workers: u32, port: u16, env: &Env, flags: Vec<String>) -> Launch {
    let mut args = strings(&[
        "--bind",
        &format!("127.0.0.1:{port}"),
        "--workers",
        &workers.to_string(),
        "--mode",
        mode.name(),
    ]);
    args.extend(flags);
    args.extend(env.knobs.args());
    Launch {
        program: env.prefork(),
        args,
        env: vec![],
        unset: vec![],
        cwd: env.root.to_path_buf(),
    }
}

/// `prefork … --batch B --accept A [--threads T] [--db evented --db-conns K] [knobs]
/// --database-url …`.
fn prefork(p: &Prefork, port: u16, env: &Env) -> Launch {
    let mut flags = strings(&["--batch", &p.batch.to_string(), "--accept", p.accept.name()]);
    if let Some(t) = p.threads {
        flags.extend(["--threads".to_string(), t.to_string()]);
    }
    flags.extend(p.db.args());
    let mut launch = prefork_cmd(p.mode, p.workers, port, env, flags);
    launch
        .args
        .extend(["--database-url".to_string(), env.db_url.to_string()]);
    launch
}

/// `--access-log PATH`: prefork's flags for an access log in the file `path`.
pub fn access_log_args(path: &Path) -> [String; 2] {
    ["--access-log".to_string(), path.display().to_string()]
}

/// `prefork … --app hello [knobs]`: no database.
fn hello(mode: Mode, workers: u32, port: u16, env: &Env) -> Launch {
    prefork_cmd(mode, workers, port, env, strings(&["--app", "hello"]))
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

/// The axum peer's release binary (peers/install builds it there).
fn axum_peer(root: &Path) -> PathBuf {
    root.join("target/peers/axum/release/axum-peer")
}

/// `axum-peer` with `POOL_SIZE=pool`, reading prefork's connection string.
fn axum(pool: u32, port: u16, env: &Env) -> Launch {
    let vars = [
        ("PORT", port.to_string()),
        ("HOST", "127.0.0.1".to_string()),
        ("DATABASE_URL", env.db_url.to_string()),
        ("POOL_SIZE", pool.to_string()),
    ];
    Launch {
        program: axum_peer(env.root),
        args: vec![],
        env: vars.map(|(k, v)| (k.to_string(), v)).to_vec(),
        // tokio's runtime reads it: the bench runs the default, one worker per CPU.
        unset: vec!["TOKIO_WORKER_THREADS"],
        cwd: env.root.to_path_buf(),
    }
}

/// The first executable `name` in `$PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// nginx on `$PATH`, else `/usr/sbin/nginx`.
pub fn find_nginx() -> Option<PathBuf> {
    find_on_path("nginx").or_else(|| Some(PathBuf::from("/usr/sbin/nginx")).filter(|p| p.exists()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Accept;

    /// Launch lines: prefork gets its flags, the peers their PG* variables and ports.
    #[test]
    fn launch_lines() {
        let (root, pg) = (
            PathBuf::from("/repo"),
            PathBuf::from("/repo/target/pg/bench"),
        );
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
        let run = |v: Variant, port| launch(&v, port, &e).unwrap();
        let p = run(Variant::Prefork(Prefork::plain(Mode::Evloop, 3)), 20001);
        assert!(p.display().ends_with(
            "prefork --bind 127.0.0.1:20001 --workers 3 --mode evloop --batch 256 \
             --accept reuseport --pin-cpus --database-url host=/x"
        ));
        let t = Prefork {
            threads: Some(32),
            batch: 1,
            accept: Accept::Shared,
            ..Prefork::plain(Mode::Threads, 2)
        };
        assert!(run(Variant::Prefork(t), 1)
            .display()
            .contains("--mode threads --batch 1 --accept shared --threads 32 --pin-cpus"));
        let ev = Prefork {
            batch: 1,
            ..Prefork::evented(2, 8)
        };
        assert!(run(Variant::Prefork(ev), 1).display().contains(
            "--mode evloop --batch 1 --accept reuseport --db evented --db-conns 8 --pin-cpus"
        ));
        let h = run(
            Variant::Hello {
                mode: Mode::Threads,
                workers: 2,
                access_log: false,
            },
            20004,
        );
        assert!(h.display().ends_with(
            "prefork --bind 127.0.0.1:20004 --workers 2 --mode threads --app hello --pin-cpus"
        ));
        let x = run(Variant::Pm2Cluster { instances: -1 }, 20002);
        assert_eq!(x.args, ["start", "app.js", "-i", "-1"]);
        assert!(x.env.contains(&("PORT".into(), "20002".into())));
        assert!(x
            .env
            .contains(&("PGHOST".into(), "/repo/target/pg/bench".into())));
        let g = run(Variant::GunicornSync { workers: 9 }, 20003);
        assert_eq!(g.cwd, root.join("peers/django"));
        assert!(g
            .display()
            .contains("-b 127.0.0.1:20003 --workers 9 --no-control-socket"));
        let a = run(Variant::Axum { pool: 8 }, 20005);
        assert!(a.display().ends_with("target/peers/axum/release/axum-peer"));
        assert!(a.env.contains(&("POOL_SIZE".into(), "8".into())));
        assert!(a.env.contains(&("DATABASE_URL".into(), "host=/x".into())));
        assert!(a.env.contains(&("PORT".into(), "20005".into())));
        assert!(launch(&Variant::Pgbench, 1, &e).is_none());
        assert!(launch(&Variant::NginxReturn, 1, &e).is_none());
    }
}
