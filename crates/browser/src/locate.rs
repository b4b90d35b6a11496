//! Finding a browser binary: an explicit path (the caller's flag, e.g. `--chromium`), then the
//! kind's environment variable (`SSEBENCH_CHROMIUM`, `SSEBENCH_FIREFOX`), then the kind's names on
//! `PATH` (`chromium`, ...; `firefox-esr`, `firefox`). Nothing is ever downloaded: a missing
//! browser is an error that names the Debian package to install.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use crate::error::BrowserError;
use crate::kind::BrowserKind;

/// The Chromium binary to run: `explicit` if given, else `$SSEBENCH_CHROMIUM`, else the first of
/// `chromium`, `chromium-browser`, `google-chrome`, `google-chrome-stable` on `PATH`.
pub fn find_chromium(explicit: Option<&Path>) -> Result<PathBuf, BrowserError> {
    find_browser(BrowserKind::Chromium, explicit)
}

/// The binary of `kind`: `explicit` if given, else the kind's environment variable, else the
/// first of its names on `PATH` ([`BrowserKind::path_names`]).
pub fn find_browser(kind: BrowserKind, explicit: Option<&Path>) -> Result<PathBuf, BrowserError> {
    let from_env = std::env::var_os(kind.env_var()).filter(|v| !v.is_empty());
    find_in(kind, explicit, from_env, std::env::var_os("PATH"))
}

fn find_in(
    kind: BrowserKind,
    explicit: Option<&Path>,
    from_env: Option<OsString>,
    path_var: Option<OsString>,
) -> Result<PathBuf, BrowserError> {
    let not_found = |searched| BrowserError::NotFound {
        browser: kind,
        searched,
    };
    let named = explicit
        .map(|p| (p.to_owned(), "the command line"))
        .or_else(|| from_env.map(|p| (PathBuf::from(p), kind.env_var())));
    if let Some((path, source)) = named {
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(not_found(format!("{} from {source}", path.display())))
        };
    }
    let dirs: Vec<PathBuf> = path_var
        .as_deref()
        .map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default();
    for name in kind.path_names() {
        for dir in &dirs {
            let candidate = dir.join(name);
            if is_executable(&candidate) {
                return Ok(candidate);
            }
        }
    }
    Err(not_found(format!(
        "{} on PATH",
        kind.path_names().join(", ")
    )))
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
            BrowserKind::Chromium,
            Some(Path::new("/nonexistent/chromium")),
            None,
            Some("/usr/bin".into()),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("/nonexistent/chromium"), "{msg}");
        assert!(msg.contains("apt-get install chromium"), "{msg}");
        let err = find_in(BrowserKind::Chromium, None, Some("/bogus".into()), None).unwrap_err();
        assert!(err.to_string().contains("SSEBENCH_CHROMIUM"), "{err}");
        let err = find_in(BrowserKind::Firefox, None, Some("/bogus".into()), None).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("SSEBENCH_FIREFOX"), "{msg}");
        assert!(msg.contains("apt-get install firefox-esr"), "{msg}");
    }

    #[test]
    fn searches_path_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = || Some(dir.path().as_os_str().to_owned());
        let err = find_in(BrowserKind::Chromium, None, None, path()).unwrap_err();
        assert!(
            err.to_string().contains("apt-get install chromium"),
            "{err}"
        );
        let fake = dir.path().join("google-chrome");
        std::fs::write(&fake, "#!/bin/sh\n").unwrap();
        assert!(
            find_in(BrowserKind::Chromium, None, None, path()).is_err(),
            "not executable"
        );
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let found = find_in(BrowserKind::Chromium, None, None, path()).unwrap();
        assert_eq!(found, fake);

        // Firefox: `firefox-esr` before `firefox`.
        assert!(find_in(BrowserKind::Firefox, None, None, path()).is_err());
        for name in ["firefox", "firefox-esr"] {
            let p = dir.path().join(name);
            std::fs::write(&p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let found = find_in(BrowserKind::Firefox, None, None, path()).unwrap();
        assert_eq!(found, dir.path().join("firefox-esr"));
    }
}
