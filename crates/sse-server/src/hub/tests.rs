//! Unit tests of the hub.

use super::budget::MESSAGE_OVERHEAD;
use super::*;
use vocab::Protocol;

const ME: ClientAddr = ClientAddr::LOOPBACK;

fn counters() -> Arc<ListenerCounters> {
    Arc::new(ListenerCounters::new(
        Protocol::H1,
        "127.0.0.1:1".parse().unwrap(),
    ))
}

/// A subscriber on a connection of its own, whose queues may hold `held` bytes.
fn who_held(c: &Arc<ListenerCounters>, held: usize) -> Subscriber {
    Subscriber {
        counters: Arc::clone(c),
        held: Arc::new(Held::new(held, QueueGauge::default())),
        peer: ME,
        overflowed: CancellationToken::new(),
    }
}

fn who() -> Subscriber {
    who_held(&counters(), usize::MAX)
}

fn limits(ring_capacity: usize, queue_capacity: usize) -> HubLimits {
    HubLimits {
        ring_capacity,
        queue_capacity,
        max_channels: 100,
        max_channels_per_address: 100,
        replay_budget: 1 << 20,
        max_replay_bytes: 1 << 20,
        max_concurrent_replays: 4,
    }
}

fn hub(ring_capacity: usize, queue_capacity: usize) -> Arc<Hub> {
    Arc::new(Hub::new(limits(ring_capacity, queue_capacity)))
}

/// Everything `replay` sends, read in batches of `batch` bytes: the gaps and the message ids.
fn replayed(sub: &Subscription, mut replay: Replay, batch: usize) -> (Vec<(u64, u64)>, Vec<u64>) {
    let (mut gaps, mut ids) = (replay.gap.into_iter().collect::<Vec<_>>(), Vec::new());
    while replay.is_pending() {
        let b = sub.replay_batch(&mut replay, batch);
        gaps.extend(b.gap);
        ids.extend(b.messages.iter().map(|m| m.id));
    }
    (gaps, ids)
}

/// Channels, messages, subscribers.
fn counts(hub: &Hub) -> (u64, u64, u64) {
    let c = hub.counts();
    (c.channels, c.messages, c.subscribers)
}

#[test]
fn replay_and_gap() {
    let hub = hub(3, 8);
    for i in 0..5 {
        hub.publish("c", &format!("m{i}"), ME).unwrap();
    }
    let (fresh, replay) = hub.subscribe("c", None, who()).unwrap();
    assert_eq!(
        (replay.end, replayed(&fresh, replay, 1)),
        (5, (vec![], vec![]))
    );
    let (sub, replay) = hub.subscribe("c", Some(3), who()).unwrap();
    assert_eq!(replayed(&sub, replay, 1), (vec![], vec![4, 5]));
    let (sub, replay) = hub.subscribe("c", Some(0), who()).unwrap();
    assert_eq!(
        replayed(&sub, replay, 1 << 20),
        (vec![(1, 2)], vec![3, 4, 5])
    );
    let (ahead, replay) = hub.subscribe("c", Some(u64::MAX), who()).unwrap();
    assert_eq!(
        (replay.end, replayed(&ahead, replay, 1)),
        (5, (vec![], vec![]))
    );
    assert_eq!(counts(&hub), (1, 5, 4));
}

#[test]
fn a_replay_is_read_as_it_goes_and_reports_what_the_ring_lost_meanwhile() {
    let hub = hub(4, 8);
    for i in 0..4 {
        hub.publish("c", &format!("m{i}"), ME).unwrap();
    }
    let (sub, mut replay) = hub.subscribe("c", Some(0), who()).unwrap();
    let first = sub.replay_batch(&mut replay, 1);
    assert_eq!(first.messages.iter().map(|m| m.id).collect::<Vec<_>>(), [1]);
    // Two more messages push 1 and 2 out of the ring, 2 before it was replayed; 5 and 6 come
    // live.
    hub.publish("c", "m4", ME).unwrap();
    hub.publish("c", "m5", ME).unwrap();
    assert_eq!(replayed(&sub, replay, 1), (vec![(2, 2)], vec![3, 4]));
}

#[test]
fn a_replay_is_cut_to_its_newest_bytes() {
    let hub = Arc::new(Hub::new(HubLimits {
        max_replay_bytes: 3 * 100,
        ..limits(1024, 8)
    }));
    for _ in 0..10 {
        // Each event: 64 bytes of data and about 30 of framing.
        hub.publish("c", &"x".repeat(64), ME).unwrap();
    }
    let (sub, replay) = hub.subscribe("c", Some(2), who()).unwrap();
    assert!(replay.truncated);
    assert_eq!(
        replayed(&sub, replay, 1 << 20),
        (vec![(3, 7)], vec![8, 9, 10])
    );
    let (sub, replay) = hub.subscribe("c", Some(8), who()).unwrap();
    assert!(!replay.truncated);
    assert_eq!(replayed(&sub, replay, 1 << 20), (vec![], vec![9, 10]));
}

#[test]
fn full_queue_closes_the_subscriber_and_drop_unregisters() {
    let hub = hub(8, 1);
    let c = counters();
    let (mut sub, _) = hub.subscribe("c", None, who_held(&c, usize::MAX)).unwrap();
    assert_eq!(hub.publish("c", "a", ME), Ok((1, 1)));
    assert_eq!(hub.publish("c", "b", ME), Ok((2, 0)));
    assert!(sub.overflowed.is_cancelled());
    assert_eq!(c.overflows.load(Ordering::Relaxed), 1);
    // The queue is cut: the stream's next wait for a message ends it, though one is queued.
    assert!(matches!(
        futures_util::FutureExt::now_or_never(sub.queue.recv()),
        Some(None)
    ));
    let first = sub.queue.try_recv().unwrap();
    assert_eq!(first.event, "id: 1\nevent: message\ndata: a\n\n");
    assert_eq!(first.data, "a");
    drop(sub);
    let (other, _) = hub.subscribe("d", None, who()).unwrap();
    assert_eq!(counts(&hub), (2, 2, 1));
    drop(other);
    assert_eq!(counts(&hub), (1, 2, 0));
}

#[test]
fn a_connections_queued_bytes_are_bounded_and_counted_once() {
    let hub = hub(64, 1024);
    let c = counters();
    // Two subscribers of one connection, on one channel; a third on another channel.
    // Room for three messages of about 230 bytes and six places in queues, not a fourth message.
    let bound = 3 * 250 + 7 * held::ENTRY_COST;
    let conn = Subscriber {
        held: Arc::new(Held::new(bound, hub.queue_gauge())),
        ..who_held(&c, 0)
    };
    let stream = || Subscriber {
        overflowed: CancellationToken::new(),
        ..conn.clone()
    };
    let (mut a, _) = hub.subscribe("one", None, stream()).unwrap();
    let (b, _) = hub.subscribe("one", None, stream()).unwrap();
    let (other, _) = hub.subscribe("two", None, stream()).unwrap();
    let body = "x".repeat(200);
    for _ in 0..3 {
        assert_eq!(hub.publish("one", &body, ME).map(|(_, n)| n), Ok(2));
    }
    // Three messages of about 230 bytes, each queued twice, counted once.
    let queued = hub.counts().queued_bytes as usize;
    let places = 6 * held::ENTRY_COST;
    assert!(queued > 600 + places && queued < 750 + places, "{queued}");
    // One more on the other channel takes the connection over its bound: that subscriber
    // overflows, and only it.
    assert_eq!(hub.publish("two", &body, ME).map(|(_, n)| n), Ok(0));
    assert!(other.overflowed.is_cancelled() && !a.overflowed.is_cancelled());
    let by_bytes = c.connection_queue_overflows.load(Ordering::Relaxed);
    assert_eq!((by_bytes, c.overflows.load(Ordering::Relaxed)), (1, 1));
    // Taken off one queue, a message still counts while the other holds it.
    a.queue.try_recv().unwrap();
    let one_place_less = (queued - held::ENTRY_COST) as u64;
    assert_eq!(hub.counts().queued_bytes, one_place_less);
    // Dropped, b gives back its three places and the first message, which only it still held
    // (the three messages are the same size: the same body, one-digit ids).
    let message = (queued - places) / 3;
    assert_eq!(
        (queued - places) % 3,
        0,
        "three messages of one size: {queued}"
    );
    drop(b);
    assert_eq!(
        hub.counts().queued_bytes,
        one_place_less - (3 * held::ENTRY_COST + message) as u64
    );
    drop(a);
    assert_eq!(hub.counts().queued_bytes, 0);
}

#[test]
fn a_full_table_displaces_the_least_recently_active_channel_nobody_watches() {
    let hub = Arc::new(Hub::new(HubLimits {
        max_channels: 3,
        ..limits(8, 8)
    }));
    hub.publish("oldest", "1", ME).unwrap();
    let (_watched, _) = hub.subscribe("watched", None, who()).unwrap();
    hub.publish("newer", "1", ME).unwrap();
    assert_eq!(hub.publish("new", "1", ME), Ok((1, 0)));
    let table = lock(&hub.channels);
    let mut names: Vec<&str> = table.map.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["new", "newer", "watched"]);
    drop(table);
    assert_eq!(hub.counts().channels_displaced, 1);
    // Once every channel is watched, the limit refuses.
    let _subs: Vec<_> = ["new", "newer"]
        .map(|n| hub.subscribe(n, None, who()).unwrap())
        .into_iter()
        .collect();
    let refused = Refusal::ChannelLimit { max: 3 };
    assert_eq!(hub.publish("more", "1", ME), Err(refused));
    assert_eq!(hub.subscribe("more", None, who()).err(), Some(refused));
    assert_eq!(
        hub.publish("newer", "2", ME),
        Ok((2, 1)),
        "existing channels go on"
    );
}

#[test]
fn one_address_may_create_its_share_of_channels() {
    let hub = Arc::new(Hub::new(HubLimits {
        max_channels_per_address: 2,
        ..limits(8, 8)
    }));
    let other = ClientAddr::of("127.0.0.2".parse().unwrap());
    hub.publish("a", "1", ME).unwrap();
    hub.publish("b", "1", ME).unwrap();
    let refused = Refusal::ChannelShare { max: 2 };
    assert_eq!(hub.publish("c", "1", ME), Err(refused));
    assert!(refused.to_string().contains("max_channels_per_address"));
    assert_eq!(
        hub.publish("a", "2", ME),
        Ok((2, 0)),
        "its own channels go on"
    );
    assert_eq!(
        hub.publish("c", "1", other),
        Ok((1, 0)),
        "others create theirs"
    );
    // A channel gone gives its creator the room back.
    assert_eq!(hub.evict_idle(Duration::ZERO), 3);
    assert_eq!(hub.publish("c", "1", ME), Ok((1, 0)));
}

#[test]
fn the_replay_budget_is_paid_by_the_channels_own_history_then_by_unwatched_channels() {
    const BODY: usize = 1000;
    let body = "x".repeat(BODY);
    let hub = Arc::new(Hub::new(HubLimits {
        replay_budget: 5 * (BODY + 48 + MESSAGE_OVERHEAD),
        ..limits(1024, 8)
    }));
    let (_watched, _) = hub.subscribe("a", None, who()).unwrap();
    for _ in 0..4 {
        hub.publish("a", &body, ME).unwrap();
    }
    hub.publish("b", &body, ME).unwrap();
    let full = hub.counts().replay_bytes;
    assert!(full <= hub.budget.limit() as u64);
    // A new channel makes room by displacing the channel nobody watches.
    assert_eq!(hub.publish("c", &body, ME), Ok((1, 0)));
    let after = hub.counts();
    assert_eq!((after.channels, after.channels_displaced), (2, 1));
    // A channel with history drops its own oldest message to make room.
    assert_eq!(hub.publish("a", &body, ME), Ok((5, 1)));
    let (sub, replay) = hub.subscribe("a", Some(0), who()).unwrap();
    assert_eq!(
        replayed(&sub, replay, 1 << 20),
        (vec![(1, 1)], vec![2, 3, 4, 5])
    );
    // With every channel watched, a new one is refused, and leaves no channel behind.
    let (_c, _) = hub.subscribe("c", None, who()).unwrap();
    assert!(matches!(
        hub.publish("d", &body, ME),
        Err(Refusal::ReplayBudget { .. })
    ));
    assert_eq!(hub.counts().channels, 2);
}

#[test]
fn idle_channels_are_evicted_with_their_rings() {
    let hub = hub(8, 8);
    hub.publish("idle", "m", ME).unwrap();
    hub.publish("watched", "m", ME).unwrap();
    let (_sub, _) = hub.subscribe("watched", None, who()).unwrap();
    assert_eq!(hub.evict_idle(Duration::from_secs(3600)), 0);
    let before = hub.counts().replay_bytes;
    assert_eq!(hub.evict_idle(Duration::ZERO), 1, "only the unwatched one");
    let after = hub.counts();
    assert_eq!((after.channels, after.channels_evicted), (1, 1));
    assert_eq!(after.replay_bytes, before / 2);
    // Coming back: a fresh channel, ids from 1.
    assert_eq!(hub.publish("idle", "again", ME), Ok((1, 0)));
}

#[test]
fn the_published_data_is_kept_verbatim() {
    let hub = hub(8, 8);
    let (mut sub, _) = hub.subscribe("c", None, who()).unwrap();
    for body in ["{\"ssebench_token\":7}", "two\r\nlines\n", ""] {
        hub.publish("c", body, ME).unwrap();
        assert_eq!(sub.queue.try_recv().unwrap().data, body);
    }
}

#[test]
fn ids_never_wrap() {
    let hub = hub(8, 8);
    hub.publish("c", "m", ME).unwrap();
    {
        let table = lock(&hub.channels);
        lock(&table.map["c"]).last_id = u64::MAX;
    }
    assert_eq!(hub.publish("c", "m", ME), Err(Refusal::IdsExhausted));
    let (_sub, replay) = hub.subscribe("c", Some(3), who()).unwrap();
    assert_eq!(replay.end, u64::MAX);
}
