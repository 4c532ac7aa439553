//! pgtmp: a private, throwaway PostgreSQL cluster on a Unix socket — prefork's embedded
//! default database, and the clusters of its tests and scripts.
//!
//! `Cluster::ensure(dir)` creates (from the template, as the `postgres` user when root),
//! starts (unless already running: then it is reused) and prepares (database `prefork`,
//! the repository's `schema.sql` applied with psql) a cluster in `dir`; `url()` is the
//! connection string; a cluster this process started is stopped by `Drop` (or `stop()`),
//! a reused one is not.
//! `Cluster::fresh(dir)` makes a new cluster quickly by copying a shared template
//! (`<parent of dir>/template`, initdb'd once under a lock): what tests use, one per test;
//! dropping it also deletes it (unless the test is panicking: the log stays readable).
//!
//! # Where a cluster lives
//! Always in a directory the caller names; nothing is derived from where this crate was
//! built. Beside that directory, in its parent, pgtmp also keeps the template (`template`)
//! and lock files (`<dir>.lock`, `template.lock`). The data directory is also the
//! server's socket directory (mode `0750`, group of the server's user), so the connection
//! string names it as the host. [`default_dir`] is the per-user location prefork and the
//! `pgtmp` program use when given none, chosen at run time:
//! - as root: `/var/lib/prefork/pg` (the server runs as the `postgres` user, which cannot
//!   enter root's home directory);
//! - otherwise `$XDG_DATA_HOME/prefork/pg`, else `$HOME/.local/share/prefork/pg`;
//! - with neither set: `./prefork-data/pg` in the working directory.
//!
//! To remove it: stop whatever uses it (prefork stops the cluster it started when it
//! exits; `pgtmp stop DIR` stops one left running), then delete the parent directory
//! (`rm -rf ~/.local/share/prefork`), or, for a directory of your own choosing, the
//! directory, `template` and the lock files beside it.
//!
//! As root, every directory above the cluster is made searchable by others (`o+x` only,
//! nothing becomes readable) so that the `postgres` user can reach it; this is logged.
//!
//! Durability settings stay at PostgreSQL's honest defaults (`fsync`, `synchronous_commit`
//! on): the experiment measures what a committed insert costs.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod files;
mod location;
mod log;
mod tools;

pub use error::PgError;
pub use location::default_dir;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use log::say;
use tools::Tools;

/// The table definition (the repository's `schema.sql`, which prefork applies too),
/// applied (idempotently) on every `ensure`/`fresh`.
pub const SCHEMA: &str = include_str!("../../schema.sql");

/// The database the app uses.
const DATABASE: &str = "prefork";
/// The superuser initdb creates; trust auth on the socket, no password.
const SUPERUSER: &str = "postgres";
/// Appended to `postgresql.conf` of the template (and so of every copy).
const SETTINGS: &str = "
# --- pgtmp: a private cluster on a Unix socket only (pgtmp) ---
listen_addresses = ''
port = 5432
# Durability stays on: the experiment measures honest commits.
fsync = on
synchronous_commit = on
max_connections = 200
shared_buffers = 128MB
# The socket directory is the data directory, whose path differs per copy.
include_if_exists = 'pgtmp-socket.conf'
";

/// A PostgreSQL client or server program (`pgbench`, `psql`, …) from the installation
/// the private cluster uses (`$PREFORK_PG_BIN`, then PATH, then the newest
/// `/usr/lib/postgresql/*/bin`), if that installation has it.
pub fn program(name: &str) -> Result<PathBuf, PgError> {
    let path = tools::Tools::find()?.bin_dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(PgError::NotInstalled)
    }
}

/// The connection string of the cluster in `dir` (key=value form, Unix socket).
pub fn url_for(dir: &Path) -> String {
    // The server knows its socket directory by absolute path; so must the client.
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    conninfo(&dir, DATABASE)
}

fn conninfo(dir: &Path, dbname: &str) -> String {
    let host = quote(&dir.display().to_string());
    format!("host={host} port=5432 user={SUPERUSER} dbname={dbname}")
}

/// Quotes a conninfo value when it needs it (spaces, quotes, backslashes).
fn quote(value: &str) -> String {
    if !value.is_empty() && !value.contains(|c: char| c.is_whitespace() || c == '\'' || c == '\\') {
        return value.to_string();
    }
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A private cluster in a directory; stops on drop if this process started it.
#[derive(Debug)]
pub struct Cluster {
    /// Absolute data directory, also the socket directory.
    dir: PathBuf,
    tools: Tools,
    /// The pid of the process that started the server through this handle. Only that
    /// process stops it on drop: forked workers inherit the handle but must not.
    owner: Option<u32>,
    /// Made by [`Cluster::fresh`]: a throwaway, deleted after stopping on drop (kept
    /// when the thread is panicking, so a failed test's log can be read).
    throwaway: bool,
}

impl Cluster {
    /// Creates, starts (or reuses, if running) and prepares the cluster in `dir`.
    pub fn ensure(dir: impl AsRef<Path>) -> Result<Cluster, PgError> {
        let mut cluster = Cluster::open(dir)?;
        let _lock = files::lock(&cluster.dir, false)?;
        if !cluster.dir.join("PG_VERSION").exists() {
            cluster.create_from_template()?;
        }
        cluster.start()?;
        cluster.apply_schema()?;
        Ok(cluster)
    }

    /// Replaces whatever cluster is in `dir` with a new one copied from the template,
    /// started and prepared: an empty `task` table, for one test.
    pub fn fresh(dir: impl AsRef<Path>) -> Result<Cluster, PgError> {
        let mut cluster = Cluster::open(dir)?;
        let _lock = files::lock(&cluster.dir, false)?;
        if cluster.dir.exists() {
            cluster.discard()?;
        }
        cluster.create_from_template()?;
        cluster.throwaway = true;
        cluster.start()?;
        cluster.apply_schema()?;
        Ok(cluster)
    }

    /// A handle on the cluster in `dir` without creating or starting anything (for
    /// `stop`/`url`); dropping it never stops the server.
    pub fn open(dir: impl AsRef<Path>) -> Result<Cluster, PgError> {
        let dir = files::absolute(dir.as_ref())?;
        files::check_socket_path(&dir)?;
        let tools = Tools::find()?;
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent).map_err(|e| PgError::io(parent, e))?;
        }
        tools.open_ancestors(&dir)?;
        Ok(Cluster {
            dir,
            tools,
            owner: None,
            throwaway: false,
        })
    }

    /// The connection string (`host=<dir> port=5432 user=postgres dbname=prefork`).
    pub fn url(&self) -> String {
        url_for(&self.dir)
    }

    /// The data (and socket) directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server log.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("log")
    }

    /// Whether this process started the server (and so will stop it on drop).
    pub fn started_here(&self) -> bool {
        self.owner == Some(std::process::id())
    }

    /// Whether a server is running in the directory (clears stale pid files).
    pub fn is_running(&self) -> Result<bool, PgError> {
        files::clear_stale_pid(&self.dir)
    }

    /// Starts the server unless it is running; if this call starts it, this process owns it.
    pub fn start(&mut self) -> Result<(), PgError> {
        if self.is_running()? {
            return Ok(());
        }
        self.write_socket_conf()?;
        self.share_socket_with_group()?;
        let mut cmd = self.tools.server("pg_ctl");
        cmd.arg("-D").arg(&self.dir).arg("-l").arg(self.log_path());
        cmd.args(["-w", "-t", "30", "start"]);
        match tools::run(cmd, "pg_ctl start") {
            Ok(_) => {
                self.owner = Some(std::process::id());
                Ok(())
            }
            Err(e) => Err(PgError::StartFailed {
                dir: self.dir.clone(),
                reason: e.to_string(),
                log_tail: files::log_tail(&self.log_path(), 20),
            }),
        }
    }

    /// Stops the server (fast shutdown: disconnect clients, checkpoint) if it is running.
    pub fn stop(&mut self) -> Result<(), PgError> {
        self.stop_mode("fast")
    }

    /// Leaves the server running past this handle's drop; returns the URL.
    pub fn keep(mut self) -> String {
        self.owner = None;
        self.throwaway = false;
        self.url()
    }

    /// Runs SQL in database `prefork` with psql (stops at the first error); returns its
    /// unaligned, tuples-only output, e.g. `"42"` for `SELECT count(*) FROM task`.
    pub fn psql(&self, sql: &str) -> Result<String, PgError> {
        let cmd = self.tools.psql(&self.url());
        let out = tools::run_with_input(cmd, "psql", Some(sql))?;
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    }

    fn stop_mode(&mut self, mode: &str) -> Result<(), PgError> {
        self.owner = None;
        if !self.is_running()? {
            return Ok(());
        }
        let mut cmd = self.tools.server("pg_ctl");
        cmd.arg("-D")
            .arg(&self.dir)
            .args(["-m", mode, "-w", "-t", "60", "stop"]);
        tools::run(cmd, "pg_ctl stop").map(drop)
    }

    /// Creates the database if needed and applies the schema.
    fn apply_schema(&self) -> Result<(), PgError> {
        let mut script = format!(
            "SELECT 'CREATE DATABASE {DATABASE}' \
             WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{DATABASE}')\\gexec\n"
        );
        let _ = writeln!(script, "\\connect {DATABASE}\n{SCHEMA}");
        let cmd = self.tools.psql(&conninfo(&self.dir, "postgres"));
        tools::run_with_input(cmd, "psql (apply schema.sql)", Some(&script)).map(drop)
    }

    /// Makes the data (and socket) directory 0750, which PostgreSQL accepts (its "group
    /// access" mode): members of its group — a server started as root runs as
    /// `postgres`, whose group it is — may reach the socket, so that prefork's workers,
    /// switched to an unprivileged account with that group, can connect.
    fn share_socket_with_group(&self) -> Result<(), PgError> {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::Permissions::from_mode(0o750);
        std::fs::set_permissions(&self.dir, mode).map_err(|e| PgError::io(&self.dir, e))
    }

    /// Points the server's socket at its own directory (differs for every copy).
    fn write_socket_conf(&self) -> Result<(), PgError> {
        let path = self.dir.join("pgtmp-socket.conf");
        let dir = self.dir.display().to_string().replace('\'', "''");
        let text = format!("unix_socket_directories = '{dir}'\n");
        std::fs::write(&path, text).map_err(|e| PgError::io(&path, e))?;
        self.tools.chown(&path)
    }

    /// Stops and deletes the cluster in `dir` (refusing a directory that is not one).
    fn discard(&mut self) -> Result<(), PgError> {
        let is_empty = std::fs::read_dir(&self.dir).is_ok_and(|mut d| d.next().is_none());
        if !is_empty && !self.dir.join("PG_VERSION").exists() {
            return Err(PgError::NotACluster {
                dir: self.dir.clone(),
            });
        }
        self.stop_mode("immediate")?;
        std::fs::remove_dir_all(&self.dir).map_err(|e| PgError::io(&self.dir, e))
    }

    /// Copies the template into the (absent or empty) directory, via a temporary sibling
    /// so that a half-made copy never looks like a cluster.
    fn create_from_template(&mut self) -> Result<(), PgError> {
        if self.dir.exists() {
            self.discard()?;
        }
        let template = self.template_dir();
        let _lock = files::lock(&template, false)?;
        self.build_template_if_stale(&template)?;
        let mut tmp = self.dir.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| PgError::io(&tmp, e))?;
        }
        let mut cp = std::process::Command::new("cp");
        cp.arg("-a").arg(&template).arg(&tmp);
        tools::run(cp, "cp -a (template)")?;
        for name in [files::TEMPLATE_MARKER, "log"] {
            let _ = std::fs::remove_file(tmp.join(name));
        }
        std::fs::rename(&tmp, &self.dir).map_err(|e| PgError::io(&self.dir, e))
    }

    fn template_dir(&self) -> PathBuf {
        self.dir.with_file_name("template")
    }

    /// initdb's the template (with the database and schema) unless it is current.
    /// The caller holds the template's lock.
    fn build_template_if_stale(&self, template: &Path) -> Result<(), PgError> {
        let stamp = files::template_stamp(&self.tools.bin_dir, SCHEMA);
        if files::template_matches(template, &stamp) {
            return Ok(());
        }
        let tools = self.tools.clone();
        let mut tpl = Cluster {
            dir: template.to_path_buf(),
            tools,
            owner: None,
            throwaway: false,
        };
        if tpl.dir.exists() {
            tpl.stop_mode("immediate")?;
            std::fs::remove_dir_all(template).map_err(|e| PgError::io(template, e))?;
        }
        std::fs::create_dir_all(template).map_err(|e| PgError::io(template, e))?;
        tpl.tools.chown(template)?;
        tpl.initdb()?;
        tpl.start()?;
        tpl.apply_schema()?;
        tpl.stop()?;
        let _ = std::fs::remove_file(tpl.log_path());
        let marker = template.join(files::TEMPLATE_MARKER);
        std::fs::write(&marker, stamp).map_err(|e| PgError::io(&marker, e))
    }

    fn initdb(&self) -> Result<(), PgError> {
        let mut cmd = self.tools.server("initdb");
        cmd.arg("-D").arg(&self.dir);
        // --no-sync: only the template is written this way; copies run with fsync on.
        cmd.args([
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        tools::run(cmd, "initdb")?;
        let conf = self.dir.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).map_err(|e| PgError::io(&conf, e))?;
        text.push_str(SETTINGS);
        std::fs::write(&conf, text).map_err(|e| PgError::io(&conf, e))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if !self.started_here() {
            return;
        }
        if let Err(e) = self.stop() {
            say(format_args!(
                "pgtmp: could not stop the cluster in {}: {e}",
                self.dir.display()
            ));
        } else if self.throwaway && !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests;
