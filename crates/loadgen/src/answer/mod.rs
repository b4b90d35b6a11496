//! Streamed answers: the LLM chat pattern, where the page POSTs a question with `fetch()` and
//! reads the answer's `text/event-stream` token by token (`reader`). Each answer goes through the
//! client's one pool, as a `fetch` does: on HTTP/1.1 it holds one of the six connections for its
//! whole length, FIFO with the EventSources and chat POSTs; on HTTP/2 it is a stream under the
//! server's limit. An answer never reconnects: one that breaks is an error of its class
//! (`answers_failed_<class>`, and `errors_<class>`).
//!
//! Two schedules ask them:
//! - a tab (a stream of kind `answer`): asks when it is created, as an EventSource opens (after
//!   the page; clients spread over one think time), then again the think time after its answer
//!   ended ([`run_tab`]). Closed loop by
//!   nature: a tab does not ask while its answer runs, so a slower server makes it ask less; its
//!   answers are still timed from their scheduled instant;
//! - open loop at `rate_per_client` ([`run_schedule`]): fixed instants, as POSTs, whatever happened
//!   to the earlier answers.
//!
//! Every latency starts at the answer's scheduled instant, however late its task ran
//! (`docs/measurement.md`, "Streamed answers"): `answer_queue_wait` to its slot,
//! `time_to_first_token` to its first token, `answer_time` to its end marker; `inter_token_gap`
//! between its tokens, `time_per_output_token` over them. An answer still queued or streaming when
//! the point ends is censored at that instant.

mod bursts;
mod probe;
mod reader;

pub use bursts::{looks_buffered, BUFFERED_SHARE};
pub use probe::probe_answers;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use http::Method;
use tokio::sync::oneshot;
use tokio_util::task::TaskTracker;

use crate::client::Client;
use crate::context::Ctx;
use crate::defaults::ANSWER_RETRY_PAUSE;
use crate::error::LoadError;
use crate::metrics::{Gauge, Metrics};
use crate::origin::RequestSpec;
use crate::post::ask_then_send;
use crate::queue::{Priority, QueueTimer, SlotEvent};
use bursts::Bursts;
use reader::{AnswerReader, Arrival};
use vocab::{AnswerFraming, AnswerPlan, AnswerRequest, Counter, Latency};

/// The body every question of `request` POSTs: its template filled, else the framing's own.
pub(crate) fn request_body(request: &AnswerRequest) -> Bytes {
    use sse_wire::answer::{anthropic, openai, template};
    let (model, tokens, bytes) = (&request.model, request.max_tokens, request.prompt_bytes);
    let mut body = String::new();
    match (&request.body_template, request.framing) {
        (Some(t), _) => body = template::fill(t, model, tokens, bytes),
        (None, AnswerFraming::OpenAi) => openai::write_request(model, tokens, bytes, &mut body),
        (None, AnswerFraming::Anthropic) => {
            anthropic::write_request(model, tokens, bytes, &mut body);
        }
    }
    Bytes::from(body)
}

/// How an answer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Completed,
    Failed,
}

/// A tab: asks at `first` (or now, if later), then again `think_time` after each answer ended
/// (at least [`ANSWER_RETRY_PAUSE`] after one that failed), until the point stops.
pub(crate) async fn run_tab(client: Arc<Client>, first: Instant) {
    let plan: &AnswerPlan = &client.shared.answers;
    let mut at = first.max(Instant::now());
    loop {
        tokio::time::sleep_until(at.into()).await;
        let (ended, how) = answer_once(&client, at, None).await;
        let pause = match how {
            Ended::Completed => plan.think_time,
            Ended::Failed => plan.think_time.max(ANSWER_RETRY_PAUSE),
        };
        at = ended + pause;
    }
}

/// The open-loop answers of one client: `count` of them, answer `k` at `start` +
/// [`AnswerPlan::due`]`(k, phase)`; each runs as its own task in `tasks`.
pub(crate) async fn run_schedule(
    client: Arc<Client>,
    start: Instant,
    count: usize,
    phase: f64,
    tasks: TaskTracker,
) {
    for k in 0..count {
        let at = start + client.shared.answers.due(k, phase);
        tokio::time::sleep_until(at.into()).await;
        let stop = client.shared.ctx.stop.clone();
        let task_client = client.clone();
        let (asked, asked_rx) = oneshot::channel();
        tasks.spawn(async move {
            tokio::select! {
                biased;
                _ = stop.cancelled() => {}
                _ = answer_once(&task_client, at, Some(asked)) => {}
            }
        });
        // As for POSTs: the next answer asks for its slot only after this one did, so that they
        // queue in schedule order.
        let _ = asked_rx.await;
    }
}

/// Asks one answer scheduled at `scheduled` and reads it to its end; says on `asked` once it has
/// asked for its slot. Returns when and how it ended.
async fn answer_once(
    client: &Client,
    scheduled: Instant,
    asked: Option<oneshot::Sender<()>>,
) -> (Instant, Ended) {
    let shared = &client.shared;
    let metrics = &*shared.ctx.metrics;
    metrics.incr(Counter::AnswersScheduled);
    let mut state = AnswerState {
        ctx: &shared.ctx,
        scheduled,
        first_token: false,
        streaming: false,
        over: false,
        bursts: None,
    };
    let result = ask(client, &mut state, asked).await;
    let at = Instant::now();
    state.over = true;
    state.set_streaming(false);
    match result {
        Ok(()) => (at, Ended::Completed),
        Err(e) => {
            tracing::debug!("answer failed: {}", vocab::error_chain(&e));
            metrics.answer_failed(e.class());
            (at, Ended::Failed)
        }
    }
}

/// The request, the response and its body, to the end marker; then the rest of the body, so an
/// HTTP/1.1 connection goes back to the pool.
async fn ask(
    client: &Client,
    state: &mut AnswerState<'_>,
    asked: Option<oneshot::Sender<()>>,
) -> Result<(), LoadError> {
    let shared = &client.shared;
    let metrics = &*shared.ctx.metrics;
    let plan = &shared.answers;
    let spec = RequestSpec {
        method: Method::POST,
        path: plan.request.path.clone(),
        headers: vec![
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (ACCEPT, HeaderValue::from_static("text/event-stream")),
        ],
        body: shared.answer_body.clone(),
        priority: Priority::Default,
    };
    let mut queue = QueueTimer::start(&shared.ctx, Gauge::AnswersQueued, Latency::AnswerQueueWait);
    // The answer was wanted at its scheduled instant, however late its task ran.
    queue.wanted_at(state.scheduled);
    // Boxed, as for an event stream (crates/loadgen/src/sse.rs): the request's future lives only
    // until the response head.
    let send = Box::pin(client.origin.send(&shared.target, &spec, |event| {
        queue.on_slot(event);
        match event {
            SlotEvent::Granted => {
                state.set_streaming(true);
            }
            SlotEvent::Requeued => {
                state.set_streaming(false);
            }
            // The first group of tokens is timed from here: behind a buffering proxy the response
            // head comes with the first burst.
            SlotEvent::Sent => state.bursts = Some(Bursts::new(Instant::now())),
        }
    }));
    let response = match asked {
        Some(asked) => ask_then_send(send, asked).await,
        None => send.await,
    };
    drop(queue);
    let mut body = response?.into_event_stream("answer")?;
    let request = &plan.request;
    let pointer = request.token_pointer.as_deref();
    let mut reader = AnswerReader::new(request.framing, pointer, shared.parser_limits);
    while let Some(chunk) = body.next_chunk().await {
        let chunk = chunk?;
        let arrival = Arrival::now();
        reader.feed(&chunk, arrival, &shared.send_stamp, |token| {
            state.token(metrics, plan.stall_threshold, token);
        })?;
        if let Some(done) = reader.ended() {
            state.over = true;
            // Counted streaming at the end of the point if it ends after it: not completed too.
            if state.set_streaming(false) {
                completed(metrics, state.scheduled, done, &reader);
            }
            // The rest of the body (its end, normally) is not part of the answer.
            let _ = body.finish().await;
            return Ok(());
        }
    }
    Err(LoadError::AnswerTruncated)
}

fn completed(metrics: &Metrics, scheduled: Instant, done: Instant, reader: &AnswerReader<'_>) {
    metrics.incr(Counter::AnswersCompleted);
    metrics.record(
        Latency::AnswerTime,
        done.saturating_duration_since(scheduled),
    );
    if let Some(tpot) = reader.time_per_output_token() {
        metrics.record(Latency::TimePerOutputToken, tpot);
    }
}

/// One answer's progress, for its samples and gauges; censors what it still waited for if it is
/// dropped at the end of the point.
struct AnswerState<'a> {
    ctx: &'a Ctx,
    scheduled: Instant,
    first_token: bool,
    /// Counted in [`Gauge::AnswersStreaming`].
    streaming: bool,
    /// Completed or failed.
    over: bool,
    /// Its tokens' groups, from its request sent on (`tokens_in_bursts`, counted when it ends).
    bursts: Option<Bursts>,
}

impl AnswerState<'_> {
    /// Counts the answer streaming or not; `false` when the point had ended before this change
    /// (the gauges are frozen: the answer stays as it was counted at the end).
    fn set_streaming(&mut self, streaming: bool) -> bool {
        if self.streaming == streaming || (streaming && self.over) {
            return !self.ctx.metrics.gauges_frozen();
        }
        self.streaming = streaming;
        if streaming {
            self.ctx.metrics.gauge_up(Gauge::AnswersStreaming);
            true
        } else {
            self.ctx.metrics.gauge_down(Gauge::AnswersStreaming)
        }
    }

    fn token(&mut self, metrics: &Metrics, stall_threshold: Duration, token: reader::Token) {
        metrics.incr(Counter::TokensReceived);
        if let Some(bursts) = &mut self.bursts {
            bursts.token(token.at);
        }
        if !std::mem::replace(&mut self.first_token, true) {
            metrics.record(
                Latency::TimeToFirstToken,
                token.at.saturating_duration_since(self.scheduled),
            );
        }
        if let Some(gap) = token.gap {
            metrics.record(Latency::InterTokenGap, gap);
            if gap > stall_threshold {
                metrics.incr(Counter::AnswerStalls);
            }
        }
        if let Some(delivery) = token.delivery {
            metrics.record(Latency::TokenDelivery, delivery);
        }
    }
}

impl Drop for AnswerState<'_> {
    fn drop(&mut self) {
        self.set_streaming(false);
        if let Some(bursts) = &self.bursts {
            let n = bursts.tokens_in_bursts();
            if n > 0 {
                self.ctx.metrics.add(Counter::TokensInBursts, n);
            }
        }
        if !self.over {
            // Dropped at the end of the point (nothing else drops an answer): what it waited for
            // has taken at least until then.
            self.ctx.censor(Latency::AnswerTime, self.scheduled);
            if !self.first_token {
                self.ctx.censor(Latency::TimeToFirstToken, self.scheduled);
            }
        }
    }
}
