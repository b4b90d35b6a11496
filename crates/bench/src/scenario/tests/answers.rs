//! Streamed answers in a scenario: `stream_kind`, `[answers]`, the server's pacing keys and the
//! answers' faults; each parses, each bad value is named, and keys that would change nothing or
//! contradict the rest are refused.

use std::time::Duration;

use sse_server::{AnswerStall, Pace};
use vocab::{AnswerFraming, StreamKind};

use super::{error, parse, GOOD};

/// Every answer key, one per line (the line numbers matter).
const EVERY_ANSWER_KEY: &str = r#"name = "answers"
protocols = ["h1", "h2"]
streams_per_client = [1, 8]
stream_kind = "answer"
duration = "2s"

[answers]
rate_per_client = 0.5
think_time = "2s"
framing = "openai"
max_tokens = 50
prompt_size = 100
stall_threshold = "500ms"

[server]
time_to_first_token = "300ms"
time_to_first_token_p99 = "2s"
token_gap = "20ms"
seed = 42

[faults]
answer_stall_after = 10
answer_stall_for = "1s"
answer_reset_after = 30
slow_first_token = "200ms"
"#;

#[test]
fn every_answer_key_parses() {
    let s = parse(EVERY_ANSWER_KEY).unwrap();
    assert_eq!(s.stream_kind, StreamKind::Answer);
    assert!(s.has_answers());
    let a = &s.answers;
    assert_eq!(a.rate_per_client, 0.5);
    assert_eq!(a.think_time, Duration::from_secs(2));
    assert_eq!(a.request.framing, AnswerFraming::OpenAi);
    assert_eq!((a.request.max_tokens, a.request.prompt_bytes), (50, 100));
    assert_eq!(a.request.path, "/v1/chat/completions");
    assert_eq!(a.stall_threshold, Duration::from_millis(500));
    let server = &s.server.answers;
    assert_eq!(
        server.time_to_first_token,
        Pace::LogNormal {
            median: Duration::from_millis(300),
            p99: Duration::from_secs(2)
        }
    );
    assert_eq!(server.token_gap, Pace::Fixed(Duration::from_millis(20)));
    assert_eq!(server.seed, 42);
    let f = &s.faults;
    assert_eq!(
        f.answer_stall,
        Some(AnswerStall {
            after_tokens: 10,
            length: Duration::from_secs(1)
        })
    );
    assert_eq!(f.answer_reset_after, Some(30));
    assert_eq!(f.slow_first_token, Some(Duration::from_millis(200)));
    let w = s.workload(&s.points()[0]);
    assert_eq!(
        (w.stream_kind, w.answers.rate_per_client),
        (StreamKind::Answer, 0.5)
    );
    assert!(w.has_answers());
    assert_eq!(w.event_sources_per_client(), 0);
}

#[test]
fn no_answers_is_todays_scenario() {
    let s = parse(GOOD).unwrap();
    assert_eq!(s.stream_kind, StreamKind::EventSource);
    assert!(!s.has_answers());
    assert_eq!(s.answers, loadgen::defaults::answer_plan());
    assert_eq!(s.server.answers, sse_server::AnswerDefaults::default());
    assert!(!s.workload(&s.points()[0]).has_answers());
}

/// (table, key, bad value, what the message says), each on its own line of the file.
const BAD_VALUES: &[(&str, &str, &str, &str)] = &[
    (
        "",
        "stream_kind",
        "\"tab\"",
        "\"eventsource\" or \"answer\"",
    ),
    ("", "stream_kind", "1", "invalid type"),
    ("answers", "rate_per_client", "-1.0", "from 0 to 1000"),
    ("answers", "rate_per_client", "\"1\"", "invalid type"),
    ("answers", "think_time", "\"2h\"", "from 0s to 1h"),
    (
        "answers",
        "framing",
        "\"claude\"",
        "expected \"openai\", \"anthropic\"",
    ),
    ("answers", "max_tokens", "0", "from 1 to 100000"),
    ("answers", "prompt_size", "40000", "from 0 to 32768"),
    ("answers", "stall_threshold", "\"0s\"", "from 1ms to 1h"),
    ("server", "time_to_first_token", "\"2h\"", "from 0s to 1h"),
    (
        "server",
        "time_to_first_token_p99",
        "\"100ms\"",
        "at least its median",
    ),
    ("server", "token_gap", "20", "invalid type"),
    ("server", "seed", "-1", "from 0 to"),
    ("faults", "answer_stall_after", "-1", "from 0 to 100000"),
    ("faults", "answer_stall_for", "\"0s\"", "from 1ms to 1h"),
    ("faults", "answer_reset_after", "100001", "from 0 to 100000"),
    ("faults", "slow_first_token", "\"2m\"", "from 1us to 1m"),
];

#[test]
fn every_answer_key_rejects_bad_values_naming_its_line() {
    for &(table, key, value, needle) in BAD_VALUES {
        let header = if table.is_empty() {
            String::new()
        } else {
            format!("[{table}]")
        };
        let start = EVERY_ANSWER_KEY.find(&header).unwrap_or(0);
        let at = start
            + EVERY_ANSWER_KEY[start..]
                .find(&format!("\n{key} = "))
                .unwrap()
            + 1;
        let end = at + EVERY_ANSWER_KEY[at..].find('\n').unwrap();
        let text = format!(
            "{}{key} = {value}{}",
            &EVERY_ANSWER_KEY[..at],
            &EVERY_ANSWER_KEY[end..]
        );
        let line = EVERY_ANSWER_KEY[..at].lines().count() + 1;
        let msg = error(&text);
        let dotted = if table.is_empty() {
            key.to_owned()
        } else {
            format!("{table}.{key}")
        };
        assert!(
            msg.starts_with(&format!("x.toml:{line}: ")),
            "{dotted}: {msg}"
        );
        assert!(
            msg.contains(&dotted) && msg.contains(needle),
            "{dotted}: {msg}"
        );
    }
}

#[test]
fn answer_keys_that_change_nothing_or_contradict() {
    let cases: &[(&str, &str, &str, &str)] = &[
        // (replace, with, key, reason)
        (
            "stream_kind = \"answer\"\n",
            "",
            "answers.think_time",
            "set stream_kind",
        ),
        (
            "answer_stall_for = \"1s\"\n",
            "",
            "faults.answer_stall_after",
            "needs answer_stall_for",
        ),
        (
            "answer_stall_after = 10\n",
            "",
            "faults.answer_stall_for",
            "needs answer_stall_after",
        ),
    ];
    for (from, to, key, reason) in cases {
        assert!(EVERY_ANSWER_KEY.contains(from), "{from:?}");
        let msg = error(&EVERY_ANSWER_KEY.replacen(from, to, 1));
        assert!(
            msg.contains(key) && msg.contains(reason),
            "{from:?} -> {to:?}: {msg}"
        );
    }
    // The WebSocket arms' chat messages need a socket, and tabs open none.
    let text = EVERY_ANSWER_KEY
        .replacen("[\"h1\", \"h2\"]", "[\"h1\", \"ws\"]", 1)
        .replacen(
            "[answers]",
            "[posts]\nrate_per_client = 1.0\n\n[answers]",
            1,
        );
    let msg = error(&text);
    assert!(
        msg.contains("stream_kind") && msg.contains("answer tabs open none"),
        "{msg}"
    );
    // [answers] with nothing asking: no tabs and no rate.
    let msg = error(&format!("{GOOD}\n[answers]\nmax_tokens = 5\n"));
    assert!(msg.contains("nothing asks an answer"), "{msg}");
}

#[test]
fn open_loop_answers_may_run_without_streams() {
    let text = "name = \"t\"\nprotocols = [\"h2\"]\nstreams_per_client = 0\nduration = \"1s\"\n";
    let msg = error(text);
    assert!(
        msg.contains("from 1 to 10000"),
        "without answers as before: {msg}"
    );
    let s = parse(&format!("{text}[answers]\nrate_per_client = 2.0\n")).unwrap();
    assert_eq!(s.streams_per_client, [0]);
    let w = s.workload(&s.points()[0]);
    assert_eq!(w.answers.per_client(Duration::from_secs(1)), 2);
}

/// Anthropic's framing asks on its own path; a target's answer keys move the path, name the
/// model, give the body and the token's place, and are checked like every key.
#[test]
fn a_framing_and_a_targets_answer_keys() {
    let anthropic = EVERY_ANSWER_KEY.replacen("\"openai\"", "\"anthropic\"", 1);
    let s = parse(&anthropic).unwrap();
    assert_eq!(s.answers.request.framing, AnswerFraming::Anthropic);
    assert_eq!(s.answers.request.path, "/v1/messages");
    let with_target = r#"name = "t"
protocols = ["h1"]
stream_kind = "answer"
duration = "1s"
[answers]
framing = "anthropic"
[target]
url = "http://127.0.0.1:1"
answers_path = "/api/chat"
answers_model = "llama"
answers_body = '{"m": ${model}, "p": ${prompt}, "n": ${max_tokens}}'
answers_token = "/message/content"
"#;
    let s = parse(with_target).unwrap();
    let t = crate::scenario::resolve_target(&s, &crate::scenario::TargetFlags::default())
        .unwrap()
        .unwrap();
    let mut request = s.answers.request.clone();
    t.answers.apply(&mut request);
    assert_eq!(request.path, "/api/chat");
    assert_eq!(request.model, "llama");
    assert_eq!(request.token_pointer.as_deref(), Some("/message/content"));
    assert!(request
        .body_template
        .as_deref()
        .is_some_and(|b| b.contains("${prompt}")));
    assert_eq!(
        request.framing,
        AnswerFraming::Anthropic,
        "the framing stays [answers]'s"
    );
    // --answers-path overrides the file, and is checked like it.
    let flags = crate::scenario::TargetFlags {
        answers_path: Some("/v2".into()),
        ..crate::scenario::TargetFlags::default()
    };
    let t = crate::scenario::resolve_target(&s, &flags)
        .unwrap()
        .unwrap();
    assert_eq!(t.answers.path.as_deref(), Some("/v2"));
    let flags = crate::scenario::TargetFlags {
        answers_path: Some("v2".into()),
        ..crate::scenario::TargetFlags::default()
    };
    let e = crate::scenario::resolve_target(&s, &flags).unwrap_err();
    assert_eq!(e.to_string(), "--answers-path v2: must start with '/'");
    // Each bad value, on its line.
    for (from, to, needle) in [
        (
            "answers_path = \"/api/chat\"",
            "answers_path = \"api\"",
            "start with '/'",
        ),
        (
            "answers_model = \"llama\"",
            "answers_model = \"\"",
            "must not be empty",
        ),
        ("${model}", "\"${model}\"", "without quotes"),
        (
            "\"/message/content\"",
            "\"message.content\"",
            "JSON pointer",
        ),
    ] {
        assert!(with_target.contains(from), "{from}");
        let msg = error(&with_target.replacen(from, to, 1));
        let key = to.split(" =").next().unwrap_or(to);
        assert!(
            msg.contains("target.answers_") && msg.contains(needle),
            "{key}: {msg}"
        );
    }
    // Without anything asking an answer, the keys would change nothing.
    let msg = error(&format!(
        "{GOOD}\n[target]\nurl = \"http://127.0.0.1:1\"\nanswers_model = \"m\"\n"
    ));
    assert!(
        msg.contains("target.answers_model") && msg.contains("nothing asks an answer"),
        "{msg}"
    );
    let flags = crate::scenario::TargetFlags {
        targets: vec!["https://127.0.0.1:1".into()],
        answers_path: Some("/v1".into()),
        ..crate::scenario::TargetFlags::default()
    };
    let e = crate::scenario::resolve_target(&parse(GOOD).unwrap(), &flags).unwrap_err();
    assert!(e.to_string().contains("nothing asks an answer"), "{e}");
}
