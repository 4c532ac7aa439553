//! The master's signals: which signal means which [`SignalAction`], and a self-pipe
//! queue the master loop waits on with a timeout.
//!
//! Handlers do no work: each watched signal has its own socket pair, and signal-hook's
//! handler writes one byte into it. The master loop sleeps in `epoll` (mio) on the read
//! ends and counts the bytes, so two `TTIN`s in a row mean two workers more (as in
//! Gunicorn's signal queue) instead of being folded into one.
//!
//! Every other signal an operator might send whose default action would kill the
//! process ([`unused_signals`]: ALRM, PWR, real-time signals …) is
//! caught, logged and ignored ([`SignalAction::Ignore`]), so that a habit from another
//! server never takes this one down — nor leaves its private database running. Signals
//! that report a fault of the program itself (SEGV, BUS, ILL, FPE, ABRT) keep their
//! default action; so do SIGPIPE (already ignored by the Rust runtime) and the
//! job-control stops.

use std::io::{self, ErrorKind, Read};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nix::libc;

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
    /// `SIGUSR2`: binary upgrade — start a new master from the binary on disk, handing
    /// it the listening sockets.
    Upgrade,
    /// `SIGWINCH`: stop every worker gracefully but keep the master (after an upgrade,
    /// the old master's step before it exits; `HUP` starts its workers again).
    StopWorkers,
    /// `SIGUSR1`: reopen the access log (master, then every worker), for logrotate.
    ReopenLogs,
    /// A signal prefork has no use for (see [`unused_signals`]): log it, keep serving.
    Ignore(libc::c_int),
}

/// Catchable signals whose default action would end the master, and that prefork does
/// not use: ALRM, VTALRM, PROF, IO, PWR, STKFLT, XCPU, XFSZ, and every real-time
/// signal.
pub fn unused_signals() -> Vec<libc::c_int> {
    let mut signals = vec![
        libc::SIGALRM,
        libc::SIGVTALRM,
        libc::SIGPROF,
        libc::SIGIO,
        libc::SIGPWR,
        libc::SIGSTKFLT,
        libc::SIGXCPU,
        libc::SIGXFSZ,
    ];
    signals.extend(libc::SIGRTMIN()..=libc::SIGRTMAX());
    signals
}

/// A signal's name: `SIGUSR1`, `SIGRTMIN+3`.
pub fn signal_name(signal: libc::c_int) -> String {
    match Signal::try_from(signal) {
        Ok(known) => known.as_str().to_string(),
        Err(_) if signal >= libc::SIGRTMIN() => format!("SIGRTMIN+{}", signal - libc::SIGRTMIN()),
        Err(_) => format!("signal {signal}"),
    }
}

/// Signals the master watches, in the order their actions are returned when several
/// arrive at once: reaping first so the worker table is current, then stops (which end
/// the loop), then the rest.
const WATCHED: [Signal; 10] = [
    Signal::SIGCHLD,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGUSR1,
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
        Signal::SIGUSR2 => Some(SignalAction::Upgrade),
        Signal::SIGWINCH => Some(SignalAction::StopWorkers),
        Signal::SIGUSR1 => Some(SignalAction::ReopenLogs),
        _ => None,
    }
}

/// `--no-fork`: HUP, TTIN, TTOU, USR2 and WINCH (which need a master with workers) and the
/// [`unused_signals`] are logged by a thread of their own and otherwise ignored. The
/// thread lives as long as the process; the worker handles TERM, INT and QUIT itself.
pub fn ignore_in_foreground() -> io::Result<()> {
    let mut set = vec![
        libc::SIGHUP,
        libc::SIGTTIN,
        libc::SIGTTOU,
        libc::SIGUSR2,
        libc::SIGWINCH,
    ];
    set.extend(unused_signals());
    let mut signals = signal_hook::iterator::Signals::new(&set)?;
    std::thread::Builder::new()
        .name("prefork-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                crate::say!(
                    "prefork: got {} under --no-fork: nothing to do without a master; ignored",
                    signal_name(signal)
                );
            }
        })?;
    Ok(())
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
    unused: Unused,
}

/// The [`unused_signals`]: one flag each and no pipe (a descriptor per signal would
/// cost dozens): the loop looks at them whenever it wakes, at least once per tick, so
/// the log line may come up to a tick late — and these signals have no job to do.
struct Unused {
    flags: Vec<(libc::c_int, Arc<AtomicBool>)>,
    ids: Vec<SigId>,
}

impl Unused {
    /// Registers a flag for each unused signal.
    fn install() -> io::Result<Unused> {
        let (mut flags, mut ids) = (Vec::new(), Vec::new());
        for signal in unused_signals() {
            let flag = Arc::new(AtomicBool::new(false));
            ids.push(signal_hook::flag::register(signal, Arc::clone(&flag))?);
            flags.push((signal, flag));
        }
        Ok(Unused { flags, ids })
    }

    /// The signals seen since the last call.
    fn take(&mut self) -> Vec<libc::c_int> {
        let seen = self
            .flags
            .iter()
            .filter(|(_, flag)| flag.swap(false, Ordering::SeqCst));
        seen.map(|(signal, _)| *signal).collect()
    }
}

impl MasterSignals {
    /// Registers handlers for TERM, INT, QUIT, HUP, TTIN, TTOU, USR2, WINCH and CHLD.
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
        let unused = Unused::install()?;
        Ok(MasterSignals {
            poll,
            events: Events::with_capacity(WATCHED.len()),
            watches,
            unused,
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
        actions.extend(self.unused.take().into_iter().map(SignalAction::Ignore));
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
        for &id in &self.unused.ids {
            unregister(id);
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
            (Signal::SIGUSR2, Upgrade),
            (Signal::SIGWINCH, StopWorkers),
            (Signal::SIGUSR1, ReopenLogs),
        ];
        for (signal, action) in table {
            assert_eq!(action_for(signal), Some(action), "{signal}");
        }
        assert_eq!(action_for(Signal::SIGALRM), None);
    }

    /// The unused set holds the operators' habits and no signal with a job or a fault.
    #[test]
    fn unused_signals_exclude_handled_and_fault_signals() {
        let unused = unused_signals();
        for habit in [libc::SIGALRM, libc::SIGPWR, libc::SIGRTMIN()] {
            assert!(unused.contains(&habit), "{}", signal_name(habit));
        }
        let kept = WATCHED.iter().map(|&s| s as libc::c_int);
        let faults = [
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGILL,
            libc::SIGFPE,
            libc::SIGPIPE,
        ];
        for signal in kept.chain(faults) {
            assert!(!unused.contains(&signal), "{}", signal_name(signal));
        }
        assert_eq!(signal_name(libc::SIGRTMIN() + 3), "SIGRTMIN+3");
        assert_eq!(signal_name(libc::SIGUSR2), "SIGUSR2");
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
