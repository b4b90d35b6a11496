//! Packet-level network emulation: round-trip time, jitter, bandwidth, loss and a bottleneck queue
//! between ssebench's clients and its server, so that TCP itself sees the delay and the loss and
//! retransmits (Linux, root).
//!
//! # Why this design
//! The kernel here has no `netem` qdisc, so neither delay nor loss can come from `tc`. What works
//! as root: network namespaces, TUN devices and `setns(2)`. So:
//!
//! ```text
//!   client namespace ssebench-<pid>-<n>-c        server namespace ssebench-<pid>-<n>-s
//!   198.18.0.2 (and all of 198.18.0.0/24)         198.18.1.2
//!   route 198.18.1.0/24 -> ssebench0 (TUN)        route 198.18.0.0/24 -> ssebench0 (TUN)
//!                 |                                               ^
//!                 |  fd   thread "netem-up":   loss -> bottleneck -> delay   fd |
//!                 +---------------------------------------------------------------+
//!                 ^  fd   thread "netem-down": loss -> bottleneck -> delay   fd |
//!                 +---------------------------------------------------------------+
//! ```
//!
//! - **Two namespaces, nothing else.** Each side has one TUN device and a route to the other
//!   side's /24 through it, and no other interface but its own loopback: the only way between them
//!   is through the forwarder, and no packet can reach the host's interfaces. Addresses come from
//!   the benchmarking range 198.18.0.0/15 (RFC 2544), which no real network uses.
//! - **A userspace forwarder in the calling process.** Two threads, one per direction, read IP
//!   packets from one TUN descriptor and write them to the other (descriptors work whichever
//!   namespace the thread is in). Each packet goes through the `shaper` model: a Bernoulli loss
//!   draw, then a link of the configured rate with a tail-drop FIFO of `queue_packets`, then the
//!   one-way delay `rtt / 2` plus uniform jitter, never reordered. The rate is computed on a
//!   virtual clock, so scheduling hiccups of the thread delay packets but do not change the rate.
//!   Rates count IP bytes (a TUN device has no link-layer framing), so TCP goodput over a
//!   10 Mbit/s link is about 9.65 Mbit/s (1448 payload bytes per 1500-byte packet).
//! - **Why not veth + `tbf`.** `tbf` would give the rate, but still no delay and no loss; a
//!   forwarder is needed for those anyway, and one model for all four keeps them consistent (a
//!   loss draw before the queue, pacing and delay after it).
//! - **Why TUN and not raw sockets on veth.** A TUN device hands the forwarder each packet instead
//!   of the kernel forwarding it too; nothing has to be filtered or suppressed.
//! - **MTU 1500** ([`MTU`]), the size of real Ethernet paths, so TCP segments, and therefore the
//!   packet counts that loss applies to, look like the Internet's. The devices have no offloads
//!   (no GSO/GRO), so every packet is at most 1500 bytes. IPv6 is switched off in both namespaces,
//!   so the only packets counted are the benchmark's own.
//! - **Sockets join a side by `setns`.** [`Emulator::enter`] moves the calling thread into a
//!   namespace (a tokio runtime's workers in `on_thread_start`); [`Emulator::run_in`] creates a
//!   socket there from any thread; [`Emulator::command`] starts a program there (Chromium) with
//!   `ip netns exec`. The embedded server and the load generator stay in one process.
//! - **Cleanup.** Dropping the [`Emulator`] stops the threads, closes the TUN descriptors (which
//!   destroys the devices) and deletes both namespaces. A process killed outright leaves the
//!   namespaces (the devices die with its descriptors); their names carry its pid, and
//!   [`clean_leftovers`] deletes those whose pid is no longer running: call it at start-up. For
//!   Ctrl-C, a binary catches the signal, ends its run and drops the emulator (or calls
//!   [`Emulator::shutdown`] to see a failure).
//! - **Checked, not trusted.** `tests/emulator.rs` measures a configured 50 ms RTT as TCP connect
//!   time, 10 Mbit/s and 2 Mbit/s by bulk transfers, and 2% loss from the forwarder's counters;
//!   `scripts/netem-check.sh` prints those figures beside the configured ones.
//!
//! # Limits
//! - Linux only; needs CAP_NET_ADMIN and CAP_SYS_ADMIN (root), `/dev/net/tun` and `ip`
//!   (iproute2). Without them [`Emulator::start`] fails with [`NetemError`] naming what is missing.
//! - IPv4 only. Loss is independent per packet (no bursts). Jitter never reorders, so with jitter
//!   the mean one-way delay rises a little above `rtt / 2` for closely spaced packets.
//! - The forwarder copies every packet through userspace with a few system calls, one thread per
//!   direction. Measured on the 2-core development machine (one TCP bulk transfer, 2 ms RTT, no
//!   rate limit): about 230,000 full-size packets/s, 2.7 Gbit/s of goodput, in a release build;
//!   90,000 packets/s, 1 Gbit/s, in a debug build. Near that ceiling packets wait for the thread,
//!   which shows as lateness in [`DirectionStats`] (`lateness_mean`, `lateness_max`): a figure to
//!   record beside every measured point. Each direction holds at most [`MAX_IN_FLIGHT_PACKETS`]
//!   packets in its delay line; more are counted as `dropped_limit`, apart from the emulated drops.
//! - Delivery is as punctual as the forwarder thread's wake-ups (it runs at nice -10 when allowed):
//!   on a quiet machine a mean of 0.1-0.15 ms and a maximum under 1 ms; with both cores busy
//!   compiling, means of 0.5-1.8 ms and maxima of 7-23 ms were seen. Medians of several samples
//!   stay within a millisecond of the configured RTT; single samples can be off by that much.
//! - Delay adds to the path's own: tens of microseconds for the two TUN hops.
//!
//! # Files
//! [`config`] (what to emulate, validated), `shaper` (the per-direction model, pure),
//! `forwarder` (the threads), `namespace` (`ip netns`, names, privileges, leftovers),
//! `emulator` (the handle), `measure` (RTT through the path), [`stats`] (counters), `rng`.

pub mod config;
mod emulator;
mod error;
mod forwarder;
mod measure;
mod namespace;
mod rng;
mod shaper;
pub mod stats;

pub use config::{Bandwidth, ConfigError, NetworkConfig, ParseBandwidthError};
pub use emulator::{Emulator, Side, CLIENT_ADDR, MTU, SERVER_ADDR};
pub use error::NetemError;
pub use forwarder::MAX_IN_FLIGHT_PACKETS;
pub use measure::RttMeasurement;
pub use namespace::{
    clean_leftovers, exists as namespace_exists, list as list_namespaces, NAMESPACE_PREFIX,
};
pub use stats::{DirectionStats, Stats};
