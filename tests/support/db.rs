//! One private PostgreSQL cluster per test (`pgtmp`), and queries on it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use pgtmp::Cluster;
use postgres::{Client, NoTls};

/// A fresh cluster with an empty `task` table, stopped and deleted on drop.
pub struct TestDb {
    cluster: Cluster,
    dir: PathBuf,
}

impl TestDb {
    /// A new cluster in `target/pg/test-<test name>-<pid>[-n]` (copied from the shared template).
    pub fn fresh() -> TestDb {
        let dir = base_dir().join(unique_name("test"));
        let cluster = Cluster::fresh(&dir).unwrap_or_else(|e| {
            remove_cluster(&dir);
            panic!("private PostgreSQL: {e}")
        });
        TestDb { cluster, dir }
    }

    /// The connection string to pass to `--database-url`.
    pub fn url(&self) -> String {
        self.cluster.url()
    }

    /// Stops PostgreSQL (fast shutdown: every client connection is dropped).
    pub fn stop(&mut self) {
        self.cluster
            .stop()
            .unwrap_or_else(|e| panic!("stop PostgreSQL: {e}"));
    }

    /// Starts PostgreSQL again, same socket, same data.
    pub fn start(&mut self) {
        self.cluster
            .start()
            .unwrap_or_else(|e| panic!("start PostgreSQL: {e}"));
    }

    /// The postmaster and every process it started (backends, background workers),
    /// for freezing the whole server with SIGSTOP.
    pub fn processes(&self) -> Vec<i32> {
        let postmaster = postmaster_pid(&self.dir).expect("a running postmaster");
        let mut pids = vec![postmaster];
        for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // `pid (comm) state ppid …`: comm may hold spaces, so read after its `)`.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<i32>().ok());
            if ppid == Some(postmaster) {
                pids.push(pid);
            }
        }
        pids
    }

    /// Makes the cluster ask `user` for `password` (scram) on its socket: a role with
    /// that password and a first pg_hba.conf line for it, then a reload.
    pub fn require_password(&self, user: &str, password: &str) {
        let mut client = self.client();
        client
            .batch_execute(&format!("CREATE ROLE {user} LOGIN PASSWORD '{password}'"))
            .unwrap();
        let hba: String = client.query_one("SHOW hba_file", &[]).unwrap().get(0);
        let rules = std::fs::read_to_string(&hba).unwrap();
        std::fs::write(&hba, format!("local all {user} scram-sha-256\n{rules}")).unwrap();
        client.batch_execute("SELECT pg_reload_conf()").unwrap();
    }

    /// A new client connection (the tests' own, not prefork's).
    pub fn client(&self) -> Client {
        Client::connect(&self.url(), NoTls)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.url()))
    }

    /// `SELECT count(*) FROM task`.
    pub fn count_rows(&self) -> i64 {
        self.client()
            .query_one("SELECT count(*) FROM task", &[])
            .expect("count rows")
            .get(0)
    }

    /// The `(title, description)` of row `id`, if it exists.
    pub fn row_by_id(&self, id: i64) -> Option<(String, String)> {
        let sql = "SELECT title, description FROM task WHERE id = $1";
        let row = self.client().query_opt(sql, &[&id]).expect("select row");
        row.map(|r| (r.get(0), r.get(1)))
    }

    /// Asserts that row `id` exists with this title and description.
    pub fn assert_row(&self, id: i64, title: &str, description: &str) {
        let row = self.row_by_id(id);
        assert_eq!(
            row,
            Some((title.to_string(), description.to_string())),
            "row {id} in table task"
        );
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = self.cluster.stop();
        remove_cluster(&self.dir);
    }
}

/// Where tests put their clusters: `target/pg` of this checkout (the tests' own tree;
/// the server chooses its default directory at run time). Clusters there share one
/// template.
pub fn base_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("pg")
}

/// Stops whatever cluster runs in `dir`, deletes it and pgtmp's `<dir>.lock` beside it.
pub fn remove_cluster(dir: &Path) {
    if let Ok(mut cluster) = Cluster::open(dir) {
        let _ = cluster.stop();
    }
    let _ = std::fs::remove_dir_all(dir);
    let mut lock = dir.as_os_str().to_owned();
    lock.push(".lock");
    let _ = std::fs::remove_file(lock);
}

/// `<prefix>-<test name>-<pid>[-n]`, short enough for a Unix socket path (108 bytes).
pub fn unique_name(prefix: &str) -> String {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("main");
    let clean: String = test
        .replace("::", "-")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    // Keep the end: it names the configuration (`…-evloop_3`).
    let short = &clean[clean.len().saturating_sub(32)..];
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let suffix = if n == 0 {
        String::new()
    } else {
        format!("-{n}")
    };
    format!("{prefix}-{short}-{}{suffix}", std::process::id())
}

/// The pid of the postmaster running in `dir` (first line of `postmaster.pid`).
pub fn postmaster_pid(dir: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(dir.join("postmaster.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}
