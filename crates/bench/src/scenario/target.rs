//! Where a run sends its requests when not to the embedded server: a URL per protocol arm, the
//! paths of the event stream and of the POSTs, how TLS is trusted, and how its answers are asked
//! and read ([`AnswerTarget`]).
//!
//! The target is given in the scenario's `[target]` table, on the command line (`--target`,
//! `--cacert`, `--insecure`, `--events-path`, `--messages-path`), or both: the command line
//! completes and overrides the file, part by part. Both are resolved here, once and by the same
//! rules ([`resolve`]): a URL per arm from `--target ARM=URL`, else a `--target URL` of the arm's
//! scheme, else `target.ARM`, else `target.url`; paths start with `/`; every error names where the
//! value came from (`FILE:LINE: key = value`, or the flag as written).

use std::path::PathBuf;

use sse_wire::stamp::{SendStamp, StampUnit};
use toml::Spanned;
use vocab::Protocol;

use super::answer_target::{self, AnswerTarget};
use super::checks::Ctx;
use super::raw::RawTarget;
use super::{Scenario, ScenarioError};

/// An external server, resolved: one origin URL per arm of the scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSpec {
    /// One origin URL per arm of the scenario, in the scenario's order.
    pub urls: Vec<(Protocol, String)>,
    /// Where each arm's URL was given, for messages: `FILE:LINE: target.url = "URL"` or
    /// `--target [ARM=]URL`.
    pub url_from: Vec<(Protocol, String)>,
    pub events_path: String,
    pub messages_path: String,
    pub trust: TrustSpec,
    /// Where the server's events carry their send instant, for `event_delivery`.
    pub send_stamp: SendStamp,
    /// Where the URLs may point: loopback, or anywhere with `--allow-remote`.
    pub reach: loadgen::Reach,
    /// How the target's answers are asked and read.
    pub answers: AnswerTarget,
}

impl TargetSpec {
    /// Where the URL of `arm` was given.
    pub fn url_from(&self, arm: Protocol) -> &str {
        self.url_from
            .iter()
            .find(|(a, _)| *a == arm)
            .map_or("the target", |(_, from)| from.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustSpec {
    /// Trust the CA certificate(s) in this PEM file.
    CaFile(PathBuf),
    /// Accept any certificate.
    Insecure,
    /// No trust given: fine for cleartext arms only.
    None,
}

/// A value and where it was written (`FILE:LINE: key = "value"`).
#[derive(Debug, Clone, PartialEq)]
struct Sourced {
    value: String,
    from: String,
}

/// The scenario's `[target]` table, checked part by part; what it leaves out (a URL, a path) the
/// command line may give.
#[derive(Debug, Clone, PartialEq)]
pub struct FileTarget {
    url: Option<Sourced>,
    per_arm: Vec<(Protocol, Sourced)>,
    events_path: Option<String>,
    messages_path: Option<String>,
    trust: TrustSpec,
    send_stamp: SendStamp,
    answers: AnswerTarget,
}

/// The command line's target flags, as given.
#[derive(Debug, Clone, Default)]
pub struct TargetFlags {
    /// `--target [ARM=]URL`, repeatable.
    pub targets: Vec<String>,
    pub cacert: Option<PathBuf>,
    pub insecure: bool,
    pub events_path: Option<String>,
    pub messages_path: Option<String>,
    /// `--answers-path`: where the target takes questions.
    pub answers_path: Option<String>,
    /// `--allow-remote`: targets outside loopback are allowed.
    pub allow_remote: bool,
}

impl TargetFlags {
    fn any(&self) -> bool {
        !self.targets.is_empty()
            || self.cacert.is_some()
            || self.insecure
            || self.events_path.is_some()
            || self.messages_path.is_some()
            || self.answers_path.is_some()
    }
}

/// A target that cannot be used: where the value came from, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{from}: {reason}")]
pub struct TargetError {
    pub from: String,
    pub reason: String,
}

fn error(from: impl Into<String>, reason: impl Into<String>) -> TargetError {
    TargetError {
        from: from.into(),
        reason: reason.into(),
    }
}

/// Stage two of `[target]`: each part checked on its own, with the line it sits on;
/// `asks_answers` says whether the scenario asks answers (the `answers_*` keys need some).
pub(super) fn file_target(
    cx: &Ctx<'_>,
    spanned: &Spanned<RawTarget>,
    protocols: &[Protocol],
    asks_answers: bool,
) -> Result<FileTarget, ScenarioError> {
    let t = spanned.get_ref();
    let sourced = |key: &str, v: &Spanned<String>| Sourced {
        value: v.get_ref().clone(),
        from: format!(
            "{}:{}: {key} = {:?}",
            cx.path.display(),
            cx.line(v.span().start),
            v.get_ref()
        ),
    };
    if let Some(url) = &t.url {
        if !["http://", "https://"]
            .iter()
            .any(|s| url.get_ref().starts_with(s))
        {
            return Err(cx.invalid(
                "target.url",
                url,
                "must be an http:// or https:// origin URL",
            ));
        }
    }
    let mut per_arm = Vec::new();
    for arm in Protocol::ALL {
        let specific = match arm {
            Protocol::H1 => &t.h1,
            Protocol::H1Tls => &t.h1_tls,
            Protocol::H2 => &t.h2,
            Protocol::H2c => &t.h2c,
            Protocol::Ws => &t.ws,
            Protocol::Wss => &t.wss,
            Protocol::H3 => &t.h3,
        };
        let Some(v) = specific else { continue };
        let key = format!("target.{arm}");
        if !protocols.contains(&arm) {
            return Err(cx.invalid(
                &key,
                v,
                format!(
                    "the scenario does not run {arm}: add it to `protocols` or remove this key"
                ),
            ));
        }
        if !arm.takes_url(v.get_ref()) {
            return Err(cx.invalid(
                &key,
                v,
                format!("protocol {arm} needs an {}:// URL", arm.scheme()),
            ));
        }
        per_arm.push((arm, sourced(&key, v)));
    }
    let path = |key: &str, v: &Option<Spanned<String>>| -> Result<Option<String>, ScenarioError> {
        match v {
            None => Ok(None),
            Some(p) if p.get_ref().starts_with('/') => Ok(Some(p.get_ref().clone())),
            Some(p) => Err(cx.invalid(key, p, "must start with '/'")),
        }
    };
    let trust = match (&t.cacert, &t.insecure) {
        (Some(c), Some(i)) if *i.get_ref() => {
            return Err(cx.invalid(
                "target.insecure",
                i,
                format!(
                    "conflicts with target.cacert = {:?}: choose one",
                    c.get_ref()
                ),
            ))
        }
        (Some(c), _) if c.get_ref().trim().is_empty() => {
            return Err(cx.invalid("target.cacert", c, "must be a path to a PEM file"))
        }
        (Some(c), _) => TrustSpec::CaFile(PathBuf::from(c.get_ref())),
        (None, Some(i)) if *i.get_ref() => TrustSpec::Insecure,
        _ => TrustSpec::None,
    };
    let field = match &t.send_stamp {
        None => "sent_ns".to_owned(),
        Some(f)
            if !f.get_ref().is_empty()
                && f.get_ref()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
        {
            f.get_ref().clone()
        }
        Some(f) => {
            return Err(cx.invalid(
                "target.send_stamp",
                f,
                "must be a JSON field name (letters, digits, '_', '-')",
            ))
        }
    };
    let unit = match &t.send_stamp_unit {
        None => StampUnit::Ns,
        Some(u) => StampUnit::parse(u.get_ref()).ok_or_else(|| {
            cx.invalid(
                "target.send_stamp_unit",
                u,
                "expected \"ns\", \"us\", \"ms\" or \"s\" (since the Unix epoch)",
            )
        })?,
    };
    Ok(FileTarget {
        url: t.url.as_ref().map(|v| sourced("target.url", v)),
        per_arm,
        events_path: path("target.events_path", &t.events_path)?,
        messages_path: path("target.messages_path", &t.messages_path)?,
        trust,
        send_stamp: SendStamp::new(&field, unit),
        answers: answer_target::from_file(cx, t, asks_answers)?,
    })
}

/// The run's target: the scenario's `[target]` completed and overridden by the command line, or
/// `None` for the embedded server. See the module documentation for the rules.
pub fn resolve(
    scenario: &Scenario,
    flags: &TargetFlags,
) -> Result<Option<TargetSpec>, TargetError> {
    let file = scenario.target.as_ref();
    if file.is_none() && !flags.any() {
        return Ok(None);
    }
    if file.is_none() && flags.targets.is_empty() {
        return Err(error(
            "--cacert, --insecure, --events-path, --messages-path, --answers-path",
            "these go with --target (or a [target] table in the scenario)",
        ));
    }
    if flags.any() && !scenario.faults.is_none() {
        return Err(error(
            "--target",
            "the embedded server is what injects the scenario's [faults], and a target replaces \
             it: drop the target or the [faults] table",
        ));
    }
    // (arm, URL, the flag as written)
    let mut from_flags: Vec<(Option<Protocol>, &str, &str)> = Vec::new();
    for t in &flags.targets {
        match t.split_once('=') {
            Some((arm, url)) if !arm.contains(':') => {
                let arm: Protocol = arm.parse().map_err(|e| {
                    error(
                        format!("--target {t}"),
                        format!("bad protocol before '=': {e}"),
                    )
                })?;
                from_flags.push((Some(arm), url, t));
            }
            _ => from_flags.push((None, t, t)),
        }
    }
    let mut urls = Vec::new();
    let mut url_from = Vec::new();
    for &arm in &scenario.protocols {
        let scheme = format!("{}://", arm.scheme());
        let flag_specific = from_flags.iter().find(|(a, _, _)| *a == Some(arm));
        let flag_general = from_flags
            .iter()
            .find(|(a, url, _)| a.is_none() && arm.takes_url(url));
        let file_specific = file.and_then(|f| f.per_arm.iter().find(|(a, _)| *a == arm));
        let file_general = file
            .and_then(|f| f.url.as_ref())
            .filter(|u| u.value.starts_with(&scheme));
        let (url, from) = match (flag_specific.or(flag_general), file_specific, file_general) {
            (Some((_, url, flag)), _, _) => ((*url).to_owned(), format!("--target {flag}")),
            (None, Some((_, s)), _) | (None, None, Some(s)) => (s.value.clone(), s.from.clone()),
            (None, None, None) => {
                let in_file = file.map_or(String::new(), |_| {
                    format!(", or target.{arm} or target.url in the scenario's [target]")
                });
                return Err(error(
                    format!("protocol {arm}"),
                    format!(
                        "needs an {scheme} URL: add --target {arm}=URL{in_file}, or drop {arm} \
                         from `protocols`"
                    ),
                ));
            }
        };
        if !arm.takes_url(&url) {
            return Err(error(from, format!("protocol {arm} needs an {scheme} URL")));
        }
        urls.push((arm, url));
        url_from.push((arm, from));
    }
    let path =
        |flag: &str, given: &Option<String>, file: Option<&String>, default: String| match given {
            Some(p) if p.starts_with('/') => Ok(p.clone()),
            Some(p) => Err(error(format!("{flag} {p}"), "must start with '/'")),
            None => Ok(file.cloned().unwrap_or(default)),
        };
    let paths = vocab::Paths::for_channel(&scenario.channel);
    let events_path = path(
        "--events-path",
        &flags.events_path,
        file.and_then(|f| f.events_path.as_ref()),
        paths.events,
    )?;
    let messages_path = path(
        "--messages-path",
        &flags.messages_path,
        file.and_then(|f| f.messages_path.as_ref()),
        paths.messages,
    )?;
    let mut answers = file.map_or_else(AnswerTarget::default, |f| f.answers.clone());
    if let Some(p) = &flags.answers_path {
        if !scenario.has_answers() {
            return Err(error(
                format!("--answers-path {p}"),
                "nothing asks an answer: the scenario has neither stream_kind = \"answer\" nor \
                 answers.rate_per_client",
            ));
        }
        if !p.starts_with('/') {
            return Err(error(format!("--answers-path {p}"), "must start with '/'"));
        }
        answers.path = Some(p.clone());
    }
    let trust = match (&flags.cacert, flags.insecure) {
        (Some(p), _) => TrustSpec::CaFile(p.clone()),
        (None, true) => TrustSpec::Insecure,
        (None, false) => file.map_or(TrustSpec::None, |f| f.trust.clone()),
    };
    Ok(Some(TargetSpec {
        urls,
        url_from,
        events_path,
        messages_path,
        trust,
        send_stamp: file.map_or_else(SendStamp::default, |f| f.send_stamp.clone()),
        reach: if flags.allow_remote {
            loadgen::Reach::Anywhere
        } else {
            loadgen::Reach::Loopback
        },
        answers,
    }))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse(Path::new("x.toml"), text)
    }

    /// The file's `[target]` and the command line resolve into one target, by the same rules.
    #[test]
    fn targets_resolve_from_the_file_and_the_flags() {
        let flags = |targets: &[&str]| TargetFlags {
            targets: targets.iter().map(|t| (*t).to_owned()).collect(),
            ..TargetFlags::default()
        };
        let scenario = |table: &str| {
            parse(&format!(
                "name = \"t\"\nprotocols = [\"h1\", \"h2\"]\nduration = \"1s\"\n{table}"
            ))
            .unwrap()
        };
        // No table, no flags: the embedded server.
        assert_eq!(resolve(&scenario(""), &flags(&[])), Ok(None));
        // The file gives paths only; the command line completes it with the URLs.
        let s = scenario("[target]\nevents_path = \"/sse\"\ncacert = \"ca.pem\"\n");
        let e = resolve(&s, &flags(&[])).unwrap_err();
        assert_eq!(e.from, "protocol h1");
        assert!(e.reason.contains("--target h1=URL"), "{e}");
        let t = resolve(
            &s,
            &flags(&["http://127.0.0.1:1", "h2=https://127.0.0.1:2"]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            t.urls,
            [
                (Protocol::H1, "http://127.0.0.1:1".to_owned()),
                (Protocol::H2, "https://127.0.0.1:2".to_owned())
            ]
        );
        assert_eq!(t.url_from(Protocol::H2), "--target h2=https://127.0.0.1:2");
        assert_eq!(t.events_path, "/sse");
        assert_eq!(t.messages_path, "/messages?channel=bench");
        assert_eq!(t.trust, TrustSpec::CaFile("ca.pem".into()));
        // A file URL of the wrong scheme leaves the arm without one.
        let s = scenario("[target]\nurl = \"http://127.0.0.1:1\"\n");
        let e = resolve(&s, &flags(&[])).unwrap_err();
        assert_eq!(e.from, "protocol h2");
        assert!(e.reason.contains("needs an https:// URL"), "{e}");
        // A flag overrides the file; a flag's path is checked like the file's.
        let s = scenario("[target]\nh1 = \"http://127.0.0.1:1\"\nh2 = \"https://127.0.0.1:2\"\n");
        let t = resolve(&s, &flags(&["h1=http://127.0.0.1:9"]))
            .unwrap()
            .unwrap();
        assert_eq!(t.urls[0].1, "http://127.0.0.1:9");
        assert!(
            t.url_from(Protocol::H2).starts_with("x.toml:6: target.h2"),
            "{t:?}"
        );
        let bad_path = TargetFlags {
            events_path: Some("events".into()),
            ..flags(&["h1=http://127.0.0.1:9"])
        };
        let e = resolve(&s, &bad_path).unwrap_err();
        assert_eq!(e.to_string(), "--events-path events: must start with '/'");
        // Trust or paths without any target is a mistake, not a silent no-op.
        let alone = TargetFlags {
            insecure: true,
            ..TargetFlags::default()
        };
        assert!(resolve(&scenario(""), &alone).is_err());
        let e = resolve(&scenario(""), &flags(&["h4=https://127.0.0.1:1"])).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--target h4=https://127.0.0.1:1: bad protocol"),
            "{e}"
        );
    }
}
