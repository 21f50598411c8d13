//! MariaDB (Debian's MySQL): a write primary with the binary log and GTIDs,
//! and read-only replicas that follow it with GTID-based replication; or
//! the nodes of a Galera cluster (Debian's galera-4), each taking writes,
//! which every node applies before the commit returns (certification).

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{Alert, Component, ComponentSpec, Exporter, ExporterProgram, Kind};
use super::hop::Hop;
use super::part::{Part, Tier};
use crate::error::Result;
use crate::render::plan::{Keep, Reload, Service, When};
use crate::render::{Ctx, Out};
use crate::stack::Stack;
use crate::stack::raw::Proto;
use crate::topology::{names, Flows, Leg, Node, Role, Topology};
use crate::words::{agree, and_list};

pub const KIND: Kind = Kind {
    name: "mariadb",
    memory_mb: 50,
    summary:
        "database (MySQL, as Debian's MariaDB): a write primary, or a read-only replica of one",
    packages: &["mariadb-server", "mariadb-client"],
    templates: &[
        "mariadb/server.cnf",
        "mariadb/primary.sql",
        "mariadb/replica.sql",
        "mariadb/mysqld-exporter.cnf",
    ],
    habits: &[("mysql", "MySQL is Debian's MariaDB here: write `mariadb`")],
};

pub const PORT: u16 = 3306;
pub const CONF: &str = "/etc/mysql/mariadb.conf.d/60-infractl.cnf";
/// The data directory, kept across recreation (a volume of the lab).
pub const DATA: &str = "/var/lib/mysql";
pub const PRIMARY_SQL: &str = "/etc/infractl/mariadb/primary.sql";
pub const REPLICA_SQL: &str = "/etc/infractl/mariadb/replica.sql";
/// A Galera node's start: bootstrap the cluster, or join it.
pub const GALERA_START: &str = "/etc/infractl/mariadb/galera-start.sh";
/// Galera's own ports: group communication, incremental state transfer
/// (IST), state snapshot transfer (SST, by rsync).
pub const GALERA_PORTS: [(u16, &str); 3] = [
    (4567, "Galera replication"),
    (4568, "Galera incremental state transfer"),
    (4444, "Galera state snapshot transfer"),
];
/// Galera's ports that listen only while a node joins.
pub const TRANSFER_PORTS: [u16; 2] = [4568, 4444];
/// The mysqld exporter's credentials.
pub const EXPORTER_CNF: &str = "/etc/infractl/mysqld-exporter.cnf";

/// MySQL's health and replication state, from the mysqld exporter.
pub const EXPORTER: Exporter = Exporter {
    job: "mysqld",
    port: 9104,
    name: "mysqld exporter",
    about: "MySQL's health and replication ({port})",
    program: Some(ExporterProgram {
        package: "prometheus-mysqld-exporter",
        render: render_exporter,
    }),
    alerts: &[
        Alert {
            name: "ReplicationStopped",
            expr: "mysql_slave_status_slave_sql_running == 0 or mysql_slave_status_slave_io_running == 0",
            hold: "15s",
            severity: "critical",
            summary: "replication stopped on {{ $labels.server }}",
        },
        Alert {
            name: "ReplicationLagging",
            expr: "mysql_slave_status_seconds_behind_master > 30",
            hold: "30s",
            severity: "warning",
            summary: "{{ $labels.server }} is {{ $value }} s behind its primary",
        },
    ],
};

/// Waits (30 s at most) until both replication threads run and the replica
/// has caught up; prints the replication state when it does not.
const WAIT_REPLICATION: &str = r#"i=0
while :; do
    s=$(mariadb -e 'SHOW SLAVE STATUS\G')
    if echo "$s" | grep -q 'Slave_IO_Running: Yes' && echo "$s" | grep -q 'Slave_SQL_Running: Yes' && echo "$s" | grep -q 'Seconds_Behind_Master: 0'; then
        break
    fi
    i=$((i+1))
    if [ $i -ge 300 ]; then
        echo 'replication did not catch up in 30 s:' >&2
        echo "$s" | grep -E 'Running|Error|Behind' >&2
        exit 1
    fi
    sleep 0.1
done"#;

/// Role of a database server. The course's older words are read too:
/// `master` is a primary, `slave` a replica (MariaDB's own statements still
/// say `CHANGE MASTER TO` and `SHOW SLAVE STATUS`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DbRole {
    /// Takes the writes; keeps a binary log for replicas.
    #[default]
    #[serde(alias = "master")]
    Primary,
    /// Read-only copy that replicates from a primary.
    #[serde(alias = "slave")]
    Replica,
    /// A node of the stack's Galera cluster: takes writes like every other
    /// node, which all apply each write before it commits.
    Galera,
}

impl JsonSchema for DbRole {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DbRole".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Role of a database server.",
            "oneOf": [
                { "const": "primary", "description": "Takes the writes; keeps a binary log for replicas." },
                { "const": "replica", "description": "Read-only copy that replicates from a primary." },
                { "const": "galera", "description": "A node of the stack's Galera cluster (three or more): every node takes writes." },
                { "const": "master", "description": "The older word for `primary`." },
                { "const": "slave", "description": "The older word for `replica`." }
            ]
        })
    }
}

/// Options of the `mariadb` component.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "MariadbOptions")]
pub struct Options {
    /// `primary` (default) or `replica` (`master` and `slave` are read as
    /// these).
    #[serde(default)]
    pub role: DbRole,
    /// For a replica: the primary to follow. Default: the stack's only primary.
    pub primary: Option<String>,
    /// Replication server id, 1 to 4294967295, unique among the stack's
    /// databases. Default: assigned in stack order.
    #[serde(default, deserialize_with = "crate::stack::de::server_id")]
    #[schemars(schema_with = "crate::stack::de::server_id_schema")]
    pub server_id: Option<u32>,
}

/// Its hop of the request path (see `Component::hop`).
fn request_hop(topo: &Topology) -> Option<Hop> {
    let primaries = names(topo.with_role(Role::DbPrimary));
    let replicas = names(topo.with_role(Role::DbReplica));
    let first = primaries.first()?;
    let reads: Vec<String> = topo
        .with_role(Role::App)
        .next()
        .map(|a| a.db_reads.clone())
        .unwrap_or_default();
    let cluster = &topo.node(first).cluster;
    let note = if !cluster.is_empty() {
        format!(
            "Every node takes reads and writes; each write commits once {} have certified it.",
            and_list(cluster)
        )
    } else if reads.is_empty() || reads == [first.clone()] {
        format!("{first} takes every read and write.")
    } else {
        format!(
            "Writes go to {first} (the primary), reads to {} (the {}).",
            and_list(&reads),
            agree(reads.len(), "replica", "replicas")
        )
    };
    Some(Hop {
        what: "database".into(),
        servers: primaries.iter().chain(replicas.iter()).cloned().collect(),
        port: format!("{}/tcp (MySQL)", PORT),
        note,
    })
}

impl Component for Options {
    fn ports(&self, _server: &[ComponentSpec], _tls: bool) -> Vec<(u16, Proto)> {
        let mut v = vec![(PORT, Proto::Tcp)];
        if self.role == DbRole::Galera {
            v.extend(GALERA_PORTS.iter().map(|(p, _)| (*p, Proto::Tcp)));
        }
        v
    }

    /// A replica follows the primary it names, else the stack's primary.
    fn shape(&self, stack: &Stack, node: &mut Node) {
        match self.role {
            DbRole::Primary => node.roles.push(Role::DbPrimary),
            // Each node takes writes: a primary among primaries.
            DbRole::Galera => {
                node.roles.push(Role::DbPrimary);
                node.cluster = galera_nodes(stack);
            }
            DbRole::Replica => {
                node.roles.push(Role::DbReplica);
                node.replicates_from = self
                    .primary
                    .clone()
                    .or_else(|| crate::stack::primaries(stack).first().cloned());
            }
        }
    }

    /// Replicas read the binary log of their primary; Galera nodes talk
    /// to each other.
    fn flows(leg: Leg, topo: &Topology, out: &mut Flows) {
        if leg != Leg::Replication {
            return;
        }
        for r in &topo.nodes {
            if let Some(p) = r.replicates_from.as_ref().filter(|p| **p != r.name) {
                out.add(&r.name, p, PORT, Proto::Tcp, "replication from the primary");
            }
            for peer in r.cluster.iter().filter(|p| **p != r.name) {
                for (port, what) in GALERA_PORTS {
                    out.add(&r.name, peer, port, Proto::Tcp, what);
                }
                // A node starting asks whether its peers run the cluster
                // (src/shell/galera-start.sh): one that does takes SQL.
                out.add(&r.name, peer, PORT, Proto::Tcp, "whether the Galera cluster runs");
            }
        }
    }

    fn explain(&self, topo: &Topology, node: &Node) -> String {
        match self.role {
            DbRole::Primary => {
                let replicas = topo.replicas_of(&node.name);
                if replicas.is_empty() {
                    "database (MySQL, as Debian's MariaDB): the only one, taking every read and write"
                        .into()
                } else {
                    format!(
                        "database primary (MySQL, as Debian's MariaDB): takes every write and records it in its binary log, which {} {}",
                        and_list(&replicas),
                        agree(replicas.len(), "copies", "copy")
                    )
                }
            }
            DbRole::Galera => {
                let others: Vec<&String> =
                    node.cluster.iter().filter(|n| **n != node.name).collect();
                format!(
                    "Galera node (MySQL, as Debian's MariaDB, with galera-4): takes writes like {}; each write commits only once every node has certified it, so all hold the same data; {} of {} nodes keep the cluster writable (a quorum)",
                    and_list(&others),
                    quorum(node.cluster.len()),
                    node.cluster.len()
                )
            }
            DbRole::Replica => {
                let primary = node.replicates_from.clone().unwrap_or_default();
                let serves = topo.nodes.iter().any(|n| n.db_reads.contains(&node.name));
                format!(
                    "database replica (MySQL, as Debian's MariaDB): copies every write of {primary}{} refuses any other writes (read-only)",
                    if serves {
                        ", answers the application's reads and"
                    } else {
                        " and"
                    }
                )
            }
        }
    }

    fn draw(&self, topo: &Topology, _node: &Node) -> Option<Part> {
        let role = match self.role {
            DbRole::Primary if topo.with_role(Role::DbReplica).next().is_none() => {
                "the only database"
            }
            DbRole::Primary => "primary (writes)",
            DbRole::Replica => "replica (read-only)",
            DbRole::Galera => "Galera node (writes)",
        };
        let title = format!("MySQL :{PORT}");
        Some(Part::new(Tier::Db, title, vec![role.into()], false))
    }

    fn services(&self) -> Vec<(&'static str, u16)> {
        vec![("MySQL", PORT)]
    }

    fn exporter(&self) -> Option<Exporter> {
        Some(EXPORTER)
    }

    fn hop(topo: &Topology) -> Option<(Tier, Hop)> {
        request_hop(topo).map(|hop| (Tier::Db, hop))
    }

    fn render(&self, ctx: &Ctx, out: &mut Out) -> Result<()> {
        render(self, ctx, out)
    }

    // ---- verify ----

    /// A Galera node is in its cluster, a replica follows its primary; the
    /// application's writes reach either.
    fn to_prove(&self, _topo: &Topology, node: &Node) -> Vec<super::ToProve> {
        match self.role {
            DbRole::Galera => vec![super::ToProve::GaleraNode {
                size: node.cluster.len(),
            }],
            DbRole::Replica => vec![super::ToProve::Replica],
            DbRole::Primary => Vec::new(),
        }
    }
}

fn render_exporter(ctx: &Ctx, out: &mut Out) -> Result<()> {
    out.secret_template(
        EXPORTER_CNF,
        0o640,
        Some("root:prometheus"),
        "mariadb/mysqld-exporter.cnf",
        json!({ "password": ctx.secrets.db_exporter }),
    )?;
    let port = EXPORTER.port;
    let mut cmd = vec![
        "prometheus-mysqld-exporter".to_string(),
        format!("--config.my-cnf={EXPORTER_CNF}"),
        format!("--web.listen-address=:{port}"),
    ];
    let me = ctx.topo.server(ctx.name()).get::<Options>();
    if me.is_some_and(|o| o.role == DbRole::Replica) {
        cmd.push("--collect.slave_status".into());
    }
    super::monitoring::exporter_service("mysqld-exporter", cmd, port, out);
    Ok(())
}

/// What a database server keeps: its data directory, which holds what its
/// role makes it hold. A primary's own writes are not a replica's copy:
/// the primary made a replica starts from a copy of its primary, as a new
/// replica does.
pub fn keep(o: &Options, node: &Node, topo: &Topology) -> Keep {
    let (holds, follows) = match o.role {
        DbRole::Primary => (Keep::PRIMARY_WRITES.to_string(), None),
        DbRole::Replica => {
            let primary = node.replicates_from.clone().unwrap_or_default();
            (Keep::copy_of(&primary), Some(primary))
        }
        DbRole::Galera => (
            format!("a node's copy of the Galera cluster `{}`", topo.stack.name),
            None,
        ),
    };
    Keep {
        path: DATA.into(),
        name: "mysql".into(),
        what: Keep::DATABASE.into(),
        holds,
        follows,
    }
}

/// What a replica says of its replication, one `Field: value` a line.
pub const REPLICA_STATUS: &str = "mariadb -e 'SHOW SLAVE STATUS\\G'";

/// What a Galera node says of its place in the cluster (tab-separated).
pub const GALERA_STATUS: &str = "mariadb -N -e \"SHOW STATUS WHERE Variable_name IN ('wsrep_cluster_size', 'wsrep_cluster_status', 'wsrep_local_state_comment')\"";

/// A replica's replication, as [`REPLICA_STATUS`] tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replication {
    /// Both threads run: it reads its primary's log and applies it.
    pub running: bool,
    /// Seconds behind its primary, when it knows.
    pub lag_seconds: Option<u64>,
    /// The last error of either thread.
    pub error: Option<String>,
}

/// Reads [`REPLICA_STATUS`]'s output (nothing: not replicating at all).
pub fn replication(status: &str) -> Replication {
    let field = |name: &str| {
        status
            .lines()
            .filter_map(|l| l.trim().split_once(": "))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let yes = |name: &str| field(name) == Some("Yes");
    Replication {
        running: yes("Slave_IO_Running") && yes("Slave_SQL_Running"),
        lag_seconds: field("Seconds_Behind_Master").and_then(|v| v.parse().ok()),
        error: field("Last_IO_Error")
            .or_else(|| field("Last_SQL_Error"))
            .map(str::to_string),
    }
}

/// A Galera node's state as [`GALERA_STATUS`] tells it: `Synced, Primary,
/// size 3`, a `?` for what it does not tell.
pub fn galera_state(status: &str) -> String {
    let status: std::collections::HashMap<&str, &str> = status
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k, v.trim()))
        .collect();
    let get = |k: &str| status.get(k).copied().unwrap_or("?");
    format!(
        "{}, {}, size {}",
        get("wsrep_local_state_comment"),
        get("wsrep_cluster_status"),
        get("wsrep_cluster_size")
    )
}

/// How many nodes of a Galera cluster of `n` keep it taking writes: a
/// majority (quorum).
pub fn quorum(n: usize) -> usize {
    n / 2 + 1
}

/// The stack's Galera nodes, in stack order: its one cluster.
pub fn galera_nodes(stack: &Stack) -> Vec<String> {
    stack
        .servers
        .iter()
        .filter(|s| s.get::<Options>().is_some_and(|o| o.role == DbRole::Galera))
        .map(|s| s.name.clone())
        .collect()
}

pub fn render(o: &Options, ctx: &Ctx, out: &mut Out) -> Result<()> {
    server_conf(o, ctx, out)?;
    out.keep(keep(o, ctx.node, ctx.topo));
    sql(o, ctx, out)?;
    service(o, ctx, out);
    probe(o, out);
    out.check(
        "mariadbd --help --verbose",
        CONF,
        "mariadbd --user=mysql --help --verbose >/dev/null",
    );
    Ok(())
}

/// The server's configuration: its id, whether it replicates, and a
/// Galera node's cluster.
fn server_conf(o: &Options, ctx: &Ctx, out: &mut Out) -> Result<()> {
    let (node, topo, me) = (ctx.node, ctx.topo, ctx.name());
    // Its own address where its peers reach it.
    let address = node
        .cluster
        .iter()
        .find(|p| *p != me)
        .map(|p| topo.addr(p, me).to_string());
    out.template(
        CONF,
        0o644,
        "mariadb/server.cnf",
        json!({
            "server": me,
            "server_id": node.server_id,
            "replica": o.role == DbRole::Replica,
            "galera": o.role == DbRole::Galera,
            "cluster_name": topo.stack.name,
            "members": node.cluster.iter().map(|p| topo.addr(me, p).to_string()).collect::<Vec<_>>(),
            "address": address,
        }),
    )
}

/// Whether this server founds its Galera cluster: the node that does
/// creates the users, which every node then has.
fn founds(ctx: &Ctx) -> bool {
    ctx.node.cluster.first().is_some_and(|f| f == ctx.name())
}

/// A replica's start of replication, or the database and users a primary
/// (or the node founding a Galera cluster) creates.
fn sql(o: &Options, ctx: &Ctx, out: &mut Out) -> Result<()> {
    let galera = o.role == DbRole::Galera;
    if o.role == DbRole::Replica {
        replica_sql(ctx, out)
    } else if !galera || founds(ctx) {
        primary_sql(ctx, out)
    } else {
        Ok(())
    }
}

fn replica_sql(ctx: &Ctx, out: &mut Out) -> Result<()> {
    let primary = ctx
        .node
        .replicates_from
        .as_deref()
        .expect("validated: a replica has a primary");
    out.secret_template(
        REPLICA_SQL,
        0o600,
        None,
        "mariadb/replica.sql",
        json!({
            "primary": primary,
            "primary_host": ctx.topo.addr(ctx.name(), primary).to_string(),
            "port": PORT,
            "password": ctx.secrets.db_replication,
        }),
    )?;
    out.step(
        "start replication and wait until caught up",
        When::AfterReady,
        &[REPLICA_SQL],
        format!("mariadb --batch < {REPLICA_SQL}\n{WAIT_REPLICATION}"),
    );
    Ok(())
}

fn primary_sql(ctx: &Ctx, out: &mut Out) -> Result<()> {
    let secrets = ctx.secrets;
    out.secret_template(
        PRIMARY_SQL,
        0o600,
        None,
        "mariadb/primary.sql",
        json!({
            "app_password": secrets.db_app,
            "replication_password": secrets.db_replication,
            "exporter_password": secrets.db_exporter,
        }),
    )?;
    out.step(
        "create database and users",
        When::AfterReady,
        &[PRIMARY_SQL],
        format!("mariadb --batch < {PRIMARY_SQL}"),
    );
    Ok(())
}

/// The mariadb service: mariadbd itself, or a Galera node's start script
/// (founding the cluster, or joining its peers).
fn service(o: &Options, ctx: &Ctx, out: &mut Out) {
    let (pre, command, watches) = if o.role == DbRole::Galera {
        let me = ctx.name();
        let mut args = vec![if founds(ctx) { "yes" } else { "no" }.to_string()];
        args.extend(
            ctx.node
                .cluster
                .iter()
                .filter(|p| *p != me)
                .map(|p| ctx.topo.addr(me, p).to_string()),
        );
        out.file(
            GALERA_START,
            0o755,
            crate::shell::with_args(crate::shell::GALERA_START, &args),
        );
        (
            vec![],
            vec!["sh".into(), GALERA_START.into()],
            vec![CONF.into(), GALERA_START.into()],
        )
    } else {
        (
            vec!["install -d -o mysql -g mysql /run/mysqld".into()],
            vec!["mariadbd".into(), "--user=mysql".into()],
            vec![CONF.into()],
        )
    };
    out.service(Service {
        name: "mariadb".into(),
        pre,
        command,
        user: None,
        reload: Reload::Restart,
        watches,
        host_provides: false,
        // The socket first: it would start the service again.
        replaces: vec!["mariadb.socket".into(), "mariadb.service".into()],
    });
}

/// Ready when in the cluster's primary component (Galera), or answering
/// on its socket.
fn probe(o: &Options, out: &mut Out) {
    if o.role == DbRole::Galera {
        out.probe(
            "mariadb",
            "mariadb -N -e \"SHOW STATUS LIKE 'wsrep_ready'\" | grep -q ON",
            "wsrep_ready ON: in the cluster's primary component, synced",
        );
    } else {
        out.probe(
            "mariadb",
            "mariadb-admin --protocol=socket ping --silent",
            "mariadb-admin ping answers on the local socket",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replicas_replication_is_read_from_its_status() {
        let status = "*************************** 1. row ***************************\n                Slave_IO_State: Waiting for master to send event\n              Slave_IO_Running: Yes\n             Slave_SQL_Running: Yes\n                 Last_IO_Error: \n        Seconds_Behind_Master: 0\n                Last_SQL_Error: \n";
        assert_eq!(
            replication(status),
            Replication {
                running: true,
                lag_seconds: Some(0),
                error: None
            }
        );
        let broken = "Slave_IO_Running: Connecting\nSlave_SQL_Running: Yes\nSeconds_Behind_Master: NULL\nLast_IO_Error: error reconnecting to master 'repl@10.1.1.11:3306'\n";
        assert_eq!(
            replication(broken),
            Replication {
                running: false,
                lag_seconds: None,
                error: Some("error reconnecting to master 'repl@10.1.1.11:3306'".into())
            }
        );
        assert!(!replication("").running);
    }
}
