//! `prefork`: parse the command line, run the master, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use prefork::config::{Cli, Config};
use prefork::master::Master;

/// Exit code for a command line that parsed but does not make sense.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let config = match Config::from_cli(Cli::parse()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("prefork: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match Master::run(config).map_err(anyhow::Error::from) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            // `{:#}` prints the whole cause chain on one line: "cannot listen on …: Address in use".
            eprintln!("prefork: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
