//! Binaries of other workspace members (the bench runner `prefork-bench`, …) for
//! end-to-end tests (loadgen, the bench runner).
//!
//! Cargo gives this package no `CARGO_BIN_EXE_<bin>` for another member's binary: it is
//! looked up next to prefork's (same target dir, same profile), and built there with
//! `cargo build -p PACKAGE --bin BIN` when it is missing or older than its sources —
//! once, under a lock file, as nextest runs each test in its own process.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// A binary of another workspace member.
#[derive(Clone, Copy, Debug)]
pub struct Member {
    /// The package (`cargo build -p`).
    pub package: &'static str,
    /// The binary's name.
    pub bin: &'static str,
    /// Files and directories, relative to the workspace root, whose changes make the
    /// binary stale (its own crate, and any path dependency it has).
    pub sources: &'static [&'static str],
}

/// The bench runner (depends on the `pgtmp` library, which includes `schema.sql`).
pub const BENCH_RUNNER: Member = Member {
    package: "prefork-bench",
    bin: "prefork-bench",
    sources: &[
        "benches/runner/Cargo.toml",
        "benches/runner/src",
        "pgtmp/Cargo.toml",
        "pgtmp/src",
        "schema.sql",
    ],
};

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The path of an up-to-date binary of `member` beside prefork's, building it if needed.
pub fn binary(member: &Member) -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_prefork")).with_file_name(member.bin);
    if !is_fresh(member, &bin) {
        build_under_lock(member, &bin);
    }
    bin
}

/// The binary exists and is newer than every source.
fn is_fresh(member: &Member, bin: &Path) -> bool {
    let Ok(built) = bin.metadata().and_then(|m| m.modified()) else {
        return false;
    };
    let newest = member
        .sources
        .iter()
        .map(|s| newest_mtime(&workspace().join(s)))
        .fold(SystemTime::UNIX_EPOCH, SystemTime::max);
    newest <= built
}

/// The latest modification time of `path` or anything below it.
fn newest_mtime(path: &Path) -> SystemTime {
    let Ok(meta) = path.metadata() else {
        return SystemTime::UNIX_EPOCH;
    };
    let own = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    if !meta.is_dir() {
        return own;
    }
    let entries = std::fs::read_dir(path).into_iter().flatten().flatten();
    entries
        .map(|e| newest_mtime(&e.path()))
        .fold(own, SystemTime::max)
}

/// `cargo build -p PACKAGE --bin BIN` into prefork's target dir and profile, one builder
/// at a time.
fn build_under_lock(member: &Member, bin: &Path) {
    let profile_dir = bin.parent().expect("binary directory");
    let target_dir = profile_dir.parent().expect("target directory");
    let lock_path = target_dir.join(format!("{}-build.lock", member.bin));
    let lock = std::fs::File::create(&lock_path)
        .unwrap_or_else(|e| panic!("create {}: {e}", lock_path.display()));
    lock.lock().expect("lock the member build");
    // Another test process may have built it while this one waited for the lock.
    if is_fresh(member, bin) {
        return;
    }
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => vec![],
        Some("release") => vec!["--release".to_string()],
        Some(other) => vec!["--profile".to_string(), other.to_string()],
        None => panic!("no profile in {}", bin.display()),
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_string());
    eprintln!(
        "building {}: {cargo} build -p {} {profile:?}",
        member.bin, member.package
    );
    let status = Command::new(&cargo)
        .args(["build", "-p", member.package, "--bin", member.bin])
        .args(&profile)
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(workspace())
        .status()
        .unwrap_or_else(|e| panic!("run {cargo}: {e}"));
    assert!(
        status.success(),
        "cargo build -p {} failed: {status}",
        member.package
    );
    assert!(
        bin.exists(),
        "cargo built {} but it is missing",
        bin.display()
    );
}
