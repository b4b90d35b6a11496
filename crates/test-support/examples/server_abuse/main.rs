//! The attack driver of `scripts/server-abuse.sh`: runs one attack against a `server`
//! process on loopback and prints what it did to the server.
//!
//! ```text
//! cargo run --release -p test-support --example server_abuse -- \
//!     --listening LISTENING_LINES_FILE --cert CERT_PEM --pid SERVER_PID --attack NAME [--rounds N]
//! ```
//!
//! Attacks: those of issue 13 (`attacks.rs`) and of issue 26 (`exhaustion.rs`), listed in
//! `attack.rs`; every count and wait is bounded.
//!
//! Per attack it prints the server's resident memory before the attack, at its peak during it and
//! 30 s after its end (then it waits for the server to let go of the attack: its connections,
//! streams and channels back to where they were, 60 s at most), whether a well-behaved client was
//! locked out, and that client's success rate and latency during the attack and in the 5 s after
//! it (`watch.rs`): chat messages from POST to event on kept-alive HTTP/2 connections every
//! 50 ms, and new clients (connect, `GET /health`, a POST to a new channel) on each listener in
//! turn every 250 ms. With `--rounds N` the attack runs N times against the same server: memory
//! the allocator keeps after the first round but does not grow by in the next ones is a high-water
//! mark, not a leak. Each round ends with a `RESULT ...` line for the script's table.

#![allow(clippy::print_stdout)]

mod attack;
mod attacks;
mod exhaustion;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use sse_server::Stats;
use test_support::abuse::rss_bytes_of;
use test_support::{Latencies, Target};

use attack::Attack;

/// The longest wait for the server to let go of an attack.
const SETTLE_LIMIT: Duration = Duration::from_secs(60);
/// The goals: a well-behaved client's p99 under 100 ms (issue 26; issue 13 asked 50 ms), RSS back
/// within 10% of its baseline (issue 13).
const P99_GOAL: Duration = Duration::from_millis(100);
const RSS_GOAL: f64 = 0.10;
/// How long a well-behaved client is watched after the attack.
const AFTER_WATCH: Duration = Duration::from_secs(5);
/// How long after the attack's end the server's RSS is read again.
const AFTER_RSS: Duration = Duration::from_secs(30);

struct Args {
    listening: PathBuf,
    cert: PathBuf,
    pid: u32,
    attack: Attack,
    rounds: u32,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let (mut listening, mut cert, mut pid, mut attack) = (None, None, None, None);
    let mut rounds = 1;
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--listening" => listening = Some(PathBuf::from(value)),
            "--cert" => cert = Some(PathBuf::from(value)),
            "--pid" => pid = Some(value.parse().map_err(|_| format!("bad --pid {value}"))?),
            "--rounds" => {
                rounds = value
                    .parse()
                    .ok()
                    .filter(|r| (1..=5).contains(r))
                    .ok_or_else(|| format!("bad --rounds {value} (1 to 5)"))?;
            }
            "--attack" => {
                let names: Vec<_> = Attack::ALL.iter().map(|a| a.name()).collect();
                let a = Attack::parse(&value)
                    .ok_or_else(|| format!("unknown attack {value} (one of {names:?})"))?;
                attack = Some(a);
            }
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(Args {
        listening: listening.ok_or("--listening is required")?,
        cert: cert.ok_or("--cert is required")?,
        pid: pid.ok_or("--pid is required")?,
        attack: attack.ok_or("--attack is required")?,
        rounds,
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    let outcome = match runtime {
        Ok(runtime) => runtime.block_on(run(&args)),
        Err(e) => Err(e.to_string()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<(), String> {
    let lines = std::fs::read_to_string(&args.listening).map_err(|e| e.to_string())?;
    let target = Target::from_listening_lines(&lines, &args.cert).map_err(|e| e.to_string())?;
    let attack = args.attack;
    println!("attack: {} ({})", attack.name(), attack.describe());
    let mut first: Option<(u64, u64)> = None;
    for round in 1..=args.rounds {
        if args.rounds > 1 {
            println!(" round {round} of {}", args.rounds);
        }
        let (before, after) = run_round(&target, args, round, first).await?;
        first.get_or_insert((before, after));
    }
    Ok(())
}

/// One round of the attack; returns the server's RSS before and after it. `first` is the first
/// round's: the baseline every round is held to.
async fn run_round(
    target: &Target,
    args: &Args,
    round: u32,
    first: Option<(u64, u64)>,
) -> Result<(u64, u64), String> {
    let target = target.clone();
    let rss = || rss_bytes_of(args.pid).ok_or("cannot read the server's VmRSS");
    let attack = args.attack;
    let watch = watch::Watch::start(&target, args.pid).await?;
    // Let the probe settle, then take the baseline.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let base = watch::stats(&target).await?;
    let before = rss()?;
    let started = Instant::now();
    let result = attack.run(&target).await;
    let attack_time = started.elapsed();
    let seen = watch.stop().await;
    let ended = Instant::now();
    for line in &result {
        println!("  {line}");
    }
    // After: a well-behaved client again, on the server just attacked.
    let seen_after = match watch::Watch::start(&target, args.pid).await {
        Ok(watch) => {
            tokio::time::sleep(AFTER_WATCH).await;
            watch.stop().await
        }
        Err(e) => watch::Seen::failed_to_start(e),
    };
    tokio::time::sleep(AFTER_RSS.saturating_sub(ended.elapsed())).await;
    let after = rss()?;
    let created = seen.channels_created + seen_after.channels_created;
    let settled = settle(&target, &base, created).await;
    let end = watch::stats(&target).await?;
    let peak = seen.rss_peak.max(before);
    // Every round is held to the first round's baseline.
    let baseline = first.map_or(before, |(b, _)| b);
    let grew_after = after as f64 / baseline as f64 - 1.0;
    println!(
        "  server rss: before {}, peak during {}, {} s after {} ({:+.1}% of the baseline {}{})",
        mib(before),
        mib(peak),
        AFTER_RSS.as_secs(),
        mib(after),
        grew_after * 100.0,
        mib(baseline),
        if settled {
            ""
        } else {
            "; the server had not let go within 60 s"
        }
    );
    if let Some((_, first_after)) = first {
        println!(
            "  after this round vs after round 1: {:+.1}%",
            (after as f64 / first_after as f64 - 1.0) * 100.0
        );
    }
    println!("  during the attack ({:.1} s):", attack_time.as_secs_f64());
    report(&seen);
    println!("  after it (the next {} s):", AFTER_WATCH.as_secs());
    report(&seen_after);
    println!(
        "  server counters (change): {}",
        counter_changes(&base, &end)
    );
    let (delivery, newcomer) = (seen.delivery(), seen.newcomer());
    let (delivery_after, newcomer_after) = (seen_after.delivery(), seen_after.newcomer());
    let p99 = [&delivery, &newcomer, &delivery_after, &newcomer_after]
        .iter()
        .map(|l| l.p99())
        .max()
        .unwrap_or_default();
    let goals = [
        !seen.locked_out() && !seen_after.locked_out(),
        p99 < P99_GOAL,
        settled && grew_after <= RSS_GOAL,
    ];
    println!(
        "RESULT attack={} round={round} rss_before_mib={:.1} rss_peak_mib={:.1} \
         rss_after_mib={:.1} rss_after_pct={:+.1} ok_pct={:.1} delivery_p50_ms={:.1} \
         delivery_p99_ms={:.1} newcomer_p50_ms={:.1} newcomer_p99_ms={:.1} after_ok_pct={:.1} \
         after_delivery_p50_ms={:.1} after_delivery_p99_ms={:.1} after_newcomer_p50_ms={:.1} \
         after_newcomer_p99_ms={:.1} locked_out={} goals={}",
        attack.name(),
        mb(baseline),
        mb(peak),
        mb(after),
        grew_after * 100.0,
        seen.success_pct(),
        millis(delivery.p50()),
        millis(delivery.p99()),
        millis(newcomer.p50()),
        millis(newcomer.p99()),
        seen_after.success_pct(),
        millis(delivery_after.p50()),
        millis(delivery_after.p99()),
        millis(newcomer_after.p50()),
        millis(newcomer_after.p99()),
        if seen.locked_out() || seen_after.locked_out() {
            "yes"
        } else {
            "no"
        },
        match goals {
            [true, true, true] => "met".to_owned(),
            [lock, p99, rss] => format!(
                "missed:{}{}{}",
                if lock { "" } else { "lockout," },
                if p99 { "" } else { "p99," },
                if rss { "" } else { "rss," }
            ),
        }
    );
    Ok((before, after))
}

/// What a well-behaved client saw: lockouts and latencies.
fn report(seen: &watch::Seen) {
    let (delivery, newcomer) = (seen.delivery(), seen.newcomer());
    println!(
        "    locked out: {} ({} of {} new clients failed{}; {} of {} messages not delivered; \
         {:.1}% of attempts served)",
        if seen.locked_out() { "YES" } else { "no" },
        seen.newcomer_failed.len(),
        seen.newcomer_failed.len() + newcomer.count(),
        first_failure(&seen.newcomer_failed),
        seen.delivery_failed,
        seen.delivery_failed as usize + delivery.count(),
        seen.success_pct(),
    );
    println!(
        "    message POST -> event (kept-alive h2):        {}",
        ms(&delivery)
    );
    println!(
        "    new client: connect, GET /health, POST new channel: {}",
        ms(&newcomer)
    );
}

/// Waits until the server has let go of the attack: connections, streams and channels back to
/// the baseline (give or take the watchers' own, `created` channels among them), at most
/// [`SETTLE_LIMIT`].
async fn settle(target: &Target, base: &Stats, created: u64) -> bool {
    let started = Instant::now();
    let total = |s: &Stats, f: fn(&sse_server::ListenerStats) -> u64| -> u64 {
        s.listeners.iter().map(f).sum()
    };
    while started.elapsed() < SETTLE_LIMIT {
        if let Ok(now) = watch::stats(target).await {
            let open = total(&now, |l| l.connections_open);
            let streams = total(&now, |l| l.streams_open);
            if open <= total(base, |l| l.connections_open) + 1
                && streams <= total(base, |l| l.streams_open)
                && now.channels <= base.channels + created
            {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    false
}

/// The counters that changed, summed over the listeners.
fn counter_changes(before: &Stats, after: &Stats) -> String {
    let as_map = |s: &Stats| -> Vec<(String, i128)> {
        let mut out: Vec<(String, i128)> = Vec::new();
        for l in &s.listeners {
            let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(l) else {
                continue;
            };
            for (k, v) in fields {
                let Some(v) = v.as_u64() else { continue };
                match out.iter_mut().find(|(name, _)| *name == k) {
                    Some((_, sum)) => *sum += i128::from(v),
                    None => out.push((k, i128::from(v))),
                }
            }
        }
        for (k, v) in [
            ("channels", s.channels),
            ("channels_evicted", s.channels_evicted),
            ("replay_bytes", s.replay_bytes),
        ] {
            out.push((k.to_owned(), i128::from(v)));
        }
        out
    };
    let (b, a) = (as_map(before), as_map(after));
    let mut changes = Vec::new();
    for (name, value) in &a {
        let old = b.iter().find(|(n, _)| n == name).map_or(0, |(_, v)| *v);
        let ignored = ["requests", "connections_carrying_requests", "events_sent"];
        if *value != old && !ignored.contains(&name.as_str()) {
            changes.push(format!("{name} {:+}", value - old));
        }
    }
    changes.join(", ")
}

fn first_failure(failures: &[(sse_server::Protocol, String)]) -> String {
    failures
        .first()
        .map_or(String::new(), |(p, e)| format!(", first: {p}: {e}"))
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", mb(bytes))
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn ms(l: &Latencies) -> String {
    format!(
        "n={} p50={:.1} ms p99={:.1} ms max={:.1} ms",
        l.count(),
        millis(l.p50()),
        millis(l.p99()),
        millis(l.max())
    )
}
