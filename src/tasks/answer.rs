//! What both task services do the same way around their database: route a request into
//! an answer, a deferred insert or a wait, reading through a synchronous [`Db`]; encode
//! an insert's outcome; say that a worker booted during an outage.

use super::db::{Db, DbError, NewTask, Task};
use super::routes::{self, Action};
use crate::http::request::Request;
use crate::http::response::{encode, DateCache};
use crate::scoreboard::Counters;
use crate::service::{Call, Turn};

/// Routes `req`: inserts are deferred, reads answered through the connection `reads`
/// gives (asked for only when a read comes), after this connection's own inserts
/// (`turn.owed`: wait, so a client reads its writes). A read that fails is counted on
/// `meter` as a database error.
pub(super) fn call<'a>(
    req: &Request,
    turn: Turn,
    meter: &Counters,
    reads: impl FnOnce() -> Result<&'a mut Db, DbError>,
) -> Call<NewTask> {
    let failed = |e: DbError| {
        meter.db_errors(1);
        routes::db_failed(&e)
    };
    match routes::route(req) {
        Action::Respond(resp) => Call::Respond(resp),
        Action::Insert(task) => Call::Defer(task),
        Action::Get(_) | Action::List(_) if turn.owed => Call::Wait,
        Action::Get(id) => Call::Respond(match reads() {
            Ok(db) => db
                .get(id)
                .map_or_else(failed, |t| routes::found(t.as_ref())),
            Err(e) => failed(e),
        }),
        Action::List(n) => Call::Respond(match reads() {
            Ok(db) => db.list(n).map_or_else(failed, |ts| routes::listed(&ts)),
            Err(e) => failed(e),
        }),
    }
}

/// Counts on `meter` the failed outcomes among `outcomes` (inserts answered 503/500).
pub(super) fn count_failures(meter: &Counters, outcomes: &[Result<Task, DbError>]) {
    meter.db_errors(outcomes.iter().filter(|o| o.is_err()).count() as u64);
}

/// An insert's answer: 201 with the row, or 503/500.
pub(super) fn encode_outcome(
    done: &Result<Task, DbError>,
    keep_alive: bool,
    date: &mut DateCache,
    out: &mut Vec<u8>,
) {
    match done {
        Ok(task) => routes::encode_inserted(task, keep_alive, date, out),
        Err(err) => {
            let resp = routes::db_failed(err);
            encode(&resp, keep_alive && !resp.close, date, out);
        }
    }
}

/// Says that a worker booted while its database is down (not a boot failure: it
/// answers 503 and reconnects) — once per worker.
pub(super) fn say_outage_at_boot(slot: usize, why: &dyn std::fmt::Display) {
    crate::say!(
        "prefork: worker {slot}: database unavailable at boot ({why}); answering 503 until it is back"
    );
}
