//! The run's identity, written on every report row: run id, UTC start, git revision, version, host.

use std::process::Command;
use std::time::SystemTime;

use report::{RunMeta, UtcTimestamp};

/// The metadata of a run of `scenario` started at `started`; `shard` is `I/N` for one shard of a
/// sharded run, empty otherwise.
pub fn run_meta(scenario: &str, started: SystemTime, shard: &str) -> RunMeta {
    let started_utc = UtcTimestamp::from_system_time(started);
    let compact: String = started_utc
        .as_str()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let shard_suffix = shard.replace('/', "of");
    RunMeta {
        run_id: if shard.is_empty() {
            format!("{scenario}-{compact}")
        } else {
            format!("{scenario}-{compact}-shard{shard_suffix}")
        },
        started_utc,
        git_rev: git_rev(),
        bench_version: env!("CARGO_PKG_VERSION").to_owned(),
        host: gethostname::gethostname().to_string_lossy().into_owned(),
        shard: shard.to_owned(),
    }
}

/// `git describe` of the working directory's checkout, `+dirty` when it has local changes.
fn git_rev() -> String {
    let out = Command::new("git")
        .args(["describe", "--always", "--dirty=+dirty", "--abbrev=12"])
        .stderr(std::process::Stdio::null())
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        _ => "unknown".to_owned(),
    }
}
