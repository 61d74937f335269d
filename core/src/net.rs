//! IP addresses and CIDR blocks as the bundle writes them, and fast membership sets.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An address block such as `203.0.113.0/24` or `2001:db8::/32`; a bare address is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// The network address (host bits cleared).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// Prefix length in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// True when `ip` lies in this block. IPv4-mapped IPv6 clients (`::ffff:a.b.c.d`) match IPv4
    /// blocks, because dual-stack listeners report IPv4 peers that way.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    fn is_host(&self) -> bool {
        match self.addr {
            IpAddr::V4(_) => self.prefix == 32,
            IpAddr::V6(_) => self.prefix == 128,
        }
    }
}

/// Folds IPv4-mapped IPv6 addresses to IPv4 so both spellings of one client are one key.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

impl From<IpAddr> for IpNet {
    /// The single address (a /32 or /128), as the trainer blocklists one client.
    fn from(ip: IpAddr) -> IpNet {
        let ip = canonical(ip);
        let prefix = if ip.is_ipv4() { 32 } else { 128 };
        IpNet { addr: ip, prefix }
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<IpNet, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{s}` is not an IP address or CIDR block"))?;
        let addr = canonical(addr);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => {
                let p: u8 = p
                    .parse()
                    .map_err(|_| format!("`{s}` has an invalid prefix length"))?;
                if p > max {
                    return Err(format!("`{s}` has prefix length {p}, more than {max}"));
                }
                p
            }
        };
        let net = IpNet { addr, prefix };
        // Store the network address so `10.1.2.3/8` and `10.0.0.0/8` are the same block.
        let addr = match addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V4((u32::from(a) & mask).into())
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V6((u128::from(a) & mask).into())
            }
        };
        Ok(IpNet { addr, ..net })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_host() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

impl<'de> serde::Deserialize<'de> for IpNet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<IpNet, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for IpNet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A set of addresses and blocks, answering "is this client in it?" in O(1) for single
/// addresses and O(blocks) for CIDR entries. Each member carries a payload index (the caller's
/// entry number) so a match can report which entry fired.
#[derive(Debug, Clone, Default)]
pub struct IpSet {
    hosts: std::collections::HashMap<IpAddr, usize>,
    blocks: Vec<(IpNet, usize)>,
}

impl IpSet {
    /// Adds a block; `index` is returned by [`IpSet::find`] when it matches. The first entry
    /// added for one address wins.
    pub fn insert(&mut self, net: IpNet, index: usize) {
        if net.is_host() {
            self.hosts.entry(net.addr).or_insert(index);
        } else {
            self.blocks.push((net, index));
        }
    }

    /// The index of an entry containing `ip`, if any.
    pub fn find(&self, ip: IpAddr) -> Option<usize> {
        let ip = canonical(ip);
        if let Some(i) = self.hosts.get(&ip) {
            return Some(*i);
        }
        self.blocks
            .iter()
            .find(|(net, _)| net.contains(ip))
            .map(|(_, i)| *i)
    }

    /// Indexes of every entry containing `ip` (used when some entries may have expired).
    pub fn find_all(&self, ip: IpAddr) -> impl Iterator<Item = usize> + '_ {
        let ip = canonical(ip);
        self.hosts.get(&ip).copied().into_iter().chain(
            self.blocks
                .iter()
                .filter(move |(n, _)| n.contains(ip))
                .map(|(_, i)| *i),
        )
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.hosts.len() + self.blocks.len()
    }

    /// True when the set has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn parses_hosts_and_blocks() {
        assert_eq!(net("10.1.2.3/8").to_string(), "10.0.0.0/8");
        assert_eq!(net("203.0.113.9").to_string(), "203.0.113.9");
        assert_eq!(net("2001:db8::1/32").to_string(), "2001:db8::/32");
        assert_eq!(net("::ffff:192.0.2.1").to_string(), "192.0.2.1");
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("2001:db8::/129".parse::<IpNet>().is_err());
        assert!("10.0.0/8".parse::<IpNet>().is_err());
        assert!("=HYPERLINK(1)".parse::<IpNet>().is_err());
        assert!("10.0.0.0/x".parse::<IpNet>().is_err());
    }

    #[test]
    fn contains_respects_prefix_and_family() {
        assert!(net("10.0.0.0/8").contains("10.200.1.1".parse().unwrap()));
        assert!(!net("10.0.0.0/8").contains("11.0.0.1".parse().unwrap()));
        assert!(net("0.0.0.0/0").contains("1.2.3.4".parse().unwrap()));
        assert!(net("2001:db8::/32").contains("2001:db8:1::5".parse().unwrap()));
        assert!(!net("2001:db8::/32").contains("10.0.0.1".parse().unwrap()));
        assert!(net("192.0.2.0/24").contains("::ffff:192.0.2.77".parse().unwrap()));
    }

    #[test]
    fn set_finds_hosts_and_blocks() {
        let mut s = IpSet::default();
        s.insert(net("198.51.100.7"), 0);
        s.insert(net("203.0.113.0/24"), 1);
        assert_eq!(s.find("198.51.100.7".parse().unwrap()), Some(0));
        assert_eq!(s.find("203.0.113.200".parse().unwrap()), Some(1));
        assert_eq!(s.find("198.51.100.8".parse().unwrap()), None);
        assert_eq!(s.len(), 2);
    }
}
