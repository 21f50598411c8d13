//! Small models made by hand for the unit tests of the layout, the routing
//! and the checks: servers with parts on given tiers, edges between them,
//! with none of a topology's detail.

use super::{BoxKind, Edge, EdgeKind, Group, Model, Part, ServerBox, Tier, Zone};

/// A part `name` of `server` on `tier`, titled by its name.
pub(super) fn part(server: &str, name: &str, tier: Tier) -> Part {
    Part {
        id: format!("{server}/{name}"),
        tier,
        title: name.to_string(),
        lines: vec![],
        tls_ends: false,
    }
}

/// A server of `kind` with a part per `(name, tier)`.
pub(super) fn server(id: &str, kind: BoxKind, parts: &[(&str, Tier)]) -> ServerBox {
    ServerBox {
        id: id.to_string(),
        title: id.to_string(),
        addresses: vec![],
        networks: vec![],
        kind,
        parts: parts.iter().map(|(n, t)| part(id, n, *t)).collect(),
        blocks: vec![],
        firewall: false,
    }
}

/// A server of the site.
pub(super) fn site(id: &str, parts: &[(&str, Tier)]) -> ServerBox {
    server(id, BoxKind::Site, parts)
}

/// An edge with its label's lines.
pub(super) fn edge(from: &str, to: &str, kind: EdgeKind, label: &[&str]) -> Edge {
    Edge {
        from: from.to_string(),
        to: to.to_string(),
        label: label.iter().map(|l| l.to_string()).collect(),
        kind,
    }
}

/// A group of servers: a cluster, or servers sharing a virtual IP.
pub(super) fn group(id: &str, members: &[&str], cluster: bool) -> Group {
    Group {
        id: id.to_string(),
        title: id.to_string(),
        lines: vec![],
        members: members.iter().map(|m| m.to_string()).collect(),
        cluster,
    }
}

/// A private network's zone round `members`.
pub(super) fn zone(network: &str, members: &[&str]) -> Zone {
    Zone {
        network: network.to_string(),
        label: network.to_string(),
        short: vec![],
        public: false,
        members: members.iter().map(|m| m.to_string()).collect(),
    }
}

/// A model of these servers and edges, with no groups or zones.
pub(super) fn model(servers: Vec<ServerBox>, edges: Vec<Edge>) -> Model {
    Model {
        title: "test".to_string(),
        zones: vec![],
        servers,
        groups: vec![],
        edges,
    }
}

/// The grid cell of `server` at `row`, in column `col` alone.
pub(super) fn cell(server: usize, row: usize, col: usize) -> super::grid::Cell {
    super::grid::Cell {
        server,
        row,
        a: col,
        b: col,
        own: None,
    }
}
