//! The listener kinds: the shared [`vocab::Protocol`]. Each listener speaks exactly one of them
//! and refuses the others, so a benchmark row labelled `h2` can never have been served over
//! HTTP/1.1 by a silent fallback.

pub use vocab::Protocol;
