//! Where a WebSocket session waits between the `101` and the connection's hand-over: the
//! connection (`connection.rs`) makes one slot per connection of a WebSocket listener, `GET /ws`
//! (`ws_upgrade.rs`) parks its session in it, and the connection's own task runs it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};

/// A WebSocket session waiting for its connection to be handed over.
pub(crate) type Parked = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Where a `GET /ws` leaves its session for the connection to run once hyper has written the
/// `101` and given up the socket. One per connection of a WebSocket listener.
#[derive(Default)]
pub(crate) struct UpgradeSlot(Mutex<Option<Parked>>);

impl std::fmt::Debug for UpgradeSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UpgradeSlot")
    }
}

impl UpgradeSlot {
    /// Leaves `session` for the connection to run.
    pub(crate) fn park(&self, session: Parked) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(session);
    }

    /// The parked session, if a request upgraded.
    pub(crate) fn take(&self) -> Option<Parked> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}
