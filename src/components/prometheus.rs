//! The lab's Prometheus server: scrapes every monitoring client and HAProxy,
//! loads the site as a user would (the blackbox exporter), and evaluates
//! alert rules made from what the lab exports (a target down, the site
//! down or failing, replication stopped or lagging, a certificate near its
//! end), which it sends to the lab's Alertmanager beside it.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{Alert, Component, ComponentSpec, Kind};
use super::part::{Part, Tier};
use crate::error::Result;
use crate::render::plan::{Keep, Reload, Service, When};
use crate::render::{Ctx, Out};
use crate::stack::Stack;
use crate::stack::port::Port;
use crate::stack::raw::Proto;
use crate::topology::{Flows, Leg, Node, Role, Topology};

pub const KIND: Kind = Kind {
    name: "prometheus",
    memory_mb: 40,
    summary: "monitoring server (Prometheus): scrapes every exporter, evaluates alert rules",
    packages: &[
        "prometheus",
        "prometheus-alertmanager",
        "prometheus-blackbox-exporter",
    ],
    templates: &[
        "prometheus/prometheus.yml",
        "prometheus/alerts.yml",
        "prometheus/alertmanager.yml",
        "prometheus/blackbox.yml",
    ],
    habits: &[],
};

pub const DEFAULT_PORT: u16 = 9090;
/// Prometheus's and Alertmanager's storage, kept across recreation.
pub const DATA: &str = "/var/lib/prometheus";
pub const CONF: &str = "/etc/prometheus/prometheus.yml";
pub const ALERTS: &str = "/etc/prometheus/alerts.yml";
pub const ALERTMANAGER_CONF: &str = "/etc/prometheus/alertmanager.yml";
pub const BLACKBOX_CONF: &str = "/etc/prometheus/blackbox.yml";
/// The lab CA, which the blackbox exporter trusts (and nothing else).
pub const CA: &str = "/etc/prometheus/lab-ca.crt";
/// The site's probe target, where Prometheus reads it (file-based
/// discovery): absent until the lab is up, so that the site's errors while
/// it comes up are never counted against it.
pub const SITE_TARGET: &str = "/etc/prometheus/site.json";
/// The same target as rendered, put in place by the after-ready step.
pub const SITE_TARGET_PENDING: &str = "/etc/infractl/prometheus/site.json";
/// Alertmanager's API and web page, beside Prometheus.
pub const ALERTMANAGER_PORT: u16 = 9093;
/// The blackbox exporter, on the loopback only (Prometheus asks it).
pub const BLACKBOX_PORT: u16 = 9115;

/// Every target Prometheus scrapes: an exporter, HAProxy, or the site.
pub const TARGET_DOWN: Alert = Alert {
    name: "TargetDown",
    expr: "up == 0",
    hold: "10s",
    severity: "critical",
    summary: "{{ $labels.job }} on {{ $labels.server }} is not answering",
};

/// The site as a user loads it, from its entry point.
const SITE_DOWN: Alert = Alert {
    name: "SiteDown",
    expr: "probe_success{job=\"site\"} == 0",
    hold: "10s",
    severity: "critical",
    summary: "the site does not load at {{ $labels.instance }}",
};

/// The certificate the site presents.
const CERTIFICATE_EXPIRING: Alert = Alert {
    name: "CertificateExpiring",
    expr: "probe_ssl_earliest_cert_expiry{job=\"site\"} - time() < 14 * 86400",
    hold: "1m",
    severity: "warning",
    summary: "the site's certificate ends in {{ $value | humanizeDuration }}",
};

/// Options of the `prometheus` component.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "PrometheusOptions")]
pub struct Options {
    /// Web UI and API port.
    #[serde(default = "default_port")]
    pub port: Port,
    /// How often targets are scraped (a Prometheus duration).
    #[serde(default = "default_interval")]
    pub scrape_interval: String,
}

fn default_port() -> Port {
    Port::new(DEFAULT_PORT)
}

fn default_interval() -> String {
    "5s".into()
}

impl Component for Options {
    fn ports(&self, _server: &[ComponentSpec], _tls: bool) -> Vec<(u16, Proto)> {
        vec![(self.port.get(), Proto::Tcp), (ALERTMANAGER_PORT, Proto::Tcp)]
    }

    fn port_options(&self) -> Vec<(&'static str, u16)> {
        vec![("port", self.port.get())]
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

    fn explain(&self, topo: &Topology, node: &Node) -> String {
        let targets = topo.stack.with(super::monitoring::KIND.name);
        let scrapes = if targets.is_empty() {
            "has no exporters to scrape".to_string()
        } else {
            format!(
                "scrapes the exporters on {} every {}",
                crate::words::and_list(&targets),
                self.scrape_interval
            )
        };
        let site = match site_url(topo, &node.name) {
            Some(url) => format!(", loads the site at {url} as a user would (blackbox exporter)"),
            None => String::new(),
        };
        let alerts: Vec<&str> = rules(topo, &node.name)
            .iter()
            .flat_map(|(_, r)| r.iter().map(|a| a.name))
            .collect();
        // Behind a firewall, the web interfaces are the administrators'
        // alone: nothing lets anyone else in to them.
        let reach = if topo.server(&node.name).has(super::ufw::KIND.name) {
            format!(
                "; both web interfaces answer only on {0} itself, reached through SSH to it (`ssh -L {1}:127.0.0.1:{1} {0}`)",
                node.name, self.port
            )
        } else {
            String::new()
        };
        format!(
            "monitoring server (Prometheus, port {}): {scrapes}{site}, and evaluates alert rules ({}) whose alerts go to Alertmanager (port {ALERTMANAGER_PORT}; `infractl alerts`){reach}",
            self.port,
            alerts.join(", ")
        )
    }

    fn draw(&self, topo: &Topology, _node: &Node) -> Option<Part> {
        let what = if scrapes_every_server(topo) {
            "all"
        } else {
            "its targets"
        };
        // Short lines: the box shares its column with the site's servers.
        let lines = vec![
            format!("scrapes {what} every {}", self.scrape_interval),
            format!("→ Alertmanager :{ALERTMANAGER_PORT}"),
        ];
        let title = format!("Prometheus :{}", self.port);
        Some(Part::new(Tier::Monitoring, title, lines, false))
    }

    fn services(&self) -> Vec<(&'static str, u16)> {
        vec![
            ("Prometheus", self.port.get()),
            ("Alertmanager", ALERTMANAGER_PORT),
        ]
    }

    fn render(&self, ctx: &Ctx, out: &mut Out) -> Result<()> {
        render(self, ctx, out)
    }

    // ---- verify ----

    /// Every exporter of the lab, and its own targets, are up.
    fn to_prove(&self, topo: &Topology, node: &Node) -> Vec<super::ToProve> {
        let mut wanted: Vec<(String, String)> = topo
            .stack
            .servers
            .iter()
            .flat_map(|s| {
                topo.exporters(&s.name)
                    .into_iter()
                    .map(|(job, _)| (job.to_string(), s.name.clone()))
            })
            .collect();
        wanted.extend(
            own_targets(topo, &node.name)
                .into_iter()
                .map(|(job, server)| (job.to_string(), server.to_string())),
        );
        vec![super::ToProve::TargetsUp {
            port: self.port.get(),
            wanted,
        }]
    }
}

/// Whether every server of the site runs a monitoring client: every
/// server but the user's computer, DNS servers and a monitoring server
/// that serves nothing of the site (the diagram's site boxes).
pub fn scrapes_every_server(topo: &Topology) -> bool {
    topo.nodes
        .iter()
        .filter(|n| on_the_site(n))
        .all(|n| topo.server(&n.name).has("monitoring-client"))
}

/// Whether the diagram draws `node` as one of the site's servers.
fn on_the_site(node: &Node) -> bool {
    let serves = node.roles.iter().any(|r| {
        matches!(
            r,
            Role::LoadBalancer | Role::Web | Role::App | Role::DbPrimary | Role::DbReplica
        )
    });
    let monitoring_only = node.roles.contains(&Role::Monitoring) && !serves;
    !node.roles.contains(&Role::Client) && !node.roles.contains(&Role::Dns) && !monitoring_only
}

/// Where the monitoring server `me` loads the site from, as a user would:
/// the virtual IP or entry point on a network it shares with them (the
/// users' network first).
pub fn site_url(topo: &Topology, me: &str) -> Option<String> {
    let nets = &topo.server(me).addrs;
    let users = crate::topology::public::users_network(topo);
    let ordered = users
        .iter()
        .filter(|u| nets.iter().any(|(n, _)| n == *u))
        .chain(nets.iter().map(|(n, _)| n));
    let address = ordered
        .filter_map(|n| crate::topology::public::site_address(topo, n))
        .find(|a| !nets.iter().any(|(_, m)| m == a))?;
    // The scheme's own port (80 or 443): the URL a user would write.
    Some(format!("{}://{address}/", topo.site_scheme()))
}

/// A Galera cluster with fewer nodes than the stack has (one stopped, or
/// cut off): the cluster goes on, with less to lose.
const GALERA_SHRUNK: Alert = Alert {
    name: "GaleraClusterShrunk",
    expr: "mysql_global_status_wsrep_cluster_size < scalar(count(up{job=\"mysqld\"}))",
    hold: "10s",
    severity: "warning",
    summary: "{{ $labels.server }} sees a Galera cluster of {{ $value }} nodes",
};

/// A Galera node outside the primary component: it refuses reads and
/// writes (no quorum, or still joining).
const GALERA_NOT_READY: Alert = Alert {
    name: "GaleraNotReady",
    expr: "mysql_global_status_wsrep_ready == 0",
    hold: "10s",
    severity: "critical",
    summary: "Galera node {{ $labels.server }} takes no queries: it is not in the cluster's primary component",
};

/// The targets Prometheus on `me` scrapes besides the exporters, as
/// `(job, server)`: itself, Alertmanager, and the site when it loads it.
pub fn own_targets(topo: &Topology, me: &str) -> Vec<(&'static str, &'static str)> {
    let mut own = vec![("prometheus", "self"), ("alertmanager", "self")];
    if site_url(topo, me).is_some() {
        own.push(("site", "site"));
    }
    own
}

/// The alerting rules of the Prometheus on `me`, in groups: the lab's own
/// (a target down; the site down and its certificate, when `me` loads the
/// site), a Galera cluster's, then each exporter's that a server of the lab
/// runs, once per job.
pub fn rules(topo: &Topology, me: &str) -> Vec<(String, Vec<Alert>)> {
    let mut lab = vec![TARGET_DOWN];
    if site_url(topo, me).is_some() {
        lab.push(SITE_DOWN);
        if topo.tls() {
            lab.push(CERTIFICATE_EXPIRING);
        }
    }
    let mut groups = vec![("lab".to_string(), lab)];
    if !topo.cluster().is_empty() {
        groups.push(("galera".into(), vec![GALERA_SHRUNK, GALERA_NOT_READY]));
    }
    for s in &topo.stack.servers {
        for e in super::monitoring::exporters(&s.components) {
            if !e.alerts.is_empty() && !groups.iter().any(|(g, _)| g == e.job) {
                groups.push((e.job.to_string(), e.alerts.to_vec()));
            }
        }
    }
    groups
}

pub fn render(o: &Options, ctx: &Ctx, out: &mut Out) -> Result<()> {
    let site = site_url(ctx.topo, ctx.name());
    config(o, ctx, site.is_some(), out)?;
    alert_rules(ctx, out)?;
    // Its history and the alerts' silences outlive the server, while the
    // servers it watches stay the same: a series of a server gone (a
    // stage that moves the database off server-01) would keep an alert
    // on it firing until it aged out, so such a change starts afresh.
    out.keep(Keep {
        path: DATA.into(),
        name: "prometheus".into(),
        what: "metrics history".into(),
        holds: history_of(ctx.topo),
        follows: None,
    });
    service(o, out);
    render_alertmanager(ctx, out)?;
    if let Some(site) = site {
        render_blackbox(ctx, out)?;
        probe_the_site(&site, out);
    }
    Ok(())
}

/// What the metrics history holds: the metrics of the servers watched.
fn history_of(topo: &Topology) -> String {
    let watched: Vec<&str> = topo
        .stack
        .servers
        .iter()
        .filter(|s| !topo.exporters(&s.name).is_empty())
        .map(|s| s.name.as_str())
        .collect();
    format!("the metrics of {}", watched.join(", "))
}

/// Every exporter of the lab, job by job: the scrape targets of
/// `prometheus.yml` (this server's own on 127.0.0.1).
fn scrape_jobs(ctx: &Ctx) -> Vec<serde_json::Value> {
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
    jobs.into_iter()
        .map(|(job, targets)| json!({ "job": job, "targets": targets }))
        .collect()
}

/// `prometheus.yml`, checked by promtool.
fn config(o: &Options, ctx: &Ctx, site: bool, out: &mut Out) -> Result<()> {
    out.template(
        CONF,
        0o644,
        "prometheus/prometheus.yml",
        json!({
            "stack": ctx.topo.stack.name,
            "interval": o.scrape_interval,
            "port": o.port,
            "alerts": ALERTS,
            "alertmanager_port": ALERTMANAGER_PORT,
            "blackbox_port": BLACKBOX_PORT,
            "site": site,
            "site_target": SITE_TARGET,
            "jobs": scrape_jobs(ctx),
        }),
    )
}

/// The alerting rules (`alerts.yml`), grouped.
fn alert_rules(ctx: &Ctx, out: &mut Out) -> Result<()> {
    let groups: Vec<_> = rules(ctx.topo, ctx.name())
        .into_iter()
        .map(|(name, rules)| json!({ "name": name, "rules": rules }))
        .collect();
    out.template(
        ALERTS,
        0o644,
        "prometheus/alerts.yml",
        json!({
            "stack": ctx.topo.stack.name,
            "alertmanager_port": ALERTMANAGER_PORT,
            "groups": groups,
        }),
    )
}

/// The prometheus service, its readiness probe and promtool's checks.
fn service(o: &Options, out: &mut Out) {
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
    out.check(
        "promtool check rules",
        ALERTS,
        format!("promtool check rules {ALERTS}"),
    );
}

/// The site, probed once the servers before this one in the bring-up
/// order are ready.
fn probe_the_site(site: &str, out: &mut Out) {
        // The site is probed from the moment the servers before this one
        // in the bring-up order (the load balancers, the tiers behind them)
        // are ready: probed earlier, it answers 5xx while the databases
        // join, and the error-rate alert fires on a lab `up` just built.
        let target = json!([{ "targets": [site], "labels": { "server": "site" } }]);
        out.file(SITE_TARGET_PENDING, 0o644, format!("{target:#}\n"));
        out.step(
            "probe the site, now that it is up",
            When::AfterReady,
            &[SITE_TARGET_PENDING],
            format!("install -m 644 {SITE_TARGET_PENDING} {SITE_TARGET}"),
        );
}

fn render_alertmanager(ctx: &Ctx, out: &mut Out) -> Result<()> {
    out.template(
        ALERTMANAGER_CONF,
        0o644,
        "prometheus/alertmanager.yml",
        json!({ "stack": ctx.topo.stack.name, "port": ALERTMANAGER_PORT }),
    )?;
    let storage = "/var/lib/prometheus/alertmanager";
    out.service(Service {
        name: "alertmanager".into(),
        pre: vec![
            format!("install -d -o prometheus -g prometheus {storage}"),
            super::monitoring::go_runtime(8),
        ],
        command: vec![
            "prometheus-alertmanager".into(),
            format!("--config.file={ALERTMANAGER_CONF}"),
            format!("--storage.path={storage}"),
            format!("--web.listen-address=:{ALERTMANAGER_PORT}"),
            // One Alertmanager: no cluster to gossip with.
            "--cluster.listen-address=".into(),
        ],
        user: Some("prometheus".into()),
        reload: Reload::Signal {
            signal: "HUP".into(),
        },
        watches: vec![ALERTMANAGER_CONF.into()],
        host_provides: false,
        replaces: vec!["prometheus-alertmanager.service".into()],
    });
    out.probe(
        "alertmanager",
        format!("curl -fsS -o /dev/null http://127.0.0.1:{ALERTMANAGER_PORT}/-/ready"),
        format!("HTTP 200 from /-/ready on port {ALERTMANAGER_PORT}"),
    );
    out.check(
        "amtool check-config",
        ALERTMANAGER_CONF,
        format!("amtool check-config {ALERTMANAGER_CONF}"),
    );
    Ok(())
}

fn render_blackbox(ctx: &Ctx, out: &mut Out) -> Result<()> {
    let tls = match (&ctx.secrets.tls, ctx.topo.tls()) {
        (Some(t), true) => {
            out.file(CA, 0o644, t.ca_cert.clone());
            true
        }
        _ => false,
    };
    out.template(
        BLACKBOX_CONF,
        0o644,
        "prometheus/blackbox.yml",
        json!({
            "stack": ctx.topo.stack.name,
            "tls": tls,
            "ca": CA,
            "host": ctx.topo.site_host(),
        }),
    )?;
    out.service(Service {
        name: "blackbox-exporter".into(),
        pre: vec![super::monitoring::go_runtime(8)],
        command: vec![
            "prometheus-blackbox-exporter".into(),
            format!("--config.file={BLACKBOX_CONF}"),
            format!("--web.listen-address=127.0.0.1:{BLACKBOX_PORT}"),
        ],
        user: Some("prometheus".into()),
        reload: Reload::Signal {
            signal: "HUP".into(),
        },
        watches: vec![BLACKBOX_CONF.into(), CA.into()],
        host_provides: false,
        replaces: vec!["prometheus-blackbox-exporter.service".into()],
    });
    out.probe(
        "blackbox-exporter",
        format!("curl -fsS -o /dev/null http://127.0.0.1:{BLACKBOX_PORT}/metrics"),
        format!("metrics on port {BLACKBOX_PORT}"),
    );
    out.check(
        "blackbox exporter --config.check",
        BLACKBOX_CONF,
        format!("prometheus-blackbox-exporter --config.check --config.file={BLACKBOX_CONF}"),
    );
    Ok(())
}
