//! Everything that happens in a worker process after fork (stub — being implemented).
