//! What the emulated network does: [`NetworkConfig`], the [`Bandwidth`] unit, and the checks that
//! turn a config into one the forwarder can run ([`NetworkConfig::validate`]).
//!
//! "Up" is client -> server, "down" is server -> client, everywhere in this crate.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Largest round-trip time accepted.
pub const MAX_RTT: Duration = Duration::from_secs(10);
/// Default bottleneck queue, in packets: about 120 ms of queue at 10 Mbit/s with full-size packets.
pub const DEFAULT_QUEUE_PACKETS: usize = 100;

/// A link rate in bits per second, counted on IP packets (IP header included, no link-layer
/// framing: a TUN device carries bare IP packets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bandwidth {
    bits_per_second: u64,
}

impl Bandwidth {
    /// Slowest rate accepted: 8 kbit/s.
    pub const MIN: Bandwidth = Bandwidth::from_bits_per_second(8_000);
    /// Fastest rate accepted: 10 Gbit/s (a userspace forwarder cannot reach it; see the crate docs).
    pub const MAX: Bandwidth = Bandwidth::from_bits_per_second(10_000_000_000);

    /// A rate of `bits_per_second` (decimal units throughout: 1 kbit/s = 1000 bit/s).
    pub const fn from_bits_per_second(bits_per_second: u64) -> Self {
        Bandwidth { bits_per_second }
    }

    /// A rate of `kbit_per_second` × 1000 bit/s.
    pub const fn from_kbit_per_second(kbit_per_second: u64) -> Self {
        Bandwidth::from_bits_per_second(kbit_per_second.saturating_mul(1_000))
    }

    /// A rate of `mbit_per_second` × 1,000,000 bit/s.
    pub const fn from_mbit_per_second(mbit_per_second: u64) -> Self {
        Bandwidth::from_bits_per_second(mbit_per_second.saturating_mul(1_000_000))
    }

    /// The rate in bits per second.
    pub const fn bits_per_second(self) -> u64 {
        self.bits_per_second
    }

    /// How long `bytes` take to cross a link of this rate (serialization delay).
    pub fn transmission_time(self, bytes: usize) -> Duration {
        let bits = (bytes as u128) * 8;
        let nanos = bits * 1_000_000_000 / u128::from(self.bits_per_second.max(1));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

impl fmt::Display for Bandwidth {
    /// `10 Mbit/s`, `1.5 Mbit/s`, `512 kbit/s`: the largest unit with an integer part >= 1.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bps = self.bits_per_second as f64;
        let (value, unit) = if bps >= 1e9 {
            (bps / 1e9, "Gbit/s")
        } else if bps >= 1e6 {
            (bps / 1e6, "Mbit/s")
        } else if bps >= 1e3 {
            (bps / 1e3, "kbit/s")
        } else {
            (bps, "bit/s")
        };
        // Up to three decimals, trailing zeros removed.
        let text = format!("{value:.3}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        write!(f, "{text} {unit}")
    }
}

/// A bandwidth that did not parse; the message says what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid bandwidth {text:?}: {reason} (expected a number and a unit: bit/s, kbit/s, Mbit/s or Gbit/s, e.g. \"10 Mbit/s\")")]
pub struct ParseBandwidthError {
    text: String,
    reason: &'static str,
}

impl FromStr for Bandwidth {
    type Err = ParseBandwidthError;

    /// Accepts `<number> <unit>` with an optional space, the unit one of `bit`, `kbit`, `Mbit`,
    /// `Gbit` (any case, optionally followed by `/s`), e.g. `10 Mbit/s`, `512kbit`, `1.5 mbit/s`.
    /// Byte units are refused on purpose: `tc` spells bytes per second `bps`, which readers take
    /// for bits.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |reason| ParseBandwidthError {
            text: text.to_owned(),
            reason,
        };
        let trimmed = text.trim();
        let split = trimmed
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| err("no unit"))?;
        let (number, unit) = trimmed.split_at(split);
        let number: f64 = number.parse().map_err(|_| err("not a number"))?;
        let unit = unit.trim().to_ascii_lowercase();
        let unit = unit.strip_suffix("/s").unwrap_or(&unit);
        let multiplier = match unit {
            "bit" => 1.0,
            "kbit" => 1e3,
            "mbit" => 1e6,
            "gbit" => 1e9,
            "bps" | "kbps" | "mbps" | "gbps" | "b" | "kb" | "mb" | "gb" | "byte" | "kbyte"
            | "mbyte" | "gbyte" => return Err(err("ambiguous or byte unit")),
            _ => return Err(err("unknown unit")),
        };
        let bits = number * multiplier;
        if !bits.is_finite() || bits < 1.0 || bits > u64::MAX as f64 {
            return Err(err("out of range"));
        }
        Ok(Bandwidth::from_bits_per_second(bits.round() as u64))
    }
}

/// The network between the client namespace and the server namespace.
///
/// Build one (start from [`NetworkConfig::default`], a perfect network) and hand it to
/// [`crate::Emulator::start`], which checks it with [`NetworkConfig::validate`] first.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkConfig {
    /// Round-trip time added by the emulator; each direction gets half (0..=10 s). The host's own
    /// forwarding adds tens of microseconds on top.
    pub rtt: Duration,
    /// Each packet's one-way delay is `rtt / 2` plus a uniform sample in `-jitter..=+jitter`
    /// (at most `rtt / 2`). Packets are never reordered: a packet whose sample would overtake the
    /// one before it leaves just after that one instead.
    pub jitter: Duration,
    /// Client -> server link rate; `None`: no rate limit and no bottleneck queue.
    pub bandwidth_up: Option<Bandwidth>,
    /// Server -> client link rate; `None`: no rate limit and no bottleneck queue.
    pub bandwidth_down: Option<Bandwidth>,
    /// Probability (0..=1) that a client -> server packet is dropped, each packet independently.
    pub loss_up: f64,
    /// Probability (0..=1) that a server -> client packet is dropped, each packet independently.
    pub loss_down: f64,
    /// Bottleneck queue, in packets waiting behind the one being sent (>= 1), per direction: a
    /// packet that finds it full is dropped (tail drop). Only a direction with a bandwidth has one.
    pub queue_packets: usize,
    /// Seed of the loss and jitter draws; `None`: a fresh random seed per start.
    pub seed: Option<u64>,
}

impl Default for NetworkConfig {
    /// A perfect network: no delay, no loss, no rate limit.
    fn default() -> Self {
        NetworkConfig {
            rtt: Duration::ZERO,
            jitter: Duration::ZERO,
            bandwidth_up: None,
            bandwidth_down: None,
            loss_up: 0.0,
            loss_down: 0.0,
            queue_packets: DEFAULT_QUEUE_PACKETS,
            seed: None,
        }
    }
}

/// A config value outside its allowed range. `field` is the [`NetworkConfig`] field name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("network {field} = {value}: must be {allowed}")]
pub struct ConfigError {
    /// The field, as named in [`NetworkConfig`] (e.g. `loss_up`).
    pub field: &'static str,
    /// The value given, formatted.
    pub value: String,
    /// The allowed range, in words.
    pub allowed: String,
}

impl NetworkConfig {
    /// Checks every field against its allowed range; the first one out of range is named.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.rtt > MAX_RTT {
            return Err(ConfigError {
                field: "rtt",
                value: format!("{:?}", self.rtt),
                allowed: format!("at most {MAX_RTT:?}"),
            });
        }
        if self.jitter > self.rtt / 2 {
            return Err(ConfigError {
                field: "jitter",
                value: format!("{:?}", self.jitter),
                allowed: format!(
                    "at most rtt / 2 = {:?} (a one-way delay cannot go below zero)",
                    self.rtt / 2
                ),
            });
        }
        for (field, bandwidth) in [
            ("bandwidth_up", self.bandwidth_up),
            ("bandwidth_down", self.bandwidth_down),
        ] {
            if let Some(bandwidth) = bandwidth {
                if !(Bandwidth::MIN..=Bandwidth::MAX).contains(&bandwidth) {
                    return Err(ConfigError {
                        field,
                        value: bandwidth.to_string(),
                        allowed: format!("from {} to {}", Bandwidth::MIN, Bandwidth::MAX),
                    });
                }
            }
        }
        for (field, loss) in [("loss_up", self.loss_up), ("loss_down", self.loss_down)] {
            // `contains` is false for NaN.
            if !(0.0..=1.0).contains(&loss) {
                return Err(ConfigError {
                    field,
                    value: loss.to_string(),
                    allowed: "a fraction from 0 to 1 (0.02 is 2%)".to_owned(),
                });
            }
        }
        if self.queue_packets < 1 {
            return Err(ConfigError {
                field: "queue_packets",
                value: self.queue_packets.to_string(),
                allowed: "at least 1".to_owned(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        assert_eq!(NetworkConfig::default().validate(), Ok(()));
    }

    #[test]
    fn each_bound_names_its_field() {
        let base = NetworkConfig {
            rtt: Duration::from_millis(100),
            ..NetworkConfig::default()
        };
        let cases: Vec<(&str, NetworkConfig)> = vec![
            (
                "rtt",
                NetworkConfig {
                    rtt: Duration::from_millis(10_001),
                    ..base.clone()
                },
            ),
            (
                "jitter",
                NetworkConfig {
                    jitter: Duration::from_millis(51),
                    ..base.clone()
                },
            ),
            (
                "bandwidth_up",
                NetworkConfig {
                    bandwidth_up: Some(Bandwidth::from_bits_per_second(7_999)),
                    ..base.clone()
                },
            ),
            (
                "bandwidth_down",
                NetworkConfig {
                    bandwidth_down: Some(Bandwidth::from_bits_per_second(10_000_000_001)),
                    ..base.clone()
                },
            ),
            (
                "loss_up",
                NetworkConfig {
                    loss_up: -0.01,
                    ..base.clone()
                },
            ),
            (
                "loss_down",
                NetworkConfig {
                    loss_down: f64::NAN,
                    ..base.clone()
                },
            ),
            (
                "loss_down",
                NetworkConfig {
                    loss_down: 1.5,
                    ..base.clone()
                },
            ),
            (
                "queue_packets",
                NetworkConfig {
                    queue_packets: 0,
                    ..base.clone()
                },
            ),
        ];
        for (field, config) in cases {
            let err = config.validate().expect_err(field);
            assert_eq!(err.field, field, "{err}");
            assert!(err.to_string().contains(field), "{err}");
        }
    }

    #[test]
    fn bounds_themselves_are_allowed() {
        let config = NetworkConfig {
            rtt: MAX_RTT,
            jitter: MAX_RTT / 2,
            bandwidth_up: Some(Bandwidth::MIN),
            bandwidth_down: Some(Bandwidth::MAX),
            loss_up: 0.0,
            loss_down: 1.0,
            queue_packets: 1,
            seed: Some(7),
        };
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn bandwidth_parses_and_displays() {
        let parse = |s: &str| s.parse::<Bandwidth>().map(Bandwidth::bits_per_second);
        assert_eq!(parse("10 Mbit/s"), Ok(10_000_000));
        assert_eq!(parse("10mbit"), Ok(10_000_000));
        assert_eq!(parse("1.5 Mbit/s"), Ok(1_500_000));
        assert_eq!(parse("512kbit/s"), Ok(512_000));
        assert_eq!(parse("8000 bit/s"), Ok(8_000));
        assert_eq!(parse("1 Gbit/s"), Ok(1_000_000_000));
        for bad in [
            "10", "10 Mbps", "10 MB/s", "fast", "Mbit/s", "0 bit/s", "1e3 kbit",
        ] {
            assert!(parse(bad).is_err(), "{bad} parsed");
        }
        assert_eq!(Bandwidth::from_mbit_per_second(10).to_string(), "10 Mbit/s");
        assert_eq!(
            Bandwidth::from_kbit_per_second(1_500).to_string(),
            "1.5 Mbit/s"
        );
        assert_eq!(
            Bandwidth::from_bits_per_second(8_000).to_string(),
            "8 kbit/s"
        );
    }

    #[test]
    fn transmission_time_is_bits_over_rate() {
        let ten_mbit = Bandwidth::from_mbit_per_second(10);
        assert_eq!(
            ten_mbit.transmission_time(1500),
            Duration::from_micros(1200)
        );
        assert_eq!(
            Bandwidth::MIN.transmission_time(1000),
            Duration::from_secs(1)
        );
    }
}
