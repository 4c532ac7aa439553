//! Incremental HTTP/1.1 response parser over `&[u8]` (httparse for the head).
//!
//! The caller keeps every byte received since the start of the current response in
//! one buffer and calls [`ResponseParser::parse`] after each read: `Ok(None)` means
//! "need more bytes" (incomplete is not an error), `Ok(Some(r))` means a whole
//! response of `r.len` bytes is at the front of the buffer. The parser remembers how
//! far it got, so a body arriving in many reads is scanned once, not once per read.

use crate::framing::{Body, Framing};
pub use crate::parse_error::{ParseError, MAX_HEAD};

/// Most headers in one response.
const MAX_HEADERS: usize = 100;
/// Longest chunk-size or trailer line.
const MAX_LINE: usize = 4096;

/// A complete response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response {
    /// Final status code (1xx interim responses are skipped).
    pub status: u16,
    /// The connection cannot carry another request (`Connection: close`, HTTP/1.0
    /// without keep-alive, or a body delimited by the close).
    pub close: bool,
    /// Bytes of the buffer this response used, interim responses included.
    pub len: usize,
}

/// What the end of the stream means for the response in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eof {
    /// Nothing of a response had arrived: a clean close between responses.
    Idle,
    /// The close ended a close-delimited body: the response is complete.
    Complete(Response),
    /// The close cut a response short (the `closed` error kind).
    Truncated,
}

/// What one parsing step achieved.
enum Step {
    /// The response is complete.
    Done,
    /// Bytes are missing.
    More,
    /// The state changed (head parsed, interim response skipped): go on.
    Again,
}

/// Where the parser is within one response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Waiting for (the rest of) a status line and headers.
    Head,
    /// Body of known length ending at this buffer offset.
    UntilOffset(usize),
    /// Chunked body.
    Chunked(Chunk),
    /// Body runs to the end of the connection.
    UntilClose,
}

/// Position within a chunked body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    /// Expecting a `hex-size[;ext]` line.
    Size,
    /// This many data bytes still to come.
    Data(u64),
    /// Expecting the CRLF after chunk data.
    DataEnd,
    /// After the last chunk: trailer lines until an empty one.
    Trailer,
}

/// One connection's response parser; reused for every response on it.
#[derive(Clone, Debug)]
pub struct ResponseParser {
    head_request: bool,
    state: State,
    /// Bytes of the buffer already consumed by this response.
    pos: usize,
    status: u16,
    close: bool,
}

impl ResponseParser {
    /// A parser for responses to `HEAD` (`head_request`, never a body) or other requests.
    pub fn new(head_request: bool) -> ResponseParser {
        ResponseParser {
            head_request,
            state: State::Head,
            pos: 0,
            status: 0,
            close: false,
        }
    }

    /// Forgets the response in progress (its connection is gone).
    pub fn reset(&mut self) {
        self.state = State::Head;
        self.pos = 0;
    }

    /// Parses `buf` (all bytes since the current response began); `Ok(None)`: need more.
    /// After `Ok(Some(r))` the parser is ready for the response at `buf[r.len..]`.
    pub fn parse(&mut self, buf: &[u8]) -> Result<Option<Response>, ParseError> {
        loop {
            let step = match self.state {
                State::Head => self.head(buf)?,
                State::UntilOffset(end) if buf.len() >= end => Step::Done,
                State::UntilOffset(_) | State::UntilClose => Step::More,
                State::Chunked(chunk) => self.chunk(chunk, buf)?,
            };
            match step {
                Step::Done => return Ok(Some(self.finish())),
                Step::More => return Ok(None),
                Step::Again => {}
            }
        }
    }

    /// The stream ended after `buf` arrived.
    pub fn eof(&mut self, buf: &[u8]) -> Eof {
        let result = match self.state {
            State::Head if self.pos == 0 && buf.is_empty() => Eof::Idle,
            State::UntilClose => {
                self.pos = buf.len();
                Eof::Complete(self.finish())
            }
            _ => Eof::Truncated,
        };
        self.reset();
        result
    }

    fn finish(&mut self) -> Response {
        let end = match self.state {
            State::UntilOffset(end) => end,
            _ => self.pos,
        };
        let response = Response {
            status: self.status,
            close: self.close || self.state == State::UntilClose,
            len: end,
        };
        self.reset();
        response
    }

    /// Parses a head at `pos` and sets up the body's framing.
    fn head(&mut self, buf: &[u8]) -> Result<Step, ParseError> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let head_len = match response.parse(&buf[self.pos..])? {
            // Refused even when it arrived whole: the answer may not depend on the reads.
            httparse::Status::Complete(n) if n > MAX_HEAD => return Err(ParseError::HeadTooLarge),
            httparse::Status::Complete(n) => n,
            httparse::Status::Partial if buf.len() - self.pos > MAX_HEAD => {
                return Err(ParseError::HeadTooLarge)
            }
            httparse::Status::Partial => return Ok(Step::More),
        };
        self.pos += head_len;
        self.status = response.code.unwrap_or(0);
        let framing = Framing::of(&response)?;
        self.close = framing.close;
        if (100..200).contains(&self.status) && self.status != 101 {
            // Interim (100 Continue…): the real response follows; stay in Head.
            return Ok(Step::Again);
        }
        if self.head_request || matches!(self.status, 101 | 204 | 304) {
            return Ok(Step::Done);
        }
        self.state = match framing.body {
            Body::Chunked => State::Chunked(Chunk::Size),
            Body::Length(len) => {
                let len = usize::try_from(len).map_err(|_| ParseError::ContentLength)?;
                State::UntilOffset(self.pos.saturating_add(len))
            }
            Body::UntilClose => State::UntilClose,
        };
        Ok(Step::Again)
    }

    /// Advances through a chunked body as far as `buf` goes.
    fn chunk(&mut self, mut chunk: Chunk, buf: &[u8]) -> Result<Step, ParseError> {
        loop {
            chunk = match chunk {
                Chunk::Size => match self.line(buf)? {
                    Some(line) => match chunk_size(line)? {
                        0 => Chunk::Trailer,
                        n => Chunk::Data(n),
                    },
                    None => break,
                },
                Chunk::Data(n) => {
                    let avail = (buf.len() - self.pos) as u64;
                    self.pos += avail.min(n) as usize;
                    if avail < n {
                        chunk = Chunk::Data(n - avail);
                        break;
                    }
                    Chunk::DataEnd
                }
                Chunk::DataEnd => match self.line(buf)? {
                    Some([]) => Chunk::Size,
                    Some(_) => return Err(ParseError::Chunk),
                    None => break,
                },
                Chunk::Trailer => match self.line(buf)? {
                    Some([]) => return Ok(Step::Done),
                    Some(_) => Chunk::Trailer,
                    None => break,
                },
            };
        }
        self.state = State::Chunked(chunk);
        Ok(Step::More)
    }

    /// Takes one line (without its CR LF) starting at `pos`; `None` if it has not ended yet.
    fn line<'b>(&mut self, buf: &'b [u8]) -> Result<Option<&'b [u8]>, ParseError> {
        let rest = &buf[self.pos..];
        match rest.iter().take(MAX_LINE).position(|&b| b == b'\n') {
            Some(i) => {
                self.pos += i + 1;
                Ok(Some(rest[..i].strip_suffix(b"\r").unwrap_or(&rest[..i])))
            }
            None if rest.len() >= MAX_LINE => Err(ParseError::Chunk),
            None => Ok(None),
        }
    }
}

/// `1a;ext=1` → 26.
fn chunk_size(line: &[u8]) -> Result<u64, ParseError> {
    let digits = line
        .split(|&b| b == b';' || b == b' ' || b == b'\t')
        .next()
        .unwrap_or(&[]);
    if digits.is_empty() || digits.len() > 15 {
        return Err(ParseError::Chunk);
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let d = (b as char).to_digit(16).ok_or(ParseError::Chunk)?;
        Ok(n * 16 + u64::from(d))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `bytes` cut at `split` as two reads; returns every response parsed.
    fn feed_split(bytes: &[u8], split: usize) -> Result<Vec<Response>, ParseError> {
        let mut parser = ResponseParser::new(false);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for part in [&bytes[..split], &bytes[split..]] {
            buf.extend_from_slice(part);
            while let Some(r) = parser.parse(&buf)? {
                buf.drain(..r.len);
                out.push(r);
            }
        }
        assert!(
            buf.is_empty(),
            "left over: {:?}",
            String::from_utf8_lossy(&buf)
        );
        Ok(out)
    }

    fn parse_all(bytes: &[u8]) -> Vec<Response> {
        feed_split(bytes, bytes.len()).unwrap()
    }

    const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
        5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n";

    /// Content-Length framing, keep-alive by default in HTTP/1.1.
    #[test]
    fn content_length() {
        let bytes = b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
        let r = parse_all(bytes);
        assert_eq!(
            r,
            vec![Response {
                status: 201,
                close: false,
                len: bytes.len()
            }]
        );
    }

    /// Incomplete heads and bodies are `Ok(None)`, not errors.
    #[test]
    fn incomplete_is_none() {
        let mut p = ResponseParser::new(false);
        assert_eq!(p.parse(b"HTTP/1.1 200 OK\r\nContent-Le"), Ok(None));
        assert_eq!(
            p.parse(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab"),
            Ok(None)
        );
        let whole = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
        assert_eq!(p.parse(whole).unwrap().unwrap().len, whole.len());
    }

    /// Every split point of a chunked response gives the same single response.
    #[test]
    fn chunked_split_at_every_offset() {
        for split in 0..=CHUNKED.len() {
            let r = feed_split(CHUNKED, split).unwrap();
            assert_eq!(
                r,
                vec![Response {
                    status: 200,
                    close: false,
                    len: CHUNKED.len()
                }],
                "{split}"
            );
        }
    }

    /// Chunked responses fed one byte at a time.
    #[test]
    fn chunked_byte_by_byte() {
        let mut p = ResponseParser::new(false);
        for end in 1..CHUNKED.len() {
            assert_eq!(p.parse(&CHUNKED[..end]), Ok(None), "{end}");
        }
        assert_eq!(p.parse(CHUNKED).unwrap().unwrap().len, CHUNKED.len());
    }

    /// Pipelined responses come out one by one, in order.
    #[test]
    fn pipelined() {
        let mut bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na".to_vec();
        bytes.extend_from_slice(CHUNKED);
        bytes.extend_from_slice(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        for split in 0..=bytes.len() {
            let statuses: Vec<u16> = feed_split(&bytes, split)
                .unwrap()
                .iter()
                .map(|r| r.status)
                .collect();
            assert_eq!(statuses, [200, 200, 404]);
        }
    }

    /// No length and no chunking: the body ends at the close, which completes it.
    #[test]
    fn close_delimited() {
        let bytes = b"HTTP/1.1 200 OK\r\n\r\nsome body";
        let mut p = ResponseParser::new(false);
        assert_eq!(p.parse(bytes), Ok(None));
        let r = Response {
            status: 200,
            close: true,
            len: bytes.len(),
        };
        assert_eq!(p.eof(bytes), Eof::Complete(r));
    }

    /// A non-chunked Transfer-Encoding overrides Content-Length and runs to the close.
    #[test]
    fn transfer_encoding_wins() {
        let mut p = ResponseParser::new(false);
        let bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: gzip\r\n\r\nxyz";
        assert_eq!(p.parse(bytes), Ok(None));
        assert!(matches!(p.eof(bytes), Eof::Complete(_)));
    }

    /// A close in the middle of a response truncates it; between responses it is idle.
    #[test]
    fn eof_cases() {
        let mut p = ResponseParser::new(false);
        assert_eq!(p.eof(b""), Eof::Idle);
        let part = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab";
        assert_eq!(p.parse(part), Ok(None));
        assert_eq!(p.eof(part), Eof::Truncated);
        assert_eq!(p.eof(b"HTTP/1.1 2"), Eof::Truncated);
    }

    /// 100 Continue is skipped; 204 and 304 have no body whatever they say.
    #[test]
    fn interim_and_bodiless() {
        let bytes =
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}";
        for split in 0..=bytes.len() {
            let r = feed_split(bytes, split).unwrap();
            assert_eq!(
                r,
                vec![Response {
                    status: 201,
                    close: false,
                    len: bytes.len()
                }]
            );
        }
        assert_eq!(
            parse_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n")[0].status,
            204
        );
        assert_eq!(
            parse_all(b"HTTP/1.1 304 Not Modified\r\n\r\n")[0].status,
            304
        );
    }

    /// Responses to HEAD have no body even with a Content-Length.
    #[test]
    fn head_request() {
        let mut p = ResponseParser::new(true);
        let bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
        assert_eq!(p.parse(bytes).unwrap().unwrap().len, bytes.len());
    }

    /// Garbage, bad lengths and bad chunks are errors.
    #[test]
    fn malformed() {
        let cases: [(&[u8], ParseError); 6] = [
            (
                b"garbage\r\n\r\n",
                ParseError::Head(httparse::Error::Version),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                ParseError::ContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                ParseError::ContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                ParseError::Chunk,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
                ParseError::Chunk,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
                ParseError::Chunk,
            ),
        ];
        for (bytes, err) in cases {
            assert_eq!(
                ResponseParser::new(false).parse(bytes),
                Err(err),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    /// A head that never ends is refused once it passes the limit.
    #[test]
    fn head_too_large() {
        let mut bytes = b"HTTP/1.1 200 OK\r\nX-Pad: ".to_vec();
        bytes.resize(MAX_HEAD + 10, b'a');
        let err = ResponseParser::new(false).parse(&bytes).unwrap_err();
        assert_eq!(err, ParseError::HeadTooLarge);
    }
}
