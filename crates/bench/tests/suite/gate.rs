//! The CI gate end to end: the `bench compare` binary's exit status on a regression (its library's
//! verdict alone does not make CI fail), and `scripts/ci-regression.sh` confirming a flagged
//! regression with a fresh set of runs before it fails. The script runs with a stand-in for
//! `bench` that answers each run with a given report and hands `compare` to the real binary.

// Helpers outside #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{bench, temp_dir};
use report::{Row, Value};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The committed baseline's first run: a real ci-smoke report.
fn baseline_rows() -> Vec<Row> {
    let path = repository().join("results/baseline/ci-smoke-1.csv");
    report::read_report(&path).expect("the committed baseline reads")
}

/// The baseline with one more stream opened in its first point: a behaviour change.
fn regressed_rows() -> Vec<Row> {
    let mut rows = baseline_rows();
    let row = rows
        .iter_mut()
        .find(|row| row.key.metric == "streams_opened")
        .expect("a streams_opened row");
    let Value::Counter(n) = row.value else {
        panic!("a counter")
    };
    row.value = Value::Counter(n + 1);
    rows
}

fn write_report(dir: &Path, name: &str, rows: &[Row]) -> PathBuf {
    let path = dir.join(name);
    report::write_report(&path, rows).expect("the report is written");
    path
}

#[test]
fn compare_exits_1_on_a_regression_and_0_without() {
    let dir = temp_dir("gate-compare");
    let base = write_report(&dir, "base.csv", &baseline_rows());
    let same = write_report(&dir, "same.csv", &baseline_rows());
    let worse = write_report(&dir, "worse.csv", &regressed_rows());
    for format in ["text", "json"] {
        let status = |new: &Path| {
            let out = bench()
                .args(["compare", "--format", format])
                .arg(&base)
                .arg(new)
                .output()
                .expect("bench runs");
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        };
        let (code, stdout) = status(&same);
        assert_eq!(code, Some(0), "{format}: {stdout}");
        let (code, stdout) = status(&worse);
        assert_eq!(code, Some(1), "{format}: a regression exits 1: {stdout}");
        assert!(stdout.contains("CHANGED"), "{format}: {stdout}");
    }
}

/// A stand-in for `bench`: `compare` is the real binary; a run copies the next report named in
/// `$PLAN` (one path per line) into its `--out` directory and counts itself in `$RUNS`.
const FAKE_BENCH: &str = r#"#!/bin/sh
if [ "$1" = compare ]; then exec "$REAL_BENCH" "$@"; fi
n=$(( $(cat "$RUNS" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$RUNS"
while [ $# -gt 0 ]; do
  if [ "$1" = --out ]; then out=$2; fi
  shift
done
mkdir -p "$out"
cp "$(sed -n "${n}p" "$PLAN")" "$out/ci-smoke-run$n.csv"
"#;

struct Gate {
    code: Option<i32>,
    runs: usize,
    stderr: String,
}

/// Runs scripts/ci-regression.sh against a baseline of 3 copies of the committed run, with the
/// stand-in answering the runs with `plan`'s reports in turn.
fn gate(name: &str, plan: &[&Path], env: &[(&str, &str)]) -> Gate {
    let dir = temp_dir(&format!("gate-{name}"));
    let baseline = dir.join("baseline");
    std::fs::create_dir_all(&baseline).unwrap();
    for i in 1..=3 {
        write_report(&baseline, &format!("ci-smoke-{i}.csv"), &baseline_rows());
    }
    let fake = dir.join("bench");
    std::fs::write(&fake, FAKE_BENCH).unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let plan_file = dir.join("plan");
    let lines: Vec<String> = plan.iter().map(|p| p.display().to_string()).collect();
    std::fs::write(&plan_file, lines.join("\n") + "\n").unwrap();
    let runs_file = dir.join("runs");
    let out = Command::new("bash")
        .arg(repository().join("scripts/ci-regression.sh"))
        .env("SSEBENCH_CI_BENCH", &fake)
        .env("SSEBENCH_CI_BASELINE", &baseline)
        .env("SSEBENCH_CI_RT", "0")
        .env("REAL_BENCH", env!("CARGO_BIN_EXE_bench"))
        .env("PLAN", &plan_file)
        .env("RUNS", &runs_file)
        .env_remove("SSEBENCH_CI_CONFIRM")
        .env_remove("SSEBENCH_CI_SET")
        .env_remove("SSEBENCH_CI_RUNS")
        .envs(env.iter().copied())
        .output()
        .expect("the script runs");
    let runs = std::fs::read_to_string(&runs_file)
        .map(|n| n.trim().parse().unwrap())
        .unwrap_or(0);
    Gate {
        code: out.status.code(),
        runs,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn the_gate_fails_only_on_a_regression_its_fresh_runs_confirm() {
    let dir = temp_dir("gate-reports");
    let good = write_report(&dir, "good.csv", &baseline_rows());
    let bad = write_report(&dir, "bad.csv", &regressed_rows());
    let (good, bad) = (good.as_path(), bad.as_path());
    let confirmed = gate("confirmed", &[bad; 6], &[]);
    assert_eq!(confirmed.code, Some(1), "{}", confirmed.stderr);
    assert_eq!(
        confirmed.runs, 6,
        "3 runs, then 3 fresh ones: {}",
        confirmed.stderr
    );
    assert!(
        confirmed.stderr.contains("confirming with 3 fresh runs")
            && confirmed.stderr.contains("regression confirmed"),
        "{}",
        confirmed.stderr
    );

    let passed = gate("unconfirmed", &[bad, bad, bad, good, good, good], &[]);
    assert_eq!(passed.code, Some(0), "{}", passed.stderr);
    assert_eq!(passed.runs, 6);
    assert!(passed.stderr.contains("not confirmed"), "{}", passed.stderr);

    let clean = gate("clean", &[good; 3], &[]);
    assert_eq!(clean.code, Some(0), "{}", clean.stderr);
    assert_eq!(clean.runs, 3, "nothing flagged, nothing to confirm");

    let once = gate("once", &[bad; 3], &[("SSEBENCH_CI_CONFIRM", "0")]);
    assert_eq!(once.code, Some(1), "{}", once.stderr);
    assert_eq!(once.runs, 3, "SSEBENCH_CI_CONFIRM=0 judges once");
}
