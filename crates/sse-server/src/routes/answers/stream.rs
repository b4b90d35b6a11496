//! One streamed answer's body, produced as hyper asks for data (so each chunk is stamped when it
//! is handed over, as ticks are): the start at once (OpenAI: the role chunk; Anthropic:
//! `message_start` and `content_block_start`); then the tokens, the first one its time to first
//! token after the request was read and each next one a drawn gap after the one before (deadlines
//! on one clock, so a reader that fell behind gets the tokens due meanwhile at once, as from a
//! model that kept generating); then the stop (OpenAI: the stop chunk; Anthropic:
//! `content_block_stop` and `message_delta`) and the end (`data: [DONE]`; `message_stop`).
//!
//! Faults: `slow_first_token` delays the first token, `answer_stall` holds the answer after some
//! tokens, `answer_reset_after` fails the body after some tokens, when the next is due
//! (RST_STREAM on HTTP/2, the connection dropped on HTTP/1.1). At shutdown, or at its connection's GOAWAY, the answer ends
//! where it is, without `[DONE]`.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use sse_wire::answer::anthropic::{self, Step};
use sse_wire::answer::openai::{self, Delta};
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;
use vocab::AnswerFraming;

use super::pace::Draws;
use super::request::AnswerSpec;
use crate::activity::StreamActivity;
use crate::app::Conn;
use crate::faults::{AnswerStall, FaultConfig};
use crate::routes::response::{Body, BodyError};
use crate::stats::{decr, incr, ListenerCounters};

/// Where an answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Role,
    /// Tokens written so far.
    Tokens(u32),
    Stop,
    Done,
    Ended,
}

#[derive(Debug)]
struct Answer {
    framing: AnswerFraming,
    spec: AnswerSpec,
    draws: Draws,
    /// The answer's number on this server (its chunks' id).
    number: u64,
    /// Unix seconds, as every chunk's `created`.
    created: u64,
    stage: Stage,
    /// When the next token is due.
    due: Instant,
    stall: Option<AnswerStall>,
    reset_after: Option<u32>,
    shutdown: CancellationToken,
    counters: Arc<ListenerCounters>,
    activity: StreamActivity,
    scratch: String,
}

/// The body of answer `number` in `framing`, whose request was read now.
pub(crate) fn open(
    framing: AnswerFraming,
    spec: AnswerSpec,
    mut draws: Draws,
    number: u64,
    conn: &Conn,
    faults: &FaultConfig,
) -> Body {
    let counters = Arc::clone(&conn.counters);
    let mut first = draws.draw(spec.time_to_first_token);
    if let Some(slow) = faults.slow_first_token {
        incr(&counters.faults_delayed);
        first += slow;
    }
    incr(&counters.answers_open);
    let answer = Answer {
        framing,
        spec,
        draws,
        number,
        created: sse_wire::stamp::now_unix_ns() / 1_000_000_000,
        stage: Stage::Role,
        due: Instant::now() + first,
        stall: faults.answer_stall,
        reset_after: faults.answer_reset_after,
        shutdown: conn.streams.clone(),
        counters,
        activity: conn.activity.stream(),
        scratch: String::new(),
    };
    let frames = futures_util::stream::unfold(answer, |mut a| async move {
        let frame = a.next_frame().await?;
        Some((frame, a))
    })
    .map(|frame| frame.map(Frame::data));
    StreamBody::new(frames).boxed_unsync()
}

impl Answer {
    /// The next chunk, `None` at the end, or an error to reset the body.
    async fn next_frame(&mut self) -> Option<Result<Bytes, BodyError>> {
        self.activity.taken();
        let frame = self.produce().await;
        match &frame {
            Some(Ok(_)) => self.activity.handed(),
            _ => self.stage = Stage::Ended,
        }
        frame
    }

    async fn produce(&mut self) -> Option<Result<Bytes, BodyError>> {
        let piece = match self.stage {
            Stage::Ended => return None,
            Stage::Role => {
                self.stage = Stage::Tokens(0);
                Written::Start
            }
            Stage::Tokens(n) if n >= self.spec.tokens => {
                self.stage = Stage::Stop;
                Written::Stop
            }
            Stage::Tokens(n) => {
                if let Some(stall) = self.stall.filter(|s| s.after_tokens == n) {
                    incr(&self.counters.faults_stalls);
                    self.due = self.due.max(Instant::now()) + stall.length;
                }
                tokio::select! {
                    biased;
                    () = self.shutdown.cancelled() => return None,
                    () = sleep_until(self.due) => {}
                }
                // The reset comes when the next token is due, so the tokens before it have left.
                if self.reset_after == Some(n) {
                    incr(&self.counters.faults_streams_closed);
                    return Some(Err(BodyError::FaultReset));
                }
                self.due += self.draws.draw(self.spec.token_gap);
                self.stage = Stage::Tokens(n + 1);
                Written::Token(word(n))
            }
            Stage::Stop => {
                self.stage = Stage::Done;
                incr(&self.counters.answers_done);
                Written::End
            }
            Stage::Done => {
                self.stage = Stage::Ended;
                return None;
            }
        };
        Some(Ok(self.write(piece)))
    }

    /// The events of `piece` in the answer's framing, stamped now.
    fn write(&mut self, piece: Written) -> Bytes {
        let (number, model, sent_ns) = (
            self.number,
            &self.spec.model,
            sse_wire::stamp::now_unix_ns(),
        );
        let out = &mut self.scratch;
        out.clear();
        match self.framing {
            AnswerFraming::OpenAi => {
                let delta = match piece {
                    Written::Start => Delta::Role,
                    Written::Token(text) => Delta::Content(text),
                    Written::Stop => Delta::Stop,
                    Written::End => return Bytes::from(format!("data: {}\n\n", openai::DONE)),
                };
                out.push_str("data: ");
                openai::write_chunk(number, model, self.created, sent_ns, delta, out);
                out.push_str("\n\n");
            }
            AnswerFraming::Anthropic => {
                let step = match piece {
                    Written::Start => Step::Start,
                    Written::Token(text) => Step::Text(text),
                    Written::Stop => Step::Stop {
                        output_tokens: self.spec.tokens,
                    },
                    Written::End => Step::End,
                };
                anthropic::write_step(number, model, sent_ns, step, out);
            }
        }
        Bytes::copy_from_slice(out.as_bytes())
    }
}

/// What the answer writes next, in any framing.
#[derive(Debug, Clone, Copy)]
enum Written {
    Start,
    Token(&'static str),
    Stop,
    End,
}

impl Drop for Answer {
    fn drop(&mut self) {
        decr(&self.counters.answers_open);
    }
}

/// Token `n`'s text: a word and a space.
fn word(n: u32) -> &'static str {
    const WORDS: [&str; 8] = [
        "streamed ",
        "answers ",
        "arrive ",
        "token ",
        "by ",
        "token ",
        "over ",
        "SSE ",
    ];
    WORDS[n as usize % WORDS.len()]
}
