//! What the path actually does, measured through it: the round-trip time as TCP connect time
//! (SYN out, SYN-ACK back), so a report can show the measured figure beside the configured one.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::emulator::{Emulator, Side};

/// Connect times, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RttMeasurement {
    samples: Vec<Duration>,
}

impl RttMeasurement {
    /// The samples, shortest first.
    pub fn samples(&self) -> &[Duration] {
        &self.samples
    }

    /// The median (the lower middle one for an even count).
    pub fn median(&self) -> Duration {
        self.samples
            .get((self.samples.len().saturating_sub(1)) / 2)
            .copied()
            .unwrap_or_default()
    }

    /// The shortest sample.
    pub fn min(&self) -> Duration {
        self.samples.first().copied().unwrap_or_default()
    }

    /// The longest sample.
    pub fn max(&self) -> Duration {
        self.samples.last().copied().unwrap_or_default()
    }
}

impl Emulator {
    /// Measures the round-trip time as the time `connect()` takes from the client namespace to a
    /// listener in the server namespace, `samples` times (clamped to 1..=100: the connections are
    /// not accepted, so they must fit in the listen backlog) one after the other.
    ///
    /// Each connection stays open until the end and the next starts only when the last packet of
    /// the previous handshake has surely arrived (`rtt / 2 + jitter` later): a SYN queued behind
    /// an earlier packet would wait for that packet's jitter draw too (packets are never
    /// reordered), and the samples would lean high. A SYN or SYN-ACK lost to the loss draw costs
    /// a retransmission (1 s or more): under loss, take the median.
    pub fn measure_connect_rtt(&self, samples: usize) -> io::Result<RttMeasurement> {
        let server = self.addr(Side::Server);
        let listener = self.run_in(Side::Server, || TcpListener::bind((server, 0)))??;
        let target: SocketAddr = listener.local_addr()?;
        let config = self.config();
        let timeout = config.rtt * 4 + Duration::from_secs(10);
        let settle = config.rtt / 2 + config.jitter + Duration::from_millis(1);
        let count = samples.clamp(1, 100);
        let mut samples = self.run_in(Side::Client, || -> io::Result<Vec<Duration>> {
            let mut open = Vec::new();
            let mut samples = Vec::new();
            for _ in 0..count {
                let started = Instant::now();
                open.push(TcpStream::connect_timeout(&target, timeout)?);
                samples.push(started.elapsed());
                std::thread::sleep(settle);
            }
            Ok(samples)
        })??;
        samples.sort();
        Ok(RttMeasurement { samples })
    }
}
