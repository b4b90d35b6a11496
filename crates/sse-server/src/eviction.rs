//! Idle channels evicted with their replay rings, by a sweep that runs a few times per
//! `channel_idle_timeout` (the memory budget's third part, `budget.rs`).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::hub::Hub;

/// Bounds on the time between two sweeps for idle channels.
const MIN_SWEEP_EVERY: Duration = Duration::from_millis(50);
const MAX_SWEEP_EVERY: Duration = Duration::from_secs(5);

/// Evicts idle channels a few times per `idle_timeout` until `shutdown`.
pub(crate) async fn sweep_idle_channels(
    hub: Arc<Hub>,
    idle_timeout: Duration,
    shutdown: CancellationToken,
) {
    let every = (idle_timeout / 4).clamp(MIN_SWEEP_EVERY, MAX_SWEEP_EVERY);
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let evicted = hub.evict_idle(idle_timeout);
        if evicted > 0 {
            tracing::debug!("evicted {evicted} idle channels");
        }
    }
}
