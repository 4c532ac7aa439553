//! The merge of a command line and its `--config` file (the environment's share is
//! tested end to end in tests/config_file.rs: a unit test cannot set variables safely
//! while other tests run).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::config::{Config, ConfigError, DbMode, Mode};

/// A settings file holding `text`, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(text: &str) -> TempFile {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "prefork-config-test-{}-{n}.toml",
            std::process::id()
        ));
        std::fs::write(&path, text).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `prefork --config FILE ARGS` with `text` as the file.
fn with_file(text: &str, args: &[&str]) -> Result<Loaded, LoadError> {
    let file = TempFile::new(text);
    let path = file.0.to_str().unwrap().to_string();
    let mut argv = vec!["prefork", "--config", &path];
    argv.extend_from_slice(args);
    load(argv)
}

fn file_error(text: &str, args: &[&str]) -> FileError {
    match with_file(text, args) {
        Err(LoadError::File(e)) => e,
        Err(LoadError::Args(e)) => panic!("a command-line error: {e}"),
        Ok(loaded) => panic!("accepted: {:?}", loaded.cli),
    }
}

#[test]
fn the_file_fills_what_nobody_gave() {
    let loaded = with_file("workers = 3\nmode = \"threads\"\nbatch = 1\n", &[]).unwrap();
    assert_eq!(loaded.cli.workers, "3");
    assert_eq!(loaded.cli.mode, Mode::Threads);
    assert_eq!(loaded.cli.batch, 1);
    for key in ["workers", "mode", "batch"] {
        assert_eq!(loaded.sources.get(key), Source::File, "{key}");
    }
    assert_eq!(loaded.sources.get("bind"), Source::Default);
    assert_eq!(loaded.sources.get("threads"), Source::Default);
}

#[test]
fn a_flag_beats_the_file() {
    let loaded = with_file("workers = 3\nbatch = 8\n", &["--workers", "5"]).unwrap();
    assert_eq!(loaded.cli.workers, "5");
    assert_eq!(loaded.sources.get("workers"), Source::Flag);
    assert_eq!(loaded.cli.batch, 8);
    assert_eq!(loaded.sources.get("batch"), Source::File);
}

#[test]
fn without_a_file_sources_are_flags_and_defaults() {
    let loaded = load(["prefork", "--batch", "4"]).unwrap();
    assert_eq!(loaded.sources.get("batch"), Source::Flag);
    assert_eq!(loaded.sources.get("workers"), Source::Default);
    assert!(loaded.sources.entries.iter().all(|(k, _)| k != "config"));
}

#[test]
fn typed_values() {
    let text = "workers = \"auto\"\npin-cpus = true\nno-fork = false\ntimeout = 10\n\
                db-timeout = 2.5\nbind = \"localhost:0\"\ndata-dir = \"/srv/pg\"\n";
    let loaded = with_file(text, &[]).unwrap();
    let cli = &loaded.cli;
    assert_eq!(cli.workers, "auto");
    assert!(cli.pin_cpus && !cli.no_fork);
    assert_eq!((cli.timeout, cli.db_timeout), (10.0, Some(2.5)));
    assert_eq!(cli.bind, vec!["localhost:0".to_string()]);
    assert_eq!(cli.data_dir, Some(PathBuf::from("/srv/pg")));
    assert_eq!(loaded.sources.get("no-fork"), Source::File);
    // A flag turns a switch on even if the file says false.
    let on = with_file("pin-cpus = false\n", &["--pin-cpus"]).unwrap();
    assert!(on.cli.pin_cpus);
    assert_eq!(on.sources.get("pin-cpus"), Source::Flag);
}

/// `bind` takes one address or an array of them (Unix sockets included), and
/// `--check-config` prints the array so that it reads back; a flag replaces the file's
/// whole list; an array of something else is refused.
#[test]
fn bind_takes_an_array() {
    let text = "bind = [\"127.0.0.1:0\", \"unix:/run/p.sock\"]\nsocket-mode = \"600\"\n";
    let loaded = with_file(text, &[]).unwrap();
    assert_eq!(loaded.cli.bind, vec!["127.0.0.1:0", "unix:/run/p.sock"]);
    let config = Config::from_cli(loaded.cli).unwrap();
    let printed = report::render(&config, &loaded.sources, None);
    let table: toml::Table = printed.parse().unwrap_or_else(|e| panic!("{e}: {printed}"));
    let binds: Vec<&str> = table["bind"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(binds, ["127.0.0.1:0", "unix:/run/p.sock"]);
    assert_eq!(table["socket-mode"].as_str(), Some("600"));
    let flag = with_file(text, &["--bind", "127.0.0.1:9"]).unwrap();
    assert_eq!(flag.cli.bind, vec!["127.0.0.1:9"]);
    let e = file_error("bind = [8000]\n", &[]);
    assert!(
        e.to_string().contains("a string or an array of strings"),
        "{e}"
    );
}

#[test]
fn unknown_keys_are_refused_with_a_suggestion() {
    let e = file_error("wokers = 3\n", &[]);
    assert!(matches!(
        &e,
        FileError::UnknownKey { key, suggestion: Some(s), .. } if key == "wokers" && s == "workers"
    ));
    let text = e.to_string();
    assert!(text.contains("unknown key `wokers`") && text.contains("did you mean `workers`"));
    assert!(
        text.contains("prefork-config-test-"),
        "names the file: {text}"
    );
    assert!(matches!(
        file_error("colour = \"blue\"\n", &[]),
        FileError::UnknownKey {
            suggestion: None,
            ..
        }
    ));
    // Even a key the command line overrides must be a real one.
    assert!(matches!(
        file_error("wokers = 3\n", &["--workers", "2"]),
        FileError::UnknownKey { .. }
    ));
}

#[test]
fn actions_are_not_settings() {
    for key in [
        "init-db = true",
        "check-config = true",
        "config = \"x.toml\"",
    ] {
        assert!(
            matches!(file_error(key, &[]), FileError::NotASetting { .. }),
            "{key}"
        );
    }
}

#[test]
fn wrong_types_name_key_and_expected_type() {
    let e = file_error("batch = \"many\"\n", &[]);
    assert_eq!(
        e.to_string().split_once(": ").unwrap().1,
        "`batch` must be an integer, got a string"
    );
    let cases = [
        ("workers = 2.5", "a positive integer or \"auto\""),
        ("pin-cpus = 1", "a boolean"),
        ("mode = 1", "one of \"evloop\", \"threads\""),
        ("timeout = \"30\"", "a number of seconds"),
        ("bind = 8000", "a string"),
        ("db = [\"sync\"]", "got an array"),
    ];
    for (text, expected) in cases {
        let e = file_error(text, &[]);
        assert!(matches!(e, FileError::Type { .. }), "{text}: {e}");
        assert!(e.to_string().contains(expected), "{text}: {e}");
    }
}

#[test]
fn values_go_through_the_flags_parser() {
    let e = file_error("batch = -1\n", &[]).to_string();
    assert!(e.contains("--batch"), "{e}");
    let e = file_error("mode = \"fast\"\n", &[]).to_string();
    assert!(e.contains("fast") && e.contains("evloop"), "{e}");
    let e = file_error("group = \"root\"\n", &[]).to_string();
    assert!(e.contains("--user"), "{e}");
}

#[test]
fn unreadable_or_malformed_files() {
    let missing = load(["prefork", "--config", "/nonexistent/prefork.toml"]);
    assert!(matches!(
        missing,
        Err(LoadError::File(FileError::Read { .. }))
    ));
    let e = file_error("workers = 3\nmode = \n", &[]);
    assert!(matches!(e, FileError::Parse { .. }));
    assert!(e.to_string().contains("line 2"), "{e}");
}

/// The file's values meet the same checks as flags: `Config::from_cli` sees one
/// command line.
#[test]
fn one_validation_path() {
    let loaded = with_file("db = \"evented\"\nmode = \"threads\"\n", &[]).unwrap();
    assert_eq!(loaded.cli.db, DbMode::Evented);
    assert!(matches!(
        Config::from_cli(loaded.cli),
        Err(ConfigError::EventedNeedsEvloop)
    ));
    let loaded = with_file("workers = 0\n", &[]).unwrap();
    assert!(matches!(
        Config::from_cli(loaded.cli),
        Err(ConfigError::Workers(_))
    ));
}
