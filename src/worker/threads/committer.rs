//! The committer threads of a threads-mode worker: group commit.
//!
//! Request threads hand their inserts to a queue, each with a one-shot reply channel,
//! and wait. A committer blocks for the first insert, takes whatever else is queued (up
//! to `--batch`), commits them with [`Db::insert_group`] (one statement, one commit) and
//! answers each with its own outcome. While it waits for PostgreSQL, more inserts queue
//! up: the batch grows with the load, and an idle server still answers a lone insert
//! at once. Several committers may share the queue, each with its own connection.
//!
//! Nothing can hang on them: when the committers are gone (a panic), the request
//! threads' sends and waits fail with a disconnection, which they answer 503. On a
//! graceful stop they end after the request threads, once every queued insert has been
//! answered.

use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender};

use crate::db::{Db, DbError, DbTarget, NewTask, Task};
use crate::scoreboard::Counters;
use crate::worker::batch::record_commits;
use crate::worker::WorkerError;

/// What a request gets back for its insert: the committed row, or why it failed.
pub(super) type Outcome = Result<Task, DbError>;

/// One insert waiting for its commit.
struct Job {
    task: NewTask,
    /// The waiting request thread's one-shot channel.
    reply: Sender<Outcome>,
}

/// The request threads' side of the committers' queue (cheap to clone).
#[derive(Clone)]
pub(super) struct Inbox {
    jobs: Sender<Job>,
}

impl Inbox {
    /// Hands `task` to the committers and waits until it is committed (or failed).
    /// Committers that are gone, or one that dies before answering, mean 503, never a
    /// hang.
    pub fn insert(&self, task: NewTask) -> Outcome {
        let (reply, outcome) = crossbeam_channel::bounded(1);
        if self.jobs.send(Job { task, reply }).is_err() {
            return Err(gone());
        }
        outcome.recv().unwrap_or_else(|_| Err(gone()))
    }
}

/// The answer when no committer can give one (the client may retry: 503).
fn gone() -> DbError {
    DbError::Unavailable("the worker's committer threads are gone".into())
}

/// Starts `count` committers sharing one queue, each with its own database connection
/// (made inside its thread, after fork); returns once all are connected. They end when
/// every [`Inbox`] is dropped and the queue is empty.
pub(super) fn start(
    target: &DbTarget,
    cap: usize,
    count: usize,
    counters: &Counters,
) -> Result<(Inbox, Vec<JoinHandle<()>>), WorkerError> {
    let (jobs, queue) = crossbeam_channel::unbounded();
    let (ready_tx, ready_rx) = crossbeam_channel::bounded(count);
    let mut handles = Vec::with_capacity(count);
    for i in 0..count {
        let (target, queue, counters, ready) = (
            target.clone(),
            queue.clone(),
            counters.clone(),
            ready_tx.clone(),
        );
        // Short: the kernel keeps 15 bytes of a thread name (what perf and top show).
        let handle = thread::Builder::new()
            .name(format!("commit-{i}"))
            .spawn(move || {
                let mut db = match Db::connect(&target) {
                    Ok(db) => db,
                    Err(e) => return drop(ready.send(Err(e))),
                };
                let _ = ready.send(Ok(()));
                run(&mut db, &queue, cap, &counters);
            })?;
        handles.push(handle);
    }
    drop(ready_tx);
    for _ in 0..count {
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => return Err(std::io::Error::other("a committer thread died").into()),
        }
    }
    Ok((Inbox { jobs }, handles))
}

/// The committer's loop: collect a batch, commit it, answer it, until the queue closes.
fn run(db: &mut Db, queue: &Receiver<Job>, cap: usize, counters: &Counters) {
    let mut batch = Batch::with_capacity(cap);
    while batch.collect(queue, cap) {
        let outcomes = db.insert_group(&batch.tasks);
        record_commits(counters, &outcomes);
        batch.answer(outcomes);
    }
}

/// The inserts of one commit and the requests waiting for them, in the same order.
struct Batch {
    tasks: Vec<NewTask>,
    replies: Vec<Sender<Outcome>>,
}

impl Batch {
    /// An empty batch with room for `cap` inserts (reused for every commit).
    fn with_capacity(cap: usize) -> Batch {
        Batch {
            tasks: Vec::with_capacity(cap),
            replies: Vec::with_capacity(cap),
        }
    }

    /// Blocks for the first insert, then takes whatever else is already queued, up to
    /// `cap` in all. False once every sender is gone and the queue is empty: what was
    /// queued before the close is still delivered, so nothing queued goes unanswered.
    fn collect(&mut self, queue: &Receiver<Job>, cap: usize) -> bool {
        let Ok(first) = queue.recv() else {
            return false;
        };
        self.push(first);
        while self.tasks.len() < cap {
            match queue.try_recv() {
                Ok(job) => self.push(job),
                Err(_) => break, // empty (or closed: the next `recv` says so)
            }
        }
        true
    }

    fn push(&mut self, job: Job) {
        self.tasks.push(job.task);
        self.replies.push(job.reply);
    }

    /// Sends each request its outcome and empties the batch. A reply missing from
    /// `outcomes` drops its sender: that request answers 503 rather than waiting forever.
    fn answer(&mut self, outcomes: Vec<Outcome>) {
        for (reply, outcome) in self.replies.drain(..).zip(outcomes) {
            // Cannot fail: the request thread blocks on the receiver until this arrives.
            let _ = reply.send(outcome);
        }
        self.tasks.clear();
    }
}

#[cfg(test)]
mod tests {
    use pgtmp::Cluster;

    use super::*;
    use crate::db::test_pg::base_dir;

    fn task(title: &str) -> NewTask {
        NewTask {
            title: title.into(),
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

    /// Queues jobs titled by `titles`; returns each job's reply receiver.
    fn queue(jobs: &Sender<Job>, titles: &[&str]) -> Vec<Receiver<Outcome>> {
        let enqueue = |title: &&str| {
            let (reply, outcome) = crossbeam_channel::bounded(1);
            jobs.send(Job {
                task: task(title),
                reply,
            })
            .unwrap();
            outcome
        };
        titles.iter().map(enqueue).collect()
    }

    fn titles(batch: &Batch) -> Vec<&str> {
        batch.tasks.iter().map(|t| t.title.as_str()).collect()
    }

    /// A collect takes what is queued up to the cap, in order; the next one the rest.
    #[test]
    fn collect_drains_up_to_the_cap() {
        let (jobs, rx) = crossbeam_channel::unbounded();
        let _replies = queue(&jobs, &["a", "b", "c", "d", "e"]);
        let mut batch = Batch::with_capacity(3);
        assert!(batch.collect(&rx, 3));
        assert_eq!(titles(&batch), ["a", "b", "c"]);
        batch.answer(Vec::new());
        assert!(batch.collect(&rx, 3));
        assert_eq!(titles(&batch), ["d", "e"], "does not wait to fill the cap");
    }

    /// After the last sender is gone, queued jobs are still collected, then it ends.
    #[test]
    fn collect_delivers_the_queue_before_ending() {
        let (jobs, rx) = crossbeam_channel::unbounded();
        let _replies = queue(&jobs, &["a", "b"]);
        drop(jobs);
        let mut batch = Batch::with_capacity(64);
        assert!(batch.collect(&rx, 64));
        assert_eq!(titles(&batch), ["a", "b"]);
        batch.answer(Vec::new());
        assert!(!batch.collect(&rx, 64));
    }

    /// Each request gets its own outcome, in order; one without an outcome gets a
    /// disconnection (503), and the batch is empty for the next commit.
    #[test]
    fn answer_pairs_outcomes_in_order() {
        let (jobs, rx) = crossbeam_channel::unbounded();
        let replies = queue(&jobs, &["a", "b", "c"]);
        let mut batch = Batch::with_capacity(8);
        assert!(batch.collect(&rx, 8));
        batch.answer(vec![Ok(row(7)), Err(DbError::Query("bad".into()))]);
        assert_eq!(replies[0].recv().unwrap().unwrap().id, 7);
        assert!(matches!(replies[1].recv().unwrap(), Err(DbError::Query(_))));
        assert!(replies[2].recv().is_err(), "unanswered: disconnected");
        assert!(batch.tasks.is_empty() && batch.replies.is_empty());
    }

    /// A committer that is gone, or dies holding the job, answers Unavailable (503).
    #[test]
    fn inbox_without_committer_is_unavailable() {
        let (jobs, rx) = crossbeam_channel::unbounded();
        let inbox = Inbox { jobs };
        let dies = thread::spawn(move || drop(rx.recv().unwrap()));
        assert!(matches!(
            inbox.insert(task("a")),
            Err(DbError::Unavailable(_))
        ));
        dies.join().unwrap();
        assert!(matches!(
            inbox.insert(task("b")),
            Err(DbError::Unavailable(_))
        ));
    }

    /// Many threads inserting at once through a real committer: every insert is
    /// answered with its own row, ids distinct, all rows in the table; it ends when the
    /// last inbox is dropped.
    #[test]
    fn concurrent_inserts_commit_together() {
        let cluster = Cluster::fresh(base_dir().join("commit-concurrent")).unwrap();
        let (inbox, handles) = start(
            &crate::db::DbTarget::new(cluster.url()),
            64,
            2,
            &Counters::detached(),
        )
        .unwrap();
        let senders: Vec<_> = (0..16)
            .map(|i| {
                let inbox = inbox.clone();
                thread::spawn(move || {
                    let titles = (0..20).map(|j| format!("t{i}-{j}"));
                    let rows = titles.map(|t| (inbox.insert(task(&t)).unwrap(), t));
                    rows.map(|(row, t)| {
                        assert_eq!(row.title, t);
                        row.id
                    })
                    .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut ids: Vec<i64> = senders
            .into_iter()
            .flat_map(|s| s.join().unwrap())
            .collect();
        drop(inbox);
        handles.into_iter().for_each(|h| h.join().unwrap());
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 320);
        assert_eq!(cluster.psql("SELECT count(*) FROM task").unwrap(), "320");
    }
}
