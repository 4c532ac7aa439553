//! Everything that happens in a worker process after fork.
//!
//! CONTRACT: the master builds a [`WorkerSpec`] (plain data, pre-fork) and, in the child,
//! after dropping its own signal registration, closing the other slots' listeners and
//! setting the parent-death signal, calls [`boot`] with every signal still blocked. `boot`
//! installs the worker's own signal handling, unblocks the signal mask, makes the
//! [`Service`](crate::service::Service)'s context for each serving thread (a [`BootError`](crate::service::BootError): exit
//! [`EXIT_BOOT_FAILURE`]) and serves until told to stop (SIGTERM graceful,
//! SIGQUIT/SIGINT immediate), the master dies, or `max_requests` is reached; then it
//! exits 0.
//!
//! The two modes ([`crate::config::Mode`]) live in `evloop` and `threads`; both drive the
//! same [`conn::Conn`] / [`session::Session`], follow the same rules around a service
//! call (`rules`, `builtin`) and differ only in how bytes and connections move. Nothing
//! here knows what a service does.

mod accept;
mod builtin;
pub mod conn;
mod error;
mod evconn;
mod evloop;
mod metrics;
mod output;
mod process;
mod rules;
pub mod session;
mod state;
mod stats;
pub mod stream;
mod threads;
mod timers;

pub use error::{WorkerError, EXIT_BOOT_FAILURE};
pub use process::{boot, serve, App, WorkerSpec};
