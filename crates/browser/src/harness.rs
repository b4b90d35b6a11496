//! The page harness (`harness.js`): what it is told, and what it reports back.
//!
//! Each page runs one client of the point's [`Workload`]: its streams, and its POSTs on the
//! emulation's open-loop schedule ([`PostPlan`]: `per_client`, `phase`, `due`, counted from the
//! end of warm-up). Each body is `sse_wire::stamp::write_post_body`'s JSON carrying token
//! `i * count + k` (unique in the point, as the emulation's tokens are: on the WebSocket arms a
//! page finds its own messages' echo by it), padded to the workload's size.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use vocab::{PostPlan, Workload};

/// The script, a function expression taking [`HarnessConfig`].
pub const HARNESS_JS: &str = include_str!("harness.js");

/// What one page runs.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HarnessConfig {
    /// EventSources (WebSockets) to open: none when the streams are answer tabs
    /// ([`crate::answers`] runs those).
    pub streams: u32,
    pub events_path: String,
    pub messages_path: String,
    /// On the WebSocket arms: the sockets' URL (`ws://`, `wss://`), in place of EventSources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub websocket_url: Option<String>,
    /// How long a closed WebSocket waits before it is opened again.
    pub reconnect_ms: f64,
    pub warmup_ms: f64,
    pub duration_ms: f64,
    pub posts: Vec<ScheduledPost>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledPost {
    /// The scheduled instant, milliseconds after the harness starts.
    pub at_ms: f64,
    pub body: String,
}

/// The open-loop POST schedule of client `index` of `clients`: `plan.per_client(duration)` POSTs,
/// the k-th at `warmup + plan.due(k, phase)`.
pub fn post_schedule(
    plan: &PostPlan,
    warmup: Duration,
    duration: Duration,
    index: u32,
    clients: u32,
) -> Vec<ScheduledPost> {
    let count = plan.per_client(duration);
    let phase = PostPlan::phase(index, clients);
    (0..count)
        .map(|k| {
            let mut body = String::new();
            let token = u64::from(index) * count as u64 + k as u64;
            sse_wire::stamp::write_post_body(token, plan.body_bytes, &mut body);
            ScheduledPost {
                at_ms: (warmup + plan.due(k, phase)).as_secs_f64() * 1000.0,
                body,
            }
        })
        .collect()
}

impl HarnessConfig {
    /// What client `index` of `workload` runs; its streams are WebSockets to `websocket_url` if
    /// given (the `ws` and `wss` arms).
    pub fn for_client(workload: &Workload, index: u32, websocket_url: Option<String>) -> Self {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        HarnessConfig {
            streams: workload.event_sources_per_client(),
            events_path: workload.paths.events.clone(),
            messages_path: workload.paths.messages.clone(),
            websocket_url,
            reconnect_ms: ms(workload.reconnect_delay),
            warmup_ms: ms(workload.warmup),
            duration_ms: ms(workload.duration),
            posts: post_schedule(
                &workload.posts,
                workload.warmup,
                workload.duration,
                index,
                workload.clients,
            ),
        }
    }

    /// The expression that starts the harness in a page.
    pub fn expression(&self) -> String {
        let config = serde_json::to_string(self).expect("a harness config serializes");
        format!("({})({config})", HARNESS_JS.trim_end())
    }
}

/// The frozen state of one page at the end of the point (times in ms since the harness started).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageResult {
    pub ended_at: f64,
    pub visibility: String,
    pub streams: Vec<PageStream>,
    pub posts: Vec<PagePost>,
    /// The streamed answers asked ([`crate::answers`]), when the point asks any.
    #[serde(default)]
    pub answers: Vec<crate::answers::PageAnswer>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageStream {
    pub created: f64,
    /// First `open` event (EventSource: its 200; WebSocket: its 101).
    pub opened: Option<f64>,
    /// First `tick` or `message` event.
    pub first_event: Option<f64>,
    pub opens: u64,
    pub events: u64,
    pub errors: u64,
    /// `EventSource.readyState` at the end: 0 connecting, 1 open, 2 closed.
    pub ready_state: u8,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PagePost {
    /// The scheduled instant.
    pub at: f64,
    /// When its timer fired and `fetch` was called (`None`: its instant had not come).
    pub fired: Option<f64>,
    /// When its response was read to the end (WebSocket arms: when its echo came back).
    pub done: Option<f64>,
    /// The response's status (`None` on the WebSocket arms, which have none).
    pub status: Option<u16>,
    /// Why `fetch` rejected.
    pub failed: Option<String>,
}

/// `EventSource.CONNECTING`.
pub const CONNECTING: u8 = 0;
/// `EventSource.OPEN`.
pub const OPEN: u8 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_matches_the_emulation() {
        let plan = PostPlan {
            rate_per_client: 2.0,
            body_bytes: 64,
        };
        let s = post_schedule(
            &plan,
            Duration::from_secs(1),
            Duration::from_millis(1500),
            1,
            2,
        );
        // floor(2.0 * 1.5) = 3 POSTs, at 1 s + (k + 0.5) / 2 s.
        let at: Vec<f64> = s.iter().map(|p| p.at_ms).collect();
        assert_eq!(at, vec![1250.0, 1750.0, 2250.0]);
        assert!(s.iter().all(|p| p.body.len() == 64), "{:?}", s[0].body);
        assert!(s[2].body.contains("\"ssebench_token\":5"), "{}", s[2].body);
        let none = PostPlan {
            rate_per_client: 0.0,
            body_bytes: 8,
        };
        assert!(post_schedule(&none, Duration::ZERO, Duration::from_secs(9), 0, 1).is_empty());
    }

    #[test]
    fn each_client_runs_its_part_of_the_workload() {
        let workload = Workload {
            clients: 2,
            streams_per_client: 3,
            warmup: Duration::from_secs(1),
            duration: Duration::from_millis(1500),
            posts: PostPlan {
                rate_per_client: 2.0,
                body_bytes: 64,
            },
            paths: vocab::Paths::for_channel("x"),
            stream_kind: vocab::StreamKind::EventSource,
            answers: loadgen::defaults::answer_plan(),
            reconnect_delay: Duration::from_secs(3),
        };
        let c = HarnessConfig::for_client(&workload, 1, Some("ws://h/ws?channel=x".into()));
        assert_eq!(
            (c.streams, c.events_path.as_str()),
            (3, "/events?channel=x")
        );
        assert_eq!(c.messages_path, "/messages?channel=x");
        assert_eq!(
            (c.warmup_ms, c.duration_ms, c.reconnect_ms),
            (1000.0, 1500.0, 3000.0)
        );
        let at: Vec<f64> = c.posts.iter().map(|p| p.at_ms).collect();
        assert_eq!(at, vec![1250.0, 1750.0, 2250.0], "client 1 of 2");
        let first = HarnessConfig::for_client(&workload, 0, None);
        assert_eq!(
            first.posts[0].at_ms, 1000.0,
            "client 0 starts at the end of warm-up"
        );
    }

    #[test]
    fn expression_embeds_the_config() {
        let c = HarnessConfig {
            streams: 3,
            events_path: "/events?channel=x".into(),
            messages_path: "/messages?channel=x".into(),
            websocket_url: None,
            reconnect_ms: 3000.0,
            warmup_ms: 10.0,
            duration_ms: 20.0,
            posts: Vec::new(),
        };
        let e = c.expression();
        assert!(
            e.starts_with("((cfg) =>") || e.starts_with("(// "),
            "{e:.40}"
        );
        assert!(e.ends_with(r#"({"streams":3,"eventsPath":"/events?channel=x","messagesPath":"/messages?channel=x","reconnectMs":3000.0,"warmupMs":10.0,"durationMs":20.0,"posts":[]})"#), "{e}");
    }
}
