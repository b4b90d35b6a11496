//! What the forwarder counted, per direction: every packet it read is either dropped for one named
//! reason or delivered, so `packets = dropped_* + delivered_packets + in_flight` at any instant.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One direction's counters, a snapshot. Counts since [`crate::Emulator::start`]; subtract two
/// snapshots ([`DirectionStats::since`]) for an interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectionStats {
    /// IP packets read from the sending side's TUN device.
    pub packets: u64,
    /// Their bytes (IP header included).
    pub bytes: u64,
    /// Packets dropped by the loss draw.
    pub dropped_loss: u64,
    /// Packets tail-dropped because the bottleneck queue was full.
    pub dropped_queue: u64,
    /// Packets dropped because the emulator's own delay line was full (a limit of this
    /// implementation, not of the emulated network; see [`crate::MAX_IN_FLIGHT_PACKETS`]).
    pub dropped_limit: u64,
    /// Packets written to the receiving side's TUN device.
    pub delivered_packets: u64,
    /// Their bytes.
    pub delivered_bytes: u64,
    /// Writes to the receiving side's TUN device that failed (packet lost; should stay 0).
    pub write_errors: u64,
    /// Sum over delivered packets of how late the forwarder wrote each one after its computed
    /// instant (thread wake-up latency): the emulator's own error, apart from the host's.
    pub lateness_total: Duration,
    /// The largest such lateness since start (not per interval: [`DirectionStats::since`] keeps
    /// the later snapshot's value).
    pub lateness_max: Duration,
}

impl DirectionStats {
    /// The counts accumulated between `earlier` and `self`.
    pub fn since(&self, earlier: &DirectionStats) -> DirectionStats {
        DirectionStats {
            packets: self.packets.saturating_sub(earlier.packets),
            bytes: self.bytes.saturating_sub(earlier.bytes),
            dropped_loss: self.dropped_loss.saturating_sub(earlier.dropped_loss),
            dropped_queue: self.dropped_queue.saturating_sub(earlier.dropped_queue),
            dropped_limit: self.dropped_limit.saturating_sub(earlier.dropped_limit),
            delivered_packets: self
                .delivered_packets
                .saturating_sub(earlier.delivered_packets),
            delivered_bytes: self.delivered_bytes.saturating_sub(earlier.delivered_bytes),
            write_errors: self.write_errors.saturating_sub(earlier.write_errors),
            lateness_total: self.lateness_total.saturating_sub(earlier.lateness_total),
            lateness_max: self.lateness_max,
        }
    }

    /// Mean lateness of a delivered packet (zero when none was delivered).
    pub fn lateness_mean(&self) -> Duration {
        match u32::try_from(self.delivered_packets) {
            Ok(0) => Duration::ZERO,
            Ok(n) => self.lateness_total / n,
            Err(_) => Duration::from_secs_f64(
                self.lateness_total.as_secs_f64() / self.delivered_packets as f64,
            ),
        }
    }

    /// `dropped_loss / packets`: the loss rate the draw produced (0 when nothing was seen).
    pub fn loss_fraction(&self) -> f64 {
        if self.packets == 0 {
            0.0
        } else {
            self.dropped_loss as f64 / self.packets as f64
        }
    }
}

/// Both directions. `up` is client -> server, `down` server -> client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Client -> server.
    pub up: DirectionStats,
    /// Server -> client.
    pub down: DirectionStats,
}

impl Stats {
    /// The counts accumulated between `earlier` and `self`, per direction.
    pub fn since(&self, earlier: &Stats) -> Stats {
        Stats {
            up: self.up.since(&earlier.up),
            down: self.down.since(&earlier.down),
        }
    }
}

/// The live counters one forwarder thread updates and [`crate::Emulator::stats`] reads.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) packets: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) dropped_loss: AtomicU64,
    pub(crate) dropped_queue: AtomicU64,
    pub(crate) dropped_limit: AtomicU64,
    pub(crate) delivered_packets: AtomicU64,
    pub(crate) delivered_bytes: AtomicU64,
    pub(crate) write_errors: AtomicU64,
    pub(crate) lateness_nanos_total: AtomicU64,
    pub(crate) lateness_nanos_max: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn record_lateness(&self, late: Duration) {
        let nanos = u64::try_from(late.as_nanos()).unwrap_or(u64::MAX);
        self.lateness_nanos_total
            .fetch_add(nanos, Ordering::Relaxed);
        self.lateness_nanos_max.fetch_max(nanos, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> DirectionStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        DirectionStats {
            packets: get(&self.packets),
            bytes: get(&self.bytes),
            dropped_loss: get(&self.dropped_loss),
            dropped_queue: get(&self.dropped_queue),
            dropped_limit: get(&self.dropped_limit),
            delivered_packets: get(&self.delivered_packets),
            delivered_bytes: get(&self.delivered_bytes),
            write_errors: get(&self.write_errors),
            lateness_total: Duration::from_nanos(get(&self.lateness_nanos_total)),
            lateness_max: Duration::from_nanos(get(&self.lateness_nanos_max)),
        }
    }
}
