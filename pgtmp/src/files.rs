//! Files in and around a cluster directory: locks, stale pid files, the log, the template.

use std::fs::{File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::error::PgError;

/// The name of the socket file PostgreSQL creates in its socket directory (port 5432).
pub(crate) const SOCKET: &str = ".s.PGSQL.5432";
/// `sizeof(sun_path)` minus the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;
/// Written into the template once it is complete; its content identifies what built it.
pub(crate) const TEMPLATE_MARKER: &str = "pgtmp-template";

/// An advisory lock on `<dir>.lock`, held until dropped.
pub(crate) struct DirLock(#[allow(dead_code)] Flock<File>);

/// Locks `<dir>.lock` (beside `dir`, which may be deleted and recreated under the lock).
pub(crate) fn lock(dir: &Path, shared: bool) -> Result<DirLock, PgError> {
    let path = lock_path(dir);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| PgError::io(&path, e))?;
    let arg = if shared {
        FlockArg::LockShared
    } else {
        FlockArg::LockExclusive
    };
    Flock::lock(file, arg)
        .map(DirLock)
        .map_err(|(_, errno)| PgError::io(&path, errno.into()))
}

fn lock_path(dir: &Path) -> PathBuf {
    let mut name = dir.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Fails when the socket path would not fit in a `sockaddr_un`.
pub(crate) fn check_socket_path(dir: &Path) -> Result<(), PgError> {
    let socket = dir.join(SOCKET);
    if socket.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(PgError::PathTooLong { path: socket });
    }
    Ok(())
}

/// Removes `postmaster.pid` and socket files left by a server that is gone (crash,
/// reboot, SIGKILL), so a recycled pid cannot make PostgreSQL refuse to start.
/// Returns whether a live postmaster owns the directory.
pub(crate) fn clear_stale_pid(dir: &Path) -> Result<bool, PgError> {
    let pid_file = dir.join("postmaster.pid");
    let pid = match std::fs::read_to_string(&pid_file) {
        Ok(text) => text
            .lines()
            .next()
            .and_then(|l| l.trim().parse::<u32>().ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(PgError::io(&pid_file, e)),
    };
    if pid.is_some_and(is_postgres) {
        return Ok(true);
    }
    let socket_lock = format!("{SOCKET}.lock");
    for name in ["postmaster.pid", SOCKET, socket_lock.as_str()] {
        match std::fs::remove_file(dir.join(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(PgError::io(&dir.join(name), e))
            }
            _ => {}
        }
    }
    Ok(false)
}

/// Whether `pid` is a live `postgres` process: not some process that reused the pid,
/// and not the zombie of a killed postmaster that nobody has reaped yet.
fn is_postgres(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // "1234 (postgres) S …": the name is in parentheses, the state follows the last one.
    let name = stat
        .split_once('(')
        .and_then(|(_, rest)| rest.rsplit_once(')'));
    matches!(name, Some(("postgres", rest)) if !rest.trim_start().starts_with(['Z', 'X']))
}

/// The last `lines` lines of the server log, for error messages.
pub(crate) fn log_tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_else(|e| format!("(cannot read: {e})"));
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// What the template must have been built from to be reused: the binaries and schema.
pub(crate) fn template_stamp(bin_dir: &Path, schema: &str) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    schema.hash(&mut hasher);
    format!("{}\n{:016x}\n", bin_dir.display(), hasher.finish())
}

/// Whether the template in `dir` is complete and was built from `stamp`.
pub(crate) fn template_matches(dir: &Path, stamp: &str) -> bool {
    std::fs::read_to_string(dir.join(TEMPLATE_MARKER)).is_ok_and(|s| s == stamp)
}

/// Makes `path` absolute without requiring it to exist.
pub(crate) fn absolute(path: &Path) -> Result<PathBuf, PgError> {
    std::path::absolute(path).map_err(|e| PgError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pid file naming a process that is not postgres is removed.
    #[test]
    fn stale_pid_file_is_cleared() {
        let dir = std::env::temp_dir().join(format!("pgtmp-stale-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Our own pid is alive but not a postgres process.
        std::fs::write(
            dir.join("postmaster.pid"),
            format!("{}\n/x\n", std::process::id()),
        )
        .unwrap();
        std::fs::write(dir.join(format!("{SOCKET}.lock")), "1\n").unwrap();
        assert!(!clear_stale_pid(&dir).unwrap());
        assert!(!dir.join("postmaster.pid").exists());
        assert!(!dir.join(format!("{SOCKET}.lock")).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A directory whose socket path exceeds sun_path is rejected with advice.
    #[test]
    fn long_socket_path_is_rejected() {
        let long = PathBuf::from("/").join("d".repeat(120));
        let err = check_socket_path(&long).unwrap_err().to_string();
        assert!(err.contains("shorter"), "{err}");
        assert!(check_socket_path(Path::new("/tmp/pg")).is_ok());
    }

    /// Only the last lines of a log are kept.
    #[test]
    fn log_tail_keeps_last_lines() {
        let file = std::env::temp_dir().join(format!("pgtmp-log-{}", std::process::id()));
        std::fs::write(&file, "a\nb\nc\n").unwrap();
        assert_eq!(log_tail(&file, 2), "b\nc");
        std::fs::remove_file(&file).unwrap();
    }
}
