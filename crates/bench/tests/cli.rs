//! The `bench` binary end to end: a real (tiny) run against the embedded server, the CSV contract,
//! and exit code 2 with a one-line message for a bad scenario.
//!
//! A binary of its own, outside `tests/suite/`, run alone (`scripts/run-tests.py`, HEAVY): its real
//! runs of the `bench` binary keep a core busy.

// Test helpers outside `#[test]` functions may panic on setup failures.
#![allow(clippy::unwrap_used)]

mod common;

use common::{bench, report_csv, temp_dir, write};

#[test]
fn tiny_run_writes_the_report_contract() {
    let dir = temp_dir("run");
    let scenario = write(
        &dir,
        "tiny.toml",
        r#"
name = "tiny"
protocols = ["h1", "h2c"]
streams_per_client = 7
warmup = "300ms"
duration = "700ms"
[posts]
rate_per_client = 5.0
[server]
event_interval = "50ms"
"#,
    );
    let out = bench()
        .arg(&scenario)
        .args(["--no-plot", "--no-progress", "--out"])
        .arg(dir.join("results"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("report: "), "{stdout}");
    let csv = report_csv(&dir.join("results"));
    let text = std::fs::read_to_string(&csv).unwrap();
    let header = text.lines().next().unwrap();
    assert_eq!(
        header,
        "run_id,started_utc,git_rev,bench_version,host,shard,scenario,client,protocol,network,\
         clients,streams_per_client,metric,kind,unit,value,count,mean,p50,p90,p99,p999,max,histogram"
    );
    let rows = report::read_report(&csv).unwrap();
    let value = |protocol: &str, metric: &str| {
        rows.iter()
            .find(|r| r.key.protocol.as_str() == protocol && r.key.metric == metric)
            .map(|r| r.value)
            .unwrap_or_else(|| panic!("no {protocol} {metric} row"))
    };
    use report::Value::Counter;
    assert_eq!(value("h1", "streams_opened"), Counter(6));
    assert_eq!(value("h1", "streams_queued_at_end"), Counter(1));
    assert_eq!(value("h2c", "streams_opened"), Counter(7));
    assert_eq!(value("h2c", "connections_carrying_requests"), Counter(1));
    assert_eq!(
        value("h2c", "server_connections_carrying_requests"),
        Counter(1)
    );
    assert!(matches!(value("h2c", "fanout"), report::Value::Latency(l) if l.count > 0));

    // The time series: each point's intervals cover it, one interval log per point.
    let series = report::series::read_series(&report::series::series_path(&csv)).unwrap();
    for protocol in [report::Protocol::H1, report::Protocol::H2c] {
        let intervals: Vec<_> = series.iter().filter(|r| r.protocol == protocol).collect();
        assert!(!intervals.is_empty(), "no {protocol} intervals");
        let covered: std::time::Duration = intervals.iter().map(|r| r.interval.length).sum();
        assert!(
            covered >= std::time::Duration::from_millis(950),
            "{protocol}: {covered:?}"
        );
        let events: u64 = intervals.iter().map(|r| r.interval.events).sum();
        assert!(events > 0, "{protocol}");
    }
    let dir_of_series = report::series::series_dir(&csv);
    for point in ["point01.hlog", "point02.hlog"] {
        let log = std::fs::read_to_string(dir_of_series.join(point)).unwrap();
        assert!(log.contains("Tag=event_delivery,"), "{point}: {log}");
    }
}

#[test]
fn shards_merge_into_the_whole_run() {
    let dir = temp_dir("shards");
    let scenario = write(
        &dir,
        "sharded.toml",
        r#"
name = "sharded"
protocols = ["h2c"]
clients = 3
streams_per_client = 2
warmup = "200ms"
duration = "600ms"
[server]
event_interval = "50ms"
"#,
    );
    let mut shards = Vec::new();
    for shard in ["1/2", "2/2"] {
        let out_dir = dir.join(shard.replace('/', "of"));
        let out = bench()
            .arg(&scenario)
            .args(["--no-plot", "--no-progress", "--shard", shard, "--out"])
            .arg(&out_dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        shards.push(report_csv(&out_dir));
    }
    let parts: Vec<Vec<report::Row>> = shards
        .iter()
        .map(|p| report::read_report(p).unwrap())
        .collect();
    let counter = |rows: &[report::Row], metric: &str| {
        rows.iter()
            .find(|r| r.key.metric == metric)
            .map(|r| r.value)
            .unwrap_or_else(|| panic!("no {metric} row"))
    };
    // Clients are dealt round robin: shard 1 holds two of the three, shard 2 one.
    assert_eq!(
        counter(&parts[0], "streams_opened"),
        report::Value::Counter(4)
    );
    assert_eq!(
        counter(&parts[1], "streams_opened"),
        report::Value::Counter(2)
    );

    let merged = dir.join("merged.csv");
    let out = bench()
        .arg("merge")
        .args(&shards)
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = report::read_report(&merged).unwrap();
    assert_eq!(counter(&rows, "streams_opened"), report::Value::Counter(6));
    let count = |rows: &[report::Row], metric: &str| match counter(rows, metric) {
        report::Value::Latency(l) => l.count,
        other => panic!("{metric} is {other:?}"),
    };
    assert_eq!(
        count(&rows, "fanout"),
        count(&parts[0], "fanout") + count(&parts[1], "fanout")
    );
    assert!(rows.iter().all(|r| r.meta.shard == "all/2"));

    // One shard alone is not the run.
    let out = bench()
        .arg("merge")
        .arg(&shards[0])
        .arg("--out")
        .arg(dir.join("half.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("2/2 of 2 missing"));
}

#[test]
fn bad_scenario_exits_2_with_one_line() {
    let dir = temp_dir("bad");
    let scenario = write(
        &dir,
        "bad.toml",
        "name = \"bad\"\nprotocols = [\"h2\"]\nduration = \"1s\"\nclients = 0\n",
    );
    let out = bench().arg(&scenario).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("bad.toml:4: clients = 0"), "{stderr}");
}

#[test]
fn missing_file_and_bad_flags_exit_2() {
    let out = bench().arg("/nonexistent/x.toml").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.toml"));
    let out = bench().args(["--bogus"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `bench browser` without the browser fails (exit 1), naming what to install.
#[test]
fn a_missing_chromium_fails_naming_the_package() {
    let dir = temp_dir("browser-missing");
    let scenario = write(
        &dir,
        "t.toml",
        "name = \"t\"\nprotocols = [\"h1\"]\nduration = \"1s\"\n",
    );
    let out = bench()
        .args([
            "browser",
            "--browser-path",
            "/nonexistent/chromium",
            "--out",
        ])
        .arg(dir.join("results"))
        .arg(&scenario)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("apt-get install chromium"), "{stderr}");
}

/// End to end in real Chromium and Firefox (which must be installed: this fails without them),
/// through the one run loop: one h1 point past the ceiling and one h2 point, written as the
/// browser's rows the reader accepts; the h2c arm is skipped with a reason.
#[test]
fn a_browser_run_writes_chromium_rows() {
    browser_run_writes_rows("chromium", report::ClientKind::Chromium);
}

#[test]
fn a_browser_run_writes_firefox_rows() {
    browser_run_writes_rows("firefox", report::ClientKind::Firefox);
}

fn browser_run_writes_rows(browser: &str, kind: report::ClientKind) {
    let dir = temp_dir(&format!("browser-run-{browser}"));
    let scenario = write(
        &dir,
        "tiny.toml",
        r#"
name = "tiny"
protocols = ["h1", "h2", "h2c"]
streams_per_client = 7
warmup = "500ms"
duration = "1s"
[posts]
rate_per_client = 2.0
[server]
event_interval = "50ms"
"#,
    );
    let out = bench()
        .args([
            "browser",
            "--browser",
            browser,
            "--no-plot",
            "--no-progress",
            "--out",
        ])
        .arg(dir.join("results"))
        .arg(&scenario)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stderr.contains("skipping h2c"), "{stderr}");
    assert!(
        stdout.contains(&format!("tiny in {browser}: 2 of 2 points run")),
        "{stdout}"
    );
    let csv = report_csv(&dir.join("results"));
    let name = csv.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(&format!("tiny-{browser}-")), "{name}");
    let rows = report::read_report(&csv).expect("a readable report");
    let value = |protocol: &str, metric: &str| {
        rows.iter()
            .find(|r| r.key.protocol.as_str() == protocol && r.key.metric == metric)
            .map(|r| r.value)
            .unwrap_or_else(|| panic!("no {protocol} {metric} row"))
    };
    use report::Value;
    assert!(rows.iter().all(|r| r.key.client == kind));
    assert_eq!(value("h1", "streams_opened"), Value::Counter(6));
    assert_eq!(value("h1", "streams_queued_at_end"), Value::Counter(1));
    assert_eq!(value("h1", "posts_completed"), Value::Counter(0));
    assert_eq!(value("h2", "streams_opened"), Value::Counter(7));
    assert_eq!(value("h2", "posts_completed"), Value::Counter(2));
    assert_eq!(
        value("h2", "connections_carrying_requests"),
        Value::Counter(1)
    );
}

/// `bench browser` with a `[network]` table (as root): Chromium runs in the emulated network's
/// client namespace and the server in its server namespace, so the browser's point crosses the
/// 40 ms round trip. The rows carry the condition, the packets the network carried and the
/// measured round trip, and the time to first event shows at least one round trip (over loopback
/// it is tens of milliseconds less).
#[test]
fn a_browser_run_crosses_the_emulated_network() {
    let dir = temp_dir("browser-run-network");
    let scenario = write(
        &dir,
        "net.toml",
        r#"
name = "net"
protocols = ["h2"]
streams_per_client = 3
warmup = "500ms"
duration = "1s"
[posts]
rate_per_client = 2.0
[server]
event_interval = "50ms"
[network]
rtt = "40ms"
"#,
    );
    let out = bench()
        .args(["browser", "--no-plot", "--no-progress", "--out"])
        .arg(dir.join("results"))
        .arg(&scenario)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(!stderr.contains("not applied"), "{stderr}");
    let rows = report::read_report(&report_csv(&dir.join("results"))).expect("a readable report");
    let value = |metric: &str| {
        rows.iter()
            .find(|r| r.key.metric == metric)
            .map(|r| r.value)
            .unwrap_or_else(|| panic!("no {metric} row"))
    };
    use report::Value;
    assert!(rows.iter().all(|r| r.key.network == "rtt=40ms loss=0%"));
    assert_eq!(value("streams_opened"), Value::Counter(3));
    assert_eq!(value("posts_completed"), Value::Counter(2));
    let Value::Counter(packets) = value("network_packets_up") else {
        panic!("network_packets_up is a counter");
    };
    assert!(packets > 10, "{packets} packets up");
    let p50 = |metric: &str| match value(metric) {
        Value::Latency(l) => l.p50.unwrap_or_else(|| panic!("{metric} has no p50")),
        Value::Counter(_) => panic!("{metric} is a latency"),
    };
    assert!(p50("network_rtt") >= 40_000, "{}", p50("network_rtt"));
    assert!(
        p50("time_to_first_event") >= 40_000,
        "{}",
        p50("time_to_first_event")
    );
}

/// The shipped scenarios are in the binary: listed, printed, and run by name.
#[test]
fn shipped_scenarios_are_listed_printed_and_run_by_name() {
    let out = bench().arg("scenarios").output().unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(list.contains("six-connection-ceiling"), "{list}");
    let out = bench().args(["scenarios", "tabs"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("name = \"tabs\""));
    let out = bench().args(["scenarios", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));

    let dir = temp_dir("by-name");
    let out = bench()
        .args([
            "tabs",
            "--no-plot",
            "--no-progress",
            "--set",
            "protocols=[\"h2c\"]",
        ])
        .args([
            "--set",
            "streams_per_client=2",
            "--set",
            "duration=\"300ms\"",
        ])
        .args(["--set", "warmup=\"0s\"", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let csv = report_csv(&dir);
    let name = csv.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("tabs-"), "{name}");

    let out = bench().arg("no-such-scenario").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bench scenarios"), "{stderr}");
}

/// A reader that stops early (`bench ... | head`) is not an error: with stdout closed before
/// anything is printed, a run still writes its report and exits 0, and `scenarios` exits 0, both
/// without a panic.
#[test]
fn a_closed_stdout_is_not_a_panic() {
    let dir = temp_dir("closed-stdout");
    let scenario = write(
        &dir,
        "tiny.toml",
        "name = \"tiny\"\nprotocols = [\"h1\"]\nwarmup = \"0s\"\nduration = \"300ms\"\n",
    );
    let run = |command: &mut std::process::Command| {
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("bench starts");
        drop(child.stdout.take()); // the reader is gone before bench prints anything
        let out = child.wait_with_output().expect("bench ends");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains("panicked"), "{stderr}");
        (out.status.code(), stderr)
    };
    let (code, stderr) = run(bench()
        .arg(&scenario)
        .args(["--no-plot", "--no-progress", "--out"])
        .arg(dir.join("results")));
    assert_eq!(code, Some(0), "{stderr}");
    report_csv(&dir.join("results"));
    let (code, stderr) = run(bench().arg("scenarios"));
    assert_eq!(code, Some(0), "{stderr}");
}

/// `--set browser=firefox`: the emulation follows Firefox's rules and its rows say so
/// (`client = emulated-firefox`), so they are never joined with Chromium-rule rows by mistake.
#[test]
fn the_firefox_profile_names_its_rows() {
    let dir = temp_dir("firefox-profile");
    let scenario = write(
        &dir,
        "tiny.toml",
        "name = \"tiny\"\nprotocols = [\"h2c\"]\nwarmup = \"0s\"\nduration = \"300ms\"\n",
    );
    let out = bench()
        .arg(&scenario)
        .args([
            "--set",
            "browser=firefox",
            "--no-plot",
            "--no-progress",
            "--out",
        ])
        .arg(dir.join("results"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let text = std::fs::read_to_string(report_csv(&dir.join("results"))).unwrap();
    let mut rows = text.lines().skip(1).peekable();
    assert!(rows.peek().is_some(), "rows were written");
    for row in rows {
        assert_eq!(row.split(',').nth(7), Some("emulated-firefox"), "{row}");
    }
}
