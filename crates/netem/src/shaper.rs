//! One direction of the emulated path as a pure model: given a packet's arrival instant and size,
//! decide whether it is lost, dropped at the bottleneck queue, or delivered, and when.
//!
//! The path, in order:
//! 1. **Loss**: each packet independently with probability `loss` (a Bernoulli draw), before the
//!    bottleneck, so a lost packet takes no link time.
//! 2. **Bottleneck**: a link of `bandwidth` with a FIFO of `queue_packets` packets waiting behind
//!    the one being sent. A packet starts when the link is free and occupies it for
//!    `size × 8 / bandwidth`; a packet that finds `queue_packets` packets waiting is dropped (tail
//!    drop). The clock is virtual (instants computed, not slept), so a late wake-up of the
//!    forwarder thread delays packets but does not lower the rate.
//! 3. **Propagation**: `one_way` plus a uniform draw in `-jitter..=+jitter`; a packet never
//!    leaves before the one ahead of it (no reordering), so with jitter close packets bunch up
//!    and the mean delay rises slightly above `one_way`.
//!
//! No I/O and no clock reads here: the forwarder passes `now`, and the unit tests pass made-up
//! instants.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::config::Bandwidth;
use crate::rng::Rng;

/// The settings of one direction, derived from [`crate::NetworkConfig`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DirectionParams {
    pub(crate) one_way: Duration,
    pub(crate) jitter: Duration,
    pub(crate) bandwidth: Option<Bandwidth>,
    pub(crate) loss: f64,
    pub(crate) queue_packets: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Write the packet to the far side at this instant.
    Deliver(Instant),
    /// Lost by the loss draw.
    DropLoss,
    /// Tail-dropped: the bottleneck queue was full.
    DropQueue,
}

#[derive(Debug)]
pub(crate) struct Shaper {
    params: DirectionParams,
    rng: Rng,
    /// When the link finishes sending the last packet it accepted.
    link_free_at: Option<Instant>,
    /// Start instants of accepted packets not yet being sent at the last `admit`: the queue.
    waiting: VecDeque<Instant>,
    /// Delivery instant of the last accepted packet (no reordering).
    last_delivery: Option<Instant>,
}

impl Shaper {
    pub(crate) fn new(params: DirectionParams, seed: u64) -> Self {
        Shaper {
            params,
            rng: Rng::seeded(seed),
            link_free_at: None,
            waiting: VecDeque::new(),
            last_delivery: None,
        }
    }

    /// New settings for packets admitted from now on; packets already admitted keep their
    /// schedule and their place in the queue.
    pub(crate) fn set_params(&mut self, params: DirectionParams) {
        self.params = params;
    }

    /// Decides the fate of a packet of `size` bytes that arrived at `now`. Instants passed to
    /// successive calls must not go backwards.
    pub(crate) fn admit(&mut self, now: Instant, size: usize) -> Verdict {
        if self.params.loss > 0.0 && self.rng.chance(self.params.loss) {
            return Verdict::DropLoss;
        }
        let departure = match self.params.bandwidth {
            None => now,
            Some(bandwidth) => {
                while self.waiting.front().is_some_and(|&start| start <= now) {
                    self.waiting.pop_front();
                }
                if self.waiting.len() >= self.params.queue_packets {
                    return Verdict::DropQueue;
                }
                let start = self.link_free_at.map_or(now, |free| free.max(now));
                let finish = start + bandwidth.transmission_time(size);
                self.link_free_at = Some(finish);
                if start > now {
                    self.waiting.push_back(start);
                }
                finish
            }
        };
        let mut delay = self.params.one_way;
        if !self.params.jitter.is_zero() {
            let span = self.params.jitter.mul_f64(2.0 * self.rng.next_f64());
            delay = delay.saturating_sub(self.params.jitter) + span;
        }
        let mut at = departure + delay;
        if let Some(last) = self.last_delivery {
            at = at.max(last);
        }
        self.last_delivery = Some(at);
        Verdict::Deliver(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> DirectionParams {
        DirectionParams {
            one_way: Duration::from_millis(25),
            jitter: Duration::ZERO,
            bandwidth: None,
            loss: 0.0,
            queue_packets: 100,
        }
    }

    fn deliver_at(verdict: Verdict) -> Instant {
        match verdict {
            Verdict::Deliver(at) => at,
            other => panic!("expected delivery, got {other:?}"),
        }
    }

    #[test]
    fn delay_only() {
        let t0 = Instant::now();
        let mut shaper = Shaper::new(params(), 1);
        for k in 0..10 {
            let now = t0 + Duration::from_micros(k * 10);
            assert_eq!(
                deliver_at(shaper.admit(now, 1500)),
                now + Duration::from_millis(25)
            );
        }
    }

    #[test]
    fn bandwidth_paces_packets_back_to_back() {
        let t0 = Instant::now();
        let mut shaper = Shaper::new(
            DirectionParams {
                bandwidth: Some(Bandwidth::from_mbit_per_second(10)),
                ..params()
            },
            1,
        );
        // A burst of 10 full-size packets at once: 1.2 ms each at 10 Mbit/s.
        for k in 1..=10u32 {
            let at = deliver_at(shaper.admit(t0, 1500));
            assert_eq!(
                at,
                t0 + Duration::from_micros(1200) * k + Duration::from_millis(25)
            );
        }
        // Long after the burst, the link is idle again: no leftover wait.
        let later = t0 + Duration::from_secs(1);
        assert_eq!(
            deliver_at(shaper.admit(later, 1500)),
            later + Duration::from_micros(1200) + Duration::from_millis(25)
        );
    }

    #[test]
    fn full_queue_tail_drops_then_drains() {
        let t0 = Instant::now();
        let mut shaper = Shaper::new(
            DirectionParams {
                bandwidth: Some(Bandwidth::from_mbit_per_second(10)),
                queue_packets: 3,
                ..params()
            },
            1,
        );
        // One packet on the wire, three waiting, the rest of the burst dropped.
        let verdicts: Vec<Verdict> = (0..10).map(|_| shaper.admit(t0, 1500)).collect();
        let delivered = verdicts
            .iter()
            .filter(|v| matches!(v, Verdict::Deliver(_)))
            .count();
        let dropped = verdicts
            .iter()
            .filter(|v| matches!(v, Verdict::DropQueue))
            .count();
        assert_eq!((delivered, dropped), (4, 6));
        // 1.2 ms later the first has gone and the second is on the wire: one slot free.
        let t1 = t0 + Duration::from_micros(1200);
        assert!(matches!(shaper.admit(t1, 1500), Verdict::Deliver(_)));
        assert_eq!(shaper.admit(t1, 1500), Verdict::DropQueue);
    }

    #[test]
    fn jitter_stays_in_range_and_never_reorders() {
        let t0 = Instant::now();
        let jitter = Duration::from_millis(10);
        let mut shaper = Shaper::new(DirectionParams { jitter, ..params() }, 7);
        let mut last = t0;
        let mut spread_seen = Duration::ZERO;
        for k in 0..10_000u64 {
            let now = t0 + Duration::from_micros(k * 100);
            let at = deliver_at(shaper.admit(now, 100));
            assert!(at >= last, "reordered at packet {k}");
            let delay = at - now;
            assert!(delay >= Duration::from_millis(15), "{delay:?}");
            assert!(delay <= Duration::from_millis(35), "{delay:?}");
            spread_seen = spread_seen.max(delay - Duration::from_millis(15));
            last = at;
        }
        // The draws cover the range, not a point.
        assert!(spread_seen > Duration::from_millis(19), "{spread_seen:?}");
    }

    #[test]
    fn loss_rate_and_loss_takes_no_link_time() {
        let t0 = Instant::now();
        let mut shaper = Shaper::new(
            DirectionParams {
                loss: 0.02,
                bandwidth: Some(Bandwidth::from_mbit_per_second(10)),
                queue_packets: usize::MAX,
                ..params()
            },
            3,
        );
        let n = 100_000u32;
        let mut lost = 0u32;
        let mut last = t0;
        for _ in 0..n {
            match shaper.admit(t0, 1500) {
                Verdict::DropLoss => lost += 1,
                Verdict::Deliver(at) => last = at,
                Verdict::DropQueue => panic!("unbounded queue dropped"),
            }
        }
        // Binomial(100000, 0.02): sd = 44; 6 sd either side.
        assert!((1_736..=2_264).contains(&lost), "lost {lost}");
        let sent = n - lost;
        assert_eq!(
            last,
            t0 + Duration::from_micros(1200) * sent + Duration::from_millis(25)
        );
    }
}
