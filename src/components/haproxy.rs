//! HAProxy: the load balancer. Round robin (or another algorithm) over the
//! web servers with health checks, TLS termination when the stack serves
//! HTTPS, and a stats page with HAProxy's built-in Prometheus exporter.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{Alert, Component, ComponentSpec, Exporter, Kind};
use super::hop::{entry_port, via, Hop};
use super::part::{Part, Tier};
use crate::error::Result;
use crate::render::plan::{Reload, Service};
use crate::render::{Ctx, Out};
use crate::stack::Stack;
use crate::stack::port::Port;
use crate::stack::raw::Proto;
use crate::topology::{names, Flows, Leg, Node, Role, Topology};
use crate::words::{self, or_list};

pub const KIND: Kind = Kind {
    name: "haproxy",
    memory_mb: 12,
    summary:
        "load balancer: spreads requests over the web servers, checks their health, terminates TLS",
    packages: &["haproxy"],
    templates: &["haproxy/haproxy.cfg"],
    habits: &[("load-balancer", "the load balancer is `haproxy`")],
};

/// How HAProxy picks a backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Balance {
    /// Each request to the next server in turn.
    #[default]
    Roundrobin,
    /// The server with the fewest open connections.
    Leastconn,
    /// A hash of the client's address: the same client sticks to one server.
    Source,
}

impl Balance {
    pub fn as_str(self) -> &'static str {
        match self {
            Balance::Roundrobin => "roundrobin",
            Balance::Leastconn => "leastconn",
            Balance::Source => "source",
        }
    }

    /// How it spreads requests, in words: `spreads requests {phrase}`.
    pub fn phrase(self) -> &'static str {
        match self {
            Balance::Roundrobin => "round robin",
            Balance::Leastconn => "to the one with the fewest open connections",
            Balance::Source => "by the client's address (a client sticks to one)",
        }
    }
}

/// Options of the `haproxy` component.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "HaproxyOptions")]
pub struct Options {
    /// Distribution algorithm.
    #[serde(default)]
    pub balance: Balance,
    /// Web servers to balance over. Default: every server running nginx.
    pub backends: Option<Vec<String>>,
    /// HTTP port.
    #[serde(default = "default_port")]
    pub port: Port,
    /// HTTPS port (when the stack has `tls`).
    #[serde(default = "default_https_port")]
    pub https_port: Port,
    /// Port of the stats page (`/stats`) and Prometheus metrics (`/metrics`).
    #[serde(default = "default_stats_port")]
    pub stats_port: Port,
    /// Maximum concurrent connections (containers here allow at most 4096).
    #[serde(
        default = "default_maxconn",
        deserialize_with = "crate::stack::de::maxconn"
    )]
    #[schemars(schema_with = "crate::stack::de::maxconn_schema")]
    pub maxconn: u32,
}

fn default_port() -> Port {
    Port::new(80)
}
fn default_https_port() -> Port {
    Port::new(443)
}
fn default_stats_port() -> Port {
    Port::new(8404)
}
fn default_maxconn() -> u32 {
    4096
}

impl Default for Options {
    fn default() -> Self {
        Options {
            balance: Balance::default(),
            backends: None,
            port: default_port(),
            https_port: default_https_port(),
            stats_port: default_stats_port(),
            maxconn: default_maxconn(),
        }
    }
}

/// Its hop of the request path (see `Component::hop`).
fn request_hop(topo: &Topology) -> Option<Hop> {
    let lbs = names(topo.with_role(Role::LoadBalancer));
    let first = topo.with_role(Role::LoadBalancer).next()?;
    let o = topo
        .server(&first.name)
        .get::<Options>()
        .cloned()
        .unwrap_or_default();
    let mut note = String::new();
    if let Some(v) = topo.vips.first() {
        let standby: Vec<String> = v.members[1..].iter().map(|m| m.0.clone()).collect();
        note.push_str(&format!(
            "{} answers on the virtual IP {}",
            v.members[0].0, v.address
        ));
        if !standby.is_empty() {
            note.push_str(&format!(
                " ({} while {} is down)",
                or_list(&standby),
                v.members[0].0
            ));
        }
        note.push_str(". ");
    }
    let web = first.backends.first().cloned().unwrap_or_default();
    let net = via(topo, &first.name, &web);
    let algo = o.balance.phrase();
    note.push_str(&match (topo.tls(), topo.web_tls()) {
        (false, _) => format!("HAProxy picks a web server {algo} and forwards the request to it {net}."),
        (true, false) => format!("HAProxy ends TLS (decrypts), picks a web server {algo} and forwards the request to it as plain HTTP {net}."),
        (true, true) => format!("HAProxy ends TLS, picks a web server {algo} and forwards the request to it in a new TLS connection {net}."),
    });
    Some(Hop {
        what: "load balancer".into(),
        servers: lbs,
        port: entry_port(topo, o.port.get(), o.https_port.get()),
        note,
    })
}

impl Component for Options {
    fn ports(&self, _server: &[ComponentSpec], tls: bool) -> Vec<(u16, Proto)> {
        let mut v = vec![(self.port.get(), Proto::Tcp), (self.stats_port.get(), Proto::Tcp)];
        if tls {
            v.push((self.https_port.get(), Proto::Tcp));
        }
        v
    }

    fn port_options(&self) -> Vec<(&'static str, u16)> {
        vec![
            ("port", self.port.get()),
            ("https-port", self.https_port.get()),
            ("stats-port", self.stats_port.get()),
        ]
    }

    /// Balances over the servers it lists, else over every web server.
    fn shape(&self, stack: &Stack, node: &mut Node) {
        node.roles.push(Role::LoadBalancer);
        node.backends = self
            .backends
            .clone()
            .unwrap_or_else(|| stack.with(super::nginx::KIND.name));
    }

    /// The site's entry: HTTP(S) from anyone; then to the web servers.
    fn flows(leg: Leg, topo: &Topology, out: &mut Flows) {
        match leg {
            Leg::Site => {
                for (lb, o) in topo.running::<Options>() {
                    out.add("any", &lb.name, o.port.get(), Proto::Tcp, "HTTP to the site");
                    if topo.tls() {
                        out.add("any", &lb.name, o.https_port.get(), Proto::Tcp, "HTTPS to the site");
                    }
                }
            }
            Leg::Balance => {
                let what = if topo.web_tls() {
                    "HTTPS (re-encrypted) to web server"
                } else {
                    "HTTP to web server"
                };
                for (lb, _) in topo.running::<Options>() {
                    for b in &lb.backends {
                        out.add(&lb.name, b, topo.web_port(b), Proto::Tcp, what);
                    }
                }
            }
            _ => {}
        }
    }

    fn explain(&self, topo: &Topology, node: &Node) -> String {
        let mut s = format!(
            "load balancer (HAProxy): spreads requests {} over {} and stops sending to one that fails its health check",
            self.balance.phrase(),
            words::and_list(&node.backends)
        );
        if topo.tls() {
            s.push_str(&format!(
                "; terminates TLS (HTTPS on {}; HTTP on {} redirects to HTTPS)",
                self.https_port, self.port
            ));
            if topo.web_tls() {
                s.push_str(" and re-encrypts to the web servers");
            }
        }
        s
    }

    fn draw(&self, topo: &Topology, _node: &Node) -> Option<Part> {
        let tls = topo.tls();
        let title = if tls {
            format!("HAProxy :{} :{}", self.port, self.https_port)
        } else {
            format!("HAProxy :{}", self.port)
        };
        let lines = vec![self.balance.as_str().replace("roundrobin", "round robin")];
        Some(Part::new(Tier::Entry, title, lines, tls))
    }

    fn services(&self) -> Vec<(&'static str, u16)> {
        vec![("HAProxy's stats", self.stats_port.get())]
    }

    /// Its own, on the stats port.
    fn exporter(&self) -> Option<Exporter> {
        Some(Exporter {
            job: "haproxy",
            port: self.stats_port.get(),
            name: "HAProxy",
            about: "HAProxy's backends and traffic ({port})",
            program: None,
            alerts: ALERTS,
        })
    }

    fn hop(topo: &Topology) -> Option<(Tier, Hop)> {
        request_hop(topo).map(|hop| (Tier::Entry, hop))
    }

    fn render(&self, ctx: &Ctx, out: &mut Out) -> Result<()> {
        render(self, ctx, out)
    }

    // ---- verify ----

    /// Its backends share the requests; each hop to one is HTTPS verified
    /// against the lab CA where the web servers serve HTTPS.
    fn to_prove(&self, topo: &Topology, node: &Node) -> Vec<super::ToProve> {
        let mut claims = Vec::new();
        if topo.web_tls() {
            claims.extend(node.backends.iter().map(|web| super::ToProve::VerifiedHop {
                web: web.clone(),
            }));
        }
        claims.push(super::ToProve::Balancing {
            backends: node.backends.clone(),
        });
        claims
    }
}

pub const CONF: &str = "/etc/haproxy/haproxy.cfg";
pub const PEM: &str = "/etc/haproxy/certs/site.pem";
/// What HAProxy's metrics raise. Its own `server` label (the backend's
/// server) is renamed `exported_server`: the scrape's `server` label (the
/// load balancer) wins.
const ALERTS: &[Alert] = &[
    Alert {
        name: "BackendDown",
        expr: "haproxy_server_status{state=\"DOWN\"} == 1",
        hold: "10s",
        severity: "warning",
        summary: "load balancer {{ $labels.server }} sees backend {{ $labels.proxy }}/{{ $labels.exported_server }} down",
    },
    Alert {
        name: "SiteErrors",
        expr: "sum by (server) (rate(haproxy_frontend_http_responses_total{code=\"5xx\"}[1m])) / sum by (server) (rate(haproxy_frontend_http_responses_total[1m])) > 0.05",
        hold: "30s",
        severity: "critical",
        summary: "more than 5 % of the answers of load balancer {{ $labels.server }} are server errors (5xx)",
    },
];

pub const CA: &str = "/etc/haproxy/certs/lab-ca.crt";

pub fn render(o: &Options, ctx: &Ctx, out: &mut Out) -> Result<()> {
    let topo = ctx.topo;
    let backends: Vec<_> = ctx
        .node
        .backends
        .iter()
        .map(|b| json!({ "name": b, "address": topo.addr(ctx.name(), b).to_string(), "port": topo.web_port(b) }))
        .collect();
    let tls = topo.tls();
    let reencrypt = topo.stack.tls.as_ref().is_some_and(|t| t.reencrypt);
    out.template(
        CONF,
        0o644,
        "haproxy/haproxy.cfg",
        json!({
            "server": ctx.name(),
            "balance": o.balance.as_str(),
            "port": o.port,
            "https_port": o.https_port,
            "stats_port": o.stats_port,
            "maxconn": o.maxconn,
            "tls": tls,
            "reencrypt": reencrypt,
            "verify_name": topo.stack.tls.as_ref().map(|t| t.names[0].clone()),
            "pem": PEM,
            "ca": CA,
            "backends": backends,
        }),
    )?;
    let mut watches = vec![CONF.to_string()];
    if let Some(m) = &ctx.secrets.tls {
        if tls {
            out.secret(PEM, 0o600, None, format!("{}{}", m.cert, m.key));
            watches.push(PEM.into());
        }
        if reencrypt {
            out.file(CA, 0o644, m.ca_cert.clone());
            watches.push(CA.into());
        }
    }
    out.service(Service {
        name: "haproxy".into(),
        pre: vec!["install -d /run/haproxy".into()],
        command: vec![
            "haproxy".into(),
            "-W".into(),
            "-db".into(),
            "-f".into(),
            CONF.into(),
        ],
        user: None,
        reload: Reload::Signal {
            signal: "USR2".into(),
        },
        watches,
        host_provides: false,
        replaces: vec!["haproxy.service".into()],
    });
    // Ready when HAProxy answers and sees every backend up: only then does
    // the site really spread over all the web servers.
    out.probe(
        "haproxy",
        format!(
            "curl -fsS 'http://127.0.0.1:{}/stats;csv' | awk -F, '$1 == \"web\" && $2 != \"BACKEND\" && $2 != \"FRONTEND\" && $18 != \"UP\" {{ down = 1 }} END {{ exit down }}'",
            o.stats_port
        ),
        format!("the stats page on port {} showing every web server UP", o.stats_port),
    );
    out.check("haproxy -c", CONF, format!("haproxy -c -f {CONF}"));
    Ok(())
}
