//! `--user`: workers run as an unprivileged account while the master keeps its own.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{assert_created, poll_until, post_form, uid_of, Server, TestDb};

/// A throwaway system user in the `postgres` group (so that it can reach the test
/// cluster's socket), deleted on drop.
struct ThrowawayUser(String);

impl ThrowawayUser {
    fn create() -> ThrowawayUser {
        let name = format!("pf-test-{}", std::process::id());
        let status = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
            ])
            .args(["--groups", "postgres", &name])
            .status()
            .expect("run useradd");
        assert!(status.success(), "useradd {name}");
        ThrowawayUser(name)
    }
}

impl Drop for ThrowawayUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.0).status();
    }
}

/// Starts two workers with `args`: the master stays root, every worker runs as `uid`,
/// and a POST is stored.
///
/// The master announces a worker right after `fork`; the worker switches accounts a
/// moment later, so the test polls for the switch, then checks again once a request
/// has been served (a worker that had not switched yet would show it then).
fn serves_as(db: &TestDb, args: &[&str], uid: u32) {
    let mut all = vec!["--workers", "2"];
    all.extend_from_slice(args);
    let server = Server::start(&all, &db.url());
    assert_eq!(uid_of(server.pid()), 0, "the master keeps root");
    let workers: Vec<i32> = server.worker_pids().into_keys().collect();
    for &pid in &workers {
        poll_until(
            Duration::from_secs(10),
            &format!("worker {pid} to run as uid {uid}, {args:?}"),
            || uid_of(pid) == uid,
        );
    }
    let title = format!("{args:?}");
    let id = assert_created(&post_form(server.port, &title, "d"), &title, "d");
    db.assert_row(id, &title, "d");
    for &pid in &workers {
        assert_eq!(uid_of(pid), uid, "worker {pid} after serving, {args:?}");
    }
    assert_eq!(uid_of(server.pid()), 0, "the master keeps root");
}

/// As root, `--user U` (both modes): every worker runs as U and serves a POST into the database; the master stays root.
#[test]
fn workers_run_as_the_given_user() {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipped: switching users needs root (CI runs as root)");
        return;
    }
    let user = ThrowawayUser::create();
    let uid = nix::unistd::User::from_name(&user.0)
        .unwrap()
        .unwrap()
        .uid
        .as_raw();
    let db = TestDb::fresh();
    // The cluster's directory is 0750, group postgres: the user's group reaches it.
    for mode in ["evloop", "threads"] {
        serves_as(&db, &["--mode", mode, "--user", &user.0], uid);
    }
}

/// As root without `--user` (both modes): workers run as `nobody`, reach the private cluster's socket through its group, and serve; `--user root` keeps them root.
#[test]
fn root_workers_only_when_asked() {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipped: needs root (CI runs as root)");
        return;
    }
    let nobody = nix::unistd::User::from_name("nobody")
        .unwrap()
        .unwrap()
        .uid
        .as_raw();
    let db = TestDb::fresh();
    for (mode, extra, want) in [
        ("evloop", None, nobody),
        ("threads", None, nobody),
        ("evloop", Some("root"), 0),
    ] {
        let mut args = vec!["--mode", mode];
        if let Some(user) = extra {
            args.extend(["--user", user]);
        }
        serves_as(&db, &args, want);
    }
}

/// `--user` with a name the system does not know is refused at start with exit 2 and the command that creates it.
#[test]
fn unknown_user_is_refused() {
    let out = Server::command(&["--user", "no-such-user-prefork"])
        .output()
        .expect("run prefork");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("useradd"), "stderr: {stderr}");
}
