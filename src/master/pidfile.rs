//! `--pid FILE`: the master's pid where scripts and init systems look for it
//! (Gunicorn's `--pid`, nginx's `pid`).
//!
//! The file is written whole (a temporary file renamed over it), so a reader never sees
//! a partial pid; it is removed when the master exits, if it still names this master.
//! A file naming another running process is not overwritten: two servers sharing one
//! pid file would have scripts signal the wrong one.

use std::io;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

/// Why the pid file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PidFileError {
    /// The file names a process that is running.
    #[error("pid file {path} names running process {pid} (another prefork?): stop it, or choose another --pid (remove the file if {pid} is not a prefork master)")]
    Running {
        /// The file.
        path: PathBuf,
        /// The live process it names.
        pid: i32,
    },
    /// The file could not be written.
    #[error(
        "cannot write pid file {path}: {source} (check that its directory exists and is writable)"
    )]
    Write {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
}

/// The master's pid file, removed on drop.
#[derive(Debug)]
pub(super) struct PidFile {
    path: PathBuf,
    pid: u32,
}

impl PidFile {
    /// Writes `pid` to `path`, replacing a stale file (its process is gone; said in the
    /// log) but refusing one that names another running process.
    pub(super) fn create(path: &Path, pid: u32) -> Result<PidFile, PidFileError> {
        if let Some(named) = read_pid(path) {
            if named != pid as i32 && is_running(named) {
                return Err(PidFileError::Running {
                    path: path.to_path_buf(),
                    pid: named,
                });
            }
            if named != pid as i32 {
                crate::say!(
                    "prefork: replacing stale pid file {} (process {named} is gone)",
                    path.display()
                );
            }
        }
        let write = |source| PidFileError::Write {
            path: path.to_path_buf(),
            source,
        };
        let temporary = path.with_extension(format!("tmp.{pid}"));
        std::fs::write(&temporary, format!("{pid}\n")).map_err(write)?;
        std::fs::rename(&temporary, path).map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            write(e)
        })?;
        Ok(PidFile {
            path: path.to_path_buf(),
            pid,
        })
    }
}

impl PidFile {
    /// A binary upgrade starts: `FILE` becomes `FILE.oldbin`, for the new master to
    /// write `FILE` (nginx's convention); this file is `FILE.oldbin` from now on.
    pub(super) fn step_aside(&mut self) -> io::Result<()> {
        let aside = oldbin(&self.path);
        std::fs::rename(&self.path, &aside)?;
        self.path = aside;
        Ok(())
    }

    /// The upgrade failed: `FILE.oldbin` becomes `FILE` again (whatever the failed new
    /// master left there is replaced).
    pub(super) fn take_back(&mut self) -> io::Result<()> {
        let Some(name) = self.path.to_str().and_then(|p| p.strip_suffix(".oldbin")) else {
            return Ok(()); // not aside
        };
        let back = PathBuf::from(name);
        std::fs::rename(&self.path, &back)?;
        self.path = back;
        Ok(())
    }
}

/// `FILE.oldbin`.
fn oldbin(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".oldbin");
    PathBuf::from(name)
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // Only our own: after a restart by hand, the file may name a new master already.
        if read_pid(&self.path) == Some(self.pid as i32) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The pid a pid file holds, if it holds one.
fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether process `pid` exists (signal 0; a process of another user counts too).
fn is_running(pid: i32) -> bool {
    pid > 0 && matches!(kill(Pid::from_raw(pid), None), Ok(()) | Err(Errno::EPERM))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("prefork-pidfile-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("prefork.pid")
    }

    /// Written with a newline, removed on drop.
    #[test]
    fn written_and_removed() {
        let path = scratch("written");
        let file = PidFile::create(&path, std::process::id()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{}\n", std::process::id())
        );
        drop(file);
        assert!(!path.exists());
    }

    /// A file naming a live process (this test's own parent, say) is refused; one naming
    /// a process that is gone is replaced.
    #[test]
    fn live_refused_stale_replaced() {
        let path = scratch("live");
        let live = nix::unistd::getppid().as_raw();
        std::fs::write(&path, format!("{live}\n")).unwrap();
        let err = PidFile::create(&path, std::process::id()).unwrap_err();
        assert!(
            matches!(err, PidFileError::Running { pid, .. } if pid == live),
            "{err}"
        );
        // A pid above the kernel's maximum (4194304) is never running.
        std::fs::write(&path, "4194305\n").unwrap();
        let file = PidFile::create(&path, std::process::id()).unwrap();
        assert_eq!(read_pid(&path), Some(std::process::id() as i32));
        drop(file);
    }

    /// Stepping aside renames to `.oldbin` (drop then removes that one); taking back
    /// returns to the name.
    #[test]
    fn aside_and_back() {
        let path = scratch("aside");
        let mut file = PidFile::create(&path, std::process::id()).unwrap();
        file.step_aside().unwrap();
        let aside = oldbin(&path);
        assert!(!path.exists() && aside.exists());
        file.take_back().unwrap();
        assert!(path.exists() && !aside.exists());
        file.step_aside().unwrap();
        drop(file);
        assert!(!aside.exists());
    }

    /// Drop leaves a file that names someone else (a newer master) alone.
    #[test]
    fn drop_keeps_another_masters_file() {
        let path = scratch("other");
        let file = PidFile::create(&path, std::process::id()).unwrap();
        std::fs::write(&path, "4194305\n").unwrap();
        drop(file);
        assert_eq!(read_pid(&path), Some(4194305));
        std::fs::remove_file(&path).unwrap();
    }
}
