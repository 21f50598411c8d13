//! Where the users' network is, and where on it the site is reached: a
//! stranger (a host at an address the stack does not name, started by the
//! driver for `verify`, whose claims are in `verify::stranger`), the
//! forwarder `up --publish` starts, and the monitoring's probe of the site
//! all find it there.

use std::net::Ipv4Addr;

use crate::topology::{Role, Topology};

/// An address on `network` that no server, virtual IP or gateway has: the
/// highest free host address.
pub fn address(topo: &Topology, network: &str) -> Option<Ipv4Addr> {
    free_address(topo, network, 0)
}

/// The lab's forwarder from the engine's host (`up --publish`): the next
/// free address below the stranger's, so both can be there at once.
pub fn publisher_address(topo: &Topology, network: &str) -> Option<Ipv4Addr> {
    free_address(topo, network, 1)
}

/// The `nth` free host address of `network`, from the top.
fn free_address(topo: &Topology, network: &str, nth: usize) -> Option<Ipv4Addr> {
    let net = topo.stack.networks.iter().find(|n| n.name == network)?;
    let taken = |a: Ipv4Addr| {
        a == net.subnet.gateway()
            || topo
                .stack
                .servers
                .iter()
                .any(|s| s.addr_on(network) == Some(a))
            || topo.vips.iter().any(|v| v.address == a)
    };
    let first = u32::from(net.subnet.gateway()) + 1;
    let last = u32::from(net.subnet.broadcast()).checked_sub(1)?;
    (first..=last)
        .rev()
        .map(Ipv4Addr::from)
        .filter(|a| !taken(*a))
        .nth(nth)
}

/// The network users reach the site from: the client's first, else the
/// first network the stack marks public.
pub fn users_network(topo: &Topology) -> Option<String> {
    topo.with_role(Role::Client)
        .next()
        .and_then(|c| topo.server(&c.name).addrs.first().map(|(n, _)| n.clone()))
        .or_else(|| {
            topo.stack
                .networks
                .iter()
                .find(|n| n.public)
                .map(|n| n.name.clone())
        })
}

/// Where a stranger on `network` reaches the site: the virtual IP there,
/// else the first entry point's address there.
pub fn site_address(topo: &Topology, network: &str) -> Option<Ipv4Addr> {
    topo.vips
        .iter()
        .find(|v| v.network == network)
        .map(|v| v.address)
        .or_else(|| {
            topo.entry()
                .iter()
                .find_map(|e| topo.server(&e.name).addr_on(network))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topo(name: &str) -> Topology {
        crate::topology::Topology::load(name).expect("a shipped stack loads")
    }

    #[test]
    fn the_stranger_takes_an_address_nobody_has() {
        let t = topo("task3");
        let net = users_network(&t).expect("task3 has a users' network");
        let a = address(&t, &net).expect("a free address");
        assert!(t.stack.servers.iter().all(|s| s.addr_on(&net) != Some(a)));
        assert!(t.vips.iter().all(|v| v.address != a));
        assert_eq!(site_address(&t, &net), Some(t.vips[0].address));
    }
}
