//! A connection's output: encoded responses in request order, with holes for answers
//! that are not known yet (deferred jobs waiting for their group commit).
//!
//! A hole is a position in the buffer reserved for one response, named by a sequence
//! number. Nothing from the first hole on is handed to the socket ([`Output::pending`]
//! stops there), so a response that arrives late still goes out before the pipelined
//! answers encoded after it, and answers that arrive out of order (jobs completed by
//! different database connections) still go out in request order.

use std::collections::VecDeque;
use std::time::Instant;

/// Largest buffer capacity kept once a buffer is empty: a keep-alive connection reuses
/// a small one for its next request, while a large one (a big body or a long list) is
/// given back, so an idle connection holds no large buffer.
pub(super) const KEEP_CAPACITY: usize = 4 * 1024;

/// Frees an empty buffer's memory if it grew past [`KEEP_CAPACITY`].
pub(super) fn release_if_empty(buf: &mut Vec<u8>) {
    if buf.is_empty() && buf.capacity() > KEEP_CAPACITY {
        *buf = Vec::new();
    }
}

/// Drops the body of the response encoded at `buf[from..]` (everything after the blank
/// line ending its head): the answer to `HEAD` carries the headers `GET` would, with
/// the same `Content-Length`, and no body.
pub(super) fn strip_body(buf: &mut Vec<u8>, from: usize) {
    if let Some(end) = buf[from..].windows(4).position(|w| w == b"\r\n\r\n") {
        buf.truncate(from + end + 4);
    }
}

/// A reserved place for one response.
#[derive(Debug)]
struct Hole {
    /// Its name, from [`Output::reserve`].
    seq: u64,
    /// Offset in the buffer where the response goes.
    at: usize,
    /// Whether the response keeps the connection open (decided when it was reserved).
    keep_alive: bool,
    /// It answers a `HEAD` request: only the head of the encoded response is kept.
    head: bool,
    /// When its request was complete (the start of its latency).
    since: Instant,
}

/// Encoded output with holes.
#[derive(Debug, Default)]
pub(super) struct Output {
    buf: Vec<u8>,
    /// `buf[..written]` has gone to the socket.
    written: usize,
    holes: VecDeque<Hole>,
    /// The name of the next hole.
    next_seq: u64,
}

impl Output {
    /// The buffer to append an encoded response (or `100 Continue`) to.
    pub(super) fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Reserves the place of a response that will be filled in later (`head`: it
    /// answers a `HEAD` request, so its body is dropped when it is filled); returns its
    /// name, [`Output::next_seq`] before the call. `since`: when its request was
    /// complete ([`Output::since`]).
    pub(super) fn reserve(&mut self, keep_alive: bool, head: bool, since: Instant) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.holes.push_back(Hole {
            seq,
            at: self.buf.len(),
            keep_alive,
            head,
            since,
        });
        seq
    }

    /// When the request of hole `seq` was complete; `None` without such a hole.
    pub(super) fn since(&self, seq: u64) -> Option<Instant> {
        self.holes.iter().find(|h| h.seq == seq).map(|h| h.since)
    }

    /// Whether hole `seq` answers a `HEAD` request (its body will be dropped).
    pub(super) fn answers_head(&self, seq: u64) -> bool {
        self.holes.iter().any(|h| h.seq == seq && h.head)
    }

    /// The name of the oldest hole, if any.
    pub(super) fn oldest(&self) -> Option<u64> {
        self.holes.front().map(|h| h.seq)
    }

    /// The name the next reserved hole gets.
    pub(super) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Responses reserved and not filled in yet.
    pub(super) fn holes(&self) -> usize {
        self.holes.len()
    }

    /// Fills the oldest hole: `encode(keep_alive, out)` appends the response to `out`.
    /// Returns false (and does nothing) when there is no hole. (The session fills by
    /// name, [`Output::oldest`] giving the oldest's.)
    #[cfg(test)]
    pub(super) fn fill(&mut self, encode: impl FnOnce(bool, &mut Vec<u8>)) -> bool {
        match self.holes.front() {
            Some(hole) => self.fill_seq(hole.seq, encode),
            None => false,
        }
    }

    /// Fills the hole named `seq`, wherever it is among the holes. Returns false (and
    /// does nothing) when there is no such hole.
    pub(super) fn fill_seq(&mut self, seq: u64, encode: impl FnOnce(bool, &mut Vec<u8>)) -> bool {
        let Some(index) = self.holes.iter().position(|h| h.seq == seq) else {
            return false;
        };
        let hole = self.holes.remove(index).expect("found above");
        let len = if hole.at == self.buf.len() {
            // Nothing was encoded behind it: append in place, no copy.
            let before = self.buf.len();
            encode(hole.keep_alive, &mut self.buf);
            if hole.head {
                strip_body(&mut self.buf, before);
            }
            self.buf.len() - before
        } else {
            let mut response = Vec::new();
            encode(hole.keep_alive, &mut response);
            if hole.head {
                strip_body(&mut response, 0);
            }
            let len = response.len();
            self.buf.splice(hole.at..hole.at, response);
            len
        };
        // Later holes sit at or after this one (several may share its position);
        // earlier ones sit before it.
        for later in self.holes.iter_mut().skip(index) {
            later.at += len;
        }
        true
    }

    /// Bytes ready for the socket: up to the first hole.
    pub(super) fn pending(&self) -> &[u8] {
        let end = self.holes.front().map_or(self.buf.len(), |h| h.at);
        &self.buf[self.written..end]
    }

    /// Records that `n` bytes of [`Output::pending`] were written; true when the buffer
    /// emptied (everything written, no hole left).
    pub(super) fn wrote(&mut self, n: usize) -> bool {
        self.written += n;
        if self.written < self.buf.len() {
            return false;
        }
        // Everything encoded so far is out; holes can only sit at the very end.
        self.buf.clear();
        release_if_empty(&mut self.buf);
        self.written = 0;
        for hole in &mut self.holes {
            hole.at = 0;
        }
        self.holes.is_empty()
    }

    /// Nothing to write and nothing owed.
    pub(super) fn is_empty(&self) -> bool {
        self.holes.is_empty() && self.written == self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(out: &mut Output, bytes: &[u8]) {
        out.buf().extend_from_slice(bytes);
    }

    /// A late answer goes before the pipelined answers encoded after its hole.
    #[test]
    fn hole_holds_back_later_output_until_filled() {
        let mut out = Output::default();
        put(&mut out, b"A");
        let _ = out.reserve(true, false, Instant::now());
        put(&mut out, b"C");
        let _ = out.reserve(false, false, Instant::now());
        assert_eq!(out.pending(), b"A");
        assert!(!out.wrote(1));
        assert_eq!(out.pending(), b"");
        assert!(out.fill(|keep, o| o.extend_from_slice(if keep { b"B" } else { b"x" })));
        assert_eq!(out.pending(), b"BC");
        assert!(out.fill(|keep, o| o.extend_from_slice(if keep { b"x" } else { b"D" })));
        assert_eq!(out.pending(), b"BCD");
        assert!(!out.fill(|_, _| unreachable!()));
        assert!(out.wrote(3));
        assert!(out.is_empty());
    }

    /// Holes reserved back to back are filled in order.
    #[test]
    fn adjacent_holes_keep_their_order() {
        let mut out = Output::default();
        let _ = out.reserve(true, false, Instant::now());
        let _ = out.reserve(true, false, Instant::now());
        put(&mut out, b"C");
        out.fill(|_, o| o.extend_from_slice(b"A"));
        out.fill(|_, o| o.extend_from_slice(b"B"));
        assert_eq!(out.pending(), b"ABC");
    }

    /// A hole at the end of fully written output survives the buffer's reset.
    #[test]
    fn hole_after_written_output_survives_reset() {
        let mut out = Output::default();
        put(&mut out, b"AB");
        let _ = out.reserve(true, false, Instant::now());
        assert!(!out.wrote(2), "a hole is still owed");
        assert!(!out.is_empty());
        out.fill(|_, o| o.extend_from_slice(b"C"));
        assert_eq!(out.pending(), b"C");
        assert!(out.wrote(1) && out.is_empty());
    }

    /// A large buffer is freed once written out; a small one is kept for reuse.
    #[test]
    fn large_buffer_released_after_use() {
        let mut out = Output::default();
        put(&mut out, &[b'x'; 100]);
        assert!(out.wrote(100));
        assert!(out.buf().capacity() >= 100, "small: kept");
        put(&mut out, &vec![b'y'; 64 * 1024]);
        assert!(out.wrote(64 * 1024));
        assert_eq!(out.buf().capacity(), 0, "large: released");
    }

    /// A hole reserved for a HEAD request keeps only the head of what fills it, in
    /// place or spliced before later output.
    #[test]
    fn head_holes_drop_the_body() {
        let mut out = Output::default();
        let _ = out.reserve(true, true, Instant::now());
        let _ = out.reserve(true, true, Instant::now());
        put(&mut out, b"C");
        out.fill(|_, o| o.extend_from_slice(b"H1\r\nA: 1\r\n\r\nbody"));
        out.fill(|_, o| o.extend_from_slice(b"H2\r\n\r\nbody"));
        assert_eq!(out.pending(), b"H1\r\nA: 1\r\n\r\nH2\r\n\r\nC");
        let mut tail = Output::default();
        let _ = tail.reserve(true, true, Instant::now());
        tail.fill(|_, o| o.extend_from_slice(b"H\r\n\r\nbody"));
        assert_eq!(tail.pending(), b"H\r\n\r\n");
    }

    /// Answers filled out of order (the later request's first) still go out in
    /// request order, and only once the earlier one is there.
    #[test]
    fn holes_filled_out_of_order_keep_request_order() {
        let mut out = Output::default();
        let a = out.reserve(true, false, Instant::now());
        put(&mut out, b"|");
        let b = out.reserve(true, false, Instant::now());
        let c = out.reserve(true, false, Instant::now());
        assert!(out.fill_seq(c, |_, o| o.extend_from_slice(b"C")));
        assert!(out.fill_seq(b, |_, o| o.extend_from_slice(b"B")));
        assert_eq!(out.pending(), b"", "A is still owed");
        assert!(out.fill_seq(a, |_, o| o.extend_from_slice(b"A")));
        assert_eq!(out.pending(), b"A|BC");
        assert!(!out.fill_seq(a, |_, _| unreachable!()), "filled once");
    }

    /// Partial writes resume where they stopped.
    #[test]
    fn partial_writes() {
        let mut out = Output::default();
        put(&mut out, b"hello");
        assert!(!out.wrote(2));
        assert_eq!(out.pending(), b"llo");
        assert!(out.wrote(3));
        assert_eq!(out.pending(), b"");
    }
}
