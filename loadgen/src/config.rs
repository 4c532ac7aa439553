//! A validated run: [`Config::from_cli`] checks the [`Cli`] once, so the rest of the
//! crate works with plain values. The run's two axes — when to stop ([`StopWhen`])
//! and how to pace ([`Pacer`]) — are values composed by the event loop, not one code
//! path per combination.

use std::time::Duration;

use crate::cli::{Cli, ConnectionMode, ReportFormat};
use crate::payload::Encoding;
use crate::target::{Target, UrlError};

/// When the run ends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StopWhen {
    /// Each user has made this many counted requests.
    Loops(u64),
    /// This long after the warm-up; requests still in flight then are not counted.
    Duration(Duration),
}

/// When requests are sent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pacer {
    /// As soon as the previous one is answered (closed loop).
    Unlimited,
    /// On a constant schedule of this many requests per second in total (open loop).
    Rate(f64),
}

/// What goes in the request body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodySpec {
    /// No body.
    Empty,
    /// A random title/description pair per request.
    Random(Encoding),
    /// The same bytes every time.
    Fixed(Vec<u8>),
}

/// What each request looks like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestSpec {
    /// Method token.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// `-H` headers, (name, value).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: BodySpec,
}

/// Why a command line was refused (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Bad URL.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// A number out of range.
    #[error("{0}")]
    Range(&'static str),
    /// A header that is not `Name: value`, or one loadgen must write itself.
    #[error("bad header `{0}`: use -H \"Name: value\" (Content-Length and Transfer-Encoding are set by loadgen)")]
    Header(String),
    /// Method that is not an HTTP token.
    #[error("bad method `{0}`")]
    Method(String),
    /// --path not starting with `/`.
    #[error("--path must start with `/`, got `{0}`")]
    Path(String),
    /// --body @FILE unreadable.
    #[error("cannot read --body file {path}: {reason}")]
    BodyFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// Flags that contradict each other.
    #[error("{0}")]
    Conflict(&'static str),
}

/// A validated run.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to connect.
    pub target: Target,
    /// Event-loop threads (1..=users).
    pub threads: usize,
    /// Concurrent users (connections).
    pub users: usize,
    /// When to stop.
    pub stop: StopWhen,
    /// Uncounted time before measuring.
    pub warmup: Duration,
    /// Closed or open loop.
    pub pacer: Pacer,
    /// Connection per request or per user.
    pub connection: ConnectionMode,
    /// Requests per write (1 = no pipelining).
    pub pipeline: usize,
    /// The request.
    pub request: RequestSpec,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Accepted statuses; empty = any.
    pub expect_status: Vec<u16>,
    /// SO_LINGER 0 on every socket.
    pub linger0: bool,
    /// Output format.
    pub report: ReportFormat,
    /// Payload RNG seed.
    pub seed: u64,
}

/// Default requests per user (the seed script's 1000).
pub const DEFAULT_LOOPS: u64 = 1000;

impl Config {
    /// Validates a parsed command line.
    pub fn from_cli(cli: Cli) -> Result<Config, ConfigError> {
        let users = usize::try_from(cli.users)
            .ok()
            .filter(|u| (1..=1_000_000).contains(u))
            .ok_or(ConfigError::Range("--users must be between 1 and 1000000"))?;
        let threads = cli.threads.unwrap_or_else(cpu_count).min(users);
        if threads == 0 {
            return Err(ConfigError::Range("--threads must be at least 1"));
        }
        let connection = connection_mode(&cli)?;
        if cli.timeout.is_zero() {
            return Err(ConfigError::Range("--timeout must be more than 0"));
        }
        let target = Target::parse(&cli.url)?;
        let request = request_spec(&cli, &target)?;
        Ok(Config {
            target,
            threads,
            users,
            stop: stop_when(&cli)?,
            warmup: cli.warmup,
            pacer: pacer(cli.rate)?,
            connection,
            pipeline: cli.pipeline,
            request,
            timeout: cli.timeout,
            expect_status: expect_status(&cli.expect_status)?,
            linger0: cli.linger0,
            report: cli.report,
            seed: cli.seed.unwrap_or_else(clock_seed),
        })
    }
}

fn connection_mode(cli: &Cli) -> Result<ConnectionMode, ConfigError> {
    if !(1..=1024).contains(&cli.pipeline) {
        return Err(ConfigError::Range("--pipeline must be between 1 and 1024"));
    }
    let wants_keepalive = cli.keepalive || cli.pipeline > 1;
    match cli.connection {
        Some(ConnectionMode::Close) if wants_keepalive => Err(ConfigError::Conflict(
            "--connection close contradicts --keepalive/--pipeline",
        )),
        Some(mode) => Ok(mode),
        None if wants_keepalive => Ok(ConnectionMode::KeepAlive),
        None => Ok(ConnectionMode::Close),
    }
}

fn stop_when(cli: &Cli) -> Result<StopWhen, ConfigError> {
    match (cli.loops, cli.duration) {
        (Some(0), _) => Err(ConfigError::Range("--loops must be at least 1")),
        (Some(loops), _) => Ok(StopWhen::Loops(loops)),
        (None, Some(d)) if d.is_zero() => Err(ConfigError::Range("--duration must be more than 0")),
        (None, Some(d)) => Ok(StopWhen::Duration(d)),
        (None, None) => Ok(StopWhen::Loops(DEFAULT_LOOPS)),
    }
}

fn pacer(rate: Option<f64>) -> Result<Pacer, ConfigError> {
    match rate {
        None => Ok(Pacer::Unlimited),
        Some(r) if r > 0.0 && r <= 1e8 => Ok(Pacer::Rate(r)),
        Some(_) => Err(ConfigError::Range(
            "--rate must be more than 0 (and at most 100M)",
        )),
    }
}

fn expect_status(codes: &[u16]) -> Result<Vec<u16>, ConfigError> {
    if codes.iter().any(|c| !(100..=999).contains(c)) {
        return Err(ConfigError::Range("--expect-status codes are 100..=999"));
    }
    Ok(codes.to_vec())
}

fn request_spec(cli: &Cli, target: &Target) -> Result<RequestSpec, ConfigError> {
    let method = cli.method.clone().unwrap_or_else(|| "POST".into());
    if method.is_empty()
        || !method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.!".contains(&b))
    {
        return Err(ConfigError::Method(method));
    }
    let path = cli.path.clone().unwrap_or_else(|| target.path.clone());
    if !path.starts_with('/') || path.contains(char::is_whitespace) {
        return Err(ConfigError::Path(path));
    }
    let headers = cli
        .headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<_, _>>()?;
    Ok(RequestSpec {
        body: body_spec(cli, &method)?,
        method,
        path,
        headers,
    })
}

/// --body wins, then --json; otherwise methods that carry a body get the form payload
/// and the others (GET /health…) none.
fn body_spec(cli: &Cli, method: &str) -> Result<BodySpec, ConfigError> {
    match &cli.body {
        Some(file) if file.starts_with('@') => std::fs::read(&file[1..])
            .map(BodySpec::Fixed)
            .map_err(|e| ConfigError::BodyFile {
                path: file[1..].to_string(),
                reason: e.to_string(),
            }),
        Some(text) => Ok(BodySpec::Fixed(text.clone().into_bytes())),
        None if cli.json => Ok(BodySpec::Random(Encoding::Json)),
        None if matches!(method, "POST" | "PUT" | "PATCH") => Ok(BodySpec::Random(Encoding::Form)),
        None => Ok(BodySpec::Empty),
    }
}

fn parse_header(text: &str) -> Result<(String, String), ConfigError> {
    let bad = || ConfigError::Header(text.to_string());
    let (name, value) = text.split_once(':').ok_or_else(bad)?;
    let name = name.trim();
    let value = value.trim();
    let token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b));
    let owned = name.eq_ignore_ascii_case("content-length")
        || name.eq_ignore_ascii_case("transfer-encoding");
    if !token || owned || value.contains(['\r', '\n']) {
        return Err(bad());
    }
    Ok((name.to_string(), value.to_string()))
}

/// Number of CPUs this process may run on (at least 1).
pub fn cpu_count() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn clock_seed() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    now.as_nanos() as u64 ^ u64::from(std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<Config, ConfigError> {
        let mut argv = vec!["loadgen", "http://127.0.0.1:8000/api/tasks/"];
        argv.extend_from_slice(args);
        Config::from_cli(Cli::try_parse_from(argv).expect("clap accepts the arguments"))
    }

    /// No flags: the seed's run — 10 users × 1000 loops, form POST, connection close.
    #[test]
    fn defaults_are_the_seed_script() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.users, 10);
        assert_eq!(c.stop, StopWhen::Loops(1000));
        assert_eq!(c.pacer, Pacer::Unlimited);
        assert_eq!(c.connection, ConnectionMode::Close);
        assert_eq!(c.pipeline, 1);
        assert_eq!(c.request.method, "POST");
        assert_eq!(c.request.path, "/api/tasks/");
        assert_eq!(c.request.body, BodySpec::Random(Encoding::Form));
        assert_eq!(c.timeout, Duration::from_secs(10));
        assert_eq!(c.report, ReportFormat::Text);
        assert!(c.threads >= 1 && c.threads <= 10);
    }

    /// wrk spellings: -c for users, -d with units, counts with k.
    #[test]
    fn wrk_spellings() {
        let c = parse(&["-t", "2", "-c", "64", "-d", "500ms", "--warmup", "1s"]).unwrap();
        assert_eq!((c.threads, c.users), (2, 64));
        assert_eq!(c.stop, StopWhen::Duration(Duration::from_millis(500)));
        assert_eq!(c.warmup, Duration::from_secs(1));
        let c = parse(&["--connections", "3", "--loops", "10k"]).unwrap();
        assert_eq!((c.users, c.stop), (3, StopWhen::Loops(10_000)));
    }

    /// Threads never outnumber users.
    #[test]
    fn threads_capped_by_users() {
        assert_eq!(parse(&["-t", "8", "-u", "3"]).unwrap().threads, 3);
        assert!(parse(&["-t", "0"]).is_err());
    }

    /// --keepalive and --pipeline imply keep-alive; close with them is a contradiction.
    #[test]
    fn connection_modes() {
        assert_eq!(
            parse(&["-k"]).unwrap().connection,
            ConnectionMode::KeepAlive
        );
        let c = parse(&["--pipeline", "4"]).unwrap();
        assert_eq!((c.connection, c.pipeline), (ConnectionMode::KeepAlive, 4));
        let c = parse(&["--connection", "keep-alive"]).unwrap();
        assert_eq!(c.connection, ConnectionMode::KeepAlive);
        assert!(parse(&["--connection", "close", "-k"]).is_err());
        assert!(parse(&["--pipeline", "0"]).is_err());
    }

    /// --rate accepts suffixes and must be positive.
    #[test]
    fn rate() {
        assert_eq!(parse(&["-R", "2.5k"]).unwrap().pacer, Pacer::Rate(2500.0));
        assert!(parse(&["--rate", "0"]).is_err());
    }

    /// GET has no body; --json and --body choose the payload; @file reads a file.
    #[test]
    fn bodies() {
        let c = parse(&["--method", "GET", "--path", "/health"]).unwrap();
        assert_eq!(
            (c.request.body, c.request.path.as_str()),
            (BodySpec::Empty, "/health")
        );
        assert_eq!(
            parse(&["--json"]).unwrap().request.body,
            BodySpec::Random(Encoding::Json)
        );
        assert_eq!(
            parse(&["--body", "a=1"]).unwrap().request.body,
            BodySpec::Fixed(b"a=1".to_vec())
        );
        let file = std::env::temp_dir().join(format!("loadgen-body-{}", std::process::id()));
        std::fs::write(&file, b"{}").unwrap();
        let arg = format!("@{}", file.display());
        assert_eq!(
            parse(&["--body", &arg]).unwrap().request.body,
            BodySpec::Fixed(b"{}".to_vec())
        );
        std::fs::remove_file(&file).unwrap();
        assert!(matches!(
            parse(&["--body", "@/nonexistent/x"]),
            Err(ConfigError::BodyFile { .. })
        ));
    }

    /// -H takes "Name: value"; framing headers and junk are refused.
    #[test]
    fn headers() {
        let c = parse(&["-H", "X-A: 1", "-H", "Accept:  */* "]).unwrap();
        assert_eq!(
            c.request.headers,
            vec![("X-A".into(), "1".into()), ("Accept".into(), "*/*".into())]
        );
        for bad in ["nocolon", ": v", "Content-Length: 3", "Bad Name: x"] {
            assert!(
                matches!(parse(&["-H", bad]), Err(ConfigError::Header(_))),
                "{bad}"
            );
        }
    }

    /// Status lists may be repeated or comma-separated.
    #[test]
    fn expect_status_lists() {
        let c = parse(&["--expect-status", "200,201", "--expect-status", "204"]).unwrap();
        assert_eq!(c.expect_status, vec![200, 201, 204]);
        assert!(parse(&["--expect-status", "42"]).is_err());
    }

    /// Out-of-range and contradictory values are refused.
    #[test]
    fn refusals() {
        assert!(parse(&["-u", "0"]).is_err());
        assert!(parse(&["-l", "0"]).is_err());
        assert!(parse(&["-d", "0s"]).is_err());
        assert!(parse(&["--timeout", "0s"]).is_err());
        assert!(parse(&["-m", "G T"]).is_err());
        assert!(parse(&["--path", "health"]).is_err());
        let both = ["loadgen", "http://h/", "-l", "5", "-d", "1s"];
        assert!(Cli::try_parse_from(both).is_err());
    }

    /// The seed is taken as given, so payloads can be reproduced.
    #[test]
    fn seed() {
        assert_eq!(parse(&["--seed", "7"]).unwrap().seed, 7);
    }
}
