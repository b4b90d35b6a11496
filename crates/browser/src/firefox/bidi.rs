//! Driving Firefox's pages over WebDriver BiDi: one user context (Firefox's container: own
//! cookies, cache and connection pools, as Chromium's browser context) with one top-level window
//! per virtual client. A window, not a tab: every client's page must be the visible one, or
//! Firefox would throttle the timers of the background tabs (`document.visibilityState` is
//! checked at the end of every point).
//!
//! The session asks for nothing special (no `acceptInsecureCerts`: the profile trusts the
//! server's certificate alone) and subscribes to the `network` events
//! once, for all contexts; each event names its browsing context. Scripts run with
//! `script.evaluate` in the page's realm; BiDi returns its own serialization of values, so every
//! result is passed through `JSON.stringify` in the page and parsed here.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};

use vocab::BrowserProfile;

use super::events::KEPT;
use crate::error::{BrowserError, RemoteError};
use crate::remote::Remote;

/// How long Firefox may take to answer `session.new`: it answers once its remote agent is up,
/// which on a loaded 2-core machine took more than the 10 s other commands get (several
/// Firefox starting at once, beside a build). The same bound as for the endpoint file.
const SESSION_TIMEOUT: Duration = Duration::from_secs(30);

/// Starts the session and subscribes to the network events every point keeps.
pub async fn start_session(bidi: &Remote) -> Result<(), BrowserError> {
    bidi.call_within(
        "session.new",
        json!({ "capabilities": {} }),
        None,
        SESSION_TIMEOUT,
    )
    .await?;
    bidi.call("session.subscribe", json!({ "events": KEPT }), None)
        .await?;
    Ok(())
}

/// How long the warm-up's tab may take to be refused (across an emulated network a lost SYN is
/// sent again after a second).
const WARM_UP_TIMEOUT: Duration = Duration::from_secs(15);
/// Idle time after the warm-up, so Firefox's alt-svc storage, whose loading the warm-up started,
/// is ready before the first page (the capture waited 2 s; 0 s was enough in 3 of 3 trials).
const WARM_UP_SETTLE: Duration = Duration::from_millis(500);

/// Before an `h3` point, one load of the server's origin in a tab of its own, closed afterwards.
/// The first request to an origin cannot use the HTTP/3 mapping preference: Firefox's alt-svc
/// storage is still loading, so it goes over TCP (`scripts/h3-capture/FINDINGS.md`, "Setup"; the
/// request starts that loading). The server listens on UDP only, so this TCP connection to its
/// port is refused, which is checked: any other answer means something else listens there. Its
/// events belong to its own browsing context, never to a page's: no response of a point comes
/// from it, and the pages opened after it go over HTTP/3 from their first request.
pub async fn warm_up(bidi: &Remote, addr: SocketAddr) -> Result<(), BrowserError> {
    let url = format!("https://{addr}/");
    let created = bidi
        .call("browsingContext.create", json!({ "type": "tab" }), None)
        .await?;
    let context = created["context"].as_str().unwrap_or_default().to_owned();
    let loaded = bidi
        .call_within(
            "browsingContext.navigate",
            json!({ "context": context, "url": url, "wait": "complete" }),
            None,
            WARM_UP_TIMEOUT,
        )
        .await;
    bidi.call("browsingContext.close", json!({ "context": context }), None)
        .await?;
    match loaded {
        Err(RemoteError::Command { message, .. }) if message.contains(REFUSED) => {
            tokio::time::sleep(WARM_UP_SETTLE).await;
            Ok(())
        }
        Err(RemoteError::Command { message, .. }) => Err(warm_up_error(url, message)),
        Err(e) => Err(e.into()),
        Ok(answer) => Err(warm_up_error(url, answer.to_string())),
    }
}

/// Firefox's error for a TCP connection refused.
const REFUSED: &str = "NS_ERROR_CONNECTION_REFUSED";

fn warm_up_error(url: String, answer: String) -> BrowserError {
    BrowserError::WarmUp {
        browser: BrowserProfile::Firefox,
        url,
        answer,
    }
}

/// A new user context with one window, `page_url` loaded (its load event fired); the window's
/// browsing context id.
pub async fn open_tab(
    bidi: &Remote,
    page_url: &str,
    load_timeout: Duration,
) -> Result<String, BrowserError> {
    let user_context = bidi
        .call("browser.createUserContext", json!({}), None)
        .await?;
    let created = bidi
        .call(
            "browsingContext.create",
            json!({ "type": "window", "userContext": user_context["userContext"] }),
            None,
        )
        .await?;
    let context = created["context"].as_str().unwrap_or_default().to_owned();
    let navigated = bidi
        .call_within(
            "browsingContext.navigate",
            json!({ "context": context, "url": page_url, "wait": "complete" }),
            None,
            load_timeout,
        )
        .await;
    match navigated {
        Ok(_) => Ok(context),
        // A certificate or network error is the navigation's answer, not the protocol's.
        Err(RemoteError::Command { message, .. }) => Err(BrowserError::Navigation {
            browser: BrowserProfile::Firefox,
            url: page_url.to_owned(),
            error: message,
        }),
        Err(e) => Err(e.into()),
    }
}

/// The expression whose value, awaited and passed through `JSON.stringify`, is `expression`'s.
fn stringified(expression: &str) -> String {
    format!("Promise.resolve(({expression}\n)).then((v) => JSON.stringify(v))")
}

/// `script.evaluate` of `expression` in `context`, returning its value as JSON (awaited; bounded
/// by `timeout` if given); a thrown exception is a [`BrowserError::Script`].
pub async fn evaluate(
    bidi: &Remote,
    context: &str,
    expression: &str,
    what: &'static str,
    timeout: Option<Duration>,
) -> Result<Value, BrowserError> {
    let params = json!({
        "expression": stringified(expression),
        "target": { "context": context },
        "awaitPromise": true,
        "resultOwnership": "none",
    });
    let reply = match timeout {
        Some(t) => bidi.call_within("script.evaluate", params, None, t).await?,
        None => bidi.call("script.evaluate", params, None).await?,
    };
    if reply["type"] == "exception" {
        let details = &reply["exceptionDetails"];
        let detail = details["text"]
            .as_str()
            .or_else(|| details.pointer("/exception/value").and_then(Value::as_str))
            .unwrap_or("exception")
            .to_owned();
        return Err(BrowserError::Script { what, detail });
    }
    match reply.pointer("/result/value").and_then(Value::as_str) {
        // `JSON.stringify(undefined)` is undefined: no value.
        None => Ok(Value::Null),
        Some(text) => serde_json::from_str(text).map_err(|e| BrowserError::Script {
            what,
            detail: format!("the result is not JSON: {e}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leading_comment_does_not_swallow_the_wrapper() {
        let e = stringified("// a comment\n(() => 1)()");
        assert_eq!(
            e,
            "Promise.resolve((// a comment\n(() => 1)()\n)).then((v) => JSON.stringify(v))"
        );
        let e = stringified("1 // trailing comment");
        assert!(e.contains("comment\n))"), "{e}");
    }
}
