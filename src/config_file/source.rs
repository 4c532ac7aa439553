//! Where each setting's value came from.

use std::fmt;

/// The origin of one setting's effective value, by precedence: a flag beats the
/// environment, which beats the file, which beats the built-in default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Nobody set it.
    Default,
    /// The `--config` file.
    File,
    /// An environment variable (`DATABASE_URL`, `PREFORK_DATA_DIR`).
    Env,
    /// The command line.
    Flag,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Default => "default",
            Source::File => "file",
            Source::Env => "env",
            Source::Flag => "flag",
        })
    }
}

/// Every settable key (long flag name, in `--help` order) with its [`Source`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    /// `(key, source)` pairs.
    pub entries: Vec<(String, Source)>,
}

impl Sources {
    /// The source of `key` (`Default` for a key it does not know).
    pub fn get(&self, key: &str) -> Source {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map_or(Source::Default, |(_, s)| *s)
    }
}
