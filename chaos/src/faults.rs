//! The faults: what each kind does, and the injector that runs a plan against the
//! clock while watching the master. Faults run one at a time: one that is late (the
//! previous one took long, as a restart does) runs as soon as the previous ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::kind::FaultKind;
use crate::pg::Pg;
use crate::schedule::{Planned, Rng};
use crate::server::Server;

/// How often the injector looks at the clock and the master between faults.
const POLL: Duration = Duration::from_millis(10);
/// Shortest and longest PostgreSQL stall.
const STALL: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(2));

/// One injected fault.
#[derive(Clone, Debug)]
pub struct FaultRecord {
    /// What was done.
    pub kind: FaultKind,
    /// Whom it hit, or why it could not be done.
    pub detail: String,
    /// Whether it was carried out.
    pub done: bool,
    /// When it began, from the start of the load.
    pub start: Duration,
    /// When it was over (the signal sent; PostgreSQL accepting connections again;
    /// the stalled processes continued), from the start of the load.
    pub end: Duration,
}

/// How the fault phase ended.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Every fault injected, in order.
    pub faults: Vec<FaultRecord>,
    /// Planned faults that the run ended before.
    pub not_run: usize,
    /// When the master was seen to have exited, from the start of the load.
    pub master_died: Option<Duration>,
    /// Ctrl-C (or SIGTERM) ended the run early.
    pub interrupted: bool,
}

/// Injects faults into one prefork and its database.
pub struct Injector<'a> {
    /// The prefork under test.
    pub server: &'a mut Server,
    /// Its database.
    pub pg: &'a mut Pg,
    /// Picks victims and stall lengths.
    pub rng: Rng,
}

impl Injector<'_> {
    /// Runs `plan` (times from `t0`) until `deadline`, the master's death or an interrupt.
    pub fn run(
        &mut self,
        plan: &[Planned],
        t0: Instant,
        deadline: Instant,
        interrupted: &AtomicBool,
    ) -> Outcome {
        let mut out = Outcome::default();
        let mut next = plan.iter().peekable();
        while Instant::now() < deadline {
            if interrupted.load(Ordering::Relaxed) {
                out.interrupted = true;
                break;
            }
            if self.server.exit_status().is_some() {
                out.master_died = Some(t0.elapsed());
                break;
            }
            match next.peek() {
                Some(p) if t0 + p.at <= Instant::now() => {
                    out.faults.push(self.inject(p.kind, t0));
                    next.next();
                }
                _ => std::thread::sleep(POLL),
            }
        }
        out.not_run = next.count();
        out
    }

    /// Does one fault now.
    fn inject(&mut self, kind: FaultKind, t0: Instant) -> FaultRecord {
        let start = t0.elapsed();
        let result = match kind {
            FaultKind::Kill => self.kill_worker(),
            FaultKind::Hup => self.signal_master(Signal::SIGHUP),
            FaultKind::Ttin => self.signal_master(Signal::SIGTTIN),
            FaultKind::Ttou => self.signal_master(Signal::SIGTTOU),
            FaultKind::PgRestart => self.pg.restart().map_err(|e| e.to_string()),
            FaultKind::PgStall => {
                let length = self.rng.between(STALL.0, STALL.1);
                self.pg.stall(length).map_err(|e| e.to_string())
            }
        };
        FaultRecord {
            kind,
            done: result.is_ok(),
            detail: result.unwrap_or_else(|e| format!("not done: {e}")),
            start,
            end: t0.elapsed(),
        }
    }

    fn kill_worker(&mut self) -> Result<String, String> {
        let workers = self.server.workers();
        if workers.is_empty() {
            return Err("no worker running".into());
        }
        let pid = workers[self.rng.below(workers.len())];
        kill(Pid::from_raw(pid as i32), Signal::SIGKILL).map_err(|e| format!("kill {pid}: {e}"))?;
        Ok(format!("worker pid {pid} (of {})", workers.len()))
    }

    fn signal_master(&mut self, signal: Signal) -> Result<String, String> {
        let pid = self.server.pid();
        let workers = self.server.workers().len();
        self.server
            .signal(signal)
            .map_err(|e| format!("{signal} to {pid}: {e}"))?;
        Ok(format!(
            "{signal} to master {pid} ({workers} workers before)"
        ))
    }
}
