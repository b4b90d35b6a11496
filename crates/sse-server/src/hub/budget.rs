//! The hub's memory budget: how many channels may exist and how many bytes of replayable
//! messages all their rings may hold together, so that channels cannot hold memory without bound
//! (crates/sse-server/FINDINGS.md, "Channel flood").
//!
//! - A request that would create a channel beyond `max_channels` is refused
//!   ([`Refusal::ChannelLimit`], 503).
//! - A message is admitted into its ring if the rings' total stays within `replay_budget_bytes`;
//!   to make room, its own channel drops its oldest messages (a channel's history pays for its
//!   own new messages), never another channel's. If that is not enough, the message is refused
//!   ([`Refusal::ReplayBudget`], 503) and nothing is broadcast.
//! - Idle channels are evicted with their rings by the hub's sweep (`Hub::sweep_idle`).
//!
//! A message costs its encoded event's allocation plus [`MESSAGE_OVERHEAD`].

use std::sync::atomic::{AtomicUsize, Ordering};

/// What a message costs beyond its bytes: its place in the ring and the shared buffer's header.
pub(crate) const MESSAGE_OVERHEAD: usize = 64;

/// Why the hub refused a request; its text is the 503 response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    #[error(
        "channel limit reached: {max} channels exist (max_channels); a channel with no \
         subscriber and no message is evicted after the channel idle timeout"
    )]
    ChannelLimit { max: usize },
    #[error(
        "replay budget full: the replay rings of all channels hold {budget} bytes \
         (replay_budget_bytes) and this channel's own history cannot make room for the message"
    )]
    ReplayBudget { budget: usize },
    #[error("channel message ids exhausted")]
    IdsExhausted,
}

/// The bytes all rings hold, against the budget. Reservations are exact: the total never exceeds
/// the budget, however many channels publish at once.
#[derive(Debug)]
pub(crate) struct ReplayBudget {
    limit: usize,
    used: AtomicUsize,
}

impl ReplayBudget {
    pub(crate) fn new(limit: usize) -> ReplayBudget {
        ReplayBudget {
            limit,
            used: AtomicUsize::new(0),
        }
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Whether `cost` could fit once `reclaimable` bytes (the channel's own ring) were released.
    pub(crate) fn could_fit(&self, cost: usize, reclaimable: usize) -> bool {
        self.used().saturating_sub(reclaimable).saturating_add(cost) <= self.limit
    }

    /// Reserves `cost` bytes if they fit now.
    pub(crate) fn try_reserve(&self, cost: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(cost).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    /// Gives back bytes of messages that left a ring.
    pub(crate) fn release(&self, cost: usize) {
        // Never below zero, even if accounting were ever off: a saturating update.
        let _ = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                Some(used.saturating_sub(cost))
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_never_exceed_the_limit() {
        let b = ReplayBudget::new(100);
        assert!(b.try_reserve(60));
        assert!(!b.try_reserve(41));
        assert!(b.could_fit(41, 60));
        assert!(!b.could_fit(41, 0));
        assert!(b.try_reserve(40));
        assert_eq!(b.used(), 100);
        b.release(30);
        b.release(1000);
        assert_eq!(b.used(), 0);
        assert!(!b.try_reserve(usize::MAX));
    }
}
