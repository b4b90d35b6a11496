//! [`Woken`]: a stream or a future polled only when it has something new to say, so that a caller
//! that polls it more often than it wakes pays for an atomic swap, not for a pass over everything
//! it waits on.
//!
//! hyper polls an HTTP/1.1 response body three times per event it writes: once for the event,
//! once more right after it (the next wait begins), and once after writing, though nothing that
//! body waits on has happened since the second. An event stream's pass over its waits (the
//! shutdown token, its queue, its timers) costs about 800 instructions
//! (`scripts/profile-fanout.sh callgrind h1`, crates/sse-server/FINDINGS.md, "Fan-out profile").
//! Wrapped, the stream is polled when one of its waits has woken it, after it has yielded an
//! item (its next wait has yet to begin), and at first; any other poll returns `Pending` at once.
//!
//! A connection's task is polled once per event too, and each poll polled its `select!`'s wait for
//! the server's shutdown (a cancellation token: two locks, about 330 instructions); wrapped, that
//! wait is polled when the token wakes it. So is an event stream's own wait for its connection's
//! shutdown, which each of its waits for the next event polled (about 250 instructions per
//! delivered event on h1).
//!
//! How: the inner stream or future is polled with a waker of this wrapper's own, which records the
//! wake and passes it on to the task that last polled the wrapper. The cost: 48 bytes of heap, and
//! three words per wrapper (the signal, and the signal as a waker, made once).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;
use futures_util::Stream;

pin_project_lite::pin_project! {
    /// `inner`, a stream or a future, polled only when woken (see the module's documentation).
    #[derive(Debug)]
    pub(crate) struct Woken<S> {
        signal: Arc<Signal>,
        // `signal` as a waker, made once: not an `Arc` clone and drop per poll of `inner`.
        waker: Waker,
        #[pin]
        inner: S,
    }
}

/// Whether the inner stream has been woken since it was last polled, and who to wake then.
#[derive(Debug)]
struct Signal {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl<S> Woken<S> {
    pub(crate) fn new(inner: S) -> Woken<S> {
        let signal = Arc::new(Signal {
            // The first poll polls the inner stream.
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        Woken {
            waker: Waker::from(Arc::clone(&signal)),
            signal,
            inner,
        }
    }
}

impl Signal {
    /// Whether the inner stream or future is to be polled now, by `cx`'s task.
    fn woken(&self, cx: &Context<'_>) -> bool {
        // Registered before the flag is read: a wake in between is then seen by the read, or
        // passed on to this task.
        self.task.register(cx.waker());
        self.woken.swap(false, Ordering::AcqRel)
    }
}

impl<S: Stream> Stream for Woken<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        if !this.signal.woken(cx) {
            return Poll::Pending;
        }
        let polled = this.inner.poll_next(&mut Context::from_waker(this.waker));
        if polled.is_ready() {
            // The next item's wait has not begun: the next poll begins it.
            this.signal.woken.store(true, Ordering::Release);
        }
        polled
    }
}

impl<F: Future> Future for Woken<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if !this.signal.woken(cx) {
            return Poll::Pending;
        }
        this.inner.poll(&mut Context::from_waker(this.waker))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use futures_util::StreamExt;

    use super::*;

    /// Counts its polls; yields what its channel receives.
    struct Counted {
        rx: tokio::sync::mpsc::UnboundedReceiver<u32>,
        polls: Arc<AtomicUsize>,
    }

    impl Stream for Counted {
        type Item = u32;

        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u32>> {
            self.polls.fetch_add(1, Ordering::SeqCst);
            self.rx.poll_recv(cx)
        }
    }

    #[tokio::test]
    async fn polled_at_first_after_an_item_and_when_woken_only() {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let polls = Arc::new(AtomicUsize::new(0));
        let mut woken = Box::pin(Woken::new(Counted {
            rx,
            polls: Arc::clone(&polls),
        }));
        let count = || polls.load(Ordering::SeqCst);
        let mut poll = || futures_util::FutureExt::now_or_never(woken.next());
        assert_eq!((poll(), count()), (None, 1), "the first poll polls it");
        assert_eq!((poll(), count()), (None, 1), "nothing new: not polled");
        tx.send(7).unwrap();
        assert_eq!((poll(), count()), (Some(Some(7)), 2), "woken by the send");
        assert_eq!((poll(), count()), (None, 3), "after an item: polled");
        assert_eq!((poll(), count()), (None, 3));
        drop(tx);
        assert_eq!((poll(), count()), (Some(None), 4), "woken by the end");
    }

    #[tokio::test(start_paused = true)]
    async fn a_future_is_polled_at_first_and_when_woken_only() {
        let polls = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&polls);
        let mut sleep = Box::pin(tokio::time::sleep(std::time::Duration::from_secs(1)));
        let mut woken = Box::pin(Woken::new(std::future::poll_fn(move |cx| {
            counted.fetch_add(1, Ordering::SeqCst);
            sleep.as_mut().poll(cx)
        })));
        let count = || polls.load(Ordering::SeqCst);
        let mut poll = || futures_util::FutureExt::now_or_never(woken.as_mut());
        assert_eq!((poll(), count()), (None, 1), "the first poll polls it");
        assert_eq!((poll(), count()), (None, 1), "nothing new: not polled");
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        assert_eq!((poll(), count()), (Some(()), 2), "woken by its timer");
    }

    #[tokio::test]
    async fn a_wake_reaches_the_task_that_waits() {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let polls = Arc::new(AtomicUsize::new(0));
        let mut woken = Box::pin(Woken::new(Counted { rx, polls }));
        let reader = tokio::spawn(async move { woken.next().await });
        tokio::task::yield_now().await;
        tx.send(3).unwrap();
        let got = tokio::time::timeout(std::time::Duration::from_secs(5), reader).await;
        assert_eq!(got.ok().and_then(Result::ok), Some(Some(3)));
    }
}
