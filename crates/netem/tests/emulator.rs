//! The emulator measured against its config, through real sockets in the namespaces it creates.
//!
//! Needs root (CI runs as root). Without it every test here FAILS, with the message of
//! [`netem::NetemError::MissingPrivileges`] naming the missing capabilities; it never skips.
//!
//! Every test that starts an emulator takes a process-wide lock: the measurements share two cores
//! (a bulk transfer beside an RTT measurement would disturb both), and `start` here first runs
//! `clean_leftovers`, which must not race the test that plants leftovers. Each prints a
//! `netem-check:` line with the configured and the measured figure (`cargo test -p netem --test
//! emulator -- --nocapture`, or `scripts/netem-check.sh`).
//!
//! The tests, by what they measure: `emulator/delay.rs` (RTT, jitter, reconfiguring in place),
//! `emulator/throughput.rs` (bandwidth, loss, TCP through loss, the bottleneck queue),
//! `emulator/namespaces.rs` (what lives in the namespaces, and that they go away); here, what
//! needs no emulator running.

#[path = "emulator/delay.rs"]
mod delay;
#[path = "emulator/namespaces.rs"]
mod namespaces;
#[path = "emulator/throughput.rs"]
mod throughput;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use netem::{Emulator, NetworkConfig, Side};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn exclusive() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts an emulator or fails the test with the reason (for a non-root run: the capabilities).
/// First removes what a killed earlier run left behind, as a binary would at start-up.
fn start(config: NetworkConfig) -> Emulator {
    if let Err(err) = netem::clean_leftovers() {
        panic!("clean_leftovers failed (these tests need root): {err}");
    }
    Emulator::start(config)
        .unwrap_or_else(|err| panic!("these tests need root (CI runs as root): {err}"))
}

fn within(measured: f64, configured: f64, tolerance: f64) -> bool {
    (measured - configured).abs() <= configured * tolerance
}

fn listener(emu: &Emulator) -> (TcpListener, SocketAddr) {
    let server = emu.addr(Side::Server);
    let listener = emu
        .run_in(Side::Server, || TcpListener::bind((server, 0)))
        .expect("enter server namespace")
        .expect("bind in server namespace");
    let addr = listener.local_addr().expect("local_addr");
    (listener, addr)
}

/// Accepts one connection, or panics after `limit` (so a failed connect cannot hang the test).
fn accept_within(listener: &TcpListener, limit: Duration) -> TcpStream {
    listener
        .set_nonblocking(true)
        .expect("nonblocking listener");
    let deadline = Instant::now() + limit;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).expect("blocking stream");
                return stream;
            }
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "no connection within {limit:?}");
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(err) => panic!("accept: {err}"),
        }
    }
}

#[test]
fn invalid_config_is_refused_naming_the_field() {
    let err = Emulator::start(NetworkConfig {
        loss_down: 1.5,
        ..NetworkConfig::default()
    })
    .expect_err("loss 1.5 accepted");
    assert!(
        matches!(&err, netem::NetemError::InvalidConfig(e) if e.field == "loss_down"),
        "{err}"
    );
}

/// Without root: the child re-runs this test binary as user `nobody` with no capabilities, where
/// `Emulator::start` must fail and name the capabilities.
#[test]
fn without_privileges_the_error_names_them() {
    if std::env::var_os("NETEM_UNPRIVILEGED_CHILD").is_some() {
        let err = Emulator::start(NetworkConfig::default()).expect_err("started without root");
        let message = err.to_string();
        println!("unprivileged: {message}");
        assert!(
            matches!(err, netem::NetemError::MissingPrivileges { .. }),
            "{message}"
        );
        assert!(
            message.contains("CAP_NET_ADMIN") && message.contains("CAP_SYS_ADMIN"),
            "{message}"
        );
        return;
    }
    // A copy in the temporary directory: the build directory may sit where `nobody` cannot
    // reach (a CI checkout under /root).
    let exe = std::env::temp_dir().join(format!("netem-unprivileged-{}", std::process::id()));
    std::fs::copy(std::env::current_exe().expect("current_exe"), &exe).expect("copy test binary");
    std::fs::set_permissions(&exe, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(&exe)
        .args([
            "--exact",
            "without_privileges_the_error_names_them",
            "--nocapture",
        ])
        .env("NETEM_UNPRIVILEGED_CHILD", "1")
        .output();
    let _ = std::fs::remove_file(&exe);
    let out = out.expect("run setpriv (util-linux)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("unprivileged: network emulation needs"),
        "unprivileged child failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A runtime's worker threads and the server's share one emulator: it must be `Send + Sync`.
#[test]
fn emulator_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Emulator>();
}
