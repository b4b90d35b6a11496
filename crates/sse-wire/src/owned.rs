//! Owned copies of what the parser reports, for callers that keep items past the callback (tests,
//! tools, anything collecting a stream). The parser itself lends borrowed [`Item`]s and allocates
//! nothing per event; converting is the caller's choice.

use crate::parse::Item;

/// An owned copy of a dispatched [`crate::EventRef`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedEvent {
    /// The event type (`message` when the stream set none).
    pub event_type: String,
    pub data: String,
    /// The last event id in force when the event fired.
    pub id: String,
}

/// An owned copy of an [`Item`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedItem {
    Event(OwnedEvent),
    /// A valid `retry:` line, in milliseconds.
    Retry(u64),
    /// A comment, without its leading colon and one space (so `: hb` is `"hb"`).
    Comment(String),
}

impl From<Item<'_>> for OwnedItem {
    fn from(item: Item<'_>) -> Self {
        match item {
            Item::Event(e) => OwnedItem::Event(OwnedEvent {
                event_type: e.event_type.to_owned(),
                data: e.data.to_owned(),
                id: e.last_event_id.to_owned(),
            }),
            Item::Retry(ms) => OwnedItem::Retry(ms),
            Item::Comment(text) => OwnedItem::Comment(text.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventRef;

    #[test]
    fn copies_every_field() {
        let e = Item::Event(EventRef {
            event_type: "tick",
            data: "a\nb",
            last_event_id: "7.1",
        });
        assert_eq!(
            OwnedItem::from(e),
            OwnedItem::Event(OwnedEvent {
                event_type: "tick".into(),
                data: "a\nb".into(),
                id: "7.1".into(),
            })
        );
        assert_eq!(OwnedItem::from(Item::Retry(5)), OwnedItem::Retry(5));
        assert_eq!(
            OwnedItem::from(Item::Comment("hb")),
            OwnedItem::Comment("hb".into())
        );
    }
}
