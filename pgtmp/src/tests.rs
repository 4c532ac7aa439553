//! Tests of the private cluster against real PostgreSQL binaries.

use super::*;

/// Where these tests put their clusters: `target/pg` of this workspace (the tests' own
/// checkout; the library itself never derives a directory from where it was built).
fn base_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    workspace.join("target").join("pg")
}

fn count(cluster: &Cluster) -> String {
    cluster.psql("SELECT count(*) FROM task").unwrap()
}

/// A second `ensure` reuses the running server and does not stop it on drop.
#[test]
fn ensure_reuses_a_running_cluster() {
    let dir = base_dir().join("pgtmp-ensure");
    let _ = Cluster::fresh(&dir).unwrap().stop();
    let first = Cluster::ensure(&dir).unwrap();
    assert!(first.started_here());
    let second = Cluster::ensure(&dir).unwrap();
    assert!(!second.started_here());
    assert_eq!(first.url(), second.url());
    drop(second);
    assert!(
        first.is_running().unwrap(),
        "dropping a reused handle stopped the server"
    );
    assert_eq!(count(&first), "0");
    drop(first);
    assert!(!Cluster::open(&dir).unwrap().is_running().unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Data survives stop/start; `fresh` on the same directory starts over empty.
#[test]
fn stop_start_keeps_data_and_fresh_resets_it() {
    let dir = base_dir().join("pgtmp-fresh");
    let mut cluster = Cluster::fresh(&dir).unwrap();
    cluster
        .psql("INSERT INTO task (title, description) VALUES ('a', 'b')")
        .unwrap();
    cluster.stop().unwrap();
    assert!(!cluster.is_running().unwrap());
    cluster.start().unwrap();
    assert_eq!(count(&cluster), "1");
    let settings =
        cluster.psql("SELECT current_setting('fsync') || current_setting('synchronous_commit')");
    assert_eq!(settings.unwrap(), "onon");
    drop(cluster);
    let again = Cluster::fresh(&dir).unwrap();
    assert_eq!(count(&again), "0");
}

/// `keep` disarms drop: the server outlives the handle until stopped explicitly.
#[test]
fn keep_leaves_the_server_running() {
    let dir = base_dir().join("pgtmp-keep");
    let url = Cluster::fresh(&dir).unwrap().keep();
    assert_eq!(url, url_for(&dir));
    let mut handle = Cluster::open(&dir).unwrap();
    assert!(handle.is_running().unwrap());
    handle.stop().unwrap();
    assert!(!handle.is_running().unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A directory that holds something else is never deleted.
#[test]
fn fresh_refuses_a_foreign_directory() {
    let dir = base_dir().join("pgtmp-foreign");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("precious.txt"), "keep me").unwrap();
    let err = Cluster::fresh(&dir).unwrap_err();
    assert!(matches!(err, PgError::NotACluster { .. }), "{err}");
    assert!(dir.join("precious.txt").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Values with spaces or quotes are quoted in the conninfo string.
#[test]
fn url_quotes_awkward_paths() {
    assert_eq!(
        url_for(Path::new("/a/b")),
        "host=/a/b port=5432 user=postgres dbname=prefork"
    );
    assert_eq!(quote("/a b/it's"), r"'/a b/it\'s'");
}
