//! `POST /v1/chat/completions`: streamed answers in OpenAI's chunk format, on every listener: the
//! chunks and their end, the pacing a request asks for, the questions refused, and the faults of
//! answers; `POST /v1/messages`: the same answer in Anthropic's typed events. The delays' distributions (seeded draws, median and p99) are tested where they are
//! drawn (`routes/answers/pace.rs`).

// The tests are plain async fns under `test_support::arms`, where clippy does not see a test.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use sse_server::{AnswerStall, FaultConfig, Protocol, ServerConfig};
use sse_wire::answer::{anthropic, openai, Piece};
use test_support::{connect, eventually, spawn_server, test_config, SseItem, SseReader};

const PATH: &str = openai::PATH;

fn question(max_tokens: u32) -> String {
    let mut body = String::new();
    openai::write_request("test-model", max_tokens, 32, &mut body);
    body
}

/// What an answer's body held: each event's piece and arrival, and how the body ended.
struct Answer {
    pieces: Vec<(Piece, Instant)>,
    chunks: Vec<serde_json::Value>,
    ended_cleanly: bool,
}

impl Answer {
    fn tokens(&self) -> Vec<Instant> {
        self.pieces
            .iter()
            .filter(|(p, _)| *p == Piece::Token)
            .map(|&(_, at)| at)
            .collect()
    }
}

/// POSTs a question for `max_tokens` with `query` and reads the answer to its end.
async fn ask(
    server: &sse_server::RunningServer,
    arm: Protocol,
    max_tokens: u32,
    query: &str,
) -> (Instant, Answer) {
    let mut client = connect(server, arm).await;
    let sent = Instant::now();
    let resp = client
        .request(
            Method::POST,
            &format!("{PATH}?{query}"),
            &[("content-type", "application/json")],
            question(max_tokens).into(),
        )
        .await
        .unwrap();
    let mut reader = SseReader::new(resp);
    let mut answer = Answer {
        pieces: Vec::new(),
        chunks: Vec::new(),
        ended_cleanly: false,
    };
    loop {
        match reader.next().await {
            Ok(Some(SseItem::Event(e))) => {
                let piece = openai::read(&e.data).unwrap();
                if piece != Piece::End {
                    answer.chunks.push(serde_json::from_str(&e.data).unwrap());
                }
                answer.pieces.push((piece, Instant::now()));
            }
            Ok(Some(_)) => {}
            Ok(None) => {
                answer.ended_cleanly = true;
                break;
            }
            Err(_) => break,
        }
    }
    (sent, answer)
}

async fn server_with(tweak: impl FnOnce(&mut ServerConfig)) -> sse_server::RunningServer {
    let mut config = test_config();
    tweak(&mut config);
    spawn_server(config).await
}

#[test_support::arms(all)]
async fn an_answer_is_a_role_chunk_its_tokens_a_stop_chunk_and_done(arm: Protocol) {
    let server = server_with(|_| {}).await;
    let (_, answer) = ask(&server, arm, 5, "ttft_ms=0&gap_ms=1").await;
    let kinds: Vec<Piece> = answer.pieces.iter().map(|(p, _)| p.clone()).collect();
    let mut want = vec![Piece::Empty];
    want.extend(std::iter::repeat_n(Piece::Token, 5));
    want.extend([Piece::Empty, Piece::End]);
    assert_eq!(kinds, want);
    assert!(answer.ended_cleanly, "the body ends after [DONE]");
    let first = &answer.chunks[0];
    assert_eq!(first["object"], "chat.completion.chunk");
    assert_eq!(first["model"], "test-model");
    assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
    for chunk in &answer.chunks {
        assert_eq!(chunk["id"], first["id"], "one id per answer");
        assert!(
            chunk["sent_ns"].as_u64().unwrap() > 0,
            "every chunk is stamped"
        );
    }
    assert_eq!(answer.chunks[6]["choices"][0]["finish_reason"], "stop");
    let stats = server.stats();
    let listener = stats.listener(arm).unwrap();
    assert_eq!(listener.answers_done, 1);
    eventually("the answer is closed", || {
        server.stats().listener(arm).unwrap().answers_open == 0
    })
    .await;
}

/// `POST /v1/messages`: the same answer in Anthropic's typed events, each named on its `event:`
/// line and in its data's `type`, stamped, and ending with `message_stop`.
#[test_support::arms(all)]
async fn an_anthropic_answer_is_typed_events_ending_in_message_stop(arm: Protocol) {
    let server = server_with(|_| {}).await;
    let mut client = connect(&server, arm).await;
    let mut body = String::new();
    anthropic::write_request("claude-test", 3, 32, &mut body);
    let resp = client
        .request(
            Method::POST,
            &format!("{}?ttft_ms=0&gap_ms=1", anthropic::PATH),
            &[("content-type", "application/json")],
            body.into(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut reader = SseReader::new(resp);
    let mut kinds = Vec::new();
    let mut pieces = Vec::new();
    while let Some(item) = reader.next().await.unwrap() {
        let SseItem::Event(e) = item else { continue };
        let data: serde_json::Value = serde_json::from_str(&e.data).unwrap();
        assert_eq!(data["type"], e.event_type.as_str(), "named twice, alike");
        assert!(data["sent_ns"].as_u64().unwrap() > 0, "stamped");
        if e.event_type == "message_start" {
            assert_eq!(data["message"]["model"], "claude-test");
        }
        pieces.push(anthropic::read(&e.event_type, &e.data).unwrap());
        kinds.push(e.event_type);
    }
    let mut want = vec!["message_start", "content_block_start"];
    want.extend(["content_block_delta"; 3]);
    want.extend(["content_block_stop", "message_delta", "message_stop"]);
    assert_eq!(kinds, want);
    let tokens = pieces.iter().filter(|p| **p == Piece::Token).count();
    assert_eq!((tokens, pieces.last()), (3, Some(&Piece::End)));
    assert_eq!(server.stats().listener(arm).unwrap().answers_done, 1);
}

/// The query's pace: token k (from 0) is due its time to first token plus k gaps after the
/// question was read, so it arrives no sooner (the deadlines are on one clock: a token delivered
/// late does not push the next one back).
#[test_support::arms(sse)]
async fn tokens_follow_the_asked_pace(arm: Protocol) {
    let server = server_with(|_| {}).await;
    let (sent, answer) = ask(&server, arm, 4, "ttft_ms=150&gap_ms=60").await;
    let tokens = answer.tokens();
    assert_eq!(tokens.len(), 4);
    for (k, at) in tokens.iter().enumerate() {
        let due = Duration::from_millis(150 + 60 * k as u64);
        assert!(
            *at - sent >= due,
            "token {k} after {:?}, due {due:?}",
            *at - sent
        );
    }
    let span = tokens[3] - tokens[0];
    assert!(span < Duration::from_secs(2), "paced, not held: {span:?}");
}

/// With no `max_tokens`, the server's default; a server whose default pace is a distribution
/// draws it (the first token comes, whatever it drew).
#[tokio::test]
async fn the_server_defaults_apply_when_the_question_names_none() {
    let server = server_with(|c| {
        c.answers.tokens = 3;
        c.answers.token_gap = sse_server::Pace::LogNormal {
            median: Duration::from_millis(2),
            p99: Duration::from_millis(20),
        };
        c.answers.time_to_first_token = sse_server::Pace::Fixed(Duration::ZERO);
    })
    .await;
    let mut client = connect(&server, Protocol::H1).await;
    let resp = client
        .request(
            Method::POST,
            PATH,
            &[],
            r#"{"stream":true,"messages":[]}"#.into(),
        )
        .await
        .unwrap();
    let mut reader = SseReader::new(resp);
    let mut tokens = 0;
    while let Some(item) = reader.next().await.unwrap() {
        if let SseItem::Event(e) = item {
            tokens += usize::from(openai::read(&e.data).unwrap() == Piece::Token);
        }
    }
    assert_eq!(tokens, 3);
}

#[test_support::arms(sse)]
async fn questions_that_cannot_be_answered_are_refused(arm: Protocol) {
    let server = server_with(|c| c.max_body_bytes = 1024).await;
    let mut client = connect(&server, arm).await;
    let (status, body) = client.post(PATH, r#"{"stream":false,"messages":[]}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("stream"), "{body}");
    let (status, body) = client.post(&format!("{PATH}?gap_ms=x"), question(3)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = client.post(PATH, "x".repeat(2048)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let mut client = connect(&server, arm).await;
    let (status, _, _) = client.get_text(PATH).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

/// `slow_first_token` and `answer_stall`: the first token 300 ms later, then a 400 ms pause after
/// the second token.
#[test_support::arms(sse)]
async fn a_slow_first_token_and_a_stall_mid_answer(arm: Protocol) {
    let server = server_with(|c| {
        c.faults = FaultConfig {
            slow_first_token: Some(Duration::from_millis(300)),
            answer_stall: Some(AnswerStall {
                after_tokens: 2,
                length: Duration::from_millis(400),
            }),
            ..FaultConfig::default()
        };
    })
    .await;
    let (sent, answer) = ask(&server, arm, 4, "ttft_ms=0&gap_ms=5").await;
    let tokens = answer.tokens();
    assert_eq!(tokens.len(), 4, "a stall delays, it does not cut");
    assert!(answer.ended_cleanly);
    assert!(tokens[0] - sent >= Duration::from_millis(300));
    assert!(tokens[2] - tokens[1] >= Duration::from_millis(400));
    let listener = server.stats().listener(arm).unwrap().clone();
    assert_eq!((listener.faults_delayed, listener.faults_stalls), (1, 1));
}

/// `answer_reset_after`: after two tokens the body fails (HTTP/2 RST_STREAM, HTTP/1.1 the
/// connection dropped): no `[DONE]`, and not a clean end.
#[test_support::arms(sse)]
async fn a_reset_mid_answer(arm: Protocol) {
    let server = server_with(|c| {
        c.faults.answer_reset_after = Some(2);
    })
    .await;
    // Tokens 200 ms apart: a reset may discard what it overtakes.
    let (_, answer) = ask(&server, arm, 5, "ttft_ms=0&gap_ms=200").await;
    assert_eq!(answer.tokens().len(), 2);
    assert!(!answer.pieces.iter().any(|(p, _)| *p == Piece::End));
    assert!(!answer.ended_cleanly, "the body fails");
    let listener = server.stats().listener(arm).unwrap().clone();
    assert_eq!(
        (listener.faults_streams_closed, listener.answers_done),
        (1, 0)
    );
}
