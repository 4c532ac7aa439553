//! The test support's own parsers of prefork's log lines and HTTP responses.

mod support;

use support::http::parse_response;
use support::server::{parse_listening_line, parse_worker_line, WorkerEvent};

/// Worker lifecycle lines parse into slot, pid and event.
#[test]
fn parses_worker_lines() {
    let started = parse_worker_line("prefork: worker 2 pid 4242 started");
    assert_eq!(started, Some((2, 4242, WorkerEvent::Started)));
    let exited = parse_worker_line("prefork: worker 0 pid 7 exited with status 0");
    assert_eq!(exited, Some((0, 7, WorkerEvent::Exited(0))));
    let killed = parse_worker_line("prefork: worker 1 pid 8 killed by signal SIGKILL");
    assert_eq!(killed, Some((1, 8, WorkerEvent::Killed("SIGKILL".into()))));
    let hung = parse_worker_line("prefork: worker 1 pid 9 timed out, killing");
    assert_eq!(hung, Some((1, 9, WorkerEvent::TimedOut)));
    assert_eq!(parse_worker_line("prefork: using database host=/x"), None);
}

/// The listening line yields the resolved port and the worker count (singular for one).
#[test]
fn parses_listening_line() {
    let line =
        "prefork: listening on http://127.0.0.1:39123 (3 workers, mode evloop, accept reuseport)";
    assert_eq!(parse_listening_line(line), Some((39123, 3)));
    let one = "prefork: listening on http://127.0.0.1:8000 (1 worker, mode threads, accept shared)";
    assert_eq!(parse_listening_line(one), Some((8000, 1)));
}

/// Pipelined responses (interim 100, Content-Length, chunked) parse one at a time.
#[test]
fn parses_response_sequences() {
    let wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}\
HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\nHTTP/1.1 404";
    let (interim, n1) = parse_response(wire).unwrap().unwrap();
    assert_eq!(interim.status, 100);
    let (created, n2) = parse_response(&wire[n1..]).unwrap().unwrap();
    assert_eq!((created.status, created.body.as_slice()), (201, &b"{}"[..]));
    let (chunked, n3) = parse_response(&wire[n1 + n2..]).unwrap().unwrap();
    assert_eq!(
        (chunked.status, chunked.body.as_slice()),
        (200, &b"abc"[..])
    );
    assert!(
        parse_response(&wire[n1 + n2 + n3..]).unwrap().is_none(),
        "partial response"
    );
}
