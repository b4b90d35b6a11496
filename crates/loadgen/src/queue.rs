//! The browser's request queue: requests waiting for a slot leave by priority, and in the order
//! they were made within a priority (Chromium's `ClientSocketPool` and `SpdySession` pending
//! queues). Both the HTTP/1.1 pool ([`pool_h1`](crate::pool_h1)) and the HTTP/2 origin
//! ([`http2`](crate::http2)) keep their waiters here.
//!
//! A waiter is a oneshot sender; a waiter whose task ended (its receiver dropped) is skipped when
//! its turn comes, and the grant goes to the next one, so no slot is ever handed to nobody.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use tokio::sync::oneshot;

/// Request priority in the queues. EventSource and fetch share the default priority in Chromium
/// (HTTP/2: both send `priority: u=1, i`, captured), so they wait in request order behind each
/// other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Priority {
    Low,
    #[default]
    Default,
    High,
}

/// Waiters for a `T` (a lease, a permit), highest priority first, then oldest first.
#[derive(Debug)]
pub(crate) struct WaitQueue<T> {
    heap: BinaryHeap<Waiter<T>>,
    next_seq: u64,
}

impl<T> Default for WaitQueue<T> {
    fn default() -> Self {
        WaitQueue {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }
}

#[derive(Debug)]
struct Waiter<T> {
    priority: Priority,
    seq: u64,
    tx: oneshot::Sender<T>,
}

impl<T> PartialEq for Waiter<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<T> Eq for Waiter<T> {}
impl<T> PartialOrd for Waiter<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Waiter<T> {
    /// Highest priority first, then the oldest (smallest seq) first.
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority
            .cmp(&other.priority)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

impl<T> WaitQueue<T> {
    /// Queues a waiter; its turn comes through the returned receiver.
    pub fn push(&mut self, priority: Priority) -> oneshot::Receiver<T> {
        let (tx, rx) = oneshot::channel();
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Waiter { priority, seq, tx });
        rx
    }

    /// Hands `item` to the first waiter still waiting. `Err(item)` when nobody waits.
    pub fn grant(&mut self, mut item: T) -> Result<(), T> {
        while let Some(waiter) = self.heap.pop() {
            match waiter.tx.send(item) {
                Ok(()) => return Ok(()),
                // That waiter gave up: try the next one.
                Err(back) => item = back,
            }
        }
        Err(item)
    }

    /// True when no waiter is queued (gone waiters included until their turn comes).
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_priority_then_in_request_order() {
        let mut queue = WaitQueue::default();
        let mut receivers: Vec<(u32, oneshot::Receiver<u32>)> = Vec::new();
        for (n, priority) in [
            (0, Priority::Default),
            (1, Priority::Low),
            (2, Priority::Default),
            (3, Priority::High),
            (4, Priority::Default),
        ] {
            receivers.push((n, queue.push(priority)));
        }
        for grant in 0..5 {
            queue.grant(grant).unwrap();
        }
        let mut got: Vec<(u32, u32)> = receivers
            .into_iter()
            .map(|(n, mut rx)| (rx.try_recv().unwrap(), n))
            .collect();
        got.sort();
        let order: Vec<u32> = got.into_iter().map(|(_, n)| n).collect();
        assert_eq!(order, [3, 0, 2, 4, 1]);
        assert!(queue.is_empty());
        assert_eq!(queue.grant(9), Err(9), "nobody left to grant to");
    }

    /// `Eq` must agree with `Ord` (the contract of `Ord`): two waiters are equal only when they
    /// have the same priority and the same place in the queue.
    #[test]
    fn waiters_are_equal_only_in_the_same_place() {
        let waiter = |priority, seq| Waiter::<u32> {
            priority,
            seq,
            tx: oneshot::channel().0,
        };
        let a = waiter(Priority::Default, 1);
        assert!(a == waiter(Priority::Default, 1));
        assert!(a != waiter(Priority::Default, 2), "a later request");
        assert!(a != waiter(Priority::High, 1), "another priority");
        assert_eq!(
            a.partial_cmp(&waiter(Priority::Default, 2)),
            Some(Ordering::Greater),
            "the older request leaves first"
        );
    }

    #[test]
    fn a_waiter_that_gave_up_is_skipped() {
        let mut queue = WaitQueue::default();
        let gone = queue.push(Priority::Default);
        let mut next = queue.push(Priority::Default);
        drop(gone);
        queue.grant(7).unwrap();
        assert_eq!(next.try_recv().unwrap(), 7);
    }

    #[test]
    fn many_waiters_leave_in_request_order() {
        let mut queue = WaitQueue::default();
        let mut receivers: Vec<_> = (0..100).map(|_| queue.push(Priority::Default)).collect();
        for grant in 0..100u32 {
            queue.grant(grant).unwrap();
        }
        let got: Vec<u32> = receivers
            .iter_mut()
            .map(|rx| rx.try_recv().unwrap())
            .collect();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    }
}
