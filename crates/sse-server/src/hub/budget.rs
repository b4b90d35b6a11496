//! The hub's memory budget: how many channels may exist and how many bytes of replayable
//! messages all their rings may hold together, so that channels cannot hold memory without bound
//! (crates/sse-server/FINDINGS.md, "Channel flood").
//!
//! - A request that would create a channel beyond `max_channels` displaces the least recently
//!   active channel that has no subscriber (`table`); without one it is refused
//!   ([`Refusal::ChannelLimit`], 503). One client address may have created at most
//!   `max_channels_per_address` channels that still exist ([`Refusal::ChannelShare`], 503).
//! - A message is admitted into its ring if the rings' total stays within `replay_budget_bytes`;
//!   to make room, its own channel drops its oldest messages first (a channel's history pays for
//!   its own new messages), then channels that have no subscriber are displaced, the least
//!   recently active first. If that is not enough, the message is refused
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
        "channel limit reached: {max} channels exist (max_channels) and none of those sampled \
         is without a subscriber, to make room"
    )]
    ChannelLimit { max: usize },
    #[error(
        "channel share reached: this client address created {max} channels that still exist \
         (max_channels_per_address); a channel with no subscriber and no message is evicted \
         after the channel idle timeout"
    )]
    ChannelShare { max: usize },
    #[error(
        "replay budget full: the replay rings of all channels hold {budget} bytes \
         (replay_budget_bytes), and neither this channel's own history nor channels without a \
         subscriber can make room for the message"
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

/// Bytes reserved in the budget for a message about to be published; given back on drop unless
/// the message takes them.
#[derive(Debug)]
pub(crate) struct Reservation<'a> {
    budget: &'a ReplayBudget,
    bytes: usize,
}

impl ReplayBudget {
    /// Reserves `bytes` if they fit now.
    pub(crate) fn reservation(&self, bytes: usize) -> Option<Reservation<'_>> {
        // `then`, not `then_some`: a reservation made and dropped would give back what was never
        // reserved.
        self.try_reserve(bytes).then(|| Reservation {
            budget: self,
            bytes,
        })
    }
}

impl Reservation<'_> {
    /// A message of `cost` bytes takes the reservation, the rest going back; `false` (and the
    /// whole reservation going back) if it costs more.
    pub(crate) fn take(mut self, cost: usize) -> bool {
        if cost > self.bytes {
            return false;
        }
        self.budget.release(self.bytes - cost);
        self.bytes = 0;
        true
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if self.bytes > 0 {
            self.budget.release(self.bytes);
        }
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
        assert!(b.reservation(1).is_none(), "full");
        assert_eq!(b.used(), 100, "a reservation refused gives nothing back");
        b.release(30);
        let room = b.reservation(20).expect("room");
        assert_eq!(b.used(), 90);
        assert!(!b.reservation(5).expect("room").take(6), "too small");
        assert!(room.take(15));
        assert_eq!(b.used(), 85, "the rest of a reservation goes back");
        b.release(1000);
        assert_eq!(b.used(), 0);
        assert!(!b.try_reserve(usize::MAX));
    }
}
