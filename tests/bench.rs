//! `bin/bench`'s runner end to end: a two-cell bench (prefork evloop and threads, two
//! workers each, tiny seed loads) against its own private PostgreSQL, then its JSON
//! checked field by field and against the database.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use pgtmp::Cluster;
use serde_json::Value;
use support::db::{base_dir, remove_cluster, unique_name};
use support::workspace_bin::{self, BENCH_RUNNER};

/// A test's own cluster and output directory, removed even when the test panics.
struct Workdir {
    pg_dir: PathBuf,
    out: PathBuf,
}

impl Workdir {
    fn new() -> Workdir {
        Workdir {
            pg_dir: base_dir().join(unique_name("bench")),
            out: base_dir().parent().unwrap().join(unique_name("bench-out")),
        }
    }

    /// Runs the runner with `args` on this cluster and output directory; it must
    /// succeed. Returns its stdout and its `results.json`.
    fn run(&self, args: &[&str]) -> (String, Value) {
        let (pg, dir) = (
            self.pg_dir.display().to_string(),
            self.out.display().to_string(),
        );
        let mut all = args.to_vec();
        all.extend(["--pg-dir", &pg, "--out", &dir]);
        let (code, stdout, stderr) = run_bench(&all);
        assert_eq!(code, Some(0), "runner failed\n{stdout}\n{stderr}");
        let json = std::fs::read_to_string(self.out.join("results.json")).expect("results.json");
        let json = serde_json::from_str(&json).expect("results.json is JSON");
        (stdout, json)
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        remove_cluster(&self.pg_dir);
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.out);
        }
    }
}

/// Runs the runner with `args`; returns (exit code, stdout, stderr).
fn run_bench(args: &[&str]) -> (Option<i32>, String, String) {
    let runner = workspace_bin::path(BENCH_RUNNER);
    // loadgen must sit beside prefork, where --bin-dir points.
    let _ = support::loadgen::binary();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_prefork")).parent().unwrap();
    let out = Command::new(&runner)
        .args(args)
        .arg("--bin-dir")
        .arg(bin_dir)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", runner.display()));
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// A number field of `v` at `path` (`summary.rps`), which must exist.
fn num(v: &Value, path: &str) -> f64 {
    let field = path.split('.').fold(v, |v, key| &v[key]);
    field
        .as_f64()
        .unwrap_or_else(|| panic!("{path} missing or not a number in {v:#}"))
}

/// prefork's seed cells (round 2 of both modes, and the accept comparison's shared
/// listener): all ok, every field present, 201s = rows = the database's count.
#[test]
fn two_cell_bench() {
    let work = Workdir::new();
    let (stdout, json) = work.run(&[
        "--quick",
        "--only",
        "prefork,seed",
        "--users",
        "2",
        "--loops",
        "10",
    ]);
    assert!(stdout.contains("| 2: 2 workers |"), "{stdout}");
    assert!(
        !Cluster::open(&work.pg_dir).unwrap().is_running().unwrap(),
        "the runner left PostgreSQL running"
    );

    assert!(json["machine"]["cpus"].as_u64().unwrap() >= 1);
    assert_eq!(json["failed_cells"], 0);
    let cells = json["cells"].as_array().expect("cells");
    let keys: Vec<&str> = cells.iter().map(|c| c["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        ["seed-evloop-2", "seed-threads-2", "seed-evloop-2-shared"]
    );
    for cell in cells {
        assert_eq!(cell["status"], "ok", "{cell:#}");
        let published = cell["section"] == "rounds";
        assert_eq!(
            cell["round"],
            if published {
                Value::from("two")
            } else {
                Value::Null
            }
        );
        for field in [
            "rps",
            "elapsed_s",
            "p50_ms",
            "p99_ms",
            "peak_rss_mib",
            "worker_peak_rss_mib",
            "server_cpu_s",
        ] {
            num(&cell["summary"], field);
        }
        assert!(num(cell, "summary.rps") > 0.0 && num(cell, "summary.peak_rss_mib") > 0.0);
        let run = &cell["runs"][0];
        assert_eq!(num(run, "created"), 20.0, "{run:#}");
        assert_eq!(num(run, "rows"), 20.0, "{run:#}");
        assert_eq!(num(run, "error_total"), 0.0);
        assert!(run["failure"].is_null());
        num(run, "postgres.cpu_s");
        let command = run["command"].as_str().unwrap();
        assert!(command.contains("--batch 256 --accept"), "{command}");
    }
    assert_eq!(cells[2]["variant"]["accept"], "shared");
    assert!(stdout.contains("## Accept strategies"), "{stdout}");
    let svg = std::fs::read_to_string(work.out.join("results.svg")).expect("results.svg");
    assert!(svg.starts_with("<svg") && svg.contains("prefork threads"));

    // The table still holds the last cell's rows: the database agrees with the JSON.
    let cluster = Cluster::ensure(&work.pg_dir).expect("restart the bench's cluster");
    let count = cluster.psql("SELECT count(*) FROM task").expect("count");
    assert_eq!(count, "20");
}

/// `--only axum` selects the axum peer's cells (its seed round and its pool size at
/// saturation) and `--no-peers` skips them with the reason, in the table and the JSON;
/// nothing is started besides PostgreSQL.
#[test]
fn no_peers_skips_axum() {
    let work = Workdir::new();
    let (stdout, json) = work.run(&["--quick", "--no-nginx", "--no-peers", "--only", "axum"]);
    assert!(
        stdout.contains("| 1: one process | — | — | — | — | — | skipped: --no-peers |"),
        "{stdout}"
    );
    let cells = json["cells"].as_array().expect("cells");
    let keys: Vec<&str> = cells.iter().map(|c| c["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["seed-axum-pool16", "sat-direct-axum-pool16"]);
    for cell in cells {
        assert_eq!(
            (&cell["status"], &cell["note"], &cell["system"]),
            (&"skipped".into(), &"--no-peers".into(), &"axum".into()),
            "{cell:#}"
        );
    }
}

/// `--quick`'s evented cells and pgbench at the seed load, short runs: prefork evloop
/// `--db evented` starts with its connections, every cell's rows equal its 201s, the
/// seed-load pgbench runs clients × transactions, and the one-commit table and the
/// evented verdicts read them.
#[test]
fn evented_and_pgbench_seed() {
    let work = Workdir::new();
    let (stdout, json) = work.run(&[
        "--quick",
        "--no-nginx",
        "--only",
        "evloop,pgbench,group-commit",
        "--users",
        "2",
        "--loops",
        "10",
        "--duration",
        "500ms",
        "--warmup",
        "200ms",
    ]);
    let cells = json["cells"].as_array().expect("cells");
    let keys: Vec<&str> = cells.iter().map(|c| c["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "sat-direct-pgbench",
            "sat-direct-evloop-2-ev16-b1",
            "sat-direct-evloop-2-ev4",
            "sat-direct-evloop-2",
        ]
    );
    for cell in cells {
        assert_eq!(cell["status"], "ok", "{cell:#}");
        let run = &cell["runs"][0];
        assert_eq!(num(run, "created"), num(run, "rows"), "{run:#}");
        assert!(num(run, "rows") > 0.0, "{run:#}");
    }
    let command = cells[1]["runs"][0]["command"].as_str().unwrap();
    assert!(
        command.contains("--batch 1 --accept reuseport --db evented --db-conns 16"),
        "{command}"
    );
    assert!(
        stdout.contains("| prefork evloop, --db evented | 2 workers, evented ×16, batch 1 |"),
        "{stdout}"
    );
    assert!(stdout.contains("prefork evloop --db evented group commit vs --db sync group commit"));

    // pgbench at the seed load: 2 clients × 10 transactions, timed, rows checked.
    let (stdout, json) = work.run(&[
        "--quick",
        "--only",
        "pgbench,seed",
        "--users",
        "2",
        "--loops",
        "10",
    ]);
    assert!(
        stdout.contains("pgbench at this load (`pgbench -M prepared -c 2 -t 10`"),
        "{stdout}"
    );
    let cell = &json["cells"][0];
    assert_eq!(cell["key"], "seed-pgbench");
    assert_eq!(cell["status"], "ok", "{cell:#}");
    let run = &cell["runs"][0];
    assert_eq!((num(run, "created"), num(run, "rows")), (20.0, 20.0));
    assert!(num(cell, "summary.elapsed_s") > 0.0);
}

/// `--only access-log`: each pair's cells run in turn, `--access-log` only on the
/// "with" side, every response of a measured run has its line, and the cost table and
/// `access_log_cost` report one ratio per pair of runs.
#[test]
fn access_log_pairs() {
    let work = Workdir::new();
    let (stdout, json) = work.run(&[
        "--quick",
        "--no-nginx",
        "--only",
        "access-log",
        "--duration",
        "1s",
        "--warmup",
        "300ms",
        "--repeat",
        "2",
    ]);
    assert!(stdout.contains("## Access log cost"), "{stdout}");
    assert_eq!(json["failed_cells"], 0, "{stdout}");
    let costs = json["access_log_cost"].as_array().expect("access_log_cost");
    assert_eq!(
        costs.len(),
        2,
        "hello and the task endpoint, evloop: {costs:#?}"
    );
    let cells = json["cells"].as_array().expect("cells");
    for cost in costs {
        assert_eq!(cost["pairs"], 2, "{cost:#}");
        assert!(num(cost, "ratio") > 0.0, "{cost:#}");
        assert!(
            num(cost, "log.lines") >= num(cost, "log.answered"),
            "{cost:#}"
        );
        assert!(num(cost, "log.answered") > 0.0, "{cost:#}");
        for (key, logged) in [(&cost["without_key"], false), (&cost["with_key"], true)] {
            let cell = cells
                .iter()
                .find(|c| c["key"] == *key)
                .unwrap_or_else(|| panic!("no cell {key}"));
            for run in cell["runs"].as_array().unwrap() {
                let command = run["command"].as_str().unwrap();
                assert_eq!(command.contains("--access-log "), logged, "{command}");
                assert_eq!(run["access_log"].is_object(), logged, "{run:#}");
            }
        }
    }
    // The log files are removed after each run.
    let logs = work.out.join("logs");
    let left: Vec<_> = std::fs::read_dir(&logs)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(
        left.iter()
            .all(|p| !p.to_string_lossy().ends_with(".access.log")),
        "{left:?}"
    );
}

/// A bad `--only` word is a usage error (exit 2) before anything starts.
#[test]
fn rejects_unknown_system() {
    let (code, _, stderr) = run_bench(&["--only", "tomcat"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("unknown word `tomcat`"), "{stderr}");
}
