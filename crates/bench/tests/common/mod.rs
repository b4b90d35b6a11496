//! Helpers shared by the `bench` binary's integration tests.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The `bench` binary under test.
pub fn bench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bench"))
}

/// A fresh, empty directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ssebench-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The one CSV report written under `dir`.
pub fn report_csv(dir: &Path) -> PathBuf {
    let csv: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    assert_eq!(csv.len(), 1, "{csv:?}");
    csv.into_iter().next().unwrap()
}

/// The rows of the one CSV report written under `dir`.
pub fn report_rows(dir: &Path) -> Vec<report::Row> {
    report::read_report(&report_csv(dir)).expect("a readable report")
}

/// The `server` binary, in the same directory as `bench`.
pub fn server_binary() -> PathBuf {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_bench"));
    let path = bench
        .with_file_name("server")
        .with_extension(std::env::consts::EXE_EXTENSION);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --bin server` before these tests",
        path.display()
    );
    path
}

/// Kills the child when dropped, so a failing test leaves no server behind.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the server binary with `args` and returns it with its `listening` URLs by protocol,
/// and how many listeners it was asked for.
pub fn start_server(args: &[&str]) -> (KillOnDrop, Vec<(String, String)>, usize) {
    let mut child = Command::new(server_binary())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let listeners = args.iter().filter(|a| a.starts_with("--h")).count();
    let mut urls = Vec::new();
    for line in BufReader::new(stdout).lines().take(listeners) {
        let line = line.expect("a listening line");
        let mut words = line.split_whitespace();
        assert_eq!(words.next(), Some("listening"), "{line}");
        let protocol = words.next().expect("protocol").to_owned();
        urls.push((protocol, words.next().expect("url").to_owned()));
    }
    (KillOnDrop(child), urls, listeners)
}
