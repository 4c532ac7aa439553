//! prefork: a prefork HTTP server for one experiment — a form-urlencoded `POST` that
//! inserts one row into PostgreSQL — with two worker models to compare.
//!
//! # Layout
//! - [`config`]: the command line, validated once into a plain [`config::Config`].
//! - [`master`]: the arbiter: forks workers, reaps, respawns, reloads, scales, stops.
//! - [`signals`]: which signal means which [`signals::SignalAction`] for the master.
//! - [`sys`]: the only `unsafe` code: fork, shared memory, and other raw OS calls.
//! - [`net`]: listening sockets (socket2): `SO_REUSEPORT`, backlog, non-blocking.
//! - [`scoreboard`]: memory shared by master and workers: heartbeats and per-worker counters (`GET /stats`).
//! - [`worker`]: what runs in a worker after fork: the event loop or the thread pool.
//! - [`http`]: HTTP/1.1 request parsing with limits, response encoding, form and JSON bodies.
//! - [`app`]: routes, validation and status mapping, on plain data with no I/O.
//! - [`db`]: one PostgreSQL connection with prepared statements and reconnect backoff.
//! - [`log`]: log lines written whole, so the master's and workers' lines never interleave.
//! - [`privileges`]: `--user`/`--group`: the account workers switch to after fork.
//! - [`pgtmp`]: a private, throwaway PostgreSQL cluster on a Unix socket under `target/`.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod config;
pub mod db;
pub mod http;
pub mod log;
pub mod master;
pub mod net;
pub mod pgtmp;
pub mod privileges;
pub mod scoreboard;
pub mod signals;
pub mod sys;
mod task_json;
pub mod worker;
