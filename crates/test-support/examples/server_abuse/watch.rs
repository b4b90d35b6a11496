//! What the driver watches while an attack runs, and after: the server's resident memory, a
//! well-behaved client's latency (a chat message from POST to its event, on kept-alive HTTP/2
//! connections), and whether a new well-behaved client can get in (a fresh connection, `GET
//! /health` and a POST to a channel of its own, a new one each time, on each listener in turn).
//! Nothing here panics on a failure: a failure is what is being measured.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use sse_server::{Protocol, Stats};
use test_support::abuse::rss_bytes_of;
use test_support::sse::SseItem;
use test_support::{ClientSpec, Endpoints, Latencies, SseReader, Target, TestClient};
use tokio::task::JoinHandle;

/// How long a well-behaved request may take before it counts as failed.
const REQUEST_LIMIT: Duration = Duration::from_secs(3);
/// Time between two delivery samples.
const PROBE_EVERY: Duration = Duration::from_millis(50);
/// Time between two new-client checks (each checks one listener, in turn).
const NEWCOMER_EVERY: Duration = Duration::from_millis(250);
/// Time between two memory samples.
const RSS_EVERY: Duration = Duration::from_millis(100);

/// What was seen while watching.
#[derive(Debug, Default)]
pub struct Seen {
    pub rss_peak: u64,
    /// POST-to-event latencies of the well-behaved client's chat messages.
    pub delivery: Vec<Duration>,
    pub delivery_failed: u64,
    /// Connect (TCP, TLS) plus `GET /health` of new clients.
    pub newcomer: Vec<Duration>,
    pub newcomer_failed: Vec<(Protocol, String)>,
    /// Channels the newcomers created.
    pub channels_created: u64,
}

impl Seen {
    pub fn delivery(&self) -> Latencies {
        Latencies::new(self.delivery.clone())
    }

    pub fn newcomer(&self) -> Latencies {
        Latencies::new(self.newcomer.clone())
    }

    /// Whether any well-behaved client was kept out: a new client refused or timed out, or a
    /// connected client's message not delivered.
    pub fn locked_out(&self) -> bool {
        !self.newcomer_failed.is_empty() || self.delivery_failed > 0
    }

    /// What was seen when the watchers could not even start: one failed attempt.
    pub fn failed_to_start(why: String) -> Seen {
        Seen {
            newcomer_failed: vec![(Protocol::H2, why)],
            ..Seen::default()
        }
    }

    /// The share of the well-behaved client's attempts (messages and newcomers) that succeeded,
    /// in percent.
    pub fn success_pct(&self) -> f64 {
        let ok = self.delivery.len() + self.newcomer.len();
        let all = ok + self.delivery_failed as usize + self.newcomer_failed.len();
        if all == 0 {
            return 100.0;
        }
        ok as f64 * 100.0 / all as f64
    }
}

/// The watchers, running until [`Watch::stop`].
#[derive(Debug)]
pub struct Watch {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Watch {
    /// Starts watching `target` (the server process `pid`). The delivery probe connects first.
    pub async fn start(target: &Target, pid: u32) -> Result<Watch, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let mut probe = Probe::open(target).await?;
        let mut tasks = Vec::new();
        {
            let (stop, seen) = (Arc::clone(&stop), Arc::clone(&seen));
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(rss) = rss_bytes_of(pid) {
                        let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                        seen.rss_peak = seen.rss_peak.max(rss);
                    }
                    tokio::time::sleep(RSS_EVERY).await;
                }
            }));
        }
        {
            let (stop, seen, target) = (Arc::clone(&stop), Arc::clone(&seen), target.clone());
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let sample = probe.sample().await;
                    {
                        let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                        match sample {
                            Ok(took) => seen.delivery.push(took),
                            Err(_) => seen.delivery_failed += 1,
                        }
                    }
                    if sample.is_err() {
                        // Whatever broke, a well-behaved client reconnects.
                        if let Ok(fresh) = Probe::open(&target).await {
                            probe = fresh;
                        }
                    }
                    tokio::time::sleep(PROBE_EVERY).await;
                }
            }));
        }
        {
            let (stop, seen, target) = (Arc::clone(&stop), Arc::clone(&seen), target.clone());
            tasks.push(tokio::spawn(async move {
                let mut turn = 0;
                while !stop.load(Ordering::Relaxed) {
                    let p = Protocol::ALL[turn % Protocol::ALL.len()];
                    turn += 1;
                    let channel = format!("newcomer-{}-{turn}", std::process::id());
                    let outcome = newcomer(&target, p, &channel).await;
                    {
                        let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                        seen.channels_created += 1;
                        match outcome {
                            Ok(took) => seen.newcomer.push(took),
                            Err(e) => seen.newcomer_failed.push((p, e)),
                        }
                    }
                    tokio::time::sleep(NEWCOMER_EVERY).await;
                }
            }));
        }
        Ok(Watch { stop, seen, tasks })
    }

    /// Stops the watchers and returns what they saw.
    pub async fn stop(self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            let _ = tokio::time::timeout(REQUEST_LIMIT * 2, task).await;
        }
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *seen)
    }
}

/// A chat client: a subscriber and a poster on two HTTP/2 connections, one channel.
struct Probe {
    _subscriber: TestClient,
    stream: SseReader,
    poster: TestClient,
    sent: u64,
}

impl Probe {
    async fn open(target: &Target) -> Result<Probe, String> {
        let p = Protocol::H2;
        let mut subscriber = client(target, p).await?;
        let path = "/events?channel=watch-probe&interval_ms=60000";
        let resp = timed(subscriber.request(Method::GET, path, &[], Bytes::new()))
            .await?
            .map_err(|e| format!("probe subscription: {e}"))?;
        if resp.status() != StatusCode::OK {
            return Err(format!("probe subscription: {}", resp.status()));
        }
        let mut stream = SseReader::new(resp);
        timed(async {
            loop {
                if let Ok(Some(SseItem::Event(e))) = stream.next().await {
                    if e.event_type == "tick" {
                        return Ok::<_, String>(());
                    }
                }
            }
        })
        .await??;
        Ok(Probe {
            _subscriber: subscriber,
            stream,
            poster: client(target, p).await?,
            sent: 0,
        })
    }

    /// From just before the POST to the moment its event is parsed.
    async fn sample(&mut self) -> Result<Duration, String> {
        self.sent += 1;
        let body = format!("probe-{}", self.sent);
        let Probe { poster, stream, .. } = self;
        let started = Instant::now();
        let post = async {
            let path = "/messages?channel=watch-probe";
            let resp = poster
                .request(Method::POST, path, &[], Bytes::from(body.clone()))
                .await
                .map_err(|e| e.to_string())?;
            let status = resp.status();
            let _ = resp.into_body().collect().await;
            if status == StatusCode::ACCEPTED {
                Ok(())
            } else {
                Err(format!("probe POST: {status}"))
            }
        };
        let event = async {
            loop {
                match stream.next().await {
                    Ok(Some(SseItem::Event(e))) if e.event_type == "message" && e.data == body => {
                        return Ok(());
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => return Err("the probe's stream ended".to_owned()),
                    Err(e) => return Err(format!("the probe's stream failed: {e}")),
                }
            }
        };
        let (posted, received) = timed(async { tokio::join!(post, event) }).await?;
        posted?;
        received?;
        Ok(started.elapsed())
    }
}

/// A new client on `p`: connect, `GET /health` and its whole body, then a POST to `channel` (a
/// channel of its own).
async fn newcomer(target: &Target, p: Protocol, channel: &str) -> Result<Duration, String> {
    let started = Instant::now();
    timed(async {
        let mut client = client(target, p).await?;
        let resp = client
            .request(Method::GET, "/health", &[], Bytes::new())
            .await
            .map_err(|e| format!("GET /health: {e}"))?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?;
        if status != StatusCode::OK || body.to_bytes() != "ok\n" {
            return Err(format!("GET /health: {status}"));
        }
        let path = format!("/messages?channel={channel}");
        let resp = client
            .request(Method::POST, &path, &[], Bytes::from_static(b"hello"))
            .await
            .map_err(|e| format!("POST to a new channel: {e}"))?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?;
        if status == StatusCode::ACCEPTED {
            Ok(started.elapsed())
        } else {
            let body = String::from_utf8_lossy(&body.to_bytes()).trim().to_owned();
            Err(format!("POST to a new channel: {status}: {body}"))
        }
    })
    .await?
}

/// A client of `target`'s `p` listener.
pub async fn client(target: &Target, p: Protocol) -> Result<TestClient, String> {
    let spec = ClientSpec::for_protocol(p);
    timed(TestClient::connect(target.addr(p), &spec, &target.cert()))
        .await?
        .map_err(|e| format!("connect: {e:?}"))
}

/// `GET /stats` on a new HTTP/2 connection.
pub async fn stats(target: &Target) -> Result<Stats, String> {
    let mut client = client(target, Protocol::H2c).await?;
    let resp = timed(client.request(Method::GET, "/stats", &[], Bytes::new()))
        .await?
        .map_err(|e| e.to_string())?;
    let body = timed(resp.into_body().collect())
        .await?
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&body.to_bytes()).map_err(|e| e.to_string())
}

/// Awaits `f` for at most [`REQUEST_LIMIT`].
async fn timed<F: std::future::Future>(f: F) -> Result<F::Output, String> {
    tokio::time::timeout(REQUEST_LIMIT, f)
        .await
        .map_err(|_| format!("no answer within {REQUEST_LIMIT:?}"))
}
