//! A stack's copy on other subnets: a lab instance whose stack's subnets
//! are taken on the engine (another copy of the same stack, another
//! class's lab) runs on subnets from a pool, each server keeping its host
//! number.
//!
//! The move is made on the stack document before it is validated, so
//! every address written in the stack follows — the networks' subnets,
//! a virtual IP, a DNS record's value, a firewall rule — and an error
//! still points at the line that holds the value.

use std::net::Ipv4Addr;

use serde_yaml::Value;

use super::Subnet;

/// One subnet moved to another of the same size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    pub from: Subnet,
    pub to: Subnet,
}

impl Move {
    /// `addr` at the same host number in the new subnet, if it is in the
    /// old one.
    fn address(&self, addr: Ipv4Addr) -> Option<Ipv4Addr> {
        if !self.from.contains(addr) {
            return None;
        }
        let host = u32::from(addr) - u32::from(self.from.base);
        Some(Ipv4Addr::from(u32::from(self.to.base) + host))
    }
}

/// The text `s` with its subnet or address moved, if it is one that moves.
fn moved(s: &str, moves: &[Move]) -> Option<String> {
    if let Ok(net) = s.parse::<Subnet>() {
        return moves
            .iter()
            .find(|m| m.from == net)
            .map(|m| m.to.to_string());
    }
    let addr: Ipv4Addr = s.parse().ok()?;
    moves
        .iter()
        .find_map(|m| m.address(addr))
        .map(|a| a.to_string())
}

/// Moves every subnet and address in the document (keys stay as written).
pub fn relocate(value: &mut Value, moves: &[Move]) {
    match value {
        Value::String(s) => {
            if let Some(new) = moved(s, moves) {
                *s = new;
            }
        }
        Value::Sequence(items) => {
            for v in items {
                relocate(v, moves);
            }
        }
        Value::Mapping(m) => {
            for (_, v) in m.iter_mut() {
                relocate(v, moves);
            }
        }
        Value::Tagged(t) => relocate(&mut t.value, moves),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Where lab subnets come from when a stack's own are taken: 10.128.0.0/9
/// in /24s by default — clear of Docker's default address pools
/// (172.17.0.0/16 to 172.31.0.0/16 and 192.168.0.0/16 in /20s) and of the
/// shipped stacks' 10.100–10.103 — or `INFRACTL_SUBNET_POOL`.
pub const DEFAULT_POOL: &str = "10.128.0.0/9";
/// The environment variable that names another pool.
pub const POOL_VAR: &str = "INFRACTL_SUBNET_POOL";

/// The pool `INFRACTL_SUBNET_POOL` names, or the default one.
pub fn pool() -> Result<Subnet, String> {
    let text = std::env::var(POOL_VAR).unwrap_or_else(|_| DEFAULT_POOL.to_string());
    text.parse::<Subnet>()
        .map_err(|e| format!("{POOL_VAR}: {e}"))
}

/// New homes for `wanted` (the stack's subnets, in order): the first
/// subnets of `pool` of each one's size that overlap nothing in `taken`
/// nor each other. None when the pool is full.
pub fn allocate(wanted: &[Subnet], taken: &[Subnet], pool: Subnet) -> Option<Vec<Move>> {
    let mut used: Vec<Subnet> = taken.to_vec();
    let mut moves = Vec::new();
    for &from in wanted {
        if from.prefix < pool.prefix {
            return None;
        }
        let size = 1u64 << (32 - u32::from(from.prefix));
        let end = u64::from(u32::from(pool.base)) + (1u64 << (32 - u32::from(pool.prefix)));
        let mut base = u64::from(u32::from(pool.base));
        let to = loop {
            if base + size > end {
                return None;
            }
            let candidate = Subnet {
                base: Ipv4Addr::from(base as u32),
                prefix: from.prefix,
            };
            if !used.iter().any(|u| u.overlaps(candidate)) {
                break candidate;
            }
            base += size;
        };
        used.push(to);
        moves.push(Move { from, to });
    }
    Some(moves)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Subnet {
        s.parse().unwrap()
    }

    #[test]
    fn subnets_and_addresses_move_keeping_the_host_number() {
        let mut doc: Value = serde_yaml::from_str(
            "networks:\n  public: { subnet: 10.101.0.0/24 }\n  private: { subnet: 10.101.1.0/24 }\n\
             servers:\n  lb-01:\n    components: [{ keepalived: { vip: 10.101.0.100 } }]\n\
             dns:\n  records:\n    - { name: www, type: A, value: 10.101.0.100 }\n    - { name: ext, type: A, value: 10.9.9.9 }\n\
             note: 10.101.0.7 is text\n",
        )
        .unwrap();
        let moves = [
            Move {
                from: net("10.101.0.0/24"),
                to: net("10.130.4.0/24"),
            },
            Move {
                from: net("10.101.1.0/24"),
                to: net("10.130.5.0/24"),
            },
        ];
        relocate(&mut doc, &moves);
        let text = serde_yaml::to_string(&doc).unwrap();
        assert!(text.contains("subnet: 10.130.4.0/24"), "{text}");
        assert!(text.contains("subnet: 10.130.5.0/24"), "{text}");
        assert!(text.contains("vip: 10.130.4.100"), "{text}");
        assert!(text.contains("value: 10.130.4.100"), "{text}");
        assert!(
            text.contains("value: 10.9.9.9"),
            "an address outside the lab stays: {text}"
        );
        assert!(
            text.contains("note: 10.101.0.7 is text"),
            "only whole values move: {text}"
        );
    }

    #[test]
    fn allocation_skips_what_is_taken_and_fits_each_size() {
        let pool = net("10.128.0.0/9");
        let wanted = [net("10.101.0.0/24"), net("10.101.1.0/24")];
        let taken = [net("10.128.0.0/24"), net("10.128.2.0/23")];
        let moves = allocate(&wanted, &taken, pool).unwrap();
        let to: Vec<String> = moves.iter().map(|m| m.to.to_string()).collect();
        assert_eq!(to, ["10.128.1.0/24", "10.128.4.0/24"]);
        // A /16 wanted takes a whole /16 of the pool.
        let moves = allocate(&[net("10.50.0.0/16")], &taken, pool).unwrap();
        assert_eq!(moves[0].to.to_string(), "10.129.0.0/16");
        // A full pool says so.
        assert!(allocate(&wanted, &[pool], pool).is_none());
        assert!(allocate(&[net("10.0.0.0/8")], &[], pool).is_none());
    }
}
