//! Tokens that arrive in bursts: the mark of a server or proxy that buffers the stream (nginx's
//! `proxy_buffering`, a gzip filter, a CDN that waits for full buffers). The rule, stated once
//! (`docs/measurement.md`, "Buffered streams"), is judged when an answer ends (completed, failed
//! or cut by the end of the point), against the answer's own pace, its time per output token
//! `T` = (last token - first token) / (tokens - 1):
//!
//! - a token arrived *with* the one before it when the gap between them is at most `T / 2` (a
//!   stream delivered token by token has gaps of about `T`; a burst's tokens come one read, or a
//!   few reads back to back, apart);
//! - a *group* is a token and the tokens that arrived with it, one after another;
//! - a group is a *burst* when it has more than [`BURST_TOKENS`] tokens and the quiet gap before
//!   it (since the previous token, or since the request was sent for the first group: behind a
//!   buffering proxy the response head comes with the first burst) is longer than
//!   [`BURST_GAP_FACTOR`] x `T`. When every token came at once, `T` is 0 and any gap exceeds it;
//! - `tokens_in_bursts` counts the tokens of bursts; a point whose tokens came in bursts for more
//!   than [`BUFFERED_SHARE`] of them looks buffered ([`looks_buffered`]: the summary names it).
//!
//! A reader that runs late (the harness's own lag) can find several tokens waiting, so a burst
//! count beside a `client_lag` warning may be the harness's. Each answer keeps its gaps (4 bytes
//! a token) until it ends.

use std::time::Instant;

/// A group of more tokens than this can be a burst.
pub(crate) const BURST_TOKENS: usize = 4;
/// A burst follows a quiet gap longer than this many times the answer's time per output token.
pub(crate) const BURST_GAP_FACTOR: u64 = 4;

/// The share of a point's tokens that came in bursts above which the stream looks buffered.
pub const BUFFERED_SHARE: f64 = 0.25;

/// Whether a point whose answers got `tokens` tokens, `in_bursts` of them in bursts, looks
/// buffered: more than [`BUFFERED_SHARE`] of its tokens came in bursts.
pub fn looks_buffered(tokens: u64, in_bursts: u64) -> bool {
    tokens > 0 && in_bursts as f64 > BUFFERED_SHARE * tokens as f64
}

/// One answer's token arrivals, for [`Bursts::tokens_in_bursts`].
#[derive(Debug)]
pub(crate) struct Bursts {
    /// When the request was sent: the first token's gap starts there.
    start: Instant,
    first: Option<Instant>,
    last: Option<Instant>,
    /// The gap before each token, microseconds (saturated).
    gaps: Vec<u32>,
}

impl Bursts {
    /// An answer whose request was sent at `start`.
    pub fn new(start: Instant) -> Bursts {
        Bursts {
            start,
            first: None,
            last: None,
            gaps: Vec::new(),
        }
    }

    /// A token parsed at `at`.
    pub fn token(&mut self, at: Instant) {
        let gap = at.saturating_duration_since(self.last.unwrap_or(self.start));
        self.gaps
            .push(u32::try_from(gap.as_micros()).unwrap_or(u32::MAX));
        self.first.get_or_insert(at);
        self.last = Some(at);
    }

    /// The tokens that came in bursts, by the rule above, over the tokens parsed so far.
    pub fn tokens_in_bursts(&self) -> u64 {
        let (Some(first), Some(last)) = (self.first, self.last) else {
            return 0;
        };
        let n = self.gaps.len();
        if n <= BURST_TOKENS {
            return 0;
        }
        let span = last.saturating_duration_since(first);
        let per_token =
            u64::try_from((span / (n as u32 - 1).max(1)).as_micros()).unwrap_or(u64::MAX);
        let with_previous = |gap: u32| 2 * u64::from(gap) <= per_token;
        let mut in_bursts = 0;
        let mut i = 0;
        while i < n {
            let mut j = i + 1;
            while j < n && with_previous(self.gaps[j]) {
                j += 1;
            }
            let quiet = u64::from(self.gaps[i]) > BURST_GAP_FACTOR * per_token;
            if j - i > BURST_TOKENS && quiet {
                in_bursts += (j - i) as u64;
            }
            i = j;
        }
        in_bursts
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Tokens at the given offsets (ms) after a request sent at 0.
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
        // A thousand tokens a second, after a long time to first token: still one by one.
        let quick: Vec<f64> = (0..200).map(|i| 2000.0 + f64::from(i)).collect();
        assert_eq!(bursts(&quick), 0);
    }

    #[test]
    fn a_buffered_stream_is_all_bursts() {
        // 100 tokens at 50/s, delivered 20 at a time when a buffer fills (every 400 ms), each
        // burst's tokens up to 3 ms apart (a slow reader decrypting them one by one).
        let buffered: Vec<f64> = (0..100)
            .map(|i| 200.0 + 400.0 * f64::from(i / 20 + 1) + 0.15 * f64::from(i % 20))
            .collect();
        assert_eq!(bursts(&buffered), 100);
        // The whole answer at once, at its end: one burst (its time per token is 0).
        assert_eq!(bursts(&[2000.0; 30]), 30);
    }

    #[test]
    fn a_pause_then_a_burst_counts_only_past_four_times_the_pace() {
        // Twenty tokens 20 ms apart, then five at once after a pause as long as three tokens:
        // not a burst; after a pause many tokens long it is.
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
    fn a_point_looks_buffered_past_a_quarter_of_its_tokens() {
        assert!(!looks_buffered(0, 0));
        assert!(!looks_buffered(100, 25));
        assert!(looks_buffered(100, 26));
    }
}
