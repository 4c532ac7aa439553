//! The event loop's group commit: inserts collected from every connection during one
//! loop iteration, committed together in one statement and one transaction.
//!
//! Each insert remembers the connection that owes its answer ([`Owner`]); after the
//! commit the loop hands every outcome to its owner, in the order the inserts were
//! queued, which per connection is the order its requests came in.

use crate::db::{Db, DbError, NewTask, Task};
use crate::scoreboard::Counters;

/// The connection (slab key, and the serial that tells it from a later connection
/// reusing the key) an answer belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    /// Slab key.
    pub key: usize,
    /// Connection serial.
    pub serial: u64,
}

/// Inserts waiting for the commit, at most `cap`.
#[derive(Debug)]
pub struct Batch {
    cap: usize,
    tasks: Vec<NewTask>,
    owners: Vec<Owner>,
}

impl Batch {
    /// A batch of at most `cap` rows (`--batch`).
    pub fn new(cap: usize) -> Batch {
        Batch {
            cap,
            tasks: Vec::with_capacity(cap),
            owners: Vec::with_capacity(cap),
        }
    }

    /// Whether inserts are batched at all (`--batch 1`: one commit per request, inline).
    pub fn enabled(&self) -> bool {
        self.cap > 1
    }

    /// No more inserts fit: commit before queuing another.
    pub fn is_full(&self) -> bool {
        self.tasks.len() >= self.cap
    }

    /// Nothing queued.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Queues an insert whose answer `owner` owes.
    pub fn push(&mut self, owner: Owner, task: NewTask) {
        debug_assert!(!self.is_full(), "queued past the cap");
        self.tasks.push(task);
        self.owners.push(owner);
    }

    /// Commits everything queued (one statement, one commit; per-row fallback inside
    /// [`Db::insert_group`]), records the commits on `counters`, and returns each owner
    /// with its outcome, in queue order.
    pub fn commit(
        &mut self,
        db: &mut Db,
        counters: &Counters,
    ) -> Vec<(Owner, Result<Task, DbError>)> {
        let outcomes = db.insert_group(&self.tasks);
        record_commits(counters, &outcomes);
        self.tasks.clear();
        self.owners.drain(..).zip(outcomes).collect()
    }
}

/// Records on `counters` the commits behind [`Db::insert_group`]'s outcomes (both
/// worker modes): every row committed means one commit of them all; otherwise the
/// group fell back to one commit per row (or the connection failed and nothing
/// committed), so one per row that committed. (A batch statement that failed for a
/// transient reason while every row then committed alone counts as one commit: too
/// rare to matter.)
pub(crate) fn record_commits(counters: &Counters, outcomes: &[Result<Task, DbError>]) {
    let (commits, rows) = commits(outcomes);
    for _ in 0..commits {
        counters.batch(rows);
    }
}

/// `(commits, rows in each)` behind a group's outcomes, see [`record_commits`].
fn commits(outcomes: &[Result<Task, DbError>]) -> (u64, u64) {
    let ok = outcomes.iter().filter(|o| o.is_ok()).count() as u64;
    if ok == outcomes.len() as u64 {
        (u64::from(ok > 0), ok)
    } else {
        (ok, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(n: usize) -> NewTask {
        NewTask {
            title: format!("t{n}"),
            description: "d".into(),
        }
    }

    fn row(id: i64) -> Task {
        Task {
            id,
            title: "t".into(),
            description: "d".into(),
            created_at: "2026-01-01T00:00:00.000000Z".into(),
        }
    }

    /// Commit accounting: all rows in one commit, one per committed row after a
    /// fallback, none when nothing committed.
    #[test]
    fn commits_follow_the_outcomes() {
        let failed = || Err(DbError::Query("x".into()));
        assert_eq!(commits(&[Ok(row(1)), Ok(row(2)), Ok(row(3))]), (1, 3));
        assert_eq!(commits(&[Ok(row(1)), failed(), Ok(row(3))]), (2, 1));
        let down = || Err(DbError::Unavailable("x".into()));
        assert_eq!(commits(&[down(), down()]), (0, 1));
    }

    /// The cap: full at `cap` rows; a cap of 1 means no batching.
    #[test]
    fn cap_and_enabled() {
        let mut batch = Batch::new(2);
        assert!(batch.enabled() && batch.is_empty() && !batch.is_full());
        let owner = Owner { key: 0, serial: 1 };
        batch.push(owner, task(0));
        assert!(!batch.is_full());
        batch.push(owner, task(1));
        assert!(batch.is_full() && !batch.is_empty());
        assert!(!Batch::new(1).enabled());
    }
}
