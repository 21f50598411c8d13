//! The same model for other tools: a Mermaid flowchart and Graphviz DOT.
//! Each server is a subgraph holding its parts (so the path inside a server
//! is there too), with its addresses and blocks (firewall, exporters, DNS
//! records); servers on one network sit in that network's zone, servers on
//! several name them in their addresses (neither format lets zones
//! overlap); a virtual IP is a subgraph around its load balancers.

use std::fmt::Write as _;

use super::{BlockKind, EdgeKind, Model, ServerBox};

fn ident(id: &str) -> String {
    id.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The zone a server is drawn in: its only network's.
fn zone_of<'a>(m: &'a Model, s: &ServerBox) -> Option<&'a super::Zone> {
    match s.networks.as_slice() {
        [one] => m.zones.iter().find(|z| &z.network == one),
        _ => None,
    }
}

fn block_lines(s: &ServerBox) -> Vec<String> {
    let mut out = Vec::new();
    for b in &s.blocks {
        if let Some(t) = &b.title {
            out.push(format!("{t}:"));
        }
        let indent = if b.kind == BlockKind::Firewall {
            "  "
        } else {
            ""
        };
        out.extend(b.lines.iter().map(|l| format!("{indent}{l}")));
    }
    out
}

fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;")
}

fn mermaid_server(out: &mut String, s: &ServerBox, indent: &str) {
    let title: Vec<String> = std::iter::once(format!("<b>{}</b>", s.title))
        .chain(s.addresses.iter().cloned())
        .collect();
    let _ = writeln!(
        out,
        "{indent}subgraph {}[\"{}\"]",
        ident(&s.id),
        mermaid_text(&title.join("<br/>"))
    );
    for p in &s.parts {
        let mut label = vec![format!("<b>{}</b>", p.title)];
        label.extend(p.lines.iter().cloned());
        if p.tls_ends {
            label.push("<i>TLS ends here</i>".into());
        }
        let _ = writeln!(
            out,
            "{indent}    {}[\"{}\"]",
            ident(&p.id),
            mermaid_text(&label.join("<br/>"))
        );
    }
    let notes = block_lines(s);
    if !notes.is_empty() {
        let _ = writeln!(
            out,
            "{indent}    {}_notes[\"{}\"]",
            ident(&s.id),
            mermaid_text(&notes.join("<br/>"))
        );
    }
    let _ = writeln!(out, "{indent}end");
}

/// Servers not in a group, and the groups, at one level.
fn mermaid_servers(out: &mut String, m: &Model, servers: &[&ServerBox], indent: &str) {
    for s in servers {
        if !m.groups.iter().any(|g| g.members.contains(&s.id)) {
            mermaid_server(out, s, indent);
        }
    }
    for g in &m.groups {
        let members: Vec<&&ServerBox> = servers
            .iter()
            .filter(|s| g.members.contains(&s.id))
            .collect();
        if members.is_empty() {
            continue;
        }
        let title = std::iter::once(format!("<b>{}</b>", g.title)).chain(g.lines.iter().cloned());
        let _ = writeln!(
            out,
            "{indent}subgraph {}[\"{}\"]",
            ident(&g.id),
            mermaid_text(&title.collect::<Vec<_>>().join("<br/>"))
        );
        for s in members {
            mermaid_server(out, s, &format!("{indent}    "));
        }
        let _ = writeln!(out, "{indent}end");
    }
}

/// The diagram as a Mermaid flowchart.
pub fn mermaid(m: &Model) -> String {
    let mut s = format!(
        "---\ntitle: {}\n---\nflowchart LR\n",
        m.title.replace(':', " -")
    );
    for z in &m.zones {
        let inside: Vec<&ServerBox> = m
            .servers
            .iter()
            .filter(|sv| zone_of(m, sv).is_some_and(|x| x.network == z.network))
            .collect();
        if inside.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "    subgraph zone_{}[\"{}\"]",
            ident(&z.network),
            mermaid_text(&z.label)
        );
        mermaid_servers(&mut s, m, &inside, "        ");
        let _ = writeln!(s, "    end");
    }
    let rest: Vec<&ServerBox> = m
        .servers
        .iter()
        .filter(|sv| zone_of(m, sv).is_none())
        .collect();
    mermaid_servers(&mut s, m, &rest, "    ");
    for e in &m.edges {
        let arrow = match e.kind {
            EdgeKind::Request => "-->",
            EdgeKind::Dns | EdgeKind::Replication | EdgeKind::Metrics => "-.->",
            EdgeKind::Vrrp => "-.-",
        };
        let _ = writeln!(
            s,
            "    {} {arrow}|\"{}\"| {}",
            ident(&e.from),
            mermaid_text(&e.label.join("<br/>")),
            ident(&e.to)
        );
    }
    for sv in m.servers.iter().filter(|sv| sv.firewall) {
        let _ = writeln!(
            s,
            "    style {} stroke:#cf222e,stroke-width:2px,stroke-dasharray: 5 3",
            ident(&sv.id)
        );
    }
    for p in m
        .servers
        .iter()
        .flat_map(|sv| sv.parts.iter())
        .filter(|p| p.tls_ends)
    {
        let _ = writeln!(
            s,
            "    style {} stroke:#1a7f37,stroke-width:3px",
            ident(&p.id)
        );
    }
    s
}

fn dot_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn dot_server(out: &mut String, s: &ServerBox, indent: &str) {
    let mut label = vec![s.title.clone()];
    label.extend(s.addresses.iter().cloned());
    let border = if s.firewall {
        " color=\"#cf222e\"; style=\"dashed,rounded\"; penwidth=2;"
    } else {
        " style=rounded;"
    };
    let _ = writeln!(
        out,
        "{indent}subgraph \"cluster_{}\" {{ label=\"{}\";{border}",
        s.id,
        label
            .iter()
            .map(|l| dot_text(l))
            .collect::<Vec<_>>()
            .join("\\n")
    );
    for p in &s.parts {
        let mut lines = vec![p.title.clone()];
        lines.extend(p.lines.iter().cloned());
        if p.tls_ends {
            lines.push("TLS ends here".into());
        }
        let extra = if p.tls_ends {
            ", color=\"#1a7f37\", penwidth=2"
        } else {
            ""
        };
        let text: Vec<String> = lines.iter().map(|l| dot_text(l)).collect();
        let _ = writeln!(
            out,
            "{indent}    \"{}\" [label=\"{}\"{extra}];",
            p.id,
            text.join("\\n")
        );
    }
    let notes = block_lines(s);
    if !notes.is_empty() {
        let text: Vec<String> = notes.iter().map(|l| dot_text(l)).collect();
        let _ = writeln!(
            out,
            "{indent}    \"{}/notes\" [shape=note, label=\"{}\\l\"];",
            s.id,
            text.join("\\l")
        );
    }
    let _ = writeln!(out, "{indent}}}");
}

fn dot_servers(out: &mut String, m: &Model, servers: &[&ServerBox], indent: &str) {
    for s in servers {
        if !m.groups.iter().any(|g| g.members.contains(&s.id)) {
            dot_server(out, s, indent);
        }
    }
    for g in &m.groups {
        let members: Vec<&&ServerBox> = servers
            .iter()
            .filter(|s| g.members.contains(&s.id))
            .collect();
        if members.is_empty() {
            continue;
        }
        let mut label = vec![g.title.clone()];
        label.extend(g.lines.iter().cloned());
        let _ = writeln!(
            out,
            "{indent}subgraph \"cluster_{}\" {{ label=\"{}\"; style=dashed; color=\"#8250df\";",
            g.id,
            label.join("\\n")
        );
        for s in members {
            dot_server(out, s, &format!("{indent}    "));
        }
        let _ = writeln!(out, "{indent}}}");
    }
}

/// The node an edge end stands for in DOT, and the cluster it ends at when
/// the end is a whole server or group (drawn with `lhead`/`ltail`).
fn dot_end(m: &Model, id: &str) -> (String, Option<String>) {
    if let Some(s) = m.server(id) {
        let first = s
            .parts
            .first()
            .map(|p| p.id.clone())
            .unwrap_or_else(|| id.to_string());
        return (first, Some(format!("cluster_{id}")));
    }
    if let Some(g) = m.groups.iter().find(|g| g.id == id) {
        let first = g
            .members
            .first()
            .and_then(|s| m.server(s))
            .and_then(|s| s.parts.first())
            .map(|p| p.id.clone())
            .unwrap_or_default();
        return (first, Some(format!("cluster_{id}")));
    }
    (id.to_string(), None)
}

/// The diagram as Graphviz DOT.
pub fn dot(m: &Model) -> String {
    let title = dot_text(&m.title);
    let mut s = format!(
        "digraph \"{title}\" {{\n    rankdir=LR;\n    compound=true;\n    label=\"{title}\";\n    labelloc=t;\n    node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\", fontsize=11];\n    edge [fontname=\"Helvetica\", fontsize=10];\n"
    );
    for z in &m.zones {
        let inside: Vec<&ServerBox> = m
            .servers
            .iter()
            .filter(|sv| zone_of(m, sv).is_some_and(|x| x.network == z.network))
            .collect();
        if inside.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "    subgraph \"cluster_zone_{}\" {{ label=\"{}\"; style=filled; fillcolor=\"{}\";",
            z.network,
            dot_text(&z.label),
            if z.public { "#eef7ff" } else { "#effaf1" }
        );
        dot_servers(&mut s, m, &inside, "        ");
        let _ = writeln!(s, "    }}");
    }
    let rest: Vec<&ServerBox> = m
        .servers
        .iter()
        .filter(|sv| zone_of(m, sv).is_none())
        .collect();
    dot_servers(&mut s, m, &rest, "    ");
    for e in &m.edges {
        let style = match e.kind {
            EdgeKind::Request => "",
            EdgeKind::Dns => ", style=dashed, color=\"#0969da\"",
            EdgeKind::Replication => ", style=dashed, color=\"#1a7f37\"",
            EdgeKind::Metrics => ", style=dotted, color=\"#bf8700\"",
            EdgeKind::Vrrp => ", style=dotted, dir=none, color=\"#8250df\"",
        };
        let (from, ltail) = dot_end(m, &e.from);
        let (to, lhead) = dot_end(m, &e.to);
        let mut attrs = format!(
            "label=\"{}\"{style}",
            dot_text(&e.label.join("\n")).replace('\n', "\\n")
        );
        if let Some(t) = ltail {
            attrs.push_str(&format!(", ltail=\"{t}\""));
        }
        if let Some(h) = lhead {
            attrs.push_str(&format!(", lhead=\"{h}\""));
        }
        let _ = writeln!(s, "    \"{from}\" -> \"{to}\" [{attrs}];");
    }
    s.push_str("}\n");
    s
}
