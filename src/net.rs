//! Listening sockets, bound by the master before any fork (socket2).
//!
//! In `reuseport` mode every worker slot gets its own `SO_REUSEPORT` socket on the same
//! address and the kernel spreads incoming connections over them (the nginx model); in
//! `shared` mode one socket is inherited by every worker. Sockets are non-blocking
//! (workers accept until `WouldBlock`) and close-on-exec (socket2's default).
//!
//! Also the descriptor budget those sockets draw on: the master raises the soft
//! `RLIMIT_NOFILE` to the hard limit at start (as Go's runtime and nginx's
//! `worker_rlimit_nofile` do), and each worker's connection cap is derived from it.

use std::io;
use std::net::{SocketAddr, TcpListener};

use nix::sys::resource::{getrlimit, setrlimit, Resource};
use socket2::{Domain, Protocol, Socket, Type};

use crate::config::{AcceptMode, Config, Mode};
use crate::sys::{self, BpfInstruction};

/// Binds the listeners for `count` worker slots: `count` `SO_REUSEPORT` sockets on one
/// address in `Reuseport` mode, a single socket in `Shared` mode.
///
/// With port 0 the first socket gets a port from the kernel and the others are bound to
/// that same port, so every slot listens on one address.
pub fn bind_listeners(
    addr: SocketAddr,
    count: usize,
    backlog: i32,
    mode: AcceptMode,
) -> io::Result<Vec<TcpListener>> {
    match mode {
        AcceptMode::Shared => Ok(vec![bind(addr, backlog, Reuse::AddressOnly)?]),
        AcceptMode::Reuseport => {
            ensure_unserved(addr)?;
            let first = bind_one(addr, backlog)?;
            let resolved = first.local_addr()?;
            let mut listeners = vec![first];
            for _ in 1..count {
                listeners.push(bind_one(resolved, backlog)?);
            }
            Ok(listeners)
        }
    }
}

/// Listeners made from sockets passed by socket activation ([`crate::activation`]),
/// for `count` worker slots, and the accept mode they allow.
#[derive(Debug)]
pub struct Adopted {
    /// One per slot in `reuseport` mode (possibly more than asked for), a single one in
    /// `shared` mode.
    pub listeners: Vec<TcpListener>,
    /// `mode`, or `Shared` when a single passed socket cannot be shared by port
    /// (no `SO_REUSEPORT` on it: siblings could not join it).
    pub accept: AcceptMode,
}

/// Makes the slots' listeners from passed sockets: they must all listen on one address;
/// in `reuseport` mode each gets a slot (more sockets than `count` mean more slots), and
/// when there are fewer the rest are bound beside them (which needs `SO_REUSEPORT` on the passed one; without
/// it a single passed socket is shared by every worker instead); in `shared` mode one.
pub fn adopt_listeners(
    passed: Vec<TcpListener>,
    count: usize,
    backlog: i32,
    mode: AcceptMode,
) -> io::Result<Adopted> {
    let invalid = |why: String| io::Error::new(io::ErrorKind::InvalidInput, why);
    let addr = passed[0].local_addr()?;
    for other in &passed[1..] {
        let theirs = other.local_addr()?;
        if theirs != addr {
            return Err(invalid(format!(
                "the passed sockets listen on {addr} and {theirs}: prefork serves one address"
            )));
        }
    }
    let shared = |listeners| Adopted {
        listeners,
        accept: AcceptMode::Shared,
    };
    match mode {
        AcceptMode::Shared if passed.len() == 1 => Ok(shared(passed)),
        AcceptMode::Shared => Err(invalid(format!(
            "{} sockets passed for --accept shared, which takes one",
            passed.len()
        ))),
        AcceptMode::Reuseport => {
            let reuse_port = Socket::from(passed[0].try_clone()?).reuse_port()?;
            // More than slots (a master that TTIN grew hands over its sockets): every one
            // gets a worker, or connections hashed to it would wait forever.
            if passed.len() >= count {
                return Ok(Adopted {
                    listeners: passed,
                    accept: AcceptMode::Reuseport,
                });
            }
            if !reuse_port && passed.len() == 1 {
                return Ok(shared(passed));
            }
            if !reuse_port {
                return Err(invalid(format!(
                    "{} sockets passed for {count} worker slots without SO_REUSEPORT \
                     (ReusePort=yes in the .socket unit), so no more can join them",
                    passed.len()
                )));
            }
            let mut listeners = passed;
            while listeners.len() < count {
                listeners.push(bind_one(addr, backlog)?);
            }
            Ok(Adopted {
                listeners,
                accept: AcceptMode::Reuseport,
            })
        }
    }
}

/// Refuses an address another socket listens on already. `SO_REUSEPORT` would let us
/// bind beside a forgotten instance of ourselves and silently split its traffic; a
/// probe bound without that option fails there (`EADDRINUSE`), as it does beside any
/// other program. Port 0 needs no probe: the kernel picks a free port.
fn ensure_unserved(addr: SocketAddr) -> io::Result<()> {
    if addr.port() == 0 {
        return Ok(());
    }
    let probe = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // Connections of an earlier run in TIME_WAIT must not count as "served".
    probe.set_reuse_address(true)?;
    match probe.bind(&addr.into()) {
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!(
                "port {} is already served (another prefork instance, or another program, \
                 listens on {addr}): stop it or choose another --bind",
                addr.port()
            ),
        )),
        other => other,
    }
}

/// Binds one more `SO_REUSEPORT` listener, e.g. for a slot added by `TTIN`; give it the
/// resolved address of the existing listeners (not port 0).
pub fn bind_one(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    bind(addr, backlog, Reuse::AddressAndPort)
}

/// Sends every new connection of `listener`'s `SO_REUSEPORT` group to one of the
/// sockets at `targets` (positions in the group, in the order its sockets started
/// listening; a closed socket's place is taken by the group's last one), picked at
/// random. Used to stop feeding a slot before its worker is retired.
pub fn steer(listener: &TcpListener, targets: &[u32]) -> io::Result<()> {
    if targets.is_empty() {
        return Err(io::ErrorKind::InvalidInput.into());
    }
    sys::attach_reuseport_program(listener, &steering_program(targets))
}

/// `A = random; A %= n; if A == 0 return targets[0]; if A == 1 return targets[1]; …`
fn steering_program(targets: &[u32]) -> Vec<BpfInstruction> {
    use nix::libc::{BPF_ABS, BPF_ALU, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_MOD, BPF_RET, BPF_W};
    use nix::libc::{SKF_AD_OFF, SKF_AD_RANDOM};
    let op = |code: u32, k: u32, jt: u8, jf: u8| BpfInstruction {
        code: code as u16,
        jt,
        jf,
        k,
    };
    let random = (SKF_AD_OFF + SKF_AD_RANDOM) as u32;
    let mut program = vec![
        op(BPF_LD | BPF_W | BPF_ABS, random, 0, 0),
        op(BPF_ALU | BPF_MOD | BPF_K, targets.len() as u32, 0, 0),
    ];
    for (i, &target) in targets.iter().enumerate() {
        // Equal: fall through to the return; else skip it.
        program.push(op(BPF_JMP | BPF_JEQ | BPF_K, i as u32, 0, 1));
        program.push(op(BPF_RET | BPF_K, target, 0, 0));
    }
    program.push(op(BPF_RET | BPF_K, targets[0], 0, 0));
    program
}

/// Which reuse options a socket gets.
#[derive(Clone, Copy)]
enum Reuse {
    /// `SO_REUSEADDR` only: a second bind of the same port fails, as it should for a
    /// shared listener.
    AddressOnly,
    /// `SO_REUSEADDR` + `SO_REUSEPORT`: sibling sockets of the same user may share the port.
    AddressAndPort,
}

fn bind(addr: SocketAddr, backlog: i32, reuse: Reuse) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // SO_REUSEADDR lets a restarted server bind while old connections sit in TIME_WAIT.
    socket.set_reuse_address(true)?;
    if let Reuse::AddressAndPort = reuse {
        socket.set_reuse_port(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}

/// Descriptors a worker keeps for itself besides its PostgreSQL connections: stdio,
/// listener, poll, signal pipe, waker, and slack for a reconnect.
const RESERVED_FDS: u64 = 32;

/// The most connections one worker holds open: `--max-connections`, or else the soft
/// descriptor limit `nofile` minus [`RESERVED_FDS`] minus the worker's PostgreSQL
/// connections (evloop 1; threads one per request thread plus 2 committers), at least 1.
pub fn connection_cap(config: &Config, nofile: u64) -> usize {
    if let Some(cap) = config.max_connections {
        return cap;
    }
    let database = match config.mode {
        Mode::Evloop => 1,
        Mode::Threads => config.threads as u64 + 2,
    };
    let free = nofile.saturating_sub(RESERVED_FDS + database).max(1);
    usize::try_from(free).unwrap_or(usize::MAX)
}

/// The soft descriptor limit of this process now (what a worker inherited).
pub fn descriptor_limit() -> io::Result<u64> {
    Ok(getrlimit(Resource::RLIMIT_NOFILE)?.0)
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (workers inherit it) and returns
/// the start-banner line saying what it is and the connection cap it gives a worker.
pub fn raise_descriptor_limit(config: &Config) -> String {
    let raised = getrlimit(Resource::RLIMIT_NOFILE).and_then(|(was, hard)| {
        if was < hard {
            setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
        }
        Ok((was, hard))
    });
    match raised {
        Ok((was, hard)) => format!(
            "descriptors: RLIMIT_NOFILE {hard} (the hard limit; soft was {was}), at most {} connections per worker",
            connection_cap(config, hard)
        ),
        Err(e) => format!("descriptors: cannot raise RLIMIT_NOFILE: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    fn loopback() -> SocketAddr {
        "127.0.0.1:0".parse().unwrap()
    }

    /// Port 0 is resolved once and every reuseport listener ends up on that port.
    #[test]
    fn port_zero_resolves_to_one_port_for_all_slots() {
        let listeners = bind_listeners(loopback(), 3, 16, AcceptMode::Reuseport).unwrap();
        assert_eq!(listeners.len(), 3);
        let port = listeners[0].local_addr().unwrap().port();
        assert_ne!(port, 0);
        assert!(listeners
            .iter()
            .all(|l| l.local_addr().unwrap().port() == port));
    }

    /// Shared mode binds a single listener whatever the worker count.
    #[test]
    fn shared_mode_binds_one_listener() {
        let listeners = bind_listeners(loopback(), 4, 16, AcceptMode::Shared).unwrap();
        assert_eq!(listeners.len(), 1);
    }

    /// Two reuseport listeners on one port: a connection reaches one of them, and a
    /// slot added later (bind_one) joins the same port.
    #[test]
    fn reuseport_listeners_share_a_port_and_accept() {
        let mut listeners = bind_listeners(loopback(), 2, 16, AcceptMode::Reuseport).unwrap();
        let addr = listeners[0].local_addr().unwrap();
        listeners.push(bind_one(addr, 16).unwrap());
        let mut client = TcpStream::connect(addr).unwrap();
        client.write_all(b"x").unwrap();
        let (mut server, _) = accept_any(&listeners);
        let mut byte = [0u8; 1];
        server.read_exact(&mut byte).unwrap();
        assert_eq!(&byte, b"x");
    }

    /// A shared listener refuses to share its port with a second bind.
    #[test]
    fn shared_listener_port_is_exclusive() {
        let first = bind_listeners(loopback(), 1, 16, AcceptMode::Shared).unwrap();
        let addr = first[0].local_addr().unwrap();
        assert!(bind_listeners(addr, 1, 16, AcceptMode::Shared).is_err());
    }

    /// Steering to positions 0 and 2 of a three-socket group: the socket at position 1
    /// gets no connection, the others do.
    #[test]
    fn steered_group_skips_excluded_socket() {
        let listeners = bind_listeners(loopback(), 3, 128, AcceptMode::Reuseport).unwrap();
        let addr = listeners[0].local_addr().unwrap();
        steer(&listeners[1], &[0, 2]).unwrap();
        let clients: Vec<_> = (0..60).map(|_| TcpStream::connect(addr).unwrap()).collect();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let accepted: Vec<usize> = listeners.iter().map(drain).collect();
        assert_eq!(accepted[1], 0, "accepted per socket: {accepted:?}");
        assert!(
            accepted[0] > 0 && accepted[2] > 0,
            "accepted per socket: {accepted:?}"
        );
        assert_eq!(accepted.iter().sum::<usize>(), clients.len());
    }

    /// Closing a socket moves the group's last socket into its place: after closing
    /// position 0 of three, position 0 is the socket that was bound last.
    #[test]
    fn closed_socket_is_replaced_by_last_in_group() {
        let mut listeners = bind_listeners(loopback(), 3, 128, AcceptMode::Reuseport).unwrap();
        let addr = listeners[0].local_addr().unwrap();
        drop(listeners.remove(0));
        steer(&listeners[0], &[0]).unwrap();
        let _clients: Vec<_> = (0..20).map(|_| TcpStream::connect(addr).unwrap()).collect();
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!((drain(&listeners[0]), drain(&listeners[1])), (0, 20));
    }

    /// Accepts until `WouldBlock`; returns how many connections there were.
    fn drain(listener: &TcpListener) -> usize {
        std::iter::from_fn(|| listener.accept().ok()).count()
    }

    /// Polls the non-blocking listeners until one of them accepts.
    fn accept_any(listeners: &[TcpListener]) -> (TcpStream, SocketAddr) {
        for _ in 0..200 {
            for listener in listeners {
                if let Ok((stream, peer)) = listener.accept() {
                    stream.set_nonblocking(false).unwrap();
                    return (stream, peer);
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        panic!("no listener accepted the connection");
    }

    /// A second reuseport group on a port that a first one serves is refused, naming
    /// the port; so is a shared listener there. Port 0 always binds.
    #[test]
    fn served_port_is_refused() {
        let first = bind_listeners(loopback(), 2, 16, AcceptMode::Reuseport).unwrap();
        let addr = first[0].local_addr().unwrap();
        let err = bind_listeners(addr, 2, 16, AcceptMode::Reuseport).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        assert!(
            err.to_string().contains(&format!("port {}", addr.port())),
            "{err}"
        );
        let err = bind_listeners(addr, 1, 16, AcceptMode::Shared).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        assert!(bind_listeners(loopback(), 2, 16, AcceptMode::Reuseport).is_ok());
    }

    fn config(args: &[&str]) -> Config {
        use clap::Parser;
        let argv = ["prefork"].iter().chain(args).copied();
        Config::from_cli(crate::config::Cli::try_parse_from(argv).unwrap()).unwrap()
    }

    /// The derived cap leaves the reserve and the database connections free; an
    /// explicit `--max-connections` wins; a tiny limit still allows one connection.
    #[test]
    fn connection_cap_from_descriptor_limit() {
        assert_eq!(connection_cap(&config(&["--mode", "evloop"]), 1024), 991);
        let threads = config(&["--mode", "threads", "--threads", "8"]);
        assert_eq!(connection_cap(&threads, 1024), 1024 - 32 - 10);
        assert_eq!(connection_cap(&threads, 20), 1);
        let explicit = config(&["--max-connections", "5000"]);
        assert_eq!(connection_cap(&explicit, 64), 5000);
    }
}
