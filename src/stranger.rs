//! The site is public: what anyone on the users' network may reach. A
//! stranger (a host at an address the stack does not name, started by the
//! driver) loads the site over the entry point, HTTPS included, and every
//! other port a firewalled server serves (application, database,
//! exporters, SSH) refuses it.

use std::net::Ipv4Addr;

use crate::stack::raw::Proto;
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

/// A port a stranger must find closed: (server, address, port, what).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    pub server: String,
    pub address: Ipv4Addr,
    pub port: u16,
    pub what: String,
}

/// The firewalled servers with an address on `network`: those a stranger
/// there finds refusing all but what is open to anyone.
pub fn walled_on(topo: &Topology, network: &str) -> Vec<String> {
    topo.stack
        .servers
        .iter()
        .filter(|s| s.has("ufw") && s.addr_on(network).is_some())
        .map(|s| s.name.clone())
        .collect()
}

/// The TCP ports `ss -ltnH` lists as listened on from outside the host
/// (not on loopback only).
pub fn listening(ss: &str) -> Vec<u16> {
    let mut out: Vec<u16> = ss
        .lines()
        .filter_map(|l| {
            let local = l.split_whitespace().nth(3)?;
            let (addr, port) = local.rsplit_once(':')?;
            let loopback = addr.starts_with("127.") || addr == "[::1]";
            (!loopback).then(|| port.parse().ok()).flatten()
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Every port a firewalled server on `network` serves to someone in
/// particular (each TCP flow into it not open to anyone), its application
/// and database ports, SSH, and every other port it was seen listening on
/// (`listening`, by server): the stranger must be refused on each.
pub fn closed_ports(
    topo: &Topology,
    network: &str,
    listening: &[(String, Vec<u16>)],
) -> Vec<Closed> {
    let mut out: Vec<Closed> = Vec::new();
    for s in topo.stack.servers.iter().filter(|s| s.has("ufw")) {
        let Some(address) = s.addr_on(network) else {
            continue;
        };
        // SSH, and what each component serves besides the site (the
        // application, the database, the monitoring's web interfaces).
        let mut ports = vec![(22, "SSH".to_string())];
        for c in &s.components {
            ports.extend(
                c.component()
                    .services()
                    .into_iter()
                    .map(|(what, port)| (port, what.to_string())),
            );
        }
        ports.extend(
            topo.flows_to(&s.name)
                .filter(|f| f.proto == Proto::Tcp && f.from != "any")
                .map(|f| (f.port, f.purpose.clone())),
        );
        ports.extend(
            listening
                .iter()
                .filter(|(server, _)| *server == s.name)
                .flat_map(|(_, ports)| ports)
                .map(|p| (*p, "a port it listens on".to_string())),
        );
        for (port, what) in ports {
            let open_to_all = topo
                .flows_to(&s.name)
                .any(|f| f.from == "any" && f.port == port);
            if !open_to_all && !out.iter().any(|c| c.server == s.name && c.port == port) {
                out.push(Closed {
                    server: s.name.clone(),
                    address,
                    port,
                    what,
                });
            }
        }
    }
    out
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

    #[test]
    fn a_stranger_finds_only_the_site_open() {
        let t = topo("task3");
        let net = users_network(&t).expect("users' network");
        let closed = closed_ports(&t, &net, &[]);
        // The load balancers serve the site to anyone, and nothing else.
        for c in closed.iter().filter(|c| c.server.starts_with("lb-")) {
            assert!(![80, 443].contains(&c.port), "{c:?}");
        }
        for lb in ["lb-01", "lb-02"] {
            assert!(closed.iter().any(|c| c.server == lb && c.port == 22));
            assert!(closed.iter().any(|c| c.server == lb && c.port == 9100));
        }
        // task1 has no firewall: nothing to find closed.
        let t1 = topo("task1");
        let n1 = users_network(&t1).expect("users' network");
        assert!(closed_ports(&t1, &n1, &[]).is_empty());
    }
}
