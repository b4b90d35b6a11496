//! OpenAI's chat completions, streamed: the question is `POST {PATH}` with a JSON body carrying
//! `"stream": true`, `max_tokens` and `messages`; the answer is a `text/event-stream` of `data:`
//! chunks, `{"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"..."},
//! "finish_reason":null}]}`, a last chunk whose `finish_reason` is `"stop"`, then `data: [DONE]`.
//! A chunk may carry `{"error":{...}}` instead when the server fails mid-answer.
//! The question is [`write_request`]'s body; the reader's token is [`read`]'s (any choice's
//! `delta.content`), or whatever a JSON pointer names ([`read_at`]).
//!
//! ssebench's server adds its send stamp to every chunk (`"sent_ns":N`, as its ticks carry it:
//! `crate::stamp`), so the client can time each token's delivery.

use std::borrow::Cow;
use std::fmt::Write;

use serde::Deserialize;

use super::{json_string, question_text, ChunkError, Piece};

/// Where OpenAI's API takes chat completions.
pub const PATH: &str = "/v1/chat/completions";

/// The data of the event that ends an answer.
pub const DONE: &str = "[DONE]";

/// Appends the JSON body of a streamed question: `model`, `max_tokens`, and one user message
/// of `prompt_bytes` bytes (at least a few words).
pub fn write_request(model: &str, max_tokens: u32, prompt_bytes: usize, out: &mut String) {
    let content = question_text(prompt_bytes);
    let _ = write!(
        out,
        "{{\"model\":{},\"stream\":true,\"max_tokens\":{max_tokens},\"messages\":\
         [{{\"role\":\"user\",\"content\":{}}}]}}",
        json_string(model),
        json_string(&content),
    );
}

/// What a chunk says, beside the id and model every chunk of an answer repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delta<'a> {
    /// The first chunk: the assistant's role, no content yet.
    Role,
    /// A token.
    Content(&'a str),
    /// The last chunk before `[DONE]`: no content, `finish_reason` `"stop"`.
    Stop,
}

/// Appends one chunk's JSON (an event's data) for answer `id` of `model`, created at `created`
/// (Unix seconds), stamped with the server's send instant `sent_ns`.
pub fn write_chunk(
    id: u64,
    model: &str,
    created: u64,
    sent_ns: u64,
    delta: Delta<'_>,
    out: &mut String,
) {
    let _ = write!(
        out,
        "{{\"id\":\"chatcmpl-ssebench-{id}\",\"object\":\"chat.completion.chunk\",\
         \"created\":{created},\"model\":{},\"sent_ns\":{sent_ns},\"choices\":[{{\"index\":0,",
        json_string(model),
    );
    match delta {
        Delta::Role => out.push_str(
            "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}",
        ),
        Delta::Content(text) => {
            let _ = write!(
                out,
                "\"delta\":{{\"content\":{}}},\"finish_reason\":null}}]}}",
                json_string(text)
            );
        }
        Delta::Stop => out.push_str("\"delta\":{},\"finish_reason\":\"stop\"}]}"),
    }
}

/// What an event's data means: `[DONE]`, an error object, a token (a choice whose
/// `delta.content` is a non-empty string), or nothing for the reader. Anything but a JSON object
/// (or `[DONE]`) is a [`ChunkError`].
pub fn read(data: &str) -> Result<Piece, ChunkError> {
    if data.trim() == DONE {
        return Ok(Piece::End);
    }
    let chunk: Chunk<'_> = serde_json::from_str(data).map_err(ChunkError)?;
    if let Some(error) = chunk.error {
        return Ok(Piece::Error(error.message.map_or_else(
            || "an error without a message".to_owned(),
            Cow::into_owned,
        )));
    }
    let token = chunk.choices.iter().any(|c| {
        c.delta
            .as_ref()
            .and_then(|d| d.content.as_ref())
            .is_some_and(|text| !text.is_empty())
    });
    Ok(if token { Piece::Token } else { Piece::Empty })
}

/// [`read`], with the token where `pointer` (a JSON pointer into the chunk) says: `[DONE]` and an
/// error object mean what they mean in [`read`].
pub fn read_at(data: &str, pointer: &str) -> Result<Piece, ChunkError> {
    if data.trim() == DONE {
        return Ok(Piece::End);
    }
    let value = super::json(data)?;
    if let Some(error) = value.get("error").filter(|e| e.is_object()) {
        let message = error.get("message").and_then(serde_json::Value::as_str);
        return Ok(Piece::Error(
            message.unwrap_or("an error without a message").to_owned(),
        ));
    }
    if !value.is_object() {
        return Ok(Piece::Empty);
    }
    Ok(super::token_at(&value, pointer))
}

/// The parts of a chunk that matter to the reader; every other field is ignored.
#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(default, borrow)]
    choices: Vec<Choice<'a>>,
    #[serde(default, borrow)]
    error: Option<ErrorObject<'a>>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(default, borrow)]
    delta: Option<ChoiceDelta<'a>>,
}

#[derive(Deserialize)]
struct ChoiceDelta<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ErrorObject<'a> {
    #[serde(default, borrow)]
    message: Option<Cow<'a, str>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(delta: Delta<'_>) -> String {
        let mut out = String::new();
        write_chunk(7, "m", 1_700_000_000, 42, delta, &mut out);
        out
    }

    #[test]
    fn what_the_server_writes_the_client_reads() {
        assert_eq!(read(&chunk(Delta::Role)).unwrap(), Piece::Empty);
        assert_eq!(read(&chunk(Delta::Content("hi "))).unwrap(), Piece::Token);
        assert_eq!(read(&chunk(Delta::Content(""))).unwrap(), Piece::Empty);
        assert_eq!(read(&chunk(Delta::Stop)).unwrap(), Piece::Empty);
        assert_eq!(read(DONE).unwrap(), Piece::End);
        let token = chunk(Delta::Content("a \"quoted\"\nline"));
        let value: serde_json::Value = serde_json::from_str(&token).unwrap();
        assert_eq!(
            value["choices"][0]["delta"]["content"],
            "a \"quoted\"\nline"
        );
        assert_eq!(value["object"], "chat.completion.chunk");
        assert_eq!(crate::stamp::find_sent_ns(&token), Some(42));
    }

    #[test]
    fn other_servers_chunks() {
        // A usage chunk, a null content (tool calls), an escaped token, an error mid-answer.
        assert_eq!(
            read(r#"{"choices":[],"usage":{"total_tokens":3}}"#).unwrap(),
            Piece::Empty
        );
        let null = r#"{"choices":[{"index":0,"delta":{"content":null}}]}"#;
        assert_eq!(read(null).unwrap(), Piece::Empty);
        let escaped = r#"{"choices":[{"delta":{"content":"\u00e9t\u00e9"}}]}"#;
        assert_eq!(read(escaped).unwrap(), Piece::Token);
        let error = r#"{"error":{"message":"boom","type":"server_error","code":500}}"#;
        assert_eq!(read(error).unwrap(), Piece::Error("boom".into()));
        assert_eq!(read(" [DONE] ").unwrap(), Piece::End);
    }

    #[test]
    fn anything_else_is_a_chunk_error() {
        for bad in ["", "{", "not json", "[1,2]", "42", r#"{"choices":{"a":1}}"#] {
            let err = read(bad).expect_err(bad).to_string();
            assert!(err.contains("not the framing's JSON"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_pointer_reads_the_same_chunks_as_the_framing() {
        let pointer = "/choices/0/delta/content";
        for delta in [
            Delta::Role,
            Delta::Content("hi "),
            Delta::Content(""),
            Delta::Stop,
        ] {
            let data = chunk(delta);
            assert_eq!(read_at(&data, pointer).unwrap(), read(&data).unwrap());
        }
        assert_eq!(read_at(DONE, pointer).unwrap(), Piece::End);
        let error = r#"{"error":{"message":"boom"}}"#;
        assert_eq!(
            read_at(error, pointer).unwrap(),
            Piece::Error("boom".into())
        );
        // Another server's place for the text.
        let other = r#"{"token":{"text":"x"}}"#;
        assert_eq!(read_at(other, "/token/text").unwrap(), Piece::Token);
        assert_eq!(read_at(other, pointer).unwrap(), Piece::Empty);
        assert!(read_at("{", pointer).is_err());
    }

    #[test]
    fn the_request_asks_for_a_stream() {
        let mut body = String::new();
        write_request("gpt-x", 12, 64, &mut body);
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["stream"], true);
        assert_eq!(value["max_tokens"], 12);
        assert_eq!(value["model"], "gpt-x");
        assert_eq!(value["messages"][0]["role"], "user");
        assert_eq!(value["messages"][0]["content"].as_str().unwrap().len(), 64);
    }
}
