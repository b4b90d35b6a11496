//! Finding a browser binary: an explicit path (the caller's flag, e.g. `--browser-path`), then
//! the browser's environment variable (`SSEBENCH_CHROMIUM`, `SSEBENCH_FIREFOX`), then its names on
//! `PATH` (`chromium`, ...; `firefox-esr`, `firefox`), all from its driver's [`Install`]. Nothing
//! is ever downloaded: a missing browser is an error that names the Debian package to install.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use vocab::BrowserProfile;

use crate::chromium::Chromium;
use crate::driver::{Driver, Install};
use crate::error::BrowserError;
use crate::firefox::Firefox;

/// Where `browser` is found and what drives it: its driver's [`Driver::INSTALL`].
pub fn install(browser: BrowserProfile) -> &'static Install {
    match browser {
        BrowserProfile::Chromium => &Chromium::INSTALL,
        BrowserProfile::Firefox => &Firefox::INSTALL,
    }
}

/// The binary of `browser`: `explicit` if given, else its environment variable, else the first
/// of its names on `PATH` ([`Install`]).
pub fn find_browser(
    browser: BrowserProfile,
    explicit: Option<&Path>,
) -> Result<PathBuf, BrowserError> {
    let from_env = std::env::var_os(install(browser).env_var).filter(|v| !v.is_empty());
    find_in(browser, explicit, from_env, std::env::var_os("PATH"))
}

fn find_in(
    browser: BrowserProfile,
    explicit: Option<&Path>,
    from_env: Option<OsString>,
    path_var: Option<OsString>,
) -> Result<PathBuf, BrowserError> {
    let install = install(browser);
    let not_found = |searched| BrowserError::NotFound {
        browser,
        searched,
        package: install.package,
        env_var: install.env_var,
    };
    let named = explicit
        .map(|p| (p.to_owned(), "the command line"))
        .or_else(|| from_env.map(|p| (PathBuf::from(p), install.env_var)));
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
    for name in install.path_names {
        for dir in &dirs {
            let candidate = dir.join(name);
            if is_executable(&candidate) {
                return Ok(candidate);
            }
        }
    }
    Err(not_found(format!(
        "{} on PATH",
        install.path_names.join(", ")
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
            BrowserProfile::Chromium,
            Some(Path::new("/nonexistent/chromium")),
            None,
            Some("/usr/bin".into()),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("/nonexistent/chromium"), "{msg}");
        assert!(msg.contains("apt-get install chromium"), "{msg}");
        let err = find_in(BrowserProfile::Chromium, None, Some("/bogus".into()), None).unwrap_err();
        assert!(err.to_string().contains("SSEBENCH_CHROMIUM"), "{err}");
        let err = find_in(BrowserProfile::Firefox, None, Some("/bogus".into()), None).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("SSEBENCH_FIREFOX"), "{msg}");
        assert!(msg.contains("apt-get install firefox-esr"), "{msg}");
    }

    #[test]
    fn searches_path_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = || Some(dir.path().as_os_str().to_owned());
        let err = find_in(BrowserProfile::Chromium, None, None, path()).unwrap_err();
        assert!(
            err.to_string().contains("apt-get install chromium"),
            "{err}"
        );
        let fake = dir.path().join("google-chrome");
        std::fs::write(&fake, "#!/bin/sh\n").unwrap();
        assert!(
            find_in(BrowserProfile::Chromium, None, None, path()).is_err(),
            "not executable"
        );
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let found = find_in(BrowserProfile::Chromium, None, None, path()).unwrap();
        assert_eq!(found, fake);

        // Firefox: `firefox-esr` before `firefox`.
        assert!(find_in(BrowserProfile::Firefox, None, None, path()).is_err());
        for name in ["firefox", "firefox-esr"] {
            let p = dir.path().join(name);
            std::fs::write(&p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let found = find_in(BrowserProfile::Firefox, None, None, path()).unwrap();
        assert_eq!(found, dir.path().join("firefox-esr"));
    }
}
