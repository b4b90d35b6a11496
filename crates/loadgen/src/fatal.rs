//! What stops a point early: a reason that makes the rest of the measurement meaningless. The
//! point stops and says why; what was measured before it stays in the report.

/// What stopped a point early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FatalKind {
    /// The server negotiated another protocol than the arm pins.
    ProtocolMismatch,
    /// The target or its TLS trust cannot work (bad URL, certificate that does not verify).
    BadTarget,
    /// Every connect failed for `down_after`: the server is gone or was never there.
    TargetDown,
}

impl FatalKind {
    /// The failure class, as reports and messages name it.
    pub fn name(self) -> &'static str {
        match self {
            FatalKind::ProtocolMismatch => "protocol mismatch",
            FatalKind::BadTarget => "bad target",
            FatalKind::TargetDown => "target down",
        }
    }
}

impl std::fmt::Display for FatalKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A reason that makes the rest of a point meaningless. The point stops and says why; what was
/// measured before it stays in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal {
    pub kind: FatalKind,
    pub message: String,
}

/// `class: message`, e.g. `target down: every connect failed for 5.0 s (last: ...)`.
impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}
