//! `[target]`'s keys for streamed answers from a server we did not write: where it takes
//! questions (`answers_path`, or `--answers-path`), the model they name (`answers_model`), the
//! body it wants (`answers_body`, a template: `sse_wire::answer::template`) and where its events
//! carry the token text (`answers_token`, a JSON pointer). The framing itself is
//! `[answers]`'s `framing`, as against the embedded server. A key here with nothing asking an
//! answer would change nothing, so it is an error.

use sse_wire::answer::template;
use toml::Spanned;
use vocab::AnswerRequest;

use super::checks::Ctx;
use super::raw::RawTarget;
use super::ScenarioError;

/// What a target says about its answers; each `None` keeps the scenario's (the framing's own).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnswerTarget {
    /// Path and query the questions are POSTed to.
    pub path: Option<String>,
    pub model: Option<String>,
    /// The question's JSON body, a template.
    pub body_template: Option<String>,
    /// Where each event's token text is (RFC 6901).
    pub token_pointer: Option<String>,
}

impl AnswerTarget {
    /// Whether any key was given.
    pub fn any(&self) -> bool {
        self.path.is_some()
            || self.model.is_some()
            || self.body_template.is_some()
            || self.token_pointer.is_some()
    }

    /// `request` as this target wants it asked and read.
    pub fn apply(&self, request: &mut AnswerRequest) {
        if let Some(path) = &self.path {
            request.path.clone_from(path);
        }
        if let Some(model) = &self.model {
            request.model.clone_from(model);
        }
        if self.body_template.is_some() {
            request.body_template.clone_from(&self.body_template);
        }
        if self.token_pointer.is_some() {
            request.token_pointer.clone_from(&self.token_pointer);
        }
    }
}

/// Stage two of `[target]`'s answer keys; `asks_answers` says whether the scenario asks any.
pub(super) fn from_file(
    cx: &Ctx<'_>,
    t: &RawTarget,
    asks_answers: bool,
) -> Result<AnswerTarget, ScenarioError> {
    let keys = [
        ("target.answers_path", &t.answers_path),
        ("target.answers_model", &t.answers_model),
        ("target.answers_body", &t.answers_body),
        ("target.answers_token", &t.answers_token),
    ];
    if !asks_answers {
        if let Some((key, Some(v))) = keys.iter().find(|(_, v)| v.is_some()) {
            return Err(cx.invalid(
                key,
                v,
                "nothing asks an answer: set stream_kind = \"answer\" or \
                 answers.rate_per_client, or remove this key",
            ));
        }
    }
    let value = |v: &Option<Spanned<String>>| v.as_ref().map(|v| v.get_ref().clone());
    if let Some(p) = &t.answers_path {
        if !p.get_ref().starts_with('/') {
            return Err(cx.invalid("target.answers_path", p, "must start with '/'"));
        }
    }
    if let Some(m) = &t.answers_model {
        if m.get_ref().is_empty() {
            return Err(cx.invalid("target.answers_model", m, "must not be empty"));
        }
    }
    if let Some(b) = &t.answers_body {
        template::check(b.get_ref())
            .map_err(|e| cx.invalid("target.answers_body", b, e.to_string()))?;
    }
    if let Some(p) = &t.answers_token {
        if !p.get_ref().starts_with('/') {
            return Err(cx.invalid(
                "target.answers_token",
                p,
                "must be a JSON pointer into each event's data, such as \
                 \"/choices/0/delta/content\"",
            ));
        }
    }
    Ok(AnswerTarget {
        path: value(&t.answers_path),
        model: value(&t.answers_model),
        body_template: value(&t.answers_body),
        token_pointer: value(&t.answers_token),
    })
}
