//! A listening socket of either kind prefork serves on: TCP or a Unix stream socket.
//! The master binds or adopts them, keeps them for its whole life, and gives each worker
//! duplicates ([`Listener::try_clone`]).

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::UnixListener;

use crate::endpoint::Endpoint;

/// A listening socket.
#[derive(Debug)]
pub enum Listener {
    /// A TCP listener.
    Tcp(TcpListener),
    /// A Unix stream socket listener.
    Unix(UnixListener),
}

impl Listener {
    /// Another descriptor for the same socket.
    pub fn try_clone(&self) -> io::Result<Listener> {
        Ok(match self {
            Listener::Tcp(l) => Listener::Tcp(l.try_clone()?),
            Listener::Unix(l) => Listener::Unix(l.try_clone()?),
        })
    }

    /// Where it listens: its TCP address or its path (an error for an unnamed or
    /// abstract Unix socket, which prefork never binds).
    pub fn endpoint(&self) -> io::Result<Endpoint> {
        match self {
            Listener::Tcp(l) => Ok(Endpoint::Tcp(l.local_addr()?)),
            Listener::Unix(l) => match l.local_addr()?.as_pathname() {
                Some(path) => Ok(Endpoint::Unix(path.to_path_buf())),
                None => Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a Unix socket without a path (unnamed or abstract)",
                )),
            },
        }
    }

    /// Makes `accept` return `WouldBlock` instead of waiting.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.set_nonblocking(on),
            Listener::Unix(l) => l.set_nonblocking(on),
        }
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Listener::Tcp(l) => l.as_fd(),
            Listener::Unix(l) => l.as_fd(),
        }
    }
}

impl AsRawFd for Listener {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

impl From<TcpListener> for Listener {
    fn from(l: TcpListener) -> Listener {
        Listener::Tcp(l)
    }
}

impl From<UnixListener> for Listener {
    fn from(l: UnixListener) -> Listener {
        Listener::Unix(l)
    }
}
