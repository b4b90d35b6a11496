//! Tokens that arrive in bursts: the mark of a server or proxy that buffers the stream (nginx's
//! `proxy_buffering`, a gzip filter, a CDN that waits for full buffers). The rule, stated once
//! (`docs/measurement.md`, "Buffered streams"):
//!
//! - tokens of one answer parsed within [`BURST_WINDOW`] of the first token of their group arrived
//!   together (one read, or reads back to back: HTTP/1.1 chunks of one read are separate frames);
//! - a group is a *burst* when it carries more than [`BURST_TOKENS`] tokens and the quiet gap
//!   before it (since the answer's previous token, or its response head for the first group) is
//!   longer than [`BURST_GAP_FACTOR`] times the answer's time per output token, (last token -
//!   first token) / (tokens - 1): 0 when every token came at once, which any gap exceeds;
//! - `tokens_in_bursts` counts the tokens of bursts, answer by answer, when the answer ends
//!   (completed, failed or cut by the end of the point).
//!
//! A stream that is not buffered delivers its tokens one by one, a token gap apart, and has none;
//! a reader that runs late (the harness's own lag) can find several tokens waiting, so a burst
//! count beside a `client_lag` warning may be the harness's.

use std::time::{Duration, Instant};

/// Tokens parsed this close to the first token of their group arrived together.
pub(crate) const BURST_WINDOW: Duration = Duration::from_millis(1);
/// A group of more tokens than this can be a burst.
pub(crate) const BURST_TOKENS: u32 = 4;
/// A burst follows a quiet gap longer than this many times the answer's time per output token.
pub(crate) const BURST_GAP_FACTOR: u32 = 4;

/// One answer's groups of tokens, for [`Bursts::tokens_in_bursts`].
#[derive(Debug)]
pub(crate) struct Bursts {
    /// The response head's arrival: the first group's gap starts there.
    start: Instant,
    /// The group being filled.
    group: Option<Group>,
    /// Closed groups of more than [`BURST_TOKENS`] tokens: (tokens, quiet gap before).
    large: Vec<(u32, Duration)>,
    first: Option<Instant>,
    last: Option<Instant>,
    tokens: u64,
}

#[derive(Debug, Clone, Copy)]
struct Group {
    first: Instant,
    tokens: u32,
    gap: Duration,
}

impl Bursts {
    /// An answer whose response head arrived at `start`.
    pub fn new(start: Instant) -> Bursts {
        Bursts {
            start,
            group: None,
            large: Vec::new(),
            first: None,
            last: None,
            tokens: 0,
        }
    }

    /// A token parsed at `at`.
    pub fn token(&mut self, at: Instant) {
        match &mut self.group {
            Some(g) if at.saturating_duration_since(g.first) <= BURST_WINDOW => g.tokens += 1,
            _ => {
                self.close();
                let gap = at.saturating_duration_since(self.last.unwrap_or(self.start));
                self.group = Some(Group {
                    first: at,
                    tokens: 1,
                    gap,
                });
            }
        }
        self.first.get_or_insert(at);
        self.last = Some(at);
        self.tokens += 1;
    }

    fn close(&mut self) {
        if let Some(g) = self.group.take().filter(|g| g.tokens > BURST_TOKENS) {
            self.large.push((g.tokens, g.gap));
        }
    }

    /// The tokens that came in bursts, by the rule above, over the tokens parsed so far.
    pub fn tokens_in_bursts(&mut self) -> u64 {
        self.close();
        let (Some(first), Some(last)) = (self.first, self.last) else {
            return 0;
        };
        let intervals = u32::try_from(self.tokens.saturating_sub(1).max(1)).unwrap_or(u32::MAX);
        let per_token = last.saturating_duration_since(first) / intervals;
        let quiet = per_token * BURST_GAP_FACTOR;
        self.large
            .iter()
            .filter(|&&(_, gap)| gap > quiet)
            .map(|&(tokens, _)| u64::from(tokens))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Tokens at the given offsets (ms) after a response head at 0.
    fn bursts(at_ms: &[f64]) -> u64 {
        let start = Instant::now();
        let mut b = Bursts::new(start);
        for &t in at_ms {
            b.token(start + Duration::from_secs_f64(t / 1e3));
        }
        b.tokens_in_bursts()
    }

    #[test]
    fn a_stream_token_by_token_has_no_burst() {
        let paced: Vec<f64> = (0..100).map(|i| 200.0 + 20.0 * f64::from(i)).collect();
        assert_eq!(bursts(&paced), 0);
        // Two or four tokens at once now and then (a late read): not more than four.
        let mut late = paced.clone();
        late[10] = late[9];
        let at = late[50];
        late[50..54].copy_from_slice(&[at; 4]);
        assert_eq!(bursts(&late), 0);
    }

    #[test]
    fn a_buffered_stream_is_all_bursts() {
        // 100 tokens at 50/s, delivered 20 at a time when a buffer fills (every 400 ms).
        let buffered: Vec<f64> = (0..100)
            .map(|i| 200.0 + 400.0 * f64::from(i / 20 + 1) + 0.01 * f64::from(i % 20))
            .collect();
        assert_eq!(bursts(&buffered), 100);
        // The whole answer at once, at its end: one burst (its time per token is 0).
        assert_eq!(bursts(&[2000.0; 30]), 30);
        // Five tokens at once after a pause as long as four tokens: not a burst; after a longer
        // one it is.
        let mut stalled: Vec<f64> = (0..20).map(|i| 20.0 * f64::from(i)).collect();
        stalled.extend([440.0; 5]);
        let per_token = 440.0 / 24.0;
        assert!(440.0 - 380.0 < 4.0 * per_token, "the pause is short");
        assert_eq!(bursts(&stalled), 0);
        stalled.truncate(20);
        stalled.extend([2000.0; 5]);
        assert_eq!(bursts(&stalled), 5);
    }

    #[test]
    fn a_group_is_what_comes_within_the_window_of_its_first_token() {
        // A token every 0.6 ms: each group spans 1 ms from its first token, so no group holds
        // more than two, however long the run.
        let quick: Vec<f64> = (0..50).map(|i| 0.6 * f64::from(i)).collect();
        assert_eq!(bursts(&quick), 0);
        assert_eq!(ms(1), BURST_WINDOW);
    }
}
