//! State shared by every task of one sweep point: the metrics, the stop signal, the first fatal
//! error, and the target's health (a server that stays unreachable ends the run).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::error::LoadError;
use crate::metrics::Metrics;

/// What stopped a point early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FatalKind {
    /// The server negotiated another protocol than the arm pins.
    ProtocolMismatch,
    /// The target or its TLS trust cannot work (bad URL, certificate that does not verify).
    BadTarget,
    /// Every connect failed for `down_after`: the server is gone or was never there.
    TargetDown,
}

/// A reason that makes the rest of a point meaningless. The point stops and says why; what was
/// measured before it stays in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal {
    pub kind: FatalKind,
    pub message: String,
}

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// `error: cause: cause`, for one-line messages.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[derive(Debug)]
pub(crate) struct Ctx {
    pub metrics: Arc<Metrics>,
    pub stop: CancellationToken,
    pub connect_timeout: Duration,
    /// How long connects may fail without a success before the target counts as down.
    pub down_after: Duration,
    fatal: Mutex<Option<Fatal>>,
    failing_since: Mutex<Option<Instant>>,
}

impl Ctx {
    pub fn new(metrics: Arc<Metrics>, stop: CancellationToken, connect_timeout: Duration) -> Self {
        Ctx {
            metrics,
            stop,
            connect_timeout,
            down_after: Duration::from_secs(5),
            fatal: Mutex::new(None),
            failing_since: Mutex::new(None),
        }
    }

    /// Records the first fatal reason and stops the point.
    pub fn fail(&self, fatal: Fatal) {
        let mut slot = self.fatal.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(fatal);
        }
        self.stop.cancel();
    }

    pub fn take_fatal(&self) -> Option<Fatal> {
        self.fatal.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    pub fn connect_succeeded(&self) {
        *self.failing_since.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Notes a failed connect: a fatal error stops the point, and so do failures that have lasted
    /// `down_after` with no success in between.
    pub fn connect_failed(&self, err: &LoadError) {
        if let Some(kind) = err.fatal_kind() {
            self.fail(Fatal {
                kind,
                message: error_chain(err),
            });
            return;
        }
        let now = Instant::now();
        let since = *self
            .failing_since
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(now);
        let failing_for = now.duration_since(since);
        if failing_for >= self.down_after {
            self.fail(Fatal {
                kind: FatalKind::TargetDown,
                message: format!(
                    "target unreachable: every connect failed for {:.1} s (last: {})",
                    failing_for.as_secs_f64(),
                    error_chain(err)
                ),
            });
        }
    }
}
