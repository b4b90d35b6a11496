//! What a well-behaved client sees while others misbehave: POST-to-receipt latency of chat
//! messages, and latency summaries.

use std::fmt;
use std::time::{Duration, Instant};

use http::StatusCode;
use sse_server::Protocol;

use crate::target::Endpoints;
use crate::{connect, SseReader, TestClient};

/// A subscriber and a poster, each on its own connection, on one channel.
#[derive(Debug)]
pub struct DeliveryProbe {
    _subscriber: TestClient,
    stream: SseReader,
    poster: TestClient,
    messages_path: String,
    sent: u64,
}

impl DeliveryProbe {
    /// Subscribes to `channel` (ticks only once a minute, so messages are what arrives) and
    /// connects a poster.
    pub async fn open(
        server: &(impl Endpoints + ?Sized),
        p: Protocol,
        channel: &str,
    ) -> DeliveryProbe {
        let mut subscriber = connect(server, p).await;
        let path = format!("/events?channel={channel}&interval_ms=60000");
        let mut stream = SseReader::new(subscriber.get(&path, &[]).await);
        stream.event_of("tick").await;
        DeliveryProbe {
            _subscriber: subscriber,
            stream,
            poster: connect(server, p).await,
            messages_path: format!("/messages?channel={channel}"),
            sent: 0,
        }
    }

    /// One sample: from just before the POST is sent to the moment the subscriber has parsed the
    /// event carrying it (or the POST's 202 has arrived, if that is later). Panics if either
    /// fails or takes longer than [`crate::WAIT`].
    pub async fn sample(&mut self) -> Duration {
        self.sent += 1;
        let body = format!("probe-{}", self.sent);
        let started = Instant::now();
        let ((status, reply), event) = tokio::join!(
            self.poster.post(&self.messages_path, body.clone()),
            self.stream.event_of("message")
        );
        let took = started.elapsed();
        assert_eq!(status, StatusCode::ACCEPTED, "probe POST: {reply}");
        assert_eq!(event.data, body, "the probe's messages arrive in order");
        took
    }

    /// `n` samples, one every `interval`.
    pub async fn run(&mut self, n: usize, interval: Duration) -> Latencies {
        let mut samples = Vec::with_capacity(n);
        for _ in 0..n {
            samples.push(self.sample().await);
            tokio::time::sleep(interval).await;
        }
        Latencies::new(samples)
    }
}

/// A set of latency samples, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latencies(Vec<Duration>);

impl Latencies {
    pub fn new(mut samples: Vec<Duration>) -> Latencies {
        samples.sort_unstable();
        Latencies(samples)
    }

    pub fn count(&self) -> usize {
        self.0.len()
    }

    /// The `q` quantile (0.0 to 1.0), nearest rank; zero without samples.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let rank = (q * self.0.len() as f64).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1]
    }

    pub fn p50(&self) -> Duration {
        self.quantile(0.5)
    }

    pub fn p99(&self) -> Duration {
        self.quantile(0.99)
    }

    pub fn max(&self) -> Duration {
        self.0.last().copied().unwrap_or_default()
    }
}

impl fmt::Display for Latencies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "n={} p50={:.1?} p99={:.1?} max={:.1?}",
            self.count(),
            self.p50(),
            self.p99(),
            self.max()
        )
    }
}
