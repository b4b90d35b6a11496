//! `#[test_support::arms(...)]`: each selection runs its test once per arm it takes, named after
//! the arm, with the arm it is named after, on the runtime asked for.

use test_support::Protocol;
use vocab::Transport;

/// The test's own name must be the arm's, `-` written `_`.
fn assert_named_after(arm: Protocol) {
    let thread = std::thread::current();
    let name = thread.name().expect("libtest names its test threads");
    let leaf = name.rsplit("::").next().expect("a path");
    assert_eq!(leaf, arm.to_string().replace('-', "_"), "{name}");
}

#[test_support::arms(all)]
async fn every_arm(arm: Protocol) {
    assert_named_after(arm);
}

#[test_support::arms(sse)]
async fn sse_arms(arm: Protocol) {
    assert_named_after(arm);
    assert!(!arm.is_websocket(), "{arm}");
}

#[test_support::arms(http1)]
async fn http1_arms(arm: Protocol) {
    assert_named_after(arm);
    assert!(!arm.is_multiplexed() && !arm.is_websocket(), "{arm}");
}

#[test_support::arms(http2, flavor = "multi_thread", worker_threads = 2)]
async fn http2_arms(arm: Protocol) {
    assert_named_after(arm);
    assert!(arm.is_http2(), "{arm}");
    let runtime = tokio::runtime::Handle::current().metrics();
    assert_eq!(runtime.num_workers(), 2, "the runtime asked for");
}

#[test_support::arms(websocket, flavor = "current_thread")]
async fn websocket_arms(arm: Protocol) {
    assert_named_after(arm);
    assert!(arm.is_websocket(), "{arm}");
    let flavor = tokio::runtime::Handle::current().runtime_flavor();
    assert_eq!(flavor, tokio::runtime::RuntimeFlavor::CurrentThread);
}

#[test_support::arms(tls)]
async fn tls_arms(arm: Protocol) {
    assert_named_after(arm);
    assert!(arm.is_tls(), "{arm}");
}

#[test_support::arms(multiplexed)]
async fn multiplexed_arms(arm: Protocol) {
    assert_named_after(arm);
    assert!(arm.is_multiplexed(), "{arm}");
}

#[test_support::arms(tcp)]
async fn tcp_arms(arm: Protocol) {
    assert_named_after(arm);
    assert_eq!(arm.transport(), Transport::Tcp, "{arm}");
}
