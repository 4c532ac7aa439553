//! The worker's own endpoints, answered before the service sees a request:
//! `GET /health` (the worker serves; the service adds its dependencies' state),
//! `GET /stats` (every live worker's counters, from the scoreboard, as JSON) and
//! `GET /metrics` (the same cells in Prometheus' text format).

use crate::http::request::{Method, Request};
use crate::http::response::Response;
use crate::scoreboard::Board;
use crate::service::HealthMember;

use super::{metrics, stats};

/// `Allow` for the built-in paths.
const ALLOW: &str = "GET, HEAD";

/// The answer to a built-in path, or `None` for the service's requests. `health` is
/// asked only for `GET`/`HEAD /health`.
pub(crate) fn answer(
    req: &Request,
    board: &Board,
    health: impl FnOnce() -> Vec<HealthMember>,
) -> Option<Response> {
    let read = matches!(req.method, Method::Get | Method::Head);
    let resp = match req.path.as_str() {
        "/health" if read => health_response(&health()),
        "/stats" if read => stats::response(board),
        "/metrics" if read => metrics::response(board),
        "/health" | "/stats" | "/metrics" => {
            Response::error(405, "method not allowed").with_header("Allow", ALLOW)
        }
        _ => return None,
    };
    Some(resp)
}

/// 200 `{"status":"ok", …members}`: the worker serves (a load balancer reads the body,
/// not the status, to learn about the service's dependencies).
fn health_response(members: &[HealthMember]) -> Response {
    let mut body = br#"{"status":"ok""#.to_vec();
    for (name, value) in members {
        body.push(b',');
        // Names and values are the service's constants; serde escapes them all the same.
        body.extend_from_slice(&serde_json::to_vec(name).expect("a str serializes"));
        body.push(b':');
        body.extend_from_slice(&serde_json::to_vec(value).expect("a str serializes"));
    }
    body.push(b'}');
    Response::json(200, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: Method, path: &str) -> Request {
        Request {
            method,
            path: path.into(),
            query: String::new(),
            content_type: None,
            keep_alive: true,
            body: Vec::new(),
        }
    }

    fn board() -> Board {
        crate::scoreboard::Scoreboard::new(2).unwrap().board()
    }

    /// GET and HEAD /health: 200 with the service's members; without any, just the status.
    #[test]
    fn health_carries_the_service_members() {
        for m in [Method::Get, Method::Head] {
            let resp = answer(&req(m, "/health"), &board(), || vec![("database", "up")]).unwrap();
            assert_eq!(resp.status, 200);
            assert_eq!(resp.body, br#"{"status":"ok","database":"up"}"#);
        }
        let bare = answer(&req(Method::Get, "/health"), &board(), Vec::new).unwrap();
        assert_eq!(bare.body, br#"{"status":"ok"}"#);
    }

    /// Other methods on the built-in paths are 405 with `Allow`; other paths (even
    /// `/health/`) belong to the service.
    #[test]
    fn other_methods_and_paths() {
        for path in ["/health", "/stats", "/metrics"] {
            let resp = answer(&req(Method::Post, path), &board(), Vec::new).unwrap();
            assert_eq!(resp.status, 405, "{path}");
            assert!(resp
                .headers
                .iter()
                .any(|(n, v)| *n == "Allow" && v.as_str() == ALLOW));
        }
        for path in ["/health/", "/stats/", "/metrics/", "/", "/api/tasks"] {
            assert!(
                answer(&req(Method::Get, path), &board(), Vec::new).is_none(),
                "{path}"
            );
        }
    }

    /// `/stats` is answered from the board it is given.
    #[test]
    fn stats_from_the_board() {
        let resp = answer(&req(Method::Get, "/stats"), &board(), Vec::new).unwrap();
        assert_eq!(resp.status, 200);
        let json: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        assert_eq!(json["total"]["workers"], 0);
    }

    /// `/metrics` is Prometheus text, answered from the board it is given.
    #[test]
    fn metrics_in_prometheus_text() {
        use crate::http::response::Media;
        for m in [Method::Get, Method::Head] {
            let resp = answer(&req(m, "/metrics"), &board(), Vec::new).unwrap();
            assert_eq!(resp.status, 200);
            assert_eq!(resp.media, Media::PrometheusText);
            let text = String::from_utf8(resp.body).unwrap();
            assert!(text.contains("# TYPE prefork_http_responses_total counter\n"));
        }
    }
}
