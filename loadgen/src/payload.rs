//! Request bodies of the seed experiment: a title and a description picked at random
//! from the shipped data files, form-urlencoded (the default) or as JSON.
//!
//! Everything is encoded once at start-up; per request only two indices are drawn and
//! the pre-encoded pieces are copied into the connection's write buffer.

/// Task titles, one per line (5–120 characters, some non-ASCII).
const TITLES: &str = include_str!("../data/titles.txt");
/// Task descriptions, one per line (10–600 characters, some non-ASCII).
const DESCRIPTIONS: &str = include_str!("../data/descriptions.txt");

/// How a title/description pair is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// `title=…&description=…` as `application/x-www-form-urlencoded` (the seed's body).
    Form,
    /// `{"title":…,"description":…}` as `application/json`.
    Json,
}

impl Encoding {
    /// The `Content-Type` header value for this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Form => "application/x-www-form-urlencoded",
            Encoding::Json => "application/json",
        }
    }
}

/// Pre-encoded titles and descriptions and the glue between them.
#[derive(Clone, Debug)]
pub struct Payload {
    encoding: Encoding,
    titles: Vec<String>,
    descriptions: Vec<String>,
}

impl Payload {
    /// The shipped data files, encoded for `encoding`.
    pub fn shipped(encoding: Encoding) -> Payload {
        Payload::new(encoding, lines(TITLES), lines(DESCRIPTIONS))
    }

    /// Encodes the given records (neither list may be empty).
    pub fn new(encoding: Encoding, titles: Vec<&str>, descriptions: Vec<&str>) -> Payload {
        assert!(!titles.is_empty() && !descriptions.is_empty());
        let encode = |s: &&str| {
            let mut out = String::with_capacity(s.len() * 3 + 2);
            match encoding {
                Encoding::Form => form_encode(s, &mut out),
                Encoding::Json => json_string(s, &mut out),
            }
            out
        };
        Payload {
            encoding,
            titles: titles.iter().map(encode).collect(),
            descriptions: descriptions.iter().map(encode).collect(),
        }
    }

    /// This payload's encoding.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Draws one (title, description) pair, already encoded.
    pub fn pick(&self, rng: &mut Rng) -> (&str, &str) {
        (
            &self.titles[rng.below(self.titles.len())],
            &self.descriptions[rng.below(self.descriptions.len())],
        )
    }

    /// The glue around the two pieces: (before title, between, after description).
    fn glue(&self) -> (&'static str, &'static str, &'static str) {
        match self.encoding {
            Encoding::Form => ("title=", "&description=", ""),
            Encoding::Json => ("{\"title\":", ",\"description\":", "}"),
        }
    }

    /// Length in bytes of the body made of this pair.
    pub fn body_len(&self, title: &str, description: &str) -> usize {
        let (a, b, c) = self.glue();
        a.len() + title.len() + b.len() + description.len() + c.len()
    }

    /// Appends the body made of this pair to `out`.
    pub fn write_body(&self, title: &str, description: &str, out: &mut Vec<u8>) {
        let (a, b, c) = self.glue();
        for piece in [a, title, b, description, c] {
            out.extend_from_slice(piece.as_bytes());
        }
    }
}

/// Non-empty lines of a data file.
fn lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.is_empty()).collect()
}

/// Appends `s` encoded as an `application/x-www-form-urlencoded` value (WHATWG URL
/// standard): ASCII alphanumerics and `*-._` stay, space becomes `+`, every other
/// byte of the UTF-8 encoding becomes `%XX`.
pub fn form_encode(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 15)] as char);
            }
        }
    }
}

/// Appends `s` as a JSON string literal, quotes included.
pub fn json_string(s: &str, out: &mut String) {
    // serde_json escapes exactly what RFC 8259 requires; this runs at start-up only.
    out.push_str(&serde_json::to_string(s).expect("a str always serializes"));
}

/// A small, fast, seedable PRNG (xorshift64*): payload choice needs speed and
/// reproducibility (`--seed`), not cryptographic quality.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for stream `stream` (e.g. a thread index) of run seed `seed`.
    pub fn new(seed: u64, stream: u64) -> Rng {
        // splitmix64 of the pair, so nearby seeds and streams give unrelated sequences
        // and the state is never 0 (xorshift's one fixed point).
        let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (n > 0), by multiply-shift (no modulo bias worth caring about).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(s: &str) -> String {
        let mut out = String::new();
        form_encode(s, &mut out);
        out
    }

    /// Reserved characters of form bodies are percent-encoded, space is `+`.
    #[test]
    fn form_encodes_reserved() {
        assert_eq!(form("a b&c=d+e%f/g"), "a+b%26c%3Dd%2Be%25f%2Fg");
        assert_eq!(form("Safe-._*09az"), "Safe-._*09az");
        assert_eq!(form("?#\"'\\"), "%3F%23%22%27%5C");
    }

    /// Non-ASCII characters are encoded byte by byte from their UTF-8 form.
    #[test]
    fn form_encodes_utf8() {
        assert_eq!(form("é"), "%C3%A9");
        assert_eq!(form("日本"), "%E6%97%A5%E6%9C%AC");
        assert_eq!(form("🚀"), "%F0%9F%9A%80");
    }

    /// JSON strings escape quotes, backslashes and control characters, keep UTF-8.
    #[test]
    fn json_escapes() {
        let mut out = String::new();
        json_string("a\"b\\c\nü日🚀", &mut out);
        assert_eq!(out, "\"a\\\"b\\\\c\\nü日🚀\"");
    }

    /// A form body is `title=…&description=…` with the encoded pieces.
    #[test]
    fn form_body() {
        let p = Payload::new(Encoding::Form, vec!["Q&A é"], vec!["x=1 y"]);
        let (t, d) = p.pick(&mut Rng::new(1, 0));
        let mut body = Vec::new();
        p.write_body(t, d, &mut body);
        assert_eq!(body, b"title=Q%26A+%C3%A9&description=x%3D1+y");
        assert_eq!(p.body_len(t, d), body.len());
    }

    /// A JSON body parses back to the original strings.
    #[test]
    fn json_body_round_trips() {
        let p = Payload::new(Encoding::Json, vec!["say \"hi\" 😀"], vec!["a\\b & c"]);
        let (t, d) = p.pick(&mut Rng::new(1, 0));
        let mut body = Vec::new();
        p.write_body(t, d, &mut body);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["title"], "say \"hi\" 😀");
        assert_eq!(v["description"], "a\\b & c");
        assert_eq!(p.body_len(t, d), body.len());
    }

    /// The shipped data files have a few hundred lines within the agreed lengths.
    #[test]
    fn shipped_data_files() {
        let titles = lines(TITLES);
        let descriptions = lines(DESCRIPTIONS);
        assert!(titles.len() >= 200 && descriptions.len() >= 200);
        assert!(titles
            .iter()
            .all(|t| (5..=120).contains(&t.chars().count())));
        assert!(titles.iter().all(|t| t.len() <= 255));
        assert!(descriptions
            .iter()
            .all(|d| (10..=600).contains(&d.chars().count())));
        assert!(titles.iter().any(|t| !t.is_ascii()));
        assert!(descriptions.iter().any(|d| d.contains('&')));
    }

    /// Form-decoding each shipped line gives the line back.
    #[test]
    fn shipped_lines_round_trip() {
        for line in lines(TITLES).into_iter().chain(lines(DESCRIPTIONS)) {
            assert_eq!(form_decode(&form(line)), line);
        }
    }

    /// Same seed and stream → same sequence; different streams differ.
    #[test]
    fn rng_is_reproducible() {
        let draw = |seed, stream| {
            let mut r = Rng::new(seed, stream);
            (0..8).map(|_| r.below(1000)).collect::<Vec<_>>()
        };
        assert_eq!(draw(42, 0), draw(42, 0));
        assert_ne!(draw(42, 0), draw(42, 1));
        assert_ne!(draw(42, 0), draw(43, 0));
    }

    /// `below(n)` stays in range and reaches every value.
    #[test]
    fn rng_below_covers_range() {
        let mut r = Rng::new(0, 0);
        let mut seen = [false; 7];
        for _ in 0..1000 {
            seen[r.below(7)] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }

    /// Test-only decoder: the inverse of `form_encode`.
    fn form_decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    }
}
