//! A word of the shared vocabulary: a closed set of values, each with one name.
//!
//! Every list of accepted words (a parse error, a CLI help text, a report cell's error) is
//! generated from [`Word::ALL`], never typed again, so a variant added to an enum is accepted and
//! named everywhere the day it is added (the `http` crate's `Method` prints and parses itself the
//! same way).

/// A closed vocabulary: every value, and the one name of each.
pub trait Word: Copy + Sized + 'static {
    /// What a value of this vocabulary is called in messages: "protocol", "client", ...
    const WHAT: &'static str;
    /// Every value, in a fixed order.
    const ALL: &'static [Self];

    /// The value's one name (scenario files, command line, reports).
    fn as_str(self) -> &'static str;

    /// The value named `text`, or an error naming every accepted word.
    fn parse_word(text: &str) -> Result<Self, UnknownWord> {
        Self::ALL
            .iter()
            .copied()
            .find(|w| w.as_str() == text)
            .ok_or_else(|| UnknownWord::new::<Self>(text))
    }

    /// Every accepted name, in order.
    fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|w| w.as_str()).collect()
    }

    /// The accepted names as one phrase for messages and help texts: "h1, h1-tls, h2".
    fn accepted() -> String {
        Self::names().join(", ")
    }
}

/// A name that is none of a vocabulary's words; its message names all of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {got:?} (expected one of: {expected})")]
pub struct UnknownWord {
    /// The vocabulary ([`Word::WHAT`]).
    pub what: &'static str,
    /// The name given.
    pub got: String,
    /// Every accepted name ([`Word::accepted`]).
    pub expected: String,
}

impl UnknownWord {
    /// `text`, refused as a word of `W`.
    pub fn new<W: Word>(text: &str) -> UnknownWord {
        UnknownWord {
            what: W::WHAT,
            got: text.to_owned(),
            expected: W::accepted(),
        }
    }
}

/// Implements `Display` and `FromStr` for a [`Word`] from its names.
#[doc(hidden)]
#[macro_export]
macro_rules! word_traits {
    ($ty:ty) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::Word::as_str(*self))
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::UnknownWord;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                <$ty as $crate::Word>::parse_word(text)
            }
        }
    };
}
pub(crate) use word_traits;

/// Makes a closed vocabulary of any crate a [`Word`] from its own `ALL` array and name method
/// (`as_str` unless named), with `Display` and `FromStr` from its names:
/// `vocab::word!(LatencyField, "latency field");`.
#[macro_export]
macro_rules! word {
    ($ty:ty, $what:literal) => {
        $crate::word!($ty, $what, as_str);
    };
    ($ty:ty, $what:literal, $name:ident) => {
        impl $crate::Word for $ty {
            const WHAT: &'static str = $what;
            const ALL: &'static [$ty] = &<$ty>::ALL;

            fn as_str(self) -> &'static str {
                <$ty>::$name(self)
            }
        }

        $crate::word_traits!($ty);
    };
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use super::*;
    use crate::{BrowserProfile, ClientKind, ErrorClass, MetricKind, Protocol, Transport};

    /// Every word parses from its name, and a refusal names every accepted word.
    fn check<W: Word + PartialEq + fmt::Debug + std::str::FromStr<Err = UnknownWord>>() {
        for &w in W::ALL {
            assert_eq!(w.as_str().parse::<W>(), Ok(w));
        }
        let err = "no-such-word".parse::<W>().expect_err("refused");
        let message = err.to_string();
        assert!(message.contains(W::WHAT), "{message}");
        for &w in W::ALL {
            assert!(
                message.contains(w.as_str()),
                "{message} names {}",
                w.as_str()
            );
        }
    }

    #[test]
    fn every_refusal_names_every_word() {
        check::<Protocol>();
        check::<ClientKind>();
        check::<BrowserProfile>();
        check::<MetricKind>();
        check::<ErrorClass>();
        check::<Transport>();
    }
}
