//! What every part of a running worker shares: its configuration and scoreboard cell
//! ([`Worker`]), stop requests from signals ([`Signals`], [`StopFlags`]), the master's
//! lifeline and the `--max-requests` quota.

use std::io::{self, ErrorKind, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::UnixStream;
use nix::unistd::{getppid, Pid};
use signal_hook::consts::{SIGINT, SIGQUIT, SIGTERM, SIGUSR1};

use crate::access_log::AccessLog;
use crate::config::Config;
use crate::scoreboard::{Board, Counters, Heartbeat};

/// Everything a mode needs besides the service.
pub(crate) struct Worker {
    /// The listener slot (the worker's number in logs).
    pub slot: usize,
    /// The validated configuration.
    pub config: Config,
    /// Every worker's counters, for `GET /stats`.
    pub board: Board,
    /// This worker's scoreboard cell.
    pub heartbeat: Heartbeat,
    /// This worker's activity counters (`GET /stats`).
    pub counters: Counters,
    /// Requests served against `--max-requests`.
    pub quota: Arc<Quota>,
    /// Stop requests from signals (and from the worker itself).
    pub signals: Signals,
    /// Notices the master's death.
    pub lifeline: Lifeline,
    /// `--access-log` ([`AccessLog::off`] without one).
    pub access_log: AccessLog,
}

impl Worker {
    /// The access log's turn in a poll loop: reopens it after `SIGUSR1`, writes lines
    /// that have waited long enough.
    pub(crate) fn tend_access_log(&self, now: Instant) {
        if self.signals.reopen.swap(false, Ordering::SeqCst) && self.access_log.is_on() {
            let target = self.access_log.target();
            let target = target.map_or(String::new(), |t| t.to_string());
            let (slot, pid) = (self.slot, std::process::id());
            match self.access_log.reopen() {
                Ok(()) => crate::say!(
                    "prefork: worker {slot} pid {pid}: reopened the access log {target}"
                ),
                Err(e) => crate::say!(
                    "prefork: worker {slot} pid {pid}: cannot reopen the access log {target}: {e}; \
                     still writing to the old file"
                ),
            }
        }
        self.access_log.flush_if_due(now);
    }
}

/// How a worker was asked to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Stop accepting, finish what has started, then exit 0.
    Graceful,
    /// Exit now.
    Immediate,
}

/// Stop requests as atomics: set by signal handlers, read by every thread.
#[derive(Clone, Debug, Default)]
pub(crate) struct StopFlags {
    graceful: Arc<AtomicBool>,
    immediate: Arc<AtomicBool>,
}

impl StopFlags {
    /// The strongest stop requested so far, if any.
    pub(crate) fn get(&self) -> Option<Stop> {
        if self.immediate.load(Ordering::SeqCst) {
            Some(Stop::Immediate)
        } else if self.graceful.load(Ordering::SeqCst) {
            Some(Stop::Graceful)
        } else {
            None
        }
    }

    /// Requests a stop from inside the worker (recycling, master gone, drain timeout).
    pub(crate) fn request(&self, stop: Stop) {
        let flag = match stop {
            Stop::Graceful => &self.graceful,
            Stop::Immediate => &self.immediate,
        };
        flag.store(true, Ordering::SeqCst);
    }
}

/// The worker's signal handling: flags plus a self-pipe that wakes a `mio::Poll`.
pub(crate) struct Signals {
    /// Set by the handlers.
    pub flags: StopFlags,
    /// Read end of the self-pipe; readable after any of our signals.
    pub wake: UnixStream,
    /// Set by `SIGUSR1`: reopen the access log.
    pub reopen: Arc<AtomicBool>,
}

impl Signals {
    /// Installs the handlers: SIGTERM graceful, SIGQUIT and SIGINT immediate, SIGUSR1
    /// reopens the access log. (The master's unused signals stay ignored: its handlers,
    /// inherited across fork and unregistered, do nothing.)
    pub(crate) fn install() -> io::Result<Signals> {
        let flags = StopFlags::default();
        let reopen = Arc::new(AtomicBool::new(false));
        let (wake, notify) = std::os::unix::net::UnixStream::pair()?;
        // Non-blocking on both ends: the handler must never block, the loop drains until empty.
        wake.set_nonblocking(true)?;
        notify.set_nonblocking(true)?;
        // Flags first: handlers run in registration order, so a woken loop sees the flag.
        signal_hook::flag::register(SIGTERM, Arc::clone(&flags.graceful))?;
        for signal in [SIGQUIT, SIGINT] {
            signal_hook::flag::register(signal, Arc::clone(&flags.immediate))?;
        }
        signal_hook::flag::register(SIGUSR1, Arc::clone(&reopen))?;
        for signal in [SIGTERM, SIGQUIT, SIGINT, SIGUSR1] {
            signal_hook::low_level::pipe::register(signal, notify.try_clone()?)?;
        }
        Ok(Signals {
            flags,
            wake: UnixStream::from_std(wake),
            reopen,
        })
    }

    /// Empties the self-pipe (its bytes only mean "look at the flags").
    pub(crate) fn drain(&mut self) {
        let mut buf = [0u8; 64];
        loop {
            match self.wake.read(&mut buf) {
                Ok(n) if n > 0 => continue,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                _ => return, // WouldBlock: empty; Ok(0) or an error cannot happen to a live pair
            }
        }
    }
}

/// Detects the master's death by polling `getppid` (a backup for PR_SET_PDEATHSIG).
pub(crate) struct Lifeline {
    ppid: Pid,
    next_check: Instant,
}

impl Lifeline {
    /// How often `getppid` is asked.
    const EVERY: Duration = Duration::from_secs(1);

    /// Remembers the current parent.
    pub(crate) fn new() -> Lifeline {
        Lifeline {
            ppid: getppid(),
            next_check: Instant::now() + Self::EVERY,
        }
    }

    /// Whether the master is gone (checked at most once per [`Self::EVERY`]).
    pub(crate) fn master_gone(&mut self, now: Instant) -> bool {
        if now < self.next_check {
            return false;
        }
        self.next_check = now + Self::EVERY;
        getppid() != self.ppid
    }
}

/// Requests served by this worker, against its recycling limit (shared by threads).
#[derive(Debug)]
pub(crate) struct Quota {
    served: AtomicU64,
    max: Option<u64>,
}

impl Quota {
    /// A counter for `max` requests (`None`: unlimited).
    pub(crate) fn new(max: Option<u64>) -> Quota {
        Quota {
            served: AtomicU64::new(0),
            max,
        }
    }

    /// Counts one request; true once the limit is reached (this one included). The
    /// request that reaches it logs that the worker is being recycled.
    pub(crate) fn count(&self) -> bool {
        let served = self.served.fetch_add(1, Ordering::Relaxed) + 1;
        if self.max == Some(served) {
            crate::say!(
                "prefork: worker pid {}: served {served} requests (--max-requests): recycling",
                std::process::id()
            );
        }
        self.max.is_some_and(|max| served >= max)
    }

    /// Whether the limit has been reached.
    pub(crate) fn reached(&self) -> bool {
        self.max
            .is_some_and(|max| self.served.load(Ordering::Relaxed) >= max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quota trips on the request that reaches the limit and stays tripped.
    #[test]
    fn quota_trips_at_limit() {
        let q = Quota::new(Some(2));
        assert!(!q.count());
        assert!(!q.reached());
        assert!(q.count());
        assert!(q.reached());
        assert!(q.count());
    }

    /// Without a limit the quota never trips.
    #[test]
    fn unlimited_quota_never_trips() {
        let q = Quota::new(None);
        assert!((0..1000).all(|_| !q.count()));
        assert!(!q.reached());
    }

    /// Immediate wins over graceful once both are requested.
    #[test]
    fn immediate_overrides_graceful() {
        let flags = StopFlags::default();
        assert_eq!(flags.get(), None);
        flags.request(Stop::Graceful);
        assert_eq!(flags.get(), Some(Stop::Graceful));
        flags.request(Stop::Immediate);
        assert_eq!(flags.get(), Some(Stop::Immediate));
    }
}
