//! The committer threads of a threads-mode worker: group commit.
//!
//! Request threads hand their deferred jobs to a queue, each with a one-shot reply
//! channel, and wait. A committer blocks for the first job, takes whatever else is
//! queued (up to `--batch`), has the service commit them together
//! ([`Service::commit`]: the task service's one statement, one commit) and answers each
//! with its own outcome. While it waits for the service, more jobs queue up: the group
//! grows with the load, and an idle server still answers a lone job at once. Several
//! committers may share the queue, each with its own service context.
//!
//! Nothing can hang on them: when the committers are gone (a panic), the request
//! threads' sends and waits fail with a disconnection, which they answer 503. On a
//! graceful stop they end after the request threads, once every queued job has been
//! answered.

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};

use super::startup::start_threads;
use crate::scoreboard::Counters;
use crate::service::{Completions, Group, Role, Service, Ticket};
use crate::worker::error::WorkerError;
use crate::worker::rules::record_commits;

/// What a request thread gets back for its job.
#[derive(Debug)]
pub(super) enum Submitted<D> {
    /// The completed job.
    Done(D),
    /// The service's commit left this job incomplete (answered 500).
    NotCompleted,
    /// No committer can answer (answered 503: the client may retry).
    Gone,
}

impl<D> From<Option<D>> for Submitted<D> {
    fn from(done: Option<D>) -> Self {
        done.map_or(Submitted::NotCompleted, Submitted::Done)
    }
}

/// One job waiting for its commit.
struct Job<S: Service> {
    job: S::Job,
    /// The waiting request thread's one-shot channel.
    reply: Sender<Option<S::Done>>,
}

/// The request threads' side of the committers' queue (cheap to clone).
pub(super) struct Inbox<S: Service> {
    jobs: Sender<Job<S>>,
}

impl<S: Service> Clone for Inbox<S> {
    fn clone(&self) -> Self {
        Inbox {
            jobs: self.jobs.clone(),
        }
    }
}

impl<S: Service> Inbox<S> {
    /// Hands `job` to the committers and waits until it is committed (or failed).
    /// Committers that are gone, or one that dies before answering, mean
    /// [`Submitted::Gone`], never a hang.
    pub(super) fn submit(&self, job: S::Job) -> Submitted<S::Done> {
        let (reply, outcome) = crossbeam_channel::bounded(1);
        if self.jobs.send(Job { job, reply }).is_err() {
            return Submitted::Gone;
        }
        outcome.recv().map_or(Submitted::Gone, Submitted::from)
    }
}

/// Starts `count` committers sharing one queue, each with its own service context
/// (made inside its thread, after fork); returns once all have one. They end when
/// every [`Inbox`] is dropped and the queue is empty.
pub(super) fn start<S: Service>(
    (service, slot): (&Arc<S>, usize),
    cap: usize,
    count: usize,
    counters: &Counters,
) -> Result<(Inbox<S>, Vec<JoinHandle<()>>), WorkerError> {
    let (jobs, queue) = crossbeam_channel::unbounded::<Job<S>>();
    let (service_for_body, counters) = (Arc::clone(service), *counters);
    let body = move |_, mut cx: S::Context| {
        run(&*service_for_body, &mut cx, &queue, cap, &counters);
    };
    let handles = start_threads(
        "commit",
        count,
        (service, slot, &counters),
        Role::Committer,
        body,
    )?;
    Ok((Inbox { jobs }, handles))
}

/// The committer's loop: collect a group, commit it, answer it, until the queue closes.
fn run<S: Service>(
    service: &S,
    cx: &mut S::Context,
    queue: &Receiver<Job<S>>,
    cap: usize,
    counters: &Counters,
) {
    let mut batch = Batch::<S>::with_capacity(cap);
    let mut done = Completions::default();
    while batch.collect(queue, cap) {
        service.commit(cx, &mut batch.group, &mut done);
        record_commits(counters, &mut done);
        batch.answer(&mut done);
    }
}

/// The jobs of one commit and the requests waiting for them: `replies[i]` waits for
/// the job whose ticket has slot `i`.
struct Batch<S: Service> {
    group: Group<S::Job>,
    replies: Vec<Sender<Option<S::Done>>>,
}

impl<S: Service> Batch<S> {
    /// An empty batch with room for `cap` jobs (reused for every commit).
    fn with_capacity(cap: usize) -> Batch<S> {
        Batch {
            group: Vec::with_capacity(cap),
            replies: Vec::with_capacity(cap),
        }
    }

    /// Blocks for the first job, then takes whatever else is already queued, up to
    /// `cap` in all. False once every sender is gone and the queue is empty: what was
    /// queued before the close is still delivered, so nothing queued goes unanswered.
    fn collect(&mut self, queue: &Receiver<Job<S>>, cap: usize) -> bool {
        let Ok(first) = queue.recv() else {
            return false;
        };
        self.push(first);
        while self.replies.len() < cap {
            match queue.try_recv() {
                Ok(job) => self.push(job),
                Err(_) => break, // empty (or closed: the next `recv` says so)
            }
        }
        true
    }

    fn push(&mut self, job: Job<S>) {
        let ticket = Ticket {
            slot: self.replies.len(),
            serial: 0,
            seq: 0,
        };
        self.group.push((ticket, job.job));
        self.replies.push(job.reply);
    }

    /// Sends each request its job's outcome (`None` for a job the service left
    /// incomplete) and empties the batch.
    fn answer(&mut self, done: &mut Completions<S::Done>) {
        let mut outcomes: Vec<Option<S::Done>> = self.replies.iter().map(|_| None).collect();
        for (ticket, outcome) in done.take_done() {
            if let Some(place) = outcomes.get_mut(ticket.slot) {
                *place = Some(outcome);
            }
        }
        for (reply, outcome) in self.replies.drain(..).zip(outcomes) {
            // Cannot fail: the request thread blocks on the receiver until this arrives.
            let _ = reply.send(outcome);
        }
        self.group.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::Request;
    use crate::http::response::DateCache;
    use crate::service::{BootError, Call, Turn, WorkerInfo};
    use std::thread;

    /// A service whose jobs are strings and whose commit completes every job but those
    /// named "skip" — enough to exercise the queue without a database.
    struct Upper;

    impl Service for Upper {
        type Context = ();
        type Job = String;
        type Done = String;
        fn context(&self, _: WorkerInfo) -> Result<(), BootError> {
            Ok(())
        }
        fn call(&self, _: &mut (), _: &Request, _: Turn) -> Call<String> {
            Call::Wait
        }
        fn commit(&self, _: &mut (), jobs: &mut Group<String>, done: &mut Completions<String>) {
            done.committed(jobs.len() as u64);
            for (ticket, job) in jobs.drain(..).filter(|(_, j)| j != "skip") {
                done.complete(ticket, job.to_uppercase());
            }
        }
        fn encode(&self, _: &String, _: bool, _: &mut DateCache, _: &mut Vec<u8>) {}
    }

    /// Queues jobs named `titles`; returns each job's reply receiver.
    fn queue(jobs: &Sender<Job<Upper>>, titles: &[&str]) -> Vec<Receiver<Option<String>>> {
        let enqueue = |title: &&str| {
            let (reply, outcome) = crossbeam_channel::bounded(1);
            let job = title.to_string();
            jobs.send(Job { job, reply }).unwrap();
            outcome
        };
        titles.iter().map(enqueue).collect()
    }

    fn names(batch: &Batch<Upper>) -> Vec<&str> {
        batch.group.iter().map(|(_, j)| j.as_str()).collect()
    }

    /// A collect takes what is queued up to the cap, in order; the next one the rest.
    #[test]
    fn collect_drains_up_to_the_cap() {
        let (jobs, rx) = crossbeam_channel::unbounded();
        let _replies = queue(&jobs, &["a", "b", "c", "d", "e"]);
        let mut batch = Batch::with_capacity(3);
        assert!(batch.collect(&rx, 3));
        assert_eq!(names(&batch), ["a", "b", "c"]);
        batch.answer(&mut Completions::default());
        assert!(batch.collect(&rx, 3));
        assert_eq!(names(&batch), ["d", "e"], "does not wait to fill the cap");
    }

    /// After the last sender is gone, queued jobs are still collected, then it ends.
    #[test]
    fn collect_delivers_the_queue_before_ending() {
        let (jobs, rx) = crossbeam_channel::unbounded();
        let _replies = queue(&jobs, &["a", "b"]);
        drop(jobs);
        let mut batch = Batch::with_capacity(64);
        assert!(batch.collect(&rx, 64));
        assert_eq!(names(&batch), ["a", "b"]);
        batch.answer(&mut Completions::default());
        assert!(!batch.collect(&rx, 64));
    }

    /// Each request gets its own job's outcome by ticket; one the service left
    /// incomplete gets `None` (answered 500), and the batch is empty for the next commit.
    #[test]
    fn answer_pairs_outcomes_by_ticket() {
        let (jobs, rx) = crossbeam_channel::unbounded();
        let replies = queue(&jobs, &["a", "skip", "c"]);
        let mut batch = Batch::with_capacity(8);
        assert!(batch.collect(&rx, 8));
        let mut done = Completions::default();
        Upper.commit(&mut (), &mut batch.group, &mut done);
        batch.answer(&mut done);
        assert_eq!(replies[0].recv().unwrap().as_deref(), Some("A"));
        assert_eq!(replies[1].recv().unwrap(), None);
        assert_eq!(replies[2].recv().unwrap().as_deref(), Some("C"));
        assert!(batch.group.is_empty() && batch.replies.is_empty());
    }

    /// A committer that is gone, or dies holding the job, answers Gone (503).
    #[test]
    fn inbox_without_committer_is_gone() {
        let (jobs, rx) = crossbeam_channel::unbounded();
        let inbox = Inbox::<Upper> { jobs };
        let dies = thread::spawn(move || drop(rx.recv().unwrap()));
        assert!(matches!(inbox.submit("a".into()), Submitted::Gone));
        dies.join().unwrap();
        assert!(matches!(inbox.submit("b".into()), Submitted::Gone));
    }

    /// Many threads submitting at once through real committer threads: every job is
    /// answered with its own outcome, every job is counted in a commit, and the
    /// committers end when the last inbox is dropped. (The task service's group commit
    /// against PostgreSQL is tested end to end in `tests/threads_commit.rs`.)
    #[test]
    fn concurrent_jobs_are_each_answered() {
        let counters = Counters::detached();
        let (inbox, handles) = start((&Arc::new(Upper), 0), 64, 2, &counters).unwrap();
        let senders: Vec<_> = (0..16)
            .map(|i| {
                let inbox = inbox.clone();
                thread::spawn(move || {
                    for j in 0..20 {
                        let job = format!("t{i}-{j}");
                        let Submitted::Done(answer) = inbox.submit(job.clone()) else {
                            panic!("job {job} not answered");
                        };
                        assert_eq!(answer, job.to_uppercase());
                    }
                })
            })
            .collect();
        senders.into_iter().for_each(|s| s.join().unwrap());
        drop(inbox);
        handles.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(
            counters.get().committed_jobs,
            320,
            "every job counted in a commit"
        );
    }
}
