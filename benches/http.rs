//! criterion benchmarks of the pure hot path: request parsing, form/JSON decoding,
//! routing and response encoding. No I/O, no database: these are the per-request CPU
//! costs a worker pays on top of the syscalls and the commit.
//!
//! Run: `cargo bench --bench http` (add `-- --quick` for a short run).
//!
//! Pairs to read together: `parse/seed_post` (fresh `Request`, what the workers call) vs
//! `parse/seed_post_reused` (`parse_into`, the allocation-free path); `parse/seed_post`
//! vs `parse/seed_post_chunked` (the same body in three chunks); `encode/inserted_and_201_task`
//! (a `Response` + `encode`) vs `encode/201_task_no_format` (the same `Response` built
//! with `HeaderValue::with_number`) vs `encode/201_task_direct` (`encode_json_with`,
//! no `Response` at all).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use prefork::http::request::{self, Parsed, Progress, Request};
use prefork::http::response::{self, DateCache, HeaderValue, Response};
use prefork::http::Limits;
use prefork::http::{form, json};
use prefork::tasks::db::Task;
use prefork::tasks::routes;

/// The form body the seed client sends (one of its random title/description pairs).
const SEED_BODY: &str = "title=Call+the+bank&description=About+the+card";

/// A form body that exercises percent-decoding (UTF-8, `%25`, `%2C`, quotes).
const ENCODED_BODY: &[u8] =
    b"title=Caf%C3%A9+au+lait+%26+croissant&description=50%25+off%2C+%22today%22+only%21";

/// A body the size of loadgen's payloads (38-character title, ~260-character
/// description, mostly words: many `+`, a few escapes).
const LOADGEN_BODY: &[u8] = b"title=Review+the+quarterly+budget+report&description=\
Go+through+every+line+of+the+quarterly+budget+with+the+finance+team%2C+check+the+travel+\
and+equipment+costs+against+last+year%2C+flag+anything+more+than+ten+percent+over+plan+\
and+write+a+short+summary+for+Monday%27s+meeting+%E2%80%94+include+the+caf%C3%A9+invoices+too";

/// The same task as JSON.
const JSON_BODY: &[u8] =
    br#"{"title":"Call the bank","description":"About the card \u00e9 \"now\""}"#;

/// One `GET /health` as a keep-alive client pipelines it.
const HEALTH: &str = "GET /health HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\
    User-Agent: loadgen\r\nAccept: */*\r\n\r\n";

/// Pipelined requests in the `pipelined` buffer.
const PIPELINED: usize = 10;

/// The seed's POST exactly as python-requests (no Session) puts it on the wire.
fn seed_post() -> Vec<u8> {
    format!(
        "POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\
         User-Agent: python-requests/2.31.0\r\nAccept-Encoding: gzip, deflate\r\n\
         Accept: */*\r\nConnection: keep-alive\r\nContent-Length: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n\r\n{SEED_BODY}",
        SEED_BODY.len()
    )
    .into_bytes()
}

/// The seed's POST with its body in three chunks (one with an extension) and a trailer:
/// every chunk-size line of the framing is parsed on each call.
fn seed_post_chunked() -> Vec<u8> {
    let (a, rest) = SEED_BODY.split_at(5);
    let (b, c) = rest.split_at(20);
    format!(
        "POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\
         User-Agent: python-requests/2.31.0\r\nAccept: */*\r\n\
         Transfer-Encoding: chunked\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n\r\n\
         {:x}\r\n{a}\r\n{:X};ext=1\r\n{b}\r\n{:x}\r\n{c}\r\n0\r\nX-Sum: 1\r\n\r\n",
        a.len(),
        b.len(),
        c.len()
    )
    .into_bytes()
}

/// Parses one complete request, panicking otherwise (a broken fixture, not a result).
fn parse_complete(buf: &[u8], limits: &Limits) -> request::Request {
    match request::parse(buf, limits) {
        Ok(Progress::Complete { request, .. }) => request,
        other => panic!("fixture did not parse: {other:?}"),
    }
}

fn bench_parse(c: &mut Criterion) {
    let limits = Limits::default();
    let post = seed_post();
    let head_len = post.len() - SEED_BODY.len();
    let mut group = c.benchmark_group("parse");
    group.bench_function("seed_post", |b| {
        b.iter(|| request::parse(black_box(&post), black_box(&limits)))
    });
    group.bench_function("seed_post_head_only", |b| {
        b.iter(|| request::parse(black_box(&post[..head_len]), black_box(&limits)))
    });
    let mut reused = Request::default();
    group.bench_function("seed_post_reused", |b| {
        b.iter(|| request::parse_into(black_box(&post), black_box(&limits), &mut reused))
    });
    let chunked = seed_post_chunked();
    assert_eq!(parse_complete(&chunked, &limits).body, SEED_BODY.as_bytes());
    group.bench_function("seed_post_chunked", |b| {
        b.iter(|| request::parse(black_box(&chunked), black_box(&limits)))
    });
    let pipelined = HEALTH.repeat(PIPELINED).into_bytes();
    group.throughput(Throughput::Elements(PIPELINED as u64));
    group.bench_function("pipelined_10_health", |b| {
        b.iter(|| parse_all(black_box(&pipelined), &limits))
    });
    let posts = post.repeat(PIPELINED);
    group.bench_function("pipelined_10_seed_post", |b| {
        b.iter(|| parse_all(black_box(&posts), &limits))
    });
    group.bench_function("pipelined_10_seed_post_reused", |b| {
        b.iter(|| parse_all_into(black_box(&posts), &limits, &mut reused))
    });
    group.finish();
}

/// [`parse_all`] with one reused `Request`, as a worker would keep it.
fn parse_all_into(mut buf: &[u8], limits: &Limits, req: &mut Request) -> usize {
    let mut n = 0;
    while let Ok(Parsed::Complete { consumed }) = request::parse_into(buf, limits, req) {
        black_box(&*req);
        buf = &buf[consumed..];
        n += 1;
    }
    assert_eq!(n, PIPELINED);
    n
}

/// Parses every request in `buf` the way a worker drains a read buffer.
fn parse_all(mut buf: &[u8], limits: &Limits) -> usize {
    let mut n = 0;
    while let Ok(Progress::Complete { request, consumed }) = request::parse(buf, limits) {
        black_box(request);
        buf = &buf[consumed..];
        n += 1;
    }
    assert_eq!(n, PIPELINED);
    n
}

fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    group.bench_function("form_seed", |b| {
        b.iter(|| form::decode_task(black_box(SEED_BODY.as_bytes())))
    });
    group.bench_function("form_loadgen_sized", |b| {
        b.iter(|| form::decode_task(black_box(LOADGEN_BODY)))
    });
    group.bench_function("form_percent_encoded", |b| {
        b.iter(|| form::decode_task(black_box(ENCODED_BODY)))
    });
    group.bench_function("json", |b| {
        b.iter(|| json::decode_task(black_box(JSON_BODY)))
    });
    group.finish();
}

fn bench_route(c: &mut Criterion) {
    let req = parse_complete(&seed_post(), &Limits::default());
    c.bench_function("route/seed_post", |b| {
        b.iter(|| routes::route(black_box(&req)))
    });
}

fn bench_encode(c: &mut Criterion) {
    let task = Task {
        id: 123_456,
        title: "Call the bank".to_owned(),
        description: "About the card".to_owned(),
        created_at: "2026-11-28T01:02:03.456789Z".to_owned(),
    };
    let resp = inserted(&task);
    assert_eq!(resp.status, 201);
    let mut date = DateCache::default();
    // One reused write buffer, as a worker keeps per connection.
    let mut out = Vec::with_capacity(1024);
    let mut group = c.benchmark_group("encode");
    group.bench_function("201_task", |b| {
        b.iter(|| {
            out.clear();
            response::encode(black_box(&resp), true, &mut date, &mut out);
            black_box(out.len())
        })
    });
    group.bench_function("inserted_and_201_task", |b| {
        b.iter(|| {
            out.clear();
            let resp = inserted(black_box(&task));
            response::encode(&resp, true, &mut date, &mut out);
            black_box(out.len())
        })
    });
    // The `Response` path: no `format!`, no allocation
    // besides the body.
    group.bench_function("201_task_no_format", |b| {
        b.iter(|| {
            out.clear();
            let task = black_box(&task);
            let resp = Response::json(201, json::task_body(task))
                .with_header("Location", HeaderValue::with_number("/api/tasks/", task.id));
            response::encode(&resp, true, &mut date, &mut out);
            black_box(out.len())
        })
    });
    // Same bytes as the `Response` path (the fixture check, not a result).
    let mut via_response = Vec::new();
    response::encode(&resp, true, &mut date, &mut via_response);
    out.clear();
    let direct = encode_direct(&task, &mut date, &mut out);
    assert_eq!(without_date(direct), without_date(&via_response));
    group.bench_function("201_task_direct", |b| {
        b.iter(|| {
            out.clear();
            encode_direct(black_box(&task), &mut date, &mut out).len()
        })
    });
    group.finish();
}

/// The 201 of a committed insert built as a `Response` (what the task service's
/// hot path avoids).
fn inserted(task: &Task) -> Response {
    Response::json(201, json::task_body(task))
        .with_header("Location", HeaderValue::with_number("/api/tasks/", task.id))
}

/// `response` with its `Date` value blanked (two encodings may straddle a second).
fn without_date(response: &[u8]) -> Vec<u8> {
    let at = response
        .windows(6)
        .position(|w| w == b"Date: ")
        .expect("a Date header")
        + 6;
    let mut blanked = response.to_vec();
    blanked[at..at + 29].fill(b'-');
    blanked
}

/// The 201 written straight into the output buffer (`response::encode_json_with`).
fn encode_direct<'o>(task: &Task, date: &mut DateCache, out: &'o mut Vec<u8>) -> &'o [u8] {
    let location = [("Location", HeaderValue::with_number("/api/tasks/", task.id))];
    response::encode_json_with(201, &location, true, date, out, |out| {
        json::push_task(out, task)
    });
    out
}

criterion_group!(
    benches,
    bench_parse,
    bench_decode,
    bench_route,
    bench_encode
);
criterion_main!(benches);
