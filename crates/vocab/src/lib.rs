//! The words every ssebench crate shares, each defined once.
//!
//! The server, the load generator, the browser runner, the reports and the command line all speak
//! of the same protocol arms, client kinds, error classes and metrics. Each is one type here, as
//! hyper and h2 share one `http::Version`: a rename is one edit, and a mismatch cannot compile.
//!
//! - [`Protocol`]: how a point's requests travel (`h1`, `h1-tls`, `h2`, `h2c`, `ws`, `wss`, `h3`), and
//!   [`Transport`]: what its connections run on (TCP, or UDP for QUIC);
//! - [`ClientKind`]: what drove them (the emulation, Chromium, Firefox), and [`BrowserProfile`]:
//!   whose rules the emulation follows;
//! - [`ErrorClass`]: the classes failures are counted under;
//! - [`Metric`]: every metric a report row can carry, with its [`MetricInfo`] (name, kind, unit,
//!   what it measures from which instant to which, and how `compare` treats it by default). The
//!   live [`Counter`]s and [`Latency`]s the load generator records are metrics too;
//! - [`error_chain`]: how an error and its causes read on one line;
//! - [`Word`]: a closed vocabulary that prints and parses itself; every list of accepted words
//!   is generated from its `ALL` ([`word!`] makes another crate's closed set one);
//! - [`IntervalCounts`]: what one interval of a point's time series counted, from the load
//!   generator's sample to the report's series file;
//! - [`Workload`]: what one sweep point asks of its clients, whichever kind drives them (the
//!   arm, the clients and streams, the POST schedule, the answers, the paths on the server);
//!   [`StreamKind`]: what a client's streams are (EventSources or answer tabs), and
//!   [`AnswerPlan`]: the streamed answers they ask, framed as [`AnswerFraming`] says.

mod answer;
mod client;
mod error_chain;
mod error_class;
mod interval;
mod metric;
mod open_loop;
mod protocol;
mod word;
mod workload;

pub use answer::{AnswerFraming, AnswerPlan, AnswerRequest, StreamKind, ANSWER_RETRY_PAUSE};
pub use client::{BrowserProfile, ClientKind};
pub use error_chain::error_chain;
pub use error_class::ErrorClass;
pub use interval::IntervalCounts;
pub use metric::{Counter, DefaultRule, Latency, Metric, MetricInfo, MetricKind};
pub use protocol::{Protocol, Transport};
pub use word::{UnknownWord, Word};
pub use workload::{Paths, PostPlan, Workload};
