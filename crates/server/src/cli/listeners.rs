//! The listener flags: one `--PROTOCOL ADDR` per protocol arm, generated from [`Protocol::ALL`].

use std::net::SocketAddr;

use sse_server::Protocol;
use vocab::Transport;

/// One `--PROTOCOL ADDR` flag per protocol arm ([`Protocol::ALL`]), in that order.
#[derive(Debug, Default)]
pub(crate) struct Listeners(pub(crate) Vec<(Protocol, SocketAddr)>);

/// What a protocol's listener flag says of its listener, from the properties the listener's
/// behaviour follows (`Protocol::transport`, `is_http2`, `alpn`, `is_websocket`).
fn listener_help(protocol: Protocol) -> String {
    if protocol.transport() == Transport::Udp {
        let alpn = protocol.alpn().unwrap_or_default().escape_ascii();
        return format!("HTTP/3 listener address (QUIC on UDP, TLS 1.3, ALPN {alpn} required)");
    }
    let http = if protocol.is_http2() {
        "HTTP/2"
    } else {
        "HTTP/1.1"
    };
    let what = if protocol.is_websocket() {
        format!("WebSocket listener address ({http} whose GET /ws upgrades")
    } else {
        format!("{http} listener address (")
    };
    let how = match (protocol.alpn(), protocol.is_http2()) {
        (Some(alpn), true) => format!("TLS, ALPN {} required", alpn.escape_ascii()),
        (Some(alpn), false) => format!(
            "TLS, ALPN {}; clients without ALPN are served too",
            alpn.escape_ascii()
        ),
        (None, true) => "cleartext, prior knowledge only; refuses HTTP/1.1".to_owned(),
        (None, false) => "cleartext; refuses HTTP/2 prior knowledge".to_owned(),
    };
    let sep = if protocol.is_websocket() { "; " } else { "" };
    format!("{what}{sep}{how})")
}

impl clap::Args for Listeners {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        Protocol::ALL.into_iter().fold(cmd, |cmd, protocol| {
            cmd.arg(
                clap::Arg::new(protocol.as_str())
                    .long(protocol.as_str())
                    .value_name("ADDR")
                    .value_parser(clap::value_parser!(SocketAddr))
                    .help(listener_help(protocol)),
            )
        })
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl clap::FromArgMatches for Listeners {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut listeners = Listeners::default();
        listeners.update_from_arg_matches(matches)?;
        Ok(listeners)
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        for protocol in Protocol::ALL {
            if let Some(&addr) = matches.get_one::<SocketAddr>(protocol.as_str()) {
                self.0.retain(|&(p, _)| p != protocol);
                self.0.push((protocol, addr));
            }
        }
        Ok(())
    }
}
