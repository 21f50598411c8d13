//! The topology: the graph derived from a validated stack.
//!
//! Which server plays which role, which load balancer sends to which web
//! servers, which web server proxies to which application servers, where the
//! application writes and reads, who replicates from whom, the virtual IPs,
//! the DNS records with their addresses, every network flow (who talks to
//! whom on which port) and the order of bring-up. Rendering, firewall rules
//! and (later) verification and diagrams all read this one graph.
//!
//! Each kind says what it makes of its server (`Component::shape`) and the
//! flows it needs (`Component::flows`); this module walks the registry.

pub mod public;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use serde::Serialize;

use crate::components::{app, keepalived, mariadb, monitoring, nginx, prometheus, Component};
use crate::stack::raw::{Proto, RecordType};
use crate::stack::{Server, Stack};

/// What a server does for the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Dns,
    DbPrimary,
    DbReplica,
    App,
    Web,
    LoadBalancer,
    Monitoring,
    Client,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Dns => "dns",
            Role::DbPrimary => "db-primary",
            Role::DbReplica => "db-replica",
            Role::App => "app",
            Role::Web => "web",
            Role::LoadBalancer => "load-balancer",
            Role::Monitoring => "monitoring",
            Role::Client => "client",
        }
    }

    /// The bring-up stage of a server with this role (0 first): what others
    /// need comes up before them — DNS, then databases (primaries before
    /// their replicas), applications, web servers, load balancers,
    /// monitoring, and the user's computer last.
    pub fn stage(self) -> usize {
        match self {
            Role::Dns => 0,
            Role::DbPrimary => 1,
            Role::DbReplica => 2,
            Role::App => 3,
            Role::Web => 4,
            Role::LoadBalancer => 5,
            Role::Monitoring => 6,
            Role::Client => 7,
        }
    }

    /// Where the role comes in the order a request meets the servers, from
    /// the user's computer to the databases (monitoring, aside, last):
    /// `explain` lists servers in this order.
    pub fn request_rank(self) -> usize {
        match self {
            Role::Client => 0,
            Role::Dns => 1,
            Role::LoadBalancer => 2,
            Role::Web => 3,
            Role::App => 4,
            Role::DbPrimary => 5,
            Role::DbReplica => 6,
            Role::Monitoring => 7,
        }
    }
}

/// A server with everything derived about it.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    pub name: String,
    pub roles: Vec<Role>,
    /// Load balancer: the web servers it balances over.
    pub backends: Vec<String>,
    /// Web server: the application servers it proxies to.
    pub upstreams: Vec<String>,
    /// Application server: where it writes (the first of `db_writes`).
    pub db_primary: Option<String>,
    /// Application server: every database that takes its writes — its
    /// primary, or each node of a Galera cluster, tried in turn.
    pub db_writes: Vec<String>,
    /// Application server: where it reads (replicas, or the primary when
    /// there are none).
    pub db_reads: Vec<String>,
    /// Database replica: the primary it replicates from.
    pub replicates_from: Option<String>,
    /// Galera node: every node of its cluster, itself included.
    pub cluster: Vec<String>,
    /// Database: its server id.
    pub server_id: Option<u32>,
    /// Bring-up stage (0 first).
    pub stage: usize,
}

/// A virtual IP shared by keepalived on several servers.
#[derive(Debug, Clone, Serialize)]
pub struct Vip {
    pub address: Ipv4Addr,
    pub network: String,
    pub prefix: u8,
    /// VRRP virtual router id.
    pub router_id: u8,
    /// Members, highest priority first, with their priority.
    pub members: Vec<(String, u8)>,
}

/// One allowed network flow.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Flow {
    /// Source server, or `any`.
    pub from: String,
    pub to: String,
    pub port: u16,
    pub proto: Proto,
    /// What the flow is for, in a few words.
    pub purpose: String,
    /// The network the flow must take, when not just any shared one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

/// A DNS record with its value resolved.
#[derive(Debug, Clone, Serialize)]
pub struct ZoneRecord {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub value: String,
    pub priority: Option<u16>,
}

/// The derived graph of a stack.
#[derive(Debug, Clone)]
pub struct Topology {
    pub stack: Stack,
    pub nodes: Vec<Node>,
    pub vips: Vec<Vip>,
    pub flows: Vec<Flow>,
    pub records: Vec<ZoneRecord>,
}

impl Topology {
    /// Derives the graph of a validated stack (`stack::load` checked every
    /// reference this follows).
    pub fn build(stack: Stack) -> Topology {
        let ids = server_ids(&stack);
        let mut nodes: Vec<Node> = stack
            .servers
            .iter()
            .map(|s| node(&stack, s, ids.get(&s.name).copied()))
            .collect();
        // Applications write to their primary, or to any node of its
        // Galera cluster, and read from replicas of their primary (or the
        // primary itself, or every node of its cluster).
        let clusters: Vec<Vec<String>> = nodes
            .iter()
            .map(|n| {
                let Some(p) = &n.db_primary else {
                    return Vec::new();
                };
                let cluster = nodes
                    .iter()
                    .find(|m| &m.name == p)
                    .map(|m| m.cluster.clone())
                    .unwrap_or_default();
                if cluster.is_empty() {
                    vec![p.clone()]
                } else {
                    cluster
                }
            })
            .collect();
        for (n, w) in nodes.iter_mut().zip(clusters) {
            n.db_writes = w;
        }
        let reads: Vec<Vec<String>> = nodes
            .iter()
            .map(|n| {
                let Some(p) = &n.db_primary else {
                    return Vec::new();
                };
                if n.db_writes.len() > 1 {
                    return n.db_writes.clone();
                }
                let r: Vec<String> = nodes
                    .iter()
                    .filter(|m| m.replicates_from.as_ref() == Some(p))
                    .map(|m| m.name.clone())
                    .collect();
                if r.is_empty() {
                    vec![p.clone()]
                } else {
                    r
                }
            })
            .collect();
        for (n, r) in nodes.iter_mut().zip(reads) {
            n.db_reads = r;
        }
        let vips = vips(&stack);
        let records = records(&stack);
        let mut topo = Topology {
            stack,
            nodes,
            vips,
            flows: Vec::new(),
            records,
        };
        // Flows last: they follow the rest of the graph.
        topo.flows = flows(&topo);
        topo
    }

    /// Loads a stack (see `stack::load`) and derives its graph.
    pub fn load(reference: &str) -> crate::error::Result<Topology> {
        Ok(Topology::build(crate::stack::load(reference)?))
    }

    pub fn node(&self, name: &str) -> &Node {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .expect("node of this topology")
    }

    pub fn server(&self, name: &str) -> &Server {
        self.stack.server(name).expect("server of this topology")
    }

    /// Servers running kind `T`, with its options, in stack order.
    pub fn running<T: Component>(&self) -> impl Iterator<Item = (&Node, &T)> {
        self.nodes
            .iter()
            .filter_map(|n| Some((n, self.server(&n.name).get::<T>()?)))
    }

    /// Servers that have `role`, in stack order.
    pub fn with_role(&self, role: Role) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(move |n| n.roles.contains(&role))
    }

    /// The replicas following `primary`, in stack order.
    pub fn replicas_of(&self, primary: &str) -> Vec<String> {
        names(
            self.nodes
                .iter()
                .filter(|n| n.replicates_from.as_deref() == Some(primary)),
        )
    }

    /// The source address of a flow as its destination sees it.
    pub fn flow_source(&self, f: &Flow) -> Option<Ipv4Addr> {
        if f.from == "any" {
            return None;
        }
        match &f.via {
            Some(net) => self.server(&f.from).addr_on(net),
            None => Some(self.addr(&f.to, &f.from)),
        }
    }

    /// The address `to` is reached at from `from` (on a network they share).
    pub fn addr(&self, from: &str, to: &str) -> Ipv4Addr {
        let (a, b) = (self.server(from), self.server(to));
        shared_network(&self.stack, a, b)
            .and_then(|n| b.addr_on(&n))
            .unwrap_or_else(|| b.primary_addr())
    }

    /// Flows into `server`.
    pub fn flows_to<'a>(&'a self, server: &'a str) -> impl Iterator<Item = &'a Flow> {
        self.flows.iter().filter(move |f| f.to == server)
    }

    /// The entry point of the site: load balancers if any, else web servers.
    pub fn entry(&self) -> Vec<&Node> {
        let lbs: Vec<&Node> = self.with_role(Role::LoadBalancer).collect();
        if lbs.is_empty() {
            self.with_role(Role::Web).collect()
        } else {
            lbs
        }
    }

    /// The stack's Galera cluster, its nodes in stack order; empty when it
    /// has none.
    pub fn cluster(&self) -> &[String] {
        self.nodes
            .iter()
            .find(|n| !n.cluster.is_empty())
            .map_or(&[], |n| n.cluster.as_slice())
    }

    /// Whether the site is served over HTTPS.
    pub fn tls(&self) -> bool {
        self.stack.tls.is_some()
    }

    /// The port users open the site on: 443, or 80 without HTTPS.
    pub fn site_scheme(&self) -> &'static str {
        if self.tls() {
            "https"
        } else {
            "http"
        }
    }

    /// The site's name, as users type it.
    pub fn site_host(&self) -> String {
        format!("www.{}", self.stack.domain)
    }

    pub fn site_port(&self) -> u16 {
        if self.tls() {
            443
        } else {
            80
        }
    }

    /// Whether web servers themselves speak TLS (no load balancer in front,
    /// or re-encryption from the load balancer).
    pub fn web_tls(&self) -> bool {
        match &self.stack.tls {
            None => false,
            Some(t) => t.reencrypt || self.with_role(Role::LoadBalancer).next().is_none(),
        }
    }

    /// The web server's port the load balancers (or clients) reach.
    pub fn web_port(&self, web: &str) -> u16 {
        let nginx = self
            .server(web)
            .get::<nginx::Options>()
            .cloned()
            .unwrap_or_default();
        if self.web_tls() {
            nginx.https_port.get()
        } else {
            nginx.port.get()
        }
    }

    /// The port of the Prometheus server on `server`.
    pub fn prometheus_port(&self, server: &str) -> u16 {
        self.server(server)
            .get::<prometheus::Options>()
            .map(|o| o.port.get())
            .unwrap_or(prometheus::DEFAULT_PORT)
    }

    pub fn app_port(&self, app: &str) -> u16 {
        self.server(app)
            .get::<app::Options>()
            .map(|o| o.port.get())
            .unwrap_or(crate::components::app::DEFAULT_PORT)
    }

    /// What `server` exports to Prometheus: (job, port) (see
    /// `monitoring::exporters`).
    pub fn exporters(&self, server: &str) -> Vec<(&'static str, u16)> {
        monitoring::exporters(&self.server(server).components)
            .iter()
            .map(|e| (e.job, e.port))
            .collect()
    }

    /// Bring-up order: stages of servers that can start together.
    pub fn stages(&self) -> Vec<Vec<String>> {
        let mut stages: Vec<(usize, Vec<String>)> = Vec::new();
        for n in &self.nodes {
            match stages.iter_mut().find(|(s, _)| *s == n.stage) {
                Some((_, v)) => v.push(n.name.clone()),
                None => stages.push((n.stage, vec![n.name.clone()])),
            }
        }
        stages.sort_by_key(|(s, _)| *s);
        stages.into_iter().map(|(_, v)| v).collect()
    }
}

/// The names of `nodes`, in their order.
pub fn names<'a>(nodes: impl Iterator<Item = &'a Node>) -> Vec<String> {
    nodes.map(|n| n.name.clone()).collect()
}

/// Each database's server id: explicit ones first, then the lowest free
/// id in stack order.
fn server_ids(stack: &Stack) -> std::collections::HashMap<String, u32> {
    let mut used: BTreeSet<u32> = stack
        .servers
        .iter()
        .filter_map(|s| s.get::<mariadb::Options>().and_then(|o| o.server_id))
        .collect();
    let mut next = 1;
    let mut ids = std::collections::HashMap::new();
    for s in &stack.servers {
        let Some(o) = s.get::<mariadb::Options>() else {
            continue;
        };
        let id = o.server_id.unwrap_or_else(|| {
            while used.contains(&next) {
                next += 1;
            }
            used.insert(next);
            next
        });
        ids.insert(s.name.clone(), id);
    }
    ids
}

/// A server's roles and the servers it sends to, from its components.
fn node(stack: &Stack, s: &Server, server_id: Option<u32>) -> Node {
    let mut node = Node {
        name: s.name.clone(),
        roles: Vec::new(),
        backends: Vec::new(),
        upstreams: Vec::new(),
        db_primary: None,
        db_writes: Vec::new(),
        db_reads: Vec::new(),
        replicates_from: None,
        cluster: Vec::new(),
        server_id,
        stage: 0,
    };
    for c in &s.components {
        c.component().shape(stack, &mut node);
    }
    node.roles.sort();
    node.stage = node.roles.iter().map(|r| r.stage()).min().unwrap_or(0);
    node
}

/// Virtual IPs: servers with keepalived on the same address form a group,
/// highest priority first.
fn vips(stack: &Stack) -> Vec<Vip> {
    let mut vips: Vec<Vip> = Vec::new();
    for s in &stack.servers {
        let Some(o) = s.get::<keepalived::Options>() else {
            continue;
        };
        let Ok(address) = o.vip.parse::<Ipv4Addr>() else {
            continue;
        };
        let Some(net) = stack.networks.iter().find(|n| n.subnet.contains(address)) else {
            continue;
        };
        let idx = match vips.iter().position(|v| v.address == address) {
            Some(i) => i,
            None => {
                vips.push(Vip {
                    address,
                    network: net.name.clone(),
                    prefix: net.subnet.prefix,
                    router_id: (u32::from(address) & 0xff).max(1) as u8,
                    members: Vec::new(),
                });
                vips.len() - 1
            }
        };
        let rank = vips[idx].members.len();
        let priority = o.priority.unwrap_or(if rank == 0 {
            255
        } else {
            101u8.saturating_sub(rank as u8)
        });
        vips[idx].members.push((s.name.clone(), priority));
    }
    for v in &mut vips {
        v.members.sort_by_key(|m| std::cmp::Reverse(m.1));
    }
    vips
}

/// DNS records, with server names resolved to addresses.
fn records(stack: &Stack) -> Vec<ZoneRecord> {
    stack
        .dns
        .records
        .iter()
        .map(|r| ZoneRecord {
            name: r.name.clone(),
            kind: r.kind.as_str(),
            value: match r.kind {
                RecordType::A => match stack.server(&r.value) {
                    Some(s) => s.primary_addr().to_string(),
                    None => r.value.clone(),
                },
                _ => r.value.clone(),
            },
            priority: match r.kind {
                RecordType::MX => Some(r.priority.unwrap_or(10)),
                _ => None,
            },
        })
        .collect()
}

/// A network both servers are on: a non-public one if they share one
/// (traffic between servers stays off the users' network), else the first.
pub fn shared_network(stack: &Stack, a: &Server, b: &Server) -> Option<String> {
    let shared: Vec<&String> = b
        .addrs
        .iter()
        .map(|(n, _)| n)
        .filter(|n| a.addr_on(n).is_some())
        .collect();
    let public = |n: &str| stack.network(n).is_some_and(|x| x.public);
    shared
        .iter()
        .find(|n| !public(n))
        .or(shared.first())
        .map(|n| n.to_string())
}

/// The parts of the list of flows, in its order (firewall rules, verify's
/// probes and the errors of servers sharing no network follow it). Each
/// kind adds its flows to the legs it takes part in (`Component::flows`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// Anyone to the site's entry points.
    Site,
    /// The user's computer to what it uses besides the site.
    User,
    /// Load balancers to web servers.
    Balance,
    /// Web servers to application servers.
    Proxy,
    /// Application servers to databases.
    Queries,
    /// Replicas to what they copy: databases to their primary, secondary
    /// DNS servers to the primary (and its NOTIFY back).
    Replication,
    /// The monitoring server to the exporters.
    Metrics,
    /// The administrators, and the stack's own firewall policy.
    Admin,
    /// Between the members of a virtual IP group.
    Failover,
}

impl Leg {
    pub const ALL: [Leg; 9] = [
        Leg::Site,
        Leg::User,
        Leg::Balance,
        Leg::Proxy,
        Leg::Queries,
        Leg::Replication,
        Leg::Metrics,
        Leg::Admin,
        Leg::Failover,
    ];
}

/// The flows being derived.
#[derive(Debug, Default)]
pub struct Flows(Vec<Flow>);

impl Flows {
    /// Adds a flow, unless the same one is there already.
    pub fn add(&mut self, from: &str, to: &str, port: u16, proto: Proto, purpose: &str) {
        let f = Flow {
            from: from.to_string(),
            to: to.to_string(),
            port,
            proto,
            purpose: purpose.to_string(),
            via: None,
        };
        if !self.0.contains(&f) {
            self.0.push(f);
        }
    }

    /// Adds a flow even when the same one is there (VRRP: one per virtual IP).
    pub fn push(&mut self, f: Flow) {
        self.0.push(f);
    }
}

/// Every flow the topology needs: leg by leg, each kind adding its own.
fn flows(topo: &Topology) -> Vec<Flow> {
    let mut out = Flows::default();
    for leg in Leg::ALL {
        crate::components::flows(leg, topo, &mut out);
    }
    out.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bring_up_goes_from_dns_to_the_user() {
        let order = [
            Role::Dns,
            Role::DbPrimary,
            Role::DbReplica,
            Role::App,
            Role::Web,
            Role::LoadBalancer,
            Role::Monitoring,
            Role::Client,
        ];
        let stages: Vec<usize> = order.iter().map(|r| r.stage()).collect();
        assert_eq!(stages, [0, 1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn a_server_comes_up_at_its_earliest_role() {
        let topo = Topology::load("task3").unwrap();
        let stages = topo.stages();
        let at = |name: &str| stages.iter().position(|s| s.iter().any(|n| n == name));
        assert!(at("db-01") < at("web-01"), "{stages:?}");
        assert!(at("web-01") < at("lb-01"), "{stages:?}");
        for n in &topo.nodes {
            let earliest = n.roles.iter().map(|r| r.stage()).min().unwrap_or(0);
            assert_eq!(n.stage, earliest, "{}", n.name);
        }
    }
}
