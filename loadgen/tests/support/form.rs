//! The payload side: loadgen's data files, and a strict decoder of the form bodies it sends.

use std::collections::{BTreeMap, BTreeSet};

/// The non-empty lines of `loadgen/data/{name}` (read at run time, so the tests compile
/// before the data files exist).
pub fn data_lines(name: &str) -> BTreeSet<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The titles of `loadgen/data/titles.txt`.
pub fn titles() -> BTreeSet<String> {
    data_lines("titles.txt")
}

/// The descriptions of `loadgen/data/descriptions.txt`.
pub fn descriptions() -> BTreeSet<String> {
    data_lines("descriptions.txt")
}

/// Decodes `application/x-www-form-urlencoded` strictly: only unreserved bytes may appear
/// raw, `+` is a space, `%XX` must be two hex digits, and the result must be UTF-8.
pub fn decode_form(body: &[u8]) -> Result<BTreeMap<String, String>, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("body not UTF-8: {e}"))?;
    let mut fields = BTreeMap::new();
    for pair in text.split('&') {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("field without '=': {pair:?}"))?;
        let (name, value) = (percent_decode(name)?, percent_decode(value)?);
        if fields.insert(name.clone(), value).is_some() {
            return Err(format!("field {name:?} twice"));
        }
    }
    Ok(fields)
}

/// Decodes one form component (see [`decode_form`]).
pub fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("bad escape at {i} in {s:?}"))?;
                out.push(hex);
                i += 2;
            }
            b if b.is_ascii_alphanumeric() || b"-._~*".contains(&b) => out.push(b),
            b => return Err(format!("raw byte {:?} at {i} in {s:?}", b as char)),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|e| format!("{s:?} does not decode to UTF-8: {e}"))
}

/// The `(title, description)` of a form body with exactly those two fields.
pub fn form_fields(body: &[u8]) -> Result<(String, String), String> {
    let mut fields = decode_form(body)?;
    let keys: Vec<&String> = fields.keys().collect();
    if keys != ["description", "title"] {
        return Err(format!("fields {keys:?}, want title and description"));
    }
    let title = fields.remove("title").unwrap();
    Ok((title, fields.remove("description").unwrap()))
}
