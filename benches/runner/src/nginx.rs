//! nginx from the top-level `nginx.conf` with only its listen port and upstream address
//! changed, run in the foreground (`daemon off`) from a prefix under the results
//! directory: in front of a backend for the "through nginx" rounds, or alone, answering
//! its own `return 200` at [`RETURN_200`] — the machine's HTTP ceiling.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::launch::{find_nginx, Launch};
use crate::net;
use crate::server::{Server, ServerError};

/// The reference file's location answered by nginx itself (`return 200 "ok\n"`).
pub const RETURN_200: &str = "/nginx-ok";

/// The reference file's upstream address, replaced by the backend's.
const UPSTREAM: &str = "server 127.0.0.1:8000;";
/// The reference file's listen address, replaced by a free port.
const LISTEN: &str = "listen 127.0.0.1:8080";

/// Why nginx could not be brought up.
#[derive(Debug, thiserror::Error)]
pub enum NginxError {
    /// No nginx binary.
    #[error("nginx not found on PATH or in /usr/sbin (bin/setup installs it)")]
    NotFound,
    /// The reference configuration changed shape.
    #[error("nginx.conf: expected exactly one `{0}` (edit nginx.conf back to that shape)")]
    Shape(&'static str),
    /// Reading the reference or writing the copy.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// No free port.
    #[error("no port for nginx: {0}")]
    Port(std::io::Error),
    /// The process did not come up.
    #[error(transparent)]
    Server(#[from] ServerError),
}

/// Where nginx forwards requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Upstream {
    /// `127.0.0.1:port`.
    Tcp(u16),
    /// A Unix socket at this path.
    Unix(PathBuf),
}

/// The reference configuration listening on `listen` and proxying to `backend`.
pub fn config_text(reference: &str, listen: u16, backend: &Upstream) -> Result<String, NginxError> {
    let server = match backend {
        Upstream::Tcp(port) => format!("server 127.0.0.1:{port};"),
        Upstream::Unix(path) => format!("server unix:{};", path.display()),
    };
    let mut text = reference.to_string();
    for (from, to) in [
        (UPSTREAM, server),
        (LISTEN, format!("listen 127.0.0.1:{listen}")),
    ] {
        if text.matches(from).count() != 1 {
            return Err(NginxError::Shape(from));
        }
        text = text.replace(from, &to);
    }
    Ok(text)
}

/// A running nginx; stopped when dropped.
pub struct Nginx {
    /// Its process (master and workers in one group).
    pub server: Server,
    /// The port it listens on.
    pub port: u16,
    /// Its command line.
    pub command: String,
}

/// What nginx serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// A proxy to the backend, ready when its `/health` answers through nginx.
    Proxy(Upstream),
    /// Its own `return 200` only, ready when [`RETURN_200`] answers; the upstream points
    /// at `unused`, a port nothing listens on, and is never asked.
    Alone {
        /// A free port for the unused upstream line.
        unused: u16,
    },
}

/// Starts nginx from `prefix` in its `role`, its output in `log`; returns once it is
/// ready.
pub fn start(
    root: &Path,
    prefix: &Path,
    log: &Path,
    role: Role,
    interrupted: &AtomicBool,
) -> Result<Nginx, NginxError> {
    let program = find_nginx().ok_or(NginxError::NotFound)?;
    let (backend, ready) = match role {
        Role::Proxy(upstream) => (upstream, "/health"),
        Role::Alone { unused } => (Upstream::Tcp(unused), RETURN_200),
    };
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| NginxError::Io { path, source }
    };
    let reference_path = root.join("nginx.conf");
    let reference = std::fs::read_to_string(&reference_path).map_err(io(&reference_path))?;
    let port = net::free_port().map_err(NginxError::Port)?;
    // nginx opens <prefix>/logs/error.log before it reads the configuration.
    let logs = prefix.join("logs");
    std::fs::create_dir_all(&logs).map_err(io(&logs))?;
    let conf = prefix.join("nginx.conf");
    let text = config_text(&reference, port, &backend)?;
    std::fs::write(&conf, text).map_err(io(&conf))?;
    let launch = Launch {
        program,
        args: vec![
            "-p".into(),
            prefix.display().to_string(),
            "-c".into(),
            conf.display().to_string(),
            "-e".into(),
            "stderr".into(),
        ],
        env: vec![],
        unset: vec![],
        cwd: prefix.to_path_buf(),
    };
    let mut server = Server::start("nginx", &launch, log)?;
    server.wait_ready(port, ready, Duration::from_secs(15), interrupted)?;
    Ok(Nginx {
        server,
        port,
        command: launch.display(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real nginx.conf has one upstream and one listen line to replace.
    #[test]
    fn rewrites_reference() {
        let reference = std::fs::read_to_string(crate::cli::workspace_root().join("nginx.conf"))
            .expect("top-level nginx.conf");
        let text = config_text(&reference, 21001, &Upstream::Tcp(21002)).unwrap();
        assert!(text.contains("listen 127.0.0.1:21001 "));
        assert!(text.contains("server 127.0.0.1:21002;"));
        let unix = Upstream::Unix(PathBuf::from("/tmp/p.sock"));
        let text = config_text(&reference, 21001, &unix).unwrap();
        assert!(text.contains("    server unix:/tmp/p.sock;"), "{text}");
        assert!(text.contains("keepalive 128;") && text.contains("daemon off;"));
        assert!(!text.contains("listen 127.0.0.1:8080"));
        assert!(text.contains(&format!(
            "location = {RETURN_200} {{\n            return 200"
        )));
    }

    /// A configuration without the expected lines is refused, not half-rewritten.
    #[test]
    fn refuses_other_shapes() {
        let err = config_text("events {}\n", 1, &Upstream::Tcp(2)).unwrap_err();
        assert!(matches!(err, NginxError::Shape(UPSTREAM)));
    }

    /// nginx alone comes up ready on its `return 200` location, answers it with no
    /// upstream, and is gone once stopped.
    #[test]
    fn alone_answers_return_200() {
        let prefix =
            std::env::temp_dir().join(format!("prefork-bench-nginx-{}", std::process::id()));
        let log = prefix.join("nginx-test.log");
        std::fs::create_dir_all(&prefix).unwrap();
        let unused = net::free_port().unwrap();
        let root = crate::cli::workspace_root();
        let mut nginx = start(
            &root,
            &prefix,
            &log,
            Role::Alone { unused },
            &AtomicBool::new(false),
        )
        .unwrap_or_else(|e| panic!("nginx (bin/setup installs it): {e}"));
        assert!(nginx.command.contains(" -p "), "{}", nginx.command);
        assert_eq!(
            net::get(nginx.port, RETURN_200).unwrap(),
            (200, "ok\n".to_string())
        );
        let tree = crate::procs::tree(nginx.server.pid());
        assert!(tree.len() >= 2, "a master and its workers: {tree:?}");
        nginx.server.stop();
        for p in tree {
            let left = crate::procs::stat(p.pid).filter(|s| s.state != 'Z');
            assert!(left.is_none(), "nginx process {} still running", p.pid);
        }
        let _ = std::fs::remove_dir_all(&prefix);
    }
}
