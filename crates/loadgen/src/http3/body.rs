//! A response body on HTTP/3: the request's stream, read a chunk at a time. Dropping it before
//! the end cancels the stream (quinn sends STOP_SENDING when an unfinished stream is dropped;
//! Chromium's code is `H3_REQUEST_CANCELLED`, quinn's 0: h3-quinn cannot stop a stream while a
//! read is in flight), which gives the server its stream back.

use std::sync::Arc;

use bytes::{Buf, Bytes};

use super::session::Session;
use crate::error::LoadError;

type Stream = h3::client::RequestStream<h3_quinn::BidiStream<Bytes>, Bytes>;

/// The body of one response, and the session it came on (kept until the body is done).
pub(crate) struct H3Body {
    stream: Stream,
    _session: Arc<Session>,
}

impl std::fmt::Debug for H3Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H3Body").finish_non_exhaustive()
    }
}

impl H3Body {
    pub(super) fn new(stream: Stream, session: Arc<Session>) -> Self {
        H3Body {
            stream,
            _session: session,
        }
    }

    /// The next chunk of data; `None` at a clean end of the body.
    pub async fn next_chunk(&mut self) -> Option<Result<Bytes, LoadError>> {
        match self.stream.recv_data().await {
            Ok(Some(mut data)) => Some(Ok(data.copy_to_bytes(data.remaining()))),
            Ok(None) => None,
            Err(e) => Some(Err(LoadError::Http3(e))),
        }
    }
}
