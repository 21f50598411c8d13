//! The application server: a small Python WSGI application under gunicorn.
//! Writes go to the database primary, reads to a replica, and every
//! response says which web, application and database server answered.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{Component, ComponentSpec, Kind};
use super::hop::Hop;
use super::part::{Part, Tier};
use crate::error::Result;
use crate::render::plan::{Reload, Service};
use crate::render::{Ctx, Out};
use crate::stack::Stack;
use crate::stack::port::Port;
use crate::stack::raw::Proto;
use crate::topology::{names, Flows, Leg, Node, Role, Topology};
use crate::words::{self, and_list};

pub const KIND: Kind = Kind {
    name: "app",
    memory_mb: 35,
    summary:
        "application server: runs the site's code (Python under gunicorn), talks to the database",
    packages: &["python3", "gunicorn", "python3-pymysql"],
    templates: &["app/app.py", "app/gunicorn.conf.py"],
    habits: &[(
        "gunicorn",
        "the application server is `app` (gunicorn runs it)",
    )],
};

pub const DEFAULT_PORT: u16 = 8000;
/// The application's configuration: the site, the databases it uses.
pub const CONFIG: &str = "/etc/infractl/app/config.json";
/// How gunicorn runs it (its port, its workers).
pub const GUNICORN_CONF: &str = "/etc/infractl/app/gunicorn.conf.py";

/// Options of the `app` component.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "AppOptions")]
pub struct Options {
    /// Port gunicorn listens on.
    #[serde(default = "default_port")]
    pub port: Port,
    /// gunicorn worker processes (1 to 255), each answering 4 requests at
    /// once on threads.
    #[serde(
        default = "default_workers",
        deserialize_with = "crate::stack::de::workers"
    )]
    #[schemars(schema_with = "crate::stack::de::workers_schema")]
    pub workers: u8,
}

fn default_port() -> Port {
    Port::new(DEFAULT_PORT)
}

fn default_workers() -> u8 {
    1
}

/// Its hop of the request path (see `Component::hop`).
fn request_hop(topo: &Topology) -> Option<Hop> {
    let first = topo.with_role(Role::App).next()?;
    let apps = names(topo.with_role(Role::App));
    let same = |list: &[String]| list.len() == 1 && list[0] == first.name;
    let primary: Vec<String> = first.db_primary.iter().cloned().collect();
    let queries = if primary.is_empty() {
        "runs the site's code".to_string()
    } else if first.db_writes.len() > 1 {
        format!(
            "runs the site's code, which reads and writes in MySQL on any node of the Galera cluster ({}), the next when one fails",
            and_list(&first.db_writes)
        )
    } else if first.db_reads == primary {
        if apps.len() == 1 && same(&primary) {
            "runs the site's code, which reads and writes in MySQL on the same machine".into()
        } else {
            format!(
                "runs the site's code, which reads and writes in MySQL on {}",
                primary[0]
            )
        }
    } else {
        format!(
            "runs the site's code, which writes to MySQL on {} and reads from {}",
            primary[0],
            and_list(&first.db_reads)
        )
    };
    Some(Hop {
        what: "application server".into(),
        servers: apps.clone(),
        port: format!("{}/tcp (HTTP)", topo.app_port(&first.name)),
        note: format!("gunicorn {queries}."),
    })
}

impl Component for Options {
    fn ports(&self, _server: &[ComponentSpec], _tls: bool) -> Vec<(u16, Proto)> {
        vec![(self.port.get(), Proto::Tcp)]
    }

    fn port_options(&self) -> Vec<(&'static str, u16)> {
        vec![("port", self.port.get())]
    }

    /// Writes to the stack's primary.
    fn shape(&self, stack: &Stack, node: &mut Node) {
        node.roles.push(Role::App);
        node.db_primary = crate::stack::primaries(stack).first().cloned();
    }

    /// Writes to the primary, reads from the replicas (or the primary).
    fn flows(leg: Leg, topo: &Topology, out: &mut Flows) {
        if leg != Leg::Queries {
            return;
        }
        let port = super::mariadb::PORT;
        for (a, _) in topo.running::<Options>() {
            let what = if a.db_writes.len() > 1 {
                "SQL writes to a Galera node"
            } else {
                "SQL writes to the primary"
            };
            for w in a.db_writes.iter().filter(|w| **w != a.name) {
                out.add(&a.name, w, port, Proto::Tcp, what);
            }
            for r in a.db_reads.iter().filter(|r| **r != a.name) {
                out.add(&a.name, r, port, Proto::Tcp, "SQL reads");
            }
        }
    }

    fn explain(&self, _topo: &Topology, node: &Node) -> String {
        let db = match &node.db_primary {
            None => {
                return "application server (Python under gunicorn): runs the site's code".into()
            }
            Some(p) => p,
        };
        let reads = &node.db_reads;
        let queries = if node.db_writes.len() > 1 {
            format!(
                "reads and writes in the Galera cluster {}, each node in turn and the next when one fails",
                words::and_list(&node.db_writes)
            )
        } else if reads.len() == 1 && &reads[0] == db {
            format!("reads and writes in MySQL {}", words::on(&node.name, reads))
        } else {
            format!(
                "writes to MySQL {} and reads from MySQL {}",
                words::on(&node.name, std::slice::from_ref(db)),
                words::on(&node.name, reads)
            )
        };
        format!("application server (Python under gunicorn): runs the site's code, which {queries}")
    }

    fn draw(&self, _topo: &Topology, _node: &Node) -> Option<Part> {
        let title = format!("app :{}", self.port);
        let lines = vec!["gunicorn (Python)".into()];
        Some(Part::new(Tier::App, title, lines, false))
    }

    fn services(&self) -> Vec<(&'static str, u16)> {
        vec![("the application server", self.port.get())]
    }

    fn hop(topo: &Topology) -> Option<(Tier, Hop)> {
        request_hop(topo).map(|hop| (Tier::App, hop))
    }

    fn render(&self, ctx: &Ctx, out: &mut Out) -> Result<()> {
        render(self, ctx, out)
    }
}

pub fn render(o: &Options, ctx: &Ctx, out: &mut Out) -> Result<()> {
    let me = ctx.name();
    let config_text = serde_json::to_string_pretty(&config(ctx)).expect("json") + "\n";
    out.secret(
        CONFIG,
        0o640,
        Some("root:www-data"),
        config_text,
    );
    out.template("/srv/app/app.py", 0o644, "app/app.py", json!({}))?;
    out.template(
        GUNICORN_CONF,
        0o644,
        "app/gunicorn.conf.py",
        json!({ "port": o.port, "workers": o.workers, "server": me }),
    )?;
    service(out);
    out.probe(
        "app",
        format!("curl -fsS -o /dev/null http://127.0.0.1:{}/healthz", o.port),
        format!("HTTP 200 from http://127.0.0.1:{}/healthz", o.port),
    );
    out.check(
        "python3 -m py_compile",
        "/srv/app/app.py",
        "python3 -m py_compile /srv/app/app.py",
    );
    out.check(
        "gunicorn --check-config",
        GUNICORN_CONF,
        "cd /srv/app && gunicorn --check-config --config /etc/infractl/app/gunicorn.conf.py app:application",
    );
    Ok(())
}

/// The application's `config.json`: the site, and the databases it
/// writes to and reads from, with their addresses from here.
fn config(ctx: &Ctx) -> serde_json::Value {
    let topo = ctx.topo;
    let me = ctx.name();
    let db_addr = |n: &str| {
        if n == me {
            "127.0.0.1".to_string()
        } else {
            topo.addr(me, n).to_string()
        }
    };
    let primary = ctx
        .node
        .db_primary
        .clone()
        .expect("validated: an app has a primary");
    // Database servers by server id, so the app can name the one that answered.
    let db_names: serde_json::Map<String, serde_json::Value> = topo
        .nodes
        .iter()
        .filter(|n| n.roles.contains(&Role::DbPrimary) || n.roles.contains(&Role::DbReplica))
        .filter_map(|n| Some((n.server_id?.to_string(), json!(n.name))))
        .collect();
    json!({
        "server": me,
        "stack": topo.stack.name,
        "domain": topo.stack.domain,
        "database": "site",
        "user": "app",
        "password": ctx.secrets.db_app,
        "primary": { "name": primary, "host": db_addr(&primary), "port": super::mariadb::PORT },
        "replicas": ctx.node.db_reads.iter().map(|r| json!({ "name": r, "host": db_addr(r), "port": super::mariadb::PORT })).collect::<Vec<_>>(),
        "writers": ctx.node.db_writes.iter().map(|w| json!({ "name": w, "host": db_addr(w), "port": super::mariadb::PORT })).collect::<Vec<_>>(),
        "db_names": db_names,
    })
}

/// gunicorn, running the application as www-data.
fn service(out: &mut Out) {
    out.service(Service {
        name: "app".into(),
        pre: vec![],
        command: vec![
            "gunicorn".into(),
            "--config".into(),
            GUNICORN_CONF.into(),
            "app:application".into(),
        ],
        user: Some("www-data".into()),
        reload: Reload::Signal {
            signal: "HUP".into(),
        },
        watches: vec![
            "/srv/app/app.py".into(),
            CONFIG.into(),
            GUNICORN_CONF.into(),
        ],
        host_provides: false,
        replaces: vec![],
    });
}
