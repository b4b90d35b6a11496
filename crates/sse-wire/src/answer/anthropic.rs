//! Anthropic's messages API, streamed: the question is `POST {PATH}` with a JSON body carrying
//! `"stream": true`, `max_tokens`, `model` and `messages`; the answer is a `text/event-stream` of
//! typed events, each named twice (its `event:` line and its data's `"type"`):
//! `message_start`, `content_block_start`, `ping`s, one `content_block_delta` per piece of text
//! (`"delta":{"type":"text_delta","text":"..."}`), `content_block_stop`, `message_delta` (the
//! stop reason and usage) and `message_stop`, which ends the answer. A server that fails
//! mid-answer sends `event: error` with `{"type":"error","error":{"type":..,"message":..}}`.
//!
//! ssebench's server adds its send stamp to every event's data (`"sent_ns":N`, as in
//! [`openai`](super::openai)). The reader's token is [`read`]'s (a non-empty `text` in a
//! `content_block_delta`'s delta), or whatever a JSON pointer names ([`read_at`]).

use std::borrow::Cow;
use std::fmt::Write;

use serde::Deserialize;

use super::{json_string, question_text, ChunkError, Piece};

/// Where Anthropic's API takes messages.
pub const PATH: &str = "/v1/messages";

/// The type of the event that ends an answer.
pub const MESSAGE_STOP: &str = "message_stop";

/// The type of an error event.
const ERROR: &str = "error";

/// The type of a token's event.
const CONTENT_BLOCK_DELTA: &str = "content_block_delta";

/// Appends the JSON body of a streamed question: `model`, `max_tokens`, and one user message of
/// `prompt_bytes` bytes (at least a few words).
pub fn write_request(model: &str, max_tokens: u32, prompt_bytes: usize, out: &mut String) {
    let _ = write!(
        out,
        "{{\"model\":{},\"max_tokens\":{max_tokens},\"stream\":true,\"messages\":\
         [{{\"role\":\"user\",\"content\":{}}}]}}",
        json_string(model),
        json_string(&question_text(prompt_bytes)),
    );
}

/// A step of an answer, as the server writes it: each is one or two whole events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// `message_start` and `content_block_start` (the text block, empty).
    Start,
    /// One `content_block_delta` carrying a token.
    Text(&'a str),
    /// `content_block_stop` and `message_delta` (`end_turn`, with the tokens written).
    Stop { output_tokens: u32 },
    /// `message_stop`.
    End,
}

/// Appends `step` of answer `id` of `model` as whole events (`event:` and `data:` lines, a blank
/// line after each), each stamped with the server's send instant `sent_ns`.
pub fn write_step(id: u64, model: &str, sent_ns: u64, step: Step<'_>, out: &mut String) {
    let mut event = |kind: &str, body: &str| {
        let _ = write!(
            out,
            "event: {kind}\ndata: {{\"type\":\"{kind}\",{body}\"sent_ns\":{sent_ns}}}\n\n"
        );
    };
    match step {
        Step::Start => {
            event(
                "message_start",
                &format!(
                    "\"message\":{{\"id\":\"msg_ssebench_{id}\",\"type\":\"message\",\
                     \"role\":\"assistant\",\"content\":[],\"model\":{},\"stop_reason\":null,\
                     \"stop_sequence\":null,\"usage\":{{\"input_tokens\":0,\"output_tokens\":0}}}},",
                    json_string(model)
                ),
            );
            event(
                "content_block_start",
                "\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"},",
            );
        }
        Step::Text(text) => event(
            CONTENT_BLOCK_DELTA,
            &format!(
                "\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":{}}},",
                json_string(text)
            ),
        ),
        Step::Stop { output_tokens } => {
            event("content_block_stop", "\"index\":0,");
            event(
                "message_delta",
                &format!(
                    "\"delta\":{{\"stop_reason\":\"end_turn\",\"stop_sequence\":null}},\
                     \"usage\":{{\"output_tokens\":{output_tokens}}},"
                ),
            );
        }
        Step::End => event(MESSAGE_STOP, ""),
    }
}

/// What an event means: `message_stop`, an error, a token (a `content_block_delta` whose delta
/// has a non-empty `text`), or nothing for the reader. The type is the data's `"type"`, else the
/// `event:` line's (`event_type`). Data that is not a JSON object is a [`ChunkError`].
pub fn read(event_type: &str, data: &str) -> Result<Piece, ChunkError> {
    let event: Event<'_> = serde_json::from_str(data).map_err(ChunkError)?;
    let kind = event.kind.as_deref().unwrap_or(event_type);
    Ok(match kind {
        MESSAGE_STOP => Piece::End,
        ERROR => Piece::Error(error_message(event.error.and_then(|e| e.message))),
        CONTENT_BLOCK_DELTA
            if event
                .delta
                .and_then(|d| d.text)
                .is_some_and(|t| !t.is_empty()) =>
        {
            Piece::Token
        }
        _ => Piece::Empty,
    })
}

/// [`read`], with the token where `pointer` (a JSON pointer into the event's data) says.
pub fn read_at(event_type: &str, data: &str, pointer: &str) -> Result<Piece, ChunkError> {
    let value = super::json(data)?;
    let kind = value
        .get("type")
        .and_then(serde_json::Value::as_str)
        .unwrap_or(event_type);
    Ok(match kind {
        MESSAGE_STOP => Piece::End,
        ERROR => Piece::Error(error_message(
            value
                .pointer("/error/message")
                .and_then(serde_json::Value::as_str)
                .map(Cow::Borrowed),
        )),
        _ => super::token_at(&value, pointer),
    })
}

fn error_message(message: Option<Cow<'_, str>>) -> String {
    message.map_or_else(|| "an error without a message".to_owned(), Cow::into_owned)
}

/// The parts of an event's data that matter to the reader; every other field is ignored.
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(default, rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    delta: Option<Delta<'a>>,
    #[serde(default, borrow)]
    error: Option<ErrorObject<'a>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ErrorObject<'a> {
    #[serde(default, borrow)]
    message: Option<Cow<'a, str>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Item, Parser};

    /// The events `step` writes, as (type, data) pairs, through the event-stream parser.
    fn events(step: Step<'_>) -> Vec<(String, String)> {
        let mut text = String::new();
        write_step(3, "claude-x", 42, step, &mut text);
        let mut out = Vec::new();
        Parser::new()
            .feed(text.as_bytes(), |item| {
                if let Item::Event(e) = item {
                    out.push((e.event_type.to_owned(), e.data.to_owned()));
                }
            })
            .unwrap();
        out
    }

    #[test]
    fn what_the_server_writes_the_client_reads() {
        let read_all = |step| -> Vec<Piece> {
            events(step)
                .iter()
                .map(|(t, d)| read(t, d).unwrap())
                .collect()
        };
        assert_eq!(read_all(Step::Start), [Piece::Empty, Piece::Empty]);
        assert_eq!(read_all(Step::Text("hi ")), [Piece::Token]);
        assert_eq!(read_all(Step::Text("")), [Piece::Empty]);
        let stop = Step::Stop { output_tokens: 2 };
        assert_eq!(read_all(stop), [Piece::Empty, Piece::Empty]);
        assert_eq!(read_all(Step::End), [Piece::End]);
        // Each event is named twice, alike, and stamped.
        for step in [Step::Start, Step::Text("a \"b\"\n"), stop, Step::End] {
            for (kind, data) in events(step) {
                let value: serde_json::Value = serde_json::from_str(&data).unwrap();
                assert_eq!(value["type"], kind.as_str());
                assert_eq!(crate::stamp::find_sent_ns(&data), Some(42));
            }
        }
        let (_, text) = &events(Step::Text("a \"b\"\n"))[0];
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(value["delta"]["type"], "text_delta");
        assert_eq!(value["delta"]["text"], "a \"b\"\n");
        let (_, start) = &events(Step::Start)[0];
        let value: serde_json::Value = serde_json::from_str(start).unwrap();
        assert_eq!(value["message"]["model"], "claude-x");
    }

    #[test]
    fn anthropics_own_events() {
        // As the API reference shows them: a ping, a tool's JSON delta, a thinking delta, the
        // stop, an error mid-answer (overloaded).
        let cases = [
            ("ping", r#"{"type": "ping"}"#, Piece::Empty),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#,
                Piece::Token,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\""}}"#,
                Piece::Empty,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hm"}}"#,
                Piece::Empty,
            ),
            ("message_stop", r#"{"type":"message_stop"}"#, Piece::End),
            (
                "error",
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
                Piece::Error("Overloaded".into()),
            ),
            // The type from the `event:` line when the data has none.
            ("message_stop", "{}", Piece::End),
        ];
        for (kind, data, piece) in cases {
            assert_eq!(read(kind, data).unwrap(), piece, "{kind} {data}");
            let pointed = read_at(kind, data, "/delta/text").unwrap();
            assert_eq!(pointed, piece, "pointer: {kind} {data}");
        }
    }

    #[test]
    fn anything_else_is_a_chunk_error() {
        for bad in ["", "{", "not json", "[1,2]", "42", r#"{"delta":[1]}"#] {
            let err = read("content_block_delta", bad).expect_err(bad).to_string();
            assert!(err.contains("not the framing's JSON"), "{bad}: {err}");
        }
        assert!(read_at("x", "{", "/delta/text").is_err());
    }

    #[test]
    fn the_request_asks_for_a_stream() {
        let mut body = String::new();
        write_request("claude-x", 12, 64, &mut body);
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["stream"], true);
        assert_eq!(value["max_tokens"], 12);
        assert_eq!(value["model"], "claude-x");
        assert_eq!(value["messages"][0]["role"], "user");
        assert_eq!(value["messages"][0]["content"].as_str().unwrap().len(), 64);
    }
}
