//! `prefork-chaos` (`bin/chaos`): prefork under keep-alive write load while its workers
//! are killed, its master is signalled and its PostgreSQL restarts or stalls; then every
//! `201` is checked against the database.
//!
//! # Layout
//! - [`cli`]: the command line, validated into [`cli::Settings`].
//! - [`schedule`]: when which fault happens (seeded), and the `acceptance` preset.
//! - [`kind`]: the kinds of fault.
//! - [`faults`]: injecting one fault, and running a schedule against the clock.
//! - [`server`]: the prefork process: start, readiness, workers, signals, stop.
//! - [`pg`]: the throwaway PostgreSQL cluster: restart and stall.
//! - [`clients`]: the keep-alive writers and their per-request bookkeeping.
//! - [`wire`]: one HTTP/1.1 keep-alive connection (a form POST out, a response in).
//! - [`verify`]: every acknowledged write looked up in the database.
//! - [`report`]: the summary, as markdown tables or JSON, and the verdict.
//! - [`run`]: the whole run, cleanup on every path.
//! - [`procs`]: children of a process, from `/proc`.
#![forbid(unsafe_code)]

mod cli;
mod clients;
mod faults;
mod kind;
mod pg;
mod procs;
mod report;
mod run;
mod schedule;
mod server;
mod verify;
mod wire;

use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::Parser;

/// Exit status when the run could not be carried out (no PostgreSQL, prefork did not
/// start, …); a failed verdict exits with 1, a bad command line with clap's 2.
const EXIT_NOT_RUN: u8 = 3;

fn main() -> ExitCode {
    let settings = match cli::Cli::parse().settings() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("prefork-chaos: {err}");
            return ExitCode::from(2);
        }
    };
    // Ctrl-C or SIGTERM ends the load early; cleanup and the report still happen.
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(err) = signal_hook::flag::register(signal, Arc::clone(&interrupted)) {
            eprintln!("prefork-chaos: cannot watch signal {signal}: {err}");
            return ExitCode::from(EXIT_NOT_RUN);
        }
    }
    match run::run(&settings, &interrupted) {
        Ok(summary) => {
            println!("{}", summary.render(settings.format));
            if summary.passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(err) => {
            eprintln!("prefork-chaos: {err}");
            ExitCode::from(EXIT_NOT_RUN)
        }
    }
}
