//! The master's signals: which signal means which [`SignalAction`], and a self-pipe
//! queue the master loop waits on with a timeout.
//!
//! Handlers do no work: each watched signal has its own socket pair, and signal-hook's
//! handler writes one byte into it. The master loop sleeps in `epoll` (mio) on the read
//! ends and counts the bytes, so two `TTIN`s in a row mean two workers more (as in
//! Gunicorn's signal queue) instead of being folded into one.

use std::io::{self, ErrorKind, Read};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use mio::{Events, Interest, Poll, Token};
use nix::sys::signal::Signal;
use signal_hook::low_level::{pipe, unregister};
use signal_hook::SigId;

/// What the master does about a signal it received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalAction {
    /// `SIGCHLD`: collect exited workers.
    Reap,
    /// `SIGTERM`, `SIGINT`: stop accepting, let workers finish in-flight requests, exit.
    Graceful,
    /// `SIGQUIT`: stop now.
    Immediate,
    /// `SIGHUP`: replace every worker, one slot at a time, without refusing connections.
    Reload,
    /// `SIGTTIN`: one worker more.
    AddWorker,
    /// `SIGTTOU`: one worker less (never below one).
    RemoveWorker,
}

/// Signals the master watches, in the order their actions are returned when several
/// arrive at once: reaping first so the worker table is current, then stops (which end
/// the loop), then the rest.
const WATCHED: [Signal; 7] = [
    Signal::SIGCHLD,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
];

/// The action for a signal, `None` for signals the master does not handle.
pub fn action_for(signal: Signal) -> Option<SignalAction> {
    match signal {
        Signal::SIGCHLD => Some(SignalAction::Reap),
        Signal::SIGTERM | Signal::SIGINT => Some(SignalAction::Graceful),
        Signal::SIGQUIT => Some(SignalAction::Immediate),
        Signal::SIGHUP => Some(SignalAction::Reload),
        Signal::SIGTTIN => Some(SignalAction::AddWorker),
        Signal::SIGTTOU => Some(SignalAction::RemoveWorker),
        _ => None,
    }
}

/// One watched signal: its registration and the read end of its socket pair.
struct Watch {
    signal: Signal,
    id: SigId,
    read: UnixStream,
}

/// The master's signal registration and the queue its loop waits on.
pub struct MasterSignals {
    poll: Poll,
    events: Events,
    watches: Vec<Watch>,
}

impl MasterSignals {
    /// Registers handlers for TERM, INT, QUIT, HUP, TTIN, TTOU and CHLD.
    pub fn install() -> io::Result<MasterSignals> {
        let poll = Poll::new()?;
        let mut watches = Vec::with_capacity(WATCHED.len());
        for (index, &signal) in WATCHED.iter().enumerate() {
            let (read, write) = UnixStream::pair()?;
            read.set_nonblocking(true)?;
            let fd = std::os::fd::AsRawFd::as_raw_fd(&read);
            let source = &mut mio::unix::SourceFd(&fd);
            poll.registry()
                .register(source, Token(index), Interest::READABLE)?;
            let id = pipe::register(signal as i32, write)?;
            watches.push(Watch { signal, id, read });
        }
        Ok(MasterSignals {
            poll,
            events: Events::with_capacity(WATCHED.len()),
            watches,
        })
    }

    /// Waits up to `timeout` for signals; returns one action per signal received (one
    /// `Reap` at most: a single reap collects every exited child). Empty on timeout.
    pub fn wait(&mut self, timeout: Duration) -> io::Result<Vec<SignalAction>> {
        match self.poll.poll(&mut self.events, Some(timeout)) {
            // A signal interrupting epoll_wait is exactly what we wait for.
            Err(e) if e.kind() != ErrorKind::Interrupted => return Err(e),
            _ => {}
        }
        // Drain every pipe, not only the ready ones: the registrations are
        // edge-triggered, so a pipe must be emptied to report the next signal.
        let mut actions = Vec::new();
        for watch in &mut self.watches {
            let count = drain(&mut watch.read)?;
            let action = action_for(watch.signal).expect("every watched signal has an action");
            let repeat = if action == SignalAction::Reap {
                count.min(1)
            } else {
                count
            };
            actions.extend(std::iter::repeat_n(action, repeat));
        }
        Ok(actions)
    }

    /// Removes the master's handlers' actions and closes the pipes: what a freshly
    /// forked worker does before installing its own signal handling.
    ///
    /// signal-hook never restores the default disposition: a signal the worker does
    /// not register for itself is from now on ignored (its handler has no action left).
    pub fn release(self) {
        drop(self);
    }
}

impl Drop for MasterSignals {
    fn drop(&mut self) {
        // Unregistering drops the write ends held by the handlers' actions.
        for watch in &self.watches {
            unregister(watch.id);
        }
    }
}

/// Reads everything in a non-blocking pipe; returns the number of bytes (= signals).
fn drain(read: &mut UnixStream) -> io::Result<usize> {
    let mut buf = [0u8; 64];
    let mut total = 0;
    loop {
        match read.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(total),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every signal the master documents maps to its action; others map to nothing.
    #[test]
    fn signal_to_action_table() {
        use SignalAction::*;
        let table = [
            (Signal::SIGCHLD, Reap),
            (Signal::SIGTERM, Graceful),
            (Signal::SIGINT, Graceful),
            (Signal::SIGQUIT, Immediate),
            (Signal::SIGHUP, Reload),
            (Signal::SIGTTIN, AddWorker),
            (Signal::SIGTTOU, RemoveWorker),
        ];
        for (signal, action) in table {
            assert_eq!(action_for(signal), Some(action), "{signal}");
        }
        assert_eq!(action_for(Signal::SIGUSR1), None);
    }

    /// Queued signals come back counted and in priority order, and a timeout with no
    /// signal returns nothing. (Only harmless signals are raised: the test process keeps
    /// running whatever the handler state.)
    #[test]
    fn wait_counts_signals_and_times_out() {
        let mut signals = MasterSignals::install().unwrap();
        assert!(signals.wait(Duration::from_millis(10)).unwrap().is_empty());
        for signal in [
            Signal::SIGTTIN,
            Signal::SIGCHLD,
            Signal::SIGTTIN,
            Signal::SIGCHLD,
        ] {
            nix::sys::signal::raise(signal).unwrap();
        }
        let mut actions = Vec::new();
        for _ in 0..50 {
            actions.extend(signals.wait(Duration::from_millis(20)).unwrap());
            if actions.len() >= 3 {
                break;
            }
        }
        use SignalAction::*;
        assert_eq!(actions, vec![Reap, AddWorker, AddWorker]);
        signals.release();
    }
}
