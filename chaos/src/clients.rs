//! The writers: one thread per client on its own keep-alive connection, each POSTing
//! tasks with titles unique to the run and noting every `201` (its id, the title it
//! echoes, when it came) and every failure by kind.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::wire::{self, Conn, Reply, WireError};

/// How long a connect, a write or a read may take before it counts as a timeout.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Pause after a failed request, so that an outage is not a busy loop of errors that
/// takes the CPU from the server and the database trying to come back.
const PAUSE: Duration = Duration::from_millis(20);
/// The description of every task (the title is what is checked).
const DESCRIPTION: &str = "written+under+chaos";

/// What went wrong with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// The connection was refused (nothing listening).
    Refused,
    /// The connection was reset (or the pipe broke) mid-exchange.
    Reset,
    /// The server closed the connection before a whole response.
    Closed,
    /// A connect, write or read took longer than [`TIMEOUT`].
    Timeout,
    /// A whole response with a status other than 201.
    Status(u16),
    /// A response that could not be read.
    Malformed,
    /// Any other I/O error.
    Other,
}

impl ErrorKind {
    /// A short name for the report (`connect refused`, `http 503`, …).
    pub fn label(self) -> String {
        match self {
            ErrorKind::Refused => "connect refused".into(),
            ErrorKind::Reset => "reset".into(),
            ErrorKind::Closed => "closed before response".into(),
            ErrorKind::Timeout => "timeout".into(),
            ErrorKind::Status(code) => format!("http {code}"),
            ErrorKind::Malformed => "malformed response".into(),
            ErrorKind::Other => "other".into(),
        }
    }

    /// The kind of a failed exchange.
    fn of(err: &WireError) -> ErrorKind {
        use std::io::ErrorKind as Io;
        let io = match err {
            WireError::Closed => return ErrorKind::Closed,
            WireError::Malformed(_) => return ErrorKind::Malformed,
            WireError::Connect(e) | WireError::Io(e) => e.kind(),
        };
        match io {
            Io::ConnectionRefused => ErrorKind::Refused,
            Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe => ErrorKind::Reset,
            Io::WouldBlock | Io::TimedOut => ErrorKind::Timeout,
            Io::UnexpectedEof => ErrorKind::Closed,
            _ => ErrorKind::Other,
        }
    }
}

/// One acknowledged write.
#[derive(Clone, Debug)]
pub struct Ack {
    /// The title this client sent.
    pub title: String,
    /// The id in the 201 body, if it could be read.
    pub id: Option<i64>,
    /// The title in the 201 body, if it could be read.
    pub echoed: Option<String>,
    /// When the 201 arrived, from the start of the load.
    pub at: Duration,
}

/// The fields of a 201 body that are checked.
#[derive(Deserialize)]
struct Created {
    id: i64,
    title: String,
}

/// What the clients did.
#[derive(Debug, Default)]
pub struct ClientLog {
    /// Requests sent (or attempted: a failed connect counts).
    pub requests: u64,
    /// Every 201, in arrival order once merged.
    pub acks: Vec<Ack>,
    /// Failures by kind.
    pub errors: BTreeMap<ErrorKind, u64>,
    /// From the start of the load to the end of the last client (once merged).
    pub elapsed: Duration,
}

impl ClientLog {
    fn fail(&mut self, kind: ErrorKind) {
        *self.errors.entry(kind).or_default() += 1;
        std::thread::sleep(PAUSE);
    }

    fn record(&mut self, title: String, reply: &Reply, at: Duration) {
        if reply.status != 201 {
            return self.fail(ErrorKind::Status(reply.status));
        }
        let created: Option<Created> = serde_json::from_slice(&reply.body).ok();
        let (id, echoed) = created.map_or((None, None), |c| (Some(c.id), Some(c.title)));
        self.acks.push(Ack {
            title,
            id,
            echoed,
            at,
        });
    }

    fn merge(&mut self, other: ClientLog) {
        self.requests += other.requests;
        self.acks.extend(other.acks);
        for (kind, n) in other.errors {
            *self.errors.entry(kind).or_default() += n;
        }
    }
}

/// The running client threads.
pub struct Load {
    handles: Vec<JoinHandle<ClientLog>>,
    t0: Instant,
}

/// Where and until when the clients write.
#[derive(Clone)]
pub struct Target {
    /// prefork's address.
    pub addr: SocketAddr,
    /// The start of the load: every time is measured from it.
    pub t0: Instant,
    /// No request starts after this.
    pub deadline: Instant,
    /// Set to stop early (the master died, or Ctrl-C).
    pub halt: Arc<AtomicBool>,
}

/// Starts `clients` writer threads.
pub fn start(clients: usize, target: &Target) -> Load {
    let handles = (0..clients)
        .map(|n| {
            let target = target.clone();
            std::thread::spawn(move || write_loop(n, &target))
        })
        .collect();
    Load {
        handles,
        t0: target.t0,
    }
}

impl Load {
    /// Waits for every client (each ends within [`TIMEOUT`] of the deadline) and merges
    /// their logs, acks in arrival order.
    pub fn join(self) -> ClientLog {
        let mut all = ClientLog::default();
        for handle in self.handles {
            all.merge(handle.join().expect("a client thread panicked"));
        }
        all.acks.sort_by_key(|a| a.at);
        all.elapsed = self.t0.elapsed();
        all
    }
}

/// One client: POST, note the outcome, repeat on the same connection until the
/// deadline; a failed connection is dropped and the next request makes a new one.
fn write_loop(client: usize, target: &Target) -> ClientLog {
    let mut log = ClientLog::default();
    let mut conn: Option<Conn> = None;
    for seq in 1u64.. {
        if Instant::now() >= target.deadline || target.halt.load(Ordering::Relaxed) {
            break;
        }
        log.requests += 1;
        let mut c = match conn.take() {
            Some(c) => c,
            None => match Conn::connect(target.addr, TIMEOUT) {
                Ok(c) => c,
                Err(e) => {
                    log.fail(ErrorKind::of(&e));
                    continue;
                }
            },
        };
        let title = format!("chaos {client}-{seq}");
        let body = format!("title=chaos+{client}-{seq}&description={DESCRIPTION}");
        match c.exchange(&wire::form_post("/api/tasks/", &body)) {
            Ok(reply) => {
                log.record(title, &reply, target.t0.elapsed());
                conn = (!reply.close).then_some(c);
            }
            Err(e) => log.fail(ErrorKind::of(&e)),
        }
    }
    log
}

#[cfg(test)]
mod tests {
    use super::*;

    /// I/O errors map to the report's kinds.
    #[test]
    fn kinds() {
        use std::io::{Error, ErrorKind as Io};
        let io = |k| WireError::Io(Error::from(k));
        assert_eq!(
            ErrorKind::of(&WireError::Connect(Error::from(Io::ConnectionRefused))),
            ErrorKind::Refused
        );
        assert_eq!(ErrorKind::of(&io(Io::BrokenPipe)), ErrorKind::Reset);
        assert_eq!(ErrorKind::of(&io(Io::WouldBlock)), ErrorKind::Timeout);
        assert_eq!(ErrorKind::of(&WireError::Closed), ErrorKind::Closed);
        assert_eq!(ErrorKind::Status(503).label(), "http 503");
    }

    /// A 201 is an ack with the body's id and title; any other status is an error.
    #[test]
    fn record_outcomes() {
        let mut log = ClientLog::default();
        let reply = |status, body: &str| Reply {
            status,
            body: body.as_bytes().to_vec(),
            close: false,
        };
        log.record(
            "t".into(),
            &reply(201, r#"{"id":7,"title":"t","description":"d"}"#),
            Duration::ZERO,
        );
        log.record("u".into(), &reply(503, "{}"), Duration::ZERO);
        assert_eq!(
            (log.acks[0].id, log.acks[0].echoed.as_deref()),
            (Some(7), Some("t"))
        );
        assert_eq!(log.errors[&ErrorKind::Status(503)], 1);
    }
}
