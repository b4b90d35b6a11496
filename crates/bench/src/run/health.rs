//! The run watching itself, as wrk2 and Gatling users expect: per point, how much CPU the load
//! generator's threads and the embedded server's threads used (from `/proc/self/task/*/schedstat`,
//! nanoseconds on CPU, or `stat`'s 10 ms ticks where the kernel keeps no schedstat; each
//! runtime's threads known by their names), next to each runtime's scheduler lag (the
//! `client_lag` and `server_lag` probes). A point where the load generator was the bottleneck
//! gets a warning in the summary naming the figure; its latencies include the harness's own delay.

use std::time::{Duration, Instant};

use vocab::{Latency, Metric};

use super::measurement::Measurement;

/// Thread name prefix of the load generator's runtime (`commands::run` names them).
pub const CLIENT_THREADS: &str = "bench-client";
/// Thread name prefix of the embedded server's runtime (`sse_server::DedicatedServer`).
pub const SERVER_THREADS: &str = "sse-server";

/// Scheduler lag p99 over which a runtime counts as saturated: a few milliseconds, on a run whose
/// timers ask for one-millisecond precision.
pub const LAG_LIMIT: Duration = Duration::from_millis(5);
/// Share of its threads' capacity over which a runtime counts as saturated.
pub const CPU_LIMIT: f64 = 0.9;

/// CPU time used so far by the process's threads of each runtime.
#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    client_ns: u64,
    server_ns: u64,
    at: Instant,
}

impl CpuSample {
    /// Reads `/proc/self/task/*/{comm,schedstat}` (or `stat`) now; 0 where it cannot be read.
    pub fn now() -> CpuSample {
        let (mut client, mut server) = (0u64, 0u64);
        let ns_per_tick = 1_000_000_000 / rustix::param::clock_ticks_per_second().max(1);
        if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
            for task in tasks.flatten() {
                let path = task.path();
                let Ok(name) = std::fs::read_to_string(path.join("comm")) else {
                    continue;
                };
                let on_cpu_ns = std::fs::read_to_string(path.join("schedstat"))
                    .ok()
                    .and_then(|schedstat| cpu_ns(&schedstat))
                    .or_else(|| {
                        let stat = std::fs::read_to_string(path.join("stat")).ok()?;
                        Some(cpu_ticks(&stat)? * ns_per_tick)
                    });
                let Some(ns) = on_cpu_ns else {
                    continue;
                };
                if name.starts_with(CLIENT_THREADS) {
                    client += ns;
                } else if name.starts_with(SERVER_THREADS) {
                    server += ns;
                }
            }
        }
        CpuSample {
            client_ns: client,
            server_ns: server,
            at: Instant::now(),
        }
    }

    /// CPU used since `start` by the client's and the server's threads, ms (rounded), and the
    /// wall time. Threads that ended meanwhile (an embedded server shut down) are no longer
    /// counted: take the second sample before the server stops.
    pub fn since(self, start: CpuSample) -> (u64, u64, Duration) {
        let ms = |ns: u64| (ns + 500_000) / 1_000_000;
        (
            ms(self.client_ns.saturating_sub(start.client_ns)),
            ms(self.server_ns.saturating_sub(start.server_ns)),
            self.at.duration_since(start.at),
        )
    }
}

/// The time on CPU of a `/proc/.../schedstat` line (its first field, nanoseconds).
fn cpu_ns(schedstat: &str) -> Option<u64> {
    schedstat.split_whitespace().next()?.parse().ok()
}

/// utime + stime (fields 14 and 15) of a `/proc/.../stat` line; the command name (field 2) may
/// hold spaces and parentheses, so fields are counted after its closing parenthesis.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After the name: state is field 3, so utime (14) is the 12th from here.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// One runtime's saturation figures for a point, if any figure crossed its limit.
fn saturation(m: &Measurement, lag: Latency, cpu: Metric, threads: Metric) -> Option<String> {
    let mut why = Vec::new();
    if let Some(l) = m.latency(lag).filter(|l| l.count > 0) {
        let p99 = Duration::from_micros(l.p99.unwrap_or(0));
        if p99 > LAG_LIMIT {
            why.push(format!(
                "its timers ran {:.1} ms late (p99, over {} ms)",
                p99.as_secs_f64() * 1e3,
                LAG_LIMIT.as_millis()
            ));
        }
    }
    if let (Some(cpu_ms), Some(threads)) = (m.counter(cpu), m.counter(threads)) {
        let capacity_ms = m.elapsed.as_secs_f64() * 1e3 * threads.max(1) as f64;
        let used = cpu_ms as f64 / capacity_ms.max(1.0);
        if used >= CPU_LIMIT {
            why.push(format!(
                "it used {:.0}% of its {threads} thread(s)",
                used * 100.0
            ));
        }
    }
    (!why.is_empty()).then(|| why.join(" and "))
}

/// Whether the load generator was the bottleneck of the point (the first of [`warnings`]).
pub fn client_saturated(m: &Measurement) -> bool {
    saturation(
        m,
        Latency::ClientLag,
        Metric::ClientCpuMs,
        Metric::ClientThreads,
    )
    .is_some()
}

/// Warnings for the summary: a point where the load generator was the bottleneck, and a point
/// where the embedded server was saturated (which is then what the numbers measure).
pub fn warnings(m: &Measurement) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(why) = saturation(
        m,
        Latency::ClientLag,
        Metric::ClientCpuMs,
        Metric::ClientThreads,
    ) {
        out.push(format!(
            "warning: {}: the load generator was the bottleneck: {why}; the latencies of this point include its own delay",
            m.id
        ));
    }
    if let Some(why) = saturation(
        m,
        Latency::ServerLag,
        Metric::ServerCpuMs,
        Metric::ServerThreads,
    ) {
        out.push(format!(
            "note: {}: the embedded server was saturated: {why}",
            m.id
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_a_name_with_spaces() {
        let stat = "1234 (tokio (worker) 1) S 1 2 3 4 5 6 7 8 9 10 250 30 0 0 20 0 1 0";
        assert_eq!(cpu_ticks(stat), Some(280));
        assert_eq!(cpu_ticks("garbage"), None);
    }

    #[test]
    fn schedstat_gives_nanoseconds_on_cpu() {
        assert_eq!(cpu_ns("151134725 248266165 75\n"), Some(151_134_725));
        assert_eq!(cpu_ns(""), None);
    }

    #[test]
    fn this_process_threads_are_read() {
        std::thread::Builder::new()
            .name(format!("{CLIENT_THREADS}-t"))
            .spawn(|| {
                // Spin until this thread's CPU shows in the sample (bounded: a busy machine may
                // give it little of the wall time, but never none for 10 s).
                let start = CpuSample::now();
                let deadline = Instant::now() + Duration::from_secs(10);
                let mut x = 0u64;
                let (client_ms, server_ms, wall) = loop {
                    for _ in 0..1_000_000 {
                        x = x.wrapping_mul(31).wrapping_add(7);
                    }
                    let seen = CpuSample::now().since(start);
                    if seen.0 >= 50 || Instant::now() > deadline {
                        break seen;
                    }
                };
                std::hint::black_box(x);
                assert!(
                    client_ms >= 50,
                    "{client_ms} ms of CPU in {wall:?} of spinning"
                );
                assert_eq!(server_ms, 0);
            })
            .expect("a thread")
            .join()
            .expect("the check passes");
    }
}
