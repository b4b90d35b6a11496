//! Unit tests of `delivery.rs`.

use super::*;

const MS: Duration = Duration::from_millis(1);

#[test]
fn tokens_match_only_their_point() {
    let base = Instant::now();
    let t = TokenTable::new(7, 4, base);
    let tok = t.token(2);
    assert_eq!(t.sent_at(tok), None);
    t.mark_sent(tok, base + 5 * MS);
    assert_eq!(t.sent_at(tok), Some(base + 5 * MS));
    assert_eq!(t.index(tok), Some(2));
    let other = TokenTable::new(8, 4, base);
    assert_eq!(other.sent_at(tok), None);
    assert_eq!(t.sent_at(t.token(9)), None);
    assert_eq!(t.index(t.token(4)), None);
}

/// Four POSTs: sent at 10, 20, 30, 40 ms, completed 1 ms later; the point ends at 1000 ms.
fn table(base: Instant) -> TokenTable {
    let t = TokenTable::new(1, 4, base);
    for i in 0..4 {
        let at = base + (10 * (i as u32 + 1)) * MS;
        t.mark_sent(t.token(i), at);
        t.mark_completed(t.token(i), at + MS);
    }
    t
}

#[test]
fn tally_counts_expected_lost_and_duplicated() {
    let base = Instant::now();
    let t = table(base);
    let d = Delivery::new(base, 4, 3);
    // Open from 5 ms to the end: sees 0, 1 twice, 3; misses 2.
    let a = d.register().unwrap();
    a.opened(base + 5 * MS, false);
    for i in [0, 1, 1, 3] {
        a.saw(i);
    }
    // Anchored at 25 ms: only POSTs 2 and 3 are owed; it saw both.
    let b = d.register().unwrap();
    b.opened(base + 25 * MS, false);
    b.saw(2);
    b.saw(3);
    // Failed for good: owed nothing.
    let c = d.register().unwrap();
    c.opened(base + 5 * MS, false);
    c.failed();
    let tally = d.tally(&t, base + 1000 * MS, 100 * MS).unwrap();
    assert_eq!(
        tally,
        DeliveryTally {
            expected: 6,
            lost: 1,
            duplicated: 1,
            missed: 0
        }
    );
}

#[test]
fn coverage_ends_with_the_last_connection_and_the_grace() {
    let base = Instant::now();
    let t = table(base);
    let d = Delivery::new(base, 4, 3);
    // Disconnected at 25 ms and never back: owed what completed by 25 - 5 ms (POST 0).
    let down = d.register().unwrap();
    down.opened(base + 5 * MS, false);
    down.closed(base + 25 * MS);
    // Resumed at 996 ms, within the grace: still covered only up to its previous connection.
    let late = d.register().unwrap();
    late.opened(base + 5 * MS, false);
    late.closed(base + 25 * MS);
    late.opened(base + 996 * MS, true);
    // Resumed at 500 ms: covered to the end; a resume keeps the anchor.
    let back = d.register().unwrap();
    back.opened(base + 5 * MS, false);
    back.closed(base + 25 * MS);
    back.opened(base + 500 * MS, true);
    let tally = d.tally(&t, base + 1000 * MS, 5 * MS).unwrap();
    assert_eq!(tally.expected, 1 + 1 + 4);
    assert_eq!(tally.lost, 6);
}

#[test]
fn grace_excludes_posts_completed_just_before_the_end() {
    let base = Instant::now();
    let t = table(base);
    let d = Delivery::new(base, 4, 1);
    let s = d.register().unwrap();
    s.opened(base + 5 * MS, false);
    // The end at 45 ms with 10 ms of grace: POSTs completed by 35 ms (0, 1, 2) are owed.
    assert_eq!(d.tally(&t, base + 45 * MS, 10 * MS).unwrap().expected, 3);
}

#[test]
fn a_websocket_is_owed_only_what_its_connections_were_up_for() {
    let base = Instant::now();
    let t = table(base);
    let d = Delivery::new(base, 4, 3);
    // Up 5..25 ms, then from 35 ms to the end: owed POST 0 (sent 10, echoed 11 <= 25 - 5)
    // and POST 3 (sent 40 > 35); POST 1 (echoed 21 > 20) and 2 (sent 30, while down) not.
    let s = d.register_unresumable().unwrap();
    s.opened(base + 5 * MS, false);
    s.closed(base + 25 * MS);
    s.opened(base + 35 * MS, false);
    s.saw(3);
    // Never reconnected after 25 ms: POST 0 only; it saw it.
    let gone = d.register_unresumable().unwrap();
    gone.opened(base + 5 * MS, false);
    gone.closed(base + 25 * MS);
    gone.saw(0);
    // Failed for good: nothing.
    let failed = d.register_unresumable().unwrap();
    failed.opened(base + 5 * MS, false);
    failed.failed();
    let tally = d.tally(&t, base + 1000 * MS, 5 * MS).unwrap();
    assert_eq!(
        tally,
        DeliveryTally {
            expected: 3,
            lost: 1,
            duplicated: 0,
            // POSTs 1 and 2 went by while `s` was reconnecting: an event stream would have
            // been owed them. `gone` never came back: its coverage ends with its connection,
            // as an event stream's would, so it missed nothing.
            missed: 2
        }
    );
}

#[test]
fn only_posts_sent_after_the_anchor_are_owed() {
    let base = Instant::now();
    let t = table(base);
    let d = Delivery::new(base, 4, 2);
    // Anchored at the very instant POST 1 was sent (20 ms): "sent after the anchor" is
    // strictly after, so POSTs 2 and 3 are owed, not 1.
    let s = d.register().unwrap();
    s.opened(base + 20 * MS, false);
    // Only ever opened with `Last-Event-ID`: never anchored, owed nothing.
    let r = d.register().unwrap();
    r.opened(base + 5 * MS, true);
    let tally = d.tally(&t, base + 1000 * MS, 5 * MS).unwrap();
    assert_eq!(tally.expected, 2);
    assert_eq!(tally.lost, 2);
}

#[test]
fn a_connection_ending_at_the_end_but_opened_within_the_grace_covers_nothing_new() {
    let base = Instant::now();
    let t = table(base);
    let d = Delivery::new(base, 4, 1);
    // Up from 5 ms to 25 ms, back at 996 ms (within the 5 ms grace of the end at 1000 ms)
    // and closed exactly at the end: covered only up to its previous connection, 25 - 5 ms
    // (POST 0).
    let s = d.register().unwrap();
    s.opened(base + 5 * MS, false);
    s.closed(base + 25 * MS);
    s.opened(base + 996 * MS, true);
    s.closed(base + 1000 * MS);
    let tally = d.tally(&t, base + 1000 * MS, 5 * MS).unwrap();
    assert_eq!(tally.expected, 1);
}

#[test]
fn too_many_pairs_disable_the_proof() {
    let base = Instant::now();
    let d = Delivery::new(base, 1 << 20, 1 << 10);
    assert!(d.register().is_none());
    assert!(d.tally(&table(base), base, MS).is_none());
}
