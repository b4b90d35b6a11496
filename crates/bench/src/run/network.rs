//! The emulated network of a run: started before the runtime (whose threads then live in its
//! client namespace), reconfigured between conditions, checked (its round trip measured) before
//! each, and removed at the end, also after Ctrl-C (dropping it deletes the namespaces; a crashed
//! run's leftovers are cleaned by the next).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::scenario::{NetworkCondition, NetworkSettings};

/// TCP connects that measure the emulated round trip before each condition.
const RTT_SAMPLES: usize = 5;

/// Starts the emulator for the scenario's first condition, after removing leftovers of runs that
/// died. The error says what is missing (root, `/dev/net/tun`, iproute2).
pub fn start(settings: &NetworkSettings) -> anyhow::Result<Arc<netem::Emulator>> {
    match netem::clean_leftovers() {
        Ok(removed) if !removed.is_empty() => {
            eprintln!(
                "removed {} network namespaces left by an earlier run",
                removed.len()
            );
        }
        _ => {}
    }
    let first = settings
        .conditions()
        .first()
        .copied()
        .context("the [network] table has no condition")?;
    let emulator = netem::Emulator::start(settings.config(first))
        .context("the scenario's [network] needs an emulated network")?;
    Ok(Arc::new(emulator))
}

/// Switches the emulator to condition `c` and measures its round trip.
pub async fn apply(
    emulator: &Arc<netem::Emulator>,
    settings: &NetworkSettings,
    c: NetworkCondition,
) -> anyhow::Result<Vec<Duration>> {
    emulator
        .reconfigure(settings.config(c))
        .map_err(|e| anyhow::anyhow!("cannot set the network to {}: {e}", settings.label(c)))?;
    let emulator = Arc::clone(emulator);
    let rtt = tokio::task::spawn_blocking(move || emulator.measure_connect_rtt(RTT_SAMPLES))
        .await
        .context("the round-trip check stopped")?
        .context("cannot measure the emulated round trip")?;
    Ok(rtt.samples().to_vec())
}
