//! What a request knows of the connection it came on.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::activity::Activity;
use crate::stats::ListenerCounters;
use crate::upgrade_slot::UpgradeSlot;

/// What a request knows of its connection.
#[derive(Debug)]
pub(crate) struct Conn {
    /// The listener's counters.
    pub(crate) counters: Arc<ListenerCounters>,
    /// Cancelled at server shutdown and at the connection's GOAWAY fault: it ends the
    /// connection's event streams.
    pub(crate) streams: CancellationToken,
    /// What the connection is doing (`activity.rs`).
    pub(crate) activity: Arc<Activity>,
    /// On the WebSocket listeners: where `GET /ws` parks its session (`ws_upgrade.rs`).
    pub(crate) upgrade: Option<Arc<UpgradeSlot>>,
}
