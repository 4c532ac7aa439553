//! The PostgreSQL programs a private cluster needs, and how to run them.
//!
//! PostgreSQL refuses to run as root, so when this process is root the server-side
//! programs (`initdb`, `pg_ctl`) run as the unprivileged `postgres` system user via
//! `runuser`; `psql` is a plain client and runs as ourselves.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::error::PgError;
use crate::log::say;

/// Where the Debian/Ubuntu packages put each major version's programs.
const DEBIAN_LIB: &str = "/usr/lib/postgresql";
/// Every program a cluster needs; they must come from the same directory (same version).
const PROGRAMS: [&str; 4] = ["initdb", "pg_ctl", "postgres", "psql"];
/// The system user the server runs as when we are root.
const SERVER_USER: &str = "postgres";

/// The located binaries and the user they run as.
#[derive(Clone, Debug)]
pub(crate) struct Tools {
    /// Directory holding all of [`PROGRAMS`].
    pub(crate) bin_dir: PathBuf,
    /// `Some("postgres")` when we are root and must drop privileges for the server.
    pub(crate) run_as: Option<&'static str>,
}

impl Tools {
    /// Finds the binaries (`$PREFORK_PG_BIN`, then PATH, then the newest
    /// `/usr/lib/postgresql/*/bin`) and checks the server user exists when root.
    pub(crate) fn find() -> Result<Tools, PgError> {
        let bin_dir = candidates()
            .into_iter()
            .find(|dir| PROGRAMS.iter().all(|p| dir.join(p).is_file()))
            .ok_or(PgError::NotInstalled)?;
        let run_as = if nix::unistd::geteuid().is_root() {
            match nix::unistd::User::from_name(SERVER_USER) {
                Ok(Some(_)) => Some(SERVER_USER),
                _ => return Err(PgError::NoServerUser),
            }
        } else {
            None
        };
        Ok(Tools { bin_dir, run_as })
    }

    /// A command for a server-side program, run as the server user when root.
    pub(crate) fn server(&self, program: &str) -> Command {
        let path = self.bin_dir.join(program);
        let mut cmd = match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        };
        // Our cwd may be unreadable for the server user (e.g. /root): initdb warns, pg_ctl fails.
        cmd.current_dir("/");
        cmd
    }

    /// A `psql` command that stops at the first error and ignores `~/.psqlrc`.
    pub(crate) fn psql(&self, conninfo: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join("psql"));
        cmd.args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            conninfo,
        ]);
        cmd
    }

    /// Gives `path` (recursively) to the server user when root; a no-op otherwise.
    pub(crate) fn chown(&self, path: &Path) -> Result<(), PgError> {
        let Some(user) = self.run_as else {
            return Ok(());
        };
        let mut cmd = Command::new("chown");
        cmd.arg("-R").arg(format!("{user}:")).arg(path);
        run(cmd, &format!("chown -R {user}: {}", path.display())).map(drop)
    }

    /// Makes every ancestor of `path` searchable by others, so the server user can
    /// reach a cluster under, say, `/root/…` (only the `x` bit: nothing becomes readable).
    pub(crate) fn open_ancestors(&self, path: &Path) -> Result<(), PgError> {
        use std::os::unix::fs::PermissionsExt;
        if self.run_as.is_none() {
            return Ok(());
        }
        for dir in path.ancestors().skip(1) {
            let meta = std::fs::metadata(dir).map_err(|e| PgError::io(dir, e))?;
            let mode = meta.permissions().mode();
            if mode & 0o001 == 0 {
                say(format_args!(
                    "pgtmp: chmod o+x {} so the postgres user can reach the cluster",
                    dir.display()
                ));
                let perms = std::fs::Permissions::from_mode(mode | 0o001);
                std::fs::set_permissions(dir, perms).map_err(|e| PgError::io(dir, e))?;
            }
        }
        Ok(())
    }
}

/// Directories that may hold the programs, best first.
fn candidates() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("PREFORK_PG_BIN") {
        dirs.push(PathBuf::from(dir));
    }
    // A PATH entry may be a symlink farm (/usr/local/bin/initdb -> …/15/bin/initdb):
    // follow `initdb` to the directory that holds its siblings.
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        if let Ok(real) = dir.join("initdb").canonicalize() {
            dirs.extend(real.parent().map(Path::to_path_buf));
        }
    }
    dirs.extend(debian_dirs());
    dirs
}

/// `/usr/lib/postgresql/*/bin`, newest version first.
fn debian_dirs() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(DEBIAN_LIB) else {
        return Vec::new();
    };
    let mut versions: Vec<(Vec<u32>, PathBuf)> = entries
        .flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (version_key(&name), e.path().join("bin"))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

/// "9.6" → [9, 6], "15" → [15]: numeric, so 15 sorts after 9.6.
fn version_key(name: &str) -> Vec<u32> {
    name.split('.')
        .map(|part| part.parse().unwrap_or(0))
        .collect()
}

/// Runs `cmd` to completion, capturing its output; a non-zero exit is an error that
/// carries what the program printed.
pub(crate) fn run(cmd: Command, what: &str) -> Result<Output, PgError> {
    run_with_input(cmd, what, None)
}

/// Like [`run`], feeding `input` on stdin.
pub(crate) fn run_with_input(
    mut cmd: Command,
    what: &str,
    input: Option<&str>,
) -> Result<Output, PgError> {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let spawn_err = |e| PgError::Spawn {
        what: what.to_string(),
        source: e,
    };
    let mut child = cmd.spawn().map_err(spawn_err)?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        // Small scripts only: the child cannot fill its pipes before reading all of stdin.
        stdin.write_all(text.as_bytes()).map_err(spawn_err)?;
    }
    let out = child.wait_with_output().map_err(spawn_err)?;
    if out.status.success() {
        return Ok(out);
    }
    let mut text = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if text.is_empty() {
        text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    }
    Err(PgError::Command {
        what: what.to_string(),
        status: out.status,
        output: text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Versions sort numerically, newest first, so 15 beats 9.6.
    #[test]
    fn version_key_orders_numerically() {
        let mut v = [version_key("9.6"), version_key("15"), version_key("10")];
        v.sort();
        assert_eq!(v, [vec![9, 6], vec![10], vec![15]]);
    }

    /// A failing command's error carries its stderr.
    #[test]
    fn run_reports_stderr() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo boom >&2; exit 3"]);
        let err = run(cmd, "sh test").unwrap_err().to_string();
        assert!(err.contains("sh test") && err.contains("boom"), "{err}");
    }
}
