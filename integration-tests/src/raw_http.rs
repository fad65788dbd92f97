//! Raw HTTP/1.1 exchanges with a node on 127.0.0.1, for tests that need the response
//! headers (cookies, redirects, content types) or want to send what a browser or an attacker
//! would, byte for byte. [`crate::http`] is the simpler client when only status and body
//! matter.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

/// One raw HTTP/1.1 exchange; returns (status, headers as sent, body). The status is 0 when
/// the answer has none.
pub fn raw(addr: SocketAddr, request: &str) -> (u16, String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut bytes = Vec::new();
    let _ = s.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, head.to_owned(), body.to_owned())
}

/// `GET path` with the cookie header `cookie`.
pub fn get(addr: SocketAddr, path: &str, cookie: &str) -> (u16, String, String) {
    raw(
        addr,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ),
    )
}

/// `POST path` of the form `body` with the cookie header `cookie` and the further header
/// lines `extra` (each ending in `\r\n`).
pub fn post(
    addr: SocketAddr,
    path: &str,
    cookie: &str,
    extra: &str,
    body: &str,
) -> (u16, String, String) {
    raw(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\n{extra}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}
