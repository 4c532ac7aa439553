//! The whole bench as a runbook: decide which systems can run, run the seed rounds,
//! pick each system's best run mode, run the saturation rounds, and collect one
//! [`CellResult`] per cell (skipped and failed cells included).

use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::cell::{self, Cell};
use crate::cli::Config;
use crate::run::{self, Ctx, RunRecord};
use crate::system::{System, Variant};

/// How a cell ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Measured, rows matched the 201s.
    Ok,
    /// A run failed (server did not start, loadgen failed, or the count check failed).
    Fail,
    /// Not run: the system is unavailable or left out.
    Skipped,
}

/// A cell and what happened to it.
#[derive(Clone, Debug, Serialize)]
pub struct CellResult {
    /// What was measured.
    pub cell: Cell,
    /// How it ended.
    pub status: Status,
    /// Why it failed or was skipped.
    pub note: Option<String>,
    /// The runs made (`--repeat`), failed ones included.
    pub runs: Vec<RunRecord>,
}

impl CellResult {
    /// Median requests per second of the runs (None if none ran).
    pub fn median_rps(&self) -> Option<f64> {
        crate::summary::median(self.runs.iter().map(|r| r.rps))
    }
}

/// All results, and whether Ctrl-C cut the bench short.
pub struct Outcome {
    /// One per cell, in run order.
    pub results: Vec<CellResult>,
    /// Ctrl-C/SIGTERM arrived.
    pub interrupted: bool,
}

/// Runs every selected cell of `cfg`.
pub fn run(cfg: &Config, ctx: &mut Ctx, interrupted: &AtomicBool) -> Outcome {
    let mut bench = Bench {
        cfg,
        results: Vec::new(),
        done: 0,
        total: planned_cells(cfg),
    };
    let systems: Vec<System> = System::ALL
        .into_iter()
        .filter(|&s| cfg.filter.systems.is_empty() || cfg.filter.systems.contains(&s))
        .collect();
    for &system in &systems {
        for cell in cell::seed_cells(system, cfg.quick, cfg.seed) {
            bench.cell(ctx, cell);
        }
    }
    for &system in &systems {
        let variant = bench.best_variant(system);
        for cell in cell::saturation_cells(variant, cfg.saturation, cfg.nginx) {
            bench.cell(ctx, cell);
        }
    }
    bench.cell(ctx, cell::ceiling_cell(cfg.saturation));
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
    /// Runs (or skips) one cell `--repeat` times and records it.
    fn cell(&mut self, ctx: &mut Ctx, cell: Cell) {
        if !self.cfg.filter.selects(cell.system(), &cell.tags()) {
            return;
        }
        self.done += 1;
        let head = format!("bench: [{}/{}] {}", self.done, self.total, cell.describe());
        if ctx.interrupted.load(Ordering::Relaxed) {
            return;
        }
        if let Some(reason) = self.skip_reason(ctx, cell.system()) {
            eprintln!("{head}: skipped ({reason})");
            return self.push(cell, Status::Skipped, Some(reason), vec![]);
        }
        let mut runs = Vec::new();
        for rep in 1..=self.cfg.repeat {
            eprintln!("{head}{} …", repeat_tag(rep, self.cfg.repeat));
            match run::run_once(ctx, &cell, rep) {
                Ok(record) => {
                    eprintln!("{}", progress_line(&record));
                    let failure = record.failure.clone();
                    runs.push(record);
                    if let Some(why) = failure {
                        eprintln!("bench: FAIL {}: {why}", cell.describe());
                        return self.push(cell, Status::Fail, Some(why), runs);
                    }
                }
                Err(e) if e.is_interrupt() => return,
                Err(e) => {
                    eprintln!("bench: FAIL {}: {e}", cell.describe());
                    return self.push(cell, Status::Fail, Some(e.to_string()), runs);
                }
            }
        }
        self.push(cell, Status::Ok, None, runs);
    }

    fn push(&mut self, cell: Cell, status: Status, note: Option<String>, runs: Vec<RunRecord>) {
        self.results.push(CellResult {
            cell,
            status,
            note,
            runs,
        });
    }

    fn skip_reason(&self, ctx: &Ctx, system: System) -> Option<String> {
        if system.is_peer() && !self.cfg.peers {
            return Some("--no-peers".into());
        }
        system.unavailable(&ctx.env)
    }

    /// The system's seed cell with the highest median rate, or round 2's run mode when
    /// none ran (`--only saturation`) — `--quick` runs round 2 anyway.
    fn best_variant(&self, system: System) -> Variant {
        self.results
            .iter()
            .filter(|r| r.cell.system() == system && r.cell.is_seed() && r.status == Status::Ok)
            .filter_map(|r| Some((r.median_rps()?, r.cell.variant)))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map_or_else(|| cell::quick_variant(system), |(_, v)| v)
    }
}

/// How many cells `cfg` selects (for the `[i/n]` progress counter).
fn planned_cells(cfg: &Config) -> usize {
    System::ALL
        .into_iter()
        .flat_map(|s| {
            let mut cells = cell::seed_cells(s, cfg.quick, cfg.seed);
            let variant = cell::quick_variant(s);
            cells.extend(cell::saturation_cells(variant, cfg.saturation, cfg.nginx));
            cells
        })
        .chain([cell::ceiling_cell(cfg.saturation)])
        .filter(|c| cfg.filter.selects(c.system(), &c.tags()))
        .count()
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
    format!(
        "bench:   {:.0} req/s, {} requests in {:.2} s, p50 {:.2} ms, p99 {:.2} ms, {} rows{errors}",
        r.rps, r.requests, r.elapsed_s, r.latency_ms.p50, r.latency_ms.p99, r.rows
    )
}
