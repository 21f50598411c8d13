//! `explain`: what the seeds ask learners to explain, computed from the
//! topology: each server and component with its role, the request path from
//! the browser to the database with ports, how load is balanced and whether
//! the load balancers are active-active or active-passive, how replication
//! works here, what each firewall lets in, and findings (single points of
//! failure, security, monitoring, tiers sharing a server) with a severity
//! and a fix. Editing the stack changes the output: nothing here is written
//! per task, and every sentence is said only when the topology makes it
//! true (a fix mentions "the load balancer" only where there is one).
//!
//! This file gathers the explanation (servers, the request path the kinds
//! write, what is open to the public network); `balance` says how load is
//! balanced and the database replicated, `findings` holds the rules, one
//! function each, and `text` writes it all for people.

mod balance;
mod findings;
mod text;

pub use findings::{fatal_servers, findings, Category, Finding, FindingKind, Severity};
pub use text::render_text;

use serde::Serialize;

use crate::components::hop::Hop;
use crate::components::ComponentSpec;
use crate::stack::raw::Proto;
use crate::topology::{Role, Topology};
use findings::{on_public_network, open_services};

#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub stack: String,
    pub description: String,
    /// Servers in the order a request meets them: the user, DNS, load
    /// balancers, web, application and database servers, monitoring.
    pub servers: Vec<ServerRole>,
    /// The path of a request, hop by hop.
    pub request_path: Vec<Hop>,
    pub load_balancing: Option<LoadBalancing>,
    pub replication: Option<Replication>,
    /// What a stranger on a public network reaches, server by server.
    pub public: Vec<Exposure>,
    pub findings: Vec<Finding>,
}

/// What one server on a public network answers anyone, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Exposure {
    pub server: String,
    /// Whether a firewall refuses everything else.
    pub firewall: bool,
    /// (`port/proto`, what it is for): a firewalled server's flows from
    /// anyone; every service of one without a firewall.
    pub open: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerRole {
    pub server: String,
    /// `address on network`.
    pub addresses: Vec<String>,
    pub roles: Vec<String>,
    /// (component, what it does here)
    pub components: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadBalancing {
    pub algorithm: String,
    pub how: String,
    /// `single`, `active-passive` or `active-active`.
    pub mode: String,
    pub mode_explained: String,
    pub balancers: Vec<String>,
    pub backends: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Replication {
    pub primary: String,
    pub replicas: Vec<String>,
    pub how: String,
}

// ---------------------------------------------------------------------------
// Servers and components.

/// Where a server comes in the explanation: the order a request meets it.
fn tier(topo: &Topology, server: &str) -> usize {
    let ranks = topo.node(server).roles.iter().map(|r| r.request_rank());
    ranks.min().unwrap_or(usize::MAX)
}

fn servers(topo: &Topology) -> Vec<ServerRole> {
    let mut list: Vec<&crate::stack::Server> = topo.stack.servers.iter().collect();
    list.sort_by_key(|s| tier(topo, &s.name));
    list.into_iter()
        .map(|s| ServerRole {
            server: s.name.clone(),
            addresses: s.addrs.iter().map(|(n, a)| format!("{a} on {n}")).collect(),
            roles: topo
                .node(&s.name)
                .roles
                .iter()
                .map(|r| r.as_str().to_string())
                .collect(),
            components: s
                .components
                .iter()
                .map(|c| (c.name().to_string(), component_role(topo, &s.name, c)))
                .collect(),
        })
        .collect()
}

/// What one component does on one server, in this topology.
fn component_role(topo: &Topology, server: &str, c: &ComponentSpec) -> String {
    c.component().explain(topo, topo.node(server))
}

// ---------------------------------------------------------------------------
// The request path.

/// The hops of a request, each written by its kind, in the order a
/// request meets them (the tier each kind gives its hop).
fn request_path(topo: &Topology) -> Vec<Hop> {
    let mut hops = crate::components::hops(topo);
    hops.sort_by_key(|(tier, _)| *tier);
    hops.into_iter().map(|(_, hop)| hop).collect()
}

pub fn explain(topo: &Topology) -> Explanation {
    Explanation {
        stack: topo.stack.name.clone(),
        description: topo.stack.description.clone(),
        servers: servers(topo),
        request_path: request_path(topo),
        load_balancing: balance::load_balancing(topo),
        replication: balance::replication(topo),
        public: public(topo),
        findings: findings(topo),
    }
}

/// Every server on a public network but the user's computer, with what it
/// answers anyone there.
fn public(topo: &Topology) -> Vec<Exposure> {
    servers(topo)
        .into_iter()
        .filter(|s| {
            !topo.node(&s.server).roles.contains(&Role::Client)
                && on_public_network(topo, &s.server)
        })
        .map(|s| {
            let firewall = topo.server(&s.server).has("ufw");
            // The flows from anyone, and without a firewall every other
            // service too; ports of one purpose on one line.
            let mut open: Vec<(String, String)> = Vec::new();
            let mut add = |port: String, what: String| {
                if open.iter().any(|(p, _)| p.split(", ").any(|p| p == port)) {
                    return;
                }
                match open.iter_mut().find(|(_, w)| *w == what) {
                    Some((p, _)) => *p = format!("{p}, {port}"),
                    None => open.push((port, what)),
                }
            };
            for f in topo
                .flows_to(&s.server)
                .filter(|f| (f.from == "any" || !firewall) && f.proto != Proto::Vrrp)
            {
                add(
                    format!("{}/{}", f.port, f.proto.as_str()),
                    f.purpose.clone(),
                );
            }
            if !firewall {
                for (what, port) in open_services(topo, &s.server) {
                    add(format!("{port}/tcp"), what);
                }
            }
            Exposure {
                server: s.server,
                firewall,
                open,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(stack: &str) -> Vec<FindingKind> {
        findings(&crate::topology::Topology::load(stack).unwrap())
            .into_iter()
            .map(|f| f.kind)
            .collect()
    }

    #[test]
    fn task0_everything_is_a_single_point_of_failure() {
        use FindingKind::*;
        let k = kinds("task0");
        for want in [
            SpofWeb,
            SpofApp,
            SpofDbPrimary,
            NoRedundancy,
            NoHttps,
            NoFirewall,
            NoMonitoring,
            SharedTiers,
        ] {
            assert!(k.contains(&want), "task0 lacks {want:?}: {k:?}");
        }
        assert!(!k.contains(&SpofLoadBalancer));
    }

    #[test]
    fn task1_load_balancer_and_primary_are_spofs_no_https_firewall_monitoring() {
        use FindingKind::*;
        let k = kinds("task1");
        for want in [
            SpofLoadBalancer,
            SpofDbPrimary,
            NoHttps,
            NoFirewall,
            NoMonitoring,
        ] {
            assert!(k.contains(&want), "task1 lacks {want:?}: {k:?}");
        }
        assert!(!k.contains(&SpofWeb));
        let e = explain(&crate::topology::Topology::load("task1").unwrap());
        let lb = e.load_balancing.unwrap();
        assert_eq!(
            (lb.algorithm.as_str(), lb.mode.as_str()),
            ("roundrobin", "single")
        );
    }

    #[test]
    fn task2_tls_at_the_balancer_single_primary_shared_tiers() {
        use FindingKind::*;
        let k = kinds("task2");
        for want in [TlsEndsAtLoadBalancer, SpofDbPrimary, SharedTiers] {
            assert!(k.contains(&want), "task2 lacks {want:?}: {k:?}");
        }
        for gone in [NoHttps, NoFirewall, NoMonitoring] {
            assert!(!k.contains(&gone), "task2 still has {gone:?}");
        }
    }

    #[test]
    fn task3_the_single_write_primary_remains() {
        use FindingKind::*;
        let k = kinds("task3");
        assert!(k.contains(&SpofDbPrimary));
        for gone in [SpofLoadBalancer, SpofWeb, SharedTiers] {
            assert!(!k.contains(&gone), "task3 still has {gone:?}: {k:?}");
        }
        let e = explain(&crate::topology::Topology::load("task3").unwrap());
        assert_eq!(e.load_balancing.unwrap().mode, "active-passive");
    }

    #[test]
    fn editing_the_stack_changes_the_findings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("safer.yaml");
        std::fs::write(&path, "extends: task1\nservers:\n  lb-02:\n    networks: { public: 13, private: 13 }\n    components: [haproxy, { keepalived: { vip: 10.101.0.100 } }]\n  lb-01:\n    components: [haproxy, { keepalived: { vip: 10.101.0.100 } }]\n").unwrap();
        let k = kinds(path.to_str().unwrap());
        assert!(!k.contains(&FindingKind::SpofLoadBalancer), "{k:?}");
        assert!(kinds("task1").contains(&FindingKind::SpofLoadBalancer));
    }
}
