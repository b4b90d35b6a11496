//! The ways starting or stopping an emulator fails.

use std::io;

use crate::config::ConfigError;

/// Why an [`crate::Emulator`] could not start (or stop cleanly).
#[derive(Debug, thiserror::Error)]
pub enum NetemError {
    /// A config value out of range.
    #[error(transparent)]
    InvalidConfig(#[from] ConfigError),
    /// The process lacks capabilities: creating namespaces and TUN devices needs CAP_NET_ADMIN,
    /// mounting and entering namespaces CAP_SYS_ADMIN. A binary maps this to exit code 2.
    #[error(
        "network emulation needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root); this process lacks {}",
        missing.join(" and ")
    )]
    MissingPrivileges {
        /// Capability names, e.g. `["CAP_SYS_ADMIN"]`.
        missing: Vec<&'static str>,
    },
    /// No `/dev/net/tun`.
    #[error("network emulation needs /dev/net/tun (load the tun kernel module: modprobe tun)")]
    MissingTunDevice,
    /// A program this crate runs is not installed.
    #[error("network emulation needs the `{tool}` program (install {package})")]
    MissingTool {
        /// The program, e.g. `ip`.
        tool: &'static str,
        /// The Debian package that has it.
        package: &'static str,
    },
    /// An `ip` command failed.
    #[error("`{command}` failed: {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A system call or file operation failed.
    #[error("{what}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
}
