//! What a master keeps to start its successor in a binary upgrade, and what the
//! successor says when it takes over (the steps themselves are in `upgrade`).

use std::ffi::OsString;
use std::path::PathBuf;

use nix::unistd::Pid;

/// Set in the new master's environment: the old master's pid (for its log).
pub(super) const UPGRADED_FROM: &str = "PREFORK_UPGRADED_FROM";

/// What a master needs to start its successor: the binary and the arguments it was
/// started with, taken at start (the path then names whatever binary is on disk).
#[derive(Debug)]
pub(super) struct Relaunch {
    /// The binary this process was started from (its path names whatever is on disk now).
    pub(super) exe: std::io::Result<PathBuf>,
    /// The arguments after the program name.
    pub(super) args: Vec<OsString>,
}

impl Relaunch {
    /// This process's binary and arguments.
    pub(super) fn current() -> Relaunch {
        Relaunch {
            exe: std::env::current_exe(),
            args: std::env::args_os().skip(1).collect(),
        }
    }
}

/// A new master started by `USR2`, not yet known to be done.
#[derive(Debug)]
pub(super) struct Successor {
    /// Its pid (a child of this master).
    pub(super) pid: Pid,
}

/// In a master started by a binary upgrade: says whose sockets it took over, and
/// clears the variable so that nothing it starts sees it. True in such a master.
pub(super) fn announce_takeover() -> bool {
    let Some(old) = std::env::var_os(UPGRADED_FROM) else {
        return false;
    };
    std::env::remove_var(UPGRADED_FROM);
    crate::say!(
        "prefork: binary upgrade: taking over the sockets of master pid {}",
        old.to_string_lossy()
    );
    true
}
