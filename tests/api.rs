//! The task API end to end: form and JSON inserts, reads, keep-alive and pipelining.

mod support;

use support::http::{chunked_form_request, form_body, post_bytes};
use support::{
    assert_created, get_request, must_exchange, post_form, post_json, Cfg, Conn, TestDb,
};

support::matrix!(form_and_json_post, keep_alive_and_pipelining);

/// A form POST and a JSON POST (and one to `/api/tasks/`) return 201 with the row, which is in the table.
fn form_and_json_post(cfg: Cfg) {
    let db = TestDb::fresh();
    let server = cfg.start(&db, &[]);

    let (title, description) = ("form title é ✓", "form body & more = 1% + spaces");
    let id = assert_created(
        &post_form(server.port, title, description),
        title,
        description,
    );
    db.assert_row(id, title, description);

    let (title, description) = ("json \"title\" é", "json body\nwith a newline");
    let json_id = assert_created(
        &post_json(server.port, title, description),
        title,
        description,
    );
    db.assert_row(json_id, title, description);
    assert_ne!(id, json_id);

    let body = form_body("slash", "trailing slash");
    let request = post_bytes(
        "/api/tasks/",
        "application/x-www-form-urlencoded",
        body.as_bytes(),
        "",
    );
    let slash_id = assert_created(
        &must_exchange(server.port, &request),
        "slash",
        "trailing slash",
    );
    db.assert_row(slash_id, "slash", "trailing slash");
    assert_eq!(db.count_rows(), 3);
}

/// Requests of every kind on one kept-alive connection, then 10 pipelined POSTs in one write, answered in order.
fn keep_alive_and_pipelining(cfg: Cfg) {
    let db = TestDb::fresh();
    let server = cfg.start(&db, &[]);
    let mut conn = Conn::open(server.port).expect("connect");
    let mut ask = |request: &[u8]| {
        conn.send(request).expect("send");
        conn.read_response()
            .expect("response on the kept-alive connection")
    };

    let health = ask(&get_request("/health"));
    assert_eq!(
        (health.status, health.json()),
        (200, serde_json::json!({"status": "ok", "database": "up"}))
    );
    let first = assert_created(
        &ask(&support::form_request("ka-1", "first")),
        "ka-1",
        "first",
    );
    let fetched = ask(&get_request(&format!("/api/tasks/{first}")));
    assert_eq!(fetched.status, 200, "{}", fetched.text());
    assert_eq!(
        (
            fetched.json()["id"].as_i64(),
            fetched.json()["title"].as_str()
        ),
        (Some(first), Some("ka-1"))
    );
    let second = assert_created(
        &ask(&chunked_form_request("ka-2", "chunked")),
        "ka-2",
        "chunked",
    );
    let listed = ask(&get_request("/api/tasks?limit=2"));
    assert_eq!(listed.status, 200, "{}", listed.text());
    let ids: Vec<i64> = listed
        .json()
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|t| t["id"].as_i64())
        .collect();
    assert_eq!(ids, [second, first], "newest first, limit 2");

    let batch: Vec<u8> = (0..10)
        .flat_map(|i| support::form_request(&format!("pipe-{i}"), "pipelined"))
        .collect();
    conn.send(&batch)
        .expect("send 10 pipelined requests in one write");
    let mut last = second;
    for i in 0..10 {
        let resp = conn
            .read_response()
            .unwrap_or_else(|e| panic!("pipelined response {i}: {e}"));
        let id = assert_created(&resp, &format!("pipe-{i}"), "pipelined");
        assert!(
            id > last,
            "response {i} has id {id}, not after {last}: out of order"
        );
        db.assert_row(id, &format!("pipe-{i}"), "pipelined");
        last = id;
    }
    assert_eq!(db.count_rows(), 12);
}
