//! Driving Chromium's pages over the Chrome DevTools Protocol: one isolated browser context
//! (own cookies, cache and connection pools) with one tab per virtual client, attached as a
//! flattened session; `Page` and `Network` enabled before the page loads; scripts evaluated with
//! `Runtime.evaluate`, results returned by value.

use std::time::Duration;

use serde_json::{json, Value};

use vocab::BrowserProfile;

use crate::error::BrowserError;
use crate::remote::Remote;

/// A new isolated browser context with one tab, attached, Network on, `page_url` loaded; its
/// session id.
pub async fn open_tab(
    cdp: &Remote,
    page_url: &str,
    load_timeout: Duration,
) -> Result<String, BrowserError> {
    let context = cdp
        .call(
            "Target.createBrowserContext",
            json!({ "disposeOnDetach": true }),
            None,
        )
        .await?;
    let target = cdp
        .call(
            "Target.createTarget",
            json!({ "url": "about:blank", "browserContextId": context["browserContextId"] }),
            None,
        )
        .await?;
    let attached = cdp
        .call(
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
            None,
        )
        .await?;
    let session = attached["sessionId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let s = Some(session.as_str());
    cdp.call("Page.enable", json!({}), s).await?;
    cdp.call("Network.enable", json!({}), s).await?;
    let from = cdp.event_count();
    let nav = cdp
        .call("Page.navigate", json!({ "url": page_url }), s)
        .await?;
    if let Some(error) = nav.get("errorText").and_then(Value::as_str) {
        return Err(BrowserError::Navigation {
            browser: BrowserProfile::Chromium,
            url: page_url.to_owned(),
            error: error.to_owned(),
        });
    }
    cdp.wait_event(&session, "Page.loadEventFired", from, load_timeout)
        .await?;
    Ok(session)
}

/// `Runtime.evaluate` returning the value (awaited if `timeout` is given, which then bounds the
/// call); a thrown exception is a [`BrowserError::Script`].
pub async fn evaluate(
    cdp: &Remote,
    session: &str,
    expression: &str,
    what: &'static str,
    timeout: Option<Duration>,
) -> Result<Value, BrowserError> {
    let params = json!({
        "expression": expression,
        "returnByValue": true,
        "awaitPromise": timeout.is_some(),
    });
    let mut reply = match timeout {
        Some(t) => {
            cdp.call_within("Runtime.evaluate", params, Some(session), t)
                .await?
        }
        None => cdp.call("Runtime.evaluate", params, Some(session)).await?,
    };
    if let Some(ex) = reply.get("exceptionDetails") {
        let detail = ex
            .pointer("/exception/description")
            .or_else(|| ex.get("text"))
            .and_then(Value::as_str)
            .unwrap_or("exception")
            .to_owned();
        return Err(BrowserError::Script { what, detail });
    }
    Ok(reply
        .pointer_mut("/result/value")
        .map(Value::take)
        .unwrap_or_default())
}
