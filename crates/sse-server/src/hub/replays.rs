//! The replay slots: at most `max_concurrent_replays` replays are read from the rings at once
//! (crates/sse-server/FINDINGS.md, "Replay storms").
//!
//! A replay holds its slot while its client takes what it is sent: it refreshes the slot each
//! time it reads its next batch, which it does only once hyper has taken the last one. A replay
//! whose client has not taken its last batch for [`STALLED_AFTER`] keeps its slot only until
//! another replay needs one, and queues again when its client reads on; so replays nobody reads
//! cannot keep the others waiting.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::{sleep_until, Instant};

/// How long a replay whose client takes nothing keeps its slot against a replay waiting for one.
pub(crate) const STALLED_AFTER: Duration = Duration::from_millis(250);

/// The slots, and which replays hold them.
#[derive(Debug)]
pub(crate) struct ReplaySlots {
    max: usize,
    /// Each holder's replay and when it last read a batch.
    holders: Mutex<Vec<(u64, Instant)>>,
    freed: Notify,
}

impl ReplaySlots {
    pub(crate) fn new(max: usize) -> ReplaySlots {
        ReplaySlots {
            max,
            holders: Mutex::new(Vec::with_capacity(max)),
            freed: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<(u64, Instant)>> {
        self.holders.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replays holding a slot now.
    pub(crate) fn active(&self) -> usize {
        self.lock().len()
    }

    /// Waits until replay `id` holds a slot for its next batch: its own still, a free one, or one
    /// a stalled replay gives up. Returns whether it had to wait.
    pub(crate) async fn hold(&self, id: u64) -> bool {
        let mut waited = false;
        loop {
            let freed = self.freed.notified();
            let stale_at = {
                let mut holders = self.lock();
                let now = Instant::now();
                if let Some(held) = holders.iter_mut().find(|(h, _)| *h == id) {
                    held.1 = now;
                    return waited;
                }
                if holders.len() < self.max {
                    holders.push((id, now));
                    return waited;
                }
                let stalled = holders
                    .iter()
                    .position(|&(_, last)| now.saturating_duration_since(last) >= STALLED_AFTER);
                if let Some(i) = stalled {
                    holders[i] = (id, now);
                    return waited;
                }
                holders.iter().map(|&(_, last)| last).min().unwrap_or(now) + STALLED_AFTER
            };
            waited = true;
            tokio::select! {
                () = freed => {}
                () = sleep_until(stale_at) => {}
            }
        }
    }

    /// Replay `id` is over: its slot, if it still holds one, is free.
    pub(crate) fn release(&self, id: u64) {
        let mut holders = self.lock();
        if let Some(i) = holders.iter().position(|&(h, _)| h == id) {
            holders.swap_remove(i);
            drop(holders);
            self.freed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_stalled_replay_gives_its_slot_to_a_waiting_one() {
        let slots = ReplaySlots::new(2);
        assert!(!slots.hold(1).await && !slots.hold(2).await);
        let third = slots.hold(3);
        tokio::pin!(third);
        // Replay 1 reads on: it keeps its slot; replay 2 takes nothing.
        tokio::select! {
            _ = &mut third => panic!("a third slot"),
            () = tokio::time::sleep(STALLED_AFTER / 2) => {}
        }
        assert!(!slots.hold(1).await);
        let started = Instant::now();
        assert!(third.await, "it waited");
        assert_eq!(
            started.elapsed(),
            STALLED_AFTER / 2,
            "until replay 2 was stalled"
        );
        assert_eq!(slots.active(), 2);
        // Replay 2 reads on: it queues again, and gets the slot replay 1 frees.
        let second = slots.hold(2);
        tokio::pin!(second);
        tokio::select! {
            _ = &mut second => panic!("a third slot"),
            () = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
        slots.release(1);
        assert!(second.await);
        slots.release(2);
        slots.release(3);
        assert_eq!(slots.active(), 0);
    }
}
