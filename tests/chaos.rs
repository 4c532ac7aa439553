//! The chaos tool (`prefork-chaos`, chaos/) end to end: short runs against the real
//! `prefork` binary and a private PostgreSQL, faults injected for real, the tool's JSON
//! report and exit status checked.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;
use support::db::{base_dir, remove_cluster, unique_name};
use support::workspace_bin::{self, CHAOS};

/// A run's private directories, removed even when the test panics (the cluster's
/// data only when it passes).
struct Dirs {
    pg: PathBuf,
    out: PathBuf,
}

impl Dirs {
    fn new() -> Dirs {
        let name = unique_name("chaos");
        Dirs {
            pg: base_dir().join(&name),
            out: base_dir().with_file_name("chaos").join(name),
        }
    }
}

impl Drop for Dirs {
    fn drop(&mut self) {
        remove_cluster(&self.pg);
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.out);
        }
    }
}

/// `prefork-chaos --report json` with `args`, on this test's directories and the
/// debug `prefork`, 8 clients and a fixed seed.
fn chaos(dirs: &Dirs, args: &[&str]) -> Command {
    let mut cmd = Command::new(workspace_bin::path(CHAOS));
    cmd.args(["--report", "json", "--clients", "8", "--seed", "11"])
        .arg("--prefork")
        .arg(env!("CARGO_BIN_EXE_prefork"))
        .arg("--pg-dir")
        .arg(&dirs.pg)
        .arg("--out")
        .arg(&dirs.out)
        .args(args);
    cmd
}

/// Runs to the end; returns the exit code and the parsed report.
fn run(dirs: &Dirs, args: &[&str]) -> (Option<i32>, Value) {
    let out = chaos(dirs, args).output().expect("run prefork-chaos");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); stderr:\n{stderr}\nstdout:\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out.status.code(), report)
}

fn num(report: &Value, path: &str) -> u64 {
    let field = path.split('.').fold(report, |v, key| &v[key]);
    field
        .as_u64()
        .unwrap_or_else(|| panic!("{path} missing in {report:#}"))
}

/// A passing run: no write lost, master alive, exit 0, the counts adding up, and
/// every planned kind injected and carried out.
fn assert_passed(code: Option<i32>, report: &Value, kinds: &[&str]) {
    assert_eq!(report["passed"], true, "{report:#}");
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(num(report, "verdict.lost"), 0, "{report:#}");
    assert_eq!(report["master"]["alive"], true, "{report:#}");
    let acked = num(report, "acknowledged");
    assert!(acked > 0, "no write acknowledged: {report:#}");
    assert_eq!(num(report, "verdict.confirmed"), acked);
    let stored = num(report, "verdict.confirmed") + num(report, "verdict.stored_without_ack");
    assert_eq!(num(report, "verdict.rows"), stored, "{report:#}");
    let faults = report["faults"].as_array().expect("faults array");
    for kind in kinds {
        let done = faults
            .iter()
            .any(|f| f["kind"] == *kind && f["done"] == true);
        assert!(done, "{kind} not injected: {report:#}");
    }
}

/// Worker SIGKILL and master HUP/TTIN/TTOU under 4 s of load, evloop: nothing lost.
#[test]
fn signal_faults_evloop() {
    signal_faults("evloop");
}

/// Worker SIGKILL and master HUP/TTIN/TTOU under 4 s of load, threads: nothing lost.
#[test]
fn signal_faults_threads() {
    signal_faults("threads");
}

fn signal_faults(mode: &str) {
    let dirs = Dirs::new();
    let args = [
        "--seconds",
        "4",
        "--mode",
        mode,
        "--faults",
        "kill,hup,ttin,ttou",
    ];
    let (code, report) = run(&dirs, &args);
    assert_passed(code, &report, &["kill", "hup", "ttin", "ttou"]);
}

/// PostgreSQL restarts and stalls (and worker kills) under 6 s of load: nothing lost,
/// the master alive (an outage is not a boot error).
#[test]
fn database_faults() {
    for mode in ["evloop", "threads"] {
        let dirs = Dirs::new();
        let faults = "kill,pg-restart,pg-stall";
        let (code, report) = run(
            &dirs,
            &["--seconds", "6", "--mode", mode, "--faults", faults],
        );
        assert_passed(code, &report, &["kill", "pg-restart", "pg-stall"]);
    }
}

/// A master killed from outside mid-run: the tool says so, fails, and stops early.
#[test]
fn dead_master_fails_the_run() {
    let dirs = Dirs::new();
    let mut child = chaos(&dirs, &["--seconds", "30", "--faults", "kill"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn prefork-chaos");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut pid = None;
    for line in stderr.by_ref().lines() {
        let line = line.expect("read stderr");
        eprintln!("{line}");
        pid = line
            .split_once("prefork (pid ")
            .and_then(|(_, rest)| rest.split_once(')'))
            .and_then(|(n, _)| n.parse::<i32>().ok());
        if pid.is_some() {
            break;
        }
    }
    let pid = pid.expect("the tool names prefork's pid before the load");
    kill(Pid::from_raw(pid), Signal::SIGKILL).expect("kill the master");
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    // Kept open to the end: the tool must not get EPIPE on its progress lines.
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    eprintln!("{rest}");
    let status = child.wait().unwrap();
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(status.code(), Some(1), "{report:#}");
    assert_eq!(report["passed"], false);
    assert_eq!(report["master"]["alive"], false);
    assert!(
        report["master"]["exit"]
            .as_str()
            .unwrap()
            .contains("SIGKILL"),
        "{report:#}"
    );
    let load = report["load_seconds"].as_f64().unwrap();
    assert!(
        load < 30.0,
        "the load went on after the master died: {load} s"
    );
}
