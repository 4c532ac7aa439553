//! The request-target's four forms (RFC 9112 §3.2) and `Host` values (§3.2, RFC 9110 §7.2).
//!
//! An origin server routes on the path and query. `origin-form` (`/path?query`) is what
//! clients send; `absolute-form` (`http://host/path?query`) is what they send to proxies,
//! and a server MUST accept it too (§3.2.2): its path and query route exactly like the
//! origin-form ones, and its authority is the request's host whatever `Host` says (the
//! server has one origin, so that authority is checked, not used). `asterisk-form` (`*`)
//! is only for `OPTIONS`; `authority-form` only for `CONNECT`, which the parser refuses
//! before the target is looked at. Anything else is a malformed request line.
//!
//! httparse already refused controls, spaces and DEL in the target; it lets UTF-8
//! through, which a URI cannot hold unencoded (RFC 3986 §2), so that is refused here.

use super::error::ParseError;

/// The part of a request-target that routes a request, borrowed from the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Target<'a> {
    /// The path (`/` for an absolute-form target without one; `*` for asterisk-form).
    pub(crate) path: &'a str,
    /// The query without its `?` (empty if none).
    pub(crate) query: &'a str,
}

/// Splits the request-target of a request with `method` into path and query.
pub(crate) fn parse<'a>(method: &str, target: &'a str) -> Result<Target<'a>, ParseError> {
    if !target.is_ascii() {
        return Err(ParseError::Malformed("non-ASCII byte in request target"));
    }
    // A fragment is never sent (RFC 9112 §3.2.1): `#` cannot appear in any form.
    if target.contains('#') {
        return Err(ParseError::Malformed("fragment in request target"));
    }
    if target.starts_with('/') {
        return Ok(split_query(target));
    }
    if target == "*" {
        return if method == "OPTIONS" {
            Ok(split_query(target))
        } else {
            Err(ParseError::Malformed(
                "asterisk-form target is only for OPTIONS",
            ))
        };
    }
    absolute(target)
}

/// `http://authority[/path][?query]` (or `https`, any case): the path and query; an
/// empty path is `/` (RFC 9112 §3.2.1).
fn absolute(target: &str) -> Result<Target<'_>, ParseError> {
    let rest = strip_scheme(target).ok_or(ParseError::Malformed("invalid request target"))?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(end);
    // An empty host is invalid in an http(s) URI (RFC 9110 §4.2.1), userinfo is refused
    // (§4.2.4), and so is anything that is not host[:port].
    if !valid_authority(authority.as_bytes()) || host_of(authority).is_empty() {
        return Err(ParseError::Malformed("invalid authority in request target"));
    }
    if path_and_query.starts_with('/') {
        Ok(split_query(path_and_query))
    } else {
        let query = path_and_query.strip_prefix('?').unwrap_or_default();
        Ok(Target { path: "/", query })
    }
}

/// The target after `http://` or `https://` (scheme case-insensitive, RFC 9110 §4.2.3).
fn strip_scheme(target: &str) -> Option<&str> {
    let (scheme, rest) = target.split_once("://")?;
    let known = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    known.then_some(rest)
}

fn split_query(target: &str) -> Target<'_> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Target { path, query }
}

/// The host part of a syntactically valid authority (without the port).
fn host_of(authority: &str) -> &str {
    match authority.rfind(']') {
        Some(close) => &authority[..=close],
        None => authority.split(':').next().unwrap_or_default(),
    }
}

/// Whether `value` is `uri-host [ ":" port ]` (RFC 9110 §4.2.3, RFC 3986 §3.2.2): a
/// reg-name or IPv4 address, or an IP literal in brackets, and an optional decimal port.
/// An empty value is valid: it is the `Host` of a URI without an authority.
pub(crate) fn valid_authority(value: &[u8]) -> bool {
    let (host, port) = match value.first() {
        Some(b'[') => match value.iter().position(|&b| b == b']') {
            Some(close) => {
                let literal = &value[1..close];
                let ok = !literal.is_empty() && literal.iter().all(|&b| is_literal_byte(b));
                if !ok {
                    return false;
                }
                (&[][..], &value[close + 1..])
            }
            None => return false,
        },
        _ => {
            let colon = value.iter().position(|&b| b == b':').unwrap_or(value.len());
            (&value[..colon], &value[colon..])
        }
    };
    let port_ok = match port.split_first() {
        None => true,
        Some((b':', digits)) => digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    };
    port_ok && host.iter().all(|&b| is_reg_name_byte(b))
}

/// unreserved / sub-delims / `%` (of pct-encoded): the bytes of a reg-name.
fn is_reg_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(&b)
}

/// The bytes of an IPv6 address or IPvFuture literal between brackets.
fn is_literal_byte(b: u8) -> bool {
    is_reg_name_byte(b) || b == b':'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target<'a>(method: &str, raw: &'a str) -> Result<(&'a str, &'a str), ParseError> {
        parse(method, raw).map(|t| (t.path, t.query))
    }

    /// Origin-form and absolute-form give the same path and query.
    #[test]
    fn origin_and_absolute_forms() {
        for raw in [
            "/api/tasks/?limit=5",
            "http://example.com/api/tasks/?limit=5",
            "HTTPS://example.com:8443/api/tasks/?limit=5",
            "http://[::1]:80/api/tasks/?limit=5",
            "http://127.0.0.1/api/tasks/?limit=5",
        ] {
            assert_eq!(target("GET", raw), Ok(("/api/tasks/", "limit=5")), "{raw}");
        }
        assert_eq!(target("GET", "http://h"), Ok(("/", "")));
        assert_eq!(target("GET", "http://h?x=1"), Ok(("/", "x=1")));
        assert_eq!(target("GET", "http://h:/"), Ok(("/", "")));
    }

    /// `*` only with OPTIONS; fragments, other schemes, empty hosts and userinfo are 400.
    #[test]
    fn invalid_targets() {
        assert_eq!(target("OPTIONS", "*"), Ok(("*", "")));
        for (method, raw) in [
            ("GET", "*"),
            ("GET", "/a#frag"),
            ("GET", "/caf\u{e9}"),
            ("GET", "http://h/a#frag"),
            ("GET", "api/tasks"),
            ("GET", "ftp://h/"),
            ("GET", "http:/h/"),
            ("GET", "http:///a"),
            ("GET", "http://:80/a"),
            ("GET", "http://user@h/a"),
            ("GET", "http://h:8o/a"),
            ("GET", "http://[::1/a"),
            ("GET", "example.com:443"),
        ] {
            assert!(
                matches!(target(method, raw), Err(ParseError::Malformed(_))),
                "{method} {raw}"
            );
        }
    }

    /// Host values: names, addresses, literals and ports; nothing with a path or spaces.
    #[test]
    fn host_values() {
        for ok in [
            "",
            "h",
            "example.com:8000",
            "127.0.0.1",
            "[::1]",
            "[::1]:1",
            "h:",
        ] {
            assert!(valid_authority(ok.as_bytes()), "{ok:?}");
        }
        for bad in [
            "h/x", "a b", "u@h", "h:x", "[::1", "[]", "[::1]x", "h:1:2", "h?",
        ] {
            assert!(!valid_authority(bad.as_bytes()), "{bad:?}");
        }
    }
}
