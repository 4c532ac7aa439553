//! Background clients: sequential connection-per-request POSTs as the seed does
//! ([`Poster`]), and keep-alive POSTs that reconnect when the server announces a close
//! ([`keepalive_client`]).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::http::{exchange, form_request, Conn};

/// Upper bound on a background client's run, whatever the test does.
const MAX_RUN: Duration = Duration::from_secs(120);

/// What one POST ended as.
pub fn post_outcome(port: u16, title: &str) -> Result<(), String> {
    match exchange(port, &form_request(title, "background client")) {
        Ok(resp) if resp.status == 201 => Ok(()),
        Ok(resp) => Err(format!("{title}: {} {:?}", resp.status, resp.text())),
        Err(e) => Err(format!("{title}: {e}")),
    }
}

/// Sequential POSTs on a thread until [`Poster::finish`] (or `max` requests).
pub struct Poster {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicUsize>,
    handle: JoinHandle<Vec<String>>,
}

impl Poster {
    /// Starts posting `{prefix}-{i}` to 127.0.0.1:`port`.
    pub fn start(port: u16, prefix: &str, max: usize) -> Poster {
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicUsize::new(0));
        let (stop2, done2, prefix) = (Arc::clone(&stop), Arc::clone(&done), prefix.to_string());
        let handle = std::thread::spawn(move || {
            let started = Instant::now();
            let mut failures = Vec::new();
            for i in 0..max {
                if stop2.load(Ordering::SeqCst) || started.elapsed() > MAX_RUN {
                    break;
                }
                if let Err(why) = post_outcome(port, &format!("{prefix}-{i}")) {
                    failures.push(why);
                }
                done2.fetch_add(1, Ordering::SeqCst);
            }
            failures
        });
        Poster { stop, done, handle }
    }

    /// Requests completed so far (successful or not).
    pub fn done(&self) -> usize {
        self.done.load(Ordering::SeqCst)
    }

    /// Polls until `n` more requests than now have completed.
    pub fn wait_more(&self, n: usize, timeout: Duration) {
        let target = self.done() + n;
        super::poll_until(timeout, &format!("{target} background requests"), || {
            self.done() >= target
        });
    }

    /// Stops the client; returns `(requests completed, failures)`.
    pub fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        let failures = self.handle.join().expect("client thread");
        (self.done.load(Ordering::SeqCst), failures)
    }
}

/// One keep-alive client: POSTs until `stop`, pausing `think` after each answer and
/// reconnecting when the server announced a close; returns (201s, failures).
pub fn keepalive_client(
    port: u16,
    prefix: &str,
    think: Duration,
    stop: &AtomicBool,
) -> (i64, Vec<String>) {
    let (mut conn, mut created, mut failures) = (None, 0, Vec::new());
    let started = Instant::now();
    for i in 0.. {
        if stop.load(Ordering::SeqCst) || started.elapsed() > MAX_RUN {
            break;
        }
        let title = format!("{prefix}-{i}");
        let mut c = match conn.take().map_or_else(|| Conn::open(port), Ok) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{title}: connect: {e}"));
                continue;
            }
        };
        let outcome = c
            .send(&form_request(&title, prefix))
            .and_then(|()| c.read_response());
        match outcome {
            Ok(resp) if resp.status == 201 => {
                created += 1;
                if resp.header("connection") != Some("close") {
                    conn = Some(c);
                }
            }
            Ok(resp) => failures.push(format!("{title}: {} {}", resp.status, resp.text())),
            Err(e) => failures.push(format!("{title}: {e}")),
        }
        // The client's own pace between requests, not a wait.
        std::thread::sleep(think);
    }
    (created, failures)
}

/// Joins keep-alive clients started with [`keepalive_client`]; panics listing every
/// failed request if any; returns the 201s.
pub fn join_keepalive_clients(clients: Vec<JoinHandle<(i64, Vec<String>)>>) -> i64 {
    let (mut created, mut failures) = (0, Vec::new());
    for client in clients {
        let (ok, failed) = client.join().expect("client thread");
        created += ok;
        failures.extend(failed);
    }
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    created
}
