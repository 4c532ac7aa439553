//! `--user` / `--group`: the account workers run as.
//!
//! The master binds its listeners (possibly a privileged port), checks the database and
//! starts a private cluster as whoever started it; each worker then gives up that
//! identity right after fork, before it reads a single byte from a client: supplementary
//! groups from the user's entry (`initgroups`), then the group, then the user — in that
//! order, since changing the user first would forbid changing the groups.
//!
//! Started as root without `--user`, workers do not stay root: they run as `nobody`
//! ([`DEFAULT_USER`]), with the group of the database's Unix-socket directory added so
//! that they can still reach it (the private cluster's directory is `0750`, group
//! `postgres`). `--user root` keeps them root, on purpose.
//!
//! The master keeps its identity: the sockets a `TTIN` adds must be bound by the same
//! effective user as their `SO_REUSEPORT` siblings, and a private cluster started as
//! root is stopped through `runuser`, which needs root. (nginx's master stays root for
//! the same kind of reasons.)

use std::ffi::CString;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use nix::unistd::{Gid, Group, Uid, User};

/// The account workers run as when prefork is started as root without `--user`.
pub const DEFAULT_USER: &str = "nobody";

/// The resolved account workers switch to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunAs {
    /// The user name (for `initgroups` and messages).
    pub user: String,
    /// Its uid.
    pub uid: Uid,
    /// `--group`, else the user's primary group.
    pub gid: Gid,
    /// Groups added to the user's own supplementary groups (the database socket
    /// directory's, for the default account).
    pub extra_groups: Vec<Gid>,
}

/// Why `--user` / `--group` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PrivilegeError {
    /// Started as root without `--user`, and there is no default account to use.
    #[error("prefork runs as root and there is no `{DEFAULT_USER}` user for its workers: pass --user NAME (an unprivileged account), or --user root to run them as root on purpose")]
    NoDefaultUser,
    /// No such user in the system's user database.
    #[error("--user {0}: no such user (create it with `useradd --system {0}`)")]
    NoUser(String),
    /// No such group.
    #[error("--group {0}: no such group (create it with `groupadd --system {0}`)")]
    NoGroup(String),
    /// The lookup itself failed.
    #[error("cannot look up {0}: {1}")]
    Lookup(String, nix::Error),
    /// Switching needs root.
    #[error(
        "--user {user} needs root: prefork runs as uid {uid}; start it as root or drop --user"
    )]
    NotRoot {
        /// The requested user.
        user: String,
        /// Our uid.
        uid: Uid,
    },
    /// A system call refused the switch.
    #[error("cannot switch workers to {what}: {source}")]
    Switch {
        /// Which step.
        what: String,
        /// What the kernel said.
        source: nix::Error,
    },
}

impl RunAs {
    /// Resolves `--user NAME` and optional `--group NAME` from the user and group
    /// databases.
    pub fn resolve(user: &str, group: Option<&str>) -> Result<RunAs, PrivilegeError> {
        let entry = User::from_name(user)
            .map_err(|e| PrivilegeError::Lookup(format!("user {user}"), e))?
            .ok_or_else(|| PrivilegeError::NoUser(user.to_string()))?;
        let gid = match group {
            None => entry.gid,
            Some(name) => {
                Group::from_name(name)
                    .map_err(|e| PrivilegeError::Lookup(format!("group {name}"), e))?
                    .ok_or_else(|| PrivilegeError::NoGroup(name.to_string()))?
                    .gid
            }
        };
        Ok(RunAs {
            user: entry.name,
            uid: entry.uid,
            gid,
            extra_groups: Vec::new(),
        })
    }

    /// The account for workers when the master runs as root and no `--user` was given:
    /// [`DEFAULT_USER`], plus the group of each of `socket_dirs` (the database's
    /// Unix-socket directories) so that the database stays reachable.
    pub fn unprivileged_default(socket_dirs: &[PathBuf]) -> Result<RunAs, PrivilegeError> {
        let mut run_as = match RunAs::resolve(DEFAULT_USER, None) {
            Err(PrivilegeError::NoUser(_)) => return Err(PrivilegeError::NoDefaultUser),
            other => other?,
        };
        let groups = socket_dirs
            .iter()
            .filter_map(|dir| std::fs::metadata(dir).ok());
        run_as.extra_groups = groups.map(|m| Gid::from_raw(m.gid())).collect();
        Ok(run_as)
    }

    /// Fails early, in the master, if this process cannot switch to the account.
    pub fn check_possible(&self) -> Result<(), PrivilegeError> {
        let uid = Uid::effective();
        if uid.is_root() || (uid == self.uid && Gid::effective() == self.gid) {
            return Ok(());
        }
        Err(PrivilegeError::NotRoot {
            user: self.user.clone(),
            uid,
        })
    }

    /// In a worker after fork: supplementary groups, group, then user. After this the
    /// process cannot regain the master's identity.
    pub fn switch(&self) -> Result<(), PrivilegeError> {
        if Uid::effective() == self.uid && Gid::effective() == self.gid {
            return Ok(());
        }
        let fail = |what: &str| {
            let what = what.to_string();
            move |source| PrivilegeError::Switch { what, source }
        };
        let name = CString::new(self.user.as_str()).expect("user names have no NUL");
        nix::unistd::initgroups(&name, self.gid).map_err(fail("its groups"))?;
        if !self.extra_groups.is_empty() {
            let mut groups = nix::unistd::getgroups().map_err(fail("its groups"))?;
            groups.extend(&self.extra_groups);
            nix::unistd::setgroups(&groups).map_err(fail("the database's group"))?;
        }
        nix::unistd::setgid(self.gid).map_err(fail(&format!("gid {}", self.gid)))?;
        nix::unistd::setuid(self.uid).map_err(fail(&format!("uid {}", self.uid)))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default account is `nobody` with the given directories' groups added.
    #[test]
    fn default_account_adds_socket_groups() {
        let dir = std::env::temp_dir();
        let gid = Gid::from_raw(std::fs::metadata(&dir).unwrap().gid());
        let run_as = RunAs::unprivileged_default(&[dir, PathBuf::from("/nonexistent")]).unwrap();
        assert_eq!(run_as.user, DEFAULT_USER);
        assert_eq!(run_as.extra_groups, vec![gid]);
    }

    /// Unknown names are refused with the command that creates them; root resolves.
    #[test]
    fn resolve_names() {
        let root = RunAs::resolve("root", None).unwrap();
        assert_eq!((root.uid, root.gid), (Uid::from_raw(0), Gid::from_raw(0)));
        let err = RunAs::resolve("no-such-user-prefork", None).unwrap_err();
        assert!(err.to_string().contains("useradd"), "{err}");
        let err = RunAs::resolve("root", Some("no-such-group-prefork")).unwrap_err();
        assert!(err.to_string().contains("groupadd"), "{err}");
    }
}
