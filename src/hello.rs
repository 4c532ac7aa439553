//! `--app hello`: a fixed small JSON answer on every path, with no I/O of its own.
//!
//! The HTTP ceiling of a worker model (like TechEmpower's JSON test): what is left is
//! accepting, parsing, encoding and the socket system calls, so the gap between it and
//! the task service is the cost of the database. It also proves the [`Service`] seam: a
//! service that never defers and needs no per-thread state.

use crate::http::request::Request;
use crate::http::response::{DateCache, Response};
use crate::service::{BootError, Call, Completions, Group, Never, Service, Turn, WorkerInfo};

/// The body of every answer.
pub const BODY: &[u8] = br#"{"message":"Hello, World!"}"#;

/// The hello service.
#[derive(Clone, Copy, Debug, Default)]
pub struct Hello;

impl Service for Hello {
    type Context = ();
    type Job = Never;
    type Done = Never;

    fn context(&self, _info: WorkerInfo) -> Result<(), BootError> {
        Ok(())
    }

    fn call(&self, _cx: &mut (), _req: &Request, _turn: Turn) -> Call<Never> {
        Call::Respond(Response::json(200, BODY.to_vec()))
    }

    fn commit(&self, _cx: &mut (), jobs: &mut Group<Never>, _done: &mut Completions<Never>) {
        // No job can exist: `call` never defers.
        jobs.clear();
    }

    fn encode(&self, done: &Never, _keep_alive: bool, _date: &mut DateCache, _out: &mut Vec<u8>) {
        match *done {}
    }
}
