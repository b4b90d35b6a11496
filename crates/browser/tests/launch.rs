//! Launching the browsers, each through its driver: the remote protocol endpoint answers, the
//! drop guard ends the whole process group, a binary that is not a browser is reported, and the
//! server's self-signed certificate is trusted by exactly what the launch says (Chromium: the SPKI
//! flag; Firefox: the profile's certificate override): the right certificate loads the page,
//! another does not.
//!
//! Like the agreement tests these need both browsers (`apt-get install chromium firefox-esr`, or
//! `SSEBENCH_CHROMIUM` / `SSEBENCH_FIREFOX`) and fail without them.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use browser::chromium::Chromium;
use browser::driver::start_process;
use browser::firefox::Firefox;
use browser::remote::Remote;
use browser::{Driver, Launcher, ServerUnderTest, Session};
use serde_json::{json, Value};
use sse_server::{Protocol, ServerConfig};
use vocab::BrowserProfile;

fn find(browser: BrowserProfile) -> PathBuf {
    browser::find_browser(browser, None)
        .unwrap_or_else(|e| panic!("these tests need a real {browser} and never skip: {e}"))
}

/// Live (not zombie) processes whose process group is `pgid`.
fn group_members(pgid: u32) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...; comm may hold spaces, so split after the last ')'.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string() {
            out.push(format!("{head})"));
        }
    }
    out
}

/// Waits up to 5 s for the process group `pgid` to be gone.
async fn assert_group_gone(browser: BrowserProfile, pgid: u32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = group_members(pgid);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{browser} process group {pgid} still has members after drop: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts `D`'s browser, sends `hello` with `params` to its remote endpoint and hands the answer to `check`;
/// the browser runs helpers in its process group, and dropping the process ends them all.
async fn answers_and_drop_ends_the_process_group<D: Driver>(
    hello: &str,
    params: Value,
    check: fn(&Value),
) {
    let (process, endpoint) = start_process::<D>(
        &Launcher::direct(),
        &find(D::PROFILE),
        &[ServerUnderTest::loopback(0)],
    )
    .await
    .unwrap();
    let pid = process.pid();
    let remote = Remote::connect(&endpoint, D::INSTALL.dialect, &[])
        .await
        .unwrap();
    let answer = remote.call(hello, params, None).await;
    check(&answer.unwrap());
    assert!(
        group_members(pid).len() > 1,
        "{} runs helpers in its group",
        D::PROFILE
    );
    drop(process);
    // Reaped by the guard: the pid is gone (a zombie would still be listed).
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "{} {pid} still exists after drop",
        D::PROFILE
    );
    assert_group_gone(D::PROFILE, pid).await;
}

#[tokio::test]
async fn devtools_answers_and_drop_ends_the_process_group() {
    answers_and_drop_ends_the_process_group::<Chromium>(
        "Browser.getVersion",
        json!({}),
        |version| {
            let product = version["product"].as_str().unwrap_or_default();
            assert!(product.contains("Chrome/"), "{version}");
        },
    )
    .await;
}

#[tokio::test]
async fn bidi_answers_and_drop_ends_the_process_group() {
    answers_and_drop_ends_the_process_group::<Firefox>(
        "session.new",
        json!({"capabilities": {}}),
        |session| {
            assert_eq!(
                session["capabilities"]["browserName"], "firefox",
                "{session}"
            );
            assert_eq!(
                session["capabilities"]["acceptInsecureCerts"], false,
                "{session}"
            );
        },
    )
    .await;
}

async fn not_a_browser<D: Driver>() {
    let server = ServerUnderTest::loopback(0);
    let err = Session::launch::<D>(&Launcher::direct(), Path::new("/bin/true"), &[server])
        .await
        .unwrap_err();
    let expected = format!("{} /bin/true exited", D::PROFILE);
    assert!(err.to_string().contains(&expected), "{err}");
}

#[tokio::test]
async fn a_binary_that_is_not_a_browser_is_reported() {
    not_a_browser::<Chromium>().await;
    not_a_browser::<Firefox>().await;
}

/// Loads `/health` from the h2 server at `addr` in `D`'s browser launched to trust `der` for it;
/// the navigation error, if any.
async fn load_with_cert<D: Driver>(addr: SocketAddr, der: &[u8]) -> Option<String> {
    let server = ServerUnderTest {
        addr,
        transport: vocab::Transport::Tcp,
        certificate: Some(der.to_vec()),
    };
    let session = Session::launch::<D>(&Launcher::direct(), &find(D::PROFILE), &[server])
        .await
        .unwrap();
    let url = format!("https://{addr}/health");
    let loaded = D::open_page(session.remote(), &url, Duration::from_secs(15)).await;
    session.close().await;
    match loaded {
        Ok(_) => None,
        Err(browser::BrowserError::Navigation { error, .. }) => Some(error),
        Err(e) => panic!("{} loading {url}: {e}", D::PROFILE),
    }
}

/// The server's own certificate loads the page; another one fails with an error containing
/// `refused`.
async fn trusts_the_servers_certificate_and_only_it<D: Driver>(refused: &str) {
    let config = ServerConfig {
        listeners: vec![(Protocol::H2, SocketAddr::from(([127, 0, 0, 1], 0)))],
        ..ServerConfig::default()
    };
    let server = sse_server::start(config).await.unwrap();
    let addr = server.addr(Protocol::H2).unwrap();
    let right = server.cert_der();
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let loaded = tokio::time::timeout(Duration::from_secs(90), async {
        (
            load_with_cert::<D>(addr, &right).await,
            load_with_cert::<D>(addr, other.cert.der()).await,
        )
    })
    .await
    .expect("both loads finish");
    server.shutdown().await;
    assert_eq!(loaded.0, None, "the server's own certificate is accepted");
    let error = loaded.1.expect("another certificate is not accepted");
    assert!(error.contains(refused), "{error}");
}

#[tokio::test]
async fn chromium_trusts_the_servers_key_and_only_it() {
    trusts_the_servers_certificate_and_only_it::<Chromium>("CERT").await;
}

#[tokio::test]
async fn firefox_trusts_the_servers_certificate_and_only_it() {
    trusts_the_servers_certificate_and_only_it::<Firefox>("SELF_SIGNED_CERT").await;
}
