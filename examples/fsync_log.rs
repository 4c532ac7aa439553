//! A service of your own under prefork's master and workers, written against the public
//! API only: a durable append-only log with group commit on a plain file.
//!
//! - `POST /entries` (any body up to `--max-body`, one line): appended to the log file;
//!   the `201` comes only once the line is on disk (`fdatasync`). Appends are deferred
//!   jobs, so concurrent appends share one write and one `fdatasync` (`--batch`), the
//!   same group commit the task service does with PostgreSQL transactions.
//! - `GET /entries`: `{"bytes":N}`, the log's size now.
//! - `GET /health`, `GET /stats`: built into the worker, as for every service.
//!
//! ```text
//! cargo run --release --example fsync_log -- --log /tmp/entries.log --workers 2 --mode evloop
//! curl -d 'hello' http://127.0.0.1:8000/entries
//! ```
//!
//! Every prefork flag works (`--mode`, `--workers`, `--batch`, signals, reloads); the
//! task service's own (`--app`, `--database-url`, `--init-db`) are ignored. Started as
//! root, workers run as `nobody` unless `--user` says otherwise: that account must be
//! able to write the log file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use prefork::config::{Cli, Config};
use prefork::config_file::{self, LoadError};
use prefork::http::request::{Method, Request};
use prefork::http::response::{encode, DateCache, Response};
use prefork::master::Master;
use prefork::service::{
    BootError, Call, Completions, Group, HealthMember, Service, Turn, WorkerInfo,
};

/// The example's command line: its own `--log`, then every prefork flag.
#[derive(Debug, Parser)]
#[command(
    name = "fsync_log",
    about = "A durable append-only log served by prefork"
)]
struct Args {
    /// The log file (created if missing; every worker appends to it).
    #[arg(long, default_value = "entries.log")]
    log: PathBuf,
    #[command(flatten)]
    prefork: Cli,
}

/// The service: which file to append to. Built before fork, shared by every worker.
struct FsyncLog {
    path: PathBuf,
}

/// One serving thread's state: its own descriptor of the log, opened for appending
/// (`O_APPEND`: each `write` lands whole at the end, whichever process makes it).
struct LogFile {
    file: File,
}

/// A completed append: whether it is on disk.
type Appended = Result<(), String>;

impl Service for FsyncLog {
    type Context = LogFile;
    type Job = Vec<u8>;
    type Done = Appended;

    fn context(&self, _info: WorkerInfo) -> Result<LogFile, BootError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| BootError(format!("cannot open {}: {e}", self.path.display())))?;
        Ok(LogFile { file })
    }

    fn call(&self, cx: &mut LogFile, req: &Request, _turn: Turn) -> Call<Vec<u8>> {
        match (req.path.as_str(), &req.method) {
            ("/entries", Method::Post) if req.body.contains(&b'\n') => {
                Call::Respond(Response::error(400, "an entry is one line"))
            }
            ("/entries", Method::Post) => {
                let mut line = req.body.clone();
                line.push(b'\n');
                Call::Defer(line)
            }
            ("/entries", Method::Get | Method::Head) => match cx.file.metadata() {
                Ok(meta) => {
                    let body = format!(r#"{{"bytes":{}}}"#, meta.len());
                    Call::Respond(Response::json(200, body.into_bytes()))
                }
                Err(e) => Call::Respond(Response::error(500, &e.to_string())),
            },
            ("/entries", _) => Call::Respond(
                Response::error(405, "method not allowed").with_header("Allow", "GET, HEAD, POST"),
            ),
            _ => Call::Respond(Response::error(404, "not found")),
        }
    }

    /// Group commit on a file: every line in one `write`, then one `fdatasync`.
    fn commit(
        &self,
        cx: &mut LogFile,
        jobs: &mut Group<Vec<u8>>,
        done: &mut Completions<Appended>,
    ) {
        let lines: Vec<u8> = jobs
            .iter()
            .flat_map(|(_, line)| line.iter().copied())
            .collect();
        let outcome = cx
            .file
            .write_all(&lines)
            .and_then(|()| cx.file.sync_data())
            .map_err(|e| e.to_string());
        if outcome.is_ok() {
            done.committed(jobs.len() as u64);
        }
        for (ticket, _) in jobs.drain(..) {
            done.complete(ticket, outcome.clone());
        }
    }

    fn encode(&self, done: &Appended, keep_alive: bool, date: &mut DateCache, out: &mut Vec<u8>) {
        let resp = match done {
            Ok(()) => Response::json(201, br#"{"stored":true}"#.to_vec()),
            Err(why) => Response::error(500, why),
        };
        encode(&resp, keep_alive && !resp.close, date, out);
    }

    fn health(&self, _cx: &mut LogFile) -> Vec<HealthMember> {
        vec![("log", "open")]
    }
}

fn main() -> ExitCode {
    // prefork's own reading of the command line: `--config FILE` (whose keys include
    // `log`) and `--check-config` work here as they do for prefork.
    let loaded = match config_file::load_into::<Args, _, _>(std::env::args_os()) {
        Ok(loaded) => loaded,
        Err(LoadError::Args(e)) => e.exit(),
        Err(LoadError::File(e)) => {
            eprintln!("fsync_log: {e}");
            return ExitCode::from(2);
        }
    };
    let args = loaded.cli;
    let (check_only, file) = (args.prefork.check_config, args.prefork.config.clone());
    let config = match Config::from_cli(args.prefork) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("fsync_log: {e}");
            return ExitCode::from(2);
        }
    };
    if check_only {
        print!(
            "{}",
            config_file::render(&config, &loaded.sources, file.as_deref())
        );
        let log = format!("log = {:?}", args.log.display().to_string());
        println!("{log:<40}  # {}", loaded.sources.get("log"));
        return ExitCode::SUCCESS;
    }
    match Master::run_service(config, FsyncLog { path: args.log }) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            let code = e.exit_code();
            eprintln!("fsync_log: error: {:#}", anyhow::Error::from(e));
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
    }
}
