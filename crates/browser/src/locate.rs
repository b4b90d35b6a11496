//! Finding the Chromium binary: an explicit path (`--chromium`), then `$SSEBENCH_CHROMIUM`, then
//! `chromium` (Debian's package) and its usual other names on `PATH`. Nothing is ever downloaded:
//! a missing browser is an error that names the package to install.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use crate::error::BrowserError;

/// The environment variable that names the Chromium binary (tests and CI use it).
pub const CHROMIUM_ENV: &str = "SSEBENCH_CHROMIUM";

/// Names searched on `PATH`, in order.
const NAMES: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// The Chromium binary to run: `explicit` if given, else `$SSEBENCH_CHROMIUM`, else the first of
/// `chromium`, `chromium-browser`, `google-chrome`, `google-chrome-stable` on `PATH`.
pub fn find_chromium(explicit: Option<&Path>) -> Result<PathBuf, BrowserError> {
    let from_env = std::env::var_os(CHROMIUM_ENV).filter(|v| !v.is_empty());
    find_in(explicit, from_env, std::env::var_os("PATH"))
}

fn find_in(
    explicit: Option<&Path>,
    from_env: Option<OsString>,
    path_var: Option<OsString>,
) -> Result<PathBuf, BrowserError> {
    let named = explicit
        .map(|p| (p.to_owned(), "--chromium"))
        .or_else(|| from_env.map(|p| (PathBuf::from(p), CHROMIUM_ENV)));
    if let Some((path, source)) = named {
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(BrowserError::ChromiumNotFound {
                searched: format!("{} from {source}", path.display()),
            })
        };
    }
    let dirs: Vec<PathBuf> = path_var
        .as_deref()
        .map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default();
    for name in NAMES {
        for dir in &dirs {
            let candidate = dir.join(name);
            if is_executable(&candidate) {
                return Ok(candidate);
            }
        }
    }
    Err(BrowserError::ChromiumNotFound {
        searched: format!("{} on PATH", NAMES.join(", ")),
    })
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bogus_path_names_the_package_to_install() {
        let err = find_in(
            Some(Path::new("/nonexistent/chromium")),
            None,
            Some("/usr/bin".into()),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("/nonexistent/chromium"), "{msg}");
        assert!(msg.contains("apt-get install chromium"), "{msg}");
        let err = find_in(None, Some("/bogus".into()), None).unwrap_err();
        assert!(err.to_string().contains("SSEBENCH_CHROMIUM"), "{err}");
    }

    #[test]
    fn searches_path_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let err = find_in(None, None, Some(dir.path().as_os_str().to_owned())).unwrap_err();
        assert!(
            err.to_string().contains("apt-get install chromium"),
            "{err}"
        );
        let fake = dir.path().join("google-chrome");
        std::fs::write(&fake, "#!/bin/sh\n").unwrap();
        assert!(
            find_in(None, None, Some(dir.path().as_os_str().to_owned())).is_err(),
            "not executable"
        );
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let found = find_in(None, None, Some(dir.path().as_os_str().to_owned())).unwrap();
        assert_eq!(found, fake);
    }
}
