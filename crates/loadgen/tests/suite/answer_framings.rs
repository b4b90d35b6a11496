//! Streamed answers in every framing, and from servers we did not write: Anthropic's typed events
//! against the embedded server on every arm; a question written from a body template and its
//! tokens found by a JSON pointer; Anthropic's bad input (not an event stream, a 500, an error
//! event mid-answer, invalid JSON, a missing `message_stop`) failed by class, never a panic.
//! What each framing means: `docs/event-stream.md`, "Streamed answers".

use std::time::Duration;

use loadgen::{
    AnswerFraming, Counter, ErrorClass, Latency, PointConfig, PointOutcome, Protocol, StreamKind,
    Target,
};
use sse_server::{Pace, ServerConfig};
use sse_wire::answer::anthropic::{self, Step};
use test_support::emulation;
use test_support::scripted::{self, Options, Reply, Step as Write, Then};

/// One client with `tabs` answer tabs in `framing` (on its own path), each asking once.
fn tabs(target: Target, tabs: u32, framing: AnswerFraming) -> PointConfig {
    let mut config = emulation::point(target);
    let w = &mut config.workload;
    w.stream_kind = StreamKind::Answer;
    w.streams_per_client = tabs;
    w.answers.think_time = Duration::from_secs(60);
    w.answers.request.framing = framing;
    w.answers.request.path = loadgen::defaults::answer_path(framing).to_owned();
    w.answers.request.max_tokens = 3;
    config
}

/// Anthropic's framing against the embedded server's `/v1/messages`: tabs asking again and again,
/// every answer read to `message_stop`, each token timed and its send stamp read.
#[test_support::arms(all)]
async fn anthropic_answers_on_every_arm(arm: Protocol) {
    let (_server, target) = emulation::embedded(arm, |c: &mut ServerConfig| {
        c.answers.time_to_first_token = Pace::Fixed(Duration::ZERO);
        c.answers.token_gap = Pace::Fixed(Duration::from_millis(10));
    })
    .await;
    let mut config = tabs(target, 2, AnswerFraming::Anthropic);
    config.workload.answers.think_time = Duration::from_millis(100);
    config.workload.answers.request.max_tokens = 5;
    let out = emulation::run(&config).await;
    assert!(out.fatal.is_none(), "fatal: {:?}", out.fatal);
    let m = &out.metrics;
    assert_eq!(m.total_errors(), 0, "{:?}", emulation::errors(&out));
    let completed = m.get(Counter::AnswersCompleted);
    assert!(completed >= 6, "{completed} answers");
    // Five tokens per completed answer, and up to five from each answer in flight at the end.
    let in_flight = out.answers.expect("answers counted").streaming;
    let (low, high) = (5 * completed, 5 * (completed + in_flight));
    for (what, n) in [
        ("tokens", m.get(Counter::TokensReceived)),
        (
            "token_delivery samples",
            m.histogram(Latency::TokenDelivery).len(),
        ),
    ] {
        assert!(
            (low..=high).contains(&n),
            "{what}: {n}, not in {low}..={high}"
        );
    }
    assert_eq!(m.histogram(Latency::TimePerOutputToken).len(), completed);
}

/// One tab, one answer, from the scripted server's `reply`, with `tweak` applied to the point.
async fn one_answer(
    arm: Protocol,
    reply: Reply,
    framing: AnswerFraming,
    tweak: impl FnOnce(&mut PointConfig),
) -> (PointOutcome, String) {
    let options = Options {
        script_posts: true,
        ..Options::default()
    };
    let (target, seen) = scripted::serve_with(arm, options, move |_| reply.clone()).await;
    let mut config = tabs(target, 1, framing);
    tweak(&mut config);
    let out = emulation::run(&config).await;
    assert_eq!(seen.requests(), 1, "one question");
    assert!(out.fatal.is_none(), "fatal: {:?}", out.fatal);
    let body = seen.posts.lock().unwrap_or_else(|e| e.into_inner())[0]
        .0
        .clone();
    (out, body)
}

/// A server of another shape: the question is the template's body (its placeholders filled), the
/// tokens are where the pointer says, `[DONE]` still ends the answer (OpenAI's framing).
#[test_support::arms(sse)]
async fn a_body_template_and_a_token_pointer(arm: Protocol) {
    let mut body = String::new();
    for text in ["", "one", "two", "", "three"] {
        body.push_str(&format!("data: {{\"out\":{{\"text\":\"{text}\"}}}}\n\n"));
    }
    body.push_str("data: [DONE]\n\n");
    let reply = Reply {
        then: Then::End,
        ..Reply::events(vec![Write::Write(body.into_bytes())])
    };
    let (out, question) = one_answer(arm, reply, AnswerFraming::OpenAi, |c| {
        let r = &mut c.workload.answers.request;
        r.model = "their-model".into();
        r.body_template = Some(
            r#"{"model": ${model}, "input": ${prompt}, "limit": ${max_tokens}, "stream": true}"#
                .into(),
        );
        r.token_pointer = Some("/out/text".into());
    })
    .await;
    let m = &out.metrics;
    assert_eq!(m.total_errors(), 0, "{:?}", emulation::errors(&out));
    assert_eq!(m.get(Counter::AnswersCompleted), 1);
    assert_eq!(
        m.get(Counter::TokensReceived),
        3,
        "empty texts are not tokens"
    );
    let q: serde_json::Value = serde_json::from_str(&question).expect("JSON");
    assert_eq!(
        (q["model"].as_str(), q["limit"].as_u64()),
        (Some("their-model"), Some(3))
    );
    assert!(q["input"]
        .as_str()
        .is_some_and(|p| p.starts_with("ssebench question")));
}

/// An answer in Anthropic's typed events, as far as `steps` go.
fn typed(tokens: usize, end: bool) -> Vec<u8> {
    let mut out = String::new();
    anthropic::write_step(1, "m", 0, Step::Start, &mut out);
    for _ in 0..tokens {
        anthropic::write_step(1, "m", 0, Step::Text("tok "), &mut out);
    }
    anthropic::write_step(1, "m", 0, Step::Stop { output_tokens: 2 }, &mut out);
    if end {
        anthropic::write_step(1, "m", 0, Step::End, &mut out);
    }
    out.into_bytes()
}

/// Bad input in Anthropic's framing: each a failed answer of its class, counted once.
#[test_support::arms(sse)]
async fn anthropic_bad_input_fails_by_class(arm: Protocol) {
    let events = |steps: Vec<Write>, then| Reply {
        then,
        ..Reply::events(steps)
    };
    let token = typed(1, false);
    let cases = [
        (
            "not an event stream",
            Reply {
                content_type: "application/json",
                ..events(vec![Write::Write(b"{}".to_vec())], Then::End)
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
            "an error event mid-answer",
            events(
                vec![
                    Write::Write(token.clone()),
                    Write::Write(
                        b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
                            .to_vec(),
                    ),
                ],
                Then::Hold,
            ),
            ErrorClass::Status,
        ),
        (
            "invalid JSON in an event",
            events(
                vec![
                    Write::Write(token.clone()),
                    Write::Write(b"event: content_block_delta\ndata: {\"delta\":\n\n".to_vec()),
                ],
                Then::Hold,
            ),
            ErrorClass::Parse,
        ),
        (
            "a missing message_stop",
            events(vec![Write::Write(typed(2, false))], Then::End),
            ErrorClass::Reset,
        ),
    ];
    // The whole answer, split into single bytes: complete.
    let whole = Reply {
        then: Then::End,
        ..Reply::bytewise(&typed(3, true), Duration::ZERO)
    };
    // The cases are independent points (each its own server), run at once.
    let (outs, (out, _)) = tokio::join!(
        futures_util::future::join_all(cases.iter().map(|(_, reply, _)| one_answer(
            arm,
            reply.clone(),
            AnswerFraming::Anthropic,
            |_| {}
        )),),
        one_answer(arm, whole, AnswerFraming::Anthropic, |c| {
            c.workload.duration = Duration::from_secs(4);
        }),
    );
    for ((what, _, class), (out, _)) in cases.into_iter().zip(outs) {
        let m = &out.metrics;
        let errors = emulation::errors(&out);
        assert_eq!(m.answer_failures(class), 1, "{what}: {errors:?}");
        assert_eq!(m.total_errors(), 1, "{what}: {errors:?}");
        assert_eq!(m.get(Counter::AnswersCompleted), 0, "{what}");
        assert_eq!(out.answers.map(|a| a.streaming), Some(0), "{what}");
    }
    assert_eq!(
        out.metrics.total_errors(),
        0,
        "{:?}",
        emulation::errors(&out)
    );
    assert_eq!(out.metrics.get(Counter::AnswersCompleted), 1);
    assert_eq!(out.metrics.get(Counter::TokensReceived), 3);
}
