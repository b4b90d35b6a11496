//! Split invariance: every cut of a stream gives the same items; property tests against a
//! reference parser and the encoder.

#![allow(clippy::unwrap_used)]

use super::*;

use crate::encode;
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Split invariance

const SAMPLES: &[&[u8]] = &[
    b"\xEF\xBB\xBFid: 1\r\nevent: tick\r\ndata: {\"seq\":1}\r\n\r\n",
    b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n",
    b"\xEF\xBBdata: a\n\n:x\n",
    b"\xEF\n\xEF\xBB\xBF:c\r",
    b"data: a\rdata: b\r\rdata: c\r\n\r\ndata: d\n\r\n",
    b"data\ndata\n\ndata:\r\r:\r: x\r\n::\n",
    b"data:x\ndata:  y\ndata: z \n\n",
    b"id: 1\ndata: a\n\nid: a\0b\ndata: b\n\nid\ndata: c\n\nid: 9\n\n",
    b"retry: 10\nretry: x\nretry:\nretry: 18446744073709551616\nretry: 007\r\n",
    b"event: a\n\nevent: b\ndata: 1\n\ndata: 2\n\n",
    b"Data: x\nfoo: bar\nID: 3\ndata : y\n\n",
    b"data: \xE2\x82\xAC\xFF\xE2\x82\ndata: \xF0\x9F\x98\x80\n\n: \xC3\xA9\xC3\n",
    b"data: a\n\ndata: unterminated\n",
    b"data: a\n\ndata: partial line",
    b"\r\n\r\n\n\r\r\n",
    b"data: a\r\r\n\n\r\ndata: b\r\n\r",
];

#[test]
fn every_single_split_point_gives_the_same_items() {
    for sample in SAMPLES {
        let whole = run(sample);
        for cut in 0..=sample.len() {
            assert_eq!(
                run_split(sample, &[cut]),
                whole,
                "sample {:?} cut at {cut}",
                String::from_utf8_lossy(sample)
            );
        }
    }
}

#[test]
fn every_pair_of_split_points_gives_the_same_items() {
    for sample in SAMPLES {
        let whole = run(sample);
        for a in 0..=sample.len() {
            for b in a..=sample.len() {
                assert_eq!(
                    run_split(sample, &[a, b]),
                    whole,
                    "sample {:?} cut at {a} and {b}",
                    String::from_utf8_lossy(sample)
                );
            }
        }
    }
}

#[test]
fn one_byte_at_a_time_gives_the_same_items() {
    for sample in SAMPLES {
        let bytes: Vec<&[u8]> = sample.chunks(1).collect();
        assert_eq!(
            run_chunks(&bytes),
            run(sample),
            "sample {:?}",
            String::from_utf8_lossy(sample)
        );
    }
}

#[test]
fn samples_match_the_reference_parser() {
    for sample in SAMPLES {
        assert_eq!(
            run(sample),
            reference(sample),
            "sample {:?}",
            String::from_utf8_lossy(sample)
        );
    }
}

#[test]
fn a_few_samples_have_the_expected_items() {
    // Guards against the reference and the parser agreeing on something wrong.
    assert_eq!(run(SAMPLES[0]).items, vec![ev("tick", "{\"seq\":1}", "1")]);
    assert_eq!(
        run(SAMPLES[4]).items,
        vec![
            ev("message", "a\nb", ""),
            ev("message", "c", ""),
            ev("message", "d", "")
        ]
    );
    assert_eq!(
        run(SAMPLES[8]).items,
        vec![Owned::Retry(10), Owned::Retry(7)]
    );
}

// ---------------------------------------------------------------------------------------------
// Reference parser: decode everything, split into lines, interpret; allocates freely.

fn reference(stream: &[u8]) -> Run {
    let bytes = stream.strip_prefix(&BOM[..]).unwrap_or(stream);
    let text = String::from_utf8_lossy(bytes);

    // Complete lines only; what follows the last line ending is discarded.
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(mem::take(&mut current));
            }
            '\n' => lines.push(mem::take(&mut current)),
            c => current.push(c),
        }
    }
    let partial = !current.is_empty();

    let mut items = Vec::new();
    let (mut data, mut event_type, mut id_buffer) = (String::new(), String::new(), String::new());
    let mut last_event_id = String::new();
    let mut reconnection_time = None;
    let mut started = false;
    for line in lines {
        if line.is_empty() {
            last_event_id = id_buffer.clone();
            started = false;
            if !data.is_empty() {
                if data.ends_with('\n') {
                    data.pop();
                }
                let ty = if event_type.is_empty() {
                    "message"
                } else {
                    &event_type
                };
                items.push(ev(ty, &data, &last_event_id));
            }
            data.clear();
            event_type.clear();
        } else if let Some(text) = line.strip_prefix(':') {
            items.push(comment(text.strip_prefix(' ').unwrap_or(text)));
        } else {
            let (field, value) = match line.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (line.as_str(), ""),
            };
            match field {
                "event" => {
                    event_type = value.to_owned();
                    started = true;
                }
                "data" => {
                    data.push_str(value);
                    data.push('\n');
                    started = true;
                }
                "id" if !value.contains('\0') => {
                    id_buffer = value.to_owned();
                    started = true;
                }
                "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                    if let Ok(ms) = value.parse::<u64>() {
                        reconnection_time = Some(ms);
                        items.push(Owned::Retry(ms));
                    }
                }
                _ => {}
            }
        }
    }
    // A BOM prefix cut off by the end of the stream is an unterminated line too.
    let bom_prefix = !stream.is_empty() && stream.len() < 3 && BOM.starts_with(stream);
    Run {
        items,
        discarded: partial || started || bom_prefix,
        last_event_id,
        reconnection_time,
    }
}

// ---------------------------------------------------------------------------------------------
// Property tests

fn field_name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => Just(b"data".to_vec()),
        2 => Just(b"event".to_vec()),
        2 => Just(b"id".to_vec()),
        2 => Just(b"retry".to_vec()),
        1 => Just(b"Data".to_vec()),
        1 => Just(b"foo".to_vec()),
        1 => Just(b"".to_vec()),
        1 => Just(b"dat".to_vec()),
        1 => Just(b"data ".to_vec()),
    ]
}

/// Value bytes, biased towards what matters: colons, spaces, digits, NUL, non-ASCII, invalid
/// UTF-8 and BOM bytes. Never CR or LF (those end lines).
fn value_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b" ".to_vec()),
        Just(b":".to_vec()),
        Just(b"0".to_vec()),
        Just(b"42".to_vec()),
        Just(b"x".to_vec()),
        Just(b"\0".to_vec()),
        Just("é".as_bytes().to_vec()),
        Just("😀".as_bytes().to_vec()),
        Just(b"\xFF".to_vec()),
        Just(b"\xE2\x82".to_vec()),
        Just(BOM.to_vec()),
        Just(b"18446744073709551616".to_vec()),
        "[a-z ]{1,8}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(piece, 0..5).prop_map(|v| v.concat())
}

fn line_ending() -> impl Strategy<Value = &'static [u8]> {
    prop_oneof![Just(&b"\n"[..]), Just(&b"\r"[..]), Just(&b"\r\n"[..])]
}

fn line() -> impl Strategy<Value = Vec<u8>> {
    let field_line = (
        field_name(),
        prop_oneof![Just(""), Just(":"), Just(": ")],
        value_bytes(),
    )
        .prop_map(|(f, sep, v)| [f, sep.as_bytes().to_vec(), v].concat());
    let comment_line = value_bytes().prop_map(|v| [b":".to_vec(), v].concat());
    let body = prop_oneof![
        5 => field_line,
        1 => comment_line,
        3 => Just(Vec::new()),
    ];
    (body, line_ending()).prop_map(|(b, e)| [b, e.to_vec()].concat())
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![
            Just(Vec::new()),
            Just(BOM.to_vec()),
            Just(BOM[..2].to_vec())
        ],
        prop::collection::vec(line(), 0..24),
        prop_oneof![
            Just(Vec::new()),
            value_bytes(),
            Just(b"data: tail".to_vec())
        ],
    )
        .prop_map(|(bom, lines, tail)| [bom, lines.concat(), tail].concat())
}

fn stream_and_cuts() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    stream().prop_flat_map(|s| {
        let len = s.len();
        (Just(s), prop::collection::vec(0..=len, 0..8)).prop_map(|(s, mut cuts)| {
            cuts.sort_unstable();
            (s, cuts)
        })
    })
}

fn event() -> impl Strategy<Value = (Option<String>, Option<String>, String, Option<u64>)> {
    (
        prop::option::of(any::<String>()),
        prop::option::of(any::<String>()),
        any::<String>(),
        prop::option::of(any::<u64>()),
    )
}

proptest! {
    #[test]
    fn random_splits_give_the_same_items((s, cuts) in stream_and_cuts()) {
        let whole = run(&s);
        prop_assert_eq!(&run_split(&s, &cuts), &whole);
        let bytes: Vec<&[u8]> = s.chunks(1).collect();
        prop_assert_eq!(&run_chunks(&bytes), &whole);
    }

    #[test]
    fn random_streams_match_the_reference((s, cuts) in stream_and_cuts()) {
        prop_assert_eq!(run_split(&s, &cuts), reference(&s));
    }

    #[test]
    fn encoded_events_round_trip(
        events in prop::collection::vec(event(), 1..6),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut wire = Vec::new();
        let mut want = Vec::new();
        let mut last_id = String::new();
        for (id, event_type, data, retry) in &events {
            encode::Event {
                id: id.as_deref(),
                event: event_type.as_deref(),
                data,
                retry: *retry,
            }
            .encode_into(&mut wire);
            if let Some(ms) = retry {
                want.push(Owned::Retry(*ms));
            }
            if let Some(id) = id {
                if !id.contains('\0') {
                    last_id = id.replace(['\r', '\n'], " ");
                }
            }
            let event_type = event_type
                .as_deref()
                .map(|t| t.replace(['\r', '\n'], " "))
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "message".to_owned());
            let data = data.replace("\r\n", "\n").replace('\r', "\n");
            want.push(ev(&event_type, &data, &last_id));
        }
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        cuts.sort_unstable();
        let r = run_split(&wire, &cuts);
        prop_assert_eq!(r.items, want);
        prop_assert!(!r.discarded);
        prop_assert_eq!(r.last_event_id, last_id);
    }
}
