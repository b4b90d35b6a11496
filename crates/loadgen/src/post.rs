//! The chat pattern's upstream half: POSTs on an open-loop schedule.
//!
//! Each client sends the point's [`PostPlan`]: POSTs at fixed instants, whatever happened to
//! earlier ones, so a POST stuck behind six open SSE streams shows up as latency instead of
//! slowing the schedule (`docs/measurement.md`, "Coordinated omission"). `post_rtt` runs from the
//! POST's scheduled instant to its response read to the end. Each body carries a unique token so
//! subscribers can time its fan-out. On the WebSocket arms the same schedule hands each message
//! to the client's first socket instead (the `websocket` module's outbox).

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::Method;
use tokio::sync::oneshot;
use tokio_util::task::TaskTracker;

use crate::client::Client;
use crate::context::Ctx;
use crate::error::LoadError;
use crate::metrics::Gauge;
use crate::origin::RequestSpec;
use crate::queue::{Priority, QueueTimer, SlotEvent};
use vocab::{Counter, Latency, PostPlan};

/// The schedule of one client: the point's [`PostPlan`] from the end of warm-up, at this
/// client's phase.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    /// When the first POST of the point may be scheduled (the end of warm-up).
    pub start: Instant,
    pub plan: PostPlan,
    /// How many POSTs this client sends ([`PostPlan::per_client`]).
    pub count: usize,
    /// Fraction of one period this client is offset by ([`PostPlan::phase`]).
    pub phase: f64,
    /// This client's first token index.
    pub first_token: usize,
}

impl Schedule {
    pub fn instant(&self, k: usize) -> Instant {
        self.start + self.plan.due(k, self.phase)
    }
}

/// Sends the client's POSTs at their scheduled instants; each runs as its own task in `tasks`.
pub(crate) async fn run_schedule(client: Arc<Client>, schedule: Schedule, tasks: TaskTracker) {
    for k in 0..schedule.count {
        let at = schedule.instant(k);
        tokio::time::sleep_until(at.into()).await;
        client.shared.ctx.metrics.incr(Counter::PostsScheduled);
        client.shared.ctx.metrics.gauge_up(Gauge::PostsPending);
        let token = client.shared.tokens.token(schedule.first_token + k);
        if client.shared.target.arm.is_websocket() {
            // On the WebSocket arms the message goes out on the client's first socket.
            let mut body = String::with_capacity(client.shared.post_body_bytes + 32);
            sse_wire::stamp::write_post_body(token, client.shared.post_body_bytes, &mut body);
            client.ws_outbox.push(&client.shared.ctx, token, at, body);
            continue;
        }
        let stop = client.shared.ctx.stop.clone();
        let client = client.clone();
        let (asked, asked_rx) = oneshot::channel();
        tasks.spawn(async move {
            tokio::select! {
                biased;
                _ = stop.cancelled() => {}
                _ = post_once(&client, at, token, asked) => {}
            }
        });
        // The next POST is scheduled once this one has asked for its slot. A schedule running
        // late issues POSTs back to back, and a task spawned last may run first (tokio's LIFO
        // slot): without this wait, POST k + 1 could take its place in the wait queue before
        // POST k and be served first.
        let _ = asked_rx.await;
    }
}

/// Polls `send` once, which asks for a slot (granted at once, or a place in the wait queue),
/// then says so on `asked`, then runs it to the end.
pub(crate) async fn ask_then_send<F: Future>(send: F, asked: oneshot::Sender<()>) -> F::Output {
    let mut send = std::pin::pin!(send);
    let mut asked = Some(asked);
    std::future::poll_fn(|cx| {
        let polled = send.as_mut().poll(cx);
        if let Some(asked) = asked.take() {
            let _ = asked.send(());
        }
        polled
    })
    .await
}

async fn post_once(client: &Client, scheduled: Instant, token: u64, asked: oneshot::Sender<()>) {
    let shared = &client.shared;
    let metrics = &*shared.ctx.metrics;
    let mut body = String::with_capacity(shared.post_body_bytes + 32);
    sse_wire::stamp::write_post_body(token, shared.post_body_bytes, &mut body);
    let spec = RequestSpec {
        method: Method::POST,
        path: shared.messages_path.clone(),
        headers: vec![(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body: Bytes::from(body),
        priority: Priority::Default,
    };
    // A POST still pending when the point ends has taken at least until then.
    let mut pending = PendingPost {
        ctx: &shared.ctx,
        scheduled,
        done: false,
    };
    let mut queue = QueueTimer::start(&shared.ctx, Gauge::PostsQueued, Latency::PostQueueWait);
    // The POST was wanted at its scheduled instant, however late its task ran.
    queue.wanted_at(scheduled);
    let result = async {
        let send = client.origin.send(&shared.target, &spec, |event| {
            queue.on_slot(event);
            if event == SlotEvent::Sent {
                shared.tokens.mark_sent(token, Instant::now());
            }
        });
        let response = ask_then_send(send, asked).await;
        drop(queue);
        let response = response?;
        let status = response.status;
        response.body.finish().await?;
        if !status.is_success() {
            return Err(LoadError::Status {
                what: "POST",
                status: status.as_u16(),
            });
        }
        Ok(())
    }
    .await;
    // A POST that ends after the end of the point was counted stalled then, and stays so: its
    // `post_rtt` is censored (by `pending`'s drop) and it is neither completed nor failed.
    if !metrics.gauge_down(Gauge::PostsPending) {
        return;
    }
    pending.done = true;
    match result {
        Ok(()) => {
            let now = Instant::now();
            shared.tokens.mark_completed(token, now);
            metrics.record(Latency::PostRtt, now.duration_since(scheduled));
            metrics.incr(Counter::PostsCompleted);
        }
        Err(e) => {
            tracing::debug!("POST failed: {}", vocab::error_chain(&e));
            metrics.error(e.class());
        }
    }
}

/// Records a censored `post_rtt` for a POST dropped at the end of the point before it completed
/// or failed.
struct PendingPost<'a> {
    ctx: &'a Ctx,
    scheduled: Instant,
    done: bool,
}

impl Drop for PendingPost<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.ctx.censor(Latency::PostRtt, self.scheduled);
        }
    }
}
