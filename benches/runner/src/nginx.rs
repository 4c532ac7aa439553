//! nginx in front of a backend for the "through nginx" rounds: the top-level `nginx.conf`
//! with only its listen port and upstream address changed, run in the foreground
//! (`daemon off`) from a prefix under the results directory.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::net;
use crate::server::{Server, ServerError};
use crate::system::{find_on_path, Launch};

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
    #[error("nginx.conf: expected exactly one `{0}` to replace")]
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

/// The reference configuration listening on `listen` and proxying to `backend`.
pub fn config_text(reference: &str, listen: u16, backend: u16) -> Result<String, NginxError> {
    let mut text = reference.to_string();
    for (from, to) in [
        (UPSTREAM, format!("server 127.0.0.1:{backend};")),
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
}

/// Starts nginx from `prefix` in front of `127.0.0.1:backend`, its output in `log`;
/// ready when `/health` answers through it.
pub fn start(
    root: &Path,
    prefix: &Path,
    log: &Path,
    backend: u16,
    interrupted: &AtomicBool,
) -> Result<Nginx, NginxError> {
    let program = find_on_path("nginx")
        .or_else(|| Some(PathBuf::from("/usr/sbin/nginx")).filter(|p| p.exists()))
        .ok_or(NginxError::NotFound)?;
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
    let text = config_text(&reference, port, backend)?;
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
    server.wait_healthy(port, Duration::from_secs(15), interrupted)?;
    Ok(Nginx { server, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real nginx.conf has one upstream and one listen line to replace.
    #[test]
    fn rewrites_reference() {
        let reference = std::fs::read_to_string(crate::cli::workspace_root().join("nginx.conf"))
            .expect("top-level nginx.conf");
        let text = config_text(&reference, 21001, 21002).unwrap();
        assert!(text.contains("listen 127.0.0.1:21001 "));
        assert!(text.contains("server 127.0.0.1:21002;"));
        assert!(text.contains("keepalive 128;") && text.contains("daemon off;"));
        assert!(!text.contains("listen 127.0.0.1:8080"));
    }

    /// A configuration without the expected lines is refused, not half-rewritten.
    #[test]
    fn refuses_other_shapes() {
        let err = config_text("events {}\n", 1, 2).unwrap_err();
        assert!(matches!(err, NginxError::Shape(UPSTREAM)));
    }
}
