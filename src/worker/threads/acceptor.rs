//! The acceptor thread: accepts new connections, keeps parked keep-alive connections in
//! its poll until they are readable again, and queues both for the request threads.

use std::io::{self, ErrorKind};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Instant;

use crossbeam_channel::{Receiver, SendTimeoutError, Sender};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use nix::errno::Errno;
use nix::sys::socket::{recv, MsgFlags};
use slab::Slab;

use super::{Threads, TICK};
use crate::worker::conn::{Conn, Timeouts};
use crate::worker::{Stop, Worker};

/// The listening socket in the acceptor's poll.
const LISTENER: Token = Token(0);
/// The signal self-pipe.
const SIGNAL: Token = Token(1);
/// A request thread parked a connection.
pub(super) const WAKE: Token = Token(2);
/// Parked connection `k` has token `FIRST_PARKED + k`.
const FIRST_PARKED: usize = 3;

/// A connection waiting in the poll for its next request.
struct Parked {
    conn: Conn<TcpStream>,
    /// Its keep-alive expiry.
    deadline: Instant,
}

/// The acceptor's state.
struct Acceptor<'a> {
    worker: &'a mut Worker,
    poll: Poll,
    listener: TcpListener,
    queue: &'a Sender<Conn<TcpStream>>,
    returns: Receiver<Conn<TcpStream>>,
    parked: Slab<Parked>,
    timeouts: Timeouts,
    next_sweep: Instant,
}

/// What a non-blocking peek says about a parked connection.
enum Probe {
    /// A request (or part of one) is waiting.
    Data,
    /// Nothing yet.
    Nothing,
    /// The client closed or reset it.
    Gone,
}

/// The acceptor: accept, hand over, keep parked connections, beat, until a stop is
/// requested.
pub(super) fn run(
    worker: &mut Worker,
    poll: Poll,
    listener: TcpListener,
    (queue, returns): (&Sender<Conn<TcpStream>>, Receiver<Conn<TcpStream>>),
    threads: &Threads,
    timeouts: Timeouts,
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let registry = poll.registry();
    let fd = listener.as_raw_fd();
    registry.register(&mut SourceFd(&fd), LISTENER, Interest::READABLE)?;
    registry.register(&mut worker.signals.wake, SIGNAL, Interest::READABLE)?;
    let mut me = Acceptor {
        worker,
        poll,
        listener,
        queue,
        returns,
        parked: Slab::new(),
        timeouts,
        next_sweep: Instant::now() + TICK,
    };
    me.serve(threads)
}

impl Acceptor<'_> {
    /// The poll loop.
    fn serve(&mut self, threads: &Threads) -> io::Result<()> {
        let mut events = Events::with_capacity(256);
        loop {
            match self.poll.poll(&mut events, Some(TICK)) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            self.worker.heartbeat.beat();
            self.worker.signals.drain();
            if should_stop(self.worker) {
                // Take what the kernel already queued on this listener first: when the
                // master has closed its copy (TTOU), dropping ours would reset them.
                self.accept_all();
                self.release();
                return Ok(()); // dropping our listener fd; the master keeps the socket
            }
            // A request thread or the committer only ends early by panicking: crash so
            // the master respawns us.
            if threads.crashed() {
                return Err(io::Error::other("a worker thread panicked"));
            }
            self.dispatch(&events);
        }
    }

    /// Handles one poll's events. Readiness of parked connections goes first: parking
    /// reuses freed slab keys, and an event of this batch must not reach a newcomer.
    fn dispatch(&mut self, events: &Events) {
        let mut accept = false;
        for event in events {
            match event.token() {
                LISTENER => accept = true,
                SIGNAL | WAKE => {}
                Token(t) => self.readable(t - FIRST_PARKED),
            }
        }
        while let Ok(conn) = self.returns.try_recv() {
            self.park(conn);
        }
        if accept {
            self.accept_all();
        }
        self.sweep(Instant::now());
    }

    /// Accepts until `WouldBlock` (the poll is edge-triggered), handing each connection over.
    fn accept_all(&mut self) {
        loop {
            match self.listener.accept() {
                // Linux does not pass O_NONBLOCK on to accepted sockets: this one blocks.
                Ok((stream, _)) => {
                    self.worker.counters.connection();
                    if !self.hand_off(Conn::new(stream, Instant::now())) {
                        return;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionAborted | ErrorKind::Interrupted
                    ) => {}
                Err(_) => return, // WouldBlock, or out of descriptors (FIXME(EMFILE) as in evloop)
            }
        }
    }

    /// Queues a connection; while every thread is busy and the queue is full, waits in
    /// [`TICK`] steps, still beating. False if the worker is stopping immediately.
    fn hand_off(&self, mut conn: Conn<TcpStream>) -> bool {
        loop {
            match self.queue.send_timeout(conn, TICK) {
                Ok(()) => return true,
                Err(SendTimeoutError::Timeout(back)) => conn = back,
                Err(SendTimeoutError::Disconnected(_)) => return false,
            }
            self.worker.heartbeat.beat();
            if self.worker.signals.flags.get() == Some(Stop::Immediate) {
                return false;
            }
        }
    }

    /// Takes an idle connection from a request thread into the poll. The peek comes
    /// after the registration: a request that arrived before it raised no edge, one that
    /// arrives after it does.
    fn park(&mut self, conn: Conn<TcpStream>) {
        let deadline = conn.session.deadline(&self.timeouts);
        let entry = self.parked.vacant_entry();
        let key = entry.key();
        let fd = conn.stream.as_raw_fd();
        let token = Token(FIRST_PARKED + key);
        let registry = self.poll.registry();
        if registry
            .register(&mut SourceFd(&fd), token, Interest::READABLE)
            .is_err()
        {
            return; // dropped: closes it (out of resources; the client reconnects)
        }
        entry.insert(Parked { conn, deadline });
        self.readable(key);
    }

    /// A parked connection may be readable: queue it when a request waits, drop it when
    /// the client went away, keep it otherwise (a stale or spurious event).
    fn readable(&mut self, key: usize) {
        let Some(parked) = self.parked.get(key) else {
            return;
        };
        match probe(&parked.conn.stream) {
            Probe::Nothing => {}
            Probe::Gone => drop(self.unpark(key)),
            Probe::Data => {
                let conn = self.unpark(key);
                self.hand_off(conn);
            }
        }
    }

    /// Removes a parked connection from the poll and the slab.
    fn unpark(&mut self, key: usize) -> Conn<TcpStream> {
        let parked = self.parked.remove(key);
        let fd = parked.conn.stream.as_raw_fd();
        let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
        parked.conn
    }

    /// Closes parked connections past their keep-alive deadline (silently: the normal
    /// keep-alive expiry, as in the event loop), at most once per [`TICK`].
    fn sweep(&mut self, now: Instant) {
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now + TICK;
        let expired: Vec<usize> = self
            .parked
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(key, _)| key)
            .collect();
        for key in expired {
            drop(self.unpark(key));
        }
    }

    /// On a graceful stop: connections whose next request already arrived are queued
    /// (the request threads drain the queue); the idle rest close.
    fn release(&mut self) {
        while let Ok(conn) = self.returns.try_recv() {
            self.park(conn);
        }
        let keys: Vec<usize> = self.parked.iter().map(|(key, _)| key).collect();
        for key in keys {
            let conn = self.unpark(key);
            if matches!(probe(&conn.stream), Probe::Data) && !self.hand_off(conn) {
                return;
            }
        }
    }
}

/// Peeks at a socket without blocking (whatever its mode) and without consuming input.
fn probe(stream: &TcpStream) -> Probe {
    let mut byte = [0u8; 1];
    let flags = MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT;
    loop {
        return match recv(stream.as_raw_fd(), &mut byte, flags) {
            Ok(0) => Probe::Gone,
            Ok(_) => Probe::Data,
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => Probe::Nothing,
            Err(_) => Probe::Gone,
        };
    }
}

/// Whether to stop accepting; turns recycling and master death into a graceful stop
/// that the request threads see too.
fn should_stop(worker: &mut Worker) -> bool {
    let flags = &worker.signals.flags;
    if flags.get().is_some() {
        return true;
    }
    if worker.quota.reached() || worker.lifeline.master_gone(Instant::now()) {
        flags.request(Stop::Graceful);
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A loopback pair: (client side, server side).
    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        (client, listener.accept().unwrap().0)
    }

    /// A probe of a blocking socket neither blocks nor consumes: nothing, data, then EOF.
    #[test]
    fn probe_sees_nothing_then_data_then_close() {
        let (mut client, server) = pair();
        assert!(matches!(probe(&server), Probe::Nothing));
        client.write_all(b"GET").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(matches!(probe(&server), Probe::Data));
        assert!(
            matches!(probe(&server), Probe::Data),
            "peeking keeps the bytes"
        );
        drop(client);
        let mut buf = [0u8; 8];
        assert_eq!(io::Read::read(&mut &server, &mut buf).unwrap(), 3);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(matches!(probe(&server), Probe::Gone));
    }
}
