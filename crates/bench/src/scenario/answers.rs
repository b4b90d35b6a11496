//! Streamed answers: `stream_kind` (what each of `streams_per_client` is) and `[answers]` (what
//! the tabs and the open-loop answers ask, [`vocab::AnswerPlan`]). A key that would change
//! nothing is an error, as everywhere: `[answers]` with nothing asking, a think time without tabs.

use std::time::Duration;

use loadgen::defaults;
use toml::Spanned;
use vocab::{AnswerFraming, AnswerPlan, StreamKind, Word};

use super::checks::Ctx;
use super::raw::{RawAnswers, RawScenario};
use super::ScenarioError;

/// The top-level `stream_kind`: `"eventsource"` (the default) or `"answer"`.
pub(super) fn stream_kind(cx: &Ctx<'_>, raw: &RawScenario) -> Result<StreamKind, ScenarioError> {
    match &raw.stream_kind {
        None => Ok(StreamKind::default()),
        Some(k) => k.get_ref().parse().map_err(|_| {
            let expected = StreamKind::names().join("\" or \"");
            cx.invalid("stream_kind", k, format!("expected \"{expected}\""))
        }),
    }
}

/// `[answers]`, over [`defaults::answer_plan`]; `kind` is the streams' kind.
pub(super) fn answers(
    cx: &Ctx<'_>,
    raw: Option<&Spanned<RawAnswers>>,
    kind: StreamKind,
) -> Result<AnswerPlan, ScenarioError> {
    let mut plan = defaults::answer_plan();
    let Some(table) = raw else {
        return Ok(plan);
    };
    let a = table.get_ref();
    plan.rate_per_client = match &a.rate_per_client {
        None => 0.0,
        Some(r) if r.get_ref().is_finite() && (0.0..=1_000.0).contains(r.get_ref()) => *r.get_ref(),
        Some(r) => {
            return Err(cx.invalid(
                "answers.rate_per_client",
                r,
                "must be a number of answers per second from 0 to 1000",
            ))
        }
    };
    if let Some(t) = &a.think_time {
        if kind != StreamKind::Answer {
            return Err(cx.invalid(
                "answers.think_time",
                t,
                "is how long a tab waits before asking again: set stream_kind = \"answer\"",
            ));
        }
    }
    let hour = Duration::from_secs(3600);
    plan.think_time = cx.duration_in(
        "answers.think_time",
        a.think_time.as_ref(),
        plan.think_time,
        Duration::ZERO..=hour,
    )?;
    if let Some(f) = &a.framing {
        plan.request.framing = f.get_ref().parse().map_err(|_| {
            let expected = AnswerFraming::names().join("\", \"");
            cx.invalid("answers.framing", f, format!("expected \"{expected}\""))
        })?;
        // Each framing's questions go to its own path (a target's `answers_path` may move it).
        plan.request.path = defaults::answer_path(plan.request.framing).to_owned();
    }
    plan.request.max_tokens = cx.int_in(
        "answers.max_tokens",
        a.max_tokens.as_ref(),
        i64::from(plan.request.max_tokens),
        1..=i64::from(sse_server::config::MAX_ANSWER_TOKENS),
    )? as u32;
    plan.request.prompt_bytes = cx.int_in(
        "answers.prompt_size",
        a.prompt_size.as_ref(),
        plan.request.prompt_bytes as i64,
        0..=32_768,
    )? as usize;
    plan.stall_threshold = cx.duration_in(
        "answers.stall_threshold",
        a.stall_threshold.as_ref(),
        plan.stall_threshold,
        Duration::from_millis(1)..=hour,
    )?;
    if kind != StreamKind::Answer && plan.rate_per_client == 0.0 {
        return Err(cx.at(
            table.span().start,
            "answers",
            "[answers]",
            "nothing asks an answer: set answers.rate_per_client, or stream_kind = \"answer\" \
             for tabs",
        ));
    }
    Ok(plan)
}
