//! One client connection: a stream plus its [`Session`], and the byte moving between them.
//!
//! The same [`Conn`] serves both modes: the event loop drives a non-blocking mio stream
//! (a `WouldBlock` ends a read or write burst), the thread pool a blocking std stream with
//! socket timeouts (a timeout surfaces as `WouldBlock`/`TimedOut` in the same places).

use std::io::{self, ErrorKind, Read, Write};
use std::net::Shutdown;
use std::time::Instant;

pub use super::session::{Session, Timeouts, HIGH_WATER};
use crate::access_log::AccessLog;
use crate::peer::Peer;
use crate::scoreboard::Counters;

/// Bytes asked of the kernel per `read` call.
pub const CHUNK: usize = 16 * 1024;

/// A byte stream a [`Conn`] can half-close (a worker's [`NetStream`](super::stream::NetStream), std's `TcpStream` in tests).
pub trait Stream: Read + Write {
    /// Shuts down the sending side.
    fn shutdown_write(&self) -> io::Result<()>;
}

impl Stream for std::net::TcpStream {
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

/// A stream with its session.
#[derive(Debug)]
pub struct Conn<S> {
    /// The socket.
    pub stream: S,
    /// The protocol state.
    pub session: Session,
}

impl<S: Stream> Conn<S> {
    /// A connection accepted at `now`, counted nowhere (tests).
    pub fn new(stream: S, now: Instant) -> Conn<S> {
        Conn {
            stream,
            session: Session::new(now),
        }
    }

    /// A connection from `peer` accepted at `now`, metered on the worker's `counters`
    /// (bytes, responses, its close; see [`Session::counted`]) and logged on `log`.
    pub fn counted(
        stream: S,
        peer: Peer,
        now: Instant,
        (counters, log): (Counters, AccessLog),
    ) -> Conn<S> {
        Conn {
            stream,
            session: Session::counted(now, counters, peer, log),
        }
    }

    /// One `read` into the session; `Ok(0)` means the peer closed its side.
    pub fn read_once(&mut self, now: Instant) -> io::Result<usize> {
        // A zeroed stack chunk: no uninitialised memory is ever handed to `read`.
        let mut chunk = [0u8; CHUNK];
        let n = self.stream.read(&mut chunk)?;
        self.session.meter().received(n);
        if n == 0 {
            self.session.peer_closed();
        }
        self.session.received(&chunk[..n], now);
        Ok(n)
    }

    /// Writes pending output until done (`Ok(true)`) or the socket would block (`Ok(false)`;
    /// on a blocking socket this is its write timeout).
    pub fn flush(&mut self, now: Instant) -> io::Result<bool> {
        while !self.session.pending().is_empty() {
            match self.stream.write(self.session.pending()) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.session.meter().sent(n);
                    self.session.wrote(n, now);
                }
                Err(e) if is_timeout(&e) => return Ok(false),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// The one decision after answering, in both modes: writes what it can, then
    /// whether the connection is done — finished ([`Conn::settle`]) or, once the worker
    /// is `draining`, idle past the drain grace — or still open with its output all
    /// written or waiting for the socket.
    pub(crate) fn flush_and_settle(&mut self, draining: bool, now: Instant) -> io::Result<Settle> {
        let flushed = self.flush(now)?;
        if self.settle(now) || self.session.drained_out(draining, now) {
            return Ok(Settle::Close);
        }
        Ok(if flushed {
            Settle::Flushed
        } else {
            Settle::Blocked
        })
    }

    /// After a flush: half-closes a connection we decided to close (its input is then
    /// drained until EOF or the linger deadline, so unread bytes do not turn into a RST
    /// that destroys our last response); returns whether it can be dropped now.
    pub fn settle(&mut self, now: Instant) -> bool {
        if self.session.linger_due() {
            if self.stream.shutdown_write().is_err() {
                return true; // the peer is already gone: nothing left to protect
            }
            self.session.start_linger(now);
        }
        self.session.finished()
    }
}

/// Where [`Conn::flush_and_settle`] left a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Settle {
    /// Done: drop it.
    Close,
    /// Open, every byte written.
    Flushed,
    /// Open, output waiting for room in the socket.
    Blocked,
}

/// Whether an I/O error only means "not now": `WouldBlock` on a non-blocking socket, or an
/// expired `SO_RCVTIMEO`/`SO_SNDTIMEO` on a blocking one (Linux reports `EAGAIN` for both).
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A scripted stream: reads come from `input`, writes accept at most `window` bytes per
    /// call (then `WouldBlock` once), shutdowns are counted.
    struct Fake {
        input: Vec<u8>,
        out: Vec<u8>,
        window: usize,
        blocked: bool,
        shutdowns: Cell<u32>,
    }

    impl Read for Fake {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.input.len());
            buf[..n].copy_from_slice(&self.input[..n]);
            self.input.drain(..n);
            Ok(n)
        }
    }

    impl Write for Fake {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.blocked {
                self.blocked = false;
                return Err(ErrorKind::WouldBlock.into());
            }
            self.blocked = true;
            let n = buf.len().min(self.window);
            self.out.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Stream for Fake {
        fn shutdown_write(&self) -> io::Result<()> {
            self.shutdowns.set(self.shutdowns.get() + 1);
            Ok(())
        }
    }

    fn fake(input: &[u8], window: usize) -> Conn<Fake> {
        let stream = Fake {
            input: input.to_vec(),
            out: Vec::new(),
            window,
            blocked: false,
            shutdowns: Cell::new(0),
        };
        Conn::new(stream, Instant::now())
    }

    /// Reading an empty script is EOF: the session learns the peer closed.
    #[test]
    fn read_zero_marks_peer_closed() {
        let mut c = fake(b"", 10);
        assert_eq!(c.read_once(Instant::now()).unwrap(), 0);
        assert!(!c.session.wants_read());
        assert!(
            c.settle(Instant::now()),
            "nothing to send and the peer is gone"
        );
    }

    /// Bytes read land in the session's read buffer.
    #[test]
    fn read_appends_to_rbuf() {
        let mut c = fake(b"GET / HT", 10);
        assert_eq!(c.read_once(Instant::now()).unwrap(), 8);
        assert_eq!(c.session.rbuf, b"GET / HT");
    }

    /// An empty write buffer flushes at once.
    #[test]
    fn flush_of_nothing_is_done() {
        let mut c = fake(b"", 4);
        assert!(c.flush(Instant::now()).unwrap());
        assert!(c.stream.out.is_empty());
    }

    /// Output the socket takes piecemeal is finished across several flushes, in order.
    #[test]
    fn partial_writes_resume_where_they_stopped() {
        let mut c = fake(
            b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n",
            7,
        );
        c.read_once(Instant::now()).unwrap();
        let limits = crate::config::Limits::default();
        let mut date = crate::http::response::DateCache::default();
        c.session.process(&limits, &mut date, Instant::now(), |r| {
            crate::http::response::Response::json(200, r.path.clone().into_bytes())
        });
        let expected = c.session.pending().to_vec();
        let mut rounds = 0;
        while !c.flush(Instant::now()).unwrap() {
            rounds += 1;
        }
        assert!(rounds > 2, "the fake socket blocks after every 7 bytes");
        assert_eq!(c.stream.out, expected);
        assert!(
            !c.settle(Instant::now()),
            "keep-alive: the connection stays"
        );
    }

    /// A connection closed by our error half-closes once flushed and then drains input
    /// until EOF, instead of closing with unread bytes (which would send a RST).
    #[test]
    fn error_close_lingers_until_eof() {
        let mut c = fake(b"BAD\x01 / HTTP/1.1\r\n\r\n", 1 << 20);
        c.read_once(Instant::now()).unwrap();
        let limits = crate::config::Limits::default();
        let mut date = crate::http::response::DateCache::default();
        c.session
            .process(&limits, &mut date, Instant::now(), |_| unreachable!());
        assert!(c.flush(Instant::now()).unwrap());
        assert!(c.stream.out.starts_with(b"HTTP/1.1 400"));
        assert!(!c.settle(Instant::now()), "lingering, not finished");
        assert_eq!(c.stream.shutdowns.get(), 1);
        c.stream.input = b"rest of a body".to_vec();
        c.read_once(Instant::now()).unwrap();
        assert!(c.session.rbuf.is_empty(), "lingering input is discarded");
        assert_eq!(c.read_once(Instant::now()).unwrap(), 0);
        assert!(c.settle(Instant::now()), "EOF ends the linger");
    }

    /// Timeouts of both socket flavours count as "not now".
    #[test]
    fn would_block_and_timed_out_are_timeouts() {
        assert!(is_timeout(&ErrorKind::WouldBlock.into()));
        assert!(is_timeout(&ErrorKind::TimedOut.into()));
        assert!(!is_timeout(&ErrorKind::ConnectionReset.into()));
    }
}
