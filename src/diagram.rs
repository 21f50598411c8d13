//! `diagram`: the drawing the seeds ask for, from the topology — the user,
//! DNS, the load balancers and their virtual IP, each server with its
//! components, firewalls, where TLS terminates, replication and monitoring
//! flows, ports on the edges — as SVG (drawn here, no external program),
//! Mermaid or Graphviz DOT.
//!
//! SVG layout: one column per tier (user and DNS, load balancers, web,
//! application, database), servers stacked in their column, so boxes never
//! overlap; each edge's port label sits by the box it enters, one per box;
//! monitoring scrapes run along a bus under the columns.

use std::fmt::Write as _;

use crate::components::ComponentSpec;
use crate::topology::{Role, Topology};

/// A box of the diagram.
#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub title: String,
    pub lines: Vec<String>,
    pub column: usize,
    pub firewall: bool,
    pub tls: bool,
    pub monitored: bool,
    pub kind: NodeKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    User,
    Server,
    Vip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    Request,
    Replication,
    Vrrp,
    Metrics,
}

#[derive(Debug, Clone)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub label: String,
    pub kind: EdgeKind,
}

/// The diagram as nodes and edges, before any layout.
#[derive(Debug, Clone)]
pub struct Model {
    pub title: String,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

fn column_of(roles: &[Role]) -> usize {
    let tier = |r: &Role| match r {
        Role::Client | Role::Dns | Role::Monitoring => 0,
        Role::LoadBalancer => 1,
        Role::Web => 2,
        Role::App => 3,
        Role::DbPrimary | Role::DbReplica => 4,
    };
    roles.iter().map(tier).min().unwrap_or(0)
}

fn component_line(c: &ComponentSpec, topo: &Topology, server: &str) -> String {
    match c {
        ComponentSpec::Nginx(o) => {
            if topo.web_tls() {
                format!("nginx :{} :{} (TLS)", o.port, o.https_port)
            } else {
                format!("nginx :{}", o.port)
            }
        }
        ComponentSpec::App(o) => format!("app (gunicorn) :{}", o.port),
        ComponentSpec::Mariadb(o) => format!(
            "MySQL {} :3306",
            match o.role {
                crate::components::mariadb::DbRole::Primary => "primary",
                crate::components::mariadb::DbRole::Replica => "replica",
            }
        ),
        ComponentSpec::Haproxy(o) => format!(
            "HAProxy {} :{}{}",
            o.balance.as_str(),
            o.port,
            if topo.tls() {
                format!(" :{} TLS", o.https_port)
            } else {
                String::new()
            }
        ),
        ComponentSpec::Keepalived(_) => {
            let prio = topo
                .vips
                .iter()
                .flat_map(|v| v.members.iter())
                .find(|m| m.0 == server)
                .map(|m| m.1)
                .unwrap_or(0);
            format!("keepalived (priority {prio})")
        }
        ComponentSpec::Ufw(_) => "ufw firewall".into(),
        ComponentSpec::Dns(_) => format!("BIND: {} :53", topo.stack.domain),
        ComponentSpec::MonitoringClient(_) => {
            let ports: Vec<String> = topo
                .exporters(server)
                .iter()
                .map(|(j, p)| format!("{j} :{p}"))
                .collect();
            format!("exporters {}", ports.join(" "))
        }
        ComponentSpec::Prometheus(o) => format!("Prometheus :{}", o.port),
        ComponentSpec::Client(_) => "browser (curl)".into(),
    }
}

/// Builds the diagram's nodes and edges from the topology.
pub fn model(topo: &Topology) -> Model {
    let stack = &topo.stack;
    let mut nodes = Vec::new();
    for n in &topo.nodes {
        let s = topo.server(&n.name);
        let client = n.roles.contains(&Role::Client);
        let mut lines: Vec<String> = s
            .components
            .iter()
            .filter(|c| !matches!(c, ComponentSpec::Client(_) | ComponentSpec::Ufw(_)))
            .map(|c| component_line(c, topo, &n.name))
            .collect();
        if client {
            lines.insert(0, "the user's computer".into());
            lines.insert(1, "browser (curl)".into());
        }
        lines.push(
            s.addrs
                .iter()
                .map(|(net, a)| format!("{a} {net}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        let tls_here = stack.tls.is_some()
            && (n.roles.contains(&Role::LoadBalancer)
                || (topo.web_tls() && n.roles.contains(&Role::Web)));
        nodes.push(Node {
            id: n.name.clone(),
            title: n.name.clone(),
            lines,
            column: column_of(&n.roles),
            firewall: s.has("ufw"),
            tls: tls_here,
            monitored: s.has("monitoring-client"),
            kind: if client {
                NodeKind::User
            } else {
                NodeKind::Server
            },
        });
    }
    for v in &topo.vips {
        nodes.push(Node {
            id: format!("vip-{}", v.address),
            title: format!("virtual IP {}", v.address),
            lines: vec!["keepalived VRRP, active-passive".into()],
            column: 1,
            firewall: false,
            tls: false,
            monitored: false,
            kind: NodeKind::Vip,
        });
    }

    let mut edges = Vec::new();
    let mut edge = |from: &str, to: &str, label: String, kind: EdgeKind| {
        if !edges
            .iter()
            .any(|e: &Edge| e.from == from && e.to == to && e.kind == kind)
        {
            edges.push(Edge {
                from: from.into(),
                to: to.into(),
                label,
                kind,
            });
        }
    };
    let scheme = if stack.tls.is_some() {
        "HTTPS 443"
    } else {
        "HTTP 80"
    };
    for c in topo.with_role(Role::Client) {
        for d in topo.with_role(Role::Dns) {
            edge(&c.name, &d.name, "DNS 53/udp".into(), EdgeKind::Request);
        }
        match topo.vips.first() {
            Some(v) => edge(
                &c.name,
                &format!("vip-{}", v.address),
                scheme.into(),
                EdgeKind::Request,
            ),
            None => {
                for e in topo.entry() {
                    edge(&c.name, &e.name, scheme.into(), EdgeKind::Request);
                }
            }
        }
    }
    for v in &topo.vips {
        for (m, _) in &v.members {
            edge(
                &format!("vip-{}", v.address),
                m,
                "VRRP".into(),
                EdgeKind::Vrrp,
            );
        }
    }
    for lb in topo.with_role(Role::LoadBalancer) {
        for b in &lb.backends {
            let port = topo.web_port(b);
            let label = if topo.web_tls() {
                format!("HTTPS {port}")
            } else {
                format!("HTTP {port}")
            };
            edge(&lb.name, b, label, EdgeKind::Request);
        }
    }
    for w in topo.with_role(Role::Web) {
        for a in w.upstreams.iter().filter(|a| **a != w.name) {
            edge(
                &w.name,
                a,
                format!("HTTP {}", topo.app_port(a)),
                EdgeKind::Request,
            );
        }
    }
    for a in topo.with_role(Role::App) {
        if let Some(p) = a.db_primary.as_ref().filter(|p| **p != a.name) {
            edge(&a.name, p, "SQL 3306 writes".into(), EdgeKind::Request);
        }
        for r in a
            .db_reads
            .iter()
            .filter(|r| **r != a.name && Some(*r) != a.db_primary.as_ref())
        {
            edge(&a.name, r, "SQL 3306 reads".into(), EdgeKind::Request);
        }
    }
    for r in topo.with_role(Role::DbReplica) {
        if let Some(p) = &r.replicates_from {
            edge(p, &r.name, "replication".into(), EdgeKind::Replication);
        }
    }
    for m in topo.with_role(Role::Monitoring) {
        for s in stack.servers.iter().filter(|s| s.has("monitoring-client")) {
            edge(&m.name, &s.name, "metrics".into(), EdgeKind::Metrics);
        }
    }
    Model {
        title: format!("{}: {}", stack.name, stack.description),
        nodes,
        edges,
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const BOX_W: f64 = 220.0;
const COL_GAP: f64 = 150.0;
/// Width of a character of the box text, near enough for sizing boxes.
const CHAR_W: f64 = 6.6;

/// Left edge and width of each column: as wide as its widest line.
fn columns(m: &Model) -> Vec<(f64, f64)> {
    let count = m.nodes.iter().map(|n| n.column).max().unwrap_or(0) + 1;
    let mut out = Vec::new();
    let mut x = LEFT;
    for col in 0..count {
        let widest = m
            .nodes
            .iter()
            .filter(|n| n.column == col)
            .flat_map(|n| {
                n.lines
                    .iter()
                    .map(|l| l.chars().count())
                    .chain([n.title.chars().count() + 2, 42])
            })
            .max()
            .unwrap_or(0);
        let w = (widest as f64 * CHAR_W + 20.0).max(BOX_W);
        out.push((x, w));
        x += w + COL_GAP;
    }
    out
}
const LINE_H: f64 = 15.0;
const TOP: f64 = 70.0;
const LEFT: f64 = 24.0;
const V_GAP: f64 = 26.0;

#[derive(Debug, Clone, Copy)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Rect {
    fn overlaps(&self, o: &Rect) -> bool {
        self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
    }
}

/// Box positions: columns of the tiers, boxes stacked top down.
fn layout(m: &Model) -> Vec<(String, Rect)> {
    let mut out = Vec::new();
    for (col, (x, w)) in columns(m).into_iter().enumerate() {
        let mut y = TOP;
        // In the balancers' column the virtual IP comes first.
        let mut in_col: Vec<&Node> = m.nodes.iter().filter(|n| n.column == col).collect();
        in_col.sort_by_key(|n| match n.kind {
            NodeKind::User => 0,
            NodeKind::Vip => 0,
            NodeKind::Server => 1,
        });
        for n in in_col {
            let h = 30.0
                + n.lines.len() as f64 * LINE_H
                + if n.firewall || n.tls { LINE_H } else { 0.0 };
            out.push((n.id.clone(), Rect { x, y, w, h }));
            y += h + V_GAP;
        }
    }
    out
}

/// The diagram as SVG.
pub fn svg(m: &Model) -> String {
    let rects = layout(m);
    let rect = |id: &str| rects.iter().find(|(n, _)| n == id).map(|(_, r)| *r);
    let bottom = rects.iter().map(|(_, r)| r.y + r.h).fold(TOP, f64::max);
    let right = rects.iter().map(|(_, r)| r.x + r.w).fold(LEFT, f64::max);
    let has_metrics = m.edges.iter().any(|e| e.kind == EdgeKind::Metrics);
    let bus_y = bottom + 30.0;
    let legend_y = if has_metrics {
        bus_y + 40.0
    } else {
        bottom + 30.0
    };
    // Room on the right for the arcs between boxes of the last column.
    let width = right + LEFT + 150.0;
    let height = legend_y + 40.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"#
    );
    s.push_str(r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker><marker id="arrow-g" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#1a7f37"/></marker><marker id="arrow-p" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#8250df"/></marker></defs>"##);
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let _ = writeln!(
        s,
        r##"<text x="{LEFT}" y="28" font-size="16" font-weight="bold" fill="#1b1f24">{}</text>"##,
        esc(&m.title)
    );
    let headings = [
        "user, DNS, monitoring",
        "load balancers",
        "web servers",
        "application servers",
        "databases",
    ];
    for ((x, _), h) in columns(m).into_iter().zip(headings.iter()) {
        let _ = writeln!(
            s,
            r##"<text x="{x}" y="54" fill="#57606a" font-size="11">{}</text>"##,
            h.to_uppercase()
        );
    }

    // Edges first, boxes over them.
    let mut labels: Vec<(String, Vec<String>)> = Vec::new();
    let mut arcs: Vec<(String, String)> = Vec::new();
    for e in &m.edges {
        let (Some(a), Some(b)) = (rect(&e.from), rect(&e.to)) else {
            continue;
        };
        let (color, dash, marker) = match e.kind {
            EdgeKind::Request => ("#444", "", "url(#arrow)"),
            EdgeKind::Replication => ("#1a7f37", r#" stroke-dasharray="6 4""#, "url(#arrow-g)"),
            EdgeKind::Vrrp => ("#8250df", r#" stroke-dasharray="3 3""#, ""),
            EdgeKind::Metrics => continue,
        };
        let marker = if marker.is_empty() {
            String::new()
        } else {
            format!(r#" marker-end="{marker}""#)
        };
        if (a.x - b.x).abs() < 1.0 {
            // Same column: an arc on the right side, from box to box; arcs
            // between the same boxes nest, their labels stacked.
            let pair = |e: &Edge| {
                (
                    e.from.clone().min(e.to.clone()),
                    e.from.clone().max(e.to.clone()),
                )
            };
            let nth = arcs.iter().filter(|p| **p == pair(e)).count();
            arcs.push(pair(e));
            let x = a.x + a.w;
            let (y1, y2) = (
                a.y + a.h / 2.0 + nth as f64 * 6.0,
                b.y + b.h / 2.0 - nth as f64 * 6.0,
            );
            let bulge = x + 30.0 + nth as f64 * 26.0;
            let _ = writeln!(
                s,
                r#"<path d="M{x:.1},{y1:.1} C{bulge:.1},{y1:.1} {bulge:.1},{y2:.1} {x:.1},{y2:.1}" fill="none" stroke="{color}" stroke-width="1.4"{dash}{marker}/>"#
            );
            if e.kind != EdgeKind::Vrrp {
                let _ = writeln!(
                    s,
                    r##"<text x="{:.1}" y="{:.1}" fill="{color}" font-size="10" text-anchor="start">{}</text>"##,
                    bulge + 4.0,
                    (y1 + y2) / 2.0 - 12.0 + nth as f64 * 13.0,
                    esc(&e.label)
                );
            }
        } else {
            let (x1, y1) = (a.x + a.w, a.y + a.h / 2.0);
            let (x2, y2) = (b.x, b.y + b.h / 2.0);
            let _ = writeln!(
                s,
                r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{color}" stroke-width="1.4"{dash}{marker}/>"#
            );
            match labels.iter_mut().find(|(t, _)| t == &e.to) {
                Some((_, l)) if !l.contains(&e.label) => l.push(e.label.clone()),
                Some(_) => {}
                None => labels.push((e.to.clone(), vec![e.label.clone()])),
            }
        }
    }
    // Port labels by the box each edge enters, above its middle.
    for (to, ls) in &labels {
        let Some(r) = rect(to) else { continue };
        for (i, l) in ls.iter().enumerate() {
            let y = r.y + r.h / 2.0 - 6.0 - (ls.len() - 1 - i) as f64 * 12.0;
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{y:.1}" fill="#24292f" font-size="10" text-anchor="end">{}</text>"##,
                r.x - 6.0,
                esc(l)
            );
        }
    }
    // Monitoring: a bus under the columns, a drop from each monitored box.
    if has_metrics {
        let scrapers: Vec<&Edge> = m
            .edges
            .iter()
            .filter(|e| e.kind == EdgeKind::Metrics)
            .collect();
        let mut xs = Vec::new();
        for id in scrapers
            .iter()
            .map(|e| e.to.as_str())
            .chain(scrapers.iter().map(|e| e.from.as_str()))
        {
            if let Some(r) = rect(id) {
                let x = r.x + r.w - 14.0;
                let _ = writeln!(
                    s,
                    r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{bus_y:.1}" stroke="#bf8700" stroke-width="1.2" stroke-dasharray="2 3"/>"##,
                    r.y + r.h
                );
                xs.push(x);
            }
        }
        let (lo, hi) = xs
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(*x), b.max(*x)));
        let _ = writeln!(
            s,
            r##"<line x1="{lo:.1}" y1="{bus_y:.1}" x2="{hi:.1}" y2="{bus_y:.1}" stroke="#bf8700" stroke-width="1.6" stroke-dasharray="2 3"/>"##
        );
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" fill="#9a6700" font-size="11">monitoring: {} scrapes every exporter (node, nginx QPS, MySQL, HAProxy)</text>"##,
            lo,
            bus_y + 16.0,
            esc(&scrapers[0].from)
        );
    }
    // Boxes.
    for n in &m.nodes {
        let Some(r) = rect(&n.id) else { continue };
        let (fill, stroke) = match n.kind {
            NodeKind::User => ("#ddf4ff", "#0969da"),
            NodeKind::Vip => ("#fbefff", "#8250df"),
            NodeKind::Server => ("#f6f8fa", "#57606a"),
        };
        let (stroke, width, dash) = if n.firewall {
            ("#cf222e", 2.2, r#" stroke-dasharray="7 3""#)
        } else {
            (stroke, 1.2, "")
        };
        let radius = if n.kind == NodeKind::Vip { 16 } else { 6 };
        let _ = writeln!(
            s,
            r#"<g class="node" id="{}"><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="{radius}" fill="{fill}" stroke="{stroke}" stroke-width="{width}"{dash}/>"#,
            esc(&n.id),
            r.x,
            r.y,
            r.w,
            r.h
        );
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-weight="bold" font-size="13" fill="#1b1f24">{}</text>"##,
            r.x + 10.0,
            r.y + 19.0,
            esc(&n.title)
        );
        let mut y = r.y + 19.0;
        for l in &n.lines {
            y += LINE_H;
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{y:.1}" fill="#24292f" font-size="11">{}</text>"##,
                r.x + 10.0,
                esc(l)
            );
        }
        let mut badges = Vec::new();
        if n.firewall {
            badges.push(("firewall: default deny", "#cf222e"));
        }
        if n.tls {
            badges.push(("TLS terminates here", "#1a7f37"));
        }
        if !badges.is_empty() {
            y += LINE_H;
            let mut x = r.x + 10.0;
            for (b, c) in badges {
                let _ = writeln!(
                    s,
                    r##"<text x="{x:.1}" y="{y:.1}" fill="{c}" font-size="10" font-weight="bold">{b}</text>"##
                );
                x += b.len() as f64 * 6.3 + 12.0;
            }
        }
        s.push_str("</g>\n");
    }
    // Legend.
    let _ = writeln!(
        s,
        r##"<text x="{LEFT}" y="{legend_y:.1}" fill="#57606a" font-size="11">arrows: requests, with their ports by the box they enter. green dashed: replication. purple dotted: VRRP. red dashed border: firewall.</text>"##
    );
    s.push_str("</svg>\n");
    s
}

/// Whether any two boxes of the SVG layout overlap (they must not).
pub fn overlapping(m: &Model) -> Vec<(String, String)> {
    let rects = layout(m);
    let mut out = Vec::new();
    for (i, (a, ra)) in rects.iter().enumerate() {
        for (b, rb) in &rects[i + 1..] {
            if ra.overlaps(rb) {
                out.push((a.clone(), b.clone()));
            }
        }
    }
    out
}

fn ident(id: &str) -> String {
    id.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The diagram as a Mermaid flowchart.
pub fn mermaid(m: &Model) -> String {
    let mut s = format!(
        "---\ntitle: {}\n---\nflowchart LR\n",
        m.title.replace(':', " -")
    );
    for n in &m.nodes {
        let mut label = format!("<b>{}</b>", n.title);
        for l in &n.lines {
            label.push_str(&format!("<br/>{}", l.replace('"', "'")));
        }
        if n.firewall {
            label.push_str("<br/><i>firewall</i>");
        }
        if n.tls {
            label.push_str("<br/><i>TLS terminates here</i>");
        }
        let (open, close) = match n.kind {
            NodeKind::User => ("([", "])"),
            NodeKind::Vip => ("{{", "}}"),
            NodeKind::Server => ("[", "]"),
        };
        let _ = writeln!(s, "    {}{open}\"{label}\"{close}", ident(&n.id));
    }
    for e in &m.edges {
        let arrow = match e.kind {
            EdgeKind::Request => "-->",
            EdgeKind::Replication | EdgeKind::Metrics => "-.->",
            EdgeKind::Vrrp => "-.-",
        };
        let _ = writeln!(
            s,
            "    {} {arrow}|\"{}\"| {}",
            ident(&e.from),
            e.label,
            ident(&e.to)
        );
    }
    for n in m.nodes.iter().filter(|n| n.firewall) {
        let _ = writeln!(
            s,
            "    style {} stroke:#cf222e,stroke-width:2px,stroke-dasharray: 5 3",
            ident(&n.id)
        );
    }
    s
}

/// The diagram as Graphviz DOT.
pub fn dot(m: &Model) -> String {
    let mut s = format!(
        "digraph \"{}\" {{\n    rankdir=LR;\n    label=\"{}\";\n    labelloc=t;\n    node [shape=box, style=\"rounded,filled\", fillcolor=\"#f6f8fa\", fontname=\"Helvetica\", fontsize=11];\n    edge [fontname=\"Helvetica\", fontsize=10];\n",
        m.title.replace('"', "'"),
        m.title.replace('"', "'")
    );
    for n in &m.nodes {
        let mut label = n.title.clone();
        for l in &n.lines {
            label.push_str(&format!("\\n{}", l.replace('"', "'")));
        }
        if n.firewall {
            label.push_str("\\n[firewall]");
        }
        if n.tls {
            label.push_str("\\n[TLS terminates here]");
        }
        let extra = if n.firewall {
            ", color=\"#cf222e\", penwidth=2"
        } else {
            ""
        };
        let _ = writeln!(s, "    \"{}\" [label=\"{label}\"{extra}];", n.id);
    }
    for e in &m.edges {
        let style = match e.kind {
            EdgeKind::Request => "",
            EdgeKind::Replication => ", style=dashed, color=\"#1a7f37\"",
            EdgeKind::Metrics => ", style=dotted, color=\"#bf8700\"",
            EdgeKind::Vrrp => ", style=dotted, dir=none, color=\"#8250df\"",
        };
        let _ = writeln!(
            s,
            "    \"{}\" -> \"{}\" [label=\"{}\"{style}];",
            e.from, e.to, e.label
        );
    }
    s.push_str("}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_boxes_overlap_in_any_seed_stack() {
        for t in ["task0", "task1", "task2", "task3"] {
            let m = model(&crate::stack::load(t).unwrap());
            assert!(overlapping(&m).is_empty(), "{t}: {:?}", overlapping(&m));
        }
    }

    #[test]
    fn task3_diagram_has_the_vip_replication_and_firewalls() {
        let m = model(&crate::stack::load("task3").unwrap());
        assert!(m
            .nodes
            .iter()
            .any(|n| n.kind == NodeKind::Vip && n.title == "virtual IP 10.103.0.100"));
        assert!(m
            .edges
            .iter()
            .any(|e| e.kind == EdgeKind::Replication && e.from == "db-01" && e.to == "db-02"));
        assert!(m
            .edges
            .iter()
            .any(|e| e.from == "lb-01" && e.to == "web-01" && e.label == "HTTP 80"));
        assert!(m.nodes.iter().filter(|n| n.firewall).count() >= 8);
        let dot = dot(&m);
        assert!(
            dot.contains("\"app-01\" -> \"db-01\" [label=\"SQL 3306 writes\"]"),
            "{dot}"
        );
        assert!(mermaid(&m).starts_with("---\ntitle: task3"));
    }
}
