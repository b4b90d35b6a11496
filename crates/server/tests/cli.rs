//! The `server` binary from outside, as a user runs it: `--help`, a flag it does not know, and a
//! run that prints its `listening` line, answers on it, and ends cleanly on SIGTERM (or SIGINT),
//! even one sent the moment the line is read.
//!
//! These also make `cargo test --workspace` build the binary (an integration test's
//! `CARGO_BIN_EXE_server`), beside every other test binary, where bench's tests find it
//! (`crates/bench/tests/common`).

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const SERVER: &str = env!("CARGO_BIN_EXE_server");

/// How long the server may take to start, to answer, or to stop.
const WAIT: Duration = Duration::from_secs(10);

/// Kills the server if a test fails before it stopped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits up to [`WAIT`] for the child to exit.
fn exited(child: &mut Child) -> Option<ExitStatus> {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn help_names_every_listener_flag_and_exits_0() {
    let out = Command::new(SERVER).arg("--help").output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--h1 ", "--h1-tls", "--h2 ", "--h2c", "--ws ", "--wss", "--h3",
    ] {
        assert!(text.contains(flag), "`{flag}` missing from --help:\n{text}");
    }
}

#[test]
fn an_unknown_flag_is_named_and_exits_2() {
    let out = Command::new(SERVER).arg("--no-such-flag").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--no-such-flag"), "{err}");
}

/// Starts `server --h1 127.0.0.1:0` and reads its first line, the listening line.
fn start() -> (Running, String) {
    let child = Command::new(SERVER)
        .args(["--h1", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Running(child);
    let mut stdout = BufReader::new(server.0.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    (server, line)
}

/// Sends `signal` (`-TERM`, `-INT`) to the server.
fn signal(server: &Running, signal: &str) {
    let killed = Command::new("kill")
        .args([signal, &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
}

#[test]
fn serves_on_the_listener_it_prints_and_stops_on_sigterm() {
    let (mut server, line) = start();
    let url = line
        .trim()
        .strip_prefix("listening h1 http://")
        .unwrap_or_else(|| panic!("not a listening line: {line:?}"));
    let mut conn = TcpStream::connect(url).unwrap();
    conn.set_read_timeout(Some(WAIT)).unwrap();
    conn.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    signal(&server, "-TERM");
    let status = exited(&mut server.0).expect("the server stops within 10 s of SIGTERM");
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}

/// SIGTERM (and SIGINT) sent the moment the listening line is read, before anything else: the
/// handlers are installed before the line is printed, so the server stops gracefully (exit 0)
/// rather than being killed by the signal (a race a busy machine once lost).
#[test]
fn a_signal_right_after_the_listening_line_stops_it_cleanly() {
    for sig in ["-TERM", "-INT"] {
        let (mut server, line) = start();
        assert!(line.starts_with("listening h1 "), "{line:?}");
        signal(&server, sig);
        let status = exited(&mut server.0).expect("the server stops within 10 s of the signal");
        assert!(status.success(), "exit status after {sig}: {status:?}");
    }
}
