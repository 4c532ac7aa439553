//! Request bytes: built once per run, appended to a connection's write buffer per
//! request with nothing but copies (no formatting, no allocation once the buffer has
//! grown to its working size).

use crate::cli::ConnectionMode;
use crate::config::{BodySpec, RequestSpec};
use crate::payload::{Payload, Rng};

/// A request ready to be stamped out.
#[derive(Clone, Debug)]
pub struct RequestTemplate {
    /// Request line and headers, without the final blank line; when the body is fixed
    /// or empty, the whole request.
    head: Vec<u8>,
    /// Random body source; `None` when `head` is the whole request.
    payload: Option<Payload>,
    /// HEAD requests get responses without a body whatever their headers say.
    is_head: bool,
}

impl RequestTemplate {
    /// Builds the template for `spec` sent to `authority` (the default `Host`).
    pub fn new(spec: &RequestSpec, authority: &str, mode: ConnectionMode) -> RequestTemplate {
        let mut head = format!("{} {} HTTP/1.1\r\n", spec.method, spec.path).into_bytes();
        let given = |name: &str| {
            spec.headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        let mut defaults = vec![("Host", authority), ("User-Agent", "loadgen")];
        if mode == ConnectionMode::Close {
            defaults.push(("Connection", "close"));
        }
        let content_type = match &spec.body {
            BodySpec::Random(encoding) => Some(encoding.content_type()),
            // Like `curl -d`: a fixed body is a form unless -H says otherwise.
            BodySpec::Fixed(_) => Some("application/x-www-form-urlencoded"),
            BodySpec::Empty => None,
        };
        defaults.extend(content_type.map(|ct| ("Content-Type", ct)));
        for (name, value) in defaults.into_iter().filter(|(n, _)| !given(n)) {
            push_header(&mut head, name, value);
        }
        for (name, value) in &spec.headers {
            push_header(&mut head, name, value);
        }
        let payload = match &spec.body {
            BodySpec::Empty => {
                head.extend_from_slice(b"\r\n");
                None
            }
            BodySpec::Fixed(body) => {
                push_header(&mut head, "Content-Length", &body.len().to_string());
                head.extend_from_slice(b"\r\n");
                head.extend_from_slice(body);
                None
            }
            BodySpec::Random(encoding) => Some(Payload::shipped(*encoding)),
        };
        RequestTemplate {
            head,
            payload,
            is_head: spec.method.eq_ignore_ascii_case("HEAD"),
        }
    }

    /// Uses `payload` for the body instead of the shipped data (tests).
    pub fn with_payload(mut self, payload: Payload) -> RequestTemplate {
        self.payload = Some(payload);
        self
    }

    /// Whether responses to this request have no body (HEAD).
    pub fn is_head(&self) -> bool {
        self.is_head
    }

    /// Appends one request to `out`; returns its length in bytes.
    pub fn append(&self, rng: &mut Rng, out: &mut Vec<u8>) -> usize {
        let start = out.len();
        out.extend_from_slice(&self.head);
        if let Some(payload) = &self.payload {
            let (title, description) = payload.pick(rng);
            out.extend_from_slice(b"Content-Length: ");
            push_decimal(out, payload.body_len(title, description));
            out.extend_from_slice(b"\r\n\r\n");
            payload.write_body(title, description, out);
        }
        out.len() - start
    }
}

fn push_header(out: &mut Vec<u8>, name: &str, value: &str) {
    for piece in [name.as_bytes(), b": ", value.as_bytes(), b"\r\n"] {
        out.extend_from_slice(piece);
    }
}

/// Appends `n` in decimal without going through `fmt` (this runs per request).
fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Encoding;

    fn spec(method: &str, body: BodySpec, headers: &[(&str, &str)]) -> RequestSpec {
        RequestSpec {
            method: method.into(),
            path: "/p?q=1".into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body,
        }
    }

    fn one(t: &RequestTemplate) -> String {
        let mut out = Vec::new();
        let n = t.append(&mut Rng::new(1, 0), &mut out);
        assert_eq!(n, out.len());
        String::from_utf8(out).unwrap()
    }

    /// A keep-alive GET is the request line, Host and User-Agent only.
    #[test]
    fn get_keepalive() {
        let t = RequestTemplate::new(
            &spec("GET", BodySpec::Empty, &[]),
            "h:1",
            ConnectionMode::KeepAlive,
        );
        assert_eq!(
            one(&t),
            "GET /p?q=1 HTTP/1.1\r\nHost: h:1\r\nUser-Agent: loadgen\r\n\r\n"
        );
        assert!(!t.is_head());
    }

    /// Connection-per-request asks the server to close.
    #[test]
    fn close_mode_header() {
        let t = RequestTemplate::new(
            &spec("HEAD", BodySpec::Empty, &[]),
            "h",
            ConnectionMode::Close,
        );
        assert_eq!(
            one(&t),
            "HEAD /p?q=1 HTTP/1.1\r\nHost: h\r\nUser-Agent: loadgen\r\nConnection: close\r\n\r\n"
        );
        assert!(t.is_head());
    }

    /// -H replaces a default of the same name (any case) and adds others after them.
    #[test]
    fn headers_override_defaults() {
        let s = spec(
            "GET",
            BodySpec::Empty,
            &[("host", "x"), ("X-Y", "z"), ("Connection", "keep-alive")],
        );
        let t = RequestTemplate::new(&s, "h", ConnectionMode::Close);
        assert_eq!(
            one(&t),
            "GET /p?q=1 HTTP/1.1\r\nUser-Agent: loadgen\r\nhost: x\r\nX-Y: z\r\nConnection: keep-alive\r\n\r\n"
        );
    }

    /// A fixed body is framed by Content-Length and defaults to a form content type.
    #[test]
    fn fixed_body() {
        let t = RequestTemplate::new(
            &spec("PUT", BodySpec::Fixed(b"a=1".to_vec()), &[]),
            "h",
            ConnectionMode::KeepAlive,
        );
        assert_eq!(
            one(&t),
            "PUT /p?q=1 HTTP/1.1\r\nHost: h\r\nUser-Agent: loadgen\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\na=1"
        );
    }

    /// The random payload gets its own Content-Length per request.
    #[test]
    fn random_form_body() {
        let s = spec("POST", BodySpec::Random(Encoding::Form), &[]);
        let t = RequestTemplate::new(&s, "h", ConnectionMode::Close).with_payload(Payload::new(
            Encoding::Form,
            vec!["T é"],
            vec!["d&1"],
        ));
        let body = "title=T+%C3%A9&description=d%261";
        assert_eq!(
            one(&t),
            format!(
                "POST /p?q=1 HTTP/1.1\r\nHost: h\r\nUser-Agent: loadgen\r\nConnection: close\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
        );
    }

    /// Requests from the shipped data parse as HTTP and carry exactly their body.
    #[test]
    fn shipped_requests_are_well_framed() {
        let s = spec("POST", BodySpec::Random(Encoding::Json), &[]);
        let t = RequestTemplate::new(&s, "h", ConnectionMode::KeepAlive);
        let mut rng = Rng::new(9, 0);
        for _ in 0..200 {
            let mut out = Vec::new();
            t.append(&mut rng, &mut out);
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let mut req = httparse::Request::new(&mut headers);
            let httparse::Status::Complete(n) = req.parse(&out).unwrap() else {
                panic!("incomplete request")
            };
            let len = req
                .headers
                .iter()
                .find(|h| h.name == "Content-Length")
                .unwrap()
                .value;
            let len: usize = std::str::from_utf8(len).unwrap().parse().unwrap();
            assert_eq!(out.len() - n, len);
            serde_json::from_slice::<serde_json::Value>(&out[n..]).unwrap();
        }
    }

    /// Decimal digits without fmt.
    #[test]
    fn decimal() {
        for n in [0, 7, 10, 599, 123_456_789] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
    }
}
