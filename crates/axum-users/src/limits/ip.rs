//! The client's address: the socket peer, or `X-Forwarded-For` behind trusted proxies.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;

/// An address block, `10.0.0.0/8` or `fd00::/8`; a bare address is a block of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpCidr {
    network: IpAddr,
    prefix: u8,
}

/// A block that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid address block {0:?}: expected an IP address or address/prefix")]
pub struct CidrError(String);

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, as a dual-stack socket reports IPv4 peers)
/// are their IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

fn mask_v4(ip: Ipv4Addr, prefix: u8) -> u32 {
    let bits = u32::from(ip);
    if prefix == 0 {
        0
    } else {
        bits & (u32::MAX << (32 - u32::from(prefix.min(32))))
    }
}

fn mask_v6(ip: Ipv6Addr, prefix: u8) -> u128 {
    let bits = u128::from(ip);
    if prefix == 0 {
        0
    } else {
        bits & (u128::MAX << (128 - u32::from(prefix.min(128))))
    }
}

impl IpCidr {
    /// The block of `addr` with `prefix` leading bits.
    ///
    /// # Errors
    /// A prefix longer than the address (32 for IPv4, 128 for IPv6).
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Self, CidrError> {
        // `::ffff:a.b.c.d/104` is `a.b.c.d/8`.
        let prefix = match addr {
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() && prefix >= 96 => prefix - 96,
            _ => prefix,
        };
        let addr = canonical(addr);
        let (network, max) = match addr {
            IpAddr::V4(v4) => (IpAddr::V4(Ipv4Addr::from(mask_v4(v4, prefix))), 32),
            IpAddr::V6(v6) => (IpAddr::V6(Ipv6Addr::from(mask_v6(v6, prefix))), 128),
        };
        if prefix > max {
            return Err(CidrError(format!("{addr}/{prefix}")));
        }
        Ok(Self { network, prefix })
    }

    /// Whether `ip` is in the block.
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => mask_v4(ip, self.prefix) == u32::from(net),
            (IpAddr::V6(net), IpAddr::V6(ip)) => mask_v6(ip, self.prefix) == u128::from(net),
            _ => false,
        }
    }
}

impl FromStr for IpCidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || CidrError(s.to_owned());
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => {
                let prefix: u8 = prefix.parse().map_err(|_| bad())?;
                (addr, Some(prefix))
            }
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let prefix = prefix.unwrap_or(match canonical(addr) {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        });
        Self::new(addr, prefix).map_err(|_| bad())
    }
}

impl fmt::Display for IpCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The proxies whose `X-Forwarded-For` is believed. Empty by default: the socket peer is the
/// client, and `X-Forwarded-For` is ignored (anyone can send it).
///
/// ```
/// use axum_users::limits::TrustedProxies;
///
/// let proxies = TrustedProxies::parse(["10.0.0.0/8", "127.0.0.1", "fd00::/8"]).unwrap();
/// assert!(proxies.contains("10.1.2.3".parse().unwrap()));
/// assert!(!proxies.contains("192.0.2.1".parse().unwrap()));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    blocks: Vec<IpCidr>,
}

impl TrustedProxies {
    /// No proxy is trusted.
    #[must_use]
    pub fn none() -> Self {
        Self::default()
    }

    /// These blocks are trusted.
    #[must_use]
    pub fn new(blocks: impl IntoIterator<Item = IpCidr>) -> Self {
        Self {
            blocks: blocks.into_iter().collect(),
        }
    }

    /// Parses blocks (`10.0.0.0/8`, `::1`, …).
    ///
    /// # Errors
    /// The first block that does not parse.
    pub fn parse<I>(blocks: I) -> Result<Self, CidrError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let blocks = blocks
            .into_iter()
            .map(|b| b.as_ref().parse())
            .collect::<Result<_, _>>()?;
        Ok(Self { blocks })
    }

    /// Whether `ip` is a trusted proxy.
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.blocks.iter().any(|b| b.contains(ip))
    }

    /// Whether no proxy is trusted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// The trusted blocks.
    #[must_use]
    pub fn blocks(&self) -> &[IpCidr] {
        &self.blocks
    }
}

/// One `X-Forwarded-For` entry: an address, or `address:port` / `[v6]:port` as some proxies
/// write it.
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(canonical)
}

/// The client's address: the socket peer (`ConnectInfo<SocketAddr>`, present when the app is
/// served with `into_make_service_with_connect_info::<SocketAddr>()`), or `None` without it.
///
/// Only when the peer is a trusted proxy is `X-Forwarded-For` read (every such header, in
/// order, as one list): from the right, trusted addresses are skipped and the first address
/// that is not trusted is the client (what the outermost trusted proxy saw). Entries further
/// left were written by the client and are ignored. When every entry is trusted, the leftmost
/// is the client; when an entry does not parse, the trusted hop to its right is.
#[must_use]
pub fn client_ip(parts: &Parts, trusted: &TrustedProxies) -> Option<IpAddr> {
    let peer = canonical(parts.extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip());
    if !trusted.contains(peer) {
        return Some(peer);
    }
    let mut client = peer;
    let headers = parts.headers.get_all("x-forwarded-for");
    let entries = headers.iter().flat_map(|v| {
        v.to_str()
            .map_or_else(|_| vec![""], |s| s.split(',').collect())
    });
    let entries: Vec<&str> = entries.collect();
    for entry in entries.iter().rev() {
        let Some(ip) = parse_forwarded(entry) else {
            break;
        };
        client = ip;
        if !trusted.contains(ip) {
            break;
        }
    }
    Some(client)
}

/// The key an address is limited under: IPv4 addresses whole, IPv6 addresses by their first
/// `v6_prefix` bits (a /64 is what one host or home usually holds, and it has 2^64 addresses
/// to rotate through).
pub(crate) fn ip_key(ip: IpAddr, v6_prefix: u8) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let prefix = v6_prefix.min(128);
            format!("{}/{prefix}", Ipv6Addr::from(mask_v6(v6, prefix)))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::http::Request;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn parts(peer: Option<&str>, xff: &[&str]) -> Parts {
        let mut req = Request::builder();
        for v in xff {
            req = req.header("x-forwarded-for", *v);
        }
        let (mut parts, ()) = req.body(()).unwrap().into_parts();
        if let Some(peer) = peer {
            parts
                .extensions
                .insert(ConnectInfo(SocketAddr::new(ip(peer), 4242)));
        }
        parts
    }

    #[test]
    fn blocks_parse_and_match() {
        let b: IpCidr = "10.0.0.0/8".parse().unwrap();
        assert!(b.contains(ip("10.255.0.1")));
        assert!(b.contains(ip("::ffff:10.0.0.1")));
        assert!(!b.contains(ip("11.0.0.1")));
        assert_eq!(b.to_string(), "10.0.0.0/8");
        // Host bits are dropped; a bare address is a block of one.
        assert_eq!("10.1.2.3/8".parse::<IpCidr>().unwrap(), b);
        assert_eq!(
            "192.0.2.7".parse::<IpCidr>().unwrap().to_string(),
            "192.0.2.7/32"
        );
        let v6: IpCidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:1::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        assert!(!v6.contains(ip("10.0.0.1")));
        let all: IpCidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        assert!("::/0".parse::<IpCidr>().unwrap().contains(ip("::1")));
        assert_eq!("::ffff:10.0.0.0/104".parse::<IpCidr>().unwrap(), b);
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "nope",
            "10.0.0.0/x",
            "10.0.0/8",
        ] {
            assert!(bad.parse::<IpCidr>().is_err(), "{bad}");
        }
        assert!(TrustedProxies::parse(["10.0.0.0/8", "bad"]).is_err());
    }

    #[test]
    fn the_peer_is_the_client_unless_it_is_a_trusted_proxy() {
        let none = TrustedProxies::none();
        let proxies = TrustedProxies::parse(["10.0.0.0/8"]).unwrap();
        assert_eq!(client_ip(&parts(None, &[]), &none), None);
        // Untrusted peer: its X-Forwarded-For is ignored.
        let p = parts(Some("203.0.113.5"), &["198.51.100.1"]);
        assert_eq!(client_ip(&p, &none), Some(ip("203.0.113.5")));
        assert_eq!(client_ip(&p, &proxies), Some(ip("203.0.113.5")));
        // Trusted peer without the header: the peer.
        assert_eq!(
            client_ip(&parts(Some("10.0.0.1"), &[]), &proxies),
            Some(ip("10.0.0.1"))
        );
        // A dual-stack socket's IPv4-mapped peer is its IPv4 address.
        assert_eq!(
            client_ip(&parts(Some("::ffff:10.0.0.1"), &["198.51.100.1"]), &proxies),
            Some(ip("198.51.100.1"))
        );
    }

    #[test]
    fn the_rightmost_untrusted_forwarded_address_is_the_client() {
        let proxies = TrustedProxies::parse(["10.0.0.0/8"]).unwrap();
        let client = |xff: &[&str]| client_ip(&parts(Some("10.0.0.1"), xff), &proxies);
        // A client-forged entry on the left is ignored.
        assert_eq!(
            client(&["1.1.1.1, 198.51.100.7, 10.0.0.2"]),
            Some(ip("198.51.100.7"))
        );
        // Several header lines are one list.
        assert_eq!(
            client(&["1.1.1.1", "198.51.100.7", "10.0.0.2"]),
            Some(ip("198.51.100.7"))
        );
        // Ports and brackets, as some proxies write them.
        assert_eq!(client(&["198.51.100.7:5555"]), Some(ip("198.51.100.7")));
        assert_eq!(client(&["[2001:db8::1]:443"]), Some(ip("2001:db8::1")));
        // Every entry trusted: the leftmost.
        assert_eq!(client(&["10.9.9.9, 10.0.0.2"]), Some(ip("10.9.9.9")));
        // Garbage stops the walk at the trusted hop to its right.
        assert_eq!(
            client(&["198.51.100.7, junk, 10.0.0.2"]),
            Some(ip("10.0.0.2"))
        );
        assert_eq!(client(&["junk"]), Some(ip("10.0.0.1")));
    }

    #[test]
    fn ipv6_addresses_are_limited_by_prefix() {
        assert_eq!(ip_key(ip("192.0.2.1"), 64), "192.0.2.1");
        assert_eq!(ip_key(ip("::ffff:192.0.2.1"), 64), "192.0.2.1");
        assert_eq!(
            ip_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), 64),
            "2001:db8:1:2::/64"
        );
        assert_eq!(ip_key(ip("2001:db8::1"), 128), "2001:db8::1/128");
    }
}
