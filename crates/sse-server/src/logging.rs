//! Warnings a client can trigger once per connection must not flood the log, the server's own and
//! hyper's and h2's alike (crates/sse-server/FINDINGS.md, "Log floods").
//!
//! - [`RateLimit`]: at most one line every so often, counting the ones it suppressed. The
//!   server's own per-connection warnings go through one each, whatever subscriber the embedding
//!   program installs.
//! - [`RateLimitedFormat`]: a `tracing-subscriber` event formatter that applies a [`RateLimit`]
//!   to each call site of WARN and ERROR events, including those of hyper and h2, and appends
//!   `(N similar lines suppressed)` to the next line it lets through. The `server` binary logs
//!   with it.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tracing::callsite::Identifier;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// At most one warning line per call site this often.
pub const WARN_EVERY: Duration = Duration::from_secs(10);

/// Lets one event through per period and counts the others.
#[derive(Debug)]
pub struct RateLimit {
    every: Duration,
    state: Mutex<LimitState>,
}

#[derive(Debug)]
struct LimitState {
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimit {
    /// At most one event per `every`.
    pub const fn new(every: Duration) -> RateLimit {
        RateLimit {
            every,
            state: Mutex::new(LimitState {
                last: None,
                suppressed: 0,
            }),
        }
    }

    /// `Some(n)` if an event may be logged now, `n` being how many were suppressed since the
    /// last one; `None` if this one is suppressed (and counted).
    pub fn check(&self) -> Option<u64> {
        self.check_at(Instant::now())
    }

    fn check_at(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state
            .last
            .is_some_and(|last| now.duration_since(last) < self.every)
        {
            state.suppressed += 1;
            return None;
        }
        state.last = Some(now);
        Some(std::mem::take(&mut state.suppressed))
    }
}

/// Formats events with `F`, but WARN and ERROR events at most once per call site per period.
#[derive(Debug)]
pub struct RateLimitedFormat<F> {
    inner: F,
    every: Duration,
    sites: Mutex<HashMap<Identifier, RateLimit>>,
}

impl<F> RateLimitedFormat<F> {
    /// Wraps `inner`, letting through one WARN or ERROR line per call site per `every`.
    pub fn new(inner: F, every: Duration) -> RateLimitedFormat<F> {
        RateLimitedFormat {
            inner,
            every,
            sites: Mutex::default(),
        }
    }
}

impl<S, N, F> FormatEvent<S, N> for RateLimitedFormat<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        // Levels compare by verbosity: INFO, DEBUG and TRACE are "greater" than WARN.
        if *meta.level() > Level::WARN {
            return self.inner.format_event(ctx, writer, event);
        }
        let suppressed = {
            let mut sites = self.sites.lock().unwrap_or_else(PoisonError::into_inner);
            sites
                .entry(meta.callsite())
                .or_insert_with(|| RateLimit::new(self.every))
                .check()
        };
        match suppressed {
            None => Ok(()), // nothing written: the line is dropped
            Some(0) => self.inner.format_event(ctx, writer, event),
            Some(n) => {
                // Formatted apart (without colours) to put the count on the same line.
                let mut line = String::new();
                self.inner
                    .format_event(ctx, Writer::new(&mut line), event)?;
                let line = line.trim_end_matches('\n');
                writeln!(writer, "{line} ({n} similar lines suppressed)")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::Arc;

    use super::*;

    #[test]
    fn one_per_period_with_the_suppressed_count() {
        let limit = RateLimit::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(limit.check_at(t0), Some(0));
        assert_eq!(limit.check_at(t0 + Duration::from_secs(1)), None);
        assert_eq!(limit.check_at(t0 + Duration::from_secs(9)), None);
        assert_eq!(limit.check_at(t0 + Duration::from_secs(10)), Some(2));
        assert_eq!(limit.check_at(t0 + Duration::from_secs(30)), Some(0));
    }

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// One call site, whatever `i` is.
    fn flood(i: u32) {
        tracing::warn!("flood {i}");
    }

    #[test]
    fn warnings_are_limited_per_call_site_and_info_is_not() {
        let out = Buffer::default();
        let writer = out.clone();
        let format = tracing_subscriber::fmt::format().without_time();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .event_format(RateLimitedFormat::new(format, Duration::from_secs(1)))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..5 {
                flood(i);
                tracing::info!("info {i}");
            }
            tracing::warn!("another call site");
            std::thread::sleep(Duration::from_millis(1100));
            flood(5);
            flood(6);
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let warns: Vec<&str> = text.lines().filter(|l| l.contains("WARN")).collect();
        assert_eq!(warns.len(), 3, "{text}");
        assert!(warns[0].ends_with("flood 0"), "{text}");
        assert!(warns[1].ends_with("another call site"), "{text}");
        assert!(
            warns[2].ends_with("flood 5 (4 similar lines suppressed)"),
            "{text}"
        );
        assert_eq!(text.lines().filter(|l| l.contains("INFO")).count(), 5);
    }
}
