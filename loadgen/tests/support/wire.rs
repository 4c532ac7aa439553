//! The request side of the fake server: a strict HTTP/1.1 request parser (std only), so
//! anything loadgen sends that is not well-formed HTTP/1.1 is caught, not tolerated.

/// One request as the server parsed it.
#[derive(Clone, Debug)]
pub struct Request {
    /// The method.
    pub method: String,
    /// The request target (path and query).
    pub target: String,
    /// Header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body (by `Content-Length`; loadgen does not chunk requests).
    pub body: Vec<u8>,
    /// Which accepted connection it came on (0-based, in accept order).
    pub conn: usize,
}

impl Request {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut it = self.headers.iter();
        it.find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the client asked for `Connection: close`.
    pub fn wants_close(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// Removes every complete request from the front of `buf`.
pub fn take_requests(buf: &mut Vec<u8>, conn: usize) -> Result<Vec<Request>, String> {
    let mut out = Vec::new();
    while let Some((request, used)) = parse_request(buf, conn)? {
        buf.drain(..used);
        out.push(request);
    }
    Ok(out)
}

/// Parses one request at the start of `buf`: `Ok(None)` while incomplete.
fn parse_request(buf: &[u8], conn: usize) -> Result<Option<(Request, usize)>, String> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..end]).map_err(|e| format!("head not UTF-8: {e}"))?;
    let mut lines = head.split("\r\n");
    let line = lines.next().unwrap_or_default();
    let parts: Vec<&str> = line.split(' ').collect();
    let [method, target, "HTTP/1.1"] = parts[..] else {
        return Err(format!("bad request line {line:?}"));
    };
    let mut headers = Vec::new();
    for field in lines {
        let (name, value) = field
            .split_once(':')
            .ok_or_else(|| format!("bad header line {field:?}"))?;
        headers.push((name.to_string(), value.trim().to_string()));
    }
    let mut request = Request {
        method: method.to_string(),
        target: target.to_string(),
        headers,
        body: Vec::new(),
        conn,
    };
    if request.header("transfer-encoding").is_some() {
        return Err(format!("unexpected Transfer-Encoding in {head:?}"));
    }
    let length = match request.header("content-length") {
        None => 0,
        Some(v) => v.parse().map_err(|_| format!("bad Content-Length {v:?}"))?,
    };
    let start = end + 4;
    if buf.len() < start + length {
        return Ok(None);
    }
    request.body = buf[start..start + length].to_vec();
    Ok(Some((request, start + length)))
}
