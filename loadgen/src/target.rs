//! The target URL: `http://HOST[:PORT]/PATH`, resolved once before the run.

use std::net::{SocketAddr, ToSocketAddrs};

/// Why a URL was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlError {
    /// Not `http://…` (https and other schemes are not supported).
    #[error("only http:// URLs are supported, got `{0}`")]
    Scheme(String),
    /// Empty host, bad port, spaces…
    #[error("`{0}` is not a valid http://HOST[:PORT]/PATH URL")]
    Syntax(String),
    /// The host does not resolve.
    #[error("cannot resolve `{host}`: {reason}")]
    Resolve {
        /// The host as written.
        host: String,
        /// What the resolver said.
        reason: String,
    },
}

/// A parsed, resolved target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The URL as given (for the report).
    pub url: String,
    /// `HOST[:PORT]` as written: the default `Host` header.
    pub authority: String,
    /// Path and query, starting with `/`.
    pub path: String,
    /// The first address the host resolves to.
    pub addr: SocketAddr,
}

/// The parts of a URL before resolving.
#[derive(Debug, PartialEq, Eq)]
struct Parts<'a> {
    authority: &'a str,
    host: &'a str,
    port: u16,
    path: &'a str,
}

impl Target {
    /// Parses and resolves `url`.
    pub fn parse(url: &str) -> Result<Target, UrlError> {
        let parts = split(url)?;
        let addr = (parts.host, parts.port)
            .to_socket_addrs()
            .map_err(|e| resolve_error(parts.host, e.to_string()))?
            .next()
            .ok_or_else(|| resolve_error(parts.host, "no address".into()))?;
        Ok(Target {
            url: url.to_string(),
            authority: parts.authority.to_string(),
            // "?a=1" with no path is "/?a=1".
            path: match parts.path {
                p if p.starts_with('/') => p.to_string(),
                p => format!("/{p}"),
            },
            addr,
        })
    }
}

fn resolve_error(host: &str, reason: String) -> UrlError {
    UrlError::Resolve {
        host: host.to_string(),
        reason,
    }
}

fn split(url: &str) -> Result<Parts<'_>, UrlError> {
    let syntax = || UrlError::Syntax(url.to_string());
    let rest = match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some(_) => return Err(UrlError::Scheme(url.to_string())),
        None => return Err(syntax()),
    };
    let cut = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(cut);
    if authority.is_empty() || authority.contains('@') || url.contains(char::is_whitespace) {
        return Err(syntax());
    }
    let (host, port) = host_port(authority).ok_or_else(syntax)?;
    Ok(Parts {
        authority,
        host,
        port,
        path,
    })
}

/// Splits `host[:port]` or `[v6][:port]`; port 80 when absent.
fn host_port(authority: &str) -> Option<(&str, u16)> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => p.parse().ok().filter(|p| *p != 0)?,
        None => 80,
    };
    (!host.is_empty()).then_some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Host, port and path of an ordinary URL.
    #[test]
    fn full_url() {
        let t = Target::parse("http://127.0.0.1:8000/api/tasks/?x=1").unwrap();
        assert_eq!(t.authority, "127.0.0.1:8000");
        assert_eq!(t.path, "/api/tasks/?x=1");
        assert_eq!(t.addr, "127.0.0.1:8000".parse().unwrap());
    }

    /// No path means `/`; no port means 80.
    #[test]
    fn defaults() {
        let t = Target::parse("http://127.0.0.1").unwrap();
        assert_eq!(t.path, "/");
        assert_eq!(t.addr.port(), 80);
        assert_eq!(t.authority, "127.0.0.1");
    }

    /// A query with no path gets `/` in front.
    #[test]
    fn query_only() {
        let t = Target::parse("http://127.0.0.1:9?limit=5").unwrap();
        assert_eq!(t.path, "/?limit=5");
    }

    /// Bracketed IPv6 literals.
    #[test]
    fn ipv6() {
        let t = Target::parse("http://[::1]:8080/health").unwrap();
        assert_eq!(t.addr, "[::1]:8080".parse().unwrap());
        assert_eq!(t.authority, "[::1]:8080");
    }

    /// https, missing scheme, bad ports and empty hosts are refused.
    #[test]
    fn refused() {
        assert!(matches!(
            Target::parse("https://x/"),
            Err(UrlError::Scheme(_))
        ));
        for bad in [
            "127.0.0.1:80/",
            "http://",
            "http://:80/",
            "http://h:0/",
            "http://h:99999/",
            "http://h:x/",
            "http://u@h/",
            "http://h/a b",
        ] {
            assert!(
                matches!(Target::parse(bad), Err(UrlError::Syntax(_))),
                "{bad}"
            );
        }
    }
}
