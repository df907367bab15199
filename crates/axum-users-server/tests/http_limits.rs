//! Connection bounds over a real socket: too many or too large headers answer 431, a client
//! that never finishes its headers (slowloris) is disconnected, and normal requests pass.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use axum_users_server::Profile;
use support::{config, start};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Sends `head` raw and returns everything the server writes until it closes or 10 s pass.
async fn exchange(addr: &str, head: &[u8]) -> (String, Duration) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head).await.unwrap();
    let started = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => {
                out.extend_from_slice(&buf[..n]);
                // One response is enough for the keep-alive cases.
                if out.windows(4).any(|w| w == b"\r\n\r\n") && head.ends_with(b"\r\n\r\n") {
                    break;
                }
            }
            Err(_) => panic!("the server neither answered nor closed within 10 s"),
        }
    }
    (
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    )
}

fn request_with(headers: usize, value_len: usize) -> Vec<u8> {
    let mut head = String::from("GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    let value = "v".repeat(value_len);
    for i in 0..headers {
        head.push_str(&format!("x-filler-{i}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

#[tokio::test]
async fn header_count_and_size_are_capped_with_431() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), Profile::V15);
    c.http.max_headers = 40;
    c.http.max_header_bytes = 16 * 1024;
    let server = start(c).await;
    let addr = server.base.trim_start_matches("http://").to_owned();

    let (ok, _) = exchange(&addr, &request_with(30, 10)).await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");

    let (many, _) = exchange(&addr, &request_with(60, 10)).await;
    assert!(
        many.starts_with("HTTP/1.1 431"),
        "60 headers over a cap of 40: {many}"
    );

    let (large, _) = exchange(&addr, &request_with(4, 8 * 1024)).await;
    assert!(
        large.starts_with("HTTP/1.1 431"),
        "32 KiB of headers over a cap of 16 KiB: {large}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), Profile::V15);
    c.http.header_read_timeout_seconds = 1;
    let server = start(c).await;
    let addr = server.base.trim_start_matches("http://").to_owned();

    // Half a request head, then silence: the connection must not stay open.
    let (answer, waited) = exchange(&addr, b"GET /health HTTP/1.1\r\nHost: localhost\r\n").await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "unexpected answer: {answer}"
    );
    assert!(
        waited < Duration::from_secs(5),
        "closed only after {waited:?} (header read timeout 1 s)"
    );

    // The server still serves complete requests.
    let (ok, _) = exchange(&addr, &request_with(0, 0)).await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    server.stop().await;
}

#[test]
fn bounds_out_of_range_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), Profile::V15);
    c.http.max_header_bytes = 4096;
    let e = c.validate().unwrap_err();
    assert_eq!(e.setting, "AXUM_USERS_MAX_HEADER_BYTES");
    let mut c = config(dir.path(), Profile::V15);
    c.http.request_timeout_seconds = 0;
    assert_eq!(
        c.validate().unwrap_err().setting,
        "AXUM_USERS_REQUEST_TIMEOUT_SECONDS"
    );
}
