//! The monitoring client on a server: Prometheus exporters for the host
//! (node exporter), for nginx (requests, hence QPS, from `stub_status`), for
//! MariaDB (mysqld exporter, including replication state). HAProxy exports
//! its own metrics. The lab's Prometheus server scrapes them all.

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Component, ComponentSpec, Kind};
use crate::error::Result;
use crate::plan::{Reload, Service};
use crate::render::{Ctx, Out};
use crate::stack::raw::Proto;
use crate::stack::Server;
use crate::topology::{MYSQLD_EXPORTER_PORT, NGINX_EXPORTER_PORT, NODE_EXPORTER_PORT};

pub const KIND: Kind = Kind {
    name: "monitoring-client",
    summary: "monitoring client: exporters for host metrics, web server QPS and database health",
    packages: &["prometheus-node-exporter"],
    templates: &["monitoring/mysqld-exporter.cnf"],
};

/// Packages for the exporters this server needs beyond the node exporter.
pub fn extra_packages(server: &Server) -> Vec<&'static str> {
    let mut v = Vec::new();
    if server.has("nginx") {
        v.push("prometheus-nginx-exporter");
    }
    if server.has("mariadb") {
        v.push("prometheus-mysqld-exporter");
    }
    v
}

/// Options of the `monitoring-client` component.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "MonitoringClientOptions")]
pub struct Options {}

impl Component for Options {
    fn ports(&self, server: &[ComponentSpec], _tls: bool) -> Vec<(u16, Proto)> {
        let has = |k: &str| server.iter().any(|x| x.name() == k);
        let mut ports = vec![(NODE_EXPORTER_PORT, Proto::Tcp)];
        if has("nginx") {
            ports.push((NGINX_EXPORTER_PORT, Proto::Tcp));
        }
        if has("mariadb") {
            ports.push((MYSQLD_EXPORTER_PORT, Proto::Tcp));
        }
        ports
    }

    fn render(&self, ctx: &Ctx, out: &mut Out) -> Result<()> {
        render(self, ctx, out)
    }
}

pub const MYSQLD_CNF: &str = "/etc/infractl/mysqld-exporter.cnf";

fn exporter(name: &str, command: Vec<String>, port: u16, out: &mut Out) {
    // Each exporter is its package's program, with a unit of that name.
    let replaces = vec![format!("{}.service", command[0])];
    out.service(Service {
        name: name.into(),
        pre: vec![],
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

pub fn render(_o: &Options, ctx: &Ctx, out: &mut Out) -> Result<()> {
    let server = ctx.topo.server(ctx.name());
    exporter(
        "node-exporter",
        vec![
            "prometheus-node-exporter".into(),
            format!("--web.listen-address=:{NODE_EXPORTER_PORT}"),
        ],
        NODE_EXPORTER_PORT,
        out,
    );
    if server.has("nginx") {
        exporter(
            "nginx-exporter",
            vec![
                "prometheus-nginx-exporter".into(),
                format!(
                    "-nginx.scrape-uri=http://127.0.0.1:{}/stub_status",
                    super::nginx::STATUS_PORT
                ),
                format!("-web.listen-address=:{NGINX_EXPORTER_PORT}"),
                "-nginx.retries=30".into(),
                "-nginx.retry-interval=1s".into(),
            ],
            NGINX_EXPORTER_PORT,
            out,
        );
    }
    if server.has("mariadb") {
        out.secret_template(
            MYSQLD_CNF,
            0o640,
            Some("root:prometheus"),
            "monitoring/mysqld-exporter.cnf",
            serde_json::json!({ "password": ctx.secrets.db_exporter }),
        )?;
        let mut cmd = vec![
            "prometheus-mysqld-exporter".to_string(),
            format!("--config.my-cnf={MYSQLD_CNF}"),
            format!("--web.listen-address=:{MYSQLD_EXPORTER_PORT}"),
        ];
        if server.components.iter().any(|c| matches!(c, super::ComponentSpec::Mariadb(o) if o.role == super::mariadb::DbRole::Replica)) {
            cmd.push("--collect.slave_status".into());
        }
        exporter("mysqld-exporter", cmd, MYSQLD_EXPORTER_PORT, out);
    }
    Ok(())
}
