//! prefork: a prefork HTTP server framework for systems experiments — a master that
//! forks and supervises workers, two worker models to compare (an event loop and a
//! thread pool), and a [`service::Service`] seam the workers are generic over. The
//! experiment's endpoint (a form-urlencoded `POST` that inserts one row into
//! PostgreSQL) is one service, [`tasks`]; [`hello`] is the no-I/O ceiling.
//!
//! # Layout
//! - [`config`]: the command line, validated once into a plain [`config::Config`].
//! - [`config_file`]: `--config FILE` merged under the command line, and
//!   `--check-config`'s printout of the effective configuration.
//! - [`master`]: the arbiter: forks workers, reaps, respawns, reloads, scales, stops.
//! - [`signals`]: which signal means which [`signals::SignalAction`] for the master.
//! - [`sys`]: the only `unsafe` code: fork, shared memory, and other raw OS calls.
//! - [`endpoint`]: a `--bind` value: a TCP address or a Unix socket path.
//! - [`listener`]: a listening socket of either kind, as master and workers hold it.
//! - [`net`]: TCP listening sockets (socket2): `SO_REUSEPORT`, backlog, non-blocking.
//! - [`unix_socket`]: Unix-socket listeners: mode, owner, stale files, removal at exit.
//! - [`scoreboard`]: memory shared by master and workers: heartbeats and per-worker counters (`GET /stats`, `GET /metrics`).
//! - [`worker`]: what runs in a worker after fork: the event loop or the thread pool,
//!   and the worker's own `/health`, `/stats` and `/metrics`.
//! - [`service`]: the seam between workers and what they serve.
//! - [`tasks`]: the task API service: routes, bodies, validation, the PostgreSQL client.
//! - [`hello`]: a fixed answer on every path (the HTTP ceiling, no I/O).
//! - [`http`]: HTTP/1.1 request parsing with limits, response encoding, form and JSON bodies.
//! - [`access_log`]: `--access-log`: one line per response, buffered per worker, reopened on USR1.
//! - [`log`]: log lines written whole, so the master's and workers' lines never interleave.
//! - [`peer`]: the remote end of a connection, as the access log names it.
//! - [`privileges`]: `--user`/`--group`: the account workers switch to after fork.
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![warn(unreachable_pub)]

pub mod access_log;
pub mod activation;
pub mod config;
pub mod config_file;
pub mod endpoint;
pub mod hello;
pub mod http;
pub mod listener;
pub mod log;
pub mod master;
pub mod net;
pub mod peer;
pub mod privileges;
pub mod scoreboard;
pub mod service;
pub mod signals;
pub mod sys;
pub mod tasks;
pub mod unix_socket;
pub mod worker;
