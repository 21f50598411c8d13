//! IPv4 subnets, just what lab networks need.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 subnet in CIDR notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    pub base: Ipv4Addr,
    pub prefix: u8,
}

impl Subnet {
    fn mask(self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix))
        }
    }

    pub fn contains(self, addr: Ipv4Addr) -> bool {
        u32::from(addr) & self.mask() == u32::from(self.base)
    }

    pub fn overlaps(self, other: Subnet) -> bool {
        self.contains(other.base) || other.contains(self.base)
    }

    /// First host address, used as the network's gateway.
    pub fn gateway(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.base) + 1)
    }

    pub fn broadcast(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.base) | !self.mask())
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

impl FromStr for Subnet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not in CIDR notation (like 10.101.0.0/24)"))?;
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|_| format!("`{addr}` is not an IPv4 address"))?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| (8..=29).contains(p))
            .ok_or_else(|| format!("prefix `/{prefix}` must be between /8 and /29"))?;
        let net = Subnet { base: addr, prefix };
        if u32::from(addr) & net.mask() != u32::from(addr) {
            let base = Ipv4Addr::from(u32::from(addr) & net.mask());
            return Err(format!(
                "`{s}` has host bits set; the network is {base}/{prefix}"
            ));
        }
        Ok(net)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_contains() {
        let n: Subnet = "10.101.0.0/24".parse().unwrap();
        assert!(n.contains("10.101.0.200".parse().unwrap()));
        assert!(!n.contains("10.101.1.2".parse().unwrap()));
        assert_eq!(n.gateway().to_string(), "10.101.0.1");
        assert_eq!(n.broadcast().to_string(), "10.101.0.255");
        assert!("10.101.0.1/24".parse::<Subnet>().is_err());
        assert!("10.101.0.0".parse::<Subnet>().is_err());
        assert!("10.101.0.0/31".parse::<Subnet>().is_err());
        let wide: Subnet = "10.101.0.0/16".parse().unwrap();
        assert!(wide.overlaps(n));
    }
}
