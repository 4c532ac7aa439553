//! The command line (clap derives [`Cli`]) and its validation, once, into a plain
//! [`Config`] the rest of the runner reads.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use loadgen::units::parse_duration;

use crate::model::{Knobs, SaturationLoad, SeedLoad, System, Tag};

/// `prefork-bench` command line; `bin/bench` passes its arguments through unchanged.
#[derive(Debug, Parser)]
#[command(
    name = "prefork-bench",
    version,
    about = "The experiment's rounds on this machine: prefork vs Express/PM2 vs Django/Gunicorn \
             vs axum, direct and through nginx, with loadgen and a private PostgreSQL"
)]
pub struct Cli {
    /// Smoke run (about a minute): the experiment's round 2 only (2 workers per system),
    /// 10 users × 100, saturation runs of 3 s. Default: off
    #[arg(long)]
    pub quick: bool,

    /// Run only these systems and/or phases (comma-separated): prefork, prefork-evloop,
    /// prefork-threads, express, django, axum, pgbench (the ceiling row); seed, saturation, direct,
    /// nginx, group-commit (pgbench, prefork --batch 1 vs group commit, axum's pool sizes), accept
    /// (--accept reuseport vs shared), ceilings (prefork --app hello and nginx's
    /// return 200 beside group commit), access-log (prefork without and with
    /// --access-log FILE, each pair run alternately: its cost). Default: everything
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,

    /// Leave out the reference peers, Express, Django and axum (their rows say so). Default: off
    #[arg(long)]
    pub no_peers: bool,

    /// Leave out nginx: the saturation rounds through it and its `return 200` ceiling.
    /// Default: off
    #[arg(long)]
    pub no_nginx: bool,

    /// Run every cell N times, each with a fresh server, and report the median and the
    /// min–max spread. Default: 1
    #[arg(long, default_value_t = 1, hide_default_value = true)]
    pub repeat: usize,

    /// Users (concurrent connections) of the seed rounds. Default: 10
    #[arg(long)]
    pub users: Option<u64>,

    /// Requests per user in the seed rounds. Default: 1000 (100 with --quick)
    #[arg(long)]
    pub loops: Option<u64>,

    /// Keep-alive connections of the saturation rounds. Default: 64
    #[arg(long, default_value_t = 64, hide_default_value = true)]
    pub connections: u64,

    /// Target length of each saturation run (`10s`, `500ms`). Default: 10s (3s with --quick)
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Warm-up before each saturation run; its rate sizes the run. Default: 2s (1s with --quick)
    #[arg(long, value_parser = parse_duration)]
    pub warmup: Option<Duration>,

    /// Pass `--pin-cpus` to every prefork (worker i bound to CPU i mod N). Default: off
    #[arg(long)]
    pub pin_cpus: bool,

    /// Pass `--backlog N` to every prefork. Default: prefork's own default
    #[arg(long, value_name = "N")]
    pub backlog: Option<u32>,

    /// Directory for results.json, results.svg and the servers' logs. Default: target/bench
    #[arg(long)]
    pub out: Option<PathBuf>,

    /// Directory of the private PostgreSQL cluster. Default: target/pg/bench
    #[arg(long)]
    pub pg_dir: Option<PathBuf>,

    /// Directory holding the `prefork` and `loadgen` binaries. Default: this program's directory
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
}

/// A bad command line, reported with exit status 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// An `--only` word that names no system and no phase.
    #[error("--only: unknown word `{0}` (systems: prefork, prefork-evloop, prefork-threads, express, django, axum, pgbench; phases: seed, saturation, direct, nginx, group-commit, accept, ceilings, access-log)")]
    UnknownOnly(String),
    /// A count that must be at least one.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    /// The runner's own path (to find its sibling binaries) is unknown.
    #[error("cannot find this program's directory: {0}; pass --bin-dir")]
    NoBinDir(std::io::Error),
}

/// Which cells to run: both lists empty means all.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Systems named by `--only` (empty: every system).
    pub systems: Vec<System>,
    /// Phases named by `--only` (empty: every phase).
    pub tags: Vec<Tag>,
}

impl Filter {
    /// Whether a cell of `system` carrying `tags` is selected.
    pub fn selects(&self, system: System, tags: &[Tag]) -> bool {
        let system_ok = self.systems.is_empty() || self.systems.contains(&system);
        let tag_ok = self.tags.is_empty() || tags.iter().any(|t| self.tags.contains(t));
        system_ok && tag_ok
    }

    /// Parses the `--only` words.
    fn parse(words: &[String]) -> Result<Filter, ConfigError> {
        let mut filter = Filter::default();
        for word in words.iter().map(|w| w.trim().to_ascii_lowercase()) {
            if word.is_empty() {
                continue;
            }
            if let Some(tag) = Tag::parse(&word) {
                filter.tags.push(tag);
            } else if let Some(systems) = System::parse_group(&word) {
                filter.systems.extend(systems);
            } else {
                return Err(ConfigError::UnknownOnly(word));
            }
        }
        Ok(filter)
    }
}

/// Where things are.
#[derive(Clone, Debug)]
pub struct Paths {
    /// The workspace root (peers/, nginx.conf).
    pub root: PathBuf,
    /// Results and logs.
    pub out: PathBuf,
    /// The private PostgreSQL cluster.
    pub pg_dir: PathBuf,
    /// `prefork` and `loadgen`.
    pub bin_dir: PathBuf,
}

/// The validated configuration of one bench.
#[derive(Clone, Debug)]
pub struct Config {
    /// `--quick`: one cell per system.
    pub quick: bool,
    /// `--only`.
    pub filter: Filter,
    /// The reference peers (Express, Django, axum) take part (no `--no-peers`).
    pub peers: bool,
    /// The rounds through nginx take part (no `--no-nginx`).
    pub nginx: bool,
    /// Runs per cell.
    pub repeat: usize,
    /// The seed rounds' load.
    pub seed: SeedLoad,
    /// The saturation rounds' load.
    pub saturation: SaturationLoad,
    /// Flags passed to every prefork.
    pub knobs: Knobs,
    /// Directories.
    pub paths: Paths,
}

impl Config {
    /// The configuration `prefork-bench ARGS` makes (tests).
    #[cfg(test)]
    pub fn parsed(args: &[&str]) -> Config {
        let all = std::iter::once("prefork-bench").chain(args.iter().copied());
        Config::from_cli(<Cli as clap::Parser>::parse_from(all)).unwrap()
    }

    /// Validates the command line.
    pub fn from_cli(cli: Cli) -> Result<Config, ConfigError> {
        let loops = cli.loops.unwrap_or(if cli.quick { 100 } else { 1000 });
        let users = cli.users.unwrap_or(10);
        for (name, value) in [("--users", users), ("--loops", loops)] {
            if value == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        if cli.repeat == 0 {
            return Err(ConfigError::Zero("--repeat"));
        }
        if cli.connections == 0 {
            return Err(ConfigError::Zero("--connections"));
        }
        if cli.backlog == Some(0) {
            return Err(ConfigError::Zero("--backlog"));
        }
        let secs = |quick, full| Duration::from_secs(if cli.quick { quick } else { full });
        Ok(Config {
            quick: cli.quick,
            filter: Filter::parse(&cli.only)?,
            peers: !cli.no_peers,
            nginx: !cli.no_nginx,
            repeat: cli.repeat,
            seed: SeedLoad {
                users,
                loops,
                // Enough to start JITs, pools and caches; about 5% of the run.
                warmup_loops: (loops / 20).max(1),
            },
            saturation: SaturationLoad {
                connections: cli.connections,
                duration: cli.duration.unwrap_or(secs(3, 10)),
                warmup: cli.warmup.unwrap_or(secs(1, 2)),
            },
            knobs: Knobs {
                pin_cpus: cli.pin_cpus,
                backlog: cli.backlog,
            },
            paths: paths(cli.out, cli.pg_dir, cli.bin_dir)?,
        })
    }
}

/// The workspace root: two levels above this crate's manifest (`benches/runner`).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .unwrap_or(manifest)
        .to_path_buf()
}

fn paths(
    out: Option<PathBuf>,
    pg_dir: Option<PathBuf>,
    bin_dir: Option<PathBuf>,
) -> Result<Paths, ConfigError> {
    let root = workspace_root();
    let bin_dir = match bin_dir {
        Some(dir) => dir,
        None => std::env::current_exe()
            .map_err(ConfigError::NoBinDir)?
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    };
    Ok(Paths {
        out: out.unwrap_or_else(|| root.join("target").join("bench")),
        pg_dir: pg_dir.unwrap_or_else(|| root.join("target").join("pg").join("bench")),
        bin_dir,
        root,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Result<Config, ConfigError> {
        let mut all = vec!["prefork-bench"];
        all.extend(args);
        Config::from_cli(Cli::parse_from(all))
    }

    /// Defaults are the published model; --quick shrinks the loops and durations.
    #[test]
    fn defaults_and_quick() {
        let full = config(&[]).unwrap();
        assert_eq!((full.seed.users, full.seed.loops), (10, 1000));
        assert_eq!(full.seed.warmup_loops, 50);
        assert_eq!(full.saturation.duration, Duration::from_secs(10));
        let quick = config(&["--quick"]).unwrap();
        assert_eq!(quick.seed.loops, 100);
        assert_eq!(quick.saturation.duration, Duration::from_secs(3));
        let tiny = config(&["--users", "2", "--loops", "10"]).unwrap();
        assert_eq!(
            (tiny.seed.users, tiny.seed.loops, tiny.seed.warmup_loops),
            (2, 10, 1)
        );
    }

    /// `--only` mixes systems and phases; unknown words are rejected.
    #[test]
    fn only_filter() {
        let cfg = config(&["--only", "prefork,seed"]).unwrap();
        assert!(cfg
            .filter
            .selects(System::PreforkEvloop, &[Tag::Seed, Tag::Direct]));
        assert!(cfg.filter.selects(System::PreforkThreads, &[Tag::Seed]));
        assert!(!cfg.filter.selects(System::Express, &[Tag::Seed]));
        assert!(!cfg
            .filter
            .selects(System::PreforkEvloop, &[Tag::Saturation]));
        assert!(matches!(
            config(&["--only", "tomcat"]),
            Err(ConfigError::UnknownOnly(_))
        ));
        assert!(matches!(
            config(&["--repeat", "0"]),
            Err(ConfigError::Zero(_))
        ));
        let sections = config(&["--only", "accept,batch,access-log"]).unwrap();
        assert_eq!(
            sections.filter.tags,
            [Tag::Accept, Tag::GroupCommit, Tag::AccessLog]
        );
    }

    /// `--pin-cpus` and `--backlog` become the knobs passed to prefork.
    #[test]
    fn knobs() {
        assert_eq!(config(&[]).unwrap().knobs, Knobs::default());
        let cfg = config(&["--pin-cpus", "--backlog", "4096"]).unwrap();
        assert_eq!(cfg.knobs.args(), ["--pin-cpus", "--backlog", "4096"]);
        assert!(matches!(
            config(&["--backlog", "0"]),
            Err(ConfigError::Zero(_))
        ));
    }
}
