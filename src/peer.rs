//! Who is at the other end of a connection, as the access log names it.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// The remote end of an accepted connection: an IP address for TCP; a Unix-socket
/// client has no address of its own (its socket is unnamed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// A TCP client's address (its port is left out, as logs do).
    Ip(IpAddr),
    /// A client on a Unix socket.
    Unix,
}

impl From<SocketAddr> for Peer {
    fn from(addr: SocketAddr) -> Peer {
        Peer::Ip(addr.ip())
    }
}

impl fmt::Display for Peer {
    /// The Common Log Format's host field: the IP address, or `-` (unknown) for a
    /// Unix-socket client.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Ip(ip) => write!(f, "{ip}"),
            Peer::Unix => f.write_str("-"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_as_log_host_field() {
        let v4: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let v6: SocketAddr = "[::1]:4000".parse().unwrap();
        assert_eq!(Peer::from(v4).to_string(), "127.0.0.1");
        assert_eq!(Peer::from(v6).to_string(), "::1");
        assert_eq!(Peer::Unix.to_string(), "-");
    }
}
