//! Streamed answers in a real page (`answers.js`): what the page is told ([`AnswerConfig`], the
//! emulation's schedules for the client: its tabs and its open-loop instants), what it reports
//! ([`PageAnswer`]) and how the pages' answers add up into the same metrics as the emulation's
//! ([`AnswersOutcome`]), where the page can measure them.
//!
//! The page cannot see when an answer got its slot, so there is no `answer_queue_wait`; an answer
//! whose response head has not come at the end is counted queued (the embedded server sends its
//! head at once), one with its head and no end streaming. The burst rule needs the request's send
//! instant, which the page does not see either: no `tokens_in_bursts`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sse_wire::answer::{anthropic, openai, template};
use vocab::{AnswerFraming, ErrorClass, StreamKind, Workload};

/// The script, a function expression taking [`AnswerConfig`].
pub const ANSWERS_JS: &str = include_str!("answers.js");

/// What one page asks.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerConfig {
    pub path: String,
    /// The question's JSON body.
    pub body: String,
    /// `openai` or `anthropic`.
    pub framing: &'static str,
    /// Where a token's text is, when not where the framing puts it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// Answer tabs.
    pub tabs: u32,
    /// When the tabs ask first.
    pub first_ms: f64,
    pub think_ms: f64,
    /// The least a tab waits after an answer that failed.
    pub retry_ms: f64,
    /// The open-loop answers' instants.
    pub scheduled_ms: Vec<f64>,
    /// Nothing is asked from here on (warm-up plus duration).
    pub end_ms: f64,
}

/// The body the point's questions POST: the request's template filled, else the framing's own
/// (as the emulation writes it).
pub fn question(request: &vocab::AnswerRequest) -> String {
    let (model, tokens, bytes) = (&request.model, request.max_tokens, request.prompt_bytes);
    let mut body = String::new();
    match (&request.body_template, request.framing) {
        (Some(t), _) => body = template::fill(t, model, tokens, bytes),
        (None, AnswerFraming::OpenAi) => openai::write_request(model, tokens, bytes, &mut body),
        (None, AnswerFraming::Anthropic) => {
            anthropic::write_request(model, tokens, bytes, &mut body);
        }
    }
    body
}

impl AnswerConfig {
    /// What client `index` of `workload` asks, if it asks any answer.
    pub fn for_client(workload: &Workload, index: u32) -> Option<AnswerConfig> {
        if !workload.has_answers() {
            return None;
        }
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let plan = &workload.answers;
        let phase = vocab::PostPlan::phase(index, workload.clients);
        let tabs = match workload.stream_kind {
            StreamKind::Answer => workload.streams_per_client,
            StreamKind::EventSource => 0,
        };
        Some(AnswerConfig {
            path: plan.request.path.clone(),
            body: question(&plan.request),
            framing: plan.request.framing.as_str(),
            pointer: plan.request.token_pointer.clone(),
            tabs,
            first_ms: ms(plan.think_time.mul_f64(phase)),
            think_ms: ms(plan.think_time),
            retry_ms: ms(vocab::ANSWER_RETRY_PAUSE),
            scheduled_ms: (0..plan.per_client(workload.duration))
                .map(|k| ms(workload.warmup + plan.due(k, phase)))
                .collect(),
            end_ms: ms(workload.warmup + workload.duration),
        })
    }

    /// The expression that starts the answers in a page (evaluated just before the harness's).
    pub fn expression(&self) -> String {
        let config = serde_json::to_string(self).expect("an answer config serializes");
        format!("({})({config})", ANSWERS_JS.trim_end())
    }
}

/// The expression that waits for the harness's end-of-point snapshot and adds the answers'
/// (frozen in the same task, right after it).
pub const SNAPSHOT: &str = "window.__ssebench.done.then((s) => Object.assign(s, { answers: \
     window.__ssebenchAnswers ? window.__ssebenchAnswers.snapshot() : [] }))";

/// One answer as the page saw it (times in ms since the page's start).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageAnswer {
    /// The scheduled instant.
    pub at: f64,
    /// The response head.
    pub head: Option<f64>,
    pub first_token: Option<f64>,
    pub last_token: Option<f64>,
    /// The end marker.
    pub done: Option<f64>,
    pub tokens: u64,
    /// Between consecutive tokens.
    pub gaps: Vec<f64>,
    /// An error class name (`status`, `parse`, `reset`), or `network` when fetch or the reader
    /// rejected (the browser's network events count those).
    pub failed: Option<String>,
}

/// The pages' answers, summed over clients: the emulation's answer metrics the page can measure.
#[derive(Debug, Clone, Default)]
pub struct AnswersOutcome {
    pub scheduled: u64,
    pub completed: u64,
    /// Failed answers by class (a network failure counts as `reset`).
    pub failed: Vec<(ErrorClass, u64)>,
    /// Of those, the ones the browser's network events report (fetch or the reader rejected).
    pub failed_in_network: u64,
    /// No response head at the end.
    pub queued_at_end: u64,
    /// A response head and neither an end nor a failure at the end.
    pub streaming_at_end: u64,
    pub tokens: u64,
    /// Gaps over the stall threshold.
    pub stalls: u64,
    /// Scheduled instant -> first token; censored (at the end) for those without one.
    pub time_to_first_token: Vec<Duration>,
    pub time_to_first_token_censored: u64,
    pub inter_token_gap: Vec<Duration>,
    /// Per completed answer of two tokens or more.
    pub time_per_output_token: Vec<Duration>,
    /// Scheduled instant -> end marker; censored (at the end) for those still queued or
    /// streaming.
    pub answer_time: Vec<Duration>,
    pub answer_time_censored: u64,
}

impl AnswersOutcome {
    /// Adds one page's answers, frozen at `ended_at`; gaps over `stall` are stalls.
    pub fn add_page(&mut self, answers: &[PageAnswer], ended_at: f64, stall: Duration) {
        let ms = |t: f64| Duration::from_secs_f64(t.max(0.0) / 1000.0);
        for a in answers {
            self.scheduled += 1;
            self.tokens += a.tokens;
            for &gap in &a.gaps {
                self.inter_token_gap.push(ms(gap));
                self.stalls += u64::from(ms(gap) > stall);
            }
            match a.first_token {
                Some(first) => self.time_to_first_token.push(ms(first - a.at)),
                None if a.failed.is_none() && a.done.is_none() => {
                    self.time_to_first_token.push(ms(ended_at - a.at));
                    self.time_to_first_token_censored += 1;
                }
                None => {}
            }
            match (&a.failed, a.done, a.head) {
                (Some(why), _, _) => {
                    let class = ErrorClass::ALL
                        .into_iter()
                        .find(|c| c.name() == why)
                        .unwrap_or(ErrorClass::Reset);
                    self.failed_in_network += u64::from(why == "network");
                    match self.failed.iter_mut().find(|(c, _)| *c == class) {
                        Some((_, n)) => *n += 1,
                        None => self.failed.push((class, 1)),
                    }
                }
                (None, Some(done), _) => {
                    self.completed += 1;
                    self.answer_time.push(ms(done - a.at));
                    if let (Some(first), Some(last)) = (a.first_token, a.last_token) {
                        if a.tokens >= 2 {
                            self.time_per_output_token
                                .push(ms((last - first) / (a.tokens - 1) as f64));
                        }
                    }
                }
                (None, None, head) => {
                    self.answer_time.push(ms(ended_at - a.at));
                    self.answer_time_censored += 1;
                    match head {
                        Some(_) => self.streaming_at_end += 1,
                        None => self.queued_at_end += 1,
                    }
                }
            }
        }
    }

    /// Answers failed in `class`.
    pub fn failed(&self, class: ErrorClass) -> u64 {
        self.failed
            .iter()
            .find(|(c, _)| *c == class)
            .map_or(0, |&(_, n)| n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload() -> Workload {
        let mut w = Workload {
            clients: 2,
            streams_per_client: 3,
            stream_kind: StreamKind::Answer,
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(2),
            posts: vocab::PostPlan {
                rate_per_client: 0.0,
                body_bytes: 64,
            },
            answers: vocab::AnswerPlan {
                rate_per_client: 1.0,
                think_time: Duration::from_millis(500),
                request: vocab::AnswerRequest {
                    framing: AnswerFraming::Anthropic,
                    path: "/v1/messages".into(),
                    max_tokens: 7,
                    prompt_bytes: 40,
                    model: "m".into(),
                    body_template: None,
                    token_pointer: None,
                },
                stall_threshold: Duration::from_secs(1),
            },
            paths: vocab::Paths::for_channel("x"),
            reconnect_delay: Duration::from_secs(3),
        };
        w.answers.request.max_tokens = 7;
        w
    }

    #[test]
    fn each_client_asks_on_the_emulations_schedule() {
        let w = workload();
        let c = AnswerConfig::for_client(&w, 1).unwrap();
        assert_eq!(
            (c.tabs, c.framing, c.path.as_str()),
            (3, "anthropic", "/v1/messages")
        );
        // Client 1 of 2: its tabs half a think time in, its open-loop answers at 1 s + (k + 0.5) s.
        assert_eq!((c.first_ms, c.think_ms, c.retry_ms), (250.0, 500.0, 1000.0));
        assert_eq!(c.scheduled_ms, vec![1500.0, 2500.0]);
        assert_eq!(c.end_ms, 3000.0);
        let body: serde_json::Value = serde_json::from_str(&c.body).unwrap();
        assert_eq!(
            (body["max_tokens"].as_u64(), body["stream"].as_bool()),
            (Some(7), Some(true))
        );
        let e = c.expression();
        assert!(e.starts_with("(// ") && e.contains("\"tabs\":3"), "{e:.60}");
        let none = Workload {
            stream_kind: StreamKind::EventSource,
            answers: vocab::AnswerPlan {
                rate_per_client: 0.0,
                ..w.answers.clone()
            },
            ..w
        };
        assert!(AnswerConfig::for_client(&none, 0).is_none());
    }

    #[test]
    fn the_pages_answers_add_up_as_the_emulations() {
        let answer =
            |at, head, first, last, done, tokens, gaps: &[f64], failed: Option<&str>| PageAnswer {
                at,
                head,
                first_token: first,
                last_token: last,
                done,
                tokens,
                gaps: gaps.to_vec(),
                failed: failed.map(str::to_owned),
            };
        let pages = [
            // Completed: 3 tokens 20 ms apart, then 1.5 s of silence counted as a stall.
            answer(
                0.0,
                Some(5.0),
                Some(200.0),
                Some(1740.0),
                Some(1750.0),
                4,
                &[20.0, 20.0, 1500.0],
                None,
            ),
            // Streaming at the end, one token.
            answer(
                100.0,
                Some(110.0),
                Some(300.0),
                Some(300.0),
                None,
                1,
                &[],
                None,
            ),
            // Queued at the end.
            answer(200.0, None, None, None, None, 0, &[], None),
            // Failed: an error event, and a network failure.
            answer(300.0, Some(310.0), None, None, None, 0, &[], Some("status")),
            answer(400.0, None, None, None, None, 0, &[], Some("network")),
        ];
        let mut o = AnswersOutcome::default();
        o.add_page(&pages, 2000.0, Duration::from_secs(1));
        assert_eq!((o.scheduled, o.completed, o.tokens, o.stalls), (5, 1, 5, 1));
        assert_eq!((o.queued_at_end, o.streaming_at_end), (1, 1));
        assert_eq!(
            (o.failed(ErrorClass::Status), o.failed(ErrorClass::Reset)),
            (1, 1)
        );
        assert_eq!(o.failed_in_network, 1);
        let ms = |v: &[Duration]| v.iter().map(|d| d.as_millis()).collect::<Vec<_>>();
        assert_eq!(ms(&o.time_to_first_token), [200, 200, 1800]);
        assert_eq!(o.time_to_first_token_censored, 1);
        assert_eq!(ms(&o.answer_time), [1750, 1900, 1800]);
        assert_eq!(o.answer_time_censored, 2);
        assert_eq!(ms(&o.time_per_output_token), [513]);
        assert_eq!(o.inter_token_gap.len(), 3);
    }
}
