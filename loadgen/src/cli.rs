//! The command line as clap parses it: the one definition of every flag, its help
//! and its default. [`crate::config::Config::from_cli`] validates it once.

use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::units::{parse_count, parse_duration, parse_scaled};

/// `loadgen` command line (flag names follow wrk: `-t -c -d`, `30s`, `10k`).
#[derive(Debug, Parser)]
#[command(
    name = "loadgen",
    version,
    about = "Raw-socket HTTP/1.1 load generator (closed loop like the seed script, open loop like wrk2)"
)]
pub struct Cli {
    /// Target URL, http://HOST:PORT/PATH (http only; the port defaults to 80).
    pub url: String,

    /// Threads, each with its own event loop; never more than --users. Default: number of CPUs
    #[arg(short = 't', long)]
    pub threads: Option<usize>,

    /// Concurrent users, one connection each (alias -c/--connections). Default: 10
    #[arg(short = 'u', long, visible_short_alias = 'c', visible_alias = "connections",
          value_parser = parse_count, default_value = "10", hide_default_value = true)]
    pub users: u64,

    /// Requests per user, one after the other (closed loop); total users × loops.
    /// Default: 1000 unless --duration is given
    #[arg(short = 'l', long, value_parser = parse_count, conflicts_with = "duration")]
    pub loops: Option<u64>,

    /// Run for this long instead of a number of loops (30s, 500ms, 2m, 1h). Default: none
    #[arg(short = 'd', long, value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Run this long first without counting anything. Default: 0s
    #[arg(long, value_parser = parse_duration, default_value = "0s", hide_default_value = true)]
    pub warmup: Duration,

    /// Open loop: this many requests per second in total on a constant schedule;
    /// latency counts from each request's intended send time. Default: none (closed loop)
    #[arg(short = 'R', long, value_parser = parse_scaled)]
    pub rate: Option<f64>,

    /// `close`: a new TCP connection per request (the seed's `requests` without a
    /// Session); `keep-alive`: one connection per user. Default: close
    #[arg(long, value_enum)]
    pub connection: Option<ConnectionMode>,

    /// Same as --connection keep-alive. Default: off
    #[arg(short = 'k', long)]
    pub keepalive: bool,

    /// Requests written back to back per connection before reading the responses
    /// (implies keep-alive). Default: 1
    #[arg(long, default_value_t = 1, hide_default_value = true)]
    pub pipeline: usize,

    /// Send the payload as JSON {"title","description"} instead of a form. Default: form
    #[arg(long)]
    pub json: bool,

    /// HTTP method; POST, PUT and PATCH carry the task payload unless --body is given,
    /// other methods (GET /health…) send no body. Default: POST
    #[arg(short = 'm', long)]
    pub method: Option<String>,

    /// Path and query to request instead of the URL's. Default: the URL's path
    #[arg(long)]
    pub path: Option<String>,

    /// Extra header "Name: value" (repeatable); replaces a default of the same name. Default: none
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,

    /// Fixed body, or @FILE to read it from a file (then the method defaults to POST). Default: the random task payload
    #[arg(long)]
    pub body: Option<String>,

    /// Time a request may take; then it counts as a `timeout` error and its connection is closed. Default: 10s
    #[arg(long, value_parser = parse_duration, default_value = "10s", hide_default_value = true)]
    pub timeout: Duration,

    /// Status codes that count as success (repeatable or comma-separated); any other
    /// counts as a `status` error. Default: any status
    #[arg(long, value_delimiter = ',')]
    pub expect_status: Vec<u16>,

    /// Close sockets with SO_LINGER 0 (RST, no TIME_WAIT left on the client): for
    /// connection-per-request at high rates. Default: off (normal FIN close)
    #[arg(long)]
    pub linger0: bool,

    /// Result format on stdout: `text` or `json` (one object). Default: text
    #[arg(long, value_enum, default_value_t = ReportFormat::Text, hide_default_value = true)]
    pub report: ReportFormat,

    /// Seed of the payload RNG, to reproduce a run's bodies. Default: from the clock
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Whether each request gets a fresh TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ConnectionMode {
    /// New connection per request, `Connection: close`.
    Close,
    /// One connection per user, reused.
    KeepAlive,
}

impl ConnectionMode {
    /// The flag's spelling, for reports.
    pub fn name(self) -> &'static str {
        match self {
            ConnectionMode::Close => "close",
            ConnectionMode::KeepAlive => "keep-alive",
        }
    }
}

/// Result format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Human summary plus the seed script's two lines.
    Text,
    /// One JSON object.
    Json,
}
