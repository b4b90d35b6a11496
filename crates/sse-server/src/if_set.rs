//! [`IfSet`]: an optional wait, as one future that never resolves when there is nothing to wait
//! for, so that it can sit in a `select!` beside the waits that are always there.
//!
//! A struct, the size of what it holds: a boxed future or a borrowed timer is one pointer. As an
//! `async fn` over the same `Option` it was three or four words, and these waits sit in futures
//! kept for a connection's or a stream's whole life (crates/sse-server/FINDINGS.md, "Memory per
//! subscriber").

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The future inside, if there is one; otherwise pending forever.
pub(crate) struct IfSet<F>(pub(crate) Option<F>);

impl<F: Future + Unpin> Future for IfSet<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        match &mut self.0 {
            Some(fut) => Pin::new(fut).poll(cx),
            None => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn set_resolves_with_its_future_and_unset_never_does() {
        let mut sleep = Box::pin(tokio::time::sleep(Duration::from_secs(1)));
        let set = IfSet(Some(&mut sleep));
        assert!(tokio::time::timeout(Duration::from_secs(2), set)
            .await
            .is_ok());
        let unset: IfSet<Pin<Box<tokio::time::Sleep>>> = IfSet(None);
        assert!(tokio::time::timeout(Duration::from_secs(3600), unset)
            .await
            .is_err());
    }
}
