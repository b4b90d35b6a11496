//! Tests for the push parser: one per rule ([`rules`]), the limits and UTF-8 ([`limits`]), and
//! split invariance at every index with property tests against a straightforward reference
//! parser and against the encoder ([`splits`]).

#![allow(clippy::unwrap_used)]

use super::*;

pub(super) use crate::owned::{OwnedEvent, OwnedItem as Owned};

pub(super) fn ev(event_type: &str, data: &str, id: &str) -> Owned {
    Owned::Event(OwnedEvent {
        event_type: event_type.to_owned(),
        data: data.to_owned(),
        id: id.to_owned(),
    })
}

pub(super) fn comment(text: &str) -> Owned {
    Owned::Comment(text.to_owned())
}

/// Everything one run reports: the items, what `finish` returned, and the state it left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Run {
    pub(super) items: Vec<Owned>,
    pub(super) discarded: bool,
    pub(super) last_event_id: String,
    pub(super) reconnection_time: Option<u64>,
}

pub(super) fn feed_all(p: &mut Parser, chunks: &[&[u8]], items: &mut Vec<Owned>) {
    for chunk in chunks {
        p.feed(chunk, |item| items.push(item.into())).unwrap();
    }
}

pub(super) fn run_chunks(chunks: &[&[u8]]) -> Run {
    let mut p = Parser::new();
    let mut items = Vec::new();
    feed_all(&mut p, chunks, &mut items);
    let discarded = p.finish();
    Run {
        items,
        discarded,
        last_event_id: p.last_event_id().to_owned(),
        reconnection_time: p.reconnection_time(),
    }
}

pub(super) fn run(stream: &[u8]) -> Run {
    run_chunks(&[stream])
}

pub(super) fn items(stream: &[u8]) -> Vec<Owned> {
    run(stream).items
}

/// Feeds `stream` cut at the given (sorted) indices.
pub(super) fn run_split(stream: &[u8], cuts: &[usize]) -> Run {
    let mut chunks = Vec::new();
    let mut start = 0;
    for &cut in cuts {
        chunks.push(&stream[start..cut]);
        start = cut;
    }
    chunks.push(&stream[start..]);
    run_chunks(&chunks)
}

mod limits;
mod rules;
mod splits;
