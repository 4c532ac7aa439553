//! Tests of [`Db`] against a real private cluster (one per test), and of the helpers.

use pgtmp::Cluster;

use super::test_pg::base_dir;
use super::*;

fn new_task(title: &str) -> NewTask {
    NewTask {
        title: title.to_string(),
        description: format!("about {title}"),
    }
}

fn cluster(name: &str) -> (Cluster, Db) {
    let cluster = Cluster::fresh(base_dir().join(name)).unwrap();
    let db = Db::open(&DbTarget::new(cluster.url())).unwrap();
    (cluster, db)
}

/// An inserted row comes back with an id and an RFC 3339 UTC timestamp, and `get` finds it.
#[test]
fn insert_then_get() {
    let (cluster, mut db) = cluster("db-insert-get");
    let task = db.insert(&new_task("first")).unwrap();
    assert_eq!(
        (task.title.as_str(), task.description.as_str()),
        ("first", "about first")
    );
    // 2026-11-28T01:02:03.456789Z
    assert_eq!(task.created_at.len(), 27, "{}", task.created_at);
    assert!(task.created_at.ends_with('Z') && task.created_at.as_bytes()[10] == b'T');
    assert_eq!(db.get(task.id).unwrap(), Some(task.clone()));
    assert_eq!(db.get(task.id + 1000).unwrap(), None);
    // Committed: another session sees it.
    assert_eq!(
        cluster
            .psql(&format!("SELECT title FROM task WHERE id = {}", task.id))
            .unwrap(),
        "first"
    );
}

/// `list` returns the newest rows first, at most `limit`.
#[test]
fn list_is_newest_first_and_bounded() {
    let (_cluster, mut db) = cluster("db-list");
    let ids: Vec<i64> = ["a", "b", "c"]
        .iter()
        .map(|t| db.insert(&new_task(t)).unwrap().id)
        .collect();
    let listed: Vec<i64> = db.list(2).unwrap().iter().map(|t| t.id).collect();
    assert_eq!(listed, vec![ids[2], ids[1]]);
    assert_eq!(db.list(100).unwrap().len(), 3);
}

/// A batch insert is one statement and returns the rows in input order.
#[test]
fn insert_batch_keeps_input_order() {
    let (_cluster, mut db) = cluster("db-batch");
    let batch: Vec<NewTask> = (0..5).map(|i| new_task(&format!("t{i}"))).collect();
    let rows = db.insert_batch(&batch).unwrap();
    let titles: Vec<&str> = rows.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(titles, ["t0", "t1", "t2", "t3", "t4"]);
    assert!(rows.windows(2).all(|w| w[0].id < w[1].id));
    assert!(db.insert_batch(&[]).unwrap().is_empty());
}

/// With the server stopped, calls fail fast with `Unavailable`; once it is back, they succeed.
#[test]
fn reconnects_after_server_restart() {
    let (mut cluster, mut db) = cluster("db-reconnect");
    db.insert(&new_task("before")).unwrap();
    cluster.stop().unwrap();
    let err = db.insert(&new_task("during")).unwrap_err();
    assert!(matches!(err, DbError::Unavailable(_)), "{err}");
    // The next failure costs no connection attempt while the backoff runs.
    let started = Instant::now();
    let err = db.get(1).unwrap_err();
    assert!(matches!(err, DbError::Unavailable(_)), "{err}");
    assert!(started.elapsed() < Duration::from_millis(500));
    cluster.start().unwrap();
    let after = insert_when_back(&mut db, "after");
    assert_eq!(
        db.get(after.id).unwrap().map(|t| t.title),
        Some("after".to_string())
    );
}

/// A missing table is reported as `SchemaMissing` at connect, by both constructors.
#[test]
fn missing_table_is_schema_missing() {
    let cluster = Cluster::fresh(base_dir().join("db-noschema")).unwrap();
    cluster.psql("DROP TABLE task").unwrap();
    let target = DbTarget::new(cluster.url());
    let err = Db::open(&target).err().unwrap();
    assert!(matches!(err, DbError::SchemaMissing(_)), "{err}");
    let err = Db::connect(&target).err().unwrap();
    assert!(matches!(err, DbError::SchemaMissing(_)), "{err}");
}

/// A database that does not exist is a refusal (configuration), not a missing table
/// nor an outage.
#[test]
fn missing_database_is_refused() {
    let cluster = Cluster::fresh(base_dir().join("db-nodb")).unwrap();
    let url = cluster.url().replace("dbname=prefork", "dbname=nope");
    assert_ne!(url, cluster.url(), "the test rewrites the database name");
    let err = Db::connect(&DbTarget::new(url)).err().unwrap();
    assert!(matches!(err, DbError::Refused(_)), "{err}");
    assert!(err.to_string().contains("\"nope\" does not exist"), "{err}");
}

/// No server behind the socket: `open` says `Unavailable` (no panic, no hang), while
/// `connect` returns a disconnected `Db` that names the outage and answers
/// `Unavailable` until a server is there.
#[test]
fn no_server_is_unavailable() {
    let target = DbTarget::new("host=/nonexistent/pgtmp port=5432 user=postgres dbname=prefork");
    let err = Db::open(&target).err().unwrap();
    assert!(matches!(err, DbError::Unavailable(_)), "{err}");
    let mut db = Db::connect(&target).expect("an outage is not a connect error");
    assert!(db.outage().is_some());
    assert!(matches!(db.check(), Err(DbError::Unavailable(_))));
    assert!(matches!(db.get(1), Err(DbError::Unavailable(_))));
}

/// A database that accepts but never answers (every server process stopped) costs a
/// call its deadline, then `Unavailable`; once it resumes, calls succeed again.
#[test]
fn stalled_server_hits_the_deadline() {
    let cluster = Cluster::fresh(base_dir().join("db-stall")).unwrap();
    let target = DbTarget {
        url: cluster.url(),
        deadline: Duration::from_millis(300),
    };
    let mut db = Db::open(&target).unwrap();
    db.insert(&new_task("before")).unwrap();
    let stalled = server_pids(cluster.dir());
    assert!(!stalled.is_empty());
    let signal_all = |signal| {
        for &pid in &stalled {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
        }
    };
    signal_all(nix::sys::signal::Signal::SIGSTOP);
    let started = Instant::now();
    let err = db.insert(&new_task("stalled")).unwrap_err();
    let waited = started.elapsed();
    signal_all(nix::sys::signal::Signal::SIGCONT);
    assert!(matches!(err, DbError::Unavailable(_)), "{err}");
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
    let after = insert_when_back(&mut db, "after");
    assert_eq!(after.title, "after");
}

/// Group commit: one good batch is all rows in order; a row the database refuses fails
/// alone (per-row fallback) while its neighbours are committed; one row takes the
/// single-row path.
#[test]
fn insert_group_falls_back_per_row() {
    let (cluster, mut db) = cluster("db-insert-group");
    let names = ["a", "b", "c"];
    let tasks: Vec<NewTask> = names.iter().map(|n| new_task(n)).collect();
    let rows: Vec<Task> = db
        .insert_group(&tasks)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        rows.iter().map(|t| t.title.as_str()).collect::<Vec<_>>(),
        names
    );
    assert!(rows.windows(2).all(|w| w[0].id < w[1].id));
    cluster
        .psql("ALTER TABLE task ADD CONSTRAINT no_poison CHECK (title <> 'poison')")
        .unwrap();
    let mixed = [new_task("d"), new_task("poison"), new_task("e")];
    let outcome = db.insert_group(&mixed);
    assert_eq!(outcome[0].as_ref().unwrap().title, "d");
    assert!(
        matches!(outcome[1], Err(DbError::Query(_))),
        "{:?}",
        outcome[1]
    );
    assert_eq!(outcome[2].as_ref().unwrap().title, "e");
    assert_eq!(
        db.insert_group(&[new_task("f")])[0].as_ref().unwrap().title,
        "f"
    );
    assert_eq!(cluster.psql("SELECT count(*) FROM task").unwrap(), "6");
}

/// Inserts `title` once the database answers again (polling `Unavailable` for up to
/// 10 s; any other error fails the test).
fn insert_when_back(db: &mut Db, title: &str) -> Task {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match db.insert(&new_task(title)) {
            Ok(task) => return task,
            Err(DbError::Unavailable(_)) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => panic!("the database is not back: {e}"),
        }
    }
}

/// The postmaster's pid (first line of `postmaster.pid`) and its children's.
fn server_pids(dir: &std::path::Path) -> Vec<i32> {
    let pidfile = std::fs::read_to_string(dir.join("postmaster.pid")).unwrap();
    let postmaster: i32 = pidfile.lines().next().unwrap().trim().parse().unwrap();
    let children = format!("/proc/{postmaster}/task/{postmaster}/children");
    let children = std::fs::read_to_string(children).unwrap_or_default();
    let mut pids = vec![postmaster];
    pids.extend(
        children
            .split_whitespace()
            .map(|p| p.parse::<i32>().unwrap()),
    );
    pids
}
