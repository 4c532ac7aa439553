//! Self-checks of the fake server with a plain `std` client, so a failure elsewhere points
//! at loadgen, not at the harness.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::{FakeServer, Reply};

/// Writes `bytes` on a new connection and reads until the server closes it.
fn exchange(server: &FakeServer, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(bytes).expect("write");
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

const POST: &str = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
const CLOSE: &str = "GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// Pipelined requests are answered in order on one connection, counted, and bytes tallied.
#[test]
fn pipelined_fixed_answers() {
    let server = FakeServer::start(|i| Reply::Fixed([201, 500][i % 2]));
    let out = exchange(&server, format!("{POST}{POST}{CLOSE}").as_bytes());
    let statuses: Vec<&str> = out.matches("HTTP/1.1 ").map(|_| "").collect();
    assert_eq!(statuses.len(), 3, "{out}");
    assert!(out.starts_with("HTTP/1.1 201 Created\r\n"), "{out}");
    assert!(
        out.contains("HTTP/1.1 500 ") && out.ends_with("{\"n\":2}"),
        "{out}"
    );
    assert_eq!(server.request_count(), 3);
    assert_eq!(server.connections(), 1);
    assert_eq!(server.max_batch(), 3);
    assert_eq!(server.requests()[0].body, b"abc");
    assert_eq!(server.bytes_sent(), out.len());
    assert_eq!(server.bytes_received(), 2 * POST.len() + CLOSE.len());
    server.assert_no_problems();
}

/// Chunked, interim, close-delimited, garbage and close replies have the agreed shapes.
#[test]
fn reply_shapes() {
    let check = |reply: Reply, want: &str| {
        let server = FakeServer::always(reply);
        let out = exchange(&server, CLOSE.as_bytes());
        assert_eq!(out, want, "{reply:?}");
    };
    let json = "Content-Type: application/json\r\n";
    check(
        Reply::Chunked(201),
        &format!("HTTP/1.1 201 Created\r\n{json}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\n{{\"n\r\n4;ext=1\r\n\":0}}\r\n0\r\n\r\n"),
    );
    check(
        Reply::Interim(200),
        &format!("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n{json}Content-Length: 7\r\nConnection: close\r\n\r\n{{\"n\":0}}"),
    );
    check(
        Reply::CloseDelimited(200),
        "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"n\":0}",
    );
    check(Reply::Garbage, "HELLO\r\n\r\n");
    check(Reply::Close, "");
}

/// A global stall holds every response in flight until it ends, once.
#[test]
fn stall_holds_everyone_once() {
    let server = FakeServer::start(|i| {
        if i == 0 {
            Reply::StallAll(Duration::from_millis(300))
        } else {
            Reply::Fixed(200)
        }
    });
    let start = Instant::now();
    let first = {
        let port = server.port;
        std::thread::spawn(move || {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.write_all(CLOSE.as_bytes()).unwrap();
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            out
        })
    };
    // The second request goes out once the first (which starts the stall) has arrived,
    // so its answer waits for the end of the stall too.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.request_count() == 0 {
        assert!(Instant::now() < deadline, "the first request never arrived");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(exchange(&server, CLOSE.as_bytes()).starts_with("HTTP/1.1 200"));
    assert!(first.join().unwrap().starts_with("HTTP/1.1 200"));
    assert!(start.elapsed() >= Duration::from_millis(300));
    let later = Instant::now();
    exchange(&server, CLOSE.as_bytes());
    assert!(
        later.elapsed() < Duration::from_millis(250),
        "the stall happens once"
    );
}

/// A request that is not HTTP/1.1 is recorded as a problem, not answered.
#[test]
fn bad_request_is_a_problem() {
    let server = FakeServer::always(Reply::Fixed(200));
    assert_eq!(exchange(&server, b"GET / HTTP/1.0\r\n\r\n"), "");
    assert_eq!(server.problems().len(), 1, "HTTP/1.0 request line accepted");
}
