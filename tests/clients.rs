//! Real clients: curl (with `Expect: 100-continue`) and Python `requests`, as the seed uses it.

mod support;

use std::process::Command;

use support::{Cfg, TestDb};

support::matrix!(curl_large_body, python_requests);

/// curl posting a > 1 KiB form body with `Expect: 100-continue` gets `100 Continue`, then 201.
fn curl_large_body(cfg: Cfg) {
    let db = TestDb::fresh();
    let server = cfg.start(&db, &[]);
    let description = format!("{} é & done", "large body ".repeat(150));
    let url = format!("http://127.0.0.1:{}/api/tasks", server.port);
    let out = Command::new("curl")
        .args(["-sS", "-v", "--max-time", "20"])
        // Recent curls (7.88 here) add `Expect` by themselves only for far larger bodies: ask
        // for it, as older curls did above 1 KiB. Without a 100 within 5 s curl sends anyway,
        // and the trace check below fails.
        .args(["-H", "Expect: 100-continue", "--expect100-timeout", "5"])
        .args(["--data-urlencode", "title=curl title", "--data-urlencode"])
        .arg(format!("description={description}"))
        .arg(&url)
        .output()
        .expect("run curl (install it: apt-get install curl)");
    let trace = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "curl failed: {trace}");
    assert!(
        trace.contains("> Expect: 100-continue"),
        "curl did not send Expect: {trace}"
    );
    assert!(
        trace.contains("< HTTP/1.1 100 Continue"),
        "no 100 Continue (curl waited it out): {trace}"
    );
    assert!(trace.contains("< HTTP/1.1 201"), "no 201: {trace}");
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON body from curl");
    let id = body["id"].as_i64().expect("id");
    assert_eq!(
        (body["title"].as_str(), body["description"].as_str()),
        (Some("curl title"), Some(&*description))
    );
    db.assert_row(id, "curl title", &description);
}

/// The seed's client: `requests.post(url, data={...})` per request, no Session, gets 201s.
const SEED_CLIENT: &str = r#"
import json, sys
import requests
url, n = sys.argv[1], int(sys.argv[2])
out = []
for i in range(n):
    r = requests.post(url, data={"title": "py-%d" % i, "description": "from requests, no Session"})
    out.append({"status": r.status_code, "location": r.headers.get("Location"), "text": r.text})
print(json.dumps(out))
"#;

/// Python `requests` without a Session (as the seed script) gets a 201 per POST, rows stored.
fn python_requests(cfg: Cfg) {
    let db = TestDb::fresh();
    let server = cfg.start(&db, &[]);
    let url = format!("http://127.0.0.1:{}/api/tasks", server.port);
    // coreutils `timeout` bounds the run without changing the seed's calls.
    let out = Command::new("timeout")
        .args(["60", "python3", "-c", SEED_CLIENT, &url, "10"])
        .output()
        .expect("run python3 (install python3-requests)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python3 failed ({}): {stderr}",
        out.status
    );
    let results: Vec<serde_json::Value> =
        serde_json::from_slice(&out.stdout).expect("script output");
    assert_eq!(results.len(), 10);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["status"], 201, "request {i}: {r}");
        let body: serde_json::Value =
            serde_json::from_str(r["text"].as_str().unwrap()).expect("JSON");
        let id = body["id"].as_i64().expect("id");
        assert_eq!(r["location"], format!("/api/tasks/{id}"), "request {i}");
        db.assert_row(id, &format!("py-{i}"), "from requests, no Session");
    }
    assert_eq!(db.count_rows(), 10);
}
