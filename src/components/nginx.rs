//! nginx: the web server. Serves static files, proxies the rest to the
//! application servers, and exposes `stub_status` on loopback for the
//! monitoring client's QPS figures.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{Alert, Component, ComponentSpec, Exporter, ExporterProgram, Kind};
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
    name: "nginx",
    memory_mb: 8,
    summary:
        "web server: serves static files and proxies dynamic requests to the application servers",
    packages: &["nginx"],
    templates: &["nginx/nginx.conf", "nginx/style.css"],
    habits: &[
        ("apache", "the web server here is nginx: write `nginx`"),
        ("apache2", "the web server here is nginx: write `nginx`"),
    ],
};

/// Port of the loopback-only `stub_status` endpoint.
pub const STATUS_PORT: u16 = 8080;
/// nginx's configuration.
pub const CONF: &str = "/etc/nginx/nginx.conf";
/// The site's certificate, where nginx serves HTTPS.
pub const CERT: &str = "/etc/nginx/tls/site.crt";

/// nginx's request counts (hence QPS), read from `stub_status`.
pub const EXPORTER: Exporter = Exporter {
    job: "nginx",
    port: 9113,
    name: "nginx exporter",
    about: "nginx's request counts for QPS ({port})",
    program: Some(ExporterProgram {
        package: "prometheus-nginx-exporter",
        render: render_exporter,
    }),
    alerts: &[Alert {
        name: "HighQPS",
        expr: "rate(nginx_http_requests_total[1m]) > 1000",
        hold: "1m",
        severity: "warning",
        summary: "{{ $labels.server }} serves more than 1000 requests per second",
    }],
};

/// Options of the `nginx` component.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "NginxOptions")]
pub struct Options {
    /// HTTP port.
    #[serde(default = "default_port")]
    pub port: Port,
    /// HTTPS port, used when the web server itself speaks TLS.
    #[serde(default = "default_https_port")]
    pub https_port: Port,
    /// Application servers to proxy to. Default: the `app` on this server,
    /// else every application server of the stack.
    pub upstream: Option<Vec<String>>,
}

fn default_port() -> Port {
    Port::new(80)
}

fn default_https_port() -> Port {
    Port::new(443)
}

impl Default for Options {
    fn default() -> Self {
        Options {
            port: default_port(),
            https_port: default_https_port(),
            upstream: None,
        }
    }
}

/// Its hop of the request path (see `Component::hop`).
fn request_hop(topo: &Topology) -> Option<Hop> {
    let first = topo.with_role(Role::Web).next()?;
    let webs = names(topo.with_role(Role::Web));
    let nginx = topo
        .server(&first.name)
        .get::<Options>()
        .cloned()
        .unwrap_or_default();
    let is_entry = topo.entry().iter().any(|n| n.name == first.name);
    let port = if is_entry {
        entry_port(topo, nginx.port.get(), nginx.https_port.get())
    } else if topo.web_tls() {
        format!("{}/tcp (HTTPS)", nginx.https_port)
    } else {
        format!("{}/tcp (HTTP)", nginx.port)
    };
    let tls = if is_entry && topo.tls() {
        "nginx ends TLS, serves"
    } else {
        "nginx serves"
    };
    let local = topo
        .with_role(Role::Web)
        .all(|w| w.upstreams.len() == 1 && w.upstreams[0] == w.name);
    let to = if local {
        "the application server on the same machine".to_string()
    } else {
        let apps = names(topo.with_role(Role::App));
        format!(
            "an application server ({}) {}",
            or_list(&apps),
            via(topo, &first.name, &first.upstreams[0])
        )
    };
    Some(Hop {
        what: "web server".into(),
        servers: webs,
        port,
        note: format!(
            "{tls} static files (/static/) itself and passes every other request to {to}."
        ),
    })
}

impl Component for Options {
    fn ports(&self, _server: &[ComponentSpec], _tls: bool) -> Vec<(u16, Proto)> {
        vec![
            (self.port.get(), Proto::Tcp),
            (self.https_port.get(), Proto::Tcp),
            (STATUS_PORT, Proto::Tcp),
        ]
    }

    fn port_options(&self) -> Vec<(&'static str, u16)> {
        vec![("port", self.port.get()), ("https-port", self.https_port.get())]
    }

    /// Proxies to the servers it lists, else to the application on its own
    /// server, else to every application server.
    fn shape(&self, stack: &Stack, node: &mut Node) {
        node.roles.push(Role::Web);
        let app = super::app::KIND.name;
        node.upstreams = match &self.upstream {
            Some(list) => list.clone(),
            None if stack.server(&node.name).is_some_and(|s| s.has(app)) => {
                vec![node.name.clone()]
            }
            None => stack.with(app),
        };
    }

    /// The site's entry when there is no load balancer: HTTP(S) from
    /// anyone; then to the application servers.
    fn flows(leg: Leg, topo: &Topology, out: &mut Flows) {
        match leg {
            Leg::Site if topo.with_role(Role::LoadBalancer).next().is_none() => {
                for (web, o) in topo.running::<Options>() {
                    out.add("any", &web.name, o.port.get(), Proto::Tcp, "HTTP to the site");
                    if topo.tls() {
                        out.add("any", &web.name, o.https_port.get(), Proto::Tcp, "HTTPS to the site");
                    }
                }
            }
            Leg::Proxy => {
                for (web, _) in topo.running::<Options>() {
                    for a in web.upstreams.iter().filter(|a| **a != web.name) {
                        let what = "HTTP to application server";
                        out.add(&web.name, a, topo.app_port(a), Proto::Tcp, what);
                    }
                }
            }
            _ => {}
        }
    }

    fn explain(&self, topo: &Topology, node: &Node) -> String {
        let mut s = format!(
            "web server: serves the static files itself and passes every other request to the application server{} {}",
            if node.upstreams.len() > 1 { "s" } else { "" },
            words::on(&node.name, &node.upstreams)
        );
        if topo.web_tls() {
            if topo.entry().iter().any(|n| n.name == node.name) {
                s.push_str("; terminates TLS (HTTPS), and its port 80 only redirects to HTTPS");
            } else {
                s.push_str("; takes HTTPS from the load balancer (TLS re-encrypted)");
            }
        }
        s
    }

    /// TLS ends here when nginx faces the users, and when the load
    /// balancer re-encrypts to it.
    fn draw(&self, topo: &Topology, _node: &Node) -> Option<Part> {
        let title = if topo.web_tls() {
            format!("nginx :{} :{}", self.port, self.https_port)
        } else {
            format!("nginx :{}", self.port)
        };
        let lines = vec!["static files".into()];
        Some(Part::new(Tier::Web, title, lines, topo.web_tls()))
    }

    fn exporter(&self) -> Option<Exporter> {
        Some(EXPORTER)
    }

    fn hop(topo: &Topology) -> Option<(Tier, Hop)> {
        request_hop(topo).map(|hop| (Tier::Web, hop))
    }

    fn render(&self, ctx: &Ctx, out: &mut Out) -> Result<()> {
        render(self, ctx, out)
    }

    // ---- verify ----

    /// The first web server's request count rises after traffic, when its
    /// nginx is exported.
    fn to_prove(&self, topo: &Topology, node: &Node) -> Vec<super::ToProve> {
        let first = topo.with_role(Role::Web).next();
        let exported = topo
            .exporters(&node.name)
            .iter()
            .any(|(job, _)| *job == EXPORTER.job);
        if !exported || first.is_none_or(|w| w.name != node.name) {
            return Vec::new();
        }
        vec![super::ToProve::RequestCount {
            metric: "nginx_http_requests_total",
        }]
    }
}

fn render_exporter(_ctx: &Ctx, out: &mut Out) -> Result<()> {
    let port = EXPORTER.port;
    super::monitoring::exporter_service(
        "nginx-exporter",
        vec![
            "prometheus-nginx-exporter".into(),
            format!("-nginx.scrape-uri=http://127.0.0.1:{STATUS_PORT}/stub_status"),
            format!("-web.listen-address=:{port}"),
            "-nginx.retries=30".into(),
            "-nginx.retry-interval=1s".into(),
        ],
        port,
        out,
    );
    Ok(())
}

pub fn render(o: &Options, ctx: &Ctx, out: &mut Out) -> Result<()> {
    let topo = ctx.topo;
    let upstreams: Vec<_> = ctx
        .node
        .upstreams
        .iter()
        .map(|a| {
            let addr = if a == ctx.name() {
                "127.0.0.1".to_string()
            } else {
                topo.addr(ctx.name(), a).to_string()
            };
            json!({ "name": a, "address": addr, "port": topo.app_port(a) })
        })
        .collect();
    let web_tls = topo.web_tls();
    // Facing users directly (no load balancer) with TLS: port 80 redirects.
    let redirect = web_tls && topo.entry().iter().any(|n| n.name == ctx.name());
    let names: Vec<String> = match &topo.stack.tls {
        Some(t) => t.names.clone(),
        None => vec![format!("www.{}", ctx.domain()), ctx.domain().to_string()],
    };
    out.template(
        CONF,
        0o644,
        "nginx/nginx.conf",
        json!({
            "server": ctx.name(),
            "port": o.port,
            "https_port": o.https_port,
            "status_port": STATUS_PORT,
            "tls": web_tls,
            "redirect": redirect,
            "server_names": names,
            "upstreams": upstreams,
        }),
    )?;
    out.template(
        "/var/www/site/static/style.css",
        0o644,
        "nginx/style.css",
        json!({}),
    )?;
    let mut watches = vec![CONF.to_string()];
    if web_tls {
        let tls = ctx
            .secrets
            .tls
            .as_ref()
            .expect("TLS material for a TLS stack");
        out.file(CERT, 0o644, tls.cert.clone());
        out.secret("/etc/nginx/tls/site.key", 0o600, None, tls.key.clone());
        watches.push(CERT.into());
        watches.push("/etc/nginx/tls/site.key".into());
    }
    out.service(Service {
        name: "nginx".into(),
        pre: vec!["install -d /run/nginx /var/log/nginx".into()],
        command: vec!["nginx".into(), "-g".into(), "daemon off;".into()],
        user: None,
        reload: Reload::Command {
            command: "nginx -s reload".into(),
        },
        watches,
        host_provides: false,
        replaces: vec!["nginx.service".into()],
    });
    out.probe(
        "nginx",
        format!(
            "curl -fsS -o /dev/null http://127.0.0.1:{}/nginx-health",
            o.port
        ),
        format!("HTTP 200 from http://127.0.0.1:{}/nginx-health", o.port),
    );
    out.check("nginx -t", CONF, format!("nginx -t -q -c {CONF}"));
    Ok(())
}
