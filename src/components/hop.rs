//! A hop of the request path `infractl explain` prints: the servers a
//! request goes through at one step (DNS, the load balancers, the web,
//! application and database servers), the port it reaches them on and what
//! happens there. Each kind on the path writes its own (`Component::hop`);
//! this file holds the hop and the phrases the kinds share.

use serde::Serialize;

use crate::topology::Topology;

/// One step of a request, from the browser to the database.
#[derive(Debug, Clone, Serialize)]
pub struct Hop {
    pub what: String,
    pub servers: Vec<String>,
    /// `port/proto` the hop is reached on.
    pub port: String,
    pub note: String,
}

/// The network traffic from `from` to `to` takes, in words.
pub fn via(topo: &Topology, from: &str, to: &str) -> String {
    let (a, b) = (topo.server(from), topo.server(to));
    match crate::topology::shared_network(&topo.stack, a, b) {
        Some(n) => format!("over the {n} network"),
        None => "over the network".into(),
    }
}

/// The port users reach the entry point on.
pub fn entry_port(topo: &Topology, http: u16, https: u16) -> String {
    if topo.tls() {
        format!("{https}/tcp (HTTPS; {http} redirects)")
    } else {
        format!("{http}/tcp (HTTP)")
    }
}
