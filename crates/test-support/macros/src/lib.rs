//! `#[arms(SELECTION)]`: write a test once, run it on every protocol arm it applies to
//! (re-exported as `test_support::arms`; ripgrep's `rgtest!` and hyper's `t!` are the model); and
//! `#[browsers(SELECTION)]`: the same over every real browser and the arms it speaks.
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
//! ```ignore
//! #[test_support::browsers(all, flavor = "multi_thread", worker_threads = 2)]
//! async fn agrees(browser: BrowserProfile, arm: Protocol) { /* ... */ }
//! ```
//!
//! adds `mod agrees` with a module per browser of `vocab::BrowserProfile::ALL` and in each one
//! test per arm of the selection that the browser speaks (`BrowserProfile::speaks`):
//! `agrees::chromium::h3`, `agrees::firefox::h1_tls`, ... A browser added to `BrowserProfile`
//! joins every such test, and so does an arm it speaks.
//!
//! The selections: `all`; `sse` (the arms with event streams and POSTs: not WebSocket); `http1`
//! (neither multiplexed nor WebSocket); `http2`; `multiplexed` (HTTP/2 and HTTP/3); `websocket`;
//! `tls`; `tcp` (every arm on TCP: not HTTP/3's QUIC); `sse_tcp` (the event-stream arms on TCP:
//! what a TCP proxy between client and server can carry); or one arm's name (`h1`), for a test of
//! one arm in every browser. What follows the selection goes to `#[tokio::test(...)]` as it is
//! (the runtime's flavour and worker threads; tokio's default, one thread, without it). A function
//! that is not `async` gets a plain `#[test]` (it builds its own runtime) and takes no such
//! arguments.

use proc_macro::{Delimiter, Spacing, TokenStream, TokenTree};
use vocab::{BrowserProfile, Protocol, Transport, Word};

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
    SseTcp,
    /// One arm, by its name.
    One(Protocol),
}

impl Selection {
    /// Every selection with the word that names it.
    const WORDS: [(&'static str, Selection); 9] = [
        ("all", Selection::All),
        ("sse", Selection::Sse),
        ("http1", Selection::Http1),
        ("http2", Selection::Http2),
        ("multiplexed", Selection::Multiplexed),
        ("websocket", Selection::Websocket),
        ("tls", Selection::Tls),
        ("tcp", Selection::Tcp),
        ("sse_tcp", Selection::SseTcp),
    ];

    fn parse(word: &str) -> Result<Selection, String> {
        let one = || {
            Protocol::ALL
                .into_iter()
                .find(|&arm| Word::as_str(arm).replace('-', "_") == word)
                .map(Selection::One)
        };
        Self::WORDS
            .iter()
            .find(|(w, _)| *w == word)
            .map(|&(_, s)| s)
            .or_else(one)
            .ok_or_else(|| {
                let words: Vec<&str> = Self::WORDS.iter().map(|(w, _)| *w).collect();
                format!(
                    "unknown selection of arms {word:?} (expected one of: {}, or an arm's name)",
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
            Selection::SseTcp => !arm.is_websocket() && arm.transport() == Transport::Tcp,
            Selection::One(one) => arm == one,
        }
    }
}

/// See the crate documentation.
#[proc_macro_attribute]
pub fn arms(attr: TokenStream, item: TokenStream) -> TokenStream {
    with_tests(item, |item| expand(attr, item, Dimension::Arms))
}

/// See the crate documentation.
#[proc_macro_attribute]
pub fn browsers(attr: TokenStream, item: TokenStream) -> TokenStream {
    with_tests(item, |item| expand(attr, item, Dimension::BrowsersAndArms))
}

/// `item`, followed by its generated tests (or by the error that stopped them).
fn with_tests(
    item: TokenStream,
    generate: impl FnOnce(&TokenStream) -> Result<TokenStream, String>,
) -> TokenStream {
    let generated = generate(&item).unwrap_or_else(|message| {
        format!("::core::compile_error!({message:?});")
            .parse()
            .expect("a compile_error! invocation")
    });
    let mut out = item;
    out.extend(generated);
    out
}

/// What the generated tests range over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dimension {
    /// `fn(arm: Protocol)`: one test per arm.
    Arms,
    /// `fn(browser: BrowserProfile, arm: Protocol)`: per browser, one test per arm it speaks.
    BrowsersAndArms,
}

fn expand(
    attr: TokenStream,
    item: &TokenStream,
    dimension: Dimension,
) -> Result<TokenStream, String> {
    let (selection, tokio_args) = split_attr(attr)?;
    let (name, is_async) = fn_name(item)?;
    generate(&name, is_async, selection, &tokio_args, dimension)?
        .parse()
        .map_err(|e| format!("cannot generate the tests of {name}: {e}"))
}

/// The source of `mod name { ... }` with the tests of `selection` over `dimension`.
fn generate(
    name: &str,
    is_async: bool,
    selection: Selection,
    tokio_args: &str,
    dimension: Dimension,
) -> Result<String, String> {
    if !is_async && !tokio_args.is_empty() {
        return Err(format!(
            "{name} is not async: it gets a plain #[test], which takes no `{tokio_args}`"
        ));
    }
    let body = match dimension {
        Dimension::Arms => test_fns(name, None, &tests_of(selection, None), tokio_args, is_async),
        Dimension::BrowsersAndArms => {
            let mut modules = String::new();
            for browser in BrowserProfile::ALL {
                let tests = tests_of(selection, Some(browser));
                if tests.is_empty() {
                    continue;
                }
                let fns = test_fns(name, Some(browser), &tests, tokio_args, is_async);
                modules.push_str(&format!(
                    "mod {} {{\n{fns}}}\n",
                    rust_name(browser.as_str())
                ));
            }
            modules
        }
    };
    Ok(format!("mod {name} {{\n{body}}}"))
}

/// One test function per `(test name, arm)` calling `name` (with `browser` first, if given) from
/// its module.
fn test_fns(
    name: &str,
    browser: Option<BrowserProfile>,
    tests: &[(String, &'static str)],
    tokio_args: &str,
    is_async: bool,
) -> String {
    let (path, browser_arg) = match browser {
        None => ("super".to_owned(), String::new()),
        Some(b) => (
            "super::super".to_owned(),
            format!(
                "{:?}.parse::<::test_support::BrowserProfile>().expect(\"a browser's name\"), ",
                b.as_str()
            ),
        ),
    };
    let mut out = String::new();
    for (test, word) in tests {
        let (attribute, signature, call) = match is_async {
            true => (format!("::tokio::test({tokio_args})"), "async fn", ".await"),
            false => ("test".to_owned(), "fn", ""),
        };
        out.push_str(&format!(
            "#[{attribute}]\n\
             {signature} {test}() {{\n\
                 let arm: ::test_support::Protocol = {word:?}.parse().expect(\"an arm's name\");\n\
                 {path}::{name}({browser_arg}arm){call}\n\
             }}\n",
        ));
    }
    out
}

/// A word as a Rust name: `-` as `_`.
fn rust_name(word: &str) -> String {
    word.replace('-', "_")
}

/// The tests a selection makes (for `browser`, only the arms it speaks): each arm it takes, as
/// (the test's name, the arm's name).
fn tests_of(selection: Selection, browser: Option<BrowserProfile>) -> Vec<(String, &'static str)> {
    Protocol::ALL
        .into_iter()
        .filter(|&arm| selection.takes(arm))
        .filter(|&arm| browser.is_none_or(|b| b.speaks(arm)))
        .map(|arm| Word::as_str(arm))
        .map(|word| (rust_name(word), word))
        .collect()
}

/// The selection word, and what follows its comma (tokio's arguments).
fn split_attr(attr: TokenStream) -> Result<(Selection, String), String> {
    let mut tokens = attr.into_iter();
    let selection = match tokens.next() {
        Some(TokenTree::Ident(word)) => Selection::parse(&word.to_string())?,
        _ => {
            return Err(
                "a selection of arms comes first: #[arms(all)], #[browsers(http2, ...)]".into(),
            )
        }
    };
    match tokens.next() {
        None => Ok((selection, String::new())),
        Some(TokenTree::Punct(p)) if p.as_char() == ',' && p.spacing() == Spacing::Alone => {
            Ok((selection, tokens.collect::<TokenStream>().to_string()))
        }
        Some(other) => Err(format!(
            "expected a comma after the selection, found `{other}`"
        )),
    }
}

/// The name of the function the attribute is on, and whether it is `async`.
fn fn_name(item: &TokenStream) -> Result<(String, bool), String> {
    let mut tokens = item.clone().into_iter();
    let mut is_async = false;
    while let Some(token) = tokens.next() {
        match token {
            TokenTree::Ident(i) if i.to_string() == "async" => is_async = true,
            TokenTree::Ident(i) if i.to_string() == "fn" => {
                return match tokens.next() {
                    Some(TokenTree::Ident(name)) => Ok((name.to_string(), is_async)),
                    _ => Err("expected the function's name after `fn`".into()),
                };
            }
            TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => break,
            _ => {}
        }
    }
    Err("goes on a function: async fn name(arm: Protocol), or name(browser, arm)".into())
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
        let sse_tcp: Vec<Protocol> = arms_of(Selection::Sse)
            .into_iter()
            .filter(|a| arms_of(Selection::Tcp).contains(a))
            .collect();
        assert_eq!(arms_of(Selection::SseTcp), sse_tcp);
        assert!(!sse_tcp.contains(&Protocol::H3) && sse_tcp.contains(&Protocol::H2));
        assert!(arms_of(Selection::Tls).iter().all(|a| a.alpn().is_some()));
        for (_, selection) in Selection::WORDS {
            assert!(!arms_of(selection).is_empty(), "{selection:?} takes no arm");
        }
    }

    /// One test per arm taken, named after it (`-` as `_`, a Rust name), none twice.
    #[test]
    fn a_selection_makes_one_test_per_arm_named_after_it() {
        for (_, selection) in Selection::WORDS {
            let tests = tests_of(selection, None);
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

    /// Per browser, the arms it speaks among those the selection takes: never h2c, h3 in both.
    #[test]
    fn a_browser_gets_the_selected_arms_it_speaks() {
        for browser in BrowserProfile::ALL {
            for (_, selection) in Selection::WORDS {
                let words: Vec<&str> = tests_of(selection, Some(browser))
                    .into_iter()
                    .map(|(_, w)| w)
                    .collect();
                let spoken: Vec<&str> = arms_of(selection)
                    .into_iter()
                    .filter(|&a| browser.speaks(a))
                    .map(Word::as_str)
                    .collect();
                assert_eq!(words, spoken, "{browser} {selection:?}");
                assert!(!words.contains(&"h2c"), "{browser} {selection:?}");
            }
            let multiplexed = tests_of(Selection::Multiplexed, Some(browser));
            assert_eq!(
                multiplexed,
                vec![("h2".to_owned(), "h2"), ("h3".to_owned(), "h3")]
            );
        }
    }

    /// The generated code: a module per browser, a test per arm, each calling the function with
    /// both; a function that is not async gets `#[test]` and refuses tokio's arguments.
    #[test]
    fn browsers_expand_to_a_module_per_browser() {
        let dim = Dimension::BrowsersAndArms;
        let out = generate("agrees", true, Selection::Http2, "", dim).unwrap();
        for browser in BrowserProfile::ALL {
            assert!(
                out.contains(&format!("mod {} {{", browser.as_str())),
                "{out}"
            );
        }
        assert!(out.starts_with("mod agrees {"), "{out}");
        assert!(out.contains("super::super::agrees("), "{out}");
        assert!(out.contains("#[::tokio::test()]\nasync fn h2()"), "{out}");
        assert!(!out.contains("fn h2c"), "{out}");
        let h1 = Selection::parse("h1").unwrap();
        let sync = generate("over", false, h1, "", dim).unwrap();
        assert!(sync.contains("#[test]\nfn h1()"), "{sync}");
        assert!(
            !sync.contains("async") && !sync.contains("h1_tls"),
            "{sync}"
        );
        let err = generate(
            "over",
            false,
            h1,
            "flavor = \"current_thread\"",
            Dimension::Arms,
        )
        .unwrap_err();
        assert!(err.contains("not async"), "{err}");
        let arms = generate("each", true, Selection::Tls, "", Dimension::Arms).unwrap();
        assert!(arms.contains("super::each(arm).await"), "{arms}");
        assert!(
            arms.contains("fn h1_tls()") && !arms.contains("mod chromium"),
            "{arms}"
        );
    }

    #[test]
    fn every_word_parses_and_an_unknown_one_lists_them() {
        for (word, _) in Selection::WORDS {
            assert!(Selection::parse(word).is_ok());
        }
        assert!(matches!(
            Selection::parse("h1_tls"),
            Ok(Selection::One(Protocol::H1Tls))
        ));
        let err = Selection::parse("h4").expect_err("not a selection");
        assert!(
            err.contains("all, sse, http1, http2, multiplexed, websocket, tls, tcp"),
            "{err}"
        );
    }
}
