//! `[network]`: the conditions between the clients and the server, emulated at the packet level
//! by `netem` (the clients and the embedded server in network namespaces of the run's own,
//! joined by a forwarder that delays, drops and paces packets, so TCP itself sees them). `rtt` and
//! `loss` can be sweeps: every point runs under each (rtt, loss) condition in turn.

use std::time::Duration;

use netem::Bandwidth;
use toml::Spanned;

use super::checks::Ctx;
use super::raw::RawNetwork;
use super::ScenarioError;

/// The network a scenario emulates; `None` in [`super::Scenario`] is loopback, as always.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSettings {
    /// Round-trip times to sweep (half each way).
    pub rtts: Vec<Duration>,
    /// Per-packet loss probabilities to sweep, each direction, as fractions (0.02 = 2%).
    pub losses: Vec<f64>,
    /// Delay variation each way (no reordering).
    pub jitter: Duration,
    pub bandwidth_up: Option<Bandwidth>,
    pub bandwidth_down: Option<Bandwidth>,
    /// The bottleneck queue, packets (tail drop).
    pub queue_packets: usize,
}

/// One network condition of the sweep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetworkCondition {
    pub rtt: Duration,
    /// Per-packet loss probability each way, a fraction.
    pub loss: f64,
}

/// The default bottleneck queue is the emulator's own.
pub use netem::config::DEFAULT_QUEUE_PACKETS;

impl NetworkSettings {
    /// Every condition, rtt-major, in the file's order.
    pub fn conditions(&self) -> Vec<NetworkCondition> {
        let mut out = Vec::new();
        for &rtt in &self.rtts {
            for &loss in &self.losses {
                out.push(NetworkCondition { rtt, loss });
            }
        }
        out
    }

    /// The emulator's configuration for one condition.
    pub fn config(&self, c: NetworkCondition) -> netem::NetworkConfig {
        netem::NetworkConfig {
            rtt: c.rtt,
            jitter: self.jitter,
            bandwidth_up: self.bandwidth_up,
            bandwidth_down: self.bandwidth_down,
            loss_up: c.loss,
            loss_down: c.loss,
            queue_packets: self.queue_packets,
            seed: None,
        }
    }

    /// The report's `network` cell for one condition: `rtt=100ms loss=2%`, and the settings that
    /// are not swept when they are set (`jitter=`, `up=`, `down=`).
    pub fn label(&self, c: NetworkCondition) -> String {
        let mut label = format!(
            "rtt={} loss={}%",
            humantime::format_duration(c.rtt),
            trim(c.loss * 100.0)
        );
        if !self.jitter.is_zero() {
            label.push_str(&format!(
                " jitter={}",
                humantime::format_duration(self.jitter)
            ));
        }
        if let Some(b) = self.bandwidth_up {
            label.push_str(&format!(" up={}", b.to_string().replace(' ', "")));
        }
        if let Some(b) = self.bandwidth_down {
            label.push_str(&format!(" down={}", b.to_string().replace(' ', "")));
        }
        label
    }
}

/// A percentage without needless digits: 2, 0.5, 12.25.
fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

pub(super) fn network(cx: &Ctx<'_>, n: &RawNetwork) -> Result<NetworkSettings, ScenarioError> {
    let ten_s = Duration::from_secs(10);
    let rtts = match &n.rtt {
        None => vec![Duration::ZERO],
        Some(v) => {
            let mut out: Vec<Duration> = Vec::new();
            let values = v.get_ref().values();
            if values.is_empty() {
                return Err(cx.invalid("network.rtt", v, "an empty sweep runs nothing"));
            }
            for text in values {
                let d = humantime::parse_duration(text.trim()).map_err(|_| {
                    cx.invalid(
                        "network.rtt",
                        v,
                        format!("{text:?} is not a duration such as \"100ms\""),
                    )
                })?;
                if d > ten_s {
                    return Err(cx.invalid("network.rtt", v, "each RTT must be at most 10s"));
                }
                if out.contains(&d) {
                    return Err(cx.invalid("network.rtt", v, format!("{text} appears twice")));
                }
                out.push(d);
            }
            out
        }
    };
    let losses = match &n.loss {
        None => vec![0.0],
        Some(v) => {
            let values = v.get_ref().values();
            if values.is_empty() {
                return Err(cx.invalid("network.loss", v, "an empty sweep runs nothing"));
            }
            let mut out: Vec<f64> = Vec::new();
            for pct in values {
                if !(pct.is_finite() && (0.0..=100.0).contains(&pct)) {
                    return Err(cx.invalid(
                        "network.loss",
                        v,
                        format!("{pct} is not a percentage from 0 to 100"),
                    ));
                }
                let fraction = pct / 100.0;
                if out.contains(&fraction) {
                    return Err(cx.invalid("network.loss", v, format!("{pct} appears twice")));
                }
                out.push(fraction);
            }
            out
        }
    };
    let jitter = cx.duration_in(
        "network.jitter",
        n.jitter.as_ref(),
        Duration::ZERO,
        Duration::ZERO..=ten_s,
    )?;
    if let (Some(j), Some(&smallest)) = (&n.jitter, rtts.iter().min()) {
        if jitter > smallest / 2 {
            return Err(cx.invalid(
                "network.jitter",
                j,
                "must be at most half the smallest rtt (packets are never reordered)",
            ));
        }
    }
    let bandwidth =
        |key: &str, v: Option<&Spanned<String>>| -> Result<Option<Bandwidth>, ScenarioError> {
            v.map(|v| {
                v.get_ref()
                    .parse::<Bandwidth>()
                    .map_err(|e| cx.invalid(key, v, e.to_string()))
            })
            .transpose()
        };
    let both = bandwidth("network.bandwidth", n.bandwidth.as_ref())?;
    let bandwidth_up = bandwidth("network.bandwidth_up", n.bandwidth_up.as_ref())?.or(both);
    let bandwidth_down = bandwidth("network.bandwidth_down", n.bandwidth_down.as_ref())?.or(both);
    let queue_packets = cx.int_in(
        "network.queue",
        n.queue.as_ref(),
        DEFAULT_QUEUE_PACKETS as i64,
        1..=1_000_000,
    )? as usize;
    let settings = NetworkSettings {
        rtts,
        losses,
        jitter,
        bandwidth_up,
        bandwidth_down,
        queue_packets,
    };
    // The emulator's own rules (bandwidth range...), named by the key they come from.
    for c in settings.conditions() {
        if let Err(e) = settings.config(c).validate() {
            let key = format!(
                "network.{}",
                e.field.trim_end_matches("_up").trim_end_matches("_down")
            );
            return Err(ScenarioError::Invalid {
                path: cx.path.to_owned(),
                line: 1,
                key,
                value: e.value,
                reason: format!("must be {}", e.allowed),
            });
        }
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::scenario::Scenario;

    fn parse(table: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse(
            Path::new("n.toml"),
            &format!("name = \"n\"\nprotocols = [\"h2\"]\nduration = \"1s\"\n[network]\n{table}"),
        )
    }

    #[test]
    fn sweeps_and_labels() {
        let s = parse("rtt = \"100ms\"\nloss = [0, 1, 2.5]\nbandwidth = \"10 Mbit/s\"\n").unwrap();
        let n = s.network.clone().expect("a network");
        let conditions = n.conditions();
        assert_eq!(conditions.len(), 3);
        assert_eq!(conditions[2].loss, 0.025);
        assert_eq!(
            n.label(conditions[2]),
            "rtt=100ms loss=2.5% up=10Mbit/s down=10Mbit/s"
        );
        assert_eq!(n.config(conditions[1]).loss_up, 0.01);
        assert_eq!(s.points().len(), 3, "one point per condition");
        let s = parse("rtt = [\"0ms\", \"50ms\"]\n").unwrap();
        assert_eq!(
            s.network.expect("a network").label(NetworkCondition {
                rtt: Duration::from_millis(50),
                loss: 0.0
            }),
            "rtt=50ms loss=0%"
        );
    }

    #[test]
    fn bad_values_are_named() {
        for (table, needle) in [
            ("rtt = \"fast\"\n", "network.rtt"),
            ("rtt = \"11s\"\n", "at most 10s"),
            ("loss = 101\n", "percentage"),
            ("loss = []\n", "empty sweep"),
            (
                "rtt = \"10ms\"\njitter = \"6ms\"\n",
                "half the smallest rtt",
            ),
            ("bandwidth = \"10 MB/s\"\n", "network.bandwidth"),
            ("queue = 0\n", "network.queue"),
            ("delay = \"5ms\"\n", "unknown field"),
        ] {
            let e = parse(table).unwrap_err().to_string();
            assert!(e.contains(needle), "{table:?}: {e}");
        }
    }
}
