//! One whole run: a fresh PostgreSQL, prefork on a free port against it, the writers
//! and the fault injector for the planned time, then prefork stopped and every 201
//! checked. Every process started here is stopped on every path: prefork by its
//! `Drop` (process group), PostgreSQL by pgtmp's, stalled processes continued by the
//! stall's own guard.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use pgtmp::PgError;

use crate::cli::Settings;
use crate::clients::{self, ClientLog};
use crate::faults::{Injector, Outcome};
use crate::pg::Pg;
use crate::report::{Master, Summary};
use crate::schedule::Rng;
use crate::server::{Server, ServerError};
use crate::verify;

/// Why a run could not be carried out (as opposed to a run that failed its check).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The output directory could not be made.
    #[error("cannot create {dir}: {source}")]
    OutDir {
        /// The directory.
        dir: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The private cluster could not be made or started.
    #[error("private PostgreSQL: {0}")]
    Pg(#[from] PgError),
    /// prefork did not come up.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// The database could not be read after the load.
    #[error("cannot check the writes in the database: {0} (its data is kept in {1})")]
    Verify(postgres::Error, String),
}

/// Runs the whole scenario of `settings`; Ctrl-C (`interrupted`) ends the load early.
pub fn run(settings: &Settings, interrupted: &AtomicBool) -> Result<Summary, RunError> {
    std::fs::create_dir_all(&settings.out).map_err(|source| RunError::OutDir {
        dir: settings.out.display().to_string(),
        source,
    })?;
    say(&format!(
        "PostgreSQL: fresh cluster in {}",
        settings.pg_dir.display()
    ));
    let mut pg = Pg::fresh(&settings.pg_dir)?;
    let log = settings.out.join("prefork.log");
    let mut server = Server::start(&settings.prefork, &prefork_args(settings, &pg.url()), &log)?;
    let addr = server.wait_ready(interrupted)?;
    say(&format!(
        "prefork (pid {}) on {addr}: {:.1} s of load, {} clients, {}",
        server.pid(),
        settings.seconds.as_secs_f64(),
        settings.clients,
        settings.plan_label
    ));
    let (load, outcome) = load_with_faults(settings, &mut server, &mut pg, addr, interrupted);
    let master = master_state(&mut server, &outcome);
    server.stop();
    let verdict = match verify::verify(&pg.url(), &load.acks) {
        Ok(verdict) => verdict,
        Err(e) => {
            let _ = pg.keep_data();
            return Err(RunError::Verify(e, settings.pg_dir.display().to_string()));
        }
    };
    let summary = Summary::new(settings, &load, &outcome, verdict, master);
    if !summary.passed && pg.keep_data().is_ok() {
        say(&format!(
            "the database is kept in {} for a look",
            settings.pg_dir.display()
        ));
    }
    Ok(summary)
}

/// `--bind 127.0.0.1:0 --mode M --database-url URL` and the user's flags.
fn prefork_args(settings: &Settings, url: &str) -> Vec<String> {
    let own = [
        "--bind",
        "127.0.0.1:0",
        "--mode",
        settings.mode.name(),
        "--database-url",
        url,
    ];
    own.iter()
        .map(|s| s.to_string())
        .chain(settings.prefork_args.iter().cloned())
        .collect()
}

/// The writers for the planned time while the injector works through the plan on
/// this thread; the writers stop early if the master dies or Ctrl-C arrives.
fn load_with_faults(
    settings: &Settings,
    server: &mut Server,
    pg: &mut Pg,
    addr: SocketAddr,
    interrupted: &AtomicBool,
) -> (ClientLog, Outcome) {
    let t0 = Instant::now();
    let target = clients::Target {
        addr,
        t0,
        deadline: t0 + settings.seconds,
        halt: Arc::new(AtomicBool::new(false)),
    };
    let load = clients::start(settings.clients, &target);
    // Another stream than the plan's, so that victims do not mirror the fault order.
    let rng = Rng::new(settings.seed.rotate_left(32) ^ 0x00c0_ffee);
    let mut injector = Injector { server, pg, rng };
    let outcome = injector.run(&settings.plan, t0, target.deadline, interrupted);
    target.halt.store(true, Ordering::Relaxed);
    (load.join(), outcome)
}

/// Whether the master outlived the load, and if not, how it ended.
fn master_state(server: &mut Server, outcome: &Outcome) -> Master {
    let exit = server.exit_status();
    Master {
        pid: server.pid(),
        alive: exit.is_none(),
        died_at_s: outcome.master_died.map(|d| d.as_secs_f64()),
        exit: exit.map(|s| s.to_string()),
        log: server.log_path().display().to_string(),
        log_tail: exit.map(|_| server.log_tail(15)),
    }
}

/// Progress on stderr (stdout is the report).
fn say(text: &str) {
    eprintln!("chaos: {text}");
}
