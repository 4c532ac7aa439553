//! A threads-mode connection and the worker-wide count of open connections.
//!
//! A [`Client`] moves between the acceptor's poll and the request threads; whoever
//! holds it last closes it by dropping it. Its [`Ticket`] keeps the [`Tally`] right
//! whichever thread that is, and wakes the acceptor when the count falls below the
//! connection cap (it may accept again) or reaches zero (a draining worker may exit).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use mio::Waker;

use crate::access_log::AccessLog;
use crate::peer::Peer;
use crate::scoreboard::Counters;
use crate::worker::conn::Conn;
use crate::worker::stream::NetStream;

/// Connections open in this worker, wherever they are.
pub(super) struct Tally {
    open: AtomicUsize,
    /// The worker's connection cap.
    cap: usize,
    /// The acceptor's poll.
    waker: Arc<Waker>,
}

impl Tally {
    /// A count of zero for a worker capped at `cap`, waking the poll of `waker`.
    pub(super) fn new(cap: usize, waker: Arc<Waker>) -> Tally {
        Tally {
            open: AtomicUsize::new(0),
            cap,
            waker,
        }
    }

    /// The worker's connection cap.
    pub(super) fn cap(&self) -> usize {
        self.cap
    }

    /// Connections open now.
    pub(super) fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }
}

/// One counted connection; dropping it uncounts it.
struct Ticket(Arc<Tally>);

impl Drop for Ticket {
    fn drop(&mut self) {
        let tally = &self.0;
        let before = tally.open.fetch_sub(1, Ordering::SeqCst);
        if before == tally.cap || before == 1 {
            // Cannot fail short of the poll being gone, when nobody needs the news.
            let _ = tally.waker.wake();
        }
    }
}

/// A connection of the thread pool: the stream with its session, counted.
pub(super) struct Client {
    /// The connection (non-blocking socket).
    pub conn: Conn<NetStream>,
    _ticket: Ticket,
}

impl Client {
    /// A connection from `peer` accepted at `now`, counted in `tally`, metered on the
    /// worker's counters and logged on its access log (`meters`).
    pub(super) fn new(
        stream: NetStream,
        peer: Peer,
        tally: &Arc<Tally>,
        now: Instant,
        meters: (Counters, AccessLog),
    ) -> Client {
        tally.open.fetch_add(1, Ordering::SeqCst);
        Client {
            conn: Conn::counted(stream, peer, now, meters),
            _ticket: Ticket(Arc::clone(tally)),
        }
    }
}
