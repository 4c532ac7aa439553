//! `--check-config`'s printout: every settable key with its effective value (after
//! defaults, `auto`, name resolution and account lookup) and its source, as TOML that
//! `--config` reads back (the password of a database URL masked).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use clap::{CommandFactory, ValueEnum};

use crate::config::{Cli, Config, Mode};
use crate::config_file::keys;
use crate::config_file::source::Sources;

/// Column at which the `# source` comments start.
const COMMENT_COLUMN: usize = 40;

/// One key's effective value.
enum Effective {
    /// A TOML literal.
    Value(String),
    /// The key has no value; the text says what happens instead.
    Unset(&'static str),
}

/// The effective configuration, one `key = value  # source` line per settable key in
/// `--help` order (a key without a value, or `threads` in the event loop, as a
/// comment), then the configuration's warnings as comments.
pub fn render(config: &Config, sources: &Sources, file: Option<&Path>) -> String {
    let mut out = String::new();
    let file = file.map_or("none".to_string(), |p| p.display().to_string());
    let _ = writeln!(
        out,
        "# prefork --check-config: the effective configuration; each value's source is\n\
         # flag > env > file > default. Config file: {file}"
    );
    let cmd = Cli::command();
    for arg in keys::settable(&cmd) {
        let Some(key) = arg.get_long() else { continue };
        let source = sources.get(key);
        let line = match effective(key, config) {
            // Read back, a value would only earn a warning (no effect in the event loop).
            Some(Effective::Value(value)) if key == "threads" && config.mode == Mode::Evloop => {
                format!("# {key} = {value} with mode \"threads\"")
            }
            Some(Effective::Value(value)) => format!("{key} = {value}"),
            Some(Effective::Unset(instead)) => format!("# {key} not set: {instead}"),
            None => format!("# {key}: not shown"),
        };
        let _ = writeln!(out, "{line:<COMMENT_COLUMN$}  # {source}");
    }
    for warning in &config.warnings {
        let _ = writeln!(out, "# warning: {warning}");
    }
    out
}

/// `key`'s effective value in `config`; `None` for a key this report does not know (a
/// unit test keeps that from happening).
fn effective(key: &str, c: &Config) -> Option<Effective> {
    use Effective::{Unset, Value};
    let int = |n: u64| Value(n.to_string());
    let size = |n: usize| Value(n.to_string());
    Some(match key {
        "bind" => Value(match c.binds.as_slice() {
            [one] => quote(&one.to_string()),
            many => {
                let quoted: Vec<String> = many.iter().map(|b| quote(&b.to_string())).collect();
                format!("[{}]", quoted.join(", "))
            }
        }),
        "socket-mode" => Value(quote(&format!("{:o}", c.socket_mode))),
        "socket-owner" => match c.socket_owner {
            Some(owner) => Value(quote(&owner_text(owner))),
            None => Unset("the user prefork runs as"),
        },
        "workers" => size(c.workers),
        "app" => Value(choice(c.app)),
        "mode" => Value(choice(c.mode)),
        "threads" => size(c.threads),
        "accept" => Value(choice(c.accept)),
        "backlog" => Value(c.backlog.to_string()),
        "database-url" => match &c.database_url {
            Some(url) => Value(quote(&crate::tasks::db::mask_password(url))),
            None => Unset("the private cluster in data-dir"),
        },
        "data-dir" => Value(quote(&c.data_dir.display().to_string())),
        "db-timeout" => Value(seconds(c.db_timeout)),
        "db" => Value(choice(c.db)),
        "db-conns" => size(c.db_conns),
        "max-body" => size(c.limits.max_body),
        "read-timeout" => Value(seconds(c.read_timeout)),
        "keepalive-timeout" => Value(seconds(c.keepalive_timeout)),
        "graceful-timeout" => Value(seconds(c.graceful_timeout)),
        "timeout" => Value(seconds(c.timeout.unwrap_or_default())),
        "max-requests" => int(c.max_requests.unwrap_or(0)),
        "max-connections" => match c.max_connections {
            Some(n) => size(n),
            None => Unset("derived from RLIMIT_NOFILE when workers start"),
        },
        "max-requests-jitter" => int(c.max_requests_jitter),
        "max-in-flight" => size(c.max_in_flight),
        "batch" => size(c.batch),
        "pin-cpus" => Value(c.pin_cpus.to_string()),
        "access-log" => match &c.access_log {
            Some(target) => Value(quote(&target.to_string())),
            None => Unset("no access log"),
        },
        "pid" => match &c.pid_file {
            Some(path) => Value(quote(&path.display().to_string())),
            None => Unset("no pid file"),
        },
        "user" => match &c.run_as {
            Some(run_as) => Value(quote(&run_as.user)),
            None => Unset("workers run as the starting user (as root: nobody)"),
        },
        "group" => match &c.run_as {
            Some(run_as) => Value(quote(&group_name(run_as.gid))),
            None => Unset("the user's primary group"),
        },
        "no-fork" => Value(c.no_fork.to_string()),
        _ => return None,
    })
}

/// The name clap knows a value by (`evloop`, `reuseport`, …), quoted.
fn choice(value: impl ValueEnum) -> String {
    let name = value.to_possible_value().map(|v| v.get_name().to_string());
    quote(&name.unwrap_or_default())
}

/// Seconds as a TOML number (`5`, `0.5`).
fn seconds(d: Duration) -> String {
    d.as_secs_f64().to_string()
}

/// A group's name, or its number if it has none.
fn group_name(gid: nix::unistd::Gid) -> String {
    match nix::unistd::Group::from_gid(gid) {
        Ok(Some(group)) => group.name,
        _ => gid.to_string(),
    }
}

/// A TOML basic string.
fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `--socket-owner` as numeric ids, `UID:GID`, `UID` or `:GID` (what it resolved to).
fn owner_text(owner: crate::unix_socket::Owner) -> String {
    let uid = owner.uid.map(|u| u.to_string()).unwrap_or_default();
    match owner.gid {
        Some(gid) => format!("{uid}:{gid}"),
        None => uid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key a file may set has a line with a value or a reason.
    #[test]
    fn every_settable_key_is_reported() {
        let config = Config::from_cli(Cli::parse_from(["prefork"])).unwrap();
        let cmd = Cli::command();
        for arg in keys::settable(&cmd) {
            let key = arg.get_long().unwrap();
            assert!(effective(key, &config).is_some(), "{key} is not reported");
        }
    }

    #[test]
    fn quoting_is_toml() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        let table: toml::Table = format!("k = {}", quote("x\u{1}\ny")).parse().unwrap();
        assert_eq!(table["k"].as_str(), Some("x\u{1}\ny"));
    }

    use clap::Parser;
}
