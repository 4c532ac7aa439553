//! The bench's plain data: systems and run modes, loads and cells, runs and results.
//! A leaf: it uses no other module of the runner, and every other module may use it.
//!
//! - [`system`]: the systems, prefork's run modes and knobs, [`Variant`].
//! - [`cell`]: loads, routes, report sections, `--only` tags, published rounds, [`Cell`].
//! - [`result`]: [`RunRecord`], [`CellResult`] and what they hold.

pub mod cell;
pub mod result;
pub mod system;

pub use self::cell::{Cell, Load, Round, Route, SaturationLoad, Section, SeedLoad, Tag};
pub use self::result::{
    AccessLogCheck, Balance, CellResult, Latency, RunRecord, Spread, Status, Usage, WorkerStats,
};
pub use self::system::{
    Accept, Db, Knobs, Mode, Prefork, System, Variant, AXUM_POOL, DEFAULT_BATCH, EVENTED_CONNS,
};
