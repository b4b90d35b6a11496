//! Each HTTP/2 stream under its own watchdog, so that one stalled stream is reset whatever its
//! siblings do (crates/sse-server/FINDINGS.md, "Stalled HTTP/2 streams").
//!
//! hyper runs each stream as a task it hands to the connection's executor, and polls a response
//! body only when the client's window has room: an event stream whose window stays shut is never
//! asked for data, so it can neither notice its subscriber's overflow nor end. hyper gives no
//! handle to reset one stream from outside; dropping the stream's task does: h2 then resets the
//! stream (RST_STREAM CANCEL), discarding what it had buffered for it, and the stream's
//! subscription and queue are freed. So the executor ([`StreamExecutor`]) runs each stream's task
//! beside its watchdog, and drops the task when the watchdog fires:
//!
//! - the stream's subscriber overflowed and the stream has not ended by itself
//!   [`OVERFLOW_GRACE`] later (`stream_overflow_resets`);
//! - a frame of the stream has waited `write_stall_timeout` for hyper to take it while the
//!   connection made progress meanwhile (`stream_window_timeouts`). When nothing on the
//!   connection moves, the connection's own timeouts (write stall, window stall) close it.
//!
//! The executor learns which watch belongs to which task from the service, which hyper calls for a
//! request just before it hands the request's task to the executor, on the same task: the service
//! leaves the watch in the connection's [`NextStream`], and the executor takes it from there.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::{sleep, sleep_until};
use tokio_util::task::TaskTracker;

use crate::activity::{Activity, StreamWatch};
use crate::config::OVERFLOW_GRACE;
use crate::stats::{incr, ListenerCounters};

/// The watch of the stream whose task hyper is about to hand to the executor.
pub(crate) type NextStream = Arc<Mutex<Option<Watched>>>;

/// A stream's watch and what its watchdog needs.
#[derive(Debug)]
pub(crate) struct Watched {
    pub(crate) watch: Arc<StreamWatch>,
    pub(crate) activity: Arc<Activity>,
    pub(crate) counters: Arc<ListenerCounters>,
    pub(crate) stall_timeout: Duration,
}

/// Spawns one connection's HTTP/2 stream tasks on the server's task tracker (so that shutdown
/// waits for them too), each beside its watchdog.
#[derive(Debug, Clone)]
pub(crate) struct StreamExecutor {
    pub(crate) tracker: TaskTracker,
    pub(crate) next: NextStream,
}

impl<F> hyper::rt::Executor<F> for StreamExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        let watched = self
            .next
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match watched {
            Some(watched) => {
                self.tracker.spawn(async move {
                    tokio::select! {
                        _ = fut => {}
                        () = watched.reset_due() => {}
                    }
                });
            }
            None => {
                self.tracker.spawn(fut);
            }
        }
    }
}

impl Watched {
    /// Resolves when the stream must be reset, counting why.
    async fn reset_due(&self) {
        let overflow = async {
            self.watch.overflowed.cancelled().await;
            sleep(OVERFLOW_GRACE).await;
        };
        tokio::select! {
            () = overflow => incr(&self.counters.stream_overflow_resets),
            () = self.window_stall() => incr(&self.counters.stream_window_timeouts),
        }
    }

    /// Resolves once a frame of the stream has waited the stall timeout while the connection
    /// made progress since it began waiting.
    async fn window_stall(&self) {
        let wait = &self.watch.wait;
        loop {
            let since = wait.waiting(&self.activity).await;
            let due = since + self.stall_timeout;
            sleep_until(due).await;
            if wait.since(&self.activity) == Some(since) {
                if self.activity.last_progress() > since {
                    return;
                }
                // The whole connection is stalled: its own timeouts deal with it. Look again a
                // little later.
                sleep(self.stall_timeout / 8).await;
            }
        }
    }
}
