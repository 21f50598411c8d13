//! `diagram`: the drawing the seeds ask learners to hand in, from the
//! topology — the user and the Internet, DNS and the domain, the networks as
//! zones, each server with the components a request goes through (nginx →
//! app → MySQL inside a server that runs all three), where TLS ends, what
//! each firewall lets in, the virtual IP of a load-balancer pair,
//! replication and monitoring — as SVG (drawn here, no external program),
//! Mermaid or Graphviz DOT.
//!
//! [`model`] turns the topology into boxes and edges (here); `layout`
//! places them on a grid (a column per tier, a row per server) sized to fit
//! a landscape A4 page legibly ([`PAGE_RULE`]), `route` draws the edges and
//! keeps every label clear of edges and boxes, `check` finds what crosses
//! what, `svg` writes the drawing (`draw` holds its pieces, `text` the font
//! metrics); `graph` writes the same model as Mermaid or DOT. `geometry`
//! holds the measures they share (page, fonts, spacings), `grid` the grid
//! that layout fills in and routing reads.

mod check;
mod draw;
#[cfg(test)]
mod fixture;
mod geometry;
mod graph;
mod grid;
mod layout;
mod route;
mod svg;
/// Text escaped for XML or HTML (the grading page uses it too).
pub use svg::esc;
pub mod text;

pub use check::problems;
pub use draw::Layout;
pub use geometry::PAGE_RULE;
pub use graph::{dot, mermaid};
pub use layout::layout;
pub use svg::svg;

use crate::components::part::{Part, Tier};
use crate::components::ufw::{firewall_allows, Allow};
use crate::components::{haproxy, mariadb, nginx, prometheus, ComponentSpec};
use crate::topology::{Node, Role, Topology};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoxKind {
    User,
    Dns,
    Site,
    Monitoring,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// What the firewall lets in.
    Firewall,
    /// The monitoring client's exporters.
    Monitoring,
    /// The DNS zone's records.
    Records,
    /// Anything else worth a line.
    Note,
}

/// Lines of text under a server's parts.
#[derive(Debug, Clone)]
pub struct Block {
    pub kind: BlockKind,
    pub title: Option<String>,
    pub lines: Vec<String>,
}

/// A server: a box holding its parts and blocks.
#[derive(Debug, Clone)]
pub struct ServerBox {
    pub id: String,
    pub title: String,
    /// Address lines: `10.101.0.11 (public)`.
    pub addresses: Vec<String>,
    pub networks: Vec<String>,
    pub kind: BoxKind,
    pub parts: Vec<Part>,
    pub blocks: Vec<Block>,
    pub firewall: bool,
}

/// Servers drawn in a frame: those sharing a virtual IP, or the nodes of
/// a database cluster.
#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub title: String,
    pub lines: Vec<String>,
    pub members: Vec<String>,
    /// A cluster: its nodes stacked one under the other in their column,
    /// each as tall as it needs, rather than each filling a row.
    pub cluster: bool,
}

/// A network, drawn as a zone around its servers.
#[derive(Debug, Clone)]
pub struct Zone {
    pub network: String,
    pub label: String,
    /// Shorter labels, for when the full one has no room.
    pub short: Vec<String>,
    pub public: bool,
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// The request path, part to part.
    Request,
    /// The browser asking DNS.
    Dns,
    Replication,
    Vrrp,
    /// Prometheus scraping a server's exporters.
    Metrics,
}

#[derive(Debug, Clone)]
pub struct Edge {
    /// A part, group or server id.
    pub from: String,
    pub to: String,
    /// One or more lines.
    pub label: Vec<String>,
    pub kind: EdgeKind,
}

/// The diagram before any layout.
#[derive(Debug, Clone)]
pub struct Model {
    pub title: String,
    pub zones: Vec<Zone>,
    pub servers: Vec<ServerBox>,
    pub groups: Vec<Group>,
    pub edges: Vec<Edge>,
}

impl Model {
    pub fn server(&self, id: &str) -> Option<&ServerBox> {
        self.servers.iter().find(|s| s.id == id)
    }

    /// The server a part (or the server itself) belongs to.
    pub fn server_of(&self, id: &str) -> Option<&ServerBox> {
        self.servers
            .iter()
            .find(|s| s.id == id || s.parts.iter().any(|p| p.id == id))
    }
}

fn part_id(server: &str, c: &ComponentSpec) -> String {
    format!("{server}/{}", c.name())
}

/// The part a component draws, if it is on the request path.
fn part(topo: &Topology, node: &Node, c: &ComponentSpec) -> Option<Part> {
    let p = c.component().draw(topo, node)?;
    Some(Part {
        id: part_id(&node.name, c),
        ..p
    })
}

/// The lines under a server's parts: DNS records, keepalived, exporters,
/// what Prometheus scrapes, what the firewall lets in.
fn blocks(topo: &Topology, node: &Node) -> Vec<Block> {
    let s = topo.server(&node.name);
    let block = |kind, title: Option<&str>, lines: Vec<String>| Block {
        kind,
        title: title.map(str::to_string),
        lines,
    };
    let mut out = Vec::new();
    // The records once, under the DNS server that holds the zone.
    if s.get::<crate::components::dns::Options>()
        .is_some_and(|o| o.primary.is_none())
    {
        let records = topo
            .records
            .iter()
            .map(|r| match r.priority {
                Some(p) => format!("{} {} {p} {}", r.name, r.kind, r.value),
                None if r.kind == "TXT" => format!("{} TXT \"{}\"", r.name, r.value),
                None => format!("{} {} {}", r.name, r.kind, r.value),
            })
            .collect();
        let zone = format!("zone {}", topo.stack.domain);
        out.push(block(BlockKind::Records, Some(&zone), records));
    }
    let exporters = topo.exporters(&node.name);
    if !exporters.is_empty() {
        let ports: Vec<String> = exporters.iter().map(|(_, p)| format!(":{p}")).collect();
        out.push(block(
            BlockKind::Monitoring,
            None,
            vec![format!("exporters {}", ports.join(" "))],
        ));
    }
    if node.roles.contains(&Role::Monitoring) && !prometheus::scrapes_every_server(topo) {
        let targets: Vec<String> = topo
            .stack
            .servers
            .iter()
            .filter(|t| t.has("monitoring-client"))
            .map(|t| t.name.clone())
            .collect();
        out.push(block(
            BlockKind::Monitoring,
            Some("scrapes the exporters of"),
            vec![targets.join(", ")],
        ));
    }
    if s.has("ufw") {
        let lines = fold_galera(firewall_allows(topo, &node.name))
            .iter()
            .map(|a| format!("{} ← {}", ports(a), a.from.join(", ")))
            .collect();
        out.push(block(BlockKind::Firewall, Some("firewall lets in"), lines));
    }
    out
}

/// The SQL port a Galera node's peers ask it on as they start, shown as
/// part of `Galera` rather than beside the application servers'.
fn fold_galera(mut allows: Vec<Allow>) -> Vec<Allow> {
    use crate::components::mariadb;
    let mut galera: Vec<u16> = mariadb::GALERA_PORTS.iter().map(|(p, _)| *p).collect();
    galera.sort();
    let peers: Vec<String> = allows
        .iter()
        .filter(|a| a.ports == galera)
        .flat_map(|a| a.from.clone())
        .collect();
    for a in allows.iter_mut().filter(|a| a.ports == [mariadb::PORT]) {
        a.from.retain(|f| !peers.contains(f));
    }
    allows.retain(|a| !a.from.is_empty());
    allows
}

/// `22, 9100`: TCP ports bare (the usual case), `53/udp`, `VRRP`,
/// `Galera` for Galera's own three (and the SQL port a starting node asks
/// its peers on).
fn ports(a: &Allow) -> String {
    use crate::components::mariadb;
    let mut galera: Vec<u16> = mariadb::GALERA_PORTS.iter().map(|(p, _)| *p).collect();
    galera.sort();
    let mut with_sql = galera.clone();
    with_sql.push(mariadb::PORT);
    with_sql.sort();
    if a.ports == galera || a.ports == with_sql {
        return "Galera".into();
    }
    let list: Vec<String> = a.ports.iter().map(u16::to_string).collect();
    match a.proto {
        crate::stack::raw::Proto::Tcp if a.udp_too => format!("{} tcp+udp", list.join(", ")),
        crate::stack::raw::Proto::Tcp => list.join(", "),
        crate::stack::raw::Proto::Udp => format!("{}/udp", list.join(", ")),
        crate::stack::raw::Proto::Vrrp => "VRRP".into(),
    }
}

fn box_kind(node: &Node) -> BoxKind {
    if node.roles.contains(&Role::Client) {
        BoxKind::User
    } else if node.roles.contains(&Role::Dns) {
        BoxKind::Dns
    } else if node.roles.contains(&Role::Monitoring)
        && !node.roles.iter().any(|r| {
            matches!(
                r,
                Role::LoadBalancer | Role::Web | Role::App | Role::DbPrimary | Role::DbReplica
            )
        })
    {
        BoxKind::Monitoring
    } else {
        BoxKind::Site
    }
}

fn server_box(topo: &Topology, node: &Node) -> ServerBox {
    let s = topo.server(&node.name);
    let kind = box_kind(node);
    let mut addresses: Vec<String> = s.addrs.iter().map(|(n, a)| format!("{a} ({n})")).collect();
    match kind {
        BoxKind::User => addresses.insert(0, "the user's computer".into()),
        BoxKind::Dns => addresses.insert(0, "DNS server".into()),
        _ => {}
    }
    // In an active-passive pair, which one is which.
    let title = match topo
        .vips
        .iter()
        .find(|v| v.members.len() > 1 && v.members.iter().any(|m| m.0 == node.name))
    {
        Some(v) if v.members[0].0 == node.name => format!("{} (active)", node.name),
        Some(_) => format!("{} (standby)", node.name),
        None => node.name.clone(),
    };
    ServerBox {
        id: node.name.clone(),
        title,
        addresses,
        networks: s.addrs.iter().map(|(n, _)| n.clone()).collect(),
        kind,
        parts: s
            .components
            .iter()
            .filter_map(|c| part(topo, node, c))
            .collect(),
        blocks: blocks(topo, node),
        firewall: s.has("ufw"),
    }
}

fn zones(topo: &Topology) -> Vec<Zone> {
    topo.stack
        .networks
        .iter()
        .map(|n| Zone {
            network: n.name.clone(),
            label: if n.public {
                format!("the Internet: {} network {}", n.name, n.subnet)
            } else {
                format!("{} network {}", n.name, n.subnet)
            },
            short: if n.public {
                vec![
                    format!("the Internet ({} {})", n.name, n.subnet),
                    "the Internet".into(),
                ]
            } else {
                vec![format!("{} {}", n.name, n.subnet), n.name.clone()]
            },
            public: n.public,
            members: topo
                .stack
                .servers
                .iter()
                .filter(|s| s.addr_on(&n.name).is_some())
                .map(|s| s.name.clone())
                .collect(),
        })
        .collect()
}

fn groups(topo: &Topology) -> Vec<Group> {
    let mut out: Vec<Group> = topo
        .vips
        .iter()
        .filter(|v| v.members.len() > 1)
        .map(|v| Group {
            id: format!("vip-{}", v.address),
            title: "virtual IP".into(),
            lines: vec![v.address.to_string(), "VRRP, active-passive".into()],
            members: v.members.iter().map(|m| m.0.clone()).collect(),
            cluster: false,
        })
        .collect();
    let cluster = topo.cluster();
    if !cluster.is_empty() {
        out.push(Group {
            id: "galera".into(),
            title: "Galera cluster".into(),
            lines: vec![
                "every node writes".into(),
                format!(
                    "quorum: {} of {}",
                    crate::components::mariadb::quorum(cluster.len()),
                    cluster.len()
                ),
            ],
            members: cluster.iter().map(|n| n.to_string()).collect(),
            cluster: true,
        });
    }
    out
}

/// The id of `component` on `server`.
fn pid(server: &str, component: &str) -> String {
    format!("{server}/{component}")
}

fn edges(topo: &Topology, groups: &[Group]) -> Vec<Edge> {
    let mut out: Vec<Edge> = Vec::new();
    let mut add = |from: String, to: String, label: Vec<String>, kind| match out
        .iter_mut()
        .find(|e| e.from == from && e.to == to && e.kind == kind)
    {
        Some(e) => {
            for l in label {
                if !e.label.contains(&l) {
                    e.label.push(l);
                }
            }
        }
        None => out.push(Edge {
            from,
            to,
            label,
            kind,
        }),
    };
    let entry_label = if topo.tls() { "HTTPS :443" } else { "HTTP :80" };
    for c in topo.with_role(Role::Client) {
        let browser = pid(&c.name, "client");
        // The query is labelled once, on the line to the first server; a
        // secondary's line says only that the browser may ask it too.
        for (i, d) in crate::components::dns::servers(topo)
            .into_iter()
            .enumerate()
        {
            let q = if i == 0 {
                vec!["DNS :53".into(), format!("www.{}?", topo.stack.domain)]
            } else {
                vec![]
            };
            add(browser.clone(), pid(d, "dns"), q, EdgeKind::Dns);
        }
        let entry = topo.entry();
        let entry_port = |n: &Node| {
            let s = topo.server(&n.name);
            match (s.get::<haproxy::Options>(), s.get::<nginx::Options>()) {
                (Some(o), _) if topo.tls() => o.https_port.get(),
                (Some(o), _) => o.port.get(),
                (None, Some(o)) if topo.tls() => o.https_port.get(),
                (None, Some(o)) => o.port.get(),
                _ => 80,
            }
        };
        let label = |n: &Node| {
            let scheme = entry_label.split(' ').next().unwrap_or("HTTP");
            vec![format!("{scheme} :{}", entry_port(n))]
        };
        match groups.iter().find(|g| !g.cluster) {
            Some(g) => add(
                browser.clone(),
                g.id.clone(),
                label(entry[0]),
                EdgeKind::Request,
            ),
            None => {
                for e in &entry {
                    let to = if e.roles.contains(&Role::LoadBalancer) {
                        pid(&e.name, "haproxy")
                    } else {
                        pid(&e.name, "nginx")
                    };
                    add(browser.clone(), to, label(e), EdgeKind::Request);
                }
            }
        }
    }
    site_edges(topo, &mut add);
    out
}

type Add<'a> = dyn FnMut(String, String, Vec<String>, EdgeKind) + 'a;

/// Load balancer → web → app → database, replication, VRRP and scrapes.
fn site_edges(topo: &Topology, add: &mut Add) {
    request_edges(topo, add);
    copy_edges(topo, add);
}

/// The request path inside the site: load balancer → web → app → database.
fn request_edges(topo: &Topology, add: &mut Add) {
    for lb in topo.with_role(Role::LoadBalancer) {
        for b in &lb.backends {
            let scheme = if topo.web_tls() { "HTTPS" } else { "HTTP" };
            let label = vec![format!("{scheme} :{}", topo.web_port(b))];
            add(
                pid(&lb.name, "haproxy"),
                pid(b, "nginx"),
                label,
                EdgeKind::Request,
            );
        }
    }
    for w in topo.with_role(Role::Web) {
        for a in &w.upstreams {
            let label = vec![format!("HTTP :{}", topo.app_port(a))];
            add(
                pid(&w.name, "nginx"),
                pid(a, "app"),
                label,
                EdgeKind::Request,
            );
        }
    }
    for a in topo.with_role(Role::App) {
        let mut dbs: Vec<&String> = a.db_writes.iter().collect();
        dbs.extend(a.db_reads.iter().filter(|r| !a.db_writes.contains(r)));
        for db in dbs {
            let mut l = vec![format!("SQL :{}", mariadb::PORT)];
            // A cluster's frame says its nodes all take reads and writes.
            if !topo.cluster().contains(db) {
                l.push(match (a.db_writes.contains(db), a.db_reads.contains(db)) {
                    (true, true) => "reads, writes".into(),
                    (true, false) => "writes".into(),
                    _ => "reads".into(),
                });
            }
            add(
                pid(&a.name, "app"),
                pid(db, "mariadb"),
                l,
                EdgeKind::Request,
            );
        }
    }
}

/// What the site keeps in step besides requests: zone transfers,
/// replication, VRRP, and Prometheus's scrapes.
fn copy_edges(topo: &Topology, add: &mut Add) {
    for (s, o) in topo.running::<crate::components::dns::Options>() {
        if let Some(primary) = &o.primary {
            add(
                pid(primary, "dns"),
                pid(&s.name, "dns"),
                vec!["zone transfer".into()],
                EdgeKind::Replication,
            );
        }
    }
    for r in topo.with_role(Role::DbReplica) {
        if let Some(p) = &r.replicates_from {
            let l = vec!["replication".into()];
            add(
                pid(p, "mariadb"),
                pid(&r.name, "mariadb"),
                l,
                EdgeKind::Replication,
            );
        }
    }
    for v in topo.vips.iter().filter(|v| v.members.len() > 1) {
        for pair in v.members.windows(2) {
            let l = vec!["VRRP".into()];
            add(pair[0].0.clone(), pair[1].0.clone(), l, EdgeKind::Vrrp);
        }
    }
    for m in topo.with_role(Role::Monitoring) {
        for s in topo
            .stack
            .servers
            .iter()
            .filter(|s| s.has("monitoring-client"))
        {
            let l = vec!["metrics".into()];
            add(
                pid(&m.name, "prometheus"),
                s.name.clone(),
                l,
                EdgeKind::Metrics,
            );
        }
    }
}

/// Builds the diagram's boxes and edges from the topology.
pub fn model(topo: &Topology) -> Model {
    let groups = groups(topo);
    Model {
        title: if topo.stack.description.is_empty() {
            topo.stack.name.clone()
        } else {
            format!("{}: {}", topo.stack.name, topo.stack.description)
        },
        zones: zones(topo),
        servers: topo.nodes.iter().map(|n| server_box(topo, n)).collect(),
        edges: edges(topo, &groups),
        groups,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(t: &str) -> Model {
        model(&crate::topology::Topology::load(t).unwrap())
    }

    #[test]
    fn every_seed_stack_lays_out_with_nothing_crossing() {
        let mut all = Vec::new();
        for t in ["task0", "task1", "task2", "task3", "task4"] {
            let l = layout(&seed(t));
            all.extend(problems(&l).into_iter().map(|p| format!("{t}: {p}")));
        }
        assert!(all.is_empty(), "{}", all.join("\n"));
    }

    /// Stacks edited from the seeds lay out as cleanly: a third server (a
    /// replica two rows under its primary), TLS re-encrypted to the web
    /// servers, HTTPS with no load balancer, the site open to anyone.
    #[test]
    fn edited_stacks_lay_out_with_nothing_crossing() {
        let variants = [
            "extends: task1\nname: three\nservers:\n  server-03:\n    networks: { public: 13, private: 13 }\n    components: [nginx, app, { mariadb: { role: replica } }]\n",
            "extends: task3\nname: reencrypt\ntls: { names: [www.foobar.com], reencrypt: true }\n",
            "extends: task0\nname: https0\ntls: { names: [www.foobar.com] }\n",
            "extends: task3\nname: open\nfirewall:\n  allow:\n    - { from: any, to: lb-01, port: 443 }\n    - { from: any, to: lb-02, port: 443 }\n",
        ];
        let dir = tempfile::tempdir().unwrap();
        let mut all = Vec::new();
        for (i, yaml) in variants.iter().enumerate() {
            let path = dir.path().join(format!("v{i}.yaml"));
            std::fs::write(&path, yaml).unwrap();
            let m = model(&crate::topology::Topology::load(path.to_str().unwrap()).unwrap());
            all.extend(
                problems(&layout(&m))
                    .into_iter()
                    .map(|p| format!("v{i}: {p}")),
            );
        }
        assert!(all.is_empty(), "{}", all.join("\n"));
    }

    #[test]
    fn task0_draws_the_path_inside_its_one_server() {
        let m = seed("task0");
        let s = m.server("server-01").unwrap();
        let tiers: Vec<Tier> = s.parts.iter().map(|p| p.tier).collect();
        assert_eq!(tiers, [Tier::Web, Tier::App, Tier::Db]);
        let request = |from: &str, to: &str| {
            m.edges
                .iter()
                .any(|e| e.kind == EdgeKind::Request && e.from == from && e.to == to)
        };
        assert!(request("client/client", "server-01/nginx"));
        assert!(request("server-01/nginx", "server-01/app"));
        assert!(request("server-01/app", "server-01/mariadb"));
        // No load balancer: no column for one.
        assert!(m
            .servers
            .iter()
            .all(|s| s.parts.iter().all(|p| p.tier != Tier::Entry)));
        assert_eq!(m.zones.len(), 1);
        assert!(m.zones[0].label.starts_with("the Internet"));
    }

    #[test]
    fn task3_has_the_vip_replication_tls_and_firewalls() {
        let m = seed("task3");
        let g = &m.groups[0];
        assert_eq!(g.lines[0], "10.103.0.100");
        assert_eq!(g.members, ["lb-01", "lb-02"]);
        assert!(m.edges.iter().any(|e| e.kind == EdgeKind::Replication
            && e.from == "db-01/mariadb"
            && e.to == "db-02/mariadb"));
        assert!(m.edges.iter().any(|e| e.from == "lb-01/haproxy"
            && e.to == "web-01/nginx"
            && e.label == ["HTTP :80"]));
        assert!(m.servers.iter().filter(|s| s.firewall).count() >= 8);
        let lb = m.server("lb-01").unwrap();
        assert!(lb.parts[0].tls_ends);
        let web = m.server("web-01").unwrap();
        let fw = web
            .blocks
            .iter()
            .find(|b| b.kind == BlockKind::Firewall)
            .unwrap();
        assert!(
            fw.lines.contains(&"80 ← lb-01, lb-02".to_string()),
            "{fw:?}"
        );
        let dot = dot(&m);
        assert!(
            dot.contains("\"app-01/app\" -> \"db-01/mariadb\" [label=\"SQL :3306\\nwrites\"]"),
            "{dot}"
        );
        assert!(mermaid(&m).starts_with("---\ntitle: task3"));
    }
}
