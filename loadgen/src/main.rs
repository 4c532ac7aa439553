//! `loadgen`: parse, run, print, exit code (0 ok, 1 errors counted, 2 usage error).
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use loadgen::cli::{Cli, ReportFormat};
use loadgen::config::Config;
use loadgen::report::Report;

fn main() -> ExitCode {
    // clap prints usage errors itself and exits with 2.
    let config = match Config::from_cli(Cli::parse()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::from(2);
        }
    };
    let summary = match loadgen::run::run(&config) {
        Ok(summary) => summary,
        Err(e) => {
            eprintln!("loadgen: cannot run: {e}");
            return ExitCode::from(1);
        }
    };
    let report = Report::new(&config, &summary);
    match config.report {
        ReportFormat::Text => print!("{}", report.text()),
        ReportFormat::Json => println!("{}", report.json()),
    }
    if report.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
