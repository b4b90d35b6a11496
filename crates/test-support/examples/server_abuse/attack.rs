//! Every attack of `scripts/server-abuse.sh`, by the name the script passes: those of issue 13
//! (`attacks.rs`) and those of issue 26 (`exhaustion.rs`).

use std::time::Duration;

use test_support::Target;

use crate::attacks::{channel_flood, idle_h2c, slow_readers, stalled_posts, zero_window};
use crate::exhaustion::{
    held_subscriptions, replay_storm, replay_unread, silent_websockets, stalled_streams,
    tiny_channel_flood,
};

/// The attacks, by the name the script passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attack {
    /// 12,000 POSTs of 64 KiB, each to a channel of its own.
    ChannelFlood,
    /// 50,000 POSTs of 100 bytes, each to a channel of its own.
    SmallChannelFlood,
    /// 300 POSTs whose bodies stop (h1 content-length, h1-tls chunked, h2 and h2c without
    /// END_STREAM), held for 15 s: with the server's `--max-connections 300` they fill it.
    StalledPosts,
    /// The same, each reopened at once whenever the server closes it.
    StalledPostsChurn,
    /// 100 h2c connections that make one request, then idle.
    IdleH2c,
    /// 4 HTTP/2 connections (2 h2, 2 h2c) of 100 event streams each, with zero windows.
    ZeroWindow,
    /// 1,000 h1 event streams of 1 MiB ticks every 100 ms, never read, for 10 s.
    SlowReaders,
    /// 300 of them, for the server run with the kernel's send buffer autotuning (the script
    /// passes `--autotune-socket-send-buffer`): 1,000 loopback sockets full of unread data would
    /// then take about 4 GB of kernel memory, past this machine's TCP memory limit.
    SlowReadersAutotune,
    /// Issue 26: 10,000 WebSocket upgrades from one client address that never send a frame (no
    /// ticks but the first), held 40 s.
    WebsocketSilent,
    /// The same, with a tick every second.
    WebsocketSilentTicks,
    /// 60 h2c connections of one moving stream and 99 that never read, then 2,000 POSTs of 64 KiB
    /// to the stalled streams' channel; 30 s.
    Http2StalledStreams,
    /// 10,000 one-byte POSTs to distinct channels from one client address.
    TinyChannelFlood,
    /// 10,000 event streams on h2c (100 connections x 100) from one client address, each on a
    /// channel of its own, held 30 s.
    HeldSubscriptions,
    /// 16 clients reconnecting with `Last-Event-ID: 0` to a channel of 1,024 messages of 64 KiB,
    /// over and over for 20 s.
    ReplayStorm,
    /// 3,000 reconnects with `Last-Event-ID: 0` to that channel that never read, held 30 s.
    ReplayUnread,
}

impl Attack {
    pub const ALL: [Attack; 15] = [
        Attack::ChannelFlood,
        Attack::SmallChannelFlood,
        Attack::StalledPosts,
        Attack::StalledPostsChurn,
        Attack::IdleH2c,
        Attack::ZeroWindow,
        Attack::SlowReaders,
        Attack::SlowReadersAutotune,
        Attack::WebsocketSilent,
        Attack::WebsocketSilentTicks,
        Attack::Http2StalledStreams,
        Attack::TinyChannelFlood,
        Attack::HeldSubscriptions,
        Attack::ReplayStorm,
        Attack::ReplayUnread,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Attack::ChannelFlood => "channel-flood",
            Attack::SmallChannelFlood => "small-channel-flood",
            Attack::StalledPosts => "stalled-posts",
            Attack::StalledPostsChurn => "stalled-posts-churn",
            Attack::IdleH2c => "idle-h2c",
            Attack::ZeroWindow => "zero-window",
            Attack::SlowReaders => "slow-readers",
            Attack::SlowReadersAutotune => "slow-readers-autotune",
            Attack::WebsocketSilent => "websocket-silent",
            Attack::WebsocketSilentTicks => "websocket-silent-ticks",
            Attack::Http2StalledStreams => "http2-stalled-streams",
            Attack::TinyChannelFlood => "tiny-channel-flood",
            Attack::HeldSubscriptions => "held-subscriptions",
            Attack::ReplayStorm => "replay-storm",
            Attack::ReplayUnread => "replay-unread",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Attack::ChannelFlood => {
                "12000 POSTs of 64 KiB, one channel each, 8 posters on the four listeners"
            }
            Attack::SmallChannelFlood => {
                "50000 POSTs of 100 B, one channel each, 8 posters on the four listeners"
            }
            Attack::StalledPosts => {
                "300 stalled POST bodies (75 per listener: h1 content-length 1000 with 5 bytes, \
                 h1-tls chunked without the last chunk, h2/h2c HEADERS and 5 bytes without \
                 END_STREAM), held for 15 s"
            }
            Attack::StalledPostsChurn => {
                "the same 300 stalled POST bodies, each reopened at once whenever the server \
                 closes it, for 15 s"
            }
            Attack::IdleH2c => "100 h2c connections: one GET /health each, then idle",
            Attack::ZeroWindow => {
                "4 HTTP/2 connections (2 h2, 2 h2c) x 100 event streams, \
                 SETTINGS_INITIAL_WINDOW_SIZE 0, never read"
            }
            Attack::SlowReaders => {
                "1000 h1 event streams of 1 MiB ticks every 100 ms, never read, held 10 s"
            }
            Attack::SlowReadersAutotune => {
                "300 h1 event streams of 1 MiB ticks every 100 ms, never read, held 10 s"
            }
            Attack::WebsocketSilent => {
                "10000 WebSocket upgrades from 127.0.0.2 that never send a frame, no ticks, held \
                 40 s"
            }
            Attack::WebsocketSilentTicks => {
                "10000 WebSocket upgrades from 127.0.0.2 that never send a frame, 1 s ticks, held \
                 40 s"
            }
            Attack::Http2StalledStreams => {
                "60 h2c connections x (1 moving + 99 never-read streams) from 127.0.0.2, 2000 \
                 POSTs of 64 KiB to the stalled channel, 30 s"
            }
            Attack::TinyChannelFlood => {
                "10000 one-byte POSTs to distinct channels from 127.0.0.2, 8 posters on h1 and h2c"
            }
            Attack::HeldSubscriptions => {
                "10000 h2c event streams (100 connections x 100) from 127.0.0.2, one channel \
                 each, held 30 s"
            }
            Attack::ReplayStorm => {
                "16 clients from 127.0.0.2 reconnecting with Last-Event-ID: 0 to 1024 messages of \
                 64 KiB, for 20 s"
            }
            Attack::ReplayUnread => {
                "3000 reconnects from 127.0.0.2 with Last-Event-ID: 0 to 1024 messages of 64 KiB, \
                 never read, held 30 s"
            }
        }
    }

    pub fn parse(name: &str) -> Option<Attack> {
        Attack::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Runs the attack; the lines say what happened.
    pub async fn run(self, target: &Target) -> Vec<String> {
        match self {
            Attack::ChannelFlood => channel_flood(target, 12_000, 64 * 1024).await,
            Attack::SmallChannelFlood => channel_flood(target, 50_000, 100).await,
            Attack::StalledPosts => stalled_posts(target, 75, Duration::from_secs(15), false).await,
            Attack::StalledPostsChurn => {
                stalled_posts(target, 75, Duration::from_secs(15), true).await
            }
            Attack::IdleH2c => idle_h2c(target, 100, Duration::from_secs(30)).await,
            Attack::ZeroWindow => zero_window(target, 4, 100, Duration::from_secs(30)).await,
            Attack::SlowReaders => slow_readers(target, 1000, Duration::from_secs(10)).await,
            Attack::SlowReadersAutotune => slow_readers(target, 300, Duration::from_secs(10)).await,
            Attack::WebsocketSilent => silent_websockets(target, 10_000, 86_400_000).await,
            Attack::WebsocketSilentTicks => silent_websockets(target, 10_000, 1000).await,
            Attack::Http2StalledStreams => stalled_streams(target, 60, 99, 2000).await,
            Attack::TinyChannelFlood => tiny_channel_flood(target, 10_000).await,
            Attack::HeldSubscriptions => held_subscriptions(target, 100, 100).await,
            Attack::ReplayStorm => replay_storm(target, 16, Duration::from_secs(20)).await,
            Attack::ReplayUnread => replay_unread(target, 3000).await,
        }
    }
}
