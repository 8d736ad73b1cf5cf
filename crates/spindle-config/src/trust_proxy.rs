//! Which peers' forwarding headers (`X-Forwarded-*`, `Forwarded`) are believed
//! (`server.trustProxy`, spelt as Express and Fastify spell it). A client that talks to
//! the public port directly could otherwise claim any address, scheme or host; behind a
//! load balancer, what it adds is the truth the app needs. The data path asks
//! [`TrustProxy::trusts_peer`] and [`TrustProxy::kept`] for each request.

use std::fmt;
use std::net::IpAddr;

use serde::{Serialize, Serializer};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TrustProxy {
    /// Nobody: forwarding headers from the client are replaced or removed.
    #[default]
    Nobody,
    /// Every peer and every hop it names.
    Everyone,
    /// The peer and the hops it names, this many in all counted from us (Express's
    /// `trust proxy: N`): the peer is hop 1.
    Hops(u32),
    /// Peers and named hops whose address is in one of these networks.
    Networks(Vec<Network>),
}

/// An address block, `10.0.0.0/8` or `fd00::/8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    bits: u8,
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.bits)
    }
}

/// As it is written in the config: `false`, `true`, a hop count, or the blocks.
impl Serialize for TrustProxy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TrustProxy::Nobody => s.serialize_bool(false),
            TrustProxy::Everyone => s.serialize_bool(true),
            TrustProxy::Hops(n) => s.serialize_u32(*n),
            TrustProxy::Networks(nets) => s.collect_seq(nets.iter().map(ToString::to_string)),
        }
    }
}

impl Network {
    /// `a.b.c.d`, `a.b.c.d/n`, an IPv6 address with or without `/n`, or one of Express's
    /// names is handled by [`TrustProxy::parse_list`].
    pub fn parse(text: &str) -> Result<Network, String> {
        let (addr, bits) = match text.split_once('/') {
            Some((addr, bits)) => (addr, Some(bits)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or a CIDR block"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            None => max,
            Some(b) => match b.trim().parse::<u8>() {
                Ok(b) if b <= max => b,
                _ => return Err(format!("{text:?}: the prefix length must be 0 to {max}")),
            },
        };
        Ok(Network { addr, bits })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = unmapped(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(u32::from(net) as u128, u32::from(ip) as u128, self.bits, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(u128::from(net), u128::from(ip), self.bits, 128)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: u128, b: u128, bits: u8, width: u32) -> bool {
    if bits == 0 {
        return true;
    }
    let shift = width - u32::from(bits);
    (a >> shift) == (b >> shift)
}

/// An IPv4 peer on a dual-stack socket arrives as `::ffff:a.b.c.d`.
fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

impl TrustProxy {
    /// A list of addresses, CIDR blocks and Express's names `loopback`, `linklocal`,
    /// `uniquelocal` (what `trustProxy: "10.0.0.0/8, loopback"` or an array holds).
    pub fn parse_list<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<TrustProxy, String> {
        let mut nets = Vec::new();
        for item in items {
            for part in item.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                match part {
                    "loopback" => nets.extend(["127.0.0.1/8", "::1/128"].map(net)),
                    "linklocal" => nets.extend(["169.254.0.0/16", "fe80::/10"].map(net)),
                    "uniquelocal" => nets.extend(
                        ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"].map(net),
                    ),
                    _ => nets.push(Network::parse(part)?),
                }
            }
        }
        Ok(TrustProxy::Networks(nets))
    }

    /// Whether what `peer` says about earlier hops is believed at all.
    pub fn trusts_peer(&self, peer: IpAddr) -> bool {
        match self {
            TrustProxy::Nobody => false,
            TrustProxy::Everyone => true,
            TrustProxy::Hops(n) => *n >= 1,
            TrustProxy::Networks(nets) => nets.iter().any(|n| n.contains(peer)),
        }
    }

    /// Of a trusted peer's `X-Forwarded-For` chain (`entries`, in order, the nearest hop
    /// last), how many entries at its end are kept: the hops vouched for by trusted
    /// proxies, and the first hop none vouches for (the client as the last trusted proxy
    /// saw it). Entries before that are the client's own claims, and are dropped.
    pub fn kept(&self, entries: &[&[u8]]) -> usize {
        match self {
            TrustProxy::Nobody => 0,
            TrustProxy::Everyone => entries.len(),
            // The peer is hop 1; each entry from the end is the next hop.
            TrustProxy::Hops(n) => entries.len().min(*n as usize),
            TrustProxy::Networks(nets) => {
                let mut kept = 0;
                for entry in entries.iter().rev() {
                    kept += 1;
                    let trusted =
                        parse_hop(entry).is_some_and(|ip| nets.iter().any(|n| n.contains(ip)));
                    if !trusted {
                        break;
                    }
                }
                kept
            }
        }
    }
}

fn net(text: &str) -> Network {
    Network::parse(text).expect("a valid built-in network")
}

/// One `X-Forwarded-For` entry: an address, maybe with a port (`1.2.3.4:80`, `[::1]:80`).
fn parse_hop(entry: &[u8]) -> Option<IpAddr> {
    let entry = std::str::from_utf8(entry).ok()?.trim();
    if let Ok(ip) = entry.parse() {
        return Some(ip);
    }
    if let Some(rest) = entry.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    entry.rsplit_once(':').and_then(|(ip, _)| ip.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_match_by_prefix_and_family() {
        let n = Network::parse("10.1.0.0/16").unwrap();
        assert!(n.contains(ip("10.1.200.3")));
        assert!(!n.contains(ip("10.2.0.1")));
        assert!(n.contains(ip("::ffff:10.1.0.9")), "an IPv4-mapped peer");
        assert!(!n.contains(ip("fd00::1")));
        let v6 = Network::parse("fd00::/8").unwrap();
        assert!(v6.contains(ip("fd12:3456::1")));
        assert!(!v6.contains(ip("fe80::1")));
        assert!(Network::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Network::parse("192.0.2.7")
            .unwrap()
            .contains(ip("192.0.2.7")));
        assert!(!Network::parse("192.0.2.7")
            .unwrap()
            .contains(ip("192.0.2.8")));
    }

    #[test]
    fn bad_blocks_say_what_is_wrong() {
        assert!(Network::parse("10.0.0.0/33")
            .unwrap_err()
            .contains("0 to 32"));
        assert!(Network::parse("ten")
            .unwrap_err()
            .contains("not an IP address"));
        assert!(TrustProxy::parse_list(["loopback, nowhere"]).is_err());
    }

    #[test]
    fn named_blocks_expand() {
        let t = TrustProxy::parse_list(["loopback", "uniquelocal"]).unwrap();
        assert!(t.trusts_peer(ip("127.0.0.1")));
        assert!(t.trusts_peer(ip("::1")));
        assert!(t.trusts_peer(ip("192.168.1.1")));
        assert!(!t.trusts_peer(ip("8.8.8.8")));
    }

    fn kept(t: &TrustProxy, chain: &[&str]) -> usize {
        t.kept(&chain.iter().map(|e| e.as_bytes()).collect::<Vec<_>>())
    }

    #[test]
    fn hops_keep_as_many_entries_as_trusted_proxies_vouch_for() {
        let chain = ["6.6.6.6", "203.0.113.9", "10.0.0.2"];
        assert_eq!(kept(&TrustProxy::Nobody, &chain), 0);
        assert_eq!(kept(&TrustProxy::Everyone, &chain), 3);
        assert_eq!(kept(&TrustProxy::Hops(1), &chain), 1);
        assert_eq!(kept(&TrustProxy::Hops(2), &chain), 2);
        assert_eq!(kept(&TrustProxy::Hops(9), &chain), 3);
        assert!(!TrustProxy::Hops(0).trusts_peer(ip("10.0.0.1")));
    }

    #[test]
    fn networks_keep_entries_up_to_the_first_untrusted_hop() {
        let t = TrustProxy::parse_list(["10.0.0.0/8", "fd00::/8"]).unwrap();
        // The client claimed 6.6.6.6; the inner proxy 10.0.0.2 saw 203.0.113.9.
        assert_eq!(kept(&t, &["6.6.6.6", "203.0.113.9", "10.0.0.2"]), 2);
        assert_eq!(
            kept(&t, &["203.0.113.9:4000", "[fd00::1]:80", "10.0.0.2:9"]),
            3
        );
        assert_eq!(kept(&t, &["10.0.0.3", "10.0.0.2"]), 2);
        assert_eq!(kept(&t, &["garbage"]), 1);
    }
}
