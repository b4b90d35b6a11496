//! Launching the browsers: the remote protocol endpoint answers, the drop guard ends the whole
//! process group, a binary that is not a browser is reported, and the server's self-signed
//! certificate is trusted by exactly what the launch says (Chromium: the SPKI flag; Firefox: the
//! profile's certificate override): the right certificate loads the page, another does not.
//!
//! Like the agreement tests these need both browsers (`apt-get install chromium firefox-esr`, or
//! `SSEBENCH_CHROMIUM` / `SSEBENCH_FIREFOX`) and fail without them.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use browser::chromium::Chromium;
use browser::firefox::Firefox;
use browser::remote::{Dialect, Remote};
use browser::BrowserKind;
use serde_json::json;
use sse_server::{Protocol, ServerConfig};

fn find(kind: BrowserKind) -> PathBuf {
    browser::find_browser(kind, None)
        .unwrap_or_else(|e| panic!("these tests need a real {kind} and never skip: {e}"))
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
async fn assert_group_gone(kind: BrowserKind, pgid: u32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = group_members(pgid);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{kind} process group {pgid} still has members after drop: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn devtools_answers_and_drop_ends_the_process_group() {
    let browser = Chromium::launch(&find(BrowserKind::Chromium), None)
        .await
        .unwrap();
    let pid = browser.pid();
    let cdp = Remote::connect(browser.ws_url(), Dialect::Cdp, &[])
        .await
        .unwrap();
    let version = cdp
        .call("Browser.getVersion", json!({}), None)
        .await
        .unwrap();
    let product = version["product"].as_str().unwrap_or_default();
    assert!(product.contains("Chrome/"), "{version}");
    assert!(
        group_members(pid).len() > 1,
        "chromium runs helpers in its group"
    );
    drop(browser);
    // Reaped by the guard: the pid is gone (a zombie would still be listed).
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "chromium {pid} still exists after drop"
    );
    assert_group_gone(BrowserKind::Chromium, pid).await;
}

#[tokio::test]
async fn bidi_answers_and_drop_ends_the_process_group() {
    let browser = Firefox::launch(&find(BrowserKind::Firefox), None)
        .await
        .unwrap();
    let pid = browser.pid();
    let bidi = Remote::connect(browser.ws_url(), Dialect::Bidi, &[])
        .await
        .unwrap();
    let session = bidi
        .call("session.new", json!({"capabilities": {}}), None)
        .await
        .unwrap();
    assert_eq!(
        session["capabilities"]["browserName"], "firefox",
        "{session}"
    );
    assert_eq!(
        session["capabilities"]["acceptInsecureCerts"], false,
        "{session}"
    );
    assert!(
        group_members(pid).len() > 1,
        "firefox runs content processes in its group"
    );
    drop(browser);
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "firefox {pid} still exists after drop"
    );
    assert_group_gone(BrowserKind::Firefox, pid).await;
}

#[tokio::test]
async fn a_binary_that_is_not_a_browser_is_reported() {
    let err = Chromium::launch(Path::new("/bin/true"), None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("chromium /bin/true exited"),
        "{err}"
    );
    let err = Firefox::launch(Path::new("/bin/true"), None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("firefox /bin/true exited"),
        "{err}"
    );
}

/// Loads `/health` from an h2 server in a Chromium trusting `spki`; the navigation error, if any.
async fn chromium_load_with_key(server_url: &str, spki: &str) -> Option<String> {
    let browser = Chromium::launch(&find(BrowserKind::Chromium), Some(spki))
        .await
        .unwrap();
    let cdp = Remote::connect(browser.ws_url(), Dialect::Cdp, &["Page.loadEventFired"])
        .await
        .unwrap();
    let target = cdp
        .call("Target.createTarget", json!({"url": "about:blank"}), None)
        .await
        .unwrap();
    let session = cdp
        .call(
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
            None,
        )
        .await
        .unwrap();
    let session = session["sessionId"].as_str().unwrap().to_owned();
    let nav = cdp
        .call(
            "Page.navigate",
            json!({"url": format!("{server_url}/health")}),
            Some(&session),
        )
        .await
        .unwrap();
    browser.close(&cdp).await;
    nav["errorText"].as_str().map(str::to_owned)
}

/// Loads `/health` from the h2 server at `addr` in a Firefox whose profile trusts `der` for it;
/// the navigation error, if any.
async fn firefox_load_with_cert(addr: SocketAddr, der: &[u8]) -> Option<String> {
    let browser = Firefox::launch(&find(BrowserKind::Firefox), Some((addr, der)))
        .await
        .unwrap();
    let bidi = Remote::connect(browser.ws_url(), Dialect::Bidi, &[])
        .await
        .unwrap();
    browser::bidi::start_session(&bidi).await.unwrap();
    let url = format!("https://{addr}/health");
    let loaded = browser::bidi::open_tab(&bidi, &url, Duration::from_secs(15)).await;
    browser.close(&bidi).await;
    match loaded {
        Ok(_) => None,
        Err(browser::BrowserError::Navigation { error, .. }) => Some(error),
        Err(e) => panic!("firefox loading {url}: {e}"),
    }
}

async fn h2_server() -> sse_server::RunningServer {
    let config = ServerConfig {
        listeners: vec![(Protocol::H2, SocketAddr::from(([127, 0, 0, 1], 0)))],
        ..ServerConfig::default()
    };
    sse_server::start(config).await.unwrap()
}

#[tokio::test]
async fn chromium_trusts_the_servers_key_and_only_it() {
    let server = h2_server().await;
    let url = server.url(Protocol::H2).unwrap();
    let right = browser::spki::spki_sha256_base64(&server.cert_der()).unwrap();
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let wrong = browser::spki::spki_sha256_base64(other.cert.der()).unwrap();
    let loaded = tokio::time::timeout(Duration::from_secs(60), async {
        (
            chromium_load_with_key(&url, &right).await,
            chromium_load_with_key(&url, &wrong).await,
        )
    })
    .await
    .expect("both loads finish");
    server.shutdown().await;
    assert_eq!(loaded.0, None, "the server's own key is accepted");
    let error = loaded.1.expect("another key is not accepted");
    assert!(error.contains("CERT"), "{error}");
}

#[tokio::test]
async fn firefox_trusts_the_servers_certificate_and_only_it() {
    let server = h2_server().await;
    let addr = server.addr(Protocol::H2).unwrap();
    let right = server.cert_der();
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let loaded = tokio::time::timeout(Duration::from_secs(90), async {
        (
            firefox_load_with_cert(addr, &right).await,
            firefox_load_with_cert(addr, other.cert.der()).await,
        )
    })
    .await
    .expect("both loads finish");
    server.shutdown().await;
    assert_eq!(loaded.0, None, "the server's own certificate is accepted");
    let error = loaded.1.expect("another certificate is not accepted");
    assert!(error.contains("SELF_SIGNED_CERT"), "{error}");
}
