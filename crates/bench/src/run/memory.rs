//! A target server's resident memory, read from `/proc/PID/status` (`VmRSS`), for
//! `server_rss_per_client` (`--server-pid`).
//!
//! The embedded server shares the bench process with the load generator, so its memory cannot be
//! told apart from the clients'; a server in a process of its own (the `server` binary, or any
//! server on this machine) can. Memory a process frees usually stays resident, so the growth is
//! only meaningful on a fresh server: run one server per point (`scripts/server-memory.sh`).

use std::path::PathBuf;

/// Why a process's memory could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} has no VmRSS line in kB", path.display())]
    NoRss { path: PathBuf },
}

/// The resident memory of process `pid`, in bytes.
pub fn rss_bytes(pid: u32) -> Result<u64, MemoryError> {
    let path = PathBuf::from(format!("/proc/{pid}/status"));
    let text = std::fs::read_to_string(&path).map_err(|source| MemoryError::Read {
        path: path.clone(),
        source,
    })?;
    parse_vm_rss(&text).ok_or(MemoryError::NoRss { path })
}

/// `VmRSS:   1234 kB` in a `/proc/PID/status` text, in bytes.
fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut words = line["VmRSS:".len()..].split_whitespace();
    let kb: u64 = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(kb.checked_mul(1024)?)
}

/// The growth from `before` to `after`, per client (0 if it shrank).
pub fn per_client(before: u64, after: u64, clients: u32) -> u64 {
    after.saturating_sub(before) / u64::from(clients.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_rss_in_bytes() {
        let status = "Name:\tserver\nVmPeak:\t  9000 kB\nVmRSS:\t    2048 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(2048 * 1024));
        assert_eq!(parse_vm_rss("VmRSS:\t12 MB\n"), None);
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
        assert_eq!(parse_vm_rss("VmRSS:\tlots kB\n"), None);
    }

    #[test]
    fn this_process_has_a_resident_size() {
        let rss = rss_bytes(std::process::id()).expect("our own /proc status");
        assert!(rss > 0);
        assert!(matches!(rss_bytes(u32::MAX), Err(MemoryError::Read { .. })));
    }

    #[test]
    fn growth_is_divided_by_the_clients() {
        assert_eq!(per_client(1_000, 51_000, 50), 1_000);
        assert_eq!(per_client(9_000, 1_000, 50), 0, "a shrink is no growth");
        assert_eq!(per_client(0, 10, 0), 10);
    }
}
