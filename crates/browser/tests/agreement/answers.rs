//! Streamed answers agree: one tab (one client) asking 5, 6 and 8 answers at once, each far longer
//! than the point, and one chat POST due at the end of warm-up, run emulated and in each browser
//! on every arm it streams answers on (`fetch`: every arm it speaks but the WebSocket ones). They must agree on the answers still
//! streaming at the end (in flight), those still queued, the POST completed or stalled, and the
//! connections that carried the answers and the POST; each must match what the browser is known
//! to do ([`truth`]): an answer is a `fetch`, which over HTTP/1.1 holds one of the origin's six
//! connections for its whole length, so six answers stall a seventh, an eighth and the POST;
//! over HTTP/2 and HTTP/3 they are streams of one connection and nothing waits.

use std::time::Duration;

use loadgen::Counter;
use sse_server::Protocol;
use vocab::{BrowserProfile, StreamKind, Workload};

use crate::points::{self, find, Net};

/// The numbers compared, from either client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Agreement {
    /// Answers sent (their response head came) and neither ended nor failed at the end.
    streaming: u64,
    /// Answers still waiting for a slot at the end.
    queued: u64,
    posts_completed: u64,
    posts_stalled_at_end: u64,
    /// Connections that carried the answers and the POST.
    connections: u64,
    /// The server's count of connections that carried requests.
    server_connections: u64,
}

/// One client whose `answers` tabs ask at once (a think time longer than the point) answers of
/// 100,000 tokens (paced by the server at 50 a second), beside the agreement points' POST.
fn workload(answers: u32) -> Workload {
    let mut w = points::workload(&Net::Loopback, 1, answers);
    w.stream_kind = StreamKind::Answer;
    w.answers.think_time = Duration::from_secs(60);
    w.answers.request.max_tokens = 100_000;
    w
}

/// What the browser is known to do (docs/browsers.md, "Six connections per origin", "The wait
/// queue", "HTTP/2 streams", "HTTP/3 streams"): the answers are fetches, FIFO with the POST in
/// the one pool.
fn truth(arm: Protocol, answers: u64) -> Agreement {
    if arm.is_multiplexed() {
        return Agreement {
            streaming: answers,
            queued: 0,
            posts_completed: 1,
            posts_stalled_at_end: 0,
            connections: 1,
            server_connections: 1,
        };
    }
    let streaming = answers.min(6);
    let post_gets_a_slot = answers < 6;
    Agreement {
        streaming,
        queued: answers - streaming,
        posts_completed: u64::from(post_gets_a_slot),
        posts_stalled_at_end: u64::from(!post_gets_a_slot),
        connections: (answers + u64::from(post_gets_a_slot)).min(6),
        server_connections: (answers + u64::from(post_gets_a_slot)).min(6),
    }
}

async fn emulated(arm: Protocol, answers: u32) -> Agreement {
    let (out, server_connections) =
        points::run_emulated(&Net::Loopback, arm, workload(answers), None).await;
    assert!(out.fatal.is_none(), "emulated {arm}: {:?}", out.fatal);
    let m = &out.metrics;
    assert_eq!(m.total_errors(), 0, "emulated {arm} {answers}: errors");
    let at_end = out.answers.expect("a point with answers");
    assert_eq!(m.get(Counter::AnswersScheduled), u64::from(answers));
    Agreement {
        streaming: at_end.streaming,
        queued: at_end.queued,
        posts_completed: m.get(Counter::PostsCompleted),
        posts_stalled_at_end: out.posts_stalled_at_end,
        connections: m.get(Counter::ConnectionsCarryingRequests),
        server_connections,
    }
}

/// The browser's side of one point of [`answers`], checked and reduced to what is compared.
fn reduce(
    kind: BrowserProfile,
    arm: Protocol,
    answers: u32,
    out: browser::PointOutcome,
) -> Agreement {
    let context = format!("{kind} {arm} {answers}: {out:#?}");
    assert_eq!(out.visibility, "visible", "{context}");
    assert_eq!(out.requests_failed, 0, "{context}");
    let a = out.answers.as_ref().expect("the page's answers");
    assert_eq!(a.scheduled, u64::from(answers), "{context}");
    assert!(a.failed.is_empty(), "{context}");
    assert!(a.tokens > 0, "the answers streamed: {context}");
    // The document's connection is reused by the first answer: none carried the page alone.
    assert_eq!(out.connections.page_only, 0, "{context}");
    let server_connections = out
        .server
        .as_ref()
        .expect("the server's counters")
        .connections_carrying_requests;
    assert_eq!(server_connections, out.connections.any, "{context}");
    Agreement {
        streaming: a.streaming_at_end,
        queued: a.queued_at_end,
        posts_completed: out.posts_completed,
        posts_stalled_at_end: out.posts_stalled_at_end,
        connections: out.connections.streams_and_posts,
        server_connections,
    }
}

/// 5, 6 and 8 answers at once on `arm`, emulated and in `kind` (`answers::chromium::h3`, ...).
/// The points are independent (each has its own server; in the browser, its own context, with
/// its own connection pool: `two_clients_have_their_own_pools`), so they run at once, the
/// browser's in one browser.
#[test_support::browsers(sse, flavor = "multi_thread", worker_threads = 2)]
async fn answers(kind: BrowserProfile, arm: Protocol) {
    const SWEEP: [u32; 3] = [5, 6, 8];
    let path = find(kind);
    let points: Vec<_> = SWEEP.iter().map(|&n| (workload(n), None)).collect();
    let (emulated, real) = tokio::join!(
        futures_util::future::join_all(SWEEP.iter().map(|&n| emulated(arm, n))),
        points::real_points(&Net::Loopback, kind, &path, arm, &points),
    );
    for ((answers, e), out) in SWEEP.into_iter().zip(emulated).zip(real) {
        let b = reduce(kind, arm, answers, out);
        println!("{arm} {answers} answers + a POST: emulated {e:?}\n{kind}: {b:?}");
        let known = truth(arm, u64::from(answers));
        assert_eq!(
            b, known,
            "{arm}, {answers} answers: {kind} disagrees with its known behaviour"
        );
        assert_eq!(e, b, "{arm}, {answers} answers: emulated vs {kind}");
    }
}
