//! The whole bench as a runbook: decide which systems can run, run the seed rounds,
//! pick each system's best run mode, run the saturation rounds, and collect one
//! [`CellResult`] per cell (skipped and failed cells included).

use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::cell::{self, Cell, Section};
use crate::cli::Config;
use crate::run::{self, Ctx, RunRecord};
use crate::sections;
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

/// Runs every selected cell of `cfg`: the published seed rounds, the accept comparison's
/// seed cells, the pgbench ceiling, `--batch 1` vs group commit, the accept comparison's
/// keep-alive cells, then each system's saturation at its best seed mode.
pub fn run(cfg: &Config, ctx: &mut Ctx, interrupted: &AtomicBool) -> Outcome {
    // Until the seed rounds have run, round 2 stands in for every system's best mode.
    let guess: Vec<Cell> = first_stage(cfg)
        .into_iter()
        .chain(second_stage(cfg, &cell::quick_variant))
        .collect();
    let mut bench = Bench {
        cfg,
        results: Vec::new(),
        done: 0,
        total: planned(cfg, guess).len(),
    };
    for cell in first_stage(cfg) {
        bench.cell(ctx, cell);
    }
    let second = second_stage(cfg, &|s| best_variant(&bench.results, s));
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

/// The system's published-round seed cell with the highest median rate, or round 2's
/// run mode when none ran (`--only saturation`) — `--quick` runs round 2 anyway.
pub fn best_variant(results: &[CellResult], system: System) -> Variant {
    results
        .iter()
        .filter(|r| r.cell.system() == system && r.cell.is_seed() && r.status == Status::Ok)
        .filter(|r| r.cell.section == Section::Rounds)
        .filter_map(|r| Some((r.median_rps()?, r.cell.variant)))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map_or_else(|| cell::quick_variant(system), |(_, v)| v)
}

/// The systems `--only` keeps (pgbench is the ceiling cell, not a column).
fn systems(cfg: &Config) -> Vec<System> {
    System::ALL
        .into_iter()
        .filter(|&s| cfg.filter.systems.is_empty() || cfg.filter.systems.contains(&s))
        .collect()
}

/// The cells that do not depend on measured results.
fn first_stage(cfg: &Config) -> Vec<Cell> {
    let mut cells: Vec<Cell> = systems(cfg)
        .into_iter()
        .flat_map(|s| cell::seed_cells(s, cfg.quick, cfg.seed))
        .collect();
    cells.extend(sections::accept_seed_cells(cfg.quick, cfg.seed));
    cells.push(cell::ceiling_cell(cfg.saturation));
    cells.extend(sections::group_commit_cells(cfg.quick, cfg.saturation));
    cells.extend(sections::accept_saturation_cells(cfg.quick, cfg.saturation));
    cells
}

/// Each system's saturation cells at its best seed mode (`best`).
fn second_stage(cfg: &Config, best: &dyn Fn(System) -> Variant) -> Vec<Cell> {
    systems(cfg)
        .into_iter()
        .flat_map(|s| cell::saturation_cells(best(s), cfg.saturation, cfg.nginx))
        .collect()
}

/// The selected cells of `cells`, each measurement once.
fn planned(cfg: &Config, cells: Vec<Cell>) -> Vec<Cell> {
    let mut out: Vec<Cell> = Vec::new();
    for c in cells {
        if cfg.filter.selects(c.system(), &c.tags()) && !out.iter().any(|o| o.same_measurement(&c))
        {
            out.push(c);
        }
    }
    out
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
        planned(self.cfg, fresh).len()
    }

    /// Whether a cell measuring the same thing is already in the results.
    fn measured(&self, cell: &Cell) -> bool {
        self.results.iter().any(|r| r.cell.same_measurement(cell))
    }

    /// Runs (or skips) one cell `--repeat` times and records it; a measurement another
    /// section already made is not repeated.
    fn cell(&mut self, ctx: &mut Ctx, cell: Cell) {
        if !self.cfg.filter.selects(cell.system(), &cell.tags()) || self.measured(&cell) {
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
    format!(
        "bench:   {:.0} req/s answered, {} requests in {:.2} s, p50 {:.2} ms, p99 {:.2} ms, {} rows{errors}{workers}",
        r.rps, r.requests, r.elapsed_s, r.latency_ms.p50, r.latency_ms.p99, r.rows
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn config(args: &[&str]) -> Config {
        let mut all = vec!["prefork-bench"];
        all.extend(args);
        Config::from_cli(crate::cli::Cli::parse_from(all)).unwrap()
    }

    fn plan(cfg: &Config) -> Vec<String> {
        let cells = first_stage(cfg)
            .into_iter()
            .chain(second_stage(cfg, &cell::quick_variant))
            .collect();
        planned(cfg, cells).iter().map(Cell::key).collect()
    }

    /// `--quick` covers the acceptance rows, each measurement once, peers and nginx included.
    #[test]
    fn quick_plan() {
        let keys = plan(&config(&["--quick"]));
        assert_eq!(
            keys,
            [
                "seed-evloop-2",
                "seed-threads-2",
                "seed-pm2-cluster-2",
                "seed-sync-2",
                "seed-evloop-2-shared",
                "sat-direct-pgbench",
                "sat-direct-threads-2-t32-b1",
                "sat-direct-evloop-2",
                "sat-direct-evloop-2-shared",
                "sat-nginx-evloop-2",
                "sat-direct-threads-2",
                "sat-nginx-threads-2",
                "sat-direct-pm2-cluster-2",
                "sat-nginx-pm2-cluster-2",
                "sat-direct-sync-2",
                "sat-nginx-sync-2",
            ]
        );
    }

    /// The full plan: 18 published seed cells, the accept pairs, the ceiling, eight
    /// group-commit rows and the per-system saturation cells, shared cells once.
    #[test]
    fn full_plan() {
        let keys = plan(&config(&["--no-nginx"]));
        assert_eq!(keys.len(), 18 + 2 + 1 + 8 + 2 + 2);
        assert_eq!(
            keys[18..21],
            [
                "seed-evloop-4",
                "seed-evloop-4-shared",
                "sat-direct-pgbench"
            ]
        );
        let only = plan(&config(&["--only", "accept"]));
        assert_eq!(
            only,
            [
                "seed-evloop-4",
                "seed-evloop-4-shared",
                "sat-direct-evloop-4",
                "sat-direct-evloop-4-shared",
            ]
        );
    }
}
