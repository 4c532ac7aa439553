//! De-chunking of `Transfer-Encoding: chunked` bodies (RFC 9112 §7.1).
//!
//! Stateless, like the rest of the parser: every call walks the framing from the start
//! of the body. The walk is linear and bounded (data by `max_body`, framing by
//! `max_head`), so re-walking as bytes trickle in stays cheap, and nothing is allocated
//! until the whole body is here: a first pass validates and measures, a second copies.
//!
//! Strict where a lenient reading lets two parsers disagree about where a body ends
//! (request smuggling): every framing line ends in CRLF, the size is bare hex (spaces
//! only before a `;`), extensions (ignored) and trailer fields (skipped) may not hold
//! control characters such as a bare CR, and a trailer line must be `name: value`.

use super::error::ParseError;
use super::limits::Limits;
use super::numbers::parse_hex;

/// Decodes the chunked body at the front of `buf` into `body` (replacing its contents):
/// `Ok(None)` if not all of it is here yet (`body` untouched), else the number of bytes
/// the framing occupied. (Public for the fuzz targets; the server reaches it through
/// [`super::request::parse`].)
pub fn decode(
    buf: &[u8],
    limits: &Limits,
    body: &mut Vec<u8>,
) -> Result<Option<usize>, ParseError> {
    let mut total = 0;
    if walk(buf, limits, |data| total += data.len())?.is_none() {
        return Ok(None);
    }
    if body.capacity() < total {
        // Not `reserve`: growing would copy the old contents, which are being replaced.
        *body = Vec::with_capacity(total);
    }
    body.clear();
    walk(buf, limits, |data| body.extend_from_slice(data))
}

/// Walks the framing, handing each chunk's data to `sink`; returns the bytes consumed
/// once the last chunk and the trailer section are complete.
fn walk(
    buf: &[u8],
    limits: &Limits,
    mut sink: impl FnMut(&[u8]),
) -> Result<Option<usize>, ParseError> {
    let mut w = Walker {
        buf,
        pos: 0,
        data: 0,
        overhead_budget: limits.max_head,
    };
    loop {
        let Some(line) = w.line()? else {
            return Ok(None);
        };
        let size = chunk_size(line)?;
        if size == 0 {
            return w.trailers();
        }
        if (w.data as u64).saturating_add(size) > limits.max_body as u64 {
            return Err(ParseError::BodyTooLarge);
        }
        // Fits in usize: bounded by max_body just above.
        let Some(data) = w.data(size as usize)? else {
            return Ok(None);
        };
        sink(data);
    }
}

/// The size at the start of a chunk-size line; extensions (`;name=value`) are ignored.
///
/// Hand-written rather than `httparse::parse_chunk_size`, which is more lenient than this
/// parser on four points: it reads an empty size as 0, accepts whitespace after the size
/// with no extension (`3 \r\n`) and any byte in an extension (control characters
/// included), and refuses a size of more than 16 hex digits, leading zeros included, as
/// malformed (400), where this parser skips leading zeros and answers an oversized chunk
/// with 413. A strict wrapper checking those
/// four before calling httparse was slower: criterion `parse/seed_post_chunked`, median
/// of 8 and of 10 runs alternating the two builds on the same machine
/// (`cargo bench --bench http -- --quick parse/seed_post_chunked`), took 402 and 405 ns
/// with the wrapper against 324 and 368 ns with this function.
fn chunk_size(line: &[u8]) -> Result<u64, ParseError> {
    let (digits, extensions) = match line.iter().position(|&b| b == b';') {
        // RFC 9112 allows "bad whitespace" between the size and an extension.
        Some(semi) => (trim_bws_end(&line[..semi]), &line[semi..]),
        None => (line, &[][..]),
    };
    if !field_text(extensions) {
        return Err(ParseError::Malformed(
            "control character in chunk extension",
        ));
    }
    parse_hex(digits).ok_or(ParseError::Malformed("bad chunk size"))
}

/// `bytes` without trailing spaces and tabs (RFC 9110 §5.6.3 BWS).
fn trim_bws_end(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|&b| b != b' ' && b != b'\t');
    &bytes[..end.map_or(0, |i| i + 1)]
}

/// No control characters but HTAB (RFC 9110 §5.5: field values are VCHAR, SP, HTAB and
/// obs-text).
fn field_text(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// A trailer line is `token ":" value` (RFC 9112 §7.1.2, §5).
fn trailer_field(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let name = &line[..colon];
    !name.is_empty() && name.iter().all(|&b| is_tchar(b)) && field_text(&line[colon + 1..])
}

/// A byte of a token (RFC 9110 §5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A cursor over the framing.
struct Walker<'a> {
    buf: &'a [u8],
    /// Bytes of framing and data walked so far.
    pos: usize,
    /// Bytes of chunk data walked so far.
    data: usize,
    /// Most bytes of framing (size lines, extensions, CRLFs, trailers) allowed; without
    /// it, endless extensions or trailers could grow the connection's buffer forever.
    overhead_budget: usize,
}

impl<'a> Walker<'a> {
    /// The next CRLF-terminated line without its CRLF, or `None` if it is not all here.
    fn line(&mut self) -> Result<Option<&'a [u8]>, ParseError> {
        let rest = &self.buf[self.pos..];
        let allowed = (self.overhead_budget + 1).saturating_sub(self.pos - self.data);
        let window = &rest[..rest.len().min(allowed)];
        let Some(lf) = window.iter().position(|&b| b == b'\n') else {
            if rest.len() >= allowed {
                return Err(ParseError::BodyTooLarge);
            }
            return Ok(None);
        };
        // A bare LF is how smuggling attacks make two parsers disagree: refuse it.
        if lf == 0 || rest[lf - 1] != b'\r' {
            return Err(ParseError::Malformed(
                "chunked framing line not ended by CRLF",
            ));
        }
        self.pos += lf + 1;
        Ok(Some(&rest[..lf - 1]))
    }

    /// `len` bytes of chunk data followed by CRLF, or `None` if not all here.
    fn data(&mut self, len: usize) -> Result<Option<&'a [u8]>, ParseError> {
        let rest = &self.buf[self.pos..];
        if rest.len() < len + 2 {
            return Ok(None);
        }
        if &rest[len..len + 2] != b"\r\n" {
            return Err(ParseError::Malformed("chunk data not followed by CRLF"));
        }
        self.pos += len + 2;
        self.data += len;
        Ok(Some(&rest[..len]))
    }

    /// Skips the trailer section (fields are not used) up to its closing empty line.
    fn trailers(&mut self) -> Result<Option<usize>, ParseError> {
        loop {
            match self.line()? {
                None => return Ok(None),
                Some([]) => return Ok(Some(self.pos)),
                Some(line) if trailer_field(line) => continue,
                Some(_) => return Err(ParseError::Malformed("invalid trailer field")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `super::decode` into a fresh body, the body returned with the length.
    fn decode(buf: &[u8], limits: &Limits) -> Result<Option<(Vec<u8>, usize)>, ParseError> {
        let mut body = b"old".to_vec();
        match super::decode(buf, limits, &mut body)? {
            Some(used) => Ok(Some((body, used))),
            None => {
                assert_eq!(body, b"old", "untouched while incomplete");
                Ok(None)
            }
        }
    }

    fn limits() -> Limits {
        Limits {
            max_head: 64,
            max_headers: 8,
            max_body: 16,
        }
    }

    /// Chunks are joined, extensions ignored, trailers skipped, and bytes after the body untouched.
    #[test]
    fn decodes_chunks_extensions_and_trailers() {
        let buf = b"3;ext=1\r\nabc\r\n2 \t;x=\"a;b\"\r\nde\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        let (body, used) = decode(buf, &limits()).unwrap().unwrap();
        assert_eq!(body, b"abcde");
        assert_eq!(&buf[used..], b"NEXT");
    }

    /// Every strict prefix of a chunked body is incomplete, never an error.
    #[test]
    fn every_prefix_is_incomplete() {
        let buf = b"A\r\n0123456789\r\n1\r\nx\r\n0\r\n\r\n";
        for cut in 0..buf.len() {
            assert_eq!(decode(&buf[..cut], &limits()), Ok(None), "cut at {cut}");
        }
        assert_eq!(decode(buf, &limits()).unwrap().unwrap().1, buf.len());
    }

    /// A bad hex size, missing data CRLF, a bare LF or CR, a control character in an
    /// extension or a trailer that is not a field is malformed.
    #[test]
    fn rejects_bad_framing() {
        for bad in [
            &b"zz\r\n"[..],
            b"\r\n",
            b" 3\r\nabc\r\n",
            b"3 \r\nabc\r\n",
            b"3\r;x\r\nabc\r\n",
            b"-3\r\nabc\r\n",
            b"0x3\r\nabc\r\n",
            b"3\r\nabcX\r\n",
            b"3\nabc\r\n",
            b"3;a\rb\r\nabc\r\n",
            b"3;a\x00\r\nabc\r\n",
            b"0\r\nno colon\r\n\r\n",
            b"0\r\n: v\r\n\r\n",
            b"0\r\n folded: v\r\n\r\n",
            b"0\r\nX: a\rb\r\n\r\n",
        ] {
            assert!(
                matches!(decode(bad, &limits()), Err(ParseError::Malformed(_))),
                "{bad:?}"
            );
        }
    }

    /// Data over max_body is refused as soon as the size line announces it.
    #[test]
    fn announced_size_over_limit_is_too_large() {
        assert_eq!(decode(b"11\r\n", &limits()), Err(ParseError::BodyTooLarge));
        assert_eq!(
            decode(b"8\r\n12345678\r\n9\r\n", &limits()),
            Err(ParseError::BodyTooLarge)
        );
        assert_eq!(
            decode(b"ffffffffffffffffffffff\r\n", &limits()),
            Err(ParseError::BodyTooLarge)
        );
    }

    /// Endless extensions or trailers exhaust the framing budget instead of the buffer.
    #[test]
    fn framing_overhead_is_bounded() {
        let long_ext = [&b"1;"[..], &[b'a'; 70]].concat();
        assert_eq!(decode(&long_ext, &limits()), Err(ParseError::BodyTooLarge));
        let trailers = [&b"0\r\n"[..], &b"X: y\r\n".repeat(20)].concat();
        assert_eq!(decode(&trailers, &limits()), Err(ParseError::BodyTooLarge));
    }
}
