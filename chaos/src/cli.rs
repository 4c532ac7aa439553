//! The command line, validated once into [`Settings`].

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Parser, ValueEnum};

use crate::kind::FaultKind;
use crate::schedule::{self, Planned, Rng};

/// prefork flags chaos sets itself, refused after `--`.
const OWN_FLAGS: [&str; 4] = ["--bind", "--database-url", "--mode", "--no-fork"];

/// Drive keep-alive form POSTs at prefork while injecting faults (worker SIGKILL, master
/// SIGHUP/SIGTTIN/SIGTTOU, PostgreSQL restart and stall), then check every 201 against
/// the database. Exit status: 0 pass, 1 a write was lost or the master died, 2 bad
/// command line, 3 the run could not be carried out.
#[derive(Debug, Parser)]
#[command(version)]
pub struct Cli {
    /// How long to drive load and inject faults, in seconds. Default: 10
    #[arg(long, default_value_t = 10.0, hide_default_value = true)]
    seconds: f64,

    /// Concurrent keep-alive clients, one thread each. Default: 16
    #[arg(long, default_value_t = 16, hide_default_value = true)]
    clients: usize,

    /// prefork's worker model. Default: evloop
    #[arg(long, value_enum, default_value_t = Mode::Evloop, hide_default_value = true)]
    mode: Mode,

    /// Seed of the fault order, the victims and the stall lengths. Default: from the clock (printed in the report)
    #[arg(long)]
    seed: Option<u64>,

    /// Faults to inject, comma-separated, taken in turn in a seeded order. Default: kill,hup,ttin,ttou,pg-restart,pg-stall
    #[arg(long, value_enum, value_delimiter = ',', conflicts_with = "preset")]
    faults: Vec<FaultKind>,

    /// Seconds between two faults. Default: 1, or less so that every kind fits once
    #[arg(long, conflicts_with = "preset")]
    every: Option<f64>,

    /// A fixed scenario instead of --faults: `acceptance` is a worker SIGKILL each second, one SIGHUP and one PostgreSQL restart. Default: none
    #[arg(long, value_enum)]
    preset: Option<Preset>,

    /// Report format on stdout. Default: text
    #[arg(long, value_enum, default_value_t = Format::Text, hide_default_value = true)]
    report: Format,

    /// The prefork binary. Default: `prefork` beside this program
    #[arg(long)]
    prefork: Option<PathBuf>,

    /// Directory of the throwaway PostgreSQL cluster, replaced at start (kept after a failed run). Default: target/chaos/pg
    #[arg(long)]
    pg_dir: Option<PathBuf>,

    /// Directory for prefork's log (prefork.log). Default: target/chaos
    #[arg(long)]
    out: Option<PathBuf>,

    /// Flags for prefork after `--` (not --bind, --database-url, --mode or --no-fork: chaos sets them). Default: none
    #[arg(last = true)]
    prefork_args: Vec<String>,
}

/// prefork's worker model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// One mio event loop per worker.
    Evloop,
    /// An acceptor and a thread pool per worker.
    Threads,
}

impl Mode {
    /// The value of prefork's `--mode`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Evloop => "evloop",
            Mode::Threads => "threads",
        }
    }
}

/// A fixed fault scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// A worker SIGKILL each second, one SIGHUP, one PostgreSQL restart.
    Acceptance,
}

/// How the summary is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Markdown tables.
    Text,
    /// One JSON object.
    Json,
}

/// A command line that cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A number out of its range.
    #[error("{0}")]
    Range(&'static str),
    /// A prefork flag chaos sets itself.
    #[error("`{0}` after -- is set by chaos itself: remove it")]
    OwnFlag(String),
    /// This program's path, to find prefork beside it, is unknown.
    #[error("cannot find this program's directory ({0}): pass --prefork")]
    NoBinDir(std::io::Error),
}

/// Everything a run needs, checked.
#[derive(Debug)]
pub struct Settings {
    /// How long the load lasts.
    pub seconds: Duration,
    /// Client threads.
    pub clients: usize,
    /// prefork's `--mode`.
    pub mode: Mode,
    /// The seed the plan and the injector use.
    pub seed: u64,
    /// The faults, in time order.
    pub plan: Vec<Planned>,
    /// How the plan was chosen, for the report (`faults kill,hup every 1.00 s`).
    pub plan_label: String,
    /// Report format.
    pub format: Format,
    /// The prefork binary.
    pub prefork: PathBuf,
    /// The cluster directory.
    pub pg_dir: PathBuf,
    /// Where prefork's log goes.
    pub out: PathBuf,
    /// Extra prefork flags.
    pub prefork_args: Vec<String>,
}

impl Cli {
    /// Checks the command line and works out the fault plan.
    pub fn settings(self) -> Result<Settings, CliError> {
        if !(self.seconds > 0.0 && self.seconds <= 86_400.0) {
            return Err(CliError::Range(
                "--seconds must be more than 0 (and at most a day)",
            ));
        }
        if self.clients == 0 || self.clients > 4096 {
            return Err(CliError::Range("--clients must be from 1 to 4096"));
        }
        if self.every.is_some_and(|e| !(e > 0.0 && e.is_finite())) {
            return Err(CliError::Range("--every must be more than 0"));
        }
        if let Some(flag) = self.prefork_args.iter().find(|a| is_own_flag(a)) {
            return Err(CliError::OwnFlag(flag.clone()));
        }
        let seed = self.seed.unwrap_or_else(clock_seed);
        let seconds = Duration::from_secs_f64(self.seconds);
        let (plan, plan_label) = self.plan(seconds, seed);
        Ok(Settings {
            seconds,
            clients: self.clients,
            mode: self.mode,
            seed,
            plan,
            plan_label,
            format: self.report,
            prefork: match self.prefork {
                Some(path) => path,
                None => beside_me("prefork")?,
            },
            pg_dir: self.pg_dir.unwrap_or_else(|| chaos_dir().join("pg")),
            out: self.out.unwrap_or_else(chaos_dir),
            prefork_args: self.prefork_args,
        })
    }

    fn plan(&self, seconds: Duration, seed: u64) -> (Vec<Planned>, String) {
        if let Some(Preset::Acceptance) = self.preset {
            return (schedule::acceptance(seconds), "preset acceptance".into());
        }
        let kinds = if self.faults.is_empty() {
            FaultKind::ALL.to_vec()
        } else {
            self.faults.clone()
        };
        let every = schedule::spacing(seconds, kinds.len(), self.every);
        let plan = schedule::rotation(&kinds, seconds, every, &mut Rng::new(seed));
        let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
        let label = format!(
            "faults {} every {:.2} s",
            names.join(","),
            every.as_secs_f64()
        );
        (plan, label)
    }
}

fn is_own_flag(arg: &str) -> bool {
    OWN_FLAGS
        .iter()
        .any(|flag| arg == *flag || arg.starts_with(&format!("{flag}=")))
}

/// A seed from the clock's nanoseconds, for runs that name none.
fn clock_seed() -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH);
    now.map_or(0, |d| d.as_nanos() as u64)
}

/// `target/chaos` of this workspace (a development tool run from its checkout).
fn chaos_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."));
    workspace.join("target").join("chaos")
}

/// A program in this program's directory (where cargo puts every workspace binary).
fn beside_me(name: &str) -> Result<PathBuf, CliError> {
    let me = std::env::current_exe().map_err(CliError::NoBinDir)?;
    Ok(me.parent().unwrap_or(Path::new(".")).join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Settings, CliError> {
        let argv = std::iter::once("prefork-chaos").chain(args.iter().copied());
        Cli::try_parse_from(argv)
            .expect("clap accepts it")
            .settings()
    }

    /// Defaults: 10 s, 16 clients, evloop, every fault kind in the plan.
    #[test]
    fn defaults() {
        let s = parse(&["--seed", "7"]).unwrap();
        assert_eq!((s.seconds.as_secs(), s.clients), (10, 16));
        assert_eq!(s.mode, Mode::Evloop);
        for kind in FaultKind::ALL {
            assert!(s.plan.iter().any(|p| p.kind == kind), "{kind:?} planned");
        }
        assert!(s.prefork.ends_with("prefork") && s.pg_dir.ends_with("chaos/pg"));
    }

    /// Flags after `--` reach prefork, but not the ones chaos sets itself.
    #[test]
    fn prefork_flags() {
        let s = parse(&["--", "--workers", "3"]).unwrap();
        assert_eq!(s.prefork_args, ["--workers", "3"]);
        let err = parse(&["--", "--bind=127.0.0.1:1"]).unwrap_err();
        assert!(matches!(err, CliError::OwnFlag(_)), "{err}");
    }

    /// Out-of-range numbers are refused with the flag's name.
    #[test]
    fn ranges() {
        for args in [
            &["--seconds", "0"][..],
            &["--clients", "0"],
            &["--every", "0"],
        ] {
            let err = parse(args).unwrap_err().to_string();
            assert!(err.contains(args[0]), "{err}");
        }
    }

    /// --preset and --faults exclude each other.
    #[test]
    fn preset_conflicts_with_faults() {
        let argv = [
            "prefork-chaos",
            "--preset",
            "acceptance",
            "--faults",
            "kill",
        ];
        assert!(Cli::try_parse_from(argv).is_err());
    }
}
