//! Parser throughput on realistic ticks: ~100-byte events
//! (`id: 1234567\nevent: tick\ndata: {"seq":..,"sent_ns":..,"pad":"xx.."}\n\n`) fed in 16 KiB
//! chunks, as a client reading a socket would. Reported in events per second.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sse_wire::{stamp, Item, Parser};

const EVENTS: usize = 20_000;
const EVENT_BYTES: usize = 100;
const CHUNK: usize = 16 * 1024;

fn tick_stream() -> Vec<u8> {
    let mut out = Vec::with_capacity(EVENTS * EVENT_BYTES);
    let mut data = String::new();
    let sent_ns = 1_732_380_000_123_456_789;
    for seq in 0..EVENTS as u64 {
        let head = format!("id: {}\nevent: tick\ndata: ", 1_000_000 + seq);
        // "\n\n" ends the data line and the event.
        let data_size = EVENT_BYTES - head.len() - 2;
        data.clear();
        stamp::write_tick_data(seq, sent_ns + seq, data_size, &mut data);
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(data.as_bytes());
        out.extend_from_slice(b"\n\n");
    }
    assert_eq!(out.len(), EVENTS * EVENT_BYTES, "events are not 100 bytes");
    out
}

fn parse_ticks(c: &mut Criterion) {
    let stream = tick_stream();
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("tick_100B_events_16KiB_chunks", |b| {
        let mut parser = Parser::new();
        b.iter(|| {
            let mut events = 0usize;
            let mut data_bytes = 0usize;
            for chunk in stream.chunks(CHUNK) {
                parser
                    .feed(black_box(chunk), |item| {
                        if let Item::Event(e) = item {
                            events += 1;
                            data_bytes += e.data.len() + e.last_event_id.len();
                        }
                    })
                    .expect("valid stream");
            }
            assert!(!parser.finish());
            assert_eq!(events, EVENTS);
            black_box(data_bytes)
        });
    });
    group.finish();
}

criterion_group!(benches, parse_ticks);
criterion_main!(benches);
