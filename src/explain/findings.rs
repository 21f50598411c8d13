//! Findings: what is wrong with a stack or worth knowing (single points
//! of failure, security, monitoring, tiers sharing a server), each with a
//! severity and a fix, one function per rule, said only when the topology
//! makes it true.

use serde::Serialize;

use crate::components::hop::via;
use crate::components::mariadb;
use crate::topology::{names, Node, Role, Topology};
use crate::words::{agree, and_last, and_list, or_list};

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
pub(super) fn open_services(topo: &Topology, server: &str) -> Vec<(String, u16)> {
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

pub(super) fn on_public_network(topo: &Topology, server: &str) -> bool {
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
