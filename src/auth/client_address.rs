//! The client address that failed authentication is counted against: the
//! peer address, unless the peer is one of the configured trusted proxies;
//! then the rightmost `X-Forwarded-For` entry that is not itself a trusted
//! proxy. Entries left of it were written by the client and prove nothing,
//! so they are never read (a client cannot pick its own throttle key).

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

/// One trusted network: an address (IPv4 as IPv4-mapped IPv6) and how many
/// leading bits must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Net {
    bits: u128,
    prefix: u32,
}

impl Net {
    fn contains(&self, ip: IpAddr) -> bool {
        let mask = match self.prefix {
            0 => 0,
            p => u128::MAX << (128 - p),
        };
        (as_bits(ip) & mask) == (self.bits & mask)
    }
}

fn as_bits(ip: IpAddr) -> u128 {
    match ip.to_canonical() {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// `--trusted-proxies`: comma-separated IPs and CIDRs (`10.0.0.0/8`,
/// `::1`, `fd00::/8`); empty trusts nobody.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Net>);

impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut nets = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (addr, prefix) = match item.split_once('/') {
                Some((addr, prefix)) => (addr, Some(prefix)),
                None => (item, None),
            };
            let ip: IpAddr = addr.parse().map_err(|_| {
                format!("'{item}' is not an IP address or CIDR (e.g. 10.0.0.0/8, ::1)")
            })?;
            let max = if ip.to_canonical().is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(p) => p
                    .parse::<u32>()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| format!("'{item}': the prefix length must be 0 to {max}"))?,
            };
            // An IPv4 prefix counts the 96 bits of the mapping prefix too.
            let prefix = if max == 32 { prefix + 96 } else { prefix };
            nets.push(Net {
                bits: as_bits(ip),
                prefix,
            });
        }
        Ok(Self(nets))
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self
            .0
            .iter()
            .map(|n| {
                let ip = IpAddr::V6(Ipv6Addr::from(n.bits)).to_canonical();
                let prefix = if ip.is_ipv4() {
                    n.prefix - 96
                } else {
                    n.prefix
                };
                format!("{ip}/{prefix}")
            })
            .collect();
        f.write_str(&items.join(","))
    }
}

impl TrustedProxies {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client address for a request from `peer` carrying these
    /// `X-Forwarded-For` header values (in the order received).
    pub fn client_address(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        // Right to left: each trusted hop vouches for the entry it appended.
        let mut client = peer;
        for value in forwarded_for.iter().rev() {
            for entry in value.rsplit(',') {
                match parse_entry(entry) {
                    Some(ip) => {
                        client = ip;
                        if !self.contains(ip) {
                            return ip;
                        }
                    }
                    // A trusted hop that wrote garbage: count against that hop.
                    None => return client,
                }
            }
        }
        client
    }
}

/// `1.2.3.4`, `1.2.3.4:5678`, `::1` or `[::1]:80`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_ips_and_cidrs_and_refuses_garbage() {
        let t: TrustedProxies = "10.0.0.0/8, 192.168.1.7,::1,fd00::/8".parse().unwrap();
        assert!(t.contains(ip("10.200.3.4")));
        assert!(!t.contains(ip("11.0.0.1")));
        assert!(t.contains(ip("192.168.1.7")));
        assert!(!t.contains(ip("192.168.1.8")));
        assert!(t.contains(ip("::1")));
        assert!(t.contains(ip("fd12::1")));
        assert!(!t.contains(ip("fe80::1")));
        // IPv4 seen as IPv4-mapped IPv6 is the same address.
        assert!(t.contains(ip("::ffff:10.1.1.1")));
        assert_eq!(t.to_string(), "10.0.0.0/8,192.168.1.7/32,::1/128,fd00::/8");
        assert!("".parse::<TrustedProxies>().unwrap().is_empty());
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("proxy.local".parse::<TrustedProxies>().is_err());
        assert!("10.0.0.0/x".parse::<TrustedProxies>().is_err());
        let all: TrustedProxies = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_peer() {
        let t: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let xff = ["6.6.6.6, 1.2.3.4", "10.0.0.2"];
        // Untrusted peer: its own address, whatever it claims.
        assert_eq!(t.client_address(ip("9.9.9.9"), &xff), ip("9.9.9.9"));
        // Trusted peer: the rightmost entry that is not a trusted proxy;
        // the client-written 6.6.6.6 left of it is never read.
        assert_eq!(t.client_address(ip("10.0.0.1"), &xff), ip("1.2.3.4"));
        // With ports and brackets.
        assert_eq!(
            t.client_address(ip("10.0.0.1"), &["[2001:db8::1]:443"]),
            ip("2001:db8::1")
        );
        // No header, or only trusted hops: the leftmost trusted hop.
        assert_eq!(t.client_address(ip("10.0.0.1"), &[]), ip("10.0.0.1"));
        assert_eq!(
            t.client_address(ip("10.0.0.1"), &["10.0.0.9"]),
            ip("10.0.0.9")
        );
        // Garbage from a trusted hop counts against that hop.
        assert_eq!(
            t.client_address(ip("10.0.0.1"), &["1.2.3.4, nonsense"]),
            ip("10.0.0.1")
        );
    }
}
