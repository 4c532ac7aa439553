use std::net::{IpAddr, Ipv4Addr};

use super::line::{self, clf_time, escape_into, first_line, format};
use super::*;

fn entry(request: &[u8]) -> Entry<'_> {
    Entry {
        peer: Peer::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        request,
        status: 201,
        body_bytes: 57,
        elapsed: Duration::from_micros(812),
    }
}

fn host(peer: Peer) -> Vec<u8> {
    let mut out = b"stale".to_vec();
    line::write_host(&mut out, peer);
    out
}

#[test]
fn clf_time_of_known_instants() {
    assert_eq!(&clf_time(0), b"01/Jan/1970:00:00:00 +0000");
    // RFC 9110's example date, and a leap day.
    assert_eq!(&clf_time(784_111_777), b"06/Nov/1994:08:49:37 +0000");
    assert_eq!(&clf_time(951_782_400), b"29/Feb/2000:00:00:00 +0000");
    assert_eq!(&clf_time(1_796_282_999), b"03/Dec/2026:07:29:59 +0000");
}

#[test]
fn a_line_has_every_field() {
    let mut out = Vec::new();
    let e = entry(b"POST /tasks HTTP/1.1\r\nHost: x\r\n\r\n");
    format(
        &mut out,
        &e,
        &host(e.peer),
        b"03/Dec/2026:07:10:00 +0000",
        3,
    );
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "127.0.0.1 - - [03/Dec/2026:07:10:00 +0000] \"POST /tasks HTTP/1.1\" 201 57 812 3\n"
    );
}

#[test]
fn numbers_at_their_extremes() {
    let mut out = Vec::new();
    let e = Entry {
        status: 100,
        body_bytes: usize::MAX,
        elapsed: Duration::ZERO,
        ..entry(b"GET / HTTP/1.1")
    };
    format(&mut out, &e, b"h", b"t", 0);
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.ends_with(&format!("\" 100 {} 0 0\n", usize::MAX)),
        "{text}"
    );
}

#[test]
fn empty_body_and_unix_client_are_dashes() {
    let mut out = Vec::new();
    let e = Entry {
        peer: Peer::Unix,
        body_bytes: 0,
        ..entry(b"HEAD / HTTP/1.1\r\n\r\n")
    };
    format(&mut out, &e, &host(e.peer), b"t", 0);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "- - - [t] \"HEAD / HTTP/1.1\" 201 - 812 0\n"
    );
}

#[test]
fn request_line_skips_leading_empty_lines_and_stops_at_lf() {
    assert_eq!(
        first_line(b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n"),
        b"GET / HTTP/1.1"
    );
    assert_eq!(first_line(b"GET / HTTP/1.1\nHost: a\n"), b"GET / HTTP/1.1");
    assert_eq!(first_line(b"GET /partial"), b"GET /partial");
    assert_eq!(first_line(b"\r\n"), b"");
}

#[test]
fn hostile_bytes_are_escaped() {
    let mut out = Vec::new();
    escape_into(&mut out, b"GET /\"x\\\x1b[31m\x7f\xff HTTP/1.1");
    assert_eq!(out, b"GET /\\x22x\\x5c\\x1b[31m\\x7f\\xff HTTP/1.1");
    let mut empty = Vec::new();
    escape_into(&mut empty, b"");
    assert_eq!(empty, b"-");
}

#[test]
fn a_long_request_line_is_cut_and_says_so() {
    let long = vec![b'a'; line::MAX_REQUEST_LINE + 10];
    let mut out = Vec::new();
    escape_into(&mut out, &long);
    assert_eq!(out.len(), line::MAX_REQUEST_LINE + 3);
    assert!(out.ends_with(b"a..."));
}

#[test]
fn body_bytes_of_encoded_responses() {
    assert_eq!(
        body_bytes(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"),
        2
    );
    assert_eq!(body_bytes(b"HTTP/1.1 204 No Content\r\n\r\n"), 0);
}

/// A log file in a directory of its own, removed when the test ends (pass or fail).
pub(crate) struct Scratch {
    dir: std::path::PathBuf,
    /// The log's path.
    pub(crate) path: std::path::PathBuf,
    /// The master's side of the log.
    pub(crate) master: LogFile,
}

impl Scratch {
    /// A fresh `access.log` under the temporary directory, named after `test`.
    pub(crate) fn new(test: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("prefork-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("access.log");
        let master = LogFile::open(Target::File(path.clone())).unwrap();
        Scratch { dir, path, master }
    }

    /// Worker `n`'s handle on the log.
    pub(crate) fn worker(&self, n: usize) -> AccessLog {
        self.master.for_worker(n).unwrap()
    }

    /// What the log file holds now.
    pub(crate) fn text(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Lines stay in the buffer until a flush, which writes them all at once.
#[test]
fn lines_wait_for_the_flush() {
    let scratch = Scratch::new("access-wait");
    let log = scratch.worker(7);
    log.record(&entry(b"GET / HTTP/1.1\r\n"));
    assert_eq!(scratch.text(), "");
    assert!(log.next_flush().is_some());
    log.flush_if_due(Instant::now() + FLUSH_EVERY);
    let text = scratch.text();
    assert!(
        text.ends_with("\"GET / HTTP/1.1\" 201 57 812 7\n"),
        "{text}"
    );
    assert!(log.next_flush().is_none());
}

/// A full buffer is written without waiting for the timer.
#[test]
fn a_full_buffer_is_written_at_once() {
    let scratch = Scratch::new("access-full");
    let log = scratch.worker(0);
    let lines = FLUSH_AT / 60 + 1;
    for _ in 0..lines {
        log.record(&entry(b"GET / HTTP/1.1\r\n"));
    }
    assert!(scratch.text().len() >= FLUSH_AT);
}

/// A reopen writes what is buffered to the old file, then writes to the path's new one.
#[test]
fn reopen_moves_to_the_new_file() {
    let mut scratch = Scratch::new("access-reopen");
    let log = scratch.worker(0);
    log.record(&entry(b"GET /old HTTP/1.1\r\n"));
    let rotated = scratch.path.with_extension("log.1");
    std::fs::rename(&scratch.path, &rotated).unwrap();
    scratch.master.reopen(None).unwrap();
    log.reopen().unwrap();
    log.record(&entry(b"GET /new HTTP/1.1\r\n"));
    log.flush();
    let old = std::fs::read_to_string(&rotated).unwrap();
    let new = scratch.text();
    assert!(old.contains("/old") && !old.contains("/new"), "{old}");
    assert!(new.contains("/new") && !new.contains("/old"), "{new}");
}

/// The host field follows the peer from line to line (it is cached per peer).
#[test]
fn each_line_has_its_own_peer() {
    let scratch = Scratch::new("access-peers");
    let log = scratch.worker(0);
    let v6 = Peer::Ip("::1".parse().unwrap());
    for peer in [
        Peer::Unix,
        v6,
        v6,
        Peer::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    ] {
        log.record(&Entry {
            peer,
            ..entry(b"GET / HTTP/1.1\r\n")
        });
    }
    log.flush();
    let text = scratch.text();
    let hosts: Vec<&str> = text.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(hosts, ["-", "::1", "::1", "127.0.0.1"]);
}
