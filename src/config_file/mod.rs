//! `--config FILE`: settings from a TOML file, merged under the command line and the
//! environment before the one validation, [`Config::from_cli`](crate::config::Config::from_cli).
//!
//! The file's keys are the long flag names (`workers = 9`, `pin-cpus = true`). The merge
//! uses clap's own parse: the command line (with clap's `env` fallbacks) is parsed
//! once; every file entry whose flag was given neither on the command line nor in the
//! environment becomes a `--key=value` argument appended to the command line, and the
//! whole is parsed again. So a flag beats an environment variable, which beats the
//! file, which beats the built-in default, and a file's value goes through the same
//! parser and the same checks as the flag's.
//!
//! - `keys`: which flags a file may set, the TOML type of each, the argument it becomes.
//! - `report`: `--check-config`'s printout of the effective configuration.
//! - `source`, `error`: what the merge tells about each setting, and why it stopped.

mod error;
mod keys;
mod report;
mod source;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use crate::config::Cli;
pub use error::{FileError, LoadError};
pub use report::render;
pub use source::{Source, Sources};

/// A command line merged with its `--config` file: what to validate, and where each
/// setting came from.
#[derive(Debug)]
pub struct Loaded<P = Cli> {
    /// The merged command line: prefork's [`Cli`] (for
    /// [`Config::from_cli`](crate::config::Config::from_cli)), or a program's own
    /// parser that flattens it.
    pub cli: P,
    /// Each settable key's source.
    pub sources: Sources,
}

/// Parses `args` (the program name first, as [`std::env::args_os`]) as prefork's
/// command line and, with `--config FILE`, merges the file under it.
pub fn load<I, T>(args: I) -> Result<Loaded, LoadError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    load_into::<Cli, I, T>(args)
}

/// [`load`] for a program whose parser `P` flattens [`Cli`] (`#[command(flatten)]`)
/// beside flags of its own: every long flag of `P` is a key of the file, and `P` needs
/// a `config` argument (the flattened `Cli` has it).
pub fn load_into<P, I, T>(args: I) -> Result<Loaded<P>, LoadError>
where
    P: CommandFactory + FromArgMatches,
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cmd = P::command();
    let given = cmd
        .clone()
        .try_get_matches_from(&args)
        .map_err(LoadError::Args)?;
    let Some(path) = given.get_one::<PathBuf>("config").cloned() else {
        let cli = P::from_arg_matches(&given).map_err(LoadError::Args)?;
        let sources = sources(&cmd, &given, &[]);
        return Ok(Loaded { cli, sources });
    };
    let table = read(&path).map_err(LoadError::File)?;
    let (extra, from_file) =
        file_arguments(&cmd, &path, &table, &given).map_err(LoadError::File)?;
    let refused = |e: clap::Error| {
        LoadError::File(FileError::Value {
            path: path.clone(),
            message: clap_message(&e),
        })
    };
    let merged = cmd
        .clone()
        .try_get_matches_from(
            args.iter()
                .cloned()
                .chain(extra.into_iter().map(OsString::from)),
        )
        .map_err(refused)?;
    let cli = P::from_arg_matches(&merged).map_err(refused)?;
    let keys: Vec<&str> = from_file.iter().map(String::as_str).collect();
    Ok(Loaded {
        cli,
        sources: sources(&cmd, &given, &keys),
    })
}

/// The file as a TOML table.
fn read(path: &Path) -> Result<toml::Table, FileError> {
    let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    text.parse::<toml::Table>().map_err(|e| FileError::Parse {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })
}

/// The arguments the file adds (for flags not given on the command line nor in the
/// environment), and every key the file sets (all of them checked, used or not).
fn file_arguments(
    cmd: &clap::Command,
    path: &Path,
    table: &toml::Table,
    given: &ArgMatches,
) -> Result<(Vec<String>, Vec<String>), FileError> {
    let settable = keys::settable(cmd);
    let mut extra = Vec::new();
    let mut from_file = Vec::new();
    for (key, value) in table {
        let Some(arg) = settable.iter().find(|a| a.get_long() == Some(key.as_str())) else {
            if keys::NOT_SETTINGS.contains(&key.as_str()) {
                return Err(FileError::NotASetting {
                    path: path.to_path_buf(),
                    key: key.clone(),
                });
            }
            return Err(FileError::UnknownKey {
                path: path.to_path_buf(),
                key: key.clone(),
                suggestion: keys::closest(key, settable.iter().filter_map(|a| a.get_long())),
            });
        };
        let argument = keys::to_argument(path, arg, key, value)?;
        if explicit(given, arg.get_id().as_str()).is_none() {
            extra.extend(argument);
            from_file.push(key.clone());
        }
    }
    Ok((extra, from_file))
}

/// `Flag` or `Env` when the command line or the environment gave `id`.
fn explicit(matches: &ArgMatches, id: &str) -> Option<Source> {
    match matches.value_source(id) {
        Some(ValueSource::CommandLine) => Some(Source::Flag),
        Some(ValueSource::EnvVariable) => Some(Source::Env),
        _ => None,
    }
}

/// Every settable key's source: the command line's or environment's, else the file's
/// if it is in `from_file`, else the default.
fn sources(cmd: &clap::Command, given: &ArgMatches, from_file: &[&str]) -> Sources {
    let entries = keys::settable(cmd)
        .into_iter()
        .filter_map(|arg| {
            let key = arg.get_long()?;
            let source =
                explicit(given, arg.get_id().as_str()).unwrap_or(if from_file.contains(&key) {
                    Source::File
                } else {
                    Source::Default
                });
            Some((key.to_string(), source))
        })
        .collect();
    Sources { entries }
}

/// clap's report on one line, without its `error: ` prefix and its usage tips (which
/// follow the first blank line).
fn clap_message(e: &clap::Error) -> String {
    let text = e.to_string();
    let lines: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let joined = lines.join(" ");
    joined
        .strip_prefix("error: ")
        .unwrap_or(&joined)
        .to_string()
}

#[cfg(test)]
mod tests;
