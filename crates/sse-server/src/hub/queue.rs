//! A subscriber's bounded queue of live messages: the hub pushes under its channel's lock, the
//! subscriber's stream takes them off.
//!
//! Why not `tokio::sync::mpsc`: an idle subscriber's queue is most of what it costs beyond its
//! socket, and tokio's bounded channel takes about 830 bytes of heap for it before the first
//! message (the channel's cache-padded state, about 500 bytes, and a first block of 32 places,
//! about 280). Each of the hub's queues has one sender (its channel's slot, used under the
//! channel's lock) and one receiver, so a mutex around a `VecDeque` does the same job in 80 bytes
//! and a buffer that grows with what is queued (crates/sse-server/FINDINGS.md, "Memory per
//! subscriber"). The behaviour is tokio's where the hub relies on it: `try_send` fails with
//! [`TrySendError::Full`] at the capacity and [`TrySendError::Closed`] once the receiver is gone,
//! `recv` is cancel-safe, ends (`None`) once the sender is gone and the queue is empty, and
//! spends the task's cooperative budget as tokio's receivers do.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

/// Why [`Sender::try_send`] gave the value back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TrySendError<T> {
    /// The queue holds its capacity.
    Full(T),
    /// The receiver is gone.
    Closed(T),
}

/// The hub's end of a queue.
#[derive(Debug)]
pub(crate) struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// The subscriber's end of a queue.
#[derive(Debug)]
pub(crate) struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

#[derive(Debug)]
struct Shared<T> {
    state: Mutex<State<T>>,
}

#[derive(Debug)]
struct State<T> {
    items: VecDeque<T>,
    /// Most items held at once: the bounded queue's capacity.
    capacity: u32,
    /// The receiver's task, while it waits for an item.
    waker: Option<Waker>,
    sender_gone: bool,
    receiver_gone: bool,
    /// [`Sender::cut`]: the receiver's next `recv` ends, whatever is queued.
    cut: bool,
}

/// A queue of at most `capacity` items (at least 1).
pub(crate) fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let capacity = u32::try_from(capacity.max(1)).unwrap_or(u32::MAX);
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            capacity,
            waker: None,
            sender_gone: false,
            receiver_gone: false,
            cut: false,
        }),
    });
    (
        Sender {
            shared: Arc::clone(&shared),
        },
        Receiver { shared },
    )
}

impl<T> Shared<T> {
    /// Marks the queue's end with `mark` and wakes a waiting receiver (outside the lock).
    fn end(&self, mark: impl FnOnce(&mut State<T>)) {
        let waker = {
            let mut state = self.lock();
            mark(&mut state);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // No code panics while holding it: the state is whole even after a panic elsewhere.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T> Sender<T> {
    /// Queues `value` unless the queue is full or the receiver gone, and wakes the receiver.
    pub(crate) fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let waker = {
            let mut state = self.shared.lock();
            if state.receiver_gone {
                return Err(TrySendError::Closed(value));
            }
            if state.items.len() >= state.capacity as usize {
                return Err(TrySendError::Full(value));
            }
            state.items.push_back(value);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }
}

impl<T> Sender<T> {
    /// Ends the queue now: the receiver's next `recv` returns `None` though items are queued
    /// (they stay until the receiver closes). The hub cuts an overflowed subscriber's queue, so
    /// that its event stream ends on the wait it makes for every message, with no second wait
    /// for the overflow (crates/sse-server/FINDINGS.md, "Fan-out profile").
    pub(crate) fn cut(&self) {
        self.shared.end(|state| state.cut = true);
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.shared.end(|state| state.sender_gone = true);
    }
}

impl<T> Receiver<T> {
    /// The next item, or `None` once the sender is gone and nothing is left (cancel-safe: an item
    /// is taken only by the poll that returns it).
    pub(crate) async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let coop = std::task::ready!(tokio::task::coop::poll_proceed(cx));
        let mut state = self.shared.lock();
        if state.cut {
            coop.made_progress();
            return Poll::Ready(None);
        }
        if let Some(item) = state.items.pop_front() {
            coop.made_progress();
            return Poll::Ready(Some(item));
        }
        if state.sender_gone {
            coop.made_progress();
            return Poll::Ready(None);
        }
        match &mut state.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The next item if one is queued.
    #[cfg(test)]
    pub(crate) fn try_recv(&mut self) -> Option<T> {
        self.shared.lock().items.pop_front()
    }

    /// Whether nothing is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.shared.lock().items.is_empty()
    }

    /// Refuses every later item and hands back the ones queued, oldest first.
    pub(crate) fn close(&mut self) -> VecDeque<T> {
        let mut state = self.shared.lock();
        state.receiver_gone = true;
        state.waker = None;
        std::mem::take(&mut state.items)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // Items left are dropped here, outside the sender's reach.
        drop(self.close());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;

    /// Counts its wakes.
    #[derive(Default)]
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll(rx: &mut Receiver<u32>, waker: &Arc<CountingWaker>) -> Poll<Option<u32>> {
        let waker = Waker::from(Arc::clone(waker));
        rx.poll_recv(&mut Context::from_waker(&waker))
    }

    #[test]
    fn items_come_out_in_order_up_to_the_capacity() {
        let (tx, mut rx) = channel(3);
        assert_eq!(tx.try_send(1), Ok(()));
        assert_eq!(tx.try_send(2), Ok(()));
        assert_eq!(tx.try_send(3), Ok(()));
        assert_eq!(tx.try_send(4), Err(TrySendError::Full(4)));
        assert_eq!(rx.try_recv(), Some(1));
        assert_eq!(tx.try_send(5), Ok(()));
        assert_eq!(tx.try_send(6), Err(TrySendError::Full(6)));
        assert_eq!(rx.try_recv(), Some(2));
        assert_eq!(rx.try_recv(), Some(3));
        assert_eq!(rx.try_recv(), Some(5));
        assert_eq!(rx.try_recv(), None);
        assert!(rx.is_empty());
    }

    #[test]
    fn a_capacity_of_zero_holds_one() {
        let (tx, mut rx) = channel(0);
        assert_eq!(tx.try_send(1), Ok(()));
        assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
        assert_eq!(rx.try_recv(), Some(1));
    }

    #[test]
    fn a_waiting_receiver_is_woken_once_per_send() {
        let (tx, mut rx) = channel(4);
        let waker = Arc::new(CountingWaker::default());
        assert_eq!(poll(&mut rx, &waker), Poll::Pending);
        // Polled again while waiting: the same waker is kept, not stacked.
        assert_eq!(poll(&mut rx, &waker), Poll::Pending);
        assert_eq!(waker.0.load(Ordering::SeqCst), 0);
        tx.try_send(7).unwrap();
        assert_eq!(waker.0.load(Ordering::SeqCst), 1);
        // No one waits now: a second send wakes no one.
        tx.try_send(8).unwrap();
        assert_eq!(waker.0.load(Ordering::SeqCst), 1);
        assert_eq!(poll(&mut rx, &waker), Poll::Ready(Some(7)));
        assert_eq!(poll(&mut rx, &waker), Poll::Ready(Some(8)));
        assert_eq!(poll(&mut rx, &waker), Poll::Pending);
    }

    #[test]
    fn the_receiver_ends_after_the_last_item_once_the_sender_is_gone() {
        let (tx, mut rx) = channel(4);
        let waker = Arc::new(CountingWaker::default());
        tx.try_send(1).unwrap();
        assert_eq!(poll(&mut rx, &waker), Poll::Ready(Some(1)));
        assert_eq!(poll(&mut rx, &waker), Poll::Pending);
        tx.try_send(2).unwrap();
        drop(tx);
        assert_eq!(waker.0.load(Ordering::SeqCst), 1);
        assert_eq!(poll(&mut rx, &waker), Poll::Ready(Some(2)));
        assert_eq!(poll(&mut rx, &waker), Poll::Ready(None));
    }

    #[test]
    fn dropping_the_sender_wakes_a_waiting_receiver() {
        let (tx, mut rx) = channel::<u32>(4);
        let waker = Arc::new(CountingWaker::default());
        assert_eq!(poll(&mut rx, &waker), Poll::Pending);
        drop(tx);
        assert_eq!(waker.0.load(Ordering::SeqCst), 1);
        assert_eq!(poll(&mut rx, &waker), Poll::Ready(None));
    }

    #[test]
    fn a_cut_queue_ends_at_once_and_its_items_stay_for_the_close() {
        let (tx, mut rx) = channel(4);
        let waker = Arc::new(CountingWaker::default());
        assert_eq!(poll(&mut rx, &waker), Poll::Pending);
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        tx.cut();
        assert_eq!(
            waker.0.load(Ordering::SeqCst),
            1,
            "the send woke it, the cut has no waker left"
        );
        assert_eq!(poll(&mut rx, &waker), Poll::Ready(None));
        assert_eq!(poll(&mut rx, &waker), Poll::Ready(None));
        assert_eq!(rx.close(), VecDeque::from([1, 2]));
        let (tx, mut rx) = channel::<u32>(4);
        assert_eq!(poll(&mut rx, &waker), Poll::Pending);
        tx.cut();
        assert_eq!(
            waker.0.load(Ordering::SeqCst),
            2,
            "a waiting receiver is woken by the cut"
        );
        assert_eq!(poll(&mut rx, &waker), Poll::Ready(None));
    }

    #[test]
    fn a_closed_receiver_refuses_later_items_and_hands_back_the_queued_ones() {
        let (tx, mut rx) = channel(4);
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert_eq!(rx.close(), VecDeque::from([1, 2]));
        assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
        drop(rx);
        assert_eq!(tx.try_send(4), Err(TrySendError::Closed(4)));
    }

    #[test]
    fn dropping_the_receiver_drops_what_it_held() {
        let (tx, rx) = channel(4);
        let item = Arc::new(());
        tx.try_send(Arc::clone(&item)).unwrap();
        assert_eq!(Arc::strong_count(&item), 2);
        drop(rx);
        assert_eq!(Arc::strong_count(&item), 1);
    }

    #[tokio::test]
    async fn recv_waits_for_a_send_from_another_task() {
        let (tx, mut rx) = channel(1);
        let sender = tokio::spawn(async move {
            tokio::task::yield_now().await;
            tx.try_send(42).unwrap();
            // `tx` dropped here: the receiver ends after the item.
        });
        assert_eq!(rx.recv().await, Some(42));
        assert_eq!(rx.recv().await, None);
        sender.await.unwrap();
    }

    /// A receiver that always has an item still yields to the runtime now and then, as tokio's
    /// own receivers do: after the task's budget of 128 operations (`Budget::initial` in
    /// tokio 1.54's src/task/coop/mod.rs), the next poll is pending.
    #[tokio::test]
    async fn a_full_queue_does_not_starve_the_runtime() {
        let (tx, mut rx) = channel(1000);
        for i in 0..1000 {
            tx.try_send(i).unwrap();
        }
        let waker = Arc::new(CountingWaker::default());
        let mut taken = 0;
        // The runtime gives the test's task a fresh budget at each poll of it.
        poll_fn(|_| {
            while let Poll::Ready(Some(_)) = poll(&mut rx, &waker) {
                taken += 1;
            }
            Poll::Ready(())
        })
        .await;
        assert_eq!(taken, 128);
    }
}
