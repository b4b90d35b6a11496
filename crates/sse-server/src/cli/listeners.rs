//! The listener flags: one `--PROTOCOL ADDR` per protocol arm, generated from [`Protocol::ALL`].

use std::net::SocketAddr;

use sse_server::Protocol;

/// One `--PROTOCOL ADDR` flag per protocol arm ([`Protocol::ALL`]), in that order.
#[derive(Debug, Default)]
pub(crate) struct Listeners(pub(crate) Vec<(Protocol, SocketAddr)>);

/// What a protocol's listener flag says of its listener.
fn listener_help(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::H1 => {
            "Cleartext HTTP/1.1 listener address (refuses HTTP/2 prior knowledge), e.g. \
             127.0.0.1:8080"
        }
        Protocol::H1Tls => {
            "HTTP/1.1 over TLS listener address (ALPN http/1.1; clients without ALPN are served \
             too)"
        }
        Protocol::H2 => "HTTP/2 over TLS listener address (ALPN h2 required)",
        Protocol::H2c => {
            "Cleartext HTTP/2 listener address (prior knowledge only; refuses HTTP/1.1)"
        }
        Protocol::Ws => {
            "WebSocket listener address: cleartext HTTP/1.1 whose GET /ws upgrades, e.g. \
             127.0.0.1:8081"
        }
        Protocol::Wss => {
            "WebSocket over TLS listener address (ALPN http/1.1, as --h1-tls; GET /ws upgrades)"
        }
    }
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
