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
            prefork::say!("prefork: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let code = match Master::run(config) {
        Ok(code) => code,
        Err(e) => {
            let code = e.exit_code();
            // `{:#}` prints the whole cause chain on one line: "cannot listen on …: Address in use".
            prefork::say!("prefork: error: {:#}", anyhow::Error::from(e));
            prefork::say!(
                "prefork: master pid {} exiting with status {code}",
                std::process::id()
            );
            code
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
