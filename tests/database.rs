//! PostgreSQL outages and the embedded default database.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::{
    assert_created, assert_error, get, pid_alive, poll_until, post_form, uid_of, Cfg, Server,
    Signal, TestDb,
};

support::matrix!(
    database_outage_503_then_recovers,
    worker_respawned_during_outage_serves_503
);

/// PostgreSQL stopped: POST gets 503 + Retry-After; restarted: 201 again, without restarting prefork.
fn database_outage_503_then_recovers(cfg: Cfg) {
    let mut db = TestDb::fresh();
    let server = cfg.start(&db, &[]);
    assert_created(&post_form(server.port, "before", "d"), "before", "d");
    let workers = server.worker_pids();

    db.stop();
    for i in 0..6 {
        let resp = post_form(server.port, "during", "d");
        assert_error(&resp, 503);
        let retry = resp
            .header("retry-after")
            .unwrap_or_else(|| panic!("503 #{i} without Retry-After"));
        assert!(
            retry.trim().parse::<u64>().is_ok(),
            "Retry-After: {retry:?}"
        );
    }
    assert_eq!(
        get(server.port, "/health").status,
        200,
        "/health must not need the database"
    );

    db.start();
    let id = support::post_when_back(server.port, "after");
    db.assert_row(id, "after", "d");
    assert_eq!(
        server.worker_pids(),
        workers,
        "workers were restarted (or crashed) for the outage"
    );
}

/// A worker killed while PostgreSQL is down is replaced by one that boots anyway: the master stays up, /health says the database is down, POSTs get 503, then 201 once PostgreSQL is back.
fn worker_respawned_during_outage_serves_503(cfg: Cfg) {
    let mut db = TestDb::fresh();
    let server = cfg.start(&db, &[]);
    db.stop();
    let killed: Vec<i32> = server.worker_pids().into_keys().collect();
    for &pid in &killed {
        support::signal_pid(pid, Signal::SIGKILL);
    }
    server.wait_until(
        Instant::now() + Duration::from_secs(20),
        "every killed worker replaced",
        |s| {
            let live = s.worker_pids();
            live.len() == cfg.workers && killed.iter().all(|pid| !live.contains_key(pid))
        },
    );
    server.wait_for_line(
        |l| l.contains("database unavailable at boot"),
        Duration::from_secs(10),
    );
    assert!(
        pid_alive(server.pid()),
        "the master stopped during the outage"
    );
    let health = get(server.port, "/health");
    assert_eq!(
        (health.status, health.json()["database"].as_str()),
        (200, Some("down")),
        "{:?}",
        health.text()
    );
    assert_error(&post_form(server.port, "during", "d"), 503);

    db.start();
    let id = support::post_when_back(server.port, "after");
    db.assert_row(id, "after", "d");
    assert!(
        server
            .find_line(|l| l.contains("exiting with status"))
            .is_none(),
        "the master exited"
    );
}

/// The start-up check refuses each broken configuration before any "listening" line, with exit 3 and a message naming the problem and its fix: a URL that does not parse, no server, a database that does not exist, a wrong password, a missing table.
#[test]
fn startup_check_names_each_problem() {
    let db = TestDb::fresh();
    let with = |from: &str, to: &str| {
        let url = db.url().replace(from, to);
        assert_ne!(url, db.url(), "the test rewrites {from}");
        url
    };
    db.require_password("pw", "right");
    let cases = [
        (
            with("port=5432", "port=notaport"),
            "invalid database URL",
            "syntax",
        ),
        (
            "host=/nonexistent/pg port=5432 user=postgres dbname=prefork".to_string(),
            "database unavailable",
            "is PostgreSQL running",
        ),
        (
            with("dbname=prefork", "dbname=nope"),
            "database \"nope\" does not exist",
            "createdb",
        ),
        (
            with("user=postgres", "user=pw password=wrong"),
            "password authentication failed",
            "password",
        ),
        (db.url(), "table `task` is missing", "--init-db"),
    ];
    db.client().batch_execute("DROP TABLE task").unwrap();
    for (url, problem, fix) in cases {
        let out = Server::command(&["--workers", "1"])
            .args(["--database-url", &url])
            .output()
            .expect("run prefork");
        let log = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(3),
            "exit status for {url}; log:\n{log}"
        );
        assert!(
            log.contains(problem) && log.contains(fix),
            "{url}: log:\n{log}"
        );
        assert!(
            !log.contains("listening on"),
            "announced before failing:\n{log}"
        );
        assert!(!log.contains(" started"), "forked workers:\n{log}");
        assert!(
            !log.contains("wrong"),
            "the password leaked into the log:\n{log}"
        );
    }
}

/// `prefork --init-db` applies schema.sql to a database without the table (exit 0), twice without harm; the server then starts and stores a POST.
#[test]
fn init_db_creates_the_table() {
    let db = TestDb::fresh();
    db.client().batch_execute("DROP TABLE task").unwrap();
    for _ in 0..2 {
        let out = Server::command(&["--init-db"])
            .args(["--database-url", &db.url()])
            .output()
            .expect("run prefork --init-db");
        let log = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "log:\n{log}");
        assert!(log.contains("schema.sql applied"), "log:\n{log}");
    }
    assert_eq!(db.count_rows(), 0);
    let server = Server::start(&["--workers", "1"], &db.url());
    let id = assert_created(
        &post_form(server.port, "after init", "d"),
        "after init",
        "d",
    );
    db.assert_row(id, "after init", "d");
}

/// A directory of this test's under `target/tmp`, with a private cluster somewhere below
/// it; the cluster is stopped and everything deleted on drop, even if the test failed
/// midway.
struct TempTree {
    root: PathBuf,
    cluster: PathBuf,
}

impl Drop for TempTree {
    fn drop(&mut self) {
        support::db::remove_cluster(&self.cluster);
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// No --database-url nor DATABASE_URL, run from a directory of its own with a relative
/// `--data-dir` below a `0700` directory (as a home directory is): prefork initdb's its
/// cluster there, serves — as root with `nobody` workers, which reach the socket — and
/// stops the cluster on SIGTERM.
#[test]
fn embedded_default_database() {
    use std::os::unix::fs::PermissionsExt;

    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(support::db::unique_name("emb"));
    let tree = TempTree {
        cluster: root.join("home").join("pg"),
        root,
    };
    let home = tree.root.join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut cmd = Server::command(&["--workers", "1", "--mode", "evloop"]);
    cmd.args(["--data-dir", "home/pg"])
        .current_dir(&tree.root)
        .env_remove("PREFORK_DATA_DIR");
    let mut server = Server::spawn(cmd);
    let using = server.wait_for_line(
        |l| l.starts_with("prefork: using database "),
        Duration::from_secs(120),
    );
    assert!(
        using.contains(&*tree.cluster.to_string_lossy()),
        "not the --data-dir cluster: {using}"
    );
    server.wait_ready(Duration::from_secs(60));
    assert!(
        tree.cluster.join("PG_VERSION").exists(),
        "no cluster in --data-dir"
    );
    assert_created(&post_form(server.port, "embedded", "d"), "embedded", "d");
    if nix::unistd::Uid::effective().is_root() {
        let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
        for pid in server.worker_pids().into_keys() {
            assert_eq!(
                uid_of(pid),
                nobody.uid.as_raw(),
                "worker {pid} serves as nobody"
            );
        }
    }
    let postgres =
        support::db::postmaster_pid(&tree.cluster).expect("postmaster.pid of the embedded cluster");
    assert!(pid_alive(postgres));

    server.signal(Signal::SIGTERM);
    let status = server.wait_exit(Duration::from_secs(60));
    assert_eq!(status.code(), Some(0), "master exit status");
    assert!(
        !tree.cluster.join("postmaster.pid").exists(),
        "the cluster prefork started is still running"
    );
    poll_until(Duration::from_secs(10), "postgres to exit", || {
        !pid_alive(postgres)
    });
}
