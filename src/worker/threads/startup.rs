//! Starting a group of worker threads that each need a service context first: the
//! request threads and the committers start the same way.

use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crate::scoreboard::Counters;
use crate::service::{BootError, Role, Service, WorkerInfo};
use crate::worker::error::WorkerError;

/// Spawns `count` threads named `{prefix}-{i}` (short: the kernel keeps 15 bytes of a
/// thread name, what perf and top show). Thread `i` makes its service context for
/// `role(i)` — inside the thread, after fork — reports it, then runs `body(i, cx)`.
/// Returns once every thread has its context; the first failure is returned instead
/// (threads already running end when the queues they wait on close).
pub(super) fn start_threads<S, B>(
    prefix: &str,
    count: usize,
    (service, slot, counters): (&Arc<S>, usize, &Counters),
    role: fn(usize) -> Role,
    body: B,
) -> Result<Vec<JoinHandle<()>>, WorkerError>
where
    S: Service,
    B: Fn(usize, S::Context) + Clone + Send + 'static,
{
    let (ready_tx, ready_rx) = crossbeam_channel::bounded::<Result<(), BootError>>(count);
    let counters = *counters;
    let mut handles = Vec::with_capacity(count);
    for i in 0..count {
        let (service, ready, body) = (Arc::clone(service), ready_tx.clone(), body.clone());
        let handle = thread::Builder::new()
            .name(format!("{prefix}-{i}"))
            .spawn(move || {
                let info = WorkerInfo {
                    slot,
                    role: role(i),
                    counters,
                };
                match service.context(info) {
                    Ok(cx) => {
                        let _ = ready.send(Ok(()));
                        drop(ready);
                        body(i, cx);
                    }
                    Err(e) => drop(ready.send(Err(e))),
                }
            })?;
        handles.push(handle);
    }
    drop(ready_tx);
    // A thread that cannot start reports it; one that panicked drops its sender.
    for _ in 0..count {
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => return Err(std::io::Error::other(format!("a {prefix} thread died")).into()),
        }
    }
    Ok(handles)
}
