//! Body framing: Content-Length, Transfer-Encoding, chunked, and the shapes request
//! smuggling uses to make two parsers disagree about where a request ends.
//!
//! One case per line (`rustfmt::skip`): a table reads better than one call over six lines.

use super::After::{Closed, Open};
use super::{case, health, post_form, post_raw, req, Case, FORM};

/// A form POST whose body is these chunks (after `Transfer-Encoding: chunked`).
fn chunked(chunks: &str) -> String {
    post_raw("Transfer-Encoding: chunked\r\n", chunks)
}

/// The form body as two chunks and the last chunk.
const CHUNKS: &str = "7\r\ntitle=t\r\ne\r\n&description=d\r\n0\r\n\r\n";

/// A form POST with these framing header lines and this body.
fn framed(fields: &str, body: &str) -> String {
    post_raw(fields, body)
}

pub fn cases() -> Vec<Case> {
    [content_length(), transfer_encoding(), smuggling(), chunks()]
        .into_iter()
        .flatten()
        .collect()
}

#[rustfmt::skip]
fn content_length() -> Vec<Case> {
    let cl = |v: &str| framed(&format!("Content-Length: {v}\r\n"), FORM);
    vec![
        case("RFC 9112 §6.2", "Content-Length body", post_form(), &[201], Open),
        case("RFC 9112 §6.3", "Content-Length ends the body: next request right after", format!("{}{}", post_form(), health()), &[201, 200], Open),
        case("RFC 9110 §8.6", "two equal Content-Length fields", framed("Content-Length: 21\r\nContent-Length: 21\r\n", FORM), &[201], Open),
        case("RFC 9110 §8.6", "equal Content-Length list", cl("21, 21"), &[201], Open),
        case("RFC 9112 §6.3", "two different Content-Length fields", framed("Content-Length: 21\r\nContent-Length: 20\r\n", FORM), &[400], Closed),
        case("RFC 9112 §6.3", "different Content-Length list", cl("21, 20"), &[400], Closed),
        case("RFC 9110 §8.6", "Content-Length with a sign", cl("+21"), &[400], Closed),
        case("RFC 9110 §8.6", "negative Content-Length", cl("-1"), &[400], Closed),
        case("RFC 9110 §8.6", "Content-Length in hex", cl("0x15"), &[400], Closed),
        case("RFC 9110 §8.6", "Content-Length with trailing garbage", cl("21a"), &[400], Closed),
        case("RFC 9110 §8.6", "empty Content-Length", cl(""), &[400], Closed),
        case("RFC 9112 §6.3", "Content-Length overflowing 64 bits", cl("99999999999999999999999"), &[413], Closed),
        case("RFC 9110 §15.5.14", "Content-Length over --max-body", cl("65537"), &[413], Closed),
        case("RFC 9110 §15.5.12", "POST without Content-Length or chunked", post_raw("", ""), &[411], Closed),
        case("RFC 9112 §6.3", "GET with a Content-Length body (read, ignored)", req("GET /health HTTP/1.1", "Host: h\r\nContent-Length: 2\r\n", "xy"), &[200], Open),
    ]
}

#[rustfmt::skip]
fn transfer_encoding() -> Vec<Case> {
    let te = |v: &str| framed(&format!("Transfer-Encoding: {v}\r\n"), CHUNKS);
    vec![
        case("RFC 9112 §7.1", "chunked body", chunked(CHUNKS), &[201], Open),
        case("RFC 9112 §7", "coding names are case-insensitive", te("ChUnKeD"), &[201], Open),
        case("RFC 9112 §6.1", "another coding before chunked", te("gzip, chunked"), &[501], Closed),
        case("RFC 9112 §6.3", "chunked not the last coding", te("chunked, gzip"), &[400], Closed),
        case("RFC 9112 §6.3", "no chunked at all", te("gzip"), &[400], Closed),
        case("RFC 9112 §6.3", "identity", te("identity"), &[400], Closed),
        case("RFC 9112 §6.3", "empty Transfer-Encoding", te(""), &[400], Closed),
        case("RFC 9112 §7", "chunked applied twice", te("chunked, chunked"), &[400], Closed),
        case("RFC 9112 §7", "chunked in two field lines", framed("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", CHUNKS), &[400], Closed),
        case("RFC 9112 §6.1", "Transfer-Encoding in HTTP/1.0", req("POST /api/tasks HTTP/1.0", "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n", CHUNKS), &[400], Closed),
        case("RFC 9112 §7.1", "chunked body, next request right after", format!("{}{}", chunked(CHUNKS), health()), &[201, 200], Open),
    ]
}

#[rustfmt::skip]
fn smuggling() -> Vec<Case> {
    let smuggled = "0\r\n\r\nGET /nope HTTP/1.1\r\nHost: h\r\n\r\n";
    vec![
        case("RFC 9112 §6.1", "CL.TE: Content-Length, then chunked", framed("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", smuggled), &[400], Closed),
        case("RFC 9112 §6.1", "TE.CL: chunked, then Content-Length", framed("Transfer-Encoding: chunked\r\nContent-Length: 40\r\n", smuggled), &[400], Closed),
        case("RFC 9112 §6.3", "chunked, then another Transfer-Encoding line", framed("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n", CHUNKS), &[400], Closed),
        case("RFC 9112 §6.3", "chunked spelt inside a token", framed("Transfer-Encoding: xchunked\r\n", CHUNKS), &[400], Closed),
        case("RFC 9112 §5.1", "space before the colon of Transfer-Encoding", framed("Transfer-Encoding : chunked\r\n", CHUNKS), &[400], Closed),
        case("RFC 9112 §5.2", "Transfer-Encoding folded onto a second line", framed("Transfer-Encoding:\r\n chunked\r\n", CHUNKS), &[400], Closed),
        case("RFC 9112 §5.1", "tab as the whitespace after the colon", framed("Transfer-Encoding:\tchunked\r\n", CHUNKS), &[201], Open),
        case("RFC 9112 §6.3", "Content-Length 0 then another Content-Length", framed("Content-Length: 0\r\nContent-Length: 21\r\n", FORM), &[400], Closed),
        case("RFC 9112 §7.1", "bare LF ending a chunk size (TE.TE parser split)", chunked("15\ntitle=t&description=d\r\n0\r\n\r\n"), &[400], Closed),
    ]
}

#[rustfmt::skip]
fn chunks() -> Vec<Case> {
    let body = |chunks: &str| chunked(chunks);
    vec![
        case("RFC 9112 §7.1.1", "chunk extensions are ignored", body("7;a=b;c\r\ntitle=t\r\ne;x=\"q;uo\\\"te\"\r\n&description=d\r\n0\r\n\r\n"), &[201], Open),
        case("RFC 9112 §7.1.1", "whitespace before an extension", body("7 \t;a\r\ntitle=t\r\ne\r\n&description=d\r\n0\r\n\r\n"), &[201], Open),
        case("RFC 9112 §7.1.1", "extension on the last chunk", body("15\r\ntitle=t&description=d\r\n0;end=1\r\n\r\n"), &[201], Open),
        case("RFC 9112 §7.1.2", "trailer fields", body("15\r\ntitle=t&description=d\r\n0\r\nX-Sum: 1\r\nX-More: a b\r\n\r\n"), &[201], Open),
        case("RFC 9112 §7.1", "uppercase hex and leading zeros", body("0015\r\ntitle=t&description=d\r\n00\r\n\r\n"), &[201], Open),
        case("RFC 9112 §7.1", "size not hex", body("zz\r\ntitle=t\r\n0\r\n\r\n"), &[400], Closed),
        case("RFC 9112 §7.1", "size with 0x", body("0x15\r\ntitle=t&description=d\r\n0\r\n\r\n"), &[400], Closed),
        case("RFC 9112 §7.1", "negative size", body("-15\r\ntitle=t&description=d\r\n0\r\n\r\n"), &[400], Closed),
        case("RFC 9112 §7.1", "space before the size", body(" 15\r\ntitle=t&description=d\r\n0\r\n\r\n"), &[400], Closed),
        case("RFC 9112 §7.1", "space after the size, no extension", body("15 \r\ntitle=t&description=d\r\n0\r\n\r\n"), &[400], Closed),
        case("RFC 9112 §7.1", "empty size line", body("\r\ntitle=t\r\n0\r\n\r\n"), &[400], Closed),
        case("RFC 9112 §7.1", "size overflowing 64 bits", body("fffffffffffffffffffff\r\nx\r\n0\r\n\r\n"), &[413], Closed),
        case("RFC 9110 §15.5.14", "chunks adding up over --max-body", body("10001\r\n"), &[413], Closed),
        case("RFC 9112 §7.1", "more data than the size", body("5\r\ntitle=t&description=d\r\n0\r\n\r\n"), &[400], Closed),
        case("RFC 9112 §7.1", "bare LF after chunk data", body("15\r\ntitle=t&description=d\n0\r\n\r\n"), &[400], Closed),
        case("RFC 9112 §2.2", "bare CR in an extension", body("15;a\rb\r\ntitle=t&description=d\r\n0\r\n\r\n"), &[400], Closed),
        case("RFC 9112 §7.1.2", "trailer line without a colon", body("15\r\ntitle=t&description=d\r\n0\r\nnot a field\r\n\r\n"), &[400], Closed),
        case("RFC 9112 §5.2", "folded trailer line", body("15\r\ntitle=t&description=d\r\n0\r\nX: a\r\n b\r\n\r\n"), &[400], Closed),
    ]
}
