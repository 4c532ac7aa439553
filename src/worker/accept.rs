//! Accepting connections: the one rule both worker modes follow.
//!
//! A worker accepts until the listener says `WouldBlock`: its poll is edge-triggered,
//! so connections left in the kernel's queue raise no new event. It stops short in two
//! cases, and then the [`Gate`] is *behind*: the worker calls [`Gate::accept`] again on
//! its own, without waiting for an edge that may never come.
//!
//! - At its connection cap (`--max-connections`): it accepts again as soon as one of
//!   its connections has closed. Meanwhile the kernel's queue holds the newcomers (and,
//!   with a shared listener, the other workers take them); nothing is allocated for them.
//! - Out of descriptors or memory (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`): it pauses
//!   for [`BACKOFF`] and then tries again (nginx's approach), so it never spins on an
//!   accept that cannot succeed, and the queued connections are taken as soon as
//!   descriptors are free again.
//!
//! Listener events that arrive while the gate is closed are ignored.

use std::io::{self, ErrorKind};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use crate::config::Config;
use crate::net;

/// This worker's connection cap: `--max-connections`, or derived from the descriptor
/// limit it inherited (the master raised it), see [`net::connection_cap`].
pub(super) fn cap_for(config: &Config) -> usize {
    // Unreadable limit (never on Linux): Linux's default soft limit.
    let nofile = net::descriptor_limit().unwrap_or(1024);
    net::connection_cap(config, nofile)
}

/// How long accepting pauses after the process ran out of descriptors or memory.
pub(super) const BACKOFF: Duration = Duration::from_millis(100);

/// The accept state of one worker.
#[derive(Debug)]
pub(crate) struct Gate {
    /// Most connections open at once.
    cap: usize,
    /// Connections may wait in the kernel's queue that no edge will announce again.
    behind: bool,
    /// Backing off after running out of descriptors or memory, until then.
    paused_until: Option<Instant>,
    /// Out of descriptors since the last successful accept (logged once per episode).
    starved: bool,
}

impl Gate {
    /// A gate for at most `cap` open connections.
    pub(super) fn new(cap: usize) -> Gate {
        Gate {
            cap,
            behind: false,
            paused_until: None,
            starved: false,
        }
    }

    /// Whether accepting is due without a listener event: it stopped short last time,
    /// is below the cap with `open` connections, and is not backing off.
    pub(super) fn due(&self, open: usize, now: Instant) -> bool {
        self.behind && open < self.cap && self.paused_until.is_none_or(|until| now >= until)
    }

    /// When a backoff that keeps the gate behind ends, if that is still to come: the
    /// poll must wake then. (Once it is over, only a closing connection can make
    /// accepting due, and the loop looks after every close.)
    pub(super) fn wake_at(&self, now: Instant) -> Option<Instant> {
        self.paused_until
            .filter(|&until| self.behind && until > now)
    }

    /// On a listener event, or when [`Gate::due`]: takes connections from `next` (one
    /// `accept` each) and hands them to `add`, while below the cap counting `open`
    /// connections already held, until the queue is empty or accepting must pause.
    pub(super) fn accept<S>(
        &mut self,
        mut open: usize,
        now: Instant,
        mut next: impl FnMut() -> io::Result<S>,
        mut add: impl FnMut(S),
    ) {
        self.behind = true;
        if self.paused_until.is_some_and(|until| now < until) {
            return;
        }
        self.paused_until = None;
        while open < self.cap {
            match next() {
                Ok(stream) => {
                    self.starved = false;
                    open += 1;
                    add(stream);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.behind = false;
                    return;
                }
                Err(e) if is_transient(&e) => {}
                Err(e) => return self.pause(now, &e),
            }
        }
    }

    /// Out of descriptors or memory (or an error we cannot act on): try again after
    /// [`BACKOFF`]; says so once per episode.
    fn pause(&mut self, now: Instant, e: &io::Error) {
        self.paused_until = Some(now + BACKOFF);
        if !self.starved {
            self.starved = true;
            let pid = std::process::id();
            let ms = BACKOFF.as_millis();
            crate::say!("prefork: worker pid {pid}: cannot accept ({e}); retrying every {ms} ms");
        }
    }
}

/// Errors that concern one queued connection only (reset while queued, a signal, a
/// protocol error): the next accept may well succeed.
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::Interrupted
    ) || e.raw_os_error() == Some(Errno::EPROTO as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A scripted listener: each accept takes the next outcome; `WouldBlock` when empty.
    fn script(outcomes: Vec<io::Result<u32>>) -> impl FnMut() -> io::Result<u32> {
        let mut queue: VecDeque<_> = outcomes.into();
        move || {
            queue
                .pop_front()
                .unwrap_or_else(|| Err(ErrorKind::WouldBlock.into()))
        }
    }

    fn emfile() -> io::Result<u32> {
        Err(io::Error::from_raw_os_error(Errno::EMFILE as i32))
    }

    /// Accepting empties the queue and then waits for the next edge.
    #[test]
    fn drains_queue_then_waits_for_edge() {
        let mut gate = Gate::new(10);
        let mut got = Vec::new();
        let now = Instant::now();
        gate.accept(0, now, script(vec![Ok(1), Ok(2)]), |s| got.push(s));
        assert_eq!(got, [1, 2]);
        assert!(!gate.due(2, now));
        assert_eq!(gate.wake_at(now), None);
    }

    /// At the cap it stops with connections still queued, and is due again once one
    /// connection has closed, without any new edge.
    #[test]
    fn stops_at_cap_and_resumes_below_it() {
        let mut gate = Gate::new(3);
        let mut next = script(vec![Ok(1), Ok(2), Ok(3), Ok(4)]);
        let mut got = Vec::new();
        let now = Instant::now();
        gate.accept(1, now, &mut next, |s| got.push(s));
        assert_eq!(got, [1, 2], "one connection was already open");
        assert!(!gate.due(3, now), "still full");
        assert!(gate.due(2, now), "one closed: accept again");
        gate.accept(2, now, &mut next, |s| got.push(s));
        assert_eq!(got, [1, 2, 3]);
    }

    /// Out of descriptors: no accept for the backoff period (an edge changes nothing),
    /// then a retry on its own that takes what is queued.
    #[test]
    fn emfile_backs_off_then_retries() {
        let mut gate = Gate::new(100);
        let mut next = script(vec![emfile(), Ok(7)]);
        let mut got = Vec::new();
        let t0 = Instant::now();
        gate.accept(0, t0, &mut next, |s| got.push(s));
        assert_eq!(gate.wake_at(t0), Some(t0 + BACKOFF));
        assert!(!gate.due(0, t0 + BACKOFF / 2));
        gate.accept(0, t0 + BACKOFF / 2, &mut next, |s| got.push(s));
        assert!(got.is_empty(), "an edge during the backoff is ignored");
        assert!(gate.due(0, t0 + BACKOFF));
        gate.accept(0, t0 + BACKOFF, &mut next, |s| got.push(s));
        assert_eq!(got, [7]);
        assert_eq!(gate.wake_at(t0 + BACKOFF), None);
    }

    /// A connection reset while queued does not stop the burst.
    #[test]
    fn aborted_connection_is_skipped() {
        let mut gate = Gate::new(10);
        let aborted = Err(ErrorKind::ConnectionAborted.into());
        let mut got = Vec::new();
        gate.accept(0, Instant::now(), script(vec![aborted, Ok(5)]), |s| {
            got.push(s)
        });
        assert_eq!(got, [5]);
    }
}
