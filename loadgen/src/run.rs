//! One whole run: plan it, start the threads, show progress, merge their results.

use std::io::IsTerminal;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::config::{Config, StopWhen};
use crate::conn::Settings;
use crate::progress::ProgressLine;
use crate::request::RequestTemplate;
use crate::stats::Stats;
use crate::thread::{self, Outcome, Plan};

/// Merged results of every thread.
#[derive(Debug)]
pub struct Summary {
    /// All threads' counters.
    pub stats: Stats,
    /// Measured time: from the end of the warm-up to the last response (loops) or the
    /// end of the duration.
    pub elapsed: Duration,
}

/// Runs `config` to completion.
pub fn run(config: &Config) -> std::io::Result<Summary> {
    let start = Instant::now();
    let plan = plan(config, start);
    let progress = AtomicU64::new(0);
    let outcomes = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..config.threads)
            .map(|t| {
                let (plan, progress) = (&plan, &progress);
                let users = users_of(config.users, config.threads, t);
                std::thread::Builder::new()
                    .name(format!("loadgen-{t}"))
                    .spawn_scoped(scope, move || thread::run(plan, t, users, progress))
            })
            .collect::<Result<_, _>>()?;
        if std::io::stderr().is_terminal() {
            show_progress(config, &handles, &progress);
        }
        handles
            .into_iter()
            .map(|h| h.join().expect("a load thread panicked"))
            .collect::<std::io::Result<Vec<Outcome>>>()
    })?;
    Ok(merge(&plan, outcomes, start))
}

/// Turns the configuration into what the threads share.
fn plan(config: &Config, start: Instant) -> Plan {
    let record_from = start + config.warmup;
    let record_until = match config.stop {
        StopWhen::Duration(d) => Some(record_from + d),
        StopWhen::Loops(_) => None,
    };
    Plan {
        settings: Settings {
            addr: config.target.addr,
            mode: config.connection,
            linger0: config.linger0,
            expect: config.expect_status.clone(),
            record_from,
            record_until,
        },
        template: RequestTemplate::new(
            &config.request,
            &config.target.authority,
            config.connection,
        ),
        stop: config.stop,
        schedule: Plan::schedule(config.pacer, start, config.users),
        pipeline: config.pipeline as u64,
        timeout: config.timeout,
        seed: config.seed,
    }
}

/// Thread `t`'s share of the users: contiguous, sizes differing by at most one.
fn users_of(users: usize, threads: usize, t: usize) -> Range<usize> {
    (t * users / threads)..((t + 1) * users / threads)
}

fn merge(plan: &Plan, outcomes: Vec<Outcome>, start: Instant) -> Summary {
    let mut stats = Stats::new(plan.schedule.is_some());
    let mut last = start;
    for outcome in &outcomes {
        stats.merge(&outcome.stats);
        last = last.max(outcome.finished);
    }
    let from = plan.settings.record_from;
    let elapsed = match plan.settings.record_until {
        Some(until) => until - from,
        None => last.saturating_duration_since(from),
    };
    Summary { stats, elapsed }
}

/// Redraws the progress line until every thread is done, then erases it.
fn show_progress<T>(
    config: &Config,
    handles: &[std::thread::ScopedJoinHandle<T>],
    progress: &AtomicU64,
) {
    let total = match config.stop {
        StopWhen::Loops(loops) => Some(loops * config.users as u64),
        StopWhen::Duration(_) => None,
    };
    let mut line = ProgressLine::new(total, config.warmup);
    while !handles.iter().all(|h| h.is_finished()) {
        std::thread::sleep(Duration::from_millis(20));
        line.update(progress.load(Ordering::Relaxed));
    }
    line.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Users are split into contiguous, nearly equal ranges covering all of them.
    #[test]
    fn user_split() {
        let ranges: Vec<_> = (0..3).map(|t| users_of(10, 3, t)).collect();
        assert_eq!(ranges, vec![0..3, 3..6, 6..10]);
        assert_eq!(users_of(64, 2, 1), 32..64);
        assert_eq!(users_of(1, 1, 0), 0..1);
    }
}
