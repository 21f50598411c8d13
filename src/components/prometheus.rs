//! The lab's Prometheus server: scrapes every monitoring client and HAProxy,
//! and evaluates alert rules (a target down, replication stopped).

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{Component, ComponentSpec, Kind};
use crate::diagram::{Part, Tier};
use crate::error::Result;
use crate::plan::{Reload, Service};
use crate::render::{Ctx, Out};
use crate::stack::raw::Proto;
use crate::stack::Stack;
use crate::topology::{Flows, Leg, Node, Role, Topology};

pub const KIND: Kind = Kind {
    name: "prometheus",
    memory_mb: 22,
    summary: "monitoring server (Prometheus): scrapes every exporter, evaluates alert rules",
    packages: &["prometheus"],
    templates: &["prometheus/prometheus.yml", "prometheus/alerts.yml"],
    habits: &[],
};

pub const DEFAULT_PORT: u16 = 9090;
pub const CONF: &str = "/etc/prometheus/prometheus.yml";
pub const ALERTS: &str = "/etc/prometheus/alerts.yml";

/// Options of the `prometheus` component.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "PrometheusOptions")]
pub struct Options {
    /// Web UI and API port.
    #[serde(default = "default_port", deserialize_with = "crate::stack::de::port")]
    #[schemars(schema_with = "crate::stack::de::port_schema")]
    pub port: u16,
    /// How often targets are scraped (a Prometheus duration).
    #[serde(default = "default_interval")]
    pub scrape_interval: String,
}

fn default_port() -> u16 {
    DEFAULT_PORT
}

fn default_interval() -> String {
    "5s".into()
}

impl Component for Options {
    fn ports(&self, _server: &[ComponentSpec], _tls: bool) -> Vec<(u16, Proto)> {
        vec![(self.port, Proto::Tcp)]
    }

    fn port_options(&self) -> Vec<(&'static str, u16)> {
        vec![("port", self.port)]
    }

    fn shape(&self, _stack: &Stack, node: &mut Node) {
        node.roles.push(Role::Monitoring);
    }

    /// Scrapes every exporter of the other servers.
    fn flows(leg: Leg, topo: &Topology, out: &mut Flows) {
        if leg != Leg::Metrics {
            return;
        }
        for (m, _) in topo.running::<Options>() {
            for s in topo.stack.servers.iter().filter(|s| s.name != m.name) {
                for e in super::monitoring::exporters(&s.components) {
                    out.add(&m.name, &s.name, e.port, Proto::Tcp, &e.purpose());
                }
            }
        }
    }

    fn explain(&self, topo: &Topology, _node: &Node) -> String {
        let targets = topo.stack.with(super::monitoring::KIND.name);
        let scrapes = if targets.is_empty() {
            "has no exporters to scrape".to_string()
        } else {
            format!(
                "scrapes the exporters on {} every {}",
                crate::explain::and_list(&targets),
                self.scrape_interval
            )
        };
        format!(
            "monitoring server (Prometheus, port {}): {scrapes} and evaluates alert rules (a target down, replication stopped, a web server over 1000 requests per second, a backend down)",
            self.port
        )
    }

    fn draw(&self, topo: &Topology, _node: &Node) -> Option<Part> {
        let mut lines = vec![format!("scrapes every {}", self.scrape_interval)];
        if crate::diagram::scrapes_every_server(topo) {
            lines.push("every server's exporters".into());
        }
        let title = format!("Prometheus :{}", self.port);
        Some(Part::new(Tier::Monitoring, title, lines, false))
    }

    fn services(&self) -> Vec<(&'static str, u16)> {
        vec![("Prometheus", self.port)]
    }

    fn render(&self, ctx: &Ctx, out: &mut Out) -> Result<()> {
        render(self, ctx, out)
    }
}

pub fn render(o: &Options, ctx: &Ctx, out: &mut Out) -> Result<()> {
    let topo = ctx.topo;
    let mut jobs: Vec<(&str, Vec<serde_json::Value>)> = Vec::new();
    for s in &topo.stack.servers {
        for (job, port) in topo.exporters(&s.name) {
            let addr = if s.name == ctx.name() {
                "127.0.0.1".to_string()
            } else {
                topo.addr(ctx.name(), &s.name).to_string()
            };
            let target = json!({ "target": format!("{addr}:{port}"), "server": s.name });
            match jobs.iter_mut().find(|(j, _)| *j == job) {
                Some((_, v)) => v.push(target),
                None => jobs.push((job, vec![target])),
            }
        }
    }
    let jobs: Vec<_> = jobs
        .into_iter()
        .map(|(job, targets)| json!({ "job": job, "targets": targets }))
        .collect();
    out.template(
        CONF,
        0o644,
        "prometheus/prometheus.yml",
        json!({
            "stack": topo.stack.name,
            "interval": o.scrape_interval,
            "port": o.port,
            "alerts": ALERTS,
            "jobs": jobs,
        }),
    )?;
    out.template(ALERTS, 0o644, "prometheus/alerts.yml", json!({}))?;
    out.service(Service {
        name: "prometheus".into(),
        pre: vec![
            "install -d -o prometheus -g prometheus /var/lib/prometheus/metrics2".into(),
            super::monitoring::go_runtime(24),
        ],
        command: vec![
            "prometheus".into(),
            format!("--config.file={CONF}"),
            "--storage.tsdb.path=/var/lib/prometheus/metrics2".into(),
            format!("--web.listen-address=:{}", o.port),
            "--storage.tsdb.retention.time=1d".into(),
        ],
        user: Some("prometheus".into()),
        reload: Reload::Signal {
            signal: "HUP".into(),
        },
        watches: vec![CONF.into(), ALERTS.into()],
        host_provides: false,
        replaces: vec!["prometheus.service".into()],
    });
    out.probe(
        "prometheus",
        format!("curl -fsS -o /dev/null http://127.0.0.1:{}/-/ready", o.port),
        format!("HTTP 200 from /-/ready on port {}", o.port),
    );
    out.check(
        "promtool check config",
        CONF,
        format!("promtool check config {CONF}"),
    );
    Ok(())
}
