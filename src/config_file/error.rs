//! Why the command line and the settings file could not be merged.

use std::io;
use std::path::PathBuf;

/// Why `load` stopped: the command line itself (clap's own report, also `--help` and
/// `--version`), or the `--config` file.
#[derive(Debug)]
pub enum LoadError {
    /// The command line: print it with [`clap::Error::exit`] (usage errors exit 2).
    Args(clap::Error),
    /// The settings file (exit status 2, like any other configuration error).
    File(FileError),
}

/// What is wrong with the `--config` file; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file cannot be read.
    #[error("cannot read the config file {}: {source}; check the path given to --config and its permissions", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// The file is not TOML (the message has TOML's line and column).
    #[error("{} is not valid TOML: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The TOML parser's report, with the line and column.
        message: String,
    },
    /// A key that is no flag's name.
    #[error("{}: unknown key `{key}`{}: the keys are the long flag names of `prefork --help`, without the dashes", path.display(), suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The key as written.
        key: String,
        /// The closest flag name, when one is close.
        suggestion: Option<String>,
    },
    /// A flag that is an action of one command line, not a setting.
    #[error("{}: `{key}` cannot be set in a config file (it is a one-shot action or names the file itself): give --{key} on the command line", path.display())]
    NotASetting {
        /// The file.
        path: PathBuf,
        /// The key as written.
        key: String,
    },
    /// A value of the wrong TOML type.
    #[error("{}: `{key}` must be {expected}, got {found}", path.display())]
    Type {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// What the key takes, e.g. "an integer".
        expected: String,
        /// The TOML type found, e.g. "a string".
        found: &'static str,
    },
    /// A value of the right type that the flag's own parser refused (clap's message,
    /// which names the flag and the accepted values).
    #[error("{}: {message}", path.display())]
    Value {
        /// The file.
        path: PathBuf,
        /// clap's report.
        message: String,
    },
}
