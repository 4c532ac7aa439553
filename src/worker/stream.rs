//! A client connection's socket, TCP or Unix, as both worker modes drive it (mio,
//! non-blocking), and the set of listeners a worker accepts from.

use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use mio::event::Source;
use mio::{Interest, Registry, Token};

use super::conn::Stream;
use crate::listener::Listener;
use crate::peer::Peer;

/// An accepted connection.
#[derive(Debug)]
pub enum NetStream {
    /// From a TCP listener.
    Tcp(mio::net::TcpStream),
    /// From a Unix-socket listener.
    Unix(mio::net::UnixStream),
}

impl NetStream {
    /// Turns Nagle's algorithm off on TCP (every response is written in one go; Nagle
    /// would only hold back its tail); nothing to do on a Unix socket.
    pub fn set_nodelay(&self) -> io::Result<()> {
        match self {
            NetStream::Tcp(s) => s.set_nodelay(true),
            NetStream::Unix(_) => Ok(()),
        }
    }
}

impl Read for NetStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            NetStream::Tcp(s) => s.read(buf),
            NetStream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for NetStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            NetStream::Tcp(s) => s.write(buf),
            NetStream::Unix(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            NetStream::Tcp(s) => s.write_vectored(bufs),
            NetStream::Unix(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Stream for NetStream {
    fn shutdown_write(&self) -> io::Result<()> {
        match self {
            NetStream::Tcp(s) => s.shutdown(Shutdown::Write),
            NetStream::Unix(s) => s.shutdown(Shutdown::Write),
        }
    }
}

impl AsRawFd for NetStream {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            NetStream::Tcp(s) => s.as_raw_fd(),
            NetStream::Unix(s) => s.as_raw_fd(),
        }
    }
}

impl AsFd for NetStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            NetStream::Tcp(s) => s.as_fd(),
            NetStream::Unix(s) => s.as_fd(),
        }
    }
}

impl Source for NetStream {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match self {
            NetStream::Tcp(s) => s.register(registry, token, interests),
            NetStream::Unix(s) => s.register(registry, token, interests),
        }
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match self {
            NetStream::Tcp(s) => s.reregister(registry, token, interests),
            NetStream::Unix(s) => s.reregister(registry, token, interests),
        }
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match self {
            NetStream::Tcp(s) => s.deregister(registry),
            NetStream::Unix(s) => s.deregister(registry),
        }
    }
}

/// One listener, as the worker's poll holds it.
#[derive(Debug)]
enum Accepting {
    Tcp(mio::net::TcpListener),
    Unix(mio::net::UnixListener),
}

/// Every listener a worker accepts from, registered under one token: an event on any
/// of them means "accept from the set" ([`Listeners::accept`] takes from each in turn
/// until all of them are empty).
#[derive(Debug)]
pub struct Listeners {
    all: Vec<Accepting>,
    /// The listener the next accept tries first.
    next: usize,
}

impl Listeners {
    /// The worker's inherited listeners, made non-blocking.
    pub fn new(listeners: Vec<Listener>) -> io::Result<Listeners> {
        let all = listeners
            .into_iter()
            .map(|listener| {
                listener.set_nonblocking(true)?;
                Ok(match listener {
                    Listener::Tcp(l) => Accepting::Tcp(mio::net::TcpListener::from_std(l)),
                    Listener::Unix(l) => Accepting::Unix(mio::net::UnixListener::from_std(l)),
                })
            })
            .collect::<io::Result<_>>()?;
        Ok(Listeners { all, next: 0 })
    }

    /// Registers every listener for readability under `token`.
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        for listener in &mut self.all {
            match listener {
                Accepting::Tcp(l) => registry.register(l, token, Interest::READABLE)?,
                Accepting::Unix(l) => registry.register(l, token, Interest::READABLE)?,
            }
        }
        Ok(())
    }

    /// Takes every listener out of the poll (errors mean it is not there: ignored).
    pub fn deregister(&mut self, registry: &Registry) {
        for listener in &mut self.all {
            let _ = match listener {
                Accepting::Tcp(l) => registry.deregister(l),
                Accepting::Unix(l) => registry.deregister(l),
            };
        }
    }

    /// One connection from the listeners, taken in turn: `WouldBlock` once every one of
    /// them said so in a row (the queues are empty); another error as the listener
    /// that gave it said it (the next call starts there again).
    pub fn accept(&mut self) -> io::Result<(NetStream, Peer)> {
        for _ in 0..self.all.len() {
            let taken = match &self.all[self.next] {
                Accepting::Tcp(l) => l
                    .accept()
                    .map(|(stream, addr)| (NetStream::Tcp(stream), Peer::from(addr))),
                Accepting::Unix(l) => l
                    .accept()
                    .map(|(stream, _)| (NetStream::Unix(stream), Peer::Unix)),
            };
            match taken {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.next = (self.next + 1) % self.all.len();
                }
                other => return other,
            }
        }
        Err(io::ErrorKind::WouldBlock.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::os::unix::net::{UnixListener, UnixStream};

    /// Connections waiting on either listener are all taken, TCP peers with their
    /// address and Unix ones as such, then `WouldBlock`.
    #[test]
    fn accepts_from_every_listener_until_all_are_empty() {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = tcp.local_addr().unwrap();
        let dir = std::env::temp_dir().join(format!("prefork-stream-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let unix = UnixListener::bind(&path).unwrap();
        let mut set = Listeners::new(vec![Listener::Tcp(tcp), Listener::Unix(unix)]).unwrap();
        let _clients = (
            std::net::TcpStream::connect(addr).unwrap(),
            UnixStream::connect(&path).unwrap(),
            UnixStream::connect(&path).unwrap(),
        );
        let mut peers = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while peers.len() < 3 && std::time::Instant::now() < deadline {
            match set.accept() {
                Ok((_, peer)) => peers.push(peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) => panic!("{e}"),
            }
        }
        peers.sort_by_key(|p| matches!(p, Peer::Unix));
        assert_eq!(peers, vec![Peer::Ip(addr.ip()), Peer::Unix, Peer::Unix]);
        assert_eq!(set.accept().unwrap_err().kind(), io::ErrorKind::WouldBlock);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
