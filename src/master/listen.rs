//! Where the master's listeners come from: sockets passed by socket activation, or
//! bound to `--bind`.

use std::net::TcpListener;

use super::announce;
use super::error::MasterError;
use crate::config::Config;
use crate::net;

/// The listeners of `count` slots: the passed ones when socket activation passed some
/// (`config.accept` becomes what they allow), else bound to `--bind`.
pub(super) fn listen(
    config: &mut Config,
    count: usize,
    passed: Vec<TcpListener>,
) -> Result<Vec<TcpListener>, MasterError> {
    if passed.is_empty() {
        return net::bind_listeners(config.bind, count, config.backlog, config.accept).map_err(
            |source| MasterError::Bind {
                addr: config.bind,
                source,
            },
        );
    }
    let wanted = config.accept;
    let adopted =
        net::adopt_listeners(passed, count, config.backlog, wanted).map_err(MasterError::Adopt)?;
    announce::log_adopted(adopted.listeners.len(), wanted, adopted.accept);
    config.accept = adopted.accept;
    if adopted.accept == crate::config::AcceptMode::Reuseport && adopted.listeners.len() > count {
        crate::say!(
            "prefork: {} sockets passed: one worker each (--workers {count} asked for fewer)",
            adopted.listeners.len()
        );
        config.workers = adopted.listeners.len();
    }
    Ok(adopted.listeners)
}
