//! Timeouts on every phase after the request head, on every listener: a request body that stops
//! arriving or takes too long gets 408. (The phases before it: `listeners.rs`; HTTP/2 connections
//! that idle, die or stop granting window: `http2_timeouts.rs`.)

// The tests are plain async fns under `test_support::arms`, where clippy does not see a test.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use http::StatusCode;
use sse_server::Protocol;
use test_support::stall::{stalled_post, Framing, PostEnd};
use test_support::{spawn_server, test_config, WAIT};
use vocab::Transport;

/// The ways a body can stall on this listener.
fn framings(p: Protocol) -> Vec<Framing> {
    if p.is_multiplexed() {
        vec![Framing::Chunked] // ignored: HTTP/2 and HTTP/3 send HEADERS without ending the stream
    } else {
        vec![Framing::ContentLength(1000), Framing::Chunked]
    }
}

/// How the request must end once answered: HTTP/1.1 closes the connection (the rest of the body
/// is still on its way), HTTP/2 resets only the stream, with NO_ERROR (RFC 9113 §8.1), HTTP/3
/// stops reading it (RFC 9114 §4.1) with code 0: the body timed out in the middle of a read,
/// and quinn stops a stream dropped unread with 0, which a client reads as H3_NO_ERROR.
fn expected_end(p: Protocol) -> PostEnd {
    match (p.transport(), p.is_http2()) {
        (Transport::Udp, _) => PostEnd::StreamStopped(0),
        (Transport::Tcp, true) => PostEnd::StreamReset(h2::Reason::NO_ERROR),
        (Transport::Tcp, false) => PostEnd::ConnectionClosed,
    }
}

#[test_support::arms(all)]
async fn a_stalled_post_body_gets_408_at_the_body_read_timeout(p: Protocol) {
    let mut config = test_config();
    config.body_read_timeout = Duration::from_millis(300);
    let server = spawn_server(config).await;
    let framings = framings(p);
    for &framing in &framings {
        let post = stalled_post(&server, p, "/messages?channel=c", framing)
            .await
            .unwrap();
        let answer = post.answer(WAIT).await;
        assert_eq!(
            answer.status,
            Some(StatusCode::REQUEST_TIMEOUT),
            "{framing:?}"
        );
        assert_eq!(answer.end, expected_end(p), "{framing:?}");
    }
    let stats = server.stats();
    let l = stats.listener(p).unwrap();
    assert_eq!(
        (l.body_read_timeouts, l.body_total_timeouts),
        (framings.len() as u64, 0)
    );
    assert_eq!(stats.messages, 0, "nothing was broadcast");
}

#[test_support::arms(all)]
async fn a_dripping_post_body_gets_408_at_the_body_total_timeout(p: Protocol) {
    let mut config = test_config();
    config.body_read_timeout = Duration::from_secs(5);
    config.body_total_timeout = Duration::from_millis(500);
    let server = spawn_server(config).await;
    let mut post = stalled_post(&server, p, "/messages?channel=c", Framing::Chunked)
        .await
        .unwrap();
    // One byte every 50 ms, well within the read timeout, until the server gives up (5 s at most).
    for _ in 0..100 {
        let timed_out = server.stats().listener(p).unwrap().body_total_timeouts > 0;
        if timed_out || post.drip().await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answer = post.answer(WAIT).await;
    assert_eq!(answer.status, Some(StatusCode::REQUEST_TIMEOUT));
    assert_eq!(answer.end, expected_end(p));
    let l = server.stats().listener(p).unwrap().clone();
    assert_eq!((l.body_total_timeouts, l.body_read_timeouts), (1, 0));
}
