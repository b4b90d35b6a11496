//! Streamed answers: asked through the client's one pool, timed from their scheduled instant,
//! read token by token, censored at the end of the point, and failed by class on bad input.
//!
//! The expectations come from what the numbers mean (`docs/measurement.md`, "Streamed answers";
//! `scenarios/README.md`, "Metrics: what each number measures"): an answer holds its HTTP/1.1
//! connection for its whole length, so six of them take every slot of the origin and the seventh
//! answer and a chat POST wait; on HTTP/2 they are streams of one connection and nothing waits.

use std::time::{Duration, Instant};

use loadgen::{
    Counter, ErrorClass, Latency, PointConfig, PointOutcome, Protocol, StreamKind, Target,
};
use sse_server::{Pace, ServerConfig};
use sse_wire::answer::openai;
use test_support::emulation;
use test_support::scripted::{self, Options, Reply, Step, Then};

const SECOND_US: u64 = 1_000_000;

/// `tabs` answer tabs on one client that each ask once in the point (a long think time).
fn tabs(target: Target, tabs: u32) -> PointConfig {
    let mut config = emulation::point(target);
    let w = &mut config.workload;
    w.stream_kind = StreamKind::Answer;
    w.streams_per_client = tabs;
    w.answers.think_time = Duration::from_secs(60);
    w.answers.request.max_tokens = 3;
    config
}

/// The embedded server for `arm`, answering with `tokens` tokens at once, then one every `gap`.
async fn answering(arm: Protocol, gap: Duration) -> (sse_server::RunningServer, Target) {
    emulation::embedded(arm, |c: &mut ServerConfig| {
        c.answers.time_to_first_token = Pace::Fixed(Duration::ZERO);
        c.answers.token_gap = Pace::Fixed(gap);
    })
    .await
}

fn no_errors(out: &PointOutcome) {
    assert!(out.fatal.is_none(), "fatal: {:?}", out.fatal);
    assert_eq!(
        out.metrics.total_errors(),
        0,
        "{:?}",
        emulation::errors(out)
    );
}

/// Tabs asking again and again: every answer read to `[DONE]`, each token timed.
#[test_support::arms(all)]
async fn tabs_ask_again_after_their_think_time(arm: Protocol) {
    let (_server, target) = answering(arm, Duration::from_millis(10)).await;
    let mut config = tabs(target, 2);
    config.workload.answers.think_time = Duration::from_millis(100);
    config.workload.answers.request.max_tokens = 5;
    let out = emulation::run(&config).await;
    no_errors(&out);
    let m = &out.metrics;
    let completed = m.get(Counter::AnswersCompleted);
    // 1.5 s of asking, an answer about 40 ms long and 100 ms of thinking: several rounds each.
    assert!(completed >= 6, "{completed} answers");
    let answers = out
        .answers
        .expect("a point with answers says where they were");
    assert_eq!(answers.queued, 0);
    // The answers in flight at the end (at most one per tab) are in it too, censored.
    let in_flight = answers.streaming;
    assert!(in_flight <= 2, "at most one per tab");
    let censored = m.censored(Latency::AnswerTime);
    assert_eq!(
        censored, in_flight,
        "each answer in flight censored, nothing else"
    );
    assert_eq!(m.histogram(Latency::AnswerTime).len(), completed + censored);
    assert_eq!(m.histogram(Latency::TimePerOutputToken).len(), completed);
    // Five tokens (four gaps) per completed answer, and up to as many from those in flight.
    let between = |what: &str, n: u64, per_answer: u64| {
        let (low, high) = (per_answer * completed, per_answer * (completed + in_flight));
        assert!(
            (low..=high).contains(&n),
            "{what}: {n}, not in {low}..={high} ({completed} completed, {in_flight} in flight)"
        );
    };
    between("tokens", m.get(Counter::TokensReceived), 5);
    between(
        "inter_token_gap samples",
        m.histogram(Latency::InterTokenGap).len(),
        4,
    );
    between(
        "token_delivery samples",
        m.histogram(Latency::TokenDelivery).len(),
        5,
    );
    assert_eq!(m.get(Counter::AnswerStalls), 0);
    let tpot = m.histogram(Latency::TimePerOutputToken);
    assert!(
        tpot.value_at_quantile(0.5) >= 9_000,
        "paced at 10 ms: {}",
        tpot.value_at_quantile(0.5)
    );
    assert_eq!(
        m.get(Counter::StreamsRequested),
        0,
        "tabs are not EventSources"
    );
}

/// Six answers hold every HTTP/1.1 slot for longer than the point: the seventh answer, asked
/// with them at the start, and the chat POST, due at the end of warm-up, wait for a slot until the
/// end and are censored there. On HTTP/2 all seven and the POST share one connection and nothing waits.
#[test_support::arms(sse, flavor = "multi_thread", worker_threads = 2)]
async fn six_answers_stall_a_seventh_and_a_post_on_http1_only(arm: Protocol) {
    let (_server, target) = answering(arm, Duration::from_millis(100)).await;
    let mut config = tabs(target, 7);
    config.workload.answers.request.max_tokens = 1000;
    // floor(1 x 1.5 s): one POST, at the end of warm-up.
    config.workload.posts.rate_per_client = 1.0;
    let out = emulation::run(&config).await;
    no_errors(&out);
    let m = &out.metrics;
    let answers = out.answers.expect("answers");
    assert_eq!(m.get(Counter::AnswersScheduled), 7);
    assert_eq!(m.get(Counter::AnswersCompleted), 0);
    assert_eq!(m.get(Counter::PostsScheduled), 1);
    assert_eq!(
        m.censored(Latency::AnswerTime),
        7,
        "every answer streams on past the end"
    );
    if arm.is_multiplexed() {
        assert_eq!((answers.streaming, answers.queued), (7, 0));
        assert_eq!(m.get(Counter::PostsCompleted), 1);
        assert_eq!(out.posts_stalled_at_end, 0);
        assert_eq!(m.censored(Latency::AnswerQueueWait), 0);
        assert_eq!(m.censored(Latency::TimeToFirstToken), 0);
    } else {
        assert_eq!((answers.streaming, answers.queued), (6, 1));
        assert_eq!(m.get(Counter::PostsCompleted), 0);
        assert_eq!(out.posts_stalled_at_end, 1);
        assert_eq!(m.censored(Latency::AnswerQueueWait), 1);
        assert_eq!(m.censored(Latency::PostQueueWait), 1);
        assert_eq!(m.censored(Latency::TimeToFirstToken), 1);
        // Censored at the end of the point: it waited the whole point (1.7 s).
        let wait = m.histogram(Latency::AnswerQueueWait);
        assert!(
            wait.max() >= 16 * SECOND_US / 10,
            "answer_queue_wait max {}",
            wait.max()
        );
        assert_eq!(
            m.histogram(Latency::TimeToFirstToken).len(),
            7,
            "six measured, one censored"
        );
    }
}

/// One open-loop answer due at 0.5 s while the client's only thread is stalled from 0.1 s to
/// 1.6 s: its task runs 1.1 s late, and that lateness is in its queue wait and its time to first
/// token (the server answers at once): a late task does not shorten them.
#[test_support::arms(sse, flavor = "current_thread")]
async fn a_late_task_does_not_shorten_the_time_to_first_token(arm: Protocol) {
    let (_server, target) = answering(arm, Duration::from_millis(1)).await;
    let mut config = emulation::point(target);
    let w = &mut config.workload;
    w.streams_per_client = 0;
    w.answers.rate_per_client = 0.5;
    w.answers.request.max_tokens = 3;
    w.warmup = Duration::from_millis(500);
    w.duration = Duration::from_secs(2);
    let start = Instant::now();
    let stall = tokio::spawn(async move {
        tokio::time::sleep_until((start + Duration::from_millis(100)).into()).await;
        // Blocks the runtime's one thread on purpose.
        std::thread::sleep(Duration::from_millis(1500));
    });
    let out = emulation::run(&config).await;
    stall.await.expect("the stall ends");
    no_errors(&out);
    let m = &out.metrics;
    assert_eq!(m.get(Counter::AnswersCompleted), 1);
    let (wait, ttft) = (
        m.histogram(Latency::AnswerQueueWait),
        m.histogram(Latency::TimeToFirstToken),
    );
    assert!(
        wait.min() >= SECOND_US,
        "answer_queue_wait {} us",
        wait.min()
    );
    assert!(
        ttft.min() >= SECOND_US,
        "time_to_first_token {} us",
        ttft.min()
    );
    assert!(
        m.histogram(Latency::AnswerTime).min() >= ttft.min(),
        "the answer ends after its first token"
    );
}

/// How far an answer written by [`answer_bytes`] goes.
#[derive(Clone, Copy, PartialEq)]
enum Until {
    /// Its tokens only.
    Tokens,
    /// Its tokens and the stop chunk, without `[DONE]`.
    Stop,
    /// The whole answer.
    Done,
}

/// An answer as ssebench's server writes it: role, `tokens` tokens, then as far as `until` says.
fn answer_bytes(tokens: usize, until: Until) -> Vec<u8> {
    let mut out = String::new();
    let mut chunk = |delta| {
        out.push_str("data: ");
        openai::write_chunk(1, "m", 0, 0, delta, &mut out);
        out.push_str("\n\n");
    };
    chunk(openai::Delta::Role);
    for _ in 0..tokens {
        chunk(openai::Delta::Content("tok "));
    }
    if until != Until::Tokens {
        chunk(openai::Delta::Stop);
    }
    if until == Until::Done {
        out.push_str("data: [DONE]\n\n");
    }
    out.into_bytes()
}

/// One tab, one answer, from the scripted server's `reply`, in a point of `duration`.
async fn one_answer(arm: Protocol, reply: Reply, duration: Duration) -> PointOutcome {
    let options = Options {
        script_posts: true,
        ..Options::default()
    };
    let (target, seen) = scripted::serve_with(arm, options, move |_| reply.clone()).await;
    let mut config = tabs(target, 1);
    config.workload.duration = duration;
    let out = emulation::run(&config).await;
    assert_eq!(seen.requests(), 1, "one question");
    let body = seen.posts.lock().unwrap_or_else(|e| e.into_inner())[0]
        .0
        .clone();
    assert!(body.contains("\"stream\":true"), "{body}");
    assert!(out.fatal.is_none(), "fatal: {:?}", out.fatal);
    out
}

/// The answer written one byte per read (a thousand reads and more: the point lasts 4 s, so a
/// loaded machine has the time): every token still counted, the answer complete.
#[test_support::arms(sse)]
async fn an_answer_split_into_single_bytes(arm: Protocol) {
    let reply = Reply {
        then: Then::End,
        ..Reply::bytewise(&answer_bytes(3, Until::Done), Duration::ZERO)
    };
    let out = one_answer(arm, reply, Duration::from_secs(4)).await;
    no_errors(&out);
    let m = &out.metrics;
    assert_eq!(m.get(Counter::AnswersCompleted), 1);
    assert_eq!(m.get(Counter::TokensReceived), 3);
    assert_eq!(m.histogram(Latency::InterTokenGap).len(), 2);
}

/// Bad input from a server: each a failed answer of its class, counted once, never a panic.
#[test_support::arms(sse)]
async fn bad_answers_fail_by_class(arm: Protocol) {
    let events = |steps: Vec<Step>, then| Reply {
        then,
        ..Reply::events(steps)
    };
    let token = answer_bytes(1, Until::Tokens);
    let cases = [
        (
            "not an event stream",
            Reply {
                content_type: "application/json",
                ..events(vec![Step::Write(b"{}".to_vec())], Then::End)
            },
            ErrorClass::Status,
        ),
        (
            "a 500",
            Reply {
                status: 500,
                ..events(Vec::new(), Then::End)
            },
            ErrorClass::Status,
        ),
        (
            "an error object mid-answer",
            events(
                vec![
                    Step::Write(token.clone()),
                    Step::Write(
                        b"data: {\"error\":{\"message\":\"boom\",\"code\":500}}\n\n".to_vec(),
                    ),
                ],
                Then::Hold,
            ),
            ErrorClass::Status,
        ),
        (
            "invalid JSON in a chunk",
            events(
                vec![
                    Step::Write(token.clone()),
                    Step::Write(b"data: {\"choices\":[\n\n".to_vec()),
                ],
                Then::Hold,
            ),
            ErrorClass::Parse,
        ),
        (
            "a missing [DONE]",
            events(vec![Step::Write(answer_bytes(2, Until::Stop))], Then::End),
            ErrorClass::Reset,
        ),
    ];
    // The cases are independent points (each its own server), run at once.
    let outs = futures_util::future::join_all(
        cases
            .iter()
            .map(|(_, reply, _)| one_answer(arm, reply.clone(), Duration::from_millis(1500))),
    )
    .await;
    for ((what, _, class), out) in cases.into_iter().zip(outs) {
        let m = &out.metrics;
        assert_eq!(
            m.answer_failures(class),
            1,
            "{what}: {:?}",
            emulation::errors(&out)
        );
        assert_eq!(m.total_errors(), 1, "{what}: {:?}", emulation::errors(&out));
        assert_eq!(m.get(Counter::AnswersCompleted), 0, "{what}");
        assert_eq!(
            m.censored(Latency::AnswerTime),
            0,
            "{what}: failed, not still waiting"
        );
        assert_eq!(out.answers.map(|a| a.streaming), Some(0), "{what}");
    }
}

/// The server's `answer_reset_after`: HTTP/2 and HTTP/3 reset the stream, HTTP/1.1 drops the
/// connection.
#[test_support::arms(sse)]
async fn an_answer_reset_mid_way(arm: Protocol) {
    let (_server, target) = emulation::embedded(arm, |c: &mut ServerConfig| {
        c.answers.time_to_first_token = Pace::Fixed(Duration::ZERO);
        // Far enough apart that the two tokens are read before the reset: a reset may discard
        // what it overtakes (h2 drops a reset stream's buffered DATA).
        c.answers.token_gap = Pace::Fixed(Duration::from_millis(200));
        c.faults.answer_reset_after = Some(2);
    })
    .await;
    let out = emulation::run(&tabs(target, 1)).await;
    let m = &out.metrics;
    let class = if arm.is_multiplexed() {
        ErrorClass::RstStream
    } else {
        ErrorClass::Reset
    };
    assert_eq!(m.answer_failures(class), 1, "{:?}", emulation::errors(&out));
    assert_eq!(m.get(Counter::TokensReceived), 2);
    assert_eq!(m.histogram(Latency::TimeToFirstToken).len(), 1);
}

/// A server that answers the question before reading it all and stops the request stream with
/// `H3_NO_ERROR` (RFC 9114, 4.1: the client must not discard the response): the question is
/// 256 KiB against the server's 16 KiB window, so the client is still sending when it is stopped,
/// and the answer is read whole all the same.
#[tokio::test]
async fn an_answer_sent_before_its_question_is_read_h3() {
    let options = Options {
        script_posts: true,
        answer_unread: true,
        ..Options::default()
    };
    let reply = Reply {
        then: Then::End,
        ..Reply::events(vec![Step::Write(answer_bytes(3, Until::Done))])
    };
    let (target, seen) = scripted::serve_with(Protocol::H3, options, move |_| reply.clone()).await;
    let mut config = tabs(target, 1);
    config.workload.answers.request.prompt_bytes = 256 * 1024;
    config.workload.duration = Duration::from_secs(2);
    let out = emulation::run(&config).await;
    assert_eq!(seen.requests(), 1, "one question");
    no_errors(&out);
    let m = &out.metrics;
    assert_eq!(m.get(Counter::AnswersCompleted), 1);
    assert_eq!(m.get(Counter::TokensReceived), 3);
}
