//! Reading one answer's body: bytes into `sse-wire`'s parser, each event into its framing's
//! [`Piece`] (the token found where the framing puts it, or where the target's JSON pointer
//! says), each token timed at the arrival of the read that carried it. What a reader cannot
//! accept ends the answer with an error of its class: a chunk that is not the framing's JSON
//! (`errors_parse`), an error reported inside the stream (`errors_status`), a line or an event over
//! the parser's limits (`errors_parse`), a body that ends before the end marker (`errors_reset`).
//! After the end marker the rest of the body is not read for tokens.

use std::time::{Duration, Instant};

use sse_wire::answer::{anthropic, openai, Piece};
use sse_wire::stamp::SendStamp;
use sse_wire::{Item, Parser};
use vocab::AnswerFraming;

use crate::error::LoadError;

/// When a read arrived, on the monotonic clock (waits measured here) and on the wall clock (the
/// server's send stamps).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arrival {
    pub at: Instant,
    pub unix_ns: u64,
}

impl Arrival {
    pub fn now() -> Arrival {
        Arrival {
            at: Instant::now(),
            unix_ns: sse_wire::stamp::now_unix_ns(),
        }
    }
}

/// One token, as it was parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub at: Instant,
    /// Since the answer's previous token; `None` for its first.
    pub gap: Option<Duration>,
    /// The server's send stamp to the token's arrival (same host clock), when its chunk has one.
    pub delivery: Option<Duration>,
}

/// One answer being read.
#[derive(Debug)]
pub(crate) struct AnswerReader<'a> {
    parser: Parser,
    framing: AnswerFraming,
    /// Where a token's text is, when not where the framing puts it.
    pointer: Option<&'a str>,
    tokens: u64,
    first: Option<Instant>,
    last: Option<Instant>,
    /// When the end marker was parsed.
    ended: Option<Instant>,
}

impl<'a> AnswerReader<'a> {
    pub fn new(
        framing: AnswerFraming,
        pointer: Option<&'a str>,
        limits: sse_wire::Limits,
    ) -> AnswerReader<'a> {
        AnswerReader {
            parser: Parser::with_limits(limits),
            framing,
            pointer,
            tokens: 0,
            first: None,
            last: None,
            ended: None,
        }
    }

    /// Parses one read of the body that arrived at `arrival`; each token goes to `on_token`.
    pub fn feed(
        &mut self,
        bytes: &[u8],
        arrival: Arrival,
        stamp: &SendStamp,
        mut on_token: impl FnMut(Token),
    ) -> Result<(), LoadError> {
        if self.ended.is_some() {
            return Ok(());
        }
        let mut failed: Option<LoadError> = None;
        let (framing, pointer) = (self.framing, self.pointer);
        let (tokens, first, last, ended) = (
            &mut self.tokens,
            &mut self.first,
            &mut self.last,
            &mut self.ended,
        );
        let fed = self.parser.feed(bytes, |item| {
            let Item::Event(event) = item else { return };
            if ended.is_some() || failed.is_some() {
                return;
            }
            let (kind, data) = (event.event_type, event.data);
            let piece = match (framing, pointer) {
                (AnswerFraming::OpenAi, None) => openai::read(data),
                (AnswerFraming::OpenAi, Some(p)) => openai::read_at(data, p),
                (AnswerFraming::Anthropic, None) => anthropic::read(kind, data),
                (AnswerFraming::Anthropic, Some(p)) => anthropic::read_at(kind, data, p),
            };
            match piece {
                Ok(Piece::Token) => {
                    *tokens += 1;
                    let gap = last.map(|l| arrival.at.saturating_duration_since(l));
                    *last = Some(arrival.at);
                    first.get_or_insert(arrival.at);
                    let delivery = stamp
                        .find_ns(event.data)
                        .map(|sent| Duration::from_nanos(arrival.unix_ns.saturating_sub(sent)));
                    on_token(Token {
                        at: arrival.at,
                        gap,
                        delivery,
                    });
                }
                Ok(Piece::Empty) => {}
                Ok(Piece::End) => *ended = Some(arrival.at),
                Ok(Piece::Error(message)) => failed = Some(LoadError::AnswerError { message }),
                Err(e) => failed = Some(LoadError::AnswerChunk(e)),
            }
        });
        match (fed, failed) {
            (Err(e), _) => Err(LoadError::Parse(e)),
            (Ok(()), Some(e)) => Err(e),
            (Ok(()), None) => Ok(()),
        }
    }

    /// When the end marker was parsed, once it was.
    pub fn ended(&self) -> Option<Instant> {
        self.ended
    }

    /// Tokens parsed so far.
    #[cfg(test)]
    pub fn tokens(&self) -> u64 {
        self.tokens
    }

    /// (last token - first token) / (tokens - 1), for an answer of two tokens or more.
    pub fn time_per_output_token(&self) -> Option<Duration> {
        let (first, last) = (self.first?, self.last?);
        let intervals = u32::try_from(self.tokens.checked_sub(1)?).ok()?;
        (intervals > 0).then(|| last.saturating_duration_since(first) / intervals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A role chunk, three tokens, the stop chunk and `[DONE]`, as ssebench's server writes them.
    fn answer() -> Vec<u8> {
        use openai::Delta;
        let mut out = String::new();
        for (i, delta) in [
            Delta::Role,
            Delta::Content("one "),
            Delta::Content("two "),
            Delta::Content("three"),
            Delta::Stop,
        ]
        .into_iter()
        .enumerate()
        {
            out.push_str("data: ");
            openai::write_chunk(1, "m", 0, 1_000 + i as u64, delta, &mut out);
            out.push_str("\n\n");
        }
        out.push_str("data: [DONE]\n\n");
        out.into_bytes()
    }

    /// The same answer in Anthropic's typed events: start, three tokens, stop, `message_stop`.
    fn anthropic_answer() -> Vec<u8> {
        use anthropic::Step;
        let mut out = String::new();
        for (i, step) in [
            Step::Start,
            Step::Text("one "),
            Step::Text("two "),
            Step::Text("three"),
            Step::Stop { output_tokens: 3 },
            Step::End,
        ]
        .into_iter()
        .enumerate()
        {
            anthropic::write_step(1, "m", 1_000 + i as u64, step, &mut out);
        }
        out.into_bytes()
    }

    /// Feeds `parts` one read each, a millisecond apart; the tokens, or the error.
    fn read(parts: &[&[u8]]) -> (AnswerReader<'static>, Result<Vec<Token>, LoadError>) {
        read_as(AnswerFraming::OpenAi, None, parts)
    }

    /// [`read`], in `framing`, with the token at `pointer` if given.
    fn read_as(
        framing: AnswerFraming,
        pointer: Option<&'static str>,
        parts: &[&[u8]],
    ) -> (AnswerReader<'static>, Result<Vec<Token>, LoadError>) {
        let mut r = AnswerReader::new(framing, pointer, sse_wire::Limits::default());
        let mut tokens = Vec::new();
        let start = Instant::now();
        for (i, part) in parts.iter().enumerate() {
            let arrival = Arrival {
                at: start + Duration::from_millis(i as u64),
                unix_ns: 1_000_000,
            };
            if let Err(e) = r.feed(part, arrival, &SendStamp::default(), |t| tokens.push(t)) {
                return (r, Err(e));
            }
        }
        (r, Ok(tokens))
    }

    #[test]
    fn split_anywhere_the_answer_reads_the_same() {
        let bytes = answer();
        for cut in 0..=bytes.len() {
            let (r, tokens) = read(&[&bytes[..cut], &bytes[cut..]]);
            let tokens = tokens.unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
            assert_eq!(tokens.len(), 3, "cut at {cut}");
            assert!(r.ended().is_some(), "cut at {cut}: [DONE] seen");
            assert_eq!(tokens[0].gap, None);
            assert!(tokens[1..].iter().all(|t| t.gap.is_some()));
        }
        // One byte per read: each token at its own arrival.
        let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
        let (r, tokens) = read(&bytewise);
        let tokens = tokens.unwrap();
        assert_eq!(r.tokens(), 3);
        assert!(tokens[1].gap.unwrap() > Duration::ZERO);
        let tpot = r.time_per_output_token().unwrap();
        assert_eq!(tpot, (tokens[2].at - tokens[0].at) / 2);
        assert!(tokens[0].delivery.is_some(), "the send stamp is read");
    }

    /// Anthropic's typed events, split anywhere and read with the framing's own token place or
    /// a JSON pointer: three tokens, ended at `message_stop`; without it, not ended.
    #[test]
    fn anthropic_split_anywhere_reads_the_same() {
        let bytes = anthropic_answer();
        for pointer in [None, Some("/delta/text")] {
            for cut in 0..=bytes.len() {
                let parts = [&bytes[..cut], &bytes[cut..]];
                let (r, tokens) = read_as(AnswerFraming::Anthropic, pointer, &parts);
                let tokens = tokens.unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
                assert_eq!(tokens.len(), 3, "{pointer:?} cut at {cut}");
                assert!(r.ended().is_some(), "cut at {cut}: message_stop seen");
                assert!(tokens[0].delivery.is_some(), "the send stamp is read");
            }
        }
        let stop = b"event: message_stop\ndata: {\"type\":\"message_stop\",\"sent_ns\":1005}\n\n";
        let cut = bytes.len() - stop.len();
        assert_eq!(&bytes[cut..], stop);
        let (r, tokens) = read_as(AnswerFraming::Anthropic, None, &[&bytes[..cut]]);
        assert_eq!(tokens.unwrap().len(), 3);
        assert_eq!(r.ended(), None, "no message_stop, no end");
        let error = b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
        let (_, result) = read_as(AnswerFraming::Anthropic, None, &[&bytes[..cut], error]);
        let err = result.expect_err("an error event");
        assert_eq!(err.class(), vocab::ErrorClass::Status, "{err}");
        // OpenAI's [DONE] means nothing in Anthropic's framing: its data is not JSON.
        let (_, result) = read_as(AnswerFraming::Anthropic, None, &[b"data: [DONE]\n\n"]);
        assert_eq!(result.unwrap_err().class(), vocab::ErrorClass::Parse);
    }

    #[test]
    fn one_read_is_one_instant() {
        let (r, tokens) = read(&[&answer()]);
        let tokens = tokens.unwrap();
        assert!(tokens[1..].iter().all(|t| t.gap == Some(Duration::ZERO)));
        assert_eq!(r.time_per_output_token(), Some(Duration::ZERO));
    }

    #[test]
    fn without_done_the_answer_has_not_ended() {
        let bytes = answer();
        let cut = bytes.len() - "data: [DONE]\n\n".len();
        let (r, tokens) = read(&[&bytes[..cut]]);
        assert_eq!(tokens.unwrap().len(), 3);
        assert_eq!(r.ended(), None);
    }

    #[test]
    fn bad_input_is_an_error_of_its_class() {
        let token = br#"data: {"choices":[{"delta":{"content":"a"}}]}"#;
        let cases: [(&[u8], vocab::ErrorClass); 3] = [
            (b"data: {not json\n\n", vocab::ErrorClass::Parse),
            (
                b"data: {\"error\":{\"message\":\"overloaded\",\"code\":500}}\n\n",
                vocab::ErrorClass::Status,
            ),
            (b"event: message\ndata: 42\n\n", vocab::ErrorClass::Parse),
        ];
        for (bad, class) in cases {
            let (r, result) = read(&[token, b"\n\n", bad]);
            let err = result.expect_err("refused");
            assert_eq!(err.class(), class, "{err}");
            assert_eq!(r.tokens(), 1, "the token before it counts");
        }
        let mut r = AnswerReader::new(
            AnswerFraming::OpenAi,
            None,
            sse_wire::Limits {
                max_line_bytes: 64,
                ..sse_wire::Limits::default()
            },
        );
        let long = format!("data: {}\n\n", "x".repeat(100));
        let err = r
            .feed(
                long.as_bytes(),
                Arrival::now(),
                &SendStamp::default(),
                |_| {},
            )
            .expect_err("over the limit");
        assert_eq!(err.class(), vocab::ErrorClass::Parse);
    }

    #[test]
    fn after_done_nothing_counts() {
        let mut bytes = answer();
        bytes.extend_from_slice(b"data: not json at all\n\n");
        bytes.extend_from_slice(br#"data: {"choices":[{"delta":{"content":"late"}}]}"#);
        bytes.extend_from_slice(b"\n\n");
        let (r, tokens) = read(&[&bytes]);
        assert_eq!(tokens.unwrap().len(), 3);
        assert_eq!(r.tokens(), 3);
    }
}
