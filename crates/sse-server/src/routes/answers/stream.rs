//! One streamed answer's body, produced as hyper asks for data (so each chunk is stamped when it
//! is handed over, as ticks are): the role chunk at once; then the tokens, the first one its time
//! to first token after the request was read and each next one a drawn gap after the one before
//! (deadlines on one clock, so a reader that fell behind gets the tokens due meanwhile at once, as
//! from a model that kept generating); then the stop chunk and `data: [DONE]`.
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
use sse_wire::answer::openai::{self, Delta};
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

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

/// The body of answer `number`, whose request was read now.
pub(crate) fn open(
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
        let delta = match self.stage {
            Stage::Ended => return None,
            Stage::Role => {
                self.stage = Stage::Tokens(0);
                Delta::Role
            }
            Stage::Tokens(n) if n >= self.spec.tokens => {
                self.stage = Stage::Stop;
                Delta::Stop
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
                return Some(Ok(self.chunk(Delta::Content(word(n)))));
            }
            Stage::Stop => {
                self.stage = Stage::Done;
                incr(&self.counters.answers_done);
                return Some(Ok(Bytes::from(format!("data: {}\n\n", openai::DONE))));
            }
            Stage::Done => {
                self.stage = Stage::Ended;
                return None;
            }
        };
        Some(Ok(self.chunk(delta)))
    }

    /// One `data:` event carrying `delta`, stamped now.
    fn chunk(&mut self, delta: Delta<'_>) -> Bytes {
        self.scratch.clear();
        self.scratch.push_str("data: ");
        openai::write_chunk(
            self.number,
            &self.spec.model,
            self.created,
            sse_wire::stamp::now_unix_ns(),
            delta,
            &mut self.scratch,
        );
        self.scratch.push_str("\n\n");
        Bytes::copy_from_slice(self.scratch.as_bytes())
    }
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
