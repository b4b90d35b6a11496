//! The routes other than the event stream and messages, on every listener.

// The tests are plain async fns under `test_support::arms`, where clippy does not see a test.
#![allow(clippy::unwrap_used)]

use http::StatusCode;
use sse_server::Protocol;
use test_support::{connect, spawn_default_server};

#[test_support::arms(all)]
async fn health_demo_page_stats_and_errors(p: Protocol) {
    let server = spawn_default_server().await;
    let mut client = connect(&server, p).await;

    let (status, _, body) = client.get_text("/health").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok\n"));

    let (status, headers, page) = client.get_text("/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(
        page.contains("new EventSource(\"/events?channel=demo"),
        "{page}"
    );
    assert!(page.contains("/messages?channel=demo"));
    assert!(!page.contains("src=\"http"), "no external resources");

    assert_eq!(client.get_text("/nope").await.0, StatusCode::NOT_FOUND);
    let resp = client
        .request(http::Method::POST, "/health", &[], bytes::Bytes::new())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()["allow"], "GET");
    let resp = client.get("/messages", &[]).await;
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()["allow"], "POST");

    let (status, _, body) = client.get_text("/events?interval_ms=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        "invalid query interval_ms=\"0\": must be an integer from 1 to 86400000\n"
    );
    let (status, _, body) = client.get_text("/events?interval=5").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.starts_with("unknown query key \"interval\""), "{body}");

    let stats = client.stats().await;
    assert_eq!(
        stats.listeners.len(),
        Protocol::ALL.len(),
        "one listener per arm"
    );
    assert_eq!(stats.listener(p).unwrap().requests, 8);
    assert_eq!(stats, server.stats(), "GET /stats and stats() agree");
}
