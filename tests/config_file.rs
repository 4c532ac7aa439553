//! `--config FILE` and `--check-config`, end to end: a server started from a file
//! serves what the file says; flags and environment variables win over the file, the
//! file over the defaults (read from `--check-config`'s sources); a bad file stops
//! prefork with status 2 and a message naming the problem before anything listens;
//! `--check-config` gives the flags' own messages, binds nothing and touches no
//! database; `contrib/prefork.toml` is accepted.

mod support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::http::form_request;
use support::{get, Conn, Server, TestDb};

/// A settings file in the tests' scratch directory, removed on drop.
struct TomlFile(PathBuf);

impl TomlFile {
    fn new(text: &str) -> TomlFile {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("{}.toml", support::db::unique_name("config")));
        std::fs::write(&path, text).unwrap();
        TomlFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TomlFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `prefork ARGS` without inherited `DATABASE_URL` / `PREFORK_DATA_DIR`, run to its end.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_prefork"));
    cmd.args(args)
        .env_remove("DATABASE_URL")
        .env_remove("PREFORK_DATA_DIR")
        .envs(env.iter().copied());
    cmd.output().expect("run prefork")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `--check-config`'s line for `key`: `(value, source)`.
fn setting(report: &str, key: &str) -> (String, String) {
    let line = report
        .lines()
        .find(|l| l.split(" = ").next() == Some(key))
        .unwrap_or_else(|| panic!("no line for {key} in:\n{report}"));
    let (assignment, source) = line.rsplit_once("  # ").expect("a source comment");
    let value = assignment.split_once(" = ").unwrap().1.trim_end();
    (value.to_string(), source.to_string())
}

/// A file sets the worker count and the worker model: the server started with it
/// runs that many workers of that model.
#[test]
fn a_server_runs_what_its_file_says() {
    let db = TestDb::fresh();
    let file = TomlFile::new("workers = 3\nmode = \"threads\"\n");
    let server = Server::start(&["--config", file.path()], &db.url());
    assert_eq!(server.workers, 3, "worker count in the listening line");
    let listening = server.wait_for_line(
        |l| l.starts_with("prefork: listening on"),
        support::server::BOOT_TIMEOUT,
    );
    assert!(listening.contains("mode threads"), "{listening}");
    let stats = get(server.port, "/stats").json();
    assert_eq!(stats["total"]["workers"], 3, "{stats}");
}

/// `batch = 1` from a file: 20 POSTs pipelined on one connection to one event-loop
/// worker take 20 commits (with the default group commit they would share commits).
#[test]
fn a_file_sets_group_commit() {
    let db = TestDb::fresh();
    let file = TomlFile::new("workers = 1\nmode = \"evloop\"\nbatch = 1\n");
    let server = Server::start(&["--config", file.path()], &db.url());
    let mut conn = Conn::open(server.port).expect("connect");
    let burst: Vec<u8> = (0..20)
        .flat_map(|i| form_request(&format!("t{i}"), "d"))
        .collect();
    conn.send(&burst).expect("send the burst");
    for _ in 0..20 {
        assert_eq!(conn.read_response().expect("response").status, 201);
    }
    let stats = get(server.port, "/stats").json();
    assert_eq!(stats["total"]["batched_rows"], 20, "{stats}");
    assert_eq!(stats["total"]["batches"], 20, "one commit per row: {stats}");
}

/// flag > env > file > default, as `--check-config` reports them; its printout is a
/// settings file that reads back to the same configuration.
#[test]
fn precedence_in_check_config() {
    let file = TomlFile::new(
        "workers = 3\nbatch = 8\nmode = \"threads\"\ndata-dir = \"/from/file\"\n\
         database-url = \"host=/from/file\"\n",
    );
    let out = run(
        &["--check-config", "--config", file.path(), "--batch", "16"],
        &[("PREFORK_DATA_DIR", "/from/env")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = stdout(&out);
    let expect = [
        ("workers", "3", "file"),
        ("mode", "\"threads\"", "file"),
        ("batch", "16", "flag"),
        ("data-dir", "\"/from/env\"", "env"),
        ("database-url", "\"host=/from/file\"", "file"),
        ("backlog", "1024", "default"),
        ("accept", "\"reuseport\"", "default"),
    ];
    for (key, value, source) in expect {
        assert_eq!(
            setting(&report, key),
            (value.to_string(), source.to_string()),
            "{key} in:\n{report}"
        );
    }
    // DATABASE_URL beats the file too.
    let env_url = run(
        &["--check-config", "--config", file.path()],
        &[("DATABASE_URL", "host=/from/env")],
    );
    assert_eq!(
        setting(&stdout(&env_url), "database-url"),
        ("\"host=/from/env\"".to_string(), "env".to_string())
    );
    // Fed back as a file, the report gives the same values, all from the file.
    let again = TomlFile::new(&report);
    let round = run(&["--check-config", "--config", again.path()], &[]);
    assert_eq!(round.status.code(), Some(0), "{}", stderr(&round));
    let round = stdout(&round);
    for (key, value, _) in expect {
        assert_eq!(
            setting(&round, key),
            (value.to_string(), "file".to_string()),
            "{key} in:\n{round}"
        );
    }
}

/// A bad file stops prefork with status 2 and a message that names the file and the
/// key or line, before anything listens.
#[test]
fn bad_files_exit_2_before_listening() {
    let dead_db = "host=/nonexistent-prefork-socket-dir dbname=prefork";
    let unreadable = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-such-config.toml");
    let unknown = TomlFile::new("workers = 2\nwokers = 3\n");
    let wrong_type = TomlFile::new("batch = \"many\"\n");
    let syntax = TomlFile::new("workers = 2\nmode = evloop\n");
    let cases = [
        (
            unknown.path(),
            "unknown key `wokers` (did you mean `workers`?)",
        ),
        (
            wrong_type.path(),
            "`batch` must be an integer, got a string",
        ),
        (unreadable.to_str().unwrap(), "cannot read the config file"),
        (syntax.path(), "line 2, column 8"),
    ];
    for (path, message) in cases {
        let mut cmd = Server::command(&["--config", path, "--database-url", dead_db]);
        cmd.env_remove("PREFORK_DATA_DIR");
        let out = cmd.output().expect("run prefork");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{path}: {err}");
        assert!(err.contains(message), "{path}: {message:?} not in {err}");
        assert!(err.contains(path), "{path} not named in {err}");
        assert!(!err.contains("prefork: listening on"), "{err}");
    }
}

/// An invalid combination from a file gives exactly the flags' message and status 2.
#[test]
fn check_config_refuses_what_a_start_would() {
    let file = TomlFile::new("db = \"evented\"\nmode = \"threads\"\n");
    let from_file = run(&["--check-config", "--config", file.path()], &[]);
    let from_flags = run(
        &["--check-config", "--db", "evented", "--mode", "threads"],
        &[],
    );
    assert_eq!(from_file.status.code(), Some(2));
    assert_eq!(from_flags.status.code(), Some(2));
    assert!(stderr(&from_flags).contains("--db evented needs --mode evloop"));
    assert_eq!(stderr(&from_file), stderr(&from_flags));
    assert!(stdout(&from_file).is_empty());
}

/// `--check-config` binds nothing and touches no database: it accepts an address a
/// start would refuse (already served) and a database that does not exist, and
/// creates no data directory.
#[test]
fn check_config_starts_nothing() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let bind = taken.local_addr().unwrap().to_string();
    let data_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(support::db::unique_name("pg"));
    let out = run(
        &[
            "--check-config",
            "--bind",
            &bind,
            "--data-dir",
            data_dir.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        setting(&stdout(&out), "bind"),
        (format!("\"{bind}\""), "flag".to_string())
    );
    assert!(!data_dir.exists(), "a data directory was created");
    let url = run(
        &[
            "--check-config",
            "--database-url",
            "host=/nonexistent dbname=x",
        ],
        &[],
    );
    assert_eq!(url.status.code(), Some(0), "{}", stderr(&url));
}

/// The example file is accepted and says what it promises: 9 event-loop workers.
#[test]
fn contrib_example_is_valid() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/prefork.toml");
    let out = run(
        &["--check-config", "--config", example.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = stdout(&out);
    assert_eq!(
        setting(&report, "workers"),
        ("9".to_string(), "file".to_string())
    );
    assert_eq!(
        setting(&report, "mode"),
        ("\"evloop\"".to_string(), "file".to_string())
    );
}
