//! Unit tests of the hub.

use super::budget::MESSAGE_OVERHEAD;
use super::*;
use vocab::Protocol;

fn counters() -> Arc<ListenerCounters> {
    Arc::new(ListenerCounters::new(
        Protocol::H1,
        "127.0.0.1:1".parse().unwrap(),
    ))
}

fn hub(ring_capacity: usize, queue_capacity: usize) -> Arc<Hub> {
    Arc::new(Hub::new(HubLimits {
        ring_capacity,
        queue_capacity,
        max_channels: 100,
        replay_budget: 1 << 20,
    }))
}

fn ids(r: &Replay) -> Vec<u64> {
    r.messages.iter().map(|m| m.id).collect()
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
        hub.publish("c", &format!("m{i}")).unwrap();
    }
    let (_fresh, replay) = hub.subscribe("c", None, counters()).unwrap();
    assert_eq!((ids(&replay), replay.position), (vec![], 5));
    let (_sub, replay) = hub.subscribe("c", Some(3), counters()).unwrap();
    assert_eq!((ids(&replay), replay.gap), (vec![4, 5], None));
    let (_sub, replay) = hub.subscribe("c", Some(0), counters()).unwrap();
    assert_eq!((ids(&replay), replay.gap), (vec![3, 4, 5], Some((1, 2))));
    let (_ahead, replay) = hub.subscribe("c", Some(u64::MAX), counters()).unwrap();
    assert_eq!((ids(&replay), replay.position), (vec![], 5));
    assert_eq!(counts(&hub), (1, 5, 4));
}

#[test]
fn full_queue_closes_the_subscriber_and_drop_unregisters() {
    let hub = hub(8, 1);
    let c = counters();
    let (mut sub, _) = hub.subscribe("c", None, Arc::clone(&c)).unwrap();
    assert_eq!(hub.publish("c", "a"), Ok((1, 1)));
    assert_eq!(hub.publish("c", "b"), Ok((2, 0)));
    assert!(sub.overflowed.is_cancelled());
    assert_eq!(c.overflows.load(Ordering::Relaxed), 1);
    let first = sub.queue.try_recv().unwrap();
    assert_eq!(first.event, "id: 1\nevent: message\ndata: a\n\n");
    assert_eq!(first.data, "a");
    drop(sub);
    let (other, _) = hub.subscribe("d", None, c).unwrap();
    assert_eq!(counts(&hub), (2, 2, 1));
    drop(other);
    assert_eq!(counts(&hub), (1, 2, 0));
}

#[test]
fn the_channel_limit_refuses_new_channels_only() {
    let hub = Arc::new(Hub::new(HubLimits {
        max_channels: 2,
        ..hub(8, 8).limits
    }));
    hub.publish("a", "1").unwrap();
    let (_sub, _) = hub.subscribe("b", None, counters()).unwrap();
    let refused = Refusal::ChannelLimit { max: 2 };
    assert_eq!(hub.publish("c", "1"), Err(refused));
    assert_eq!(hub.subscribe("c", None, counters()).err(), Some(refused));
    assert_eq!(hub.publish("a", "2"), Ok((2, 0)), "existing channels go on");
    assert_eq!(hub.publish("b", "1"), Ok((1, 1)));
    assert_eq!(counts(&hub), (2, 3, 1));
}

#[test]
fn the_replay_budget_is_paid_by_the_channels_own_history() {
    const BODY: usize = 1000;
    let body = "x".repeat(BODY);
    let hub = Arc::new(Hub::new(HubLimits {
        replay_budget: 5 * (BODY + 48 + MESSAGE_OVERHEAD),
        ..hub(1024, 8).limits
    }));
    for _ in 0..4 {
        hub.publish("a", &body).unwrap();
    }
    hub.publish("b", &body).unwrap();
    let full = hub.counts().replay_bytes;
    assert!(full <= hub.budget.limit() as u64);
    // A new channel cannot make room: refused, and it leaves no channel behind.
    assert!(matches!(
        hub.publish("c", &body),
        Err(Refusal::ReplayBudget { .. })
    ));
    assert_eq!(hub.counts().channels, 2);
    // A channel with history drops its own oldest message to make room.
    assert_eq!(hub.publish("a", &body), Ok((5, 0)));
    let (_sub, replay) = hub.subscribe("a", Some(0), counters()).unwrap();
    assert_eq!((ids(&replay), replay.gap), (vec![2, 3, 4, 5], Some((1, 1))));
    assert_eq!(hub.counts().replay_bytes, full);
}

#[test]
fn idle_channels_are_evicted_with_their_rings() {
    let hub = hub(8, 8);
    hub.publish("idle", "m").unwrap();
    hub.publish("watched", "m").unwrap();
    let (_sub, _) = hub.subscribe("watched", None, counters()).unwrap();
    assert_eq!(hub.evict_idle(Duration::from_secs(3600)), 0);
    let before = hub.counts().replay_bytes;
    assert_eq!(hub.evict_idle(Duration::ZERO), 1, "only the unwatched one");
    let after = hub.counts();
    assert_eq!((after.channels, after.channels_evicted), (1, 1));
    assert_eq!(after.replay_bytes, before / 2);
    // Coming back: a fresh channel, ids from 1.
    assert_eq!(hub.publish("idle", "again"), Ok((1, 0)));
}

#[test]
fn the_published_data_is_kept_verbatim() {
    let hub = hub(8, 8);
    let (mut sub, _) = hub.subscribe("c", None, counters()).unwrap();
    for body in ["{\"ssebench_token\":7}", "two\r\nlines\n", ""] {
        hub.publish("c", body).unwrap();
        assert_eq!(sub.queue.try_recv().unwrap().data, body);
    }
}

#[test]
fn ids_never_wrap() {
    let hub = hub(8, 8);
    hub.publish("c", "m").unwrap();
    {
        let map = lock(&hub.channels);
        lock(&map["c"]).last_id = u64::MAX;
    }
    assert_eq!(hub.publish("c", "m"), Err(Refusal::IdsExhausted));
    let (_sub, replay) = hub.subscribe("c", Some(3), counters()).unwrap();
    assert_eq!(replay.position, u64::MAX);
}
