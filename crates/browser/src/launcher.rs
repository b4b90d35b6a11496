//! How a browser program is started: directly, or through a wrapper that first moves it into a
//! network namespace of its own, whose only route leads to the server (netem's client side of an
//! emulated network: `ip netns exec NAME program`). The wrapper must end by executing the program
//! in place, so the process started, and whose process group is killed, is the browser itself.
//!
//! The browser's own arguments, environment and process group go on whatever command the launcher
//! makes, so what keeps it off every host but the server is the same either way, except what the
//! namespace changes: Chromium's resolver rules also let the server's address through, and Firefox
//! runs without `MOZ_DISABLE_NONLOCAL_CONNECTIONS` (each said in its driver).
//! `tests/isolation.rs` checks the system calls.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

/// Makes the command that starts `program` somewhere else (e.g. inside a network namespace).
pub type Wrap = Arc<dyn Fn(&Path) -> Command + Send + Sync>;

/// How a browser program is started. [`Launcher::direct`] (the default) runs it as it is.
#[derive(Clone, Default)]
pub struct Launcher {
    namespace: Option<Wrap>,
}

impl std::fmt::Debug for Launcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.namespace {
            None => "Launcher::direct",
            Some(_) => "Launcher::in_network_namespace",
        })
    }
}

impl Launcher {
    /// Runs the browser program itself, in this process's network namespace.
    pub fn direct() -> Launcher {
        Launcher::default()
    }

    /// Runs the browser through `wrap(program)`, a command that executes `program` in place
    /// inside a network namespace whose only route leads to the server: netem's
    /// `Emulator::command(Side::Client, program)`. The caller talks to the browser's remote
    /// protocol port from inside that namespace too (it listens on the namespace's loopback).
    pub fn in_network_namespace(wrap: impl Fn(&Path) -> Command + Send + Sync + 'static) -> Self {
        Launcher {
            namespace: Some(Arc::new(wrap)),
        }
    }

    /// True when the browser runs in a network namespace of its own ([`Self::in_network_namespace`]).
    pub fn in_own_namespace(&self) -> bool {
        self.namespace.is_some()
    }

    /// The command that starts `program`; the browser's arguments and environment go on it.
    pub fn command(&self, program: &Path) -> Command {
        match &self.namespace {
            None => Command::new(program),
            Some(wrap) => wrap(program),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_runs_the_program_and_a_wrapper_comes_first() {
        let program = Path::new("/usr/bin/chromium");
        let direct = Launcher::direct().command(program);
        assert_eq!(direct.get_program(), program);
        assert_eq!(direct.get_args().count(), 0);
        assert!(!Launcher::direct().in_own_namespace());

        let wrapped = Launcher::in_network_namespace(|p| {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", "ns-c"]).arg(p);
            c
        });
        assert!(wrapped.in_own_namespace());
        let mut c = wrapped.command(program);
        c.arg("--headless");
        let args: Vec<_> = c.get_args().collect();
        assert_eq!(c.get_program(), "ip");
        assert_eq!(
            args,
            ["netns", "exec", "ns-c", "/usr/bin/chromium", "--headless"]
        );
        assert_eq!(format!("{wrapped:?}"), "Launcher::in_network_namespace");
    }
}
