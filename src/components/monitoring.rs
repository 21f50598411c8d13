//! The monitoring client on a server: Prometheus exporters for the host
//! (node exporter) and for what the server runs, each kind declaring its
//! own (nginx's request counts, hence QPS, from `stub_status`; MariaDB's
//! health and replication state; HAProxy exports its own metrics). The
//! lab's Prometheus server scrapes them all.

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Component, ComponentSpec, Exporter, ExporterProgram, Kind, KINDS};
use crate::error::Result;
use crate::render::plan::{Reload, Service};
use crate::render::{Ctx, Out};
use crate::stack::raw::Proto;
use crate::topology::{Node, Role, Topology};
use crate::words;

pub const KIND: Kind = Kind {
    name: "monitoring-client",
    memory_mb: 12,
    summary: "monitoring client: exporters for host metrics, web server QPS and database health",
    packages: &["prometheus-node-exporter"],
    templates: &[],
    habits: &[(
        "node-exporter",
        "the exporters come with `monitoring-client`",
    )],
};

/// The host's metrics: the exporter the monitoring client brings itself.
pub const NODE_EXPORTER: Exporter = Exporter {
    job: "node",
    port: 9100,
    name: "node exporter",
    about: "host metrics (node, {port})",
    program: Some(ExporterProgram {
        package: "prometheus-node-exporter",
        render: render_node_exporter,
    }),
    alerts: &[],
};

/// Options of the `monitoring-client` component.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "MonitoringClientOptions")]
pub struct Options {}

/// What a server exports to Prometheus, given its components: nothing
/// without a monitoring client; else the host's metrics, then the exporter
/// of each other component that brings one, in registry order.
pub fn exporters(server: &[ComponentSpec]) -> Vec<Exporter> {
    let Some(client) = server.iter().find_map(|c| c.options::<Options>()) else {
        return Vec::new();
    };
    let mut out: Vec<Exporter> = client.exporter().into_iter().collect();
    for k in KINDS.iter().filter(|k| k.name != KIND.name) {
        if let Some(c) = server.iter().find(|c| c.name() == k.name) {
            out.extend(c.component().exporter());
        }
    }
    out
}

impl Component for Options {
    /// The exporter programs it runs.
    fn ports(&self, server: &[ComponentSpec], _tls: bool) -> Vec<(u16, Proto)> {
        exporters(server)
            .iter()
            .filter(|e| e.program.is_some())
            .map(|e| (e.port, Proto::Tcp))
            .collect()
    }

    fn explain(&self, topo: &Topology, node: &Node) -> String {
        let what: Vec<String> = exporters(&topo.server(&node.name).components)
            .iter()
            .map(|e| e.about())
            .collect();
        let collectors = crate::topology::names(topo.with_role(Role::Monitoring));
        let by = if collectors.is_empty() {
            ", but no monitoring server collects them".to_string()
        } else {
            format!(", scraped by {}", words::and_list(&collectors))
        };
        format!(
            "monitoring client: exporters of {}{by}",
            words::and_list(&what)
        )
    }

    fn exporter(&self) -> Option<Exporter> {
        Some(NODE_EXPORTER)
    }

    fn render(&self, ctx: &Ctx, out: &mut Out) -> Result<()> {
        render(self, ctx, out)
    }
}

/// A Go program's soft memory limit, in MiB, for the exporters: their
/// heap is a few MiB, which Go's default (collect at twice the live heap,
/// on as many threads as cores) lets grow to twice that on every server.
const EXPORTER_MEMORY_MIB: u32 = 4;

/// The shell line that runs a Go program (the exporters, Prometheus) on
/// one thread under a soft memory limit: a lab has one of them on every
/// server, and the garbage collector then keeps each near its live heap
/// (4 MB less per exporter measured, for a scrape every 15 s).
pub fn go_runtime(limit_mib: u32) -> String {
    format!("export GOMAXPROCS=1 GOMEMLIMIT={limit_mib}MiB")
}

/// The service of an exporter program listening on `port`, named `name`.
pub fn exporter_service(name: &str, command: Vec<String>, port: u16, out: &mut Out) {
    // Each exporter is its package's program, with a unit of that name.
    let replaces = vec![format!("{}.service", command[0])];
    out.service(Service {
        name: name.into(),
        pre: vec![go_runtime(EXPORTER_MEMORY_MIB)],
        command,
        user: Some("prometheus".into()),
        reload: Reload::Restart,
        watches: vec![],
        host_provides: false,
        replaces,
    });
    out.probe(
        name,
        format!("curl -fsS -o /dev/null http://127.0.0.1:{port}/metrics"),
        format!("metrics on port {port}"),
    );
}

fn render_node_exporter(_ctx: &Ctx, out: &mut Out) -> Result<()> {
    let port = NODE_EXPORTER.port;
    exporter_service(
        "node-exporter",
        vec![
            "prometheus-node-exporter".into(),
            format!("--web.listen-address=:{port}"),
        ],
        port,
        out,
    );
    Ok(())
}

pub fn render(_o: &Options, ctx: &Ctx, out: &mut Out) -> Result<()> {
    let server = ctx.topo.server(ctx.name());
    for e in exporters(&server.components) {
        if let Some(program) = e.program {
            (program.render)(ctx, out)?;
        }
    }
    Ok(())
}
