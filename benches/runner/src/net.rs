//! Loopback helpers: a free port below the ephemeral range, and a readiness probe
//! (`GET /health`, or any path that answers 200).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

/// Ports are picked in `[LOW, HIGH)`: below Linux's default ephemeral range
/// (32768–60999), where a client socket of a busy machine may hold any port, and
/// Gunicorn would then give up with `Connection in use` (peers/README.md).
const LOW: u16 = 20000;
const HIGH: u16 = 32000;

/// A port that was free a moment ago; consecutive calls return different ports, so a
/// server never inherits the TIME_WAIT leftovers of the previous cell.
pub fn free_port() -> std::io::Result<u16> {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let span = HIGH - LOW;
    // Spread concurrent benches (the test, a developer's run) by pid.
    let _ = NEXT.compare_exchange(
        0,
        (std::process::id() % span as u32) as u16 + 1,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    for _ in 0..span {
        let offset = NEXT.fetch_add(1, Ordering::Relaxed) % span;
        let port = LOW + offset;
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return Ok(port);
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AddrInUse,
        format!("no free port in {LOW}..{HIGH}"),
    ))
}

/// Whether `GET path` on `127.0.0.1:port` answers 200 within a second.
pub fn answers_200(port: u16, path: &str) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let timeout = Duration::from_secs(1);
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, timeout) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(timeout));
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && is_200(&head)
}

/// `GET path` on `127.0.0.1:port` with `Connection: close`: the status and the body
/// (read up to `Content-Length`, or to the end of the stream).
pub fn get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let timeout = Duration::from_secs(2);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if split_response(&raw).is_some_and(|(_, body, len)| len.is_some_and(|l| body.len() >= l)) {
            break;
        }
    }
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response");
    let (status, body, len) = split_response(&raw).ok_or_else(bad)?;
    let body = &body[..len.unwrap_or(body.len()).min(body.len())];
    Ok((status, String::from_utf8_lossy(body).into_owned()))
}

/// A response's status, body so far and `Content-Length`, once its head is complete.
fn split_response(raw: &[u8]) -> Option<(u16, &[u8], Option<usize>)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let status = head.get(9..12)?.parse().ok()?;
    let len = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())?
    });
    Some((status, &raw[end + 4..], len))
}

fn is_200(head: &[u8]) -> bool {
    head.starts_with(b"HTTP/1.") && head.get(8..12) == Some(b" 200")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Picked ports are below the ephemeral range and differ from call to call.
    #[test]
    fn ports_differ() {
        let a = free_port().unwrap();
        let b = free_port().unwrap();
        assert_ne!(a, b);
        assert!((LOW..HIGH).contains(&a) && (LOW..HIGH).contains(&b));
    }

    /// Only a 200 status line counts as healthy.
    #[test]
    fn status_line() {
        assert!(is_200(b"HTTP/1.1 200 OK"));
        assert!(is_200(b"HTTP/1.0 200 "));
        assert!(!is_200(b"HTTP/1.1 503 "));
        assert!(!is_200(b"SSH-2.0-Open"));
    }

    /// A response splits into status, body and length, whatever the header's case.
    #[test]
    fn responses() {
        let raw = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(split_response(raw), Some((200, &b"{}"[..], Some(2))));
        assert_eq!(split_response(b"HTTP/1.1 404 Not"), None);
        let close = b"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\nno";
        assert_eq!(split_response(close), Some((404, &b"no"[..], None)));
    }

    /// Nothing listening is simply not healthy.
    #[test]
    fn closed_port() {
        let port = free_port().unwrap();
        assert!(!answers_200(port, "/health"));
    }
}
