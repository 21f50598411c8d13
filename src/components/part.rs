//! The part a component draws inside its server on the diagram, and the
//! tier (column) it stands in: what a kind says of itself for the drawing
//! (`Component::draw`), kept apart from the diagram so the kinds need not
//! know how it is laid out.

/// Where a part stands on the request path: its column in the drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// The user's browser and the DNS server: outside the site.
    Outside,
    /// Load balancers.
    Entry,
    Web,
    App,
    Db,
    /// Prometheus: drawn under the others.
    Monitoring,
}

/// A component on the request path, drawn as a box inside its server.
#[derive(Debug, Clone)]
pub struct Part {
    /// `server/component`.
    pub id: String,
    pub tier: Tier,
    pub title: String,
    pub lines: Vec<String>,
    /// TLS ends in this component.
    pub tls_ends: bool,
}

impl Part {
    /// A part in `tier`; the diagram gives it its id.
    pub fn new(tier: Tier, title: String, lines: Vec<String>, tls_ends: bool) -> Part {
        Part {
            id: String::new(),
            tier,
            title,
            lines,
            tls_ends,
        }
    }
}
