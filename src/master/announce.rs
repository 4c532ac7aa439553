//! The master's start-up lines that say what it serves on.

use std::net::SocketAddr;

use crate::config::{AcceptMode, Config, Mode};
use crate::endpoint::Endpoint;
use crate::listener::Listener;

/// The `listening on` line, shared with `foreground` (tests parse it: keep it exact):
/// the primary TCP address, or else the first shared listener; an `also listening on`
/// line for each further one; then the line about descriptors (see
/// `net::raise_descriptor_limit`).
pub(super) fn log_listening(
    addr: Option<SocketAddr>,
    shared: &[Listener],
    config: &Config,
    descriptors: &str,
) {
    let mut names: Vec<String> = addr.map(|a| format!("http://{a}")).into_iter().collect();
    names.extend(shared.iter().map(|l| match l.endpoint() {
        Ok(Endpoint::Tcp(a)) => format!("http://{a}"),
        Ok(unix) => unix.to_string(),
        Err(e) => format!("a passed socket ({e})"),
    }));
    let mut names = names.into_iter();
    let first = names.next().unwrap_or_else(|| "no socket".to_string());
    crate::say!(
        "prefork: listening on {first} ({}, mode {}, accept {})",
        count_workers(config.workers),
        mode_name(config.mode),
        accept_name(config.accept)
    );
    for name in names {
        crate::say!("prefork: also listening on {name} (shared by every worker)");
    }
    crate::say!("prefork: {descriptors}");
}

/// Says where the listeners came from when socket activation passed them (`count` on
/// the primary TCP address).
pub(super) fn log_adopted(count: usize, wanted: AcceptMode, got: AcceptMode) {
    crate::say!(
        "prefork: serving on the socket(s) passed by socket activation (LISTEN_FDS); --bind is not used"
    );
    if wanted != got && count > 0 {
        crate::say!(
            "prefork: the passed socket has no SO_REUSEPORT (ReusePort=yes in a .socket unit): \
             workers share it (accept {}) instead of {} sockets of their own",
            accept_name(got),
            count.max(2)
        );
    }
}

/// `1 worker`, `3 workers`.
pub(super) fn count_workers(n: usize) -> String {
    match n {
        1 => "1 worker".to_string(),
        n => format!("{n} workers"),
    }
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Evloop => "evloop",
        Mode::Threads => "threads",
    }
}

fn accept_name(accept: AcceptMode) -> &'static str {
    match accept {
        AcceptMode::Reuseport => "reuseport",
        AcceptMode::Shared => "shared",
    }
}
