//! Binaries of the other workspace members (`loadgen`, `prefork-bench`, `prefork-chaos`)
//! for end-to-end tests.
//!
//! Cargo gives this package `CARGO_BIN_EXE_prefork`, but nothing for another member's
//! binary (that would take artifact dependencies, which stable cargo does not have).
//! `bin/test` builds every binary of the workspace (`cargo build --workspace --bins`)
//! before it runs the tests, into the same target directory and profile, so each one is
//! found beside `prefork`. The tests never build anything themselves: cargo alone decides
//! what is out of date. A binary that is not there fails the test with the command to run.

use std::path::{Path, PathBuf};

/// loadgen (`loadgen/`).
pub const LOADGEN: &str = "loadgen";

/// `bin/bench`'s runner (`benches/runner/`).
pub const BENCH_RUNNER: &str = "prefork-bench";

/// `bin/chaos`'s tool (`chaos/`).
pub const CHAOS: &str = "prefork-chaos";

/// The path of the workspace binary `bin`, beside the `prefork` these tests run.
///
/// Panics, telling what to run, if it has not been built.
pub fn path(bin: &str) -> PathBuf {
    let prefork = Path::new(env!("CARGO_BIN_EXE_prefork"));
    let path = prefork.with_file_name(bin);
    assert!(
        path.is_file(),
        "{bin} is not built (no {}): run `{}` first (bin/test does), then the tests again",
        path.display(),
        build_command(prefork),
    );
    path
}

/// `cargo build --workspace --bins` for the profile `prefork` was built with.
fn build_command(prefork: &Path) -> String {
    let profile = prefork
        .parent()
        .and_then(Path::file_name)
        .and_then(|name| name.to_str());
    match profile {
        Some("debug") | None => "cargo build --workspace --bins".to_string(),
        Some("release") => "cargo build --workspace --bins --release".to_string(),
        Some(other) => format!("cargo build --workspace --bins --profile {other}"),
    }
}
