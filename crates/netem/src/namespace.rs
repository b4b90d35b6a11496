//! Network namespaces: naming, creating and deleting them with `ip netns` (iproute2), the
//! privilege check, and the removal of namespaces left behind by runs that died.
//!
//! Names are `ssebench-<pid>-<seq>-c` (clients) and `ssebench-<pid>-<seq>-s` (server): the pid of
//! the process that made them, and a per-process sequence number so several emulators can live in
//! one process (parallel tests). A name whose pid is no longer running is a leftover.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::NetemError;

/// Prefix of every namespace this crate creates.
pub const NAMESPACE_PREFIX: &str = "ssebench-";
/// Where `ip netns` keeps its namespaces (bind mounts named after them).
const NETNS_DIR: &str = "/run/netns";

const CAP_NET_ADMIN: u32 = 12;
const CAP_SYS_ADMIN: u32 = 21;

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// A fresh pair of names for this process: (client, server).
pub(crate) fn fresh_names() -> (String, String) {
    let pid = std::process::id();
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    (
        format!("{NAMESPACE_PREFIX}{pid}-{seq}-c"),
        format!("{NAMESPACE_PREFIX}{pid}-{seq}-s"),
    )
}

/// The pid in a name made by [`fresh_names`], or `None` for any other name.
pub(crate) fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(NAMESPACE_PREFIX)?;
    let (pid, _) = rest.split_once('-')?;
    pid.parse().ok()
}

/// Fails unless this process can create namespaces and devices and enter namespaces, and the
/// tools and the TUN device node are there. The error names what is missing.
pub(crate) fn check_prerequisites() -> Result<(), NetemError> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|source| NetemError::Io {
        what: "reading /proc/self/status",
        source,
    })?;
    let effective = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(0);
    let missing: Vec<&'static str> = [
        (CAP_NET_ADMIN, "CAP_NET_ADMIN"),
        (CAP_SYS_ADMIN, "CAP_SYS_ADMIN"),
    ]
    .into_iter()
    .filter(|(bit, _)| effective & (1 << bit) == 0)
    .map(|(_, name)| name)
    .collect();
    if !missing.is_empty() {
        return Err(NetemError::MissingPrivileges { missing });
    }
    if !Path::new("/dev/net/tun").exists() {
        return Err(NetemError::MissingTunDevice);
    }
    match Command::new("ip").arg("-V").output() {
        Ok(out) if out.status.success() => Ok(()),
        _ => Err(NetemError::MissingTool {
            tool: "ip",
            package: "iproute2",
        }),
    }
}

/// Runs `ip ARGS`; a failure carries the command line and ip's own message.
pub(crate) fn ip(args: &[&str]) -> Result<(), NetemError> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|source| NetemError::Io {
            what: "running ip (iproute2)",
            source,
        })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(NetemError::Command {
            command: format!("ip {}", args.join(" ")),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

/// `ip netns add NAME`.
pub(crate) fn create(name: &str) -> Result<(), NetemError> {
    ip(&["netns", "add", name])
}

/// `ip netns delete NAME`. The namespace itself lives on while a thread or socket still uses it;
/// its name is gone at once.
pub(crate) fn delete(name: &str) -> Result<(), NetemError> {
    ip(&["netns", "delete", name])
}

/// The handle that [`enter`] needs: the namespace's bind mount, opened.
pub(crate) fn open(name: &str) -> Result<File, NetemError> {
    File::open(path(name)).map_err(|source| NetemError::Io {
        what: "opening a network namespace under /run/netns",
        source,
    })
}

fn path(name: &str) -> PathBuf {
    Path::new(NETNS_DIR).join(name)
}

/// Whether a namespace of that name exists.
pub fn exists(name: &str) -> bool {
    path(name).exists()
}

/// Moves the calling thread into the namespace `file` refers to (`setns(2)`, network only).
pub(crate) fn enter(file: &File) -> io::Result<()> {
    use std::os::fd::AsFd;
    rustix::thread::move_into_link_name_space(
        file.as_fd(),
        Some(rustix::thread::LinkNameSpaceType::Network),
    )
    .map_err(io::Error::from)
}

/// Names of the namespaces this crate made (any process), from `/run/netns`.
pub fn list() -> io::Result<Vec<String>> {
    let entries = match std::fs::read_dir(NETNS_DIR) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    let mut names = Vec::new();
    for entry in entries {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.starts_with(NAMESPACE_PREFIX) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

fn pid_is_running(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    let Some(pid) = rustix::process::Pid::from_raw(pid) else {
        return false;
    };
    // EPERM means a process with that pid exists but belongs to someone else: running.
    !matches!(
        rustix::process::test_kill_process(pid),
        Err(rustix::io::Errno::SRCH)
    )
}

/// Deletes every `ssebench-<pid>-…` namespace whose process is no longer running (left behind
/// by a run that crashed or was killed) and returns the names removed. Namespaces of running
/// processes, this one included, are kept. Call it before [`crate::Emulator::start`].
///
/// A pid reused by an unrelated process keeps its leftover until that process ends; a leftover's
/// TUN devices are already gone (they die with the descriptors of the process that made them).
pub fn clean_leftovers() -> Result<Vec<String>, NetemError> {
    let names = list().map_err(|source| NetemError::Io {
        what: "listing /run/netns",
        source,
    })?;
    let mut removed = Vec::new();
    for name in names {
        let Some(pid) = owner_pid(&name) else {
            continue;
        };
        if pid_is_running(pid) {
            continue;
        }
        delete(&name)?;
        removed.push(name);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_pid() {
        let (client, server) = fresh_names();
        let pid = std::process::id();
        assert_eq!(owner_pid(&client), Some(pid));
        assert_eq!(owner_pid(&server), Some(pid));
        assert!(client.ends_with("-c") && server.ends_with("-s"));
        assert_ne!(fresh_names().0, client);
        assert_eq!(owner_pid("ssebench-x-1-c"), None);
        assert_eq!(owner_pid("other-123-0-c"), None);
    }

    #[test]
    fn this_process_is_running() {
        assert!(pid_is_running(std::process::id()));
        let mut child = Command::new("true").spawn().expect("spawn true");
        let pid = child.id();
        child.wait().expect("wait");
        assert!(!pid_is_running(pid));
    }
}
