//! Where the master's listeners come from: sockets passed by socket activation (or by
//! the master a binary upgrade replaces), or bound to every `--bind`.
//!
//! The first TCP address is the *primary* one: in `reuseport` mode each slot gets a
//! socket of its own there (what `TTIN`, `TTOU` and steering work on). Every other
//! listener — further TCP addresses, every Unix socket — is *shared*: one socket that
//! every worker accepts on, so no slot owns its queue and nothing special happens when
//! slots come and go.

use std::net::{SocketAddr, TcpListener};

use super::announce;
use super::error::MasterError;
use crate::config::{AcceptMode, Config};
use crate::endpoint::Endpoint;
use crate::listener::Listener;
use crate::net;
use crate::unix_socket::{self, SocketFile};

/// What the master listens on.
#[derive(Debug)]
pub(super) struct Listening {
    /// The primary TCP address's sockets: one per slot in `reuseport` mode (possibly
    /// more than slots when passed), one in `shared` mode, none without a TCP address.
    pub(super) primary: Vec<TcpListener>,
    /// The primary address, resolved (port 0 replaced by the real port).
    pub(super) addr: Option<SocketAddr>,
    /// Every other listener, shared by all workers, in `--bind` (or descriptor) order.
    pub(super) shared: Vec<Listener>,
    /// The Unix socket files this master removes at exit.
    pub(super) files: Vec<SocketFile>,
}

/// Where new connections come from for `count` slots: the passed listeners when some
/// were passed (`config.accept` becomes what they allow; `upgraded`: they come from the
/// master this one replaces, so their socket files are now ours to remove), else bound
/// to every `--bind`. Without a TCP address `config.accept` becomes `shared`.
pub(super) fn listen(
    config: &mut Config,
    count: usize,
    passed: Vec<Listener>,
    upgraded: bool,
) -> Result<Listening, MasterError> {
    let listening = if passed.is_empty() {
        bind_all(config, count)?
    } else {
        adopt_all(config, count, passed, upgraded)?
    };
    if listening.primary.is_empty() {
        config.accept = AcceptMode::Shared;
    }
    Ok(listening)
}

/// Binds every `--bind`: the primary TCP address for `count` slots, the rest once.
fn bind_all(config: &Config, count: usize) -> Result<Listening, MasterError> {
    let mut listening = Listening {
        primary: Vec::new(),
        addr: None,
        shared: Vec::new(),
        files: Vec::new(),
    };
    for endpoint in &config.binds {
        let failed = |source| MasterError::Bind {
            endpoint: endpoint.clone(),
            source,
        };
        match endpoint {
            Endpoint::Tcp(addr) if listening.addr.is_none() => {
                let sockets = net::bind_listeners(*addr, count, config.backlog, config.accept)
                    .map_err(failed)?;
                listening.addr = Some(sockets[0].local_addr().map_err(failed)?);
                listening.primary = sockets;
            }
            Endpoint::Tcp(addr) => {
                let socket = net::bind_listeners(*addr, 1, config.backlog, AcceptMode::Shared)
                    .map_err(failed)?;
                listening
                    .shared
                    .extend(socket.into_iter().map(Listener::Tcp));
            }
            Endpoint::Unix(path) => {
                let (mode, owner) = (config.socket_mode, config.socket_owner);
                let socket =
                    unix_socket::bind(path, config.backlog, mode, owner).map_err(failed)?;
                listening.files.push(SocketFile::of(path).map_err(failed)?);
                listening.shared.push(Listener::Unix(socket));
            }
        }
    }
    Ok(listening)
}

/// Adopts passed listeners: those on the first passed TCP address are the primary ones
/// (made into slots as [`net::adopt_listeners`] says), every other one is shared.
fn adopt_all(
    config: &mut Config,
    count: usize,
    passed: Vec<Listener>,
    upgraded: bool,
) -> Result<Listening, MasterError> {
    let first_tcp = passed.iter().find_map(|l| match l {
        Listener::Tcp(socket) => socket.local_addr().ok(),
        Listener::Unix(_) => None,
    });
    let mut primary = Vec::new();
    let mut shared = Vec::new();
    let mut files = Vec::new();
    for listener in passed {
        match listener {
            Listener::Tcp(socket)
                if first_tcp.is_some() && socket.local_addr().ok() == first_tcp =>
            {
                primary.push(socket);
            }
            Listener::Unix(socket) => {
                if upgraded {
                    let path = socket.local_addr().ok();
                    let path = path.as_ref().and_then(|a| a.as_pathname());
                    files.extend(path.and_then(|p| SocketFile::of(p).ok()));
                }
                shared.push(Listener::Unix(socket));
            }
            other => shared.push(other),
        }
    }
    let wanted = config.accept;
    let (primary, accept) = if primary.is_empty() {
        (primary, AcceptMode::Shared)
    } else {
        let adopted = net::adopt_listeners(primary, count, config.backlog, wanted)
            .map_err(MasterError::Adopt)?;
        (adopted.listeners, adopted.accept)
    };
    announce::log_adopted(primary.len(), wanted, accept);
    config.accept = accept;
    if accept == AcceptMode::Reuseport && primary.len() > count {
        crate::say!(
            "prefork: {} sockets passed: one worker each (--workers {count} asked for fewer)",
            primary.len()
        );
        config.workers = primary.len();
    }
    Ok(Listening {
        addr: first_tcp,
        primary,
        shared,
        files,
    })
}
