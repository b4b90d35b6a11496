//! Launching Chromium: the DevTools endpoint answers, the drop guard ends the process, a binary
//! that is not a browser is reported, and the SPKI flag is what makes the server's self-signed
//! certificate acceptable (the right key loads the page, another key does not).
//!
//! Like the agreement tests these need Chromium (`apt-get install chromium` or
//! `SSEBENCH_CHROMIUM=PATH`) and fail without it.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use browser::cdp::Cdp;
use browser::chromium::Chromium;
use serde_json::json;
use sse_server::{Protocol, ServerConfig};

fn chromium() -> PathBuf {
    browser::find_chromium(None)
        .unwrap_or_else(|e| panic!("these tests need a real Chromium and never skip: {e}"))
}

#[tokio::test]
async fn devtools_answers_and_drop_ends_the_process() {
    let browser = Chromium::launch(&chromium(), None).await.unwrap();
    let pid = browser.pid();
    let cdp = Cdp::connect(browser.ws_url(), &[]).await.unwrap();
    let version = cdp
        .call("Browser.getVersion", json!({}), None)
        .await
        .unwrap();
    let product = version["product"].as_str().unwrap_or_default();
    assert!(product.contains("Chrome/"), "{version}");
    drop(browser);
    // Reaped by the guard: the pid is gone (a zombie would still be listed).
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "chromium {pid} still exists after drop"
    );
}

#[tokio::test]
async fn a_binary_that_is_not_a_browser_is_reported() {
    let err = Chromium::launch(std::path::Path::new("/bin/true"), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("exited before"), "{err}");
}

/// Loads `/health` from an h2 server in a Chromium trusting `spki`; the navigation error, if any.
async fn load_with_key(server_url: &str, spki: &str) -> Option<String> {
    let browser = Chromium::launch(&chromium(), Some(spki)).await.unwrap();
    let cdp = Cdp::connect(browser.ws_url(), &["Page.loadEventFired"])
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

#[tokio::test]
async fn the_servers_key_and_only_it_is_trusted() {
    let config = ServerConfig {
        listeners: vec![(Protocol::H2, SocketAddr::from(([127, 0, 0, 1], 0)))],
        ..ServerConfig::default()
    };
    let server = sse_server::start(config).await.unwrap();
    let url = server.url(Protocol::H2).unwrap();
    let right = browser::spki::spki_sha256_base64(&server.cert_der()).unwrap();
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let wrong = browser::spki::spki_sha256_base64(other.cert.der()).unwrap();
    let loaded = tokio::time::timeout(Duration::from_secs(60), async {
        (
            load_with_key(&url, &right).await,
            load_with_key(&url, &wrong).await,
        )
    })
    .await
    .expect("both loads finish");
    server.shutdown().await;
    assert_eq!(loaded.0, None, "the server's own key is accepted");
    let error = loaded.1.expect("another key is not accepted");
    assert!(error.contains("CERT"), "{error}");
}
