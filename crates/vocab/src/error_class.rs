//! The classes failures are counted under (h2's `Error::reason()` is the model): a refused TCP
//! connect is not a stream reset, a GOAWAY is not a timeout. Reports count each class in its own
//! row (`errors_<class>`), so a run never hides errors inside an average.

/// An error class; [`ErrorClass::metric_name`] is its report row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorClass {
    /// TCP connect refused or unreachable.
    Refused,
    /// The connection was reset or closed under a request or stream (on QUIC: the peer's
    /// CONNECTION_CLOSE, a stateless reset).
    Reset,
    /// Stream reset by the peer (HTTP/2 RST_STREAM, HTTP/3 RESET_STREAM).
    RstStream,
    /// Request failed by a GOAWAY (HTTP/2, HTTP/3).
    GoAway,
    /// A connect, handshake or request took too long (on QUIC also the idle timeout).
    Timeout,
    /// The response status or content type was not what the request needs.
    Status,
    /// The event stream broke a parser limit.
    Parse,
    /// The TLS handshake failed (certificate, alert).
    Tls,
    /// The wrong protocol was negotiated (fatal for the run).
    Protocol,
}

impl ErrorClass {
    /// Every class, in report order.
    pub const ALL: [ErrorClass; 9] = [
        ErrorClass::Refused,
        ErrorClass::Reset,
        ErrorClass::RstStream,
        ErrorClass::GoAway,
        ErrorClass::Timeout,
        ErrorClass::Status,
        ErrorClass::Parse,
        ErrorClass::Tls,
        ErrorClass::Protocol,
    ];

    /// The class's short name.
    pub fn name(self) -> &'static str {
        self.names().0
    }

    /// The report row counting this class: `errors_<name>`.
    pub fn metric_name(self) -> &'static str {
        self.names().1
    }

    /// The report row counting the answers that failed in this class: `answers_failed_<name>`.
    pub fn answers_failed_name(self) -> &'static str {
        self.names().2
    }

    fn names(self) -> (&'static str, &'static str, &'static str) {
        /// Each class's name, and its rows' made from it.
        macro_rules! names {
            ($($class:ident => $name:literal,)*) => {
                match self {
                    $(ErrorClass::$class => (
                        $name,
                        concat!("errors_", $name),
                        concat!("answers_failed_", $name),
                    ),)*
                }
            };
        }
        names! {
            Refused => "refused",
            Reset => "reset",
            RstStream => "rst_stream",
            GoAway => "goaway",
            Timeout => "timeout",
            Status => "status",
            Parse => "parse",
            Tls => "tls",
            Protocol => "protocol",
        }
    }

    /// The class's index in [`ErrorClass::ALL`], for arrays of counters.
    pub fn index(self) -> usize {
        self as usize
    }
}

crate::word!(ErrorClass, "error class", name);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_errors_and_the_name() {
        for (i, class) in ErrorClass::ALL.into_iter().enumerate() {
            assert_eq!(class.index(), i);
            assert_eq!(class.metric_name(), format!("errors_{}", class.name()));
            assert_eq!(
                class.answers_failed_name(),
                format!("answers_failed_{}", class.name())
            );
        }
    }
}
