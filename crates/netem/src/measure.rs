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
    /// not accepted, so they must fit in the listen backlog) in a row. A SYN or SYN-ACK
    /// lost to the loss draw costs a retransmission (1 s or more): measure under loss with that
    /// in mind, or take the median.
    pub fn measure_connect_rtt(&self, samples: usize) -> io::Result<RttMeasurement> {
        let server = self.addr(Side::Server);
        let listener = self.run_in(Side::Server, || TcpListener::bind((server, 0)))??;
        let target: SocketAddr = listener.local_addr()?;
        let timeout = self.config().rtt * 4 + Duration::from_secs(10);
        let mut samples = self.run_in(Side::Client, || -> io::Result<Vec<Duration>> {
            (0..samples.clamp(1, 100))
                .map(|_| {
                    let started = Instant::now();
                    let stream = TcpStream::connect_timeout(&target, timeout)?;
                    let elapsed = started.elapsed();
                    drop(stream);
                    Ok(elapsed)
                })
                .collect()
        })??;
        samples.sort();
        Ok(RttMeasurement { samples })
    }
}
