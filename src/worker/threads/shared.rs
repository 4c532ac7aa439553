//! What the acceptor and the request threads share, in a module of its own so that
//! every part of threads mode can name it without going through the mode's root.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use mio::Waker;

use super::client::Client;
use super::committer::Inbox;
use crate::config::Limits;
use crate::scoreboard::{Board, Counters};
use crate::service::Service;
use crate::worker::conn::Timeouts;
use crate::worker::state::{Quota, StopFlags};

/// Longest blocking wait of the acceptor (poll, channel send): how late it notices a
/// stop request.
pub(super) const TICK: Duration = Duration::from_millis(200);

/// What the request threads share.
pub(super) struct Shared<S: Service> {
    /// What the worker serves.
    pub(super) service: Arc<S>,
    /// Every worker's counters, for `GET /stats`.
    pub(super) board: Board,
    pub(super) flags: StopFlags,
    pub(super) quota: Arc<Quota>,
    pub(super) limits: Limits,
    pub(super) timeouts: Timeouts,
    /// Connections ready for a thread: readable ones from the acceptor's poll.
    pub(super) queue: Receiver<Client>,
    /// Connections handed back to the acceptor to wait in its poll.
    pub(super) park: Sender<Client>,
    /// Wakes the acceptor's poll after a park.
    pub(super) waker: Arc<Waker>,
    /// This worker's activity counters.
    pub(super) counters: Counters,
    /// The group committers' queue, when jobs are committed in groups.
    pub(super) committer: Option<Inbox<S>>,
}

/// The worker's threads besides the acceptor.
pub(super) struct Threads {
    pub(super) requests: Vec<JoinHandle<()>>,
    pub(super) committers: Vec<JoinHandle<()>>,
}

impl Threads {
    /// Whether a thread ended before the stop: only a panic does that.
    pub(super) fn crashed(&self) -> bool {
        self.requests
            .iter()
            .chain(&self.committers)
            .any(JoinHandle::is_finished)
    }
}
