//! A background client doing sequential connection-per-request POSTs, as the seed does.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::http::{exchange, form_request};

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
