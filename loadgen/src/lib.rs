//! loadgen: a raw-socket HTTP/1.1 load generator — wrk, in Rust — that also replays
//! the seed experiment's closed-loop script.
//!
//! # Layout
//! - [`cli`]: the command line as clap parses it: every flag, its help and default.
//! - [`config`]: the validated run, [`config::Config`] (`StopWhen` × `Pacer`).
//! - [`units`]: wrk-style durations (`30s`, `500ms`) and counts (`10k`).
//! - [`target`]: the `http://HOST:PORT/PATH` URL, resolved once.
//! - [`payload`]: the shipped titles/descriptions, percent-encoded or JSON, and the RNG.
//! - [`request`]: request bytes, built once, copied per request.
//! - [`parse_error`]: why a response cannot be framed ([`parse_error::ParseError`]).
//! - [`response`]: the incremental response parser (Content-Length, chunked, close).
//! - [`framing`]: what a response head says about its body and connection.
//! - [`pacing`]: the open-loop schedule (`--rate`), wrk2's model.
//! - [`conn`]: one user's connection state machine.
//! - [`thread`]: one event loop (`mio::Poll`) per thread, owning its users and counters.
//! - [`stats`]: latency histograms (µs) and counters, merged after join.
//! - [`run`]: starts the threads, shows progress, merges the results.
//! - [`report`]: the run's [`report::Report`] and its JSON object.
//! - [`text`]: the human summary of a report.
//! - [`progress`]: the self-erasing progress line on a terminal.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cli;
pub mod config;
pub mod conn;
pub mod framing;
pub mod pacing;
pub mod parse_error;
pub mod payload;
pub mod progress;
pub mod report;
pub mod request;
pub mod response;
pub mod run;
pub mod stats;
pub mod target;
pub mod text;
pub mod thread;
pub mod units;
