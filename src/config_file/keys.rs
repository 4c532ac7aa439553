//! The file's keys are the flags of [`Cli`](crate::config::Cli): which flags a file may set, the TOML type
//! each takes (read off the flag's clap definition, so a new flag is a new key), and
//! the `--key=value` argument a file entry becomes.

use std::any::TypeId;
use std::path::Path;

use clap::{Arg, ArgAction};

use crate::config_file::error::FileError;

/// Flags that are actions of one command line (or name the file itself), never
/// settings: refused in a file.
pub(super) const NOT_SETTINGS: [&str; 5] = ["config", "check-config", "init-db", "help", "version"];

/// The TOML type a key takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// An on/off flag: a boolean.
    Switch,
    /// A count or size: an integer.
    Integer,
    /// Seconds: a float or an integer.
    Seconds,
    /// `--workers`: an integer, or the string "auto".
    CountOrAuto,
    /// One of a fixed set of names: a string.
    Choice(Vec<String>),
    /// Free text (an address, a path, a name): a string.
    Text,
    /// A flag that may be repeated (`--bind`): a string, or an array of strings.
    TextList,
}

impl Kind {
    /// The kind of the flag `arg`.
    pub(super) fn of(arg: &Arg) -> Kind {
        if matches!(arg.get_action(), ArgAction::SetTrue) {
            return Kind::Switch;
        }
        if matches!(arg.get_action(), ArgAction::Append) {
            return Kind::TextList;
        }
        if arg.get_long() == Some("workers") {
            return Kind::CountOrAuto;
        }
        let choices: Vec<String> = arg
            .get_possible_values()
            .iter()
            .map(|v| v.get_name().to_string())
            .collect();
        if !choices.is_empty() {
            return Kind::Choice(choices);
        }
        let id = arg.get_value_parser().type_id();
        let integers = [
            TypeId::of::<usize>(),
            TypeId::of::<u64>(),
            TypeId::of::<u32>(),
            TypeId::of::<u16>(),
            TypeId::of::<i32>(),
            TypeId::of::<i64>(),
        ];
        if integers.iter().any(|t| id == *t) {
            Kind::Integer
        } else if id == TypeId::of::<f64>() {
            Kind::Seconds
        } else {
            Kind::Text
        }
    }

    /// What the kind takes, for messages.
    fn expected(&self) -> String {
        match self {
            Kind::Switch => "a boolean (true or false)".to_string(),
            Kind::Integer => "an integer".to_string(),
            Kind::Seconds => "a number of seconds (a float or an integer)".to_string(),
            Kind::CountOrAuto => "a positive integer or \"auto\"".to_string(),
            Kind::Choice(names) => {
                let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
                format!("a string, one of {}", quoted.join(", "))
            }
            Kind::Text => "a string".to_string(),
            Kind::TextList => "a string or an array of strings".to_string(),
        }
    }
}

/// The flags a file may set, in `--help` order.
pub(super) fn settable(cmd: &clap::Command) -> Vec<&Arg> {
    cmd.get_arguments()
        .filter(|a| a.get_long().is_some_and(|l| !NOT_SETTINGS.contains(&l)))
        .collect()
}

/// The arguments `key = value` becomes (`--key=value`; one per element of an array
/// for a repeatable flag; none for `false` of an on/off flag); an error naming the key
/// and the file if the TOML type is wrong.
pub(super) fn to_argument(
    path: &Path,
    arg: &Arg,
    key: &str,
    value: &toml::Value,
) -> Result<Vec<String>, FileError> {
    use toml::Value as V;
    let kind = Kind::of(arg);
    let wrong = |found: &toml::Value| FileError::Type {
        path: path.to_path_buf(),
        key: key.to_string(),
        expected: kind.expected(),
        found: toml_type(found),
    };
    let text = match (&kind, value) {
        (Kind::Switch, V::Boolean(on)) => {
            return Ok(on.then(|| format!("--{key}")).into_iter().collect())
        }
        (Kind::Integer | Kind::Seconds | Kind::CountOrAuto, V::Integer(n)) => n.to_string(),
        (Kind::Seconds, V::Float(x)) => x.to_string(),
        (Kind::CountOrAuto | Kind::Choice(_) | Kind::Text | Kind::TextList, V::String(s)) => {
            s.clone()
        }
        (Kind::TextList, V::Array(items)) if !items.is_empty() => {
            return items
                .iter()
                .map(|item| match item {
                    V::String(s) => Ok(format!("--{key}={s}")),
                    other => Err(wrong(other)),
                })
                .collect();
        }
        _ => return Err(wrong(value)),
    };
    Ok(vec![format!("--{key}={text}")])
}

/// "a string", "an integer", … for messages.
fn toml_type(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date-time",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

/// The settable key closest to `key` (at most a third of its letters off), for "did
/// you mean".
pub(super) fn closest<'a>(key: &str, keys: impl Iterator<Item = &'a str>) -> Option<String> {
    keys.map(|k| (edit_distance(key, k), k))
        .filter(|(d, _)| *d <= key.len().max(3) / 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.to_string())
}

/// Levenshtein distance: insertions, deletions and substitutions of characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Cli;
    use clap::CommandFactory;

    #[test]
    fn kinds_follow_the_flag_definitions() {
        let cmd = Cli::command();
        let kind = |long: &str| {
            let arg = cmd.get_arguments().find(|a| a.get_long() == Some(long));
            Kind::of(arg.expect("a flag"))
        };
        assert_eq!(kind("pin-cpus"), Kind::Switch);
        assert_eq!(kind("batch"), Kind::Integer);
        assert_eq!(kind("backlog"), Kind::Integer);
        assert_eq!(kind("db-timeout"), Kind::Seconds);
        assert_eq!(kind("timeout"), Kind::Seconds);
        assert_eq!(kind("workers"), Kind::CountOrAuto);
        assert_eq!(
            kind("mode"),
            Kind::Choice(vec!["evloop".to_string(), "threads".to_string()])
        );
        assert_eq!(kind("bind"), Kind::TextList);
        assert_eq!(kind("data-dir"), Kind::Text);
    }

    #[test]
    fn one_shot_actions_are_not_settings() {
        let cmd = Cli::command();
        let keys: Vec<&str> = settable(&cmd).iter().filter_map(|a| a.get_long()).collect();
        for action in NOT_SETTINGS {
            assert!(!keys.contains(&action), "{action}");
        }
        assert!(keys.contains(&"workers") && keys.contains(&"no-fork"));
    }

    #[test]
    fn suggestions_for_typos_only() {
        let keys = ["workers", "max-in-flight", "db-conns", "db"];
        let near = |k: &str| closest(k, keys.iter().copied());
        assert_eq!(near("wokers").as_deref(), Some("workers"));
        assert_eq!(near("max_in_flight").as_deref(), Some("max-in-flight"));
        assert_eq!(near("db-con").as_deref(), Some("db-conns"));
        assert_eq!(near("colour"), None);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
