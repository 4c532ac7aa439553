//! `prefork-bench`: the experiment's rounds on this machine. `bin/bench` installs and
//! builds what is missing, then runs this with its arguments.
//!
//! # Layout
//! - [`model`]: plain data — systems, run modes, loads, cells, runs, results (a leaf).
//! - [`cli`]: the flags, validated once into a [`cli::Config`].
//! - [`plan`]: the matrix as data: one spec per cell, `--quick`'s and the full bench's.
//! - [`targets`]: the acceptance bars and published figures of `benches/targets.toml`.
//! - [`launch`]: each server's command line; the programs the bench looks for.
//! - [`server`]: start a server in its own process group, wait until ready, stop its tree.
//! - [`nginx`]: nginx from the top-level `nginx.conf`, in front of a backend or alone.
//! - [`net`]: free ports below the ephemeral range, the readiness probe.
//! - [`procs`]: process trees from `/proc`: peak RSS, CPU time.
//! - [`pgbench`]: the ceiling rows: PostgreSQL's `pgbench` running the same INSERT.
//! - [`db`]: truncate the table, count its rows.
//! - [`stats`]: prefork's `GET /stats` per-worker counters, their difference and spread.
//! - [`loadgen`]: run `loadgen --report json`, read its report.
//! - [`ctx`]: what every run needs from the bench.
//! - [`run`]: one run of one cell, ending with the rows-versus-201s check.
//! - [`bench`]: the runbook over all cells.
//! - [`summary`]: a cell's runs condensed (medians, spread, peaks).
//! - [`picks`]: the cells that stand for a kind of run mode (fastest, shortest).
//! - [`verdict`]: the acceptance points, pass or fail.
//! - [`report`], [`results_json`], [`svg`]: markdown, results.json, the chart.
//! - [`machine`]: the machine and date the numbers belong to.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bench;
mod cli;
mod ctx;
mod db;
mod launch;
mod loadgen;
mod machine;
mod model;
mod net;
mod nginx;
mod pgbench;
mod picks;
mod plan;
mod procs;
mod report;
mod results_json;
mod run;
mod server;
mod stats;
mod summary;
mod svg;
mod targets;
mod verdict;

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use pgtmp::Cluster;

use crate::bench::Outcome;
use crate::cli::{Cli, Config};
use crate::machine::Machine;
use crate::model::Status;

fn main() -> ExitCode {
    let cfg = match Config::from_cli(Cli::parse()) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("prefork-bench: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&cfg) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("prefork-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Starts PostgreSQL, runs every cell, stops PostgreSQL, writes the results.
fn run(cfg: &Config) -> anyhow::Result<ExitCode> {
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(signal, interrupted.clone())?;
    }
    let paths = &cfg.paths;
    let loadgen = paths.bin_dir.join("loadgen");
    anyhow::ensure!(
        loadgen.exists(),
        "{} not found: run bin/setup (cargo build --release --workspace)",
        loadgen.display()
    );
    std::fs::create_dir_all(paths.out.join("logs"))
        .with_context(|| format!("create {}", paths.out.display()))?;
    let machine = Machine::detect();
    eprintln!("bench: {} — {}", machine.summary(), machine.date);
    eprintln!("bench: private PostgreSQL in {}", paths.pg_dir.display());
    let mut cluster = Cluster::ensure(&paths.pg_dir).context("private PostgreSQL")?;
    let outcome = measure(cfg, &cluster, loadgen, &interrupted);
    // Stopped even when we reused a running one: the bench's cluster is the bench's.
    if let Err(e) = cluster.stop() {
        eprintln!("bench: could not stop PostgreSQL: {e}");
    }
    let outcome = outcome?;
    write_results(cfg, &machine, &outcome)?;
    let failed = outcome
        .results
        .iter()
        .filter(|r| r.status == Status::Fail)
        .count();
    Ok(if outcome.interrupted {
        eprintln!("bench: interrupted; the results above are partial");
        ExitCode::from(130)
    } else if failed > 0 {
        eprintln!("bench: {failed} cell(s) FAILED (see the tables and the logs)");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs the cells against the started cluster.
fn measure(
    cfg: &Config,
    cluster: &Cluster,
    loadgen: std::path::PathBuf,
    interrupted: &AtomicBool,
) -> anyhow::Result<Outcome> {
    let paths = &cfg.paths;
    let url = cluster.url();
    let mut db = db::Db::connect(&url)?;
    let pm2_home = paths.out.join("pm2");
    let mut ctx = ctx::Ctx {
        env: launch::Env {
            root: &paths.root,
            bin_dir: &paths.bin_dir,
            pg_dir: cluster.dir(),
            db_url: &url,
            pm2_home: &pm2_home,
            knobs: cfg.knobs,
        },
        db: &mut db,
        pg_pid: postmaster_pid(cluster.dir()),
        loadgen,
        out: paths.out.clone(),
        interrupted,
    };
    Ok(bench::run(cfg, &mut ctx, interrupted))
}

/// The first line of `postmaster.pid`.
fn postmaster_pid(dir: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(dir.join("postmaster.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}

/// Markdown on stdout, `results.json` and `results.svg` in the output directory.
fn write_results(cfg: &Config, machine: &Machine, outcome: &Outcome) -> anyhow::Result<()> {
    let results = &outcome.results;
    print!("{}", report::markdown(results, machine, cfg));
    let json = results_json::results_json(results, machine, cfg, outcome.interrupted);
    let json_path = cfg.paths.out.join("results.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&json)? + "\n")
        .with_context(|| format!("write {}", json_path.display()))?;
    let svg_path = cfg.paths.out.join("results.svg");
    std::fs::write(&svg_path, svg::chart(results, machine, cfg))
        .with_context(|| format!("write {}", svg_path.display()))?;
    eprintln!(
        "bench: wrote {} and {}",
        json_path.display(),
        svg_path.display()
    );
    Ok(())
}
