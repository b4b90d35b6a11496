//! The page a browser loads before its script creates EventSources: one `GET` of a same-origin
//! document, over the client's own pool, before its streams and POSTs start.
//!
//! It matters on HTTP/2: a browser's EventSources go out on the connection the page came over,
//! whose SETTINGS (the server's stream limit among them) the browser has read by then, so no
//! stream is sent over the server's limit and refused. A fresh emulated client would instead
//! send its requests under the 100 streams assumed before SETTINGS (which Chromium does too on a
//! connection it has just opened: `scripts/chromium-h2-capture/FINDINGS.md`). Over HTTP/1.1 the
//! document's connection goes back to the pool and the first EventSource reuses it, as in a
//! browser (`crates/browser/src/point.rs`, "The page's own connection"), so it adds a request,
//! not a connection.
//!
//! The page's status is not checked (a 404 is a loaded page too); a page that cannot be fetched
//! (no connection) is counted in its error class, and the streams start anyway.

use bytes::Bytes;
use http::Method;

use crate::client::Client;
use crate::origin::RequestSpec;
use crate::queue::Priority;

/// Fetches the page at `path` (path and query) and reads it to the end.
pub(crate) async fn load(client: &Client, path: &str) {
    let spec = RequestSpec {
        method: Method::GET,
        path: path.to_owned(),
        headers: Vec::new(),
        body: Bytes::new(),
        // The document is the most urgent request a page makes.
        priority: Priority::High,
    };
    let result = async {
        let response = client
            .origin
            .send(&client.shared.target, &spec, |_| {})
            .await?;
        response.body.finish().await
    }
    .await;
    if let Err(e) = result {
        tracing::debug!("page load failed: {}", vocab::error_chain(&e));
        client.shared.ctx.metrics.error(e.class());
    }
}
