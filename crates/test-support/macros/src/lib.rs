//! `#[arms(SELECTION)]`: write a test once, run it on every protocol arm it applies to
//! (re-exported as `test_support::arms`; ripgrep's `rgtest!` and hyper's `t!` are the model).
//!
//! ```ignore
//! #[test_support::arms(http2, flavor = "multi_thread", worker_threads = 2)]
//! async fn late_settings(arm: Protocol) { /* ... */ }
//! ```
//!
//! keeps the function and adds `mod late_settings` holding one `#[tokio::test]` per arm of the
//! selection, named after the arm with `-` as `_` (`h1_tls`), so `cargo test late_settings::h2c`
//! runs one. The arms are read from `vocab::Protocol::ALL` when the attribute expands and each
//! selection is one of `Protocol`'s own predicates: a variant added to `Protocol` joins every test
//! whose selection takes it, and no list of arms is written anywhere else.
//!
//! The selections: `all`; `sse` (the arms with event streams and POSTs: not WebSocket); `http1`
//! (neither multiplexed nor WebSocket); `http2`; `multiplexed` (HTTP/2 and HTTP/3); `websocket`;
//! `tls`; `tcp` (every arm on TCP: not HTTP/3's QUIC). What follows the selection goes to
//! `#[tokio::test(...)]` as it is (the runtime's flavour and worker threads; tokio's default, one
//! thread, without it).

use proc_macro::{Delimiter, Spacing, TokenStream, TokenTree};
use vocab::{Protocol, Transport, Word};

/// Which arms a test runs on; see the crate documentation.
#[derive(Debug, Clone, Copy)]
enum Selection {
    All,
    Sse,
    Http1,
    Http2,
    Multiplexed,
    Websocket,
    Tls,
    Tcp,
}

impl Selection {
    /// Every selection with the word that names it.
    const WORDS: [(&'static str, Selection); 8] = [
        ("all", Selection::All),
        ("sse", Selection::Sse),
        ("http1", Selection::Http1),
        ("http2", Selection::Http2),
        ("multiplexed", Selection::Multiplexed),
        ("websocket", Selection::Websocket),
        ("tls", Selection::Tls),
        ("tcp", Selection::Tcp),
    ];

    fn parse(word: &str) -> Result<Selection, String> {
        Self::WORDS
            .iter()
            .find(|(w, _)| *w == word)
            .map(|&(_, s)| s)
            .ok_or_else(|| {
                let words: Vec<&str> = Self::WORDS.iter().map(|(w, _)| *w).collect();
                format!(
                    "unknown selection of arms {word:?} (expected one of: {})",
                    words.join(", ")
                )
            })
    }

    fn takes(self, arm: Protocol) -> bool {
        match self {
            Selection::All => true,
            Selection::Sse => !arm.is_websocket(),
            Selection::Http1 => !arm.is_multiplexed() && !arm.is_websocket(),
            Selection::Http2 => arm.is_http2(),
            Selection::Multiplexed => arm.is_multiplexed(),
            Selection::Websocket => arm.is_websocket(),
            Selection::Tls => arm.is_tls(),
            Selection::Tcp => arm.transport() == Transport::Tcp,
        }
    }
}

/// See the crate documentation.
#[proc_macro_attribute]
pub fn arms(attr: TokenStream, item: TokenStream) -> TokenStream {
    let generated = expand(attr, &item).unwrap_or_else(|message| {
        format!("::core::compile_error!({message:?});")
            .parse()
            .expect("a compile_error! invocation")
    });
    let mut out = item;
    out.extend(generated);
    out
}

fn expand(attr: TokenStream, item: &TokenStream) -> Result<TokenStream, String> {
    let (selection, tokio_args) = split_attr(attr)?;
    let name = fn_name(item)?;
    let mut tests = String::new();
    for (test, word) in tests_of(selection) {
        tests.push_str(&format!(
            "#[::tokio::test({tokio_args})]\n\
             async fn {test}() {{\n\
                 let arm: ::test_support::Protocol = {word:?}.parse().expect(\"an arm's name\");\n\
                 super::{name}(arm).await\n\
             }}\n",
        ));
    }
    format!("mod {name} {{\n{tests}}}")
        .parse()
        .map_err(|e| format!("arms: cannot generate the tests of {name}: {e}"))
}

/// The tests a selection makes: each arm it takes, as (the test's name, the arm's name).
fn tests_of(selection: Selection) -> Vec<(String, &'static str)> {
    Protocol::ALL
        .into_iter()
        .filter(|&arm| selection.takes(arm))
        .map(|arm| Word::as_str(arm))
        .map(|word| (word.replace('-', "_"), word))
        .collect()
}

/// The selection word, and what follows its comma (tokio's arguments).
fn split_attr(attr: TokenStream) -> Result<(Selection, String), String> {
    let mut tokens = attr.into_iter();
    let selection = match tokens.next() {
        Some(TokenTree::Ident(word)) => Selection::parse(&word.to_string())?,
        _ => {
            return Err(
                "arms needs a selection of arms first: #[arms(all)], #[arms(http2, ...)]".into(),
            )
        }
    };
    match tokens.next() {
        None => Ok((selection, String::new())),
        Some(TokenTree::Punct(p)) if p.as_char() == ',' && p.spacing() == Spacing::Alone => {
            Ok((selection, tokens.collect::<TokenStream>().to_string()))
        }
        Some(other) => Err(format!(
            "arms: expected a comma after the selection, found `{other}`"
        )),
    }
}

/// The name of the function the attribute is on.
fn fn_name(item: &TokenStream) -> Result<String, String> {
    let mut tokens = item.clone().into_iter();
    while let Some(token) = tokens.next() {
        match token {
            TokenTree::Ident(i) if i.to_string() == "fn" => {
                return match tokens.next() {
                    Some(TokenTree::Ident(name)) => Ok(name.to_string()),
                    _ => Err("arms: expected the function's name after `fn`".into()),
                };
            }
            TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => break,
            _ => {}
        }
    }
    Err("arms goes on a function: async fn name(arm: Protocol)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arms_of(selection: Selection) -> Vec<Protocol> {
        Protocol::ALL
            .into_iter()
            .filter(|&a| selection.takes(a))
            .collect()
    }

    /// HTTP/1.1, the multiplexed arms (HTTP/2, HTTP/3) and WebSocket split the arms between
    /// them; HTTP/2 is among the multiplexed; `sse` is all but WebSocket.
    #[test]
    fn selections_split_the_arms_by_protocol_predicates() {
        let mut parts: Vec<Protocol> = [
            Selection::Http1,
            Selection::Multiplexed,
            Selection::Websocket,
        ]
        .into_iter()
        .flat_map(arms_of)
        .collect();
        let multiplexed = arms_of(Selection::Multiplexed);
        assert!(arms_of(Selection::Http2)
            .iter()
            .all(|a| multiplexed.contains(a)));
        parts.sort();
        assert_eq!(parts, arms_of(Selection::All));
        assert_eq!(arms_of(Selection::All), Protocol::ALL);
        let sse: Vec<Protocol> = Protocol::ALL
            .into_iter()
            .filter(|a| !arms_of(Selection::Websocket).contains(a))
            .collect();
        assert_eq!(arms_of(Selection::Sse), sse);
        assert!(arms_of(Selection::Tls).iter().all(|a| a.alpn().is_some()));
        for (_, selection) in Selection::WORDS {
            assert!(!arms_of(selection).is_empty(), "{selection:?} takes no arm");
        }
    }

    /// One test per arm taken, named after it (`-` as `_`, a Rust name), none twice.
    #[test]
    fn a_selection_makes_one_test_per_arm_named_after_it() {
        for (_, selection) in Selection::WORDS {
            let tests = tests_of(selection);
            let arms: Vec<&str> = arms_of(selection).into_iter().map(Word::as_str).collect();
            let words: Vec<&str> = tests.iter().map(|(_, w)| *w).collect();
            assert_eq!(words, arms, "{selection:?}");
            let mut names: Vec<&str> = tests.iter().map(|(n, _)| n.as_str()).collect();
            assert!(names
                .iter()
                .all(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')));
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), tests.len(), "{selection:?}: a name twice");
        }
    }

    #[test]
    fn every_word_parses_and_an_unknown_one_lists_them() {
        for (word, _) in Selection::WORDS {
            assert!(Selection::parse(word).is_ok());
        }
        let err = Selection::parse("h4").expect_err("not a selection");
        assert!(
            err.contains("all, sse, http1, http2, multiplexed, websocket, tls, tcp"),
            "{err}"
        );
    }
}
