//! What loadgen puts on the wire: the seed's form body, JSON, methods, headers, bodies.

mod support;

use std::collections::BTreeSet;

use support::fake::Request;
use support::form::{descriptions, form_fields, percent_decode, titles};
use support::{assert_counts, loadgen, loadgen_json, FakeServer, Reply};

/// Runs `args` against a fresh 201 server and returns what it received (the run must exit 0).
fn received(path: &str, args: &[&str]) -> Vec<Request> {
    let server = FakeServer::always(Reply::Fixed(201));
    let url = server.url(path);
    let mut all = vec![url.as_str()];
    all.extend(args);
    let (run, report) = loadgen_json(&all);
    run.assert_code(0);
    let requests = server.requests();
    let n = requests.len() as u64;
    assert_counts(&report, n, &[(201, n)], &[]);
    server.assert_no_problems();
    requests
}

/// The decoder used below: escapes, '+', UTF-8, and rejection of raw reserved bytes.
#[test]
fn decoder_self_check() {
    let got = form_fields(b"title=caf%C3%A9+au+lait&description=a%26b%3Dc%25").unwrap();
    assert_eq!(got, ("café au lait".to_string(), "a&b=c%".to_string()));
    assert!(percent_decode("a b").is_err());
    assert!(percent_decode("%zz").is_err());
    assert!(percent_decode("%C3").is_err(), "lone UTF-8 lead byte");
    assert!(form_fields(b"title=a").is_err());
}

/// The shipped data: a few hundred varied lines each, some non-ASCII (so encoding matters).
#[test]
fn data_files_are_varied() {
    for (name, lines) in [("titles", titles()), ("descriptions", descriptions())] {
        assert!(
            lines.len() >= 100,
            "{name}: only {} distinct lines",
            lines.len()
        );
        let non_ascii = lines.iter().filter(|l| !l.is_ascii()).count();
        assert!(non_ascii > 0, "{name}: no non-ASCII line");
        let lengths: BTreeSet<usize> = lines.iter().map(|l| l.chars().count()).collect();
        assert!(
            lengths.len() >= 10,
            "{name}: lengths not varied: {lengths:?}"
        );
    }
}

/// Default payload: a form POST whose title and description decode to lines of the data files, picked at random.
#[test]
fn default_form_payload() {
    let requests = received("/api/tasks/", &["-u", "4", "-l", "100", "-k"]);
    assert_eq!(requests.len(), 400);
    let (all_titles, all_descriptions) = (titles(), descriptions());
    let mut seen = BTreeSet::new();
    for r in &requests {
        assert_eq!(
            (r.method.as_str(), r.target.as_str()),
            ("POST", "/api/tasks/")
        );
        assert_eq!(
            r.header("content-type"),
            Some("application/x-www-form-urlencoded"),
            "Content-Type"
        );
        let (title, description) = form_fields(&r.body)
            .unwrap_or_else(|e| panic!("{e}: body {:?}", String::from_utf8_lossy(&r.body)));
        assert!(
            all_titles.contains(&title),
            "title {title:?} not in titles.txt"
        );
        assert!(
            all_descriptions.contains(&description),
            "description {description:?} not in descriptions.txt"
        );
        seen.insert(title);
    }
    assert!(
        seen.len() >= 20,
        "400 random picks gave only {} distinct titles",
        seen.len()
    );
}

/// Every request carries a `Host` with the URL's authority and `User-Agent: loadgen`.
#[test]
fn default_headers() {
    let server = FakeServer::always(Reply::Fixed(201));
    let (run, _) = loadgen_json(&[&server.url("/x"), "-u", "1", "-l", "2"]);
    run.assert_code(0);
    let host = format!("127.0.0.1:{}", server.port);
    for r in server.requests() {
        assert_eq!(r.header("host"), Some(host.as_str()), "Host");
        assert_eq!(r.header("user-agent"), Some("loadgen"), "User-Agent");
        assert_eq!(
            r.header("content-length"),
            Some(r.body.len().to_string().as_str())
        );
    }
}

/// `--json`: application/json bodies that parse as `{"title", "description"}` from the data files.
#[test]
fn json_payload() {
    let requests = received("/api/tasks", &["-u", "2", "-l", "50", "--json", "-k"]);
    assert_eq!(requests.len(), 100);
    let (all_titles, all_descriptions) = (titles(), descriptions());
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert_eq!(r.header("content-type"), Some("application/json"));
        let body: serde_json::Value = serde_json::from_slice(&r.body)
            .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&r.body)));
        let object = body.as_object().expect("a JSON object");
        let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
        assert_eq!(keys, ["description", "title"].into(), "{body}");
        let title = body["title"].as_str().expect("string title");
        let description = body["description"].as_str().expect("string description");
        assert!(all_titles.contains(title), "title {title:?}");
        assert!(
            all_descriptions.contains(description),
            "description {description:?}"
        );
    }
}

/// `--seed N` reproduces the same bodies in the same order (one user); another seed differs.
#[test]
fn seed_reproduces_payloads() {
    let bodies = |seed: &str| -> Vec<Vec<u8>> {
        let args = ["-t", "1", "-u", "1", "-l", "30", "-k", "--seed", seed];
        received("/", &args).into_iter().map(|r| r.body).collect()
    };
    let first = bodies("42");
    assert_eq!(first, bodies("42"), "same seed, different bodies");
    assert_ne!(first, bodies("43"), "different seeds, same 30 bodies");
}

/// `--method GET` sends no body (e.g. for /health).
#[test]
fn method_get_without_body() {
    let requests = received("/health", &["-u", "1", "-l", "3", "--method", "GET"]);
    for r in &requests {
        assert_eq!((r.method.as_str(), r.target.as_str()), ("GET", "/health"));
        assert!(r.body.is_empty(), "GET with a body");
        assert_eq!(
            r.header("content-type"),
            None,
            "Content-Type on a bodyless GET"
        );
    }
}

/// `-H` adds headers (repeatable); `--body STRING` is sent verbatim with POST; the query string is kept.
#[test]
fn custom_headers_and_body() {
    let args = [
        "-u",
        "1",
        "-l",
        "2",
        "-H",
        "X-One: 1",
        "-H",
        "X-Two: two words",
        "--body",
        "hello=world",
    ];
    let requests = received("/echo?q=1", &args);
    for r in &requests {
        assert_eq!(
            (r.method.as_str(), r.target.as_str()),
            ("POST", "/echo?q=1")
        );
        assert_eq!(r.header("x-one"), Some("1"));
        assert_eq!(r.header("x-two"), Some("two words"));
        assert_eq!(r.body, b"hello=world");
    }
}

/// `--path` replaces the URL's path and query.
#[test]
fn path_overrides_url() {
    let requests = received(
        "/ignored",
        &["-u", "1", "-l", "2", "-m", "GET", "--path", "/health?x=1"],
    );
    for r in &requests {
        assert_eq!(
            (r.method.as_str(), r.target.as_str()),
            ("GET", "/health?x=1")
        );
    }
}

/// `--body @file` sends the file's bytes.
#[test]
fn body_from_file() {
    let path = std::env::temp_dir().join(format!("loadgen-body-{}.json", std::process::id()));
    std::fs::write(&path, "{\"title\":\"from file é\",\"description\":\"x\"}").unwrap();
    let arg = format!("@{}", path.display());
    let args = [
        "-u",
        "1",
        "-l",
        "2",
        "--body",
        &arg,
        "-H",
        "Content-Type: application/json",
    ];
    let requests = received("/api/tasks", &args);
    let _ = std::fs::remove_file(&path);
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert_eq!(
            String::from_utf8_lossy(&r.body),
            "{\"title\":\"from file é\",\"description\":\"x\"}"
        );
        let types: Vec<&str> = r
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(
            types,
            ["application/json"],
            "the -H Content-Type replaces any default"
        );
    }
}

/// Usage errors (https or another scheme, unknown flag, bad value) exit 2 with a message on stderr.
#[test]
fn https_and_bad_flags_are_usage_errors() {
    for args in [
        vec!["https://127.0.0.1:1/"],
        vec!["ftp://127.0.0.1:1/"],
        vec!["http://127.0.0.1:1/", "--no-such-flag"],
        vec!["http://127.0.0.1:1/", "--connection", "sometimes"],
        vec!["http://127.0.0.1:1/", "--duration", "ten"],
    ] {
        let run = loadgen(&args);
        run.assert_code(2);
        assert!(
            !run.stderr.trim().is_empty(),
            "usage error without a message: {args:?}"
        );
    }
}
