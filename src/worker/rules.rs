//! The rules both worker models follow around a service call, written once: how a
//! request is counted, how a job is committed on its own (`--batch 1`), and what a
//! client gets when the service cannot give an answer.

use crate::http::response::Response;
use crate::scoreboard::Counters;
use crate::service::{Completions, Service, Ticket};

use super::session::Reply;
use super::state::Quota;

/// After each answer (now or owed): counts the request for `/stats` and against
/// `--max-requests`; true once the quota is reached, when the worker starts draining
/// and this answer closes its connection.
pub(crate) fn count_answer(counters: &Counters, quota: &Quota) -> bool {
    counters.requests(1);
    quota.count()
}

/// Records on `counters` the commits the service reported.
pub(crate) fn record_commits<D>(counters: &Counters, done: &mut Completions<D>) {
    for jobs in done.take_commits() {
        counters.commit(jobs);
    }
}

/// Commits one job on its own with `cx` (no group commit: `--batch 1`, or threads mode
/// without committers); `None` if the service did not complete it.
pub(crate) fn commit_one<S: Service>(
    service: &S,
    cx: &mut S::Context,
    job: S::Job,
    counters: &Counters,
) -> Option<S::Done> {
    let ticket = Ticket {
        slot: 0,
        serial: 0,
        seq: 0,
    };
    let mut group = vec![(ticket, job)];
    let mut done = Completions::default();
    service.commit(cx, &mut group, &mut done);
    record_commits(counters, &mut done);
    let first = done.take_done().next().map(|(_, d)| d);
    first
}

/// 500 for a job its service did not complete where it had to (threads mode, or a
/// job committed on its own): a bug of the service, reported rather than hung.
pub(crate) fn not_completed() -> Response {
    Response::error(
        500,
        "internal server error: the service did not complete the request",
    )
}

/// 500 for [`crate::service::Call::Wait`] with nothing owed on the connection: nothing
/// would ever wake the request.
pub(crate) fn nothing_to_wait_for() -> Response {
    Response::error(
        500,
        "internal server error: the service waited with nothing pending",
    )
}

/// 503 when the worker's committer threads are gone (the client may retry).
pub(crate) fn committers_gone() -> Response {
    Response::error(503, "service unavailable, retry later").with_header("Retry-After", "1")
}

/// `reply`, closing its connection when `close` (the worker drains, or this request
/// reached `--max-requests`).
pub(crate) fn closing<D>(reply: Reply<D>, close: bool) -> Reply<D> {
    match reply {
        Reply::Now(mut resp) => {
            resp.close |= close;
            Reply::Now(resp)
        }
        Reply::Done { done, close: c } => Reply::Done {
            done,
            close: c || close,
        },
        Reply::Later { close: c } => Reply::Later { close: c || close },
        Reply::Retry => Reply::Retry,
    }
}
