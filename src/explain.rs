//! `explain`: what the seeds ask learners to explain, computed from the
//! topology: each server and component with its role, the request path from
//! the browser to the database with ports, how load is balanced and whether
//! the load balancers are active-active or active-passive, how replication
//! works here, what each firewall lets in, and findings (single points of
//! failure, security, monitoring, tiers sharing a server) with a severity
//! and a fix. Editing the stack changes the output: nothing here is written
//! per task, and every sentence is said only when the topology makes it
//! true (a fix mentions "the load balancer" only where there is one).

use serde::Serialize;

use crate::components::hop::{via, Hop};
use crate::components::{haproxy, mariadb, ComponentSpec};
use crate::stack::raw::Proto;
use crate::topology::{names, Node, Role, Topology};
use crate::words::{agree, and_last, and_list, or_list};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    High,
    Medium,
    Low,
}

/// What a finding is about, in broad terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// A single point of failure.
    Spof,
    Security,
    Monitoring,
    Scalability,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Spof => "spof",
            Category::Security => "security",
            Category::Monitoring => "monitoring",
            Category::Scalability => "scalability",
        }
    }
}

/// Which finding it is: what `chaos` and the tests match on (titles are
/// prose and may change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// The one server taking writes.
    SpofDbPrimary,
    SpofLoadBalancer,
    SpofWeb,
    SpofApp,
    SpofDns,
    /// The whole site on one server.
    NoRedundancy,
    /// No server is one, but the site is still one place: one copy, on
    /// one machine (one engine).
    OneSite,
    NoHttps,
    /// HTTPS ends at the load balancer, plain HTTP behind it.
    TlsEndsAtLoadBalancer,
    NoFirewall,
    DatabaseOnPublicNetwork,
    NoMonitoring,
    SharedTiers,
}

impl FindingKind {
    pub fn category(self) -> Category {
        use FindingKind::*;
        match self {
            SpofDbPrimary | SpofLoadBalancer | SpofWeb | SpofApp | SpofDns | NoRedundancy
            | OneSite => Category::Spof,
            NoHttps | TlsEndsAtLoadBalancer | NoFirewall | DatabaseOnPublicNetwork => {
                Category::Security
            }
            NoMonitoring => Category::Monitoring,
            SharedTiers => Category::Scalability,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    pub category: Category,
    pub title: String,
    pub detail: String,
    pub fix: String,
    /// The servers it is about (for a single point of failure: the one
    /// whose loss it is).
    pub servers: Vec<String>,
}

impl Finding {
    fn new(kind: FindingKind, severity: Severity, title: &str) -> Finding {
        Finding {
            kind,
            severity,
            category: kind.category(),
            title: title.into(),
            detail: String::new(),
            fix: String::new(),
            servers: Vec::new(),
        }
    }

    fn detail(mut self, d: String) -> Finding {
        self.detail = d;
        self
    }

    fn fix(mut self, f: impl Into<String>) -> Finding {
        self.fix = f.into();
        self
    }

    fn servers(mut self, s: Vec<String>) -> Finding {
        self.servers = s;
        self
    }
}

// ---------------------------------------------------------------------------
// Servers and components.

/// Where a server comes in the explanation: the order a request meets it.
fn tier(topo: &Topology, server: &str) -> usize {
    let rank = |r: &Role| match r {
        Role::Client => 0,
        Role::Dns => 1,
        Role::LoadBalancer => 2,
        Role::Web => 3,
        Role::App => 4,
        Role::DbPrimary => 5,
        Role::DbReplica => 6,
        Role::Monitoring => 7,
    };
    topo.node(server).roles.iter().map(rank).min().unwrap_or(8)
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

// ---------------------------------------------------------------------------
// Load balancing and replication.

fn algorithm_explained(b: haproxy::Balance, backends: &[String]) -> String {
    match b {
        haproxy::Balance::Roundrobin => {
            // Requests 1.. n+1: around the backends and back to the first.
            let turns: Vec<String> = backends
                .iter()
                .chain(backends.first())
                .enumerate()
                .map(|(i, w)| format!("{} -> {w}", i + 1))
                .collect();
            format!(
                "Each request goes to the next web server in turn ({}, ...), weighting them equally.",
                turns.join(", ")
            )
        }
        haproxy::Balance::Leastconn => {
            "Each request goes to the web server with the fewest open connections.".into()
        }
        haproxy::Balance::Source => "A hash of the client's address picks the web server, so a client sticks to one (session persistence).".into(),
    }
}

fn load_balancing(topo: &Topology) -> Option<LoadBalancing> {
    let lbs = names(topo.with_role(Role::LoadBalancer));
    let first = topo.with_role(Role::LoadBalancer).next()?;
    let balance = topo
        .server(&first.name)
        .get::<haproxy::Options>()
        .map(|o| o.balance)
        .unwrap_or_default();
    let (mode, explained) = match (lbs.len(), topo.vips.first()) {
        (1, _) => (
            "single",
            format!("One load balancer, {}, takes every request: there is no second one to share the traffic (active-active) or to stand by (active-passive).", lbs[0]),
        ),
        (_, Some(v)) => {
            let standby: Vec<String> = v.members[1..].iter().map(|m| m.0.clone()).collect();
            (
                "active-passive",
                format!(
                    "{} holds the virtual IP {} and takes all the traffic; {} {} by and {} the address over (VRRP, keepalived) if {} fails.",
                    v.members[0].0,
                    v.address,
                    and_list(&standby),
                    agree(standby.len(), "stands", "stand"),
                    agree(standby.len(), "takes", "take"),
                    v.members[0].0,
                ),
            )
        }
        (_, None) => ("active-active", active_active(topo, &lbs)),
    };
    Some(LoadBalancing {
        algorithm: balance.as_str().into(),
        how: format!(
            "{} HAProxy checks each web server's health every second, every quarter second once a check fails, and stops sending requests to one that fails two checks in a row (within about 1.25 s); a server that is down is checked every quarter second and takes requests again after one check passes.",
            algorithm_explained(balance, &first.backends)
        ),
        mode: mode.into(),
        mode_explained: explained,
        balancers: lbs,
        backends: first.backends.clone(),
    })
}

/// Several load balancers and no virtual IP: which of them DNS sends users to.
fn active_active(topo: &Topology, lbs: &[String]) -> String {
    let listed: Vec<String> = lbs
        .iter()
        .filter(|lb| {
            let addrs: Vec<String> = topo
                .server(lb)
                .addrs
                .iter()
                .map(|(_, a)| a.to_string())
                .collect();
            topo.records
                .iter()
                .any(|r| r.name == "www" && r.kind == "A" && addrs.contains(&r.value))
        })
        .cloned()
        .collect();
    if listed.len() == lbs.len() {
        format!(
            "{} take traffic at the same time: www.{} has an A record for each.",
            and_list(lbs),
            topo.stack.domain
        )
    } else {
        let idle: Vec<String> = lbs
            .iter()
            .filter(|l| !listed.contains(l))
            .cloned()
            .collect();
        format!(
            "{} could all take traffic, but www.{} has no A record for {}, so {} no user's request.",
            and_list(lbs),
            topo.stack.domain,
            and_list(&idle),
            agree(idle.len(), "it gets", "they get")
        )
    }
}

fn replication(topo: &Topology) -> Option<Replication> {
    let first = topo.with_role(Role::DbPrimary).next()?;
    let p = first.name.clone();
    let replicas = topo.replicas_of(&p);
    let cluster = &first.cluster;
    let how = if !cluster.is_empty() {
        let n = cluster.len();
        format!(
            "{} form a Galera cluster: every node takes writes, and a write commits only once every node has certified it (no conflict with a write elsewhere), so each holds the same data and none lags. A node that fails is left out; the others go on while they are a majority ({} of {n}), and it catches up when it is back (the writes it missed, or a full copy). Lose {} at once and the rest stop taking writes rather than diverge (no quorum).",
            and_list(cluster),
            mariadb::quorum(n),
            n + 1 - mariadb::quorum(n),
        )
    } else if replicas.is_empty() {
        format!("{p} is the only database: it takes every read and write, and no other server holds a copy of the data.")
    } else {
        let n = replicas.len();
        format!(
            "{p} (the primary) takes every write and records it in its binary log; {} ({}) {} that log asynchronously (with GTIDs), {} the application's reads and {} any other writes (read-only). A replica can be promoted if the primary fails, but nothing here does it automatically.",
            and_list(&replicas),
            agree(n, "the replica", "the replicas"),
            agree(n, "follows", "follow"),
            agree(n, "answers", "answer"),
            agree(n, "refuses", "refuse"),
        )
    };
    Some(Replication {
        primary: p,
        replicas,
        how,
    })
}

pub fn explain(topo: &Topology) -> Explanation {
    Explanation {
        stack: topo.stack.name.clone(),
        description: topo.stack.description.clone(),
        servers: servers(topo),
        request_path: request_path(topo),
        load_balancing: load_balancing(topo),
        replication: replication(topo),
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

// ---------------------------------------------------------------------------
// Findings: one function per rule.

type Rule = fn(&Topology) -> Vec<Finding>;

const RULES: &[Rule] = &[
    spofs,
    no_redundancy,
    one_site,
    https,
    no_firewall,
    database_on_public_network,
    no_monitoring,
    shared_tiers,
];

/// Single points of failure, security, monitoring and contention, most
/// severe first.
pub fn findings(topo: &Topology) -> Vec<Finding> {
    let mut out: Vec<Finding> = RULES.iter().flat_map(|rule| rule(topo)).collect();
    out.sort_by_key(|f| f.severity);
    out
}

/// Servers that run part of the site (not the user, DNS or monitoring).
fn site_servers(topo: &Topology) -> Vec<&Node> {
    topo.nodes
        .iter()
        .filter(|n| {
            n.roles.iter().any(|r| {
                matches!(
                    r,
                    Role::LoadBalancer | Role::Web | Role::App | Role::DbPrimary | Role::DbReplica
                )
            })
        })
        .collect()
}

/// A function the site needs, on one server (not saved by a virtual IP).
fn spofs(topo: &Topology) -> Vec<Finding> {
    let vip_protected = |name: &str| {
        topo.vips
            .iter()
            .any(|v| v.members.len() > 1 && v.members.iter().any(|m| m.0 == name))
    };
    let mut out = Vec::new();
    for role in [
        Role::LoadBalancer,
        Role::Web,
        Role::App,
        Role::DbPrimary,
        Role::Dns,
    ] {
        let holders = names(topo.with_role(role));
        if holders.len() != 1 || vip_protected(&holders[0]) {
            continue;
        }
        out.push(spof(topo, role, &holders[0]).servers(holders));
    }
    out
}

fn spof(topo: &Topology, role: Role, who: &str) -> Finding {
    use FindingKind::*;
    let has_lb = topo.with_role(Role::LoadBalancer).next().is_some();
    match role {
        Role::DbPrimary => spof_primary(topo, who),
        Role::LoadBalancer => Finding::new(SpofLoadBalancer, Severity::High, "single point of failure: the load balancer")
            .detail(format!("every request goes through {who}: if it fails, the site is down"))
            .fix("a second load balancer sharing a virtual IP (keepalived, active-passive), or two listed in DNS (active-active)"),
        Role::Dns => Finding::new(SpofDns, Severity::Medium, "single point of failure: the DNS server")
            .detail(format!("{who} is the only DNS server for {}: if it fails, browsers cannot find the site (once the answers they cached expire)", topo.stack.domain))
            .fix("a secondary DNS server on another machine (NS records for both)"),
        Role::Web => Finding::new(SpofWeb, Severity::High, "single point of failure: the web server")
            .detail(format!("{who} is the only web server: if it fails, the site is down"))
            .fix(if has_lb {
                "a second web server behind the load balancer"
            } else {
                "a second web server, and a load balancer in front of both"
            }),
        _ => Finding::new(SpofApp, Severity::High, "single point of failure: the application server")
            .detail(format!("{who} is the only application server: if it fails, the site is down"))
            .fix("a second application server; nginx spreads requests over every application server it is given (`nginx: { upstream: [...] }`)"),
    }
}

fn spof_primary(topo: &Topology, who: &str) -> Finding {
    let replicas = topo.replicas_of(who);
    let (kind, high) = (FindingKind::SpofDbPrimary, Severity::High);
    if replicas.is_empty() {
        Finding::new(kind, high, "single point of failure: the database")
            .detail(format!("{who} is the only database and holds the only copy of the data: if it fails, nothing can be read or written, and if its disk is lost, so is the data"))
            .fix("a replica on another server (`mariadb: { role: replica }`), then automatic failover to it (MaxScale, Orchestrator)")
    } else {
        Finding::new(kind, high, "single point of failure: the database primary")
            .detail(format!(
                "{who} is the only server that takes writes: if it fails, nothing can be written until {} is promoted by hand, and writes it had not yet sent to {} can be lost",
                or_list(&replicas),
                agree(replicas.len(), "its replica", "its replicas")
            ))
            .fix("automatic failover (promote a replica: MaxScale, Orchestrator) or a multi-primary cluster (Galera)")
    }
}

/// With no server a single point of failure, what still is one: the site
/// itself, one copy in one place.
fn one_site(topo: &Topology) -> Vec<Finding> {
    if !spofs(topo).is_empty() || !no_redundancy(topo).is_empty() || site_servers(topo).is_empty() {
        return Vec::new();
    }
    vec![Finding::new(FindingKind::OneSite, Severity::Low, "no server is a single point of failure; the site still is one")
        .detail("every function has a second server, but all of them are one site: one copy of the lab, on one machine (one Docker engine, one data centre); if that machine, its network or its power fails, the site is down".to_string())
        .fix("a second site in another place (another engine, another data centre), with DNS answering for both and the data replicated between them")]
}

fn no_redundancy(topo: &Topology) -> Vec<Finding> {
    let site = site_servers(topo);
    if site.len() != 1 {
        return vec![];
    }
    let who = &site[0].name;
    vec![Finding::new(FindingKind::NoRedundancy, Severity::High, "no redundancy: the whole site is one server")
        .detail(format!("{who} runs the whole site: if it fails, or is stopped for maintenance (an upgrade, a reboot), the site is down, and it cannot grow past one machine under heavy traffic"))
        .fix("more servers behind a load balancer, with the database replicated")
        .servers(vec![who.clone()])]
}

fn https(topo: &Topology) -> Vec<Finding> {
    let lbs = names(topo.with_role(Role::LoadBalancer));
    match &topo.stack.tls {
        None => vec![Finding::new(FindingKind::NoHttps, Severity::High, "no HTTPS")
            .detail("the site is served over plain HTTP: passwords, cookies and pages cross the network readable and changeable by anyone on the path (eavesdropping, man in the middle)".into())
            .fix("a TLS certificate for the site (`tls:` in the stack), HTTP redirecting to HTTPS")],
        Some(t) if !lbs.is_empty() && !t.reencrypt => {
            let first = topo.with_role(Role::LoadBalancer).next().expect("a load balancer");
            let web = first.backends.first().cloned().unwrap_or_default();
            vec![Finding::new(FindingKind::TlsEndsAtLoadBalancer, Severity::Medium, "TLS terminated at the load balancer, plaintext behind it")
                .detail(format!(
                    "HTTPS ends at {}; from there to the web servers requests and pages travel as plain HTTP {}, readable by anything on that network",
                    and_list(&lbs),
                    via(topo, &first.name, &web)
                ))
                .fix("re-encrypt to the web servers (`tls: { reencrypt: true }`), or pass TLS through to them")
                .servers(lbs)]
        }
        _ => vec![],
    }
}

/// What a server listens on for the network: (what, port), SSH first.
fn open_services(topo: &Topology, server: &str) -> Vec<(String, u16)> {
    let s = topo.server(server);
    let mut out = vec![("SSH".to_string(), 22)];
    for c in &s.components {
        let services = c.component().services();
        out.extend(
            services
                .into_iter()
                .map(|(what, port)| (what.to_string(), port)),
        );
    }
    out
}

fn no_firewall(topo: &Topology) -> Vec<Finding> {
    // Every server of the lab: the user's computer is not one.
    let unwalled = names(
        topo.nodes
            .iter()
            .filter(|n| !n.roles.contains(&Role::Client) && !topo.server(&n.name).has("ufw")),
    );
    if unwalled.is_empty() {
        return vec![];
    }
    // Services beyond the site itself, grouped by the servers they run on.
    let mut services: Vec<(Vec<String>, String)> = Vec::new();
    let mut each: Vec<(String, u16, Vec<String>)> = Vec::new();
    for s in &unwalled {
        for (what, port) in open_services(topo, s) {
            match each.iter_mut().find(|(w, p, _)| *w == what && *p == port) {
                Some((_, _, v)) => v.push(s.clone()),
                None => each.push((what, port, vec![s.clone()])),
            }
        }
    }
    for (what, port, on) in each {
        let item = format!("{what} ({port})");
        match services.iter_mut().find(|(o, _)| *o == on) {
            Some((_, v)) => *v = format!("{v}, {item}"),
            None => services.push((on, item)),
        }
    }
    let n = unwalled.len();
    let open: Vec<String> = services
        .into_iter()
        .map(|(on, items)| {
            let items = and_last(&items);
            match (n, on.len() == n) {
                (1, _) => items,
                (_, true) => format!("{items} on each"),
                _ => format!("{items} on {}", and_list(&on)),
            }
        })
        .collect();
    let public = unwalled.iter().any(|s| on_public_network(topo, s));
    vec![Finding::new(FindingKind::NoFirewall, Severity::High, "no firewall")
        .detail(format!(
            "nothing filters the traffic to {}: anyone who can reach {}{} can connect to every port {} {} on, not only the site's, to guess passwords or try exploits: {}",
            and_list(&unwalled),
            agree(n, "it", "them"),
            if public { " (from the public network too)" } else { "" },
            agree(n, "it", "they"),
            agree(n, "listens", "listen"),
            open.join("; ")
        ))
        .fix("a firewall on each server (`ufw`): deny incoming by default, allow only the flows the site needs")
        .servers(unwalled)]
}

fn on_public_network(topo: &Topology, server: &str) -> bool {
    topo.server(server)
        .addrs
        .iter()
        .any(|(net, _)| topo.stack.network(net).is_some_and(|n| n.public))
}

fn database_on_public_network(topo: &Topology) -> Vec<Finding> {
    let exposed = names(topo.nodes.iter().filter(|n| {
        (n.roles.contains(&Role::DbPrimary) || n.roles.contains(&Role::DbReplica))
            && !topo.server(&n.name).has("ufw")
            && on_public_network(topo, &n.name)
    }));
    if exposed.is_empty() {
        return vec![];
    }
    vec![Finding::new(FindingKind::DatabaseOnPublicNetwork, Severity::High, "database reachable from the public network")
        .detail(format!(
            "MySQL on {} listens on an address users can reach, and nothing filters port {}",
            and_list(&exposed),
            mariadb::PORT
        ))
        .fix("keep databases on the private network only, and firewall 3306 to the application servers and replicas")
        .servers(exposed)]
}

fn no_monitoring(topo: &Topology) -> Vec<Finding> {
    let unmonitored = names(
        site_servers(topo)
            .into_iter()
            .filter(|n| !topo.server(&n.name).has("monitoring-client")),
    );
    let collector = topo.with_role(Role::Monitoring).next().is_some();
    if collector && unmonitored.is_empty() {
        return vec![];
    }
    let detail = if collector {
        format!(
            "nothing collects metrics from {}: failures and load there go unnoticed until users complain",
            and_list(&unmonitored)
        )
    } else {
        "nothing collects metrics or raises alerts: a failure, a full disk or a traffic spike goes unnoticed until users complain, and there is no QPS figure to plan capacity with".into()
    };
    vec![Finding::new(FindingKind::NoMonitoring, Severity::Medium, "no monitoring")
        .detail(detail)
        .fix("a monitoring client on each server (`monitoring-client`: host metrics, web server QPS, database health) and a Prometheus server with alerts")
        .servers(unmonitored)]
}

/// `the web server, the application server and the database`.
fn tiers_of(node: &Node) -> Vec<&'static str> {
    let mut out = Vec::new();
    if node.roles.contains(&Role::Web) {
        out.push("the web server");
    }
    if node.roles.contains(&Role::App) {
        out.push("the application server");
    }
    if node.roles.contains(&Role::DbPrimary) || node.roles.contains(&Role::DbReplica) {
        out.push("the database");
    }
    out
}

fn shared_tiers(topo: &Topology) -> Vec<Finding> {
    let shared: Vec<&Node> = topo
        .nodes
        .iter()
        .filter(|n| tiers_of(n).len() > 1)
        .collect();
    if shared.is_empty() {
        return vec![];
    }
    // Servers grouped by the tiers they run together.
    let mut groups: Vec<(Vec<&str>, Vec<String>)> = Vec::new();
    for n in &shared {
        let t = tiers_of(n);
        match groups.iter_mut().find(|(g, _)| *g == t) {
            Some((_, v)) => v.push(n.name.clone()),
            None => groups.push((t, vec![n.name.clone()])),
        }
    }
    let runs: Vec<String> = groups
        .iter()
        .map(|(tiers, servers)| {
            format!(
                "{} {} {}",
                and_list(servers),
                agree(servers.len(), "runs", "each run"),
                and_list(tiers)
            )
        })
        .collect();
    vec![Finding::new(FindingKind::SharedTiers, Severity::Medium, "tiers sharing one server")
        .detail(format!(
            "{}: they compete for CPU, memory and disk, one tier cannot be scaled without the others, and a fault in one can take the others down",
            runs.join("; ")
        ))
        .fix("web, application and database on servers of their own, each tier scaled on its own")
        .servers(names(shared.into_iter()))]
}

/// Servers whose loss alone takes the site down, according to the findings.
pub fn fatal_servers(topo: &Topology) -> Vec<String> {
    let mut v: Vec<String> = findings(topo)
        .into_iter()
        .filter(|f| f.category == Category::Spof && f.severity == Severity::High)
        .filter(|f| f.kind != FindingKind::SpofDbPrimary)
        .flat_map(|f| f.servers)
        .collect();
    v.sort();
    v.dedup();
    v
}

// ---------------------------------------------------------------------------
// Text.

/// The explanation as text for people.
pub fn render_text(e: &Explanation) -> String {
    let mut t = format!("Stack `{}`: {}\n\n", e.stack, e.description);
    t.push_str("Servers\n");
    for s in &e.servers {
        t.push_str(&format!("  {} ({})\n", s.server, s.addresses.join(", ")));
        for (c, what) in &s.components {
            t.push_str(&format!("    {c:<18} {what}\n"));
        }
    }
    t.push_str("\nA request, from the browser to the database\n");
    for (i, h) in e.request_path.iter().enumerate() {
        t.push_str(&format!(
            "  {}. {}: {}, port {}\n     {}\n",
            i + 1,
            h.what,
            and_list(&h.servers),
            h.port,
            h.note
        ));
    }
    if !e.request_path.is_empty() {
        t.push_str("  The page goes back to the browser the same way.\n");
    }
    if let Some(lb) = &e.load_balancing {
        t.push_str(&format!(
            "\nLoad balancing: {} over {}\n  {}\n  Mode: {}. {}\n",
            lb.algorithm,
            and_list(&lb.backends),
            lb.how,
            lb.mode,
            lb.mode_explained
        ));
    }
    if let Some(r) = &e.replication {
        t.push_str(&format!("\nDatabase\n  {}\n", r.how));
    }
    if !e.public.is_empty() {
        t.push_str("\nOpen to the public network\n");
        for x in &e.public {
            let open: Vec<String> = x
                .open
                .iter()
                .map(|(port, what)| format!("{port} ({what})"))
                .collect();
            let open = if open.is_empty() {
                "nothing".to_string()
            } else {
                and_list(&open)
            };
            let rest = if x.firewall {
                "; its firewall refuses everything else"
            } else {
                "; no firewall: every port it listens on, to anyone"
            };
            t.push_str(&format!("  {}: {open}{rest}\n", x.server));
        }
    }
    t.push_str("\nFindings\n");
    if e.findings.is_empty() {
        t.push_str("  none\n");
    }
    for f in &e.findings {
        let sev = match f.severity {
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
        };
        t.push_str(&format!(
            "  [{sev}] {} ({})\n    {}.\n    fix: {}.\n",
            f.title,
            f.category.as_str(),
            f.detail,
            f.fix
        ));
    }
    t
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
