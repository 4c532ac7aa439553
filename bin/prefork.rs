//! `prefork`: parse the command line (and its `--config` file), run the master (or,
//! with `--check-config`, print the effective configuration), map the outcome to an
//! exit code.

use std::process::ExitCode;

use prefork::config::Config;
use prefork::config_file::{self, LoadError};
use prefork::master::Master;

/// Exit code for a command line that parsed but does not make sense.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let loaded = match config_file::load(std::env::args_os()) {
        Ok(loaded) => loaded,
        Err(LoadError::Args(e)) => e.exit(),
        Err(LoadError::File(e)) => {
            prefork::say!("prefork: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let check_only = loaded.cli.check_config;
    let file = loaded.cli.config.clone();
    let config = match Config::from_cli(loaded.cli) {
        Ok(config) => config,
        Err(e) => {
            prefork::say!("prefork: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if check_only {
        print!(
            "{}",
            config_file::render(&config, &loaded.sources, file.as_deref())
        );
        prefork::say!("prefork: the configuration is valid (nothing was started)");
        return ExitCode::SUCCESS;
    }
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
