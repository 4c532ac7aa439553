//! Shared helpers of the end-to-end tests: a private PostgreSQL cluster per
//! test, the real `prefork` binary on port 0 with its log lines, and raw HTTP/1.1.
//!
//! Waiting is always polling against a deadline (log lines via a condition variable,
//! `/health` and `/proc` by polling), never a fixed sleep standing in for readiness.
// Each test file uses its own subset of these helpers.
#![allow(dead_code, unused_imports, unused_macros)]

pub mod db;
pub mod http;
pub mod load;
pub mod loadgen;
pub mod server;
pub mod workspace_bin;

use std::time::Duration;

pub use db::TestDb;
pub use http::{
    assert_created, assert_error, exchange, form_request, get, get_request, json_request,
    must_exchange, post_form, post_json, post_when_back, send_raw, Conn, Response,
};
pub use nix::sys::signal::Signal;
pub use server::{pid_alive, pid_gone, signal_pid, uid_of, Server, WorkerEvent};

/// A worker configuration of the test matrix.
#[derive(Clone, Copy, Debug)]
pub struct Cfg {
    /// `evloop` or `threads`.
    pub mode: &'static str,
    /// Worker processes.
    pub workers: usize,
}

impl Cfg {
    /// One event-loop worker.
    pub const EVLOOP_1: Cfg = Cfg {
        mode: "evloop",
        workers: 1,
    };
    /// Three event-loop workers.
    pub const EVLOOP_3: Cfg = Cfg {
        mode: "evloop",
        workers: 3,
    };
    /// One thread-pool worker.
    pub const THREADS_1: Cfg = Cfg {
        mode: "threads",
        workers: 1,
    };
    /// Three thread-pool workers.
    pub const THREADS_3: Cfg = Cfg {
        mode: "threads",
        workers: 3,
    };

    /// `--mode M --workers N`.
    pub fn args(&self) -> Vec<String> {
        let workers = self.workers.to_string();
        ["--mode", self.mode, "--workers", &workers]
            .map(String::from)
            .to_vec()
    }

    /// Starts prefork in this configuration (plus `extra` flags) against `db`.
    pub fn start(&self, db: &TestDb, extra: &[&str]) -> Server {
        let mut args = self.args();
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let server = Server::start(&args, &db.url());
        assert_eq!(
            server.workers, self.workers,
            "worker count in the listening line"
        );
        server
    }
}

/// Generates one `#[test]` per configuration (both modes, 1 and 3 workers) calling the
/// scenario function `$name(cfg: Cfg)`: `$name::evloop_1`, `$name::threads_3`, …
macro_rules! matrix {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            use crate::support::Cfg;
            #[doc = concat!("`", stringify!($name), "` with one evloop worker.")]
            #[test]
            fn evloop_1() { super::$name(Cfg::EVLOOP_1) }
            #[doc = concat!("`", stringify!($name), "` with three evloop workers.")]
            #[test]
            fn evloop_3() { super::$name(Cfg::EVLOOP_3) }
            #[doc = concat!("`", stringify!($name), "` with one threads worker.")]
            #[test]
            fn threads_1() { super::$name(Cfg::THREADS_1) }
            #[doc = concat!("`", stringify!($name), "` with three threads workers.")]
            #[test]
            fn threads_3() { super::$name(Cfg::THREADS_3) }
        }
    )+};
}
pub(crate) use matrix;

/// A fresh directory of this test's own under `target/KIND/` (files a test writes).
pub fn scratch_dir(kind: &str) -> std::path::PathBuf {
    let dir = db::base_dir()
        .parent()
        .expect("target/")
        .join(kind)
        .join(db::unique_name(kind));
    std::fs::create_dir_all(&dir).expect("make the scratch directory");
    dir
}

/// Polls `cond` every 20 ms until it holds; panics with `what` after `timeout`.
pub fn poll_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
