//! [`Emulator`]: the two namespaces, their TUN devices, the two forwarder threads, and the handle
//! that removes them all when dropped.

use std::fs::File;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use tun_rs::{DeviceBuilder, SyncDevice};

use crate::config::{ConfigError, NetworkConfig};
use crate::error::NetemError;
use crate::forwarder::{self, DirectionControl};
use crate::namespace;
use crate::rng::Rng;
use crate::shaper::DirectionParams;
use crate::stats::Stats;

/// MTU of both TUN devices, the usual Ethernet payload size, so TCP segments are the size they
/// are on real paths (MSS 1460, or 1448 with timestamps).
pub const MTU: u16 = 1500;
/// The clients' address (client namespace), from the benchmarking range 198.18.0.0/15.
pub const CLIENT_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
/// The server's address (server namespace), from the benchmarking range 198.18.0.0/15.
pub const SERVER_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 2);
/// The clients' subnet: every address in it is local in the client namespace, so a load
/// generator may bind many source addresses (ephemeral ports run out per source address).
const CLIENT_NET: &str = "198.18.0.0/24";
/// The server's subnet.
const SERVER_NET: &str = "198.18.1.0/24";
/// The TUN device's name inside each namespace.
const TUN_NAME: &str = "ssebench0";

/// One end of the emulated path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The namespace of the load generator and the browser.
    Client,
    /// The namespace of the server.
    Server,
}

#[derive(Debug)]
struct Namespace {
    name: String,
    file: File,
}

/// A running emulated network: two namespaces, a TUN device in each, and a forwarder thread per
/// direction between the devices. Dropping it stops the threads and deletes the namespaces.
pub struct Emulator {
    config: Mutex<NetworkConfig>,
    client: Namespace,
    server: Namespace,
    up: Arc<DirectionControl>,
    down: Arc<DirectionControl>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    devices: Vec<Arc<SyncDevice>>,
    torn_down: bool,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("client", &self.client.name)
            .field("server", &self.server.name)
            .field("config", &self.config())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// Deletes the namespaces created so far if `start` fails half-way.
struct Partial(Vec<String>);

impl Drop for Partial {
    fn drop(&mut self) {
        for name in &self.0 {
            if let Err(err) = namespace::delete(name) {
                tracing::warn!(%err, "cleaning up a half-made namespace");
            }
        }
    }
}

impl Emulator {
    /// Checks `config` and the privileges, creates the namespaces and devices, and starts
    /// forwarding. Needs CAP_NET_ADMIN and CAP_SYS_ADMIN (root), `/dev/net/tun` and `ip`
    /// (iproute2); the error names whichever is missing.
    pub fn start(config: NetworkConfig) -> Result<Emulator, NetemError> {
        config.validate()?;
        namespace::check_prerequisites()?;
        let (client_name, server_name) = namespace::fresh_names();
        let mut partial = Partial(Vec::new());
        for name in [&client_name, &server_name] {
            namespace::create(name)?;
            partial.0.push(name.clone());
        }
        let client = Namespace {
            file: namespace::open(&client_name)?,
            name: client_name,
        };
        let server = Namespace {
            file: namespace::open(&server_name)?,
            name: server_name,
        };
        let client_dev = Arc::new(create_tun(&client.file)?);
        let server_dev = Arc::new(create_tun(&server.file)?);
        let client_addr = CLIENT_ADDR.to_string();
        let server_addr = SERVER_ADDR.to_string();
        let mtu = MTU.to_string();
        for (ns, local, local_net, remote_net) in [
            (&client.name, &client_addr, CLIENT_NET, SERVER_NET),
            (&server.name, &server_addr, SERVER_NET, CLIENT_NET),
        ] {
            namespace::ip(&["-n", ns, "link", "set", "dev", "lo", "up"])?;
            namespace::ip(&[
                "-n",
                ns,
                "link",
                "set",
                "dev",
                TUN_NAME,
                "mtu",
                &mtu,
                "txqueuelen",
                "1000",
                "up",
            ])?;
            let local32 = format!("{local}/32");
            namespace::ip(&["-n", ns, "addr", "add", &local32, "dev", TUN_NAME])?;
            if ns == &client.name {
                namespace::ip(&["-n", ns, "route", "add", "local", local_net, "dev", "lo"])?;
            }
            namespace::ip(&[
                "-n", ns, "route", "add", remote_net, "dev", TUN_NAME, "src", local,
            ])?;
        }

        let seed = config.seed.unwrap_or_else(Rng::fresh_seed);
        let up = Arc::new(DirectionControl::new(direction_params(&config, Dir::Up)));
        let down = Arc::new(DirectionControl::new(direction_params(&config, Dir::Down)));
        let stop = Arc::new(AtomicBool::new(false));
        let mut emulator = Emulator {
            config: Mutex::new(config),
            client,
            server,
            up,
            down,
            stop,
            threads: Vec::new(),
            devices: vec![Arc::clone(&client_dev), Arc::clone(&server_dev)],
            torn_down: false,
        };
        // From here on the emulator's own Drop cleans up.
        partial.0.clear();
        for (name, input, output, control, seed) in [
            ("netem-up", &client_dev, &server_dev, &emulator.up, seed),
            (
                "netem-down",
                &server_dev,
                &client_dev,
                &emulator.down,
                seed ^ 0x5555_5555_5555_5555,
            ),
        ] {
            let thread = forwarder::spawn(
                name.to_owned(),
                Arc::clone(input),
                Arc::clone(output),
                Arc::clone(control),
                Arc::clone(&emulator.stop),
                seed,
            )
            .map_err(|source| NetemError::Io {
                what: "spawning a forwarder thread",
                source,
            })?;
            emulator.threads.push(thread);
        }
        Ok(emulator)
    }

    /// The address of `side` inside its namespace.
    pub fn addr(&self, side: Side) -> IpAddr {
        IpAddr::V4(match side {
            Side::Client => CLIENT_ADDR,
            Side::Server => SERVER_ADDR,
        })
    }

    /// Source addresses the client side may bind besides [`Emulator::addr`]: the rest of
    /// 198.18.0.0/24 (198.18.0.3 to 198.18.0.254), all local in the client namespace.
    pub fn extra_client_addrs(&self) -> impl Iterator<Item = IpAddr> {
        (3..=254).map(|host| IpAddr::V4(Ipv4Addr::new(198, 18, 0, host)))
    }

    /// The name of `side`'s namespace, e.g. `ssebench-4242-0-c` (for `ip netns exec`).
    pub fn namespace(&self, side: Side) -> &str {
        &self.ns(side).name
    }

    fn ns(&self, side: Side) -> &Namespace {
        match side {
            Side::Client => &self.client,
            Side::Server => &self.server,
        }
    }

    /// Moves the calling thread into `side`'s namespace (`setns(2)`): sockets it creates from
    /// then on live there. Meant for threads the caller owns, e.g. a tokio runtime's workers in
    /// `on_thread_start`; a socket keeps its namespace whichever thread uses it later. There is
    /// no way back: a thread that entered stays.
    pub fn enter(&self, side: Side) -> io::Result<()> {
        namespace::enter(&self.ns(side).file)
    }

    /// Runs `f` on a short-lived thread inside `side`'s namespace and returns its result: the
    /// way to create a listener or a socket there from any thread.
    pub fn run_in<R, F>(&self, side: Side, f: F) -> io::Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let file = &self.ns(side).file;
        std::thread::scope(|scope| {
            scope
                .spawn(|| namespace::enter(file).map(|()| f()))
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// A command that runs `program` inside `side`'s namespace (`ip netns exec NAME program`),
    /// e.g. Chromium in the client namespace. Add arguments to it as usual.
    pub fn command(&self, side: Side, program: &Path) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.ns(side).name])
            .arg(program);
        command
    }

    /// The counters so far, per direction.
    pub fn stats(&self) -> Stats {
        Stats {
            up: self.up.counters.snapshot(),
            down: self.down.counters.snapshot(),
        }
    }

    /// The config in force.
    pub fn config(&self) -> NetworkConfig {
        self.config
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Changes the conditions without recreating the namespaces (e.g. between the points of a
    /// sweep): packets read from now on get the new settings, packets already in flight keep
    /// theirs. The seed is taken at start only.
    pub fn reconfigure(&self, config: NetworkConfig) -> Result<(), ConfigError> {
        config.validate()?;
        self.up.set_params(direction_params(&config, Dir::Up));
        self.down.set_params(direction_params(&config, Dir::Down));
        *self.config.lock().unwrap_or_else(PoisonError::into_inner) = config;
        Ok(())
    }

    /// Stops forwarding and deletes the namespaces, reporting a failure (which `Drop` can only
    /// log).
    pub fn shutdown(mut self) -> Result<(), NetemError> {
        self.teardown()
    }

    fn teardown(&mut self) -> Result<(), NetemError> {
        if self.torn_down {
            return Ok(());
        }
        self.torn_down = true;
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            if thread.join().is_err() {
                tracing::error!("a forwarder thread panicked");
            }
        }
        // Closing the descriptors destroys the TUN devices.
        self.devices.clear();
        let client = namespace::delete(&self.client.name);
        let server = namespace::delete(&self.server.name);
        client.and(server)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Err(err) = self.teardown() {
            tracing::warn!(%err, "removing the emulator's namespaces");
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Dir {
    Up,
    Down,
}

fn direction_params(config: &NetworkConfig, dir: Dir) -> DirectionParams {
    let (bandwidth, loss) = match dir {
        Dir::Up => (config.bandwidth_up, config.loss_up),
        Dir::Down => (config.bandwidth_down, config.loss_down),
    };
    DirectionParams {
        one_way: config.rtt / 2,
        jitter: config.jitter,
        bandwidth,
        loss,
        queue_packets: config.queue_packets,
    }
}

/// Creates the TUN device inside the namespace `ns`: the device is made in the namespace of the
/// thread that opens `/dev/net/tun`, so a short-lived thread enters it first. IPv6 is switched off
/// there first, so the only packets on the path are the ones the benchmark sends.
fn create_tun(ns: &File) -> Result<SyncDevice, NetemError> {
    let made = std::thread::scope(|scope| {
        scope
            .spawn(|| -> Result<SyncDevice, NetemError> {
                namespace::enter(ns).map_err(|source| NetemError::Io {
                    what: "entering a network namespace (setns)",
                    source,
                })?;
                for key in ["all", "default"] {
                    let path = format!("/proc/sys/net/ipv6/conf/{key}/disable_ipv6");
                    match std::fs::write(&path, "1") {
                        Ok(()) => {}
                        // No IPv6 in this kernel: nothing to switch off.
                        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                        Err(source) => {
                            return Err(NetemError::Io {
                                what: "switching IPv6 off in a namespace",
                                source,
                            })
                        }
                    }
                }
                let device =
                    DeviceBuilder::new()
                        .name(TUN_NAME)
                        .build_sync()
                        .map_err(|source| NetemError::Io {
                            what: "creating a TUN device (/dev/net/tun)",
                            source,
                        })?;
                device
                    .set_nonblocking(true)
                    .map_err(|source| NetemError::Io {
                        what: "making a TUN device non-blocking",
                        source,
                    })?;
                Ok(device)
            })
            .join()
    });
    made.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
