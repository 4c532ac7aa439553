//! The whole bench as a runbook: run the first stage of the matrix (`plan.rs`), pick
//! each system's best seed-round mode, run the second stage, and collect one
//! [`CellResult`] per cell (skipped and failed cells included).

use std::sync::atomic::{AtomicBool, Ordering};

use crate::cli::Config;
use crate::ctx::Ctx;
use crate::launch;
use crate::model::{Cell, CellResult, RunRecord, Status, Variant};
use crate::pgbench;
use crate::plan;
use crate::run::{self};

/// All results, and whether Ctrl-C cut the bench short.
pub struct Outcome {
    /// One per cell, in run order.
    pub results: Vec<CellResult>,
    /// Ctrl-C/SIGTERM arrived.
    pub interrupted: bool,
}

/// Runs every selected cell of `cfg`, in the matrix's order.
pub fn run(cfg: &Config, ctx: &mut Ctx, interrupted: &AtomicBool) -> Outcome {
    // Until the seed rounds have run, round 2 stands in for every system's best mode.
    let guess: Vec<Cell> = plan::first_stage(cfg)
        .into_iter()
        .chain(plan::second_stage(cfg, &plan::quick_variant))
        .collect();
    let mut bench = Bench {
        cfg,
        results: Vec::new(),
        done: 0,
        total: plan::planned(cfg, guess).len(),
    };
    for cell in plan::first_stage(cfg) {
        bench.cell(ctx, cell);
    }
    let second = plan::second_stage(cfg, &|s| plan::best_variant(&bench.results, s));
    // The progress counter's total, now that the best modes are known.
    bench.total = bench.done + bench.remaining(&second);
    for cell in second {
        bench.cell(ctx, cell);
    }
    Outcome {
        results: bench.results,
        interrupted: interrupted.load(Ordering::Relaxed),
    }
}

struct Bench<'c> {
    cfg: &'c Config,
    results: Vec<CellResult>,
    done: usize,
    total: usize,
}

impl Bench<'_> {
    /// How many of `cells` are selected and not measured yet.
    fn remaining(&self, cells: &[Cell]) -> usize {
        let fresh: Vec<Cell> = cells
            .iter()
            .filter(|c| !self.measured(c))
            .copied()
            .collect();
        plan::planned(self.cfg, fresh).len()
    }

    /// Whether a cell measuring the same thing is already in the results.
    fn measured(&self, cell: &Cell) -> bool {
        self.results.iter().any(|r| r.cell.same_measurement(cell))
    }

    /// Runs (or skips) one cell `--repeat` times and records it — together with its
    /// access-log partner ([`plan::access_log_partner`]), taking turns run by run, when
    /// the plan pairs one with it; a measurement another section already made is not
    /// repeated.
    fn cell(&mut self, ctx: &mut Ctx, cell: Cell) {
        if !self.cfg.filter.selects(cell.system(), &cell.tags()) || self.measured(&cell) {
            return;
        }
        let partner = plan::access_log_partner(self.cfg, &cell).filter(|p| !self.measured(p));
        let mut group = Vec::new();
        for cell in std::iter::once(cell).chain(partner) {
            self.done += 1;
            let head = format!("bench: [{}/{}] {}", self.done, self.total, cell.describe());
            if ctx.interrupted.load(Ordering::Relaxed) {
                return;
            }
            match self.skip_reason(ctx, &cell.variant) {
                Some(reason) => {
                    eprintln!("{head}: skipped ({reason})");
                    self.push(cell, Status::Skipped, Some(reason), vec![]);
                }
                None => group.push(Measuring::new(cell, head)),
            }
        }
        if self.measure(ctx, &mut group).is_err() {
            return;
        }
        for m in group {
            let status = if m.failed.is_some() {
                Status::Fail
            } else {
                Status::Ok
            };
            self.push(m.cell, status, m.failed, m.runs);
        }
    }

    /// Runs every cell of `group` `--repeat` times, one run of each in turn (so the runs
    /// of a pair are made back to back), in the opposite order every other repetition
    /// (A B, B A, A B …): whichever side runs first in a session (a colder database, a
    /// quieter neighbour) does not always favour the same side. Err on Ctrl-C.
    fn measure(&self, ctx: &mut Ctx, group: &mut [Measuring]) -> Result<(), Interrupted> {
        for rep in 1..=self.cfg.repeat {
            if rep % 2 == 0 {
                for m in group.iter_mut().rev() {
                    m.run(ctx, rep, self.cfg.repeat)?;
                }
            } else {
                for m in group.iter_mut() {
                    m.run(ctx, rep, self.cfg.repeat)?;
                }
            }
        }
        Ok(())
    }

    fn push(&mut self, cell: Cell, status: Status, note: Option<String>, runs: Vec<RunRecord>) {
        self.results.push(CellResult {
            cell,
            status,
            note,
            runs,
        });
    }

    fn skip_reason(&self, ctx: &Ctx, variant: &Variant) -> Option<String> {
        if variant.system().is_peer() && !self.cfg.peers {
            return Some("--no-peers".into());
        }
        match variant {
            Variant::Pgbench => pgbench::find().err().map(|e| e.to_string()),
            _ => launch::unavailable(variant, &ctx.env),
        }
    }
}

/// Ctrl-C arrived during a run.
struct Interrupted;

/// A cell being measured: its progress heading, its runs so far, and why it failed if
/// it did (a failed cell runs no more).
struct Measuring {
    /// What is measured.
    cell: Cell,
    /// `bench: [3/8] prefork evloop …`, printed before each run.
    head: String,
    /// Its runs so far, failed ones included.
    runs: Vec<RunRecord>,
    /// Why it failed, if it did.
    failed: Option<String>,
}

impl Measuring {
    /// `cell`, with no run yet.
    fn new(cell: Cell, head: String) -> Measuring {
        Measuring {
            cell,
            head,
            runs: Vec::new(),
            failed: None,
        }
    }

    /// Its run `rep` of `of`, unless it has failed already; Err on Ctrl-C.
    fn run(&mut self, ctx: &mut Ctx, rep: usize, of: usize) -> Result<(), Interrupted> {
        if self.failed.is_some() {
            return Ok(());
        }
        eprintln!("{}{} …", self.head, repeat_tag(rep, of));
        match run::run_once(ctx, &self.cell, rep) {
            Ok(record) => {
                eprintln!("{}", progress_line(&record));
                self.failed = record.failure.clone();
                self.runs.push(record);
            }
            Err(e) if e.is_interrupt() => return Err(Interrupted),
            Err(e) => self.failed = Some(e.to_string()),
        }
        if let Some(why) = &self.failed {
            eprintln!("bench: FAIL {}: {why}", self.cell.describe());
        }
        Ok(())
    }
}

fn repeat_tag(rep: usize, of: usize) -> String {
    if of == 1 {
        String::new()
    } else {
        format!(" (run {rep}/{of})")
    }
}

fn progress_line(r: &RunRecord) -> String {
    let errors = if r.error_total == 0 {
        String::new()
    } else {
        format!(", {} errors", r.error_total)
    };
    let workers = match (&r.balance, &r.stats_error) {
        (Some(b), _) => format!(
            "; /stats: {} workers, requests {}, mean batch {:.1}",
            b.workers,
            b.requests.map_or("—".into(), |s| format!(
                "{:.0}–{:.0}%",
                s.min_share * 100.0,
                s.max_share * 100.0
            )),
            b.mean_batch
        ),
        (None, Some(e)) => format!("; {e}"),
        (None, None) => String::new(),
    };
    let access_log = r.access_log.map_or(String::new(), |a| {
        format!(
            "; access log: {} lines ({} bytes) for {} answered",
            a.lines, a.bytes, a.answered
        )
    });
    format!(
        "bench:   {:.0} req/s answered, {} requests in {:.2} s, p50 {:.2} ms, p99 {:.2} ms, {} rows{errors}{workers}{access_log}",
        r.rps, r.requests, r.elapsed_s, r.latency_ms.p50, r.latency_ms.p99, r.rows
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Repeated runs are numbered; a single run is not.
    #[test]
    fn repeat_tags() {
        assert_eq!(repeat_tag(1, 1), "");
        assert_eq!(repeat_tag(2, 3), " (run 2/3)");
    }
}
