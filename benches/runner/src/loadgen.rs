//! Drives `loadgen --report json` and reads its one JSON object through loadgen's own
//! [`Report`] type, so producer and reader agree.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub use loadgen::report::Report;

/// When a run ends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stop {
    /// Each user sends this many requests.
    Loops(u64),
    /// Run this long (in-flight requests at the end are neither counted nor errors).
    Duration(Duration),
}

/// What each request of a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// `POST /api/tasks/` with loadgen's default form payload, `201` expected.
    CreateTask,
    /// `GET path`, `200` expected (the HTTP ceilings, which touch no database).
    Get(&'static str),
}

impl Request {
    /// The status every response must have.
    pub fn expected(self) -> u16 {
        match self {
            Request::CreateTask => 201,
            Request::Get(_) => 200,
        }
    }
}

/// One loadgen invocation.
#[derive(Clone, Copy, Debug)]
pub struct LoadSpec {
    /// Port on 127.0.0.1 (the server's or nginx's).
    pub port: u16,
    /// The request sent.
    pub request: Request,
    /// Concurrent users (connections).
    pub users: u64,
    /// When to stop.
    pub stop: Stop,
    /// Keep connections alive (saturation) or open one per request (seed).
    pub keepalive: bool,
    /// Run this long first without counting (loadgen's `--warmup`).
    pub warmup: Option<Duration>,
    /// Kill loadgen and fail after this long.
    pub limit: Duration,
}

impl LoadSpec {
    /// loadgen's arguments (the seed's form POST payload is loadgen's default).
    pub fn args(&self) -> Vec<String> {
        let path = match self.request {
            Request::CreateTask => "/api/tasks/",
            Request::Get(path) => path,
        };
        let mut args = vec![format!("http://127.0.0.1:{}{path}", self.port)];
        if let Request::Get(_) = self.request {
            args.extend(["--method".into(), "GET".into()]);
        }
        args.extend(["--users".into(), self.users.to_string()]);
        match self.stop {
            Stop::Loops(n) => args.extend(["--loops".into(), n.to_string()]),
            Stop::Duration(d) => args.extend(["--duration".into(), format!("{}ms", d.as_millis())]),
        }
        if let Some(w) = self.warmup {
            args.extend(["--warmup".into(), format!("{}ms", w.as_millis())]);
        }
        if self.keepalive {
            args.push("--keepalive".into());
        }
        // Anything but the expected status is an error of the run, counted by kind.
        let expected = self.request.expected().to_string();
        args.extend(["--expect-status", &expected, "--report", "json"].map(String::from));
        args
    }
}

/// loadgen's error kinds of a request that got no response at all (the `status` kind is
/// a response with an unexpected status).
const UNANSWERED: [&str; 5] = ["connect", "reset", "timeout", "malformed", "closed"];

/// The report's errors by kind, every kind listed (as loadgen's JSON has them).
pub fn errors_by_kind(report: &Report) -> BTreeMap<String, u64> {
    serde_json::to_value(report.errors)
        .and_then(serde_json::from_value)
        .expect("loadgen's error counters serialize as a map of counts")
}

/// Requests that got no response, by kind, only the kinds that occurred.
pub fn unanswered(report: &Report) -> Vec<(&'static str, u64)> {
    let errors = errors_by_kind(report);
    UNANSWERED
        .into_iter()
        .map(|kind| (kind, errors.get(kind).copied().unwrap_or(0)))
        .filter(|&(_, n)| n > 0)
        .collect()
}

/// Why a loadgen run produced no report.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Could not execute it.
    #[error("cannot run {bin}: {source}")]
    Spawn {
        /// The binary.
        bin: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Exit status other than 0 (ok) or 1 (errors counted).
    #[error("loadgen failed ({status}): {stderr}")]
    Failed {
        /// Its exit status.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// Its stdout was not the expected JSON.
    #[error("loadgen's report is not the expected JSON ({error}): {stdout}")]
    BadReport {
        /// The parse error.
        error: String,
        /// What it printed.
        stdout: String,
    },
    /// Still running at the spec's limit.
    #[error("loadgen still running after {0:?}; killed")]
    TooLong(Duration),
    /// Ctrl-C (or SIGTERM) arrived.
    #[error("interrupted")]
    Interrupted,
}

/// Runs loadgen (`bin`) as `spec` says; kills it on interrupt or past the limit.
pub fn run(bin: &Path, spec: &LoadSpec, interrupted: &AtomicBool) -> Result<Report, LoadError> {
    let mut child = Command::new(bin)
        .args(spec.args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| LoadError::Spawn {
            bin: bin.display().to_string(),
            source,
        })?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + spec.limit;
    let status = loop {
        if let Some(status) = child.try_wait().ok().flatten() {
            break status;
        }
        let stop = interrupted.load(Ordering::Relaxed) || Instant::now() >= deadline;
        if stop {
            let _ = child.kill();
            let _ = child.wait();
            return Err(if interrupted.load(Ordering::Relaxed) {
                LoadError::Interrupted
            } else {
                LoadError::TooLong(spec.limit)
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (stdout, stderr) = (
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default(),
    );
    if !matches!(status.code(), Some(0 | 1)) {
        return Err(LoadError::Failed {
            status: status.to_string(),
            stderr: stderr.trim().to_string(),
        });
    }
    parse(&stdout)
}

/// Parses loadgen's JSON report.
pub fn parse(stdout: &str) -> Result<Report, LoadError> {
    serde_json::from_str(stdout.trim()).map_err(|e| LoadError::BadReport {
        error: e.to_string(),
        stdout: stdout.trim().chars().take(500).collect(),
    })
}

/// Reads a pipe to the end on a thread, so a full pipe never blocks the child.
fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed model is a connection-per-request loops run; saturation adds -k.
    #[test]
    fn arguments() {
        let mut spec = LoadSpec {
            port: 20001,
            request: Request::CreateTask,
            users: 10,
            stop: Stop::Loops(1000),
            keepalive: false,
            warmup: None,
            limit: Duration::from_secs(60),
        };
        let args = spec.args().join(" ");
        assert_eq!(
            args,
            "http://127.0.0.1:20001/api/tasks/ --users 10 --loops 1000 \
             --expect-status 201 --report json"
        );
        spec.stop = Stop::Duration(Duration::from_secs(2));
        spec.keepalive = true;
        assert!(spec
            .args()
            .join(" ")
            .contains("--duration 2000ms --keepalive"));
        spec.request = Request::Get("/nginx-ok");
        assert!(spec
            .args()
            .join(" ")
            .starts_with("http://127.0.0.1:20001/nginx-ok --method GET --users 10"));
        assert!(spec
            .args()
            .join(" ")
            .ends_with("--expect-status 200 --report json"));
    }

    /// A report as loadgen prints it parses into loadgen's own type.
    #[test]
    fn parses_report() {
        let json = r#"{"url":"http://127.0.0.1:1/api/tasks/","method":"POST","users":2,
            "threads":2,"connection":"close","pipeline":1,"loops":10,"duration_s":null,
            "warmup_s":0.0,"rate_target":null,"rate_reached":null,"requests":20,
            "responses":20,"elapsed_s":0.5,"rps":40.0,"statuses":{"201":19,"503":1},
            "errors":{"connect":0,"reset":0,"timeout":0,"malformed":0,"closed":0,"status":1},
            "latency_ms":{"min":1.0,"p50":2.0,"p90":3.0,"p99":4.0,"p999":5.0,"max":6.0,"mean":2.5},
            "latency_uncorrected_ms":null,"bytes_read":1,"bytes_written":2,"seed":7}"#;
        let r = parse(json).unwrap();
        assert_eq!(
            (r.status_count(201), r.errors.total(), r.requests),
            (19, 1, 20)
        );
        assert_eq!(r.latency_ms.p99, 4.0);
        assert!(unanswered(&r).is_empty(), "a status error is an answer");
        assert_eq!(errors_by_kind(&r)["status"], 1);
        assert!(matches!(parse("oops"), Err(LoadError::BadReport { .. })));
    }
}
