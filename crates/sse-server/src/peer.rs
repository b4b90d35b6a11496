//! Who a client is, for the shares one client may hold (slots under the connection limit,
//! channels): its IP address; an IPv6 client by its /64, the block one host is usually given, so
//! that a host cannot take a fresh share with every address of its block. An IPv4 address mapped
//! into IPv6 is the IPv4 client it is.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// A client address as the shares count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ClientAddr(IpAddr);

impl ClientAddr {
    /// 127.0.0.1, for unit tests.
    #[cfg(test)]
    pub(crate) const LOOPBACK: ClientAddr = ClientAddr(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));

    pub(crate) fn of(ip: IpAddr) -> ClientAddr {
        match ip {
            IpAddr::V4(_) => ClientAddr(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientAddr(IpAddr::V4(v4)),
                None => {
                    let [a, b, c, d, ..] = v6.segments();
                    ClientAddr(IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0)))
                }
            },
        }
    }
}

impl fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => v4.fmt(f),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_64_block() {
        let of = |s: &str| ClientAddr::of(s.parse().expect("an address"));
        assert_eq!(of("2001:db8:1:2:aaaa::1"), of("2001:db8:1:2:bbbb::9"));
        assert_ne!(of("2001:db8:1:2::1"), of("2001:db8:1:3::1"));
        assert_eq!(of("::ffff:127.0.0.2"), of("127.0.0.2"));
        assert_ne!(of("127.0.0.1"), of("127.0.0.2"));
        assert_eq!(of("2001:db8:1:2:aaaa::1").to_string(), "2001:db8:1:2::/64");
        assert_eq!(of("127.0.0.2").to_string(), "127.0.0.2");
    }
}
