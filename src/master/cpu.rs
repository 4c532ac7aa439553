//! `--pin-cpus` for one worker.

use crate::sys;

/// `--pin-cpus`: binds the calling worker to its slot's CPU before it starts any
/// thread. Failing to pin is logged and otherwise harmless (the worker still serves).
pub(super) fn pin_worker(slot: usize) {
    if let Err(e) = sys::pin_to_slot_cpu(slot) {
        crate::say!("prefork: worker {slot}: cannot pin to a CPU: {e}");
    }
}
