//! Listening sockets handed over by whoever started us, instead of bound by us:
//! systemd's socket activation protocol (`sd_listen_fds(3)`). The starter leaves the
//! sockets open as descriptors 3, 4, … and sets `LISTEN_FDS` to their count and
//! `LISTEN_PID` to our pid (so a child that inherits the environment by mistake does not
//! take them too); `systemd-socket-activate` and a `.socket` unit both do so.
//!
//! Listening TCP and Unix stream sockets are adopted; anything else among them is
//! refused with the reason, rather than served wrongly.

use std::net::TcpListener;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;

use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sys::socket::{
    getsockname, getsockopt, sockopt, AddressFamily, SockType, SockaddrLike, SockaddrStorage,
};

use crate::listener::Listener;
use crate::sys;

/// The first descriptor the protocol passes (after stdin, stdout, stderr).
pub const FIRST_FD: RawFd = 3;

/// The variables of the protocol (`LISTEN_FDNAMES` is only read by programs that use
/// names; it is cleared with the others).
const VARIABLES: [&str; 3] = ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"];

/// Why the passed sockets cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ActivationError {
    /// `LISTEN_FDS` or `LISTEN_PID` is not a number.
    #[error(
        "{name}={value:?} is not a number (socket activation: LISTEN_FDS=count, LISTEN_PID=pid)"
    )]
    NotANumber {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
    },
    /// A passed descriptor is not open.
    #[error("LISTEN_FDS passes {count} descriptors from {FIRST_FD}, but they are not all open: {source}")]
    NotOpen {
        /// How many were passed.
        count: usize,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A passed descriptor is not a listening stream socket prefork can serve on.
    #[error("descriptor {fd} from LISTEN_FDS is not a listening TCP or Unix stream socket ({why}); prefork adopts those only (ListenStream=HOST:PORT or ListenStream=/path in the .socket unit)")]
    NotStreamListener {
        /// The descriptor.
        fd: RawFd,
        /// What it is instead.
        why: String,
    },
}

/// What the environment says about passed sockets: how many, if they are ours.
fn passed_count(
    listen_fds: Option<String>,
    listen_pid: Option<String>,
    own_pid: u32,
) -> Result<usize, ActivationError> {
    let number = |name: &'static str, value: String| {
        value
            .trim()
            .parse::<u64>()
            .map_err(|_| ActivationError::NotANumber { name, value })
    };
    let Some(fds) = listen_fds else {
        return Ok(0);
    };
    if let Some(pid) = listen_pid {
        if number("LISTEN_PID", pid)? != u64::from(own_pid) {
            return Ok(0); // meant for another process (we inherited the environment)
        }
    }
    Ok(number("LISTEN_FDS", fds)? as usize)
}

/// Takes the listening sockets passed to this process, in descriptor order (none when
/// `LISTEN_FDS` is unset or names another process), and clears the protocol's variables
/// so that workers and anything they start never see them. Each adopted descriptor is
/// made close-on-exec (the protocol passes them inheritable) and non-blocking.
///
/// Call it once, before anything else opens descriptors it could mistake for passed ones.
pub fn take_listeners() -> Result<Vec<Listener>, ActivationError> {
    let count = passed_count(
        std::env::var("LISTEN_FDS").ok(),
        std::env::var("LISTEN_PID").ok(),
        std::process::id(),
    );
    for name in VARIABLES {
        std::env::remove_var(name);
    }
    let count = count?;
    sys::take_inherited_descriptors(FIRST_FD, count)
        .map_err(|source| ActivationError::NotOpen { count, source })?
        .into_iter()
        .map(adopt)
        .collect()
}

/// One passed descriptor as a listener, after checking that it is one.
fn adopt(owned: OwnedFd) -> Result<Listener, ActivationError> {
    let fd = owned.as_raw_fd();
    let refuse = |why: String| ActivationError::NotStreamListener { fd, why };
    let listening = getsockopt(&owned, sockopt::AcceptConn).map_err(|e| refuse(e.to_string()))?;
    if !listening {
        return Err(refuse("a socket that is not listening".into()));
    }
    let kind = getsockopt(&owned, sockopt::SockType).map_err(|e| refuse(e.to_string()))?;
    if kind != SockType::Stream {
        return Err(refuse(format!("a {kind:?} socket")));
    }
    let local = getsockname::<SockaddrStorage>(fd).map_err(|e| refuse(e.to_string()))?;
    let listener = match local.family() {
        Some(AddressFamily::Inet | AddressFamily::Inet6) => Listener::Tcp(TcpListener::from(owned)),
        Some(AddressFamily::Unix) => {
            let named = local.as_unix_addr().is_some_and(|a| a.path().is_some());
            if !named {
                return Err(refuse(
                    "a Unix socket without a path (abstract or unnamed)".into(),
                ));
            }
            Listener::Unix(UnixListener::from(owned))
        }
        other => return Err(refuse(format!("address family {other:?}"))),
    };
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(|e| refuse(e.to_string()))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| refuse(e.to_string()))?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    /// No `LISTEN_FDS`: nothing passed; ours: the count; another pid's: nothing.
    #[test]
    fn count_only_for_this_process() {
        assert_eq!(passed_count(None, None, 42).unwrap(), 0);
        assert_eq!(passed_count(some("2"), some("42"), 42).unwrap(), 2);
        assert_eq!(passed_count(some("1"), None, 42).unwrap(), 1);
        assert_eq!(passed_count(some("2"), some("41"), 42).unwrap(), 0);
    }

    /// Garbage is an error naming the variable, not "no sockets".
    #[test]
    fn garbage_is_an_error() {
        let err = passed_count(some("x"), some("42"), 42).unwrap_err();
        assert!(err.to_string().starts_with("LISTEN_FDS=\"x\""), "{err}");
        let err = passed_count(some("1"), some("me"), 42).unwrap_err();
        assert!(err.to_string().starts_with("LISTEN_PID=\"me\""), "{err}");
    }
}
