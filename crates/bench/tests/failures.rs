//! The `bench` binary when things go wrong: a server killed mid-run, an unreachable target, a
//! certificate that does not verify, faults with a target; and a run under faults that proves it
//! lost nothing.
//!
//! The killed server is the real `server` binary in its own process, found next to the `bench`
//! binary (`cargo build --bin server` puts it there; CI builds it before the tests).
//!
//! A binary of its own, outside `tests/suite/`, run alone (`scripts/run-tests.py`, HEAVY): its
//! unreachable target is a port it freed, which a test running beside it could bind meanwhile.

use std::process::Stdio;
use std::time::{Duration, Instant};

use report::Value;

mod common;

use common::{bench, report_rows, start_server, temp_dir, write};

fn counter(rows: &[report::Row], protocol: &str, metric: &str) -> Option<u64> {
    rows.iter()
        .find(|r| r.key.protocol.as_str() == protocol && r.key.metric == metric)
        .and_then(|r| match r.value {
            Value::Counter(n) => Some(n),
            _ => None,
        })
}

/// A server killed mid-run: bench ends within a bounded time, exits 1 with a one-line reason
/// naming the failure class, and the report holds every row measured, the partial point's too.
#[test]
fn killed_server_ends_the_run_with_the_rows_so_far() {
    let dir = temp_dir("killed");
    let scenario = write(
        &dir,
        "killed.toml",
        r#"
name = "killed"
protocols = ["h1", "h2c"]
streams_per_client = 2
warmup = "200ms"
duration = "20s"
reconnect_delay = "200ms"
[posts]
rate_per_client = 10.0
"#,
    );
    let (mut server, urls, n) = start_server(&[
        "--h1",
        "127.0.0.1:0",
        "--h2c",
        "127.0.0.1:0",
        "--retry-ms",
        "200",
    ]);
    assert_eq!(urls.len(), n);
    let mut cmd = bench();
    cmd.arg(&scenario)
        .args(["--no-plot", "--no-progress", "--out"])
        .arg(dir.join("results"));
    for (protocol, url) in &urls {
        cmd.arg("--target").arg(format!("{protocol}={url}"));
    }
    let started = Instant::now();
    let run = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bench starts");
    // The server dies 2 s into the first point (h1): the run stops about 5 s later (every connect
    // refused), long before the point's 20 s, and the h2c point never starts.
    std::thread::sleep(Duration::from_millis(2000));
    server.0.kill().expect("kill the server");
    let out = run.wait_with_output().expect("bench ends");
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let context = format!("after {took:?}\nstdout: {stdout}\nstderr: {stderr}");
    assert!(took < Duration::from_secs(15), "{context}");
    assert_eq!(out.status.code(), Some(1), "{context}");
    let reasons: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(reasons.len(), 1, "{context}");
    assert!(
        reasons[0].starts_with("error: run stopped: target down: "),
        "{context}"
    );
    assert!(reasons[0].contains("refused"), "{context}");
    assert!(stdout.contains("killed: 1 of 2 points run"), "{context}");
    // The partial point, measured until the server died.
    let rows = report_rows(&dir.join("results"));
    assert_eq!(counter(&rows, "h1", "streams_opened"), Some(2), "{context}");
    assert!(counter(&rows, "h1", "posts_completed").is_some_and(|n| n >= 10));
    assert!(counter(&rows, "h1", "errors_refused").is_some_and(|n| n > 0));
    assert!(counter(&rows, "h1", "messages_expected").is_some_and(|n| n > 0));
    assert!(rows.iter().all(|r| r.key.protocol.as_str() == "h1"));
}

/// An unreachable target, from the scenario file or from `--target`: exit 2 before any point,
/// with one line naming where the URL came from and the cause. No report is written.
#[test]
fn unreachable_target_exits_2_naming_where_the_url_came_from() {
    let dir = temp_dir("unreachable");
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let scenario = write(
        &dir,
        "down.toml",
        &format!(
            "name = \"down\"\nprotocols = [\"h1\"]\nduration = \"1s\"\n\n[target]\nurl = \"http://127.0.0.1:{port}\"\n"
        ),
    );
    let run = |extra: &[String]| {
        let out = bench()
            .arg(&scenario)
            .args(["--no-plot", "--no-progress", "--out"])
            .arg(dir.join("results"))
            .args(extra)
            .output()
            .expect("bench runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        stderr
    };
    let stderr = run(&[]);
    assert!(
        stderr.starts_with(&format!(
            "error: {}:6: target.url = \"http://127.0.0.1:{port}\": h1: cannot connect",
            scenario.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("refused"), "{stderr}");
    let stderr = run(&[format!("--target=h1=http://127.0.0.1:{port}")]);
    assert!(
        stderr.starts_with(&format!(
            "error: --target h1=http://127.0.0.1:{port}: h1: cannot connect"
        )),
        "{stderr}"
    );
    assert!(
        !dir.join("results").exists(),
        "no report for a run that never started"
    );
}

/// An `h3` target that never answers over UDP: exit 2 before any point, one line naming the flag
/// and the cause (no QUIC handshake within `connect_timeout`).
#[test]
fn an_h3_target_without_a_quic_answer_exits_2() {
    let dir = temp_dir("h3-silent");
    // A bound UDP socket that reads nothing: no QUIC answer, and no ICMP unreachable either.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("a UDP socket");
    let url = format!("https://{}", silent.local_addr().expect("address"));
    let scenario = write(
        &dir,
        "h3.toml",
        "name = \"h3\"\nprotocols = [\"h3\"]\nduration = \"1s\"\nconnect_timeout = \"500ms\"\n",
    );
    let out = bench()
        .arg(&scenario)
        .args(["--no-plot", "--no-progress", "--insecure", "--target"])
        .arg(format!("h3={url}"))
        .arg("--out")
        .arg(dir.join("results"))
        .output()
        .expect("bench runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "error: --target h3={url}: h3: QUIC handshake (no answer over UDP)"
        )),
        "{stderr}"
    );
    assert!(!dir.join("results").exists());
}

/// A target outside loopback is refused before any packet is sent, naming the flag that allows
/// it. (198.51.100.1 is TEST-NET-2, documentation only; nothing is sent to it.)
#[test]
fn a_remote_target_needs_allow_remote() {
    let dir = temp_dir("remote");
    let scenario = write(
        &dir,
        "remote.toml",
        "name = \"remote\"\nprotocols = [\"h1\"]\nduration = \"1s\"\n",
    );
    let out = bench()
        .arg(&scenario)
        .args([
            "--no-plot",
            "--no-progress",
            "--target",
            "h1=http://198.51.100.1:8080",
            "--out",
        ])
        .arg(dir.join("results"))
        .output()
        .expect("bench runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not on loopback"), "{stderr}");
    assert!(stderr.contains("--allow-remote"), "{stderr}");
}

/// A certificate that does not verify (the server's is not the one trusted): exit 2, one line.
#[test]
fn certificate_that_does_not_verify_exits_2() {
    let dir = temp_dir("cert");
    let other_cert = dir.join("other.pem");
    // Another server's certificate: valid PEM, but not the one the target serves.
    let (_other, _, _) = start_server(&[
        "--h2",
        "127.0.0.1:0",
        "--write-cert",
        other_cert.to_str().expect("utf-8 path"),
    ]);
    let (_server, urls, _) = start_server(&["--h2", "127.0.0.1:0"]);
    let scenario = write(
        &dir,
        "tls.toml",
        "name = \"tls\"\nprotocols = [\"h2\"]\nduration = \"1s\"\n",
    );
    let out = bench()
        .arg(&scenario)
        .args(["--no-plot", "--no-progress", "--out"])
        .arg(dir.join("results"))
        .args(["--target", &urls[0].1, "--cacert"])
        .arg(&other_cert)
        .output()
        .expect("bench runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("error: --target {}: h2: TLS handshake", urls[0].1)),
        "{stderr}"
    );
    assert!(stderr.contains("certificate"), "{stderr}");
}

/// Faults are the embedded server's: asking for them with `--target` is unusable input.
#[test]
fn faults_with_a_target_exit_2() {
    let dir = temp_dir("faults-target");
    let scenario = write(
        &dir,
        "f.toml",
        "name = \"f\"\nprotocols = [\"h1\"]\nduration = \"1s\"\n[faults]\nclose_streams_every = \"1s\"\n",
    );
    let out = bench()
        .arg(&scenario)
        .args(["--target", "http://127.0.0.1:1"])
        .output()
        .expect("bench runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("[faults]"), "{stderr}");
}

/// A short chat under faults on every arm: the report has the loss proof's rows, nothing is lost,
/// and the summary shows reconnects and `lost`.
#[test]
fn faults_run_reports_the_loss_proof() {
    let dir = temp_dir("faults");
    let scenario = write(
        &dir,
        "faults.toml",
        r#"
name = "faults"
protocols = ["h1", "h1-tls", "h2", "h2c"]
clients = 3
warmup = "200ms"
duration = "1500ms"
reconnect_delay = "50ms"
[posts]
rate_per_client = 10.0
[server]
event_interval = "100ms"
replay_ring = 4096
[faults]
close_streams_every = "300ms"
close_mode = "reset"
goaway_every = "500ms"
post_error_every_nth = 7
"#,
    );
    let out = bench()
        .arg(&scenario)
        .args(["--no-plot", "--no-progress", "--out"])
        .arg(dir.join("results"))
        .output()
        .expect("bench runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains("reconnects") && stdout.contains("lost"),
        "{stdout}"
    );
    let rows = report_rows(&dir.join("results"));
    for arm in ["h1", "h1-tls", "h2", "h2c"] {
        let get = |metric| counter(&rows, arm, metric).unwrap_or_else(|| panic!("{arm} {metric}"));
        assert!(get("reconnects") > 0, "{arm}");
        assert!(get("replayed_events") > 0, "{arm}");
        assert!(get("messages_expected") > 0, "{arm}");
        assert_eq!(get("messages_lost"), 0, "{arm}");
        assert_eq!(get("messages_duplicated"), 0, "{arm}");
        assert!(get("errors_status") > 0, "{arm}: every 7th POST got 503");
    }
}

/// A point that cannot fit the process's descriptor limit stops the run before it starts, naming
/// the limit, the need and the largest point that fits; nothing is measured or written.
#[test]
fn a_point_over_the_descriptor_limit_exits_2() {
    let dir = temp_dir("descriptors");
    let scenario = write(
        &dir,
        "big.toml",
        "name = \"big\"\nprotocols = [\"h1\"]\nclients = [1, 100000]\nstreams_per_client = 6\nduration = \"1s\"\n",
    );
    let out = bench()
        .arg(&scenario)
        .args(["--no-progress", "--no-plot", "--out"])
        .arg(dir.join("results"))
        .output()
        .expect("bench runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(
            "error: the point h1 clients=100000 streams_per_client=6 needs about 1200064 file descriptors"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("the largest point that fits has clients="),
        "{stderr}"
    );
    assert!(
        !dir.join("results").exists(),
        "nothing written before the check"
    );
}

/// `plot` and `compare` on a report that cannot be read: exit 2 (unusable input, as documented),
/// naming the file, whether it is missing or not a report.
#[test]
fn unreadable_reports_exit_2_for_plot_and_compare() {
    let dir = temp_dir("unreadable");
    let garbage = write(&dir, "garbage.csv", "not,a,report\n");
    let missing = dir.join("missing.csv");
    for path in [&garbage, &missing] {
        for args in [vec!["plot"], vec!["compare"]] {
            let mut command = bench();
            command.args(&args).arg(path);
            if args[0] == "compare" {
                command.arg(path);
            }
            let out = command.output().expect("bench runs");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?} {path:?}: {stderr}");
            assert!(
                stderr.contains(&*path.to_string_lossy()),
                "{args:?} names the file: {stderr}"
            );
        }
    }
}
