//! `pgtmp`: start, stop or locate a private PostgreSQL cluster (for scripts).
//!
//! `pgtmp start [DIR]` leaves the server running and prints its URL on stdout, so a
//! script can `url=$(pgtmp start DIR)` and later `pgtmp stop DIR`. Without DIR (and
//! without `$PREFORK_DATA_DIR`): the cluster prefork uses by default,
//! [`pgtmp::default_dir`].

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use pgtmp::Cluster;

/// Manage a private PostgreSQL cluster on a Unix socket.
///
/// DIR defaults to $PREFORK_DATA_DIR, else to the cluster prefork uses without
/// --database-url: as root /var/lib/prefork/pg, otherwise $XDG_DATA_HOME/prefork/pg or
/// ~/.local/share/prefork/pg (./prefork-data/pg without a home directory).
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create (if needed) and start the cluster, print its URL; it keeps running.
    Start {
        /// Cluster directory. Default: the one prefork uses without --database-url (pgtmp --help says where)
        #[arg(env = "PREFORK_DATA_DIR")]
        dir: Option<PathBuf>,
    },
    /// Stop the cluster if it is running.
    Stop {
        /// Cluster directory. Default: the one prefork uses without --database-url (pgtmp --help says where)
        #[arg(env = "PREFORK_DATA_DIR")]
        dir: Option<PathBuf>,
    },
    /// Print the cluster's URL (whether or not it is running).
    Url {
        /// Cluster directory. Default: the one prefork uses without --database-url (pgtmp --help says where)
        #[arg(env = "PREFORK_DATA_DIR")]
        dir: Option<PathBuf>,
    },
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}`: the whole cause chain on one line, without a backtrace.
            eprintln!("pgtmp: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(command: Cmd) -> anyhow::Result<()> {
    match command {
        Cmd::Start { dir } => {
            let dir = dir.unwrap_or_else(pgtmp::default_dir);
            let cluster = Cluster::ensure(&dir)
                .with_context(|| format!("cannot start the cluster in {}", dir.display()))?;
            let reused = !cluster.started_here();
            let url = cluster.keep();
            eprintln!(
                "pgtmp: {} {url}",
                if reused {
                    "already running:"
                } else {
                    "started:"
                }
            );
            println!("{url}");
        }
        Cmd::Stop { dir } => {
            let dir = dir.unwrap_or_else(pgtmp::default_dir);
            let mut cluster = Cluster::open(&dir)?;
            let running = cluster.is_running()?;
            cluster
                .stop()
                .with_context(|| format!("cannot stop the cluster in {}", dir.display()))?;
            eprintln!(
                "pgtmp: {} {}",
                if running { "stopped" } else { "not running:" },
                dir.display()
            );
        }
        Cmd::Url { dir } => println!(
            "{}",
            pgtmp::url_for(&dir.unwrap_or_else(pgtmp::default_dir))
        ),
    }
    Ok(())
}
