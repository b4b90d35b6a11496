//! How `bench` ends, one meaning per exit code, for every command alike.

use std::process::ExitCode;

/// The exit status of a `bench` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: done, and nothing regressed.
    Success,
    /// 1: a run failed or stopped early (what was measured is written), `compare` found a
    /// regression, or a report or plot could not be written.
    Failure,
    /// 2: unusable input (a bad scenario file or flag, an unreachable target, an unreadable
    /// report); nothing was measured.
    Usage,
    /// 130 (128 + SIGINT): interrupted by Ctrl-C; what was measured is written.
    Interrupted,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Interrupted => 130,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status.code())
    }
}
