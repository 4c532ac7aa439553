//! Where prefork listens: a TCP address or a Unix socket path (`--bind`).

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

/// The prefix that makes a `--bind` value a Unix socket path.
pub const UNIX_PREFIX: &str = "unix:";

/// One `--bind` value, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `HOST:PORT` (port 0: the kernel picks one).
    Tcp(SocketAddr),
    /// `unix:/path/to.sock`: a Unix stream socket at this path.
    Unix(PathBuf),
}

impl Endpoint {
    /// Parses `unix:PATH` or `HOST:PORT` (a name is resolved now; its first address is
    /// used). The error says what is wrong, for `--bind VALUE: …`.
    pub fn parse(value: &str) -> Result<Endpoint, String> {
        if let Some(path) = value.strip_prefix(UNIX_PREFIX) {
            return unix_path(path).map(Endpoint::Unix);
        }
        let mut addrs = value.to_socket_addrs().map_err(|e| e.to_string())?;
        addrs
            .next()
            .map(Endpoint::Tcp)
            .ok_or_else(|| "the name has no address".to_string())
    }

    /// The TCP address, if this is one.
    pub fn tcp(&self) -> Option<SocketAddr> {
        match self {
            Endpoint::Tcp(addr) => Some(*addr),
            Endpoint::Unix(_) => None,
        }
    }
}

/// A Unix socket path: absolute or relative, and short enough for `sun_path` (108
/// bytes with its terminating NUL on Linux).
fn unix_path(path: &str) -> Result<PathBuf, String> {
    // `unix://path` is how some tools write it; accept the form with an absolute path.
    let path = path
        .strip_prefix("//")
        .filter(|p| p.starts_with('/'))
        .unwrap_or(path);
    if path.is_empty() {
        return Err("no path after unix:".to_string());
    }
    if path.contains('\0') {
        return Err("the path contains a NUL byte".to_string());
    }
    if path.len() > MAX_UNIX_PATH {
        return Err(format!(
            "the path is {} bytes long; a Unix socket path has at most {MAX_UNIX_PATH}",
            path.len()
        ));
    }
    Ok(PathBuf::from(path))
}

/// The longest Unix socket path Linux takes (`sun_path` is 108 bytes, NUL included).
pub const MAX_UNIX_PATH: usize = 107;

impl fmt::Display for Endpoint {
    /// `127.0.0.1:8000`, `[::1]:8000`, `unix:/run/prefork.sock`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(addr) => write!(f, "{addr}"),
            Endpoint::Unix(path) => write!(f, "{UNIX_PREFIX}{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tcp_and_unix_forms() {
        assert_eq!(
            Endpoint::parse("127.0.0.1:8000").unwrap(),
            Endpoint::Tcp("127.0.0.1:8000".parse().unwrap())
        );
        assert!(Endpoint::parse("localhost:0").unwrap().tcp().is_some());
        let unix = Endpoint::Unix(PathBuf::from("/run/p.sock"));
        assert_eq!(Endpoint::parse("unix:/run/p.sock").unwrap(), unix);
        assert_eq!(Endpoint::parse("unix:///run/p.sock").unwrap(), unix);
        assert_eq!(
            Endpoint::parse("unix:rel/p.sock").unwrap(),
            Endpoint::Unix(PathBuf::from("rel/p.sock"))
        );
        assert_eq!(unix.to_string(), "unix:/run/p.sock");
    }

    #[test]
    fn refuses_what_cannot_be_bound() {
        assert!(Endpoint::parse("unix:").is_err());
        let long = format!("unix:/{}", "x".repeat(MAX_UNIX_PATH));
        assert!(Endpoint::parse(&long).unwrap_err().contains("at most 107"));
        assert!(Endpoint::parse("nowhere").is_err());
    }
}
