//! One sweep point: N virtual clients, each with its streams (EventSources, or WebSockets on the
//! `ws` and `wss` arms, or answer tabs), its POST schedule (chat messages on its first WebSocket)
//! and its open-loop answers, for a bounded time. The point ends by itself at `warmup + duration`, earlier on a fatal error or when
//! the caller's stop token fires (Ctrl-C); in every case what was measured is returned, with the
//! loss proof ([`DeliveryTally`]) computed at the instant the point ended.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tokio_util::task::TaskTracker;

use crate::answer;
use crate::client::Client;
use crate::context::{Ctx, PointShared};
use crate::delivery::{Delivery, DeliveryTally, TokenTable};
use crate::error::Fatal;
use crate::metrics::{Gauge, Metrics, QuicPackets};
use crate::post::{run_schedule, Schedule};
use crate::sse::run_stream;
use crate::target::Target;
use crate::websocket::run_socket;
use vocab::{BrowserProfile, PostPlan, StreamKind, Workload};

/// The validated settings of one sweep point.
#[derive(Debug, Clone)]
pub struct PointConfig {
    pub target: Arc<Target>,
    /// What the clients do: how many (the clients this process runs), their streams, warm-up and
    /// measured time, POSTs, paths on the server (a path in the arm's target URL takes the
    /// WebSockets' place: [`Target::websocket_path`]) and reconnection delay (set it from
    /// [`defaults::reconnect_delay`](crate::defaults::reconnect_delay) for the profile).
    pub workload: Workload,
    /// When the point's clients are split over several processes (shards): which part this
    /// process runs. `None` runs them all.
    pub shard: Option<Shard>,
    /// The HTTP/1.1 cap (6 in browsers). Ignored by the HTTP/2 arms.
    pub max_connections_per_origin: usize,
    /// The same-origin page each client loads before its streams and POSTs start, as a browser
    /// does (`client.rs`); `None` starts them on a fresh pool.
    pub page_path: Option<String>,
    /// Whose rules the clients follow where the browsers differ (HTTP/2 windows and stream cap).
    pub profile: BrowserProfile,
    pub connect_timeout: Duration,
    /// How long to wait for tasks to stop at the end before abandoning them.
    pub drain_timeout: Duration,
    /// The loss proof ignores POSTs that completed less than this before the end of a stream's
    /// coverage: their events may still be on the way (see [`DeliveryTally`]).
    pub loss_grace: Duration,
    /// Caps on each event stream's lines and events; over them the connection counts as
    /// `errors_parse` and the stream reconnects.
    pub parser_limits: sse_wire::Limits,
    /// Where events carry the server's send instant, for `event_delivery` (ssebench's server:
    /// `"sent_ns"` in nanoseconds; another server may use another field and unit).
    pub send_stamp: sse_wire::stamp::SendStamp,
}

/// One part of a point whose clients are split over N processes: shard `index` (0-based) runs the
/// clients whose global index `i` has `i % count == index`, so POST phases stay spread as in one
/// process and every client runs exactly once across the shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
    /// Clients of the whole point, all shards together.
    pub total_clients: u32,
}

impl Shard {
    /// How many of `total` clients shard `index` of `count` runs.
    pub fn clients_of(index: u32, count: u32, total: u32) -> u32 {
        total / count + u32::from(index < total % count)
    }

    /// The global index of this shard's `k`-th client.
    fn global(self, k: u32) -> u32 {
        self.index + k * self.count
    }
}

/// What a point measured, and why it ended.
#[derive(Debug)]
pub struct PointOutcome {
    pub metrics: Arc<Metrics>,
    /// Streams requested and not open when the point ended: waiting for a slot, or granted one
    /// and waiting for their response head (WebSockets: their handshake).
    pub streams_queued_at_end: u64,
    /// Streams open when the point ended.
    pub streams_open_at_end: u64,
    /// POSTs whose instant had come that had not completed when the point ended.
    pub posts_stalled_at_end: u64,
    /// Where the answers were when the point ended; `None` for a point that asks none.
    pub answers: Option<AnswersAtEnd>,
    /// Set when the point stopped early because the measurement could not go on.
    pub fatal: Option<Fatal>,
    /// True when the caller's stop token ended the point (Ctrl-C).
    pub interrupted: bool,
    /// From the start to the end of the point.
    pub elapsed: Duration,
    /// The loss proof; `None` when the point had too many (stream, POST) pairs to track.
    pub delivery: Option<DeliveryTally>,
    /// The client's QUIC packets, on the arms over QUIC (`h3`); `None` on TCP.
    pub quic: Option<QuicPackets>,
}

/// Where a point's answers were when it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswersAtEnd {
    /// Still waiting for a slot.
    pub queued: u64,
    /// Granted their slot, neither completed nor failed.
    pub streaming: u64,
}

impl PointConfig {
    /// One client with one stream against `target`, no POSTs, every other setting from
    /// [`defaults`](crate::defaults) ([`defaults::workload`](crate::defaults::workload)); set
    /// the fields a point needs on top.
    pub fn new(target: Target) -> PointConfig {
        use crate::defaults as d;
        PointConfig {
            target: Arc::new(target),
            workload: d::workload(),
            shard: None,
            max_connections_per_origin: d::CONNECTIONS_PER_ORIGIN,
            page_path: None,
            profile: BrowserProfile::default(),
            connect_timeout: d::CONNECT_TIMEOUT,
            drain_timeout: d::DRAIN_TIMEOUT,
            loss_grace: d::LOSS_GRACE,
            parser_limits: sse_wire::Limits::default(),
            send_stamp: sse_wire::stamp::SendStamp::default(),
        }
    }
}

/// Runs one point. `metrics` may be watched by the caller while it runs (progress).
pub async fn run_point(
    config: &PointConfig,
    metrics: Arc<Metrics>,
    stop: &CancellationToken,
) -> PointOutcome {
    let started = Instant::now();
    let point_stop = stop.child_token();
    let ctx = Arc::new(
        Ctx::new(metrics.clone(), point_stop.clone(), config.connect_timeout)
            .with_profile(config.profile),
    );
    let workload = &config.workload;
    let posts_per_client = workload.posts.per_client(workload.duration);
    let measure_from = started + workload.warmup;
    let nonce = point_nonce();
    let shared = Arc::new(PointShared {
        ctx: ctx.clone(),
        target: config.target.clone(),
        events_path: workload.paths.events.clone(),
        messages_path: workload.paths.messages.clone(),
        websocket_path: config
            .target
            .websocket_path
            .clone()
            .unwrap_or_else(|| workload.paths.websocket.clone()),
        reconnect_delay: workload.reconnect_delay,
        post_body_bytes: workload.posts.body_bytes,
        answer_body: answer::request_body(&workload.answers.request),
        answers: workload.answers.clone(),
        measure_from,
        tokens: TokenTable::new(nonce, posts_per_client * workload.clients as usize, started),
        delivery: Delivery::new(
            started,
            posts_per_client * workload.clients as usize,
            u64::from(workload.clients) * u64::from(workload.event_sources_per_client()),
        ),
        parser_limits: config.parser_limits,
        send_stamp: config.send_stamp.clone(),
    });
    let tasks = TaskTracker::new();
    // The harness's own health: how late this runtime runs timers while the point runs.
    spawn_stoppable(
        &tasks,
        &point_stop,
        crate::health::lag_probe(
            metrics.clone(),
            vocab::Latency::ClientLag,
            point_stop.clone(),
        ),
    );
    let mut clients = Vec::with_capacity(workload.clients as usize);
    let websockets = config.target.arm.is_websocket();
    let answers_per_client = workload.answers.per_client(workload.duration);
    for index in 0..workload.clients {
        // This client's place among all of the point's (shards included), within one period.
        let phase = match config.shard {
            None => PostPlan::phase(index, workload.clients),
            Some(s) => PostPlan::phase(s.global(index), s.total_clients),
        };
        let client = Arc::new(Client::new(
            shared.clone(),
            config.max_connections_per_origin,
            u64::from(nonce) << 32 | u64::from(index),
        ));
        let kind = match workload.stream_kind {
            StreamKind::EventSource => Stream::EventSource { websockets },
            // A tab asks first when it is created, as an EventSource opens, the clients spread
            // over one think time.
            StreamKind::Answer => Stream::AnswerTab {
                first: started + workload.answers.think_time.mul_f64(phase),
            },
        };
        match &config.page_path {
            None => {
                // The page creates its streams now: their waits start here, not when a worker
                // thread first polls each task (late on a busy machine).
                let created = Instant::now();
                for stream in 0..workload.streams_per_client {
                    spawn_stoppable(
                        &tasks,
                        &point_stop,
                        kind.run(client.clone(), stream, created),
                    );
                }
            }
            Some(page) => {
                // The page first, then the streams it creates (the POST and answer schedules keep
                // their own open-loop instants).
                let (client, page, streams) =
                    (client.clone(), page.clone(), workload.streams_per_client);
                let (inner_tasks, inner_stop) = (tasks.clone(), point_stop.clone());
                spawn_stoppable(&tasks, &point_stop, async move {
                    client.load_page(&page).await;
                    let created = Instant::now();
                    for stream in 0..streams {
                        spawn_stoppable(
                            &inner_tasks,
                            &inner_stop,
                            kind.run(client.clone(), stream, created),
                        );
                    }
                });
            }
        }
        if answers_per_client > 0 {
            spawn_stoppable(
                &tasks,
                &point_stop,
                answer::run_schedule(
                    client.clone(),
                    measure_from,
                    answers_per_client,
                    phase,
                    tasks.clone(),
                ),
            );
        }
        if posts_per_client > 0 {
            let schedule = Schedule {
                start: measure_from,
                plan: workload.posts,
                count: posts_per_client,
                phase,
                first_token: index as usize * posts_per_client,
            };
            spawn_stoppable(
                &tasks,
                &point_stop,
                run_schedule(client.clone(), schedule, tasks.clone()),
            );
        }
        clients.push(client);
    }
    let end = measure_from + workload.duration;
    let mut watchdog = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(end.into()) => break,
            _ = point_stop.cancelled() => break,
            _ = watchdog.tick() => ctx.check_down(),
        }
    }
    // Read the end state before anything is torn down; what still waits from here on is censored
    // at this instant.
    let ended = Instant::now();
    ctx.end(ended);
    let gauges = metrics.freeze_gauges();
    let streams_queued_at_end = gauges.get(Gauge::StreamsQueued);
    let streams_open_at_end = gauges.get(Gauge::StreamsOpen);
    let posts_stalled_at_end = gauges.get(Gauge::PostsPending);
    let answers = workload.has_answers().then(|| AnswersAtEnd {
        queued: gauges.get(Gauge::AnswersQueued),
        streaming: gauges.get(Gauge::AnswersStreaming),
    });
    point_stop.cancel();
    tasks.close();
    if tokio::time::timeout(config.drain_timeout, tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            "{} tasks did not stop within {:?}",
            tasks.len(),
            config.drain_timeout
        );
    }
    for client in &clients {
        client.origin.close();
        client.ws_outbox.censor(&ctx);
    }
    let delivery = shared
        .delivery
        .tally(&shared.tokens, ended, config.loss_grace);
    PointOutcome {
        metrics,
        streams_queued_at_end,
        streams_open_at_end,
        posts_stalled_at_end,
        answers,
        fatal: ctx.take_fatal(),
        interrupted: stop.is_cancelled(),
        elapsed: ended.duration_since(started),
        delivery,
        quic: (config.target.arm.transport() == vocab::Transport::Udp).then(|| ctx.quic.read()),
    }
}

/// What a client's streams are, for the point.
#[derive(Debug, Clone, Copy)]
enum Stream {
    /// An EventSource, or on the WebSocket arms a WebSocket (the first of which sends the
    /// client's chat messages).
    EventSource { websockets: bool },
    /// A tab asking answers, the first at `first` (or when the tab is created, if later).
    AnswerTab { first: Instant },
}

impl Stream {
    /// Stream number `stream` of a client. Each kind's future is boxed, so a task holds what its
    /// own kind needs (about 1 to 2 KB) rather than the largest kind's (16.5 KB, measured with
    /// `size_of` in a release build), which every stream paid before. `created`: when the page
    /// created it (`new EventSource`), where its first `queue_wait` and its `time_to_open` start.
    async fn run(self, client: Arc<Client>, stream: u32, created: Instant) {
        match self {
            Stream::EventSource { websockets: true } => {
                let outbox = (stream == 0).then_some(&client.ws_outbox);
                Box::pin(run_socket(&client.shared, &client.ws_gate, outbox, created)).await;
            }
            Stream::EventSource { websockets: false } => {
                Box::pin(run_stream(client, created)).await
            }
            Stream::AnswerTab { first } => Box::pin(answer::run_tab(client, first)).await,
        }
    }
}

fn spawn_stoppable<F>(tasks: &TaskTracker, stop: &CancellationToken, fut: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    tasks.spawn(UntilStopped {
        stop: stop.clone().cancelled_owned(),
        fut,
    });
}

pin_project_lite::pin_project! {
    /// `fut` until the point stops. A struct rather than an `async` block around `select!`: the
    /// block kept `fut` twice (as captured, and moved into the `select!`), and a tokio task is
    /// allocated in steps of 128 bytes: an EventSource's task is 256 bytes, not 384.
    struct UntilStopped<F> {
        #[pin]
        stop: WaitForCancellationFutureOwned,
        #[pin]
        fut: F,
    }
}

impl<F: std::future::Future<Output = ()>> std::future::Future for UntilStopped<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        // Stop first: once the point stops, no task may start new work (a queued stream handed a
        // freed slot must not open a connection during teardown).
        if this.stop.poll(cx).is_ready() {
            return Poll::Ready(());
        }
        this.fut.poll(cx)
    }
}

/// A number that differs between points and runs, for POST tokens.
fn point_nonce() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let clock = (sse_wire::stamp::now_unix_ns() >> 10) as u32;
    clock.wrapping_add(NEXT.fetch_add(0x9E37_79B9, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_every_client_exactly_once() {
        for total in [1u32, 7, 100, 101] {
            for count in 1u32..=4 {
                let sum: u32 = (0..count).map(|i| Shard::clients_of(i, count, total)).sum();
                assert_eq!(sum, total, "{total} clients in {count} shards");
                let mut seen: Vec<u32> = (0..count)
                    .flat_map(|index| {
                        let s = Shard {
                            index,
                            count,
                            total_clients: total,
                        };
                        (0..Shard::clients_of(index, count, total)).map(move |k| s.global(k))
                    })
                    .collect();
                seen.sort_unstable();
                assert_eq!(seen, (0..total).collect::<Vec<_>>());
            }
        }
    }
}
