//! The fixed vocabularies of a report: client kinds, protocol arms, metric kinds and latency
//! fields, each with the exact word used in its column.

use std::fmt;
use std::str::FromStr;

use crate::error::FieldError;

/// What drove the requests of an arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClientKind {
    /// ssebench's own browser-faithful connection pools.
    Emulated,
    /// A real headless Chromium.
    Chromium,
}

impl ClientKind {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Emulated => "emulated",
            Self::Chromium => "chromium",
        }
    }
}

impl FromStr for ClientKind {
    type Err = FieldError;

    fn from_str(text: &str) -> Result<Self, FieldError> {
        match text {
            "emulated" => Ok(Self::Emulated),
            "chromium" => Ok(Self::Chromium),
            _ => Err(FieldError::NotOneOf {
                expected: "`emulated`, `chromium`",
            }),
        }
    }
}

impl fmt::Display for ClientKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The protocol arm: how the requests of a sweep point travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// HTTP/1.1 over cleartext TCP.
    H1,
    /// HTTP/1.1 over TLS.
    H1Tls,
    /// HTTP/2 over TLS with ALPN `h2`, as browsers use it.
    H2,
    /// HTTP/2 over cleartext TCP with prior knowledge.
    H2c,
}

impl Protocol {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::H1 => "h1",
            Self::H1Tls => "h1-tls",
            Self::H2 => "h2",
            Self::H2c => "h2c",
        }
    }
}

impl FromStr for Protocol {
    type Err = FieldError;

    fn from_str(text: &str) -> Result<Self, FieldError> {
        match text {
            "h1" => Ok(Self::H1),
            "h1-tls" => Ok(Self::H1Tls),
            "h2" => Ok(Self::H2),
            "h2c" => Ok(Self::H2c),
            _ => Err(FieldError::NotOneOf {
                expected: "`h1`, `h1-tls`, `h2`, `h2c`",
            }),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a row is a latency summary or a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MetricKind {
    /// A latency summary in microseconds.
    Latency,
    /// A count of events.
    Counter,
}

impl MetricKind {
    /// The `kind` cell.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Latency => "latency",
            Self::Counter => "counter",
        }
    }

    /// The `unit` cell that goes with this kind.
    pub fn unit(self) -> &'static str {
        match self {
            Self::Latency => "us",
            Self::Counter => "count",
        }
    }
}

impl fmt::Display for MetricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MetricKind {
    type Err = FieldError;

    fn from_str(text: &str) -> Result<Self, FieldError> {
        match text {
            "latency" => Ok(Self::Latency),
            "counter" => Ok(Self::Counter),
            _ => Err(FieldError::NotOneOf {
                expected: "`latency`, `counter`",
            }),
        }
    }
}

/// One statistic of a latency summary: a column of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LatencyField {
    /// Number of samples.
    Count,
    /// Arithmetic mean.
    Mean,
    /// Median.
    P50,
    /// 90th percentile.
    P90,
    /// 99th percentile.
    P99,
    /// 99.9th percentile.
    P999,
    /// Largest sample.
    Max,
}

impl LatencyField {
    /// Every field, in column order.
    pub const ALL: [LatencyField; 7] = [
        Self::Count,
        Self::Mean,
        Self::P50,
        Self::P90,
        Self::P99,
        Self::P999,
        Self::Max,
    ];

    /// The column name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Mean => "mean",
            Self::P50 => "p50",
            Self::P90 => "p90",
            Self::P99 => "p99",
            Self::P999 => "p999",
            Self::Max => "max",
        }
    }
}

impl FromStr for LatencyField {
    type Err = FieldError;

    fn from_str(text: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|field| field.as_str() == text)
            .ok_or(FieldError::NotOneOf {
                expected: "`count`, `mean`, `p50`, `p90`, `p99`, `p999`, `max`",
            })
    }
}

impl fmt::Display for LatencyField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for protocol in [Protocol::H1, Protocol::H1Tls, Protocol::H2, Protocol::H2c] {
            assert_eq!(protocol.as_str().parse::<Protocol>(), Ok(protocol));
        }
        for client in [ClientKind::Emulated, ClientKind::Chromium] {
            assert_eq!(client.as_str().parse::<ClientKind>(), Ok(client));
        }
        for field in LatencyField::ALL {
            assert_eq!(field.as_str().parse::<LatencyField>(), Ok(field));
        }
        assert!("H2".parse::<Protocol>().is_err());
    }
}
