//! prefork's run modes as the bench varies them (worker model, worker count, group-commit
//! batch, accept strategy), the bench-wide knobs passed to every prefork (`--pin-cpus`,
//! `--backlog`), and prefork's command line.

use serde::Serialize;

use crate::system::{Env, Launch, Mode};

/// prefork's `--batch` when the bench does not vary it (the server's default).
pub const DEFAULT_BATCH: u32 = 256;

/// prefork's `--accept`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Accept {
    /// One `SO_REUSEPORT` listener per worker: the kernel spreads connections.
    Reuseport,
    /// One listener for every worker (the Gunicorn/PM2 model).
    Shared,
}

impl Accept {
    /// The flag's value.
    pub fn name(self) -> &'static str {
        match self {
            Accept::Reuseport => "reuseport",
            Accept::Shared => "shared",
        }
    }
}

/// One prefork run mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Prefork {
    /// Worker model.
    pub mode: Mode,
    /// Worker processes.
    pub workers: u32,
    /// `--threads` in threads mode (None: prefork's default, 2 × CPUs).
    pub threads: Option<u32>,
    /// `--batch`: most inserts committed together (1 = one commit per request).
    pub batch: u32,
    /// `--accept`.
    pub accept: Accept,
}

impl Prefork {
    /// The published rounds' run mode: default batch, reuseport.
    pub fn plain(mode: Mode, workers: u32) -> Prefork {
        Prefork {
            mode,
            workers,
            threads: None,
            batch: DEFAULT_BATCH,
            accept: Accept::Reuseport,
        }
    }

    /// Whether threads, batch and accept are the defaults (a published round's run mode).
    pub fn is_plain(&self) -> bool {
        *self == Prefork::plain(self.mode, self.workers)
    }

    /// `2 workers, batch 256`, `2 workers × 32 threads, batch 1`, `4 workers, batch 256,
    /// shared accept`: the batch always shows, now that it is what the bench varies.
    pub fn label(&self) -> String {
        let mut label = match self.workers {
            1 => "1 worker".to_string(),
            n => format!("{n} workers"),
        };
        if let Some(t) = self.threads {
            label.push_str(&format!(" × {t} threads"));
        }
        label.push_str(&format!(", batch {}", self.batch));
        if self.accept != Accept::Reuseport {
            label.push_str(&format!(", {} accept", self.accept.name()));
        }
        label
    }

    /// `evloop-2`, `threads-2-t32-b1`, `evloop-4-shared`: the published rounds keep
    /// their keys.
    pub fn key(&self) -> String {
        let mut key = format!("{}-{}", mode_name(self.mode), self.workers);
        if let Some(t) = self.threads {
            key.push_str(&format!("-t{t}"));
        }
        if self.batch != DEFAULT_BATCH {
            key.push_str(&format!("-b{}", self.batch));
        }
        if self.accept != Accept::Reuseport {
            key.push_str(&format!("-{}", self.accept.name()));
        }
        key
    }

    /// `prefork --bind … --workers N --mode M --batch B --accept A [knobs] --database-url …`.
    pub fn launch(&self, port: u16, env: &Env) -> Launch {
        let mut args: Vec<String> = [
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--workers",
            &self.workers.to_string(),
            "--mode",
            mode_name(self.mode),
            "--batch",
            &self.batch.to_string(),
            "--accept",
            self.accept.name(),
        ]
        .iter()
        .map(|w| w.to_string())
        .collect();
        if let Some(t) = self.threads {
            args.extend(["--threads".to_string(), t.to_string()]);
        }
        args.extend(env.knobs.args());
        args.extend(["--database-url".to_string(), env.db_url.to_string()]);
        Launch {
            program: env.bin_dir.join("prefork"),
            args,
            env: vec![],
            unset: vec![],
            cwd: env.root.to_path_buf(),
        }
    }
}

/// `evloop` / `threads`.
pub fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Evloop => "evloop",
        Mode::Threads => "threads",
    }
}

/// Experiment knobs the bench passes to every prefork it starts (issue 5), shown in
/// the report when used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Knobs {
    /// `--pin-cpus`: worker i bound to CPU i mod N.
    pub pin_cpus: bool,
    /// `--backlog N` (None: prefork's default).
    pub backlog: Option<u32>,
}

impl Knobs {
    /// The flags, in prefork's spelling.
    pub fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.pin_cpus {
            args.push("--pin-cpus".to_string());
        }
        if let Some(n) = self.backlog {
            args.extend(["--backlog".to_string(), n.to_string()]);
        }
        args
    }

    /// `--pin-cpus --backlog 4096`, or `none (…defaults)` for the report.
    pub fn describe(&self) -> String {
        let args = self.args();
        if args.is_empty() {
            "none (prefork's defaults: no CPU pinning, its default backlog)".into()
        } else {
            args.join(" ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published rounds keep their labels and keys; variations name themselves.
    #[test]
    fn labels_and_keys() {
        let plain = Prefork::plain(Mode::Evloop, 2);
        assert!(plain.is_plain());
        assert_eq!(
            (plain.label(), plain.key()),
            ("2 workers, batch 256".into(), "evloop-2".into())
        );
        let one = Prefork {
            batch: 1,
            ..Prefork::plain(Mode::Threads, 1)
        };
        assert_eq!(
            (one.label(), one.key()),
            ("1 worker, batch 1".into(), "threads-1-b1".into())
        );
        let shared = Prefork {
            accept: Accept::Shared,
            ..Prefork::plain(Mode::Evloop, 4)
        };
        assert!(!shared.is_plain());
        assert_eq!(shared.key(), "evloop-4-shared");
        assert_eq!(shared.label(), "4 workers, batch 256, shared accept");
        let many = Prefork {
            threads: Some(32),
            batch: 1,
            ..Prefork::plain(Mode::Threads, 2)
        };
        assert!(!many.is_plain());
        assert_eq!(
            (many.label(), many.key()),
            (
                "2 workers × 32 threads, batch 1".into(),
                "threads-2-t32-b1".into()
            )
        );
    }

    /// Knobs become prefork flags only when set.
    #[test]
    fn knobs() {
        assert!(Knobs::default().args().is_empty());
        assert!(Knobs::default().describe().starts_with("none"));
        let k = Knobs {
            pin_cpus: true,
            backlog: Some(4096),
        };
        assert_eq!(k.args(), ["--pin-cpus", "--backlog", "4096"]);
        assert_eq!(k.describe(), "--pin-cpus --backlog 4096");
    }
}
