//! MariaDB (Debian's MySQL): a write primary with the binary log and GTIDs,
//! and read-only replicas that follow it with GTID-based replication.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{Alert, Component, ComponentSpec, Exporter, ExporterProgram, Kind};
use crate::diagram::{Part, Tier};
use crate::error::Result;
use crate::explain;
use crate::plan::{Reload, Service, When};
use crate::render::{Ctx, Out};
use crate::stack::raw::Proto;
use crate::stack::Stack;
use crate::topology::{Flows, Leg, Node, Role, Topology};

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
pub const PRIMARY_SQL: &str = "/etc/infractl/mariadb/primary.sql";
pub const REPLICA_SQL: &str = "/etc/infractl/mariadb/replica.sql";
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

impl Component for Options {
    fn ports(&self, _server: &[ComponentSpec], _tls: bool) -> Vec<(u16, Proto)> {
        vec![(PORT, Proto::Tcp)]
    }

    /// A replica follows the primary it names, else the stack's primary.
    fn shape(&self, stack: &Stack, node: &mut Node) {
        match self.role {
            DbRole::Primary => node.roles.push(Role::DbPrimary),
            DbRole::Replica => {
                node.roles.push(Role::DbReplica);
                node.replicates_from = self
                    .primary
                    .clone()
                    .or_else(|| crate::stack::primaries(stack).first().cloned());
            }
        }
    }

    /// Replicas read the binary log of their primary.
    fn flows(leg: Leg, topo: &Topology, out: &mut Flows) {
        if leg != Leg::Replication {
            return;
        }
        for r in &topo.nodes {
            if let Some(p) = r.replicates_from.as_ref().filter(|p| **p != r.name) {
                out.add(&r.name, p, PORT, Proto::Tcp, "replication from the primary");
            }
        }
    }

    fn explain(&self, topo: &Topology, node: &Node) -> String {
        match self.role {
            DbRole::Primary => {
                let replicas = explain::replicas_of(topo, &node.name);
                if replicas.is_empty() {
                    "database (MySQL, as Debian's MariaDB): the only one, taking every read and write"
                        .into()
                } else {
                    format!(
                        "database primary (MySQL, as Debian's MariaDB): takes every write and records it in its binary log, which {} {}",
                        explain::and_list(&replicas),
                        explain::agree(replicas.len(), "copies", "copy")
                    )
                }
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

    fn render(&self, ctx: &Ctx, out: &mut Out) -> Result<()> {
        render(self, ctx, out)
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

pub fn render(o: &Options, ctx: &Ctx, out: &mut Out) -> Result<()> {
    let node = ctx.node;
    let replica = o.role == DbRole::Replica;
    out.template(
        CONF,
        0o644,
        "mariadb/server.cnf",
        json!({
            "server": ctx.name(),
            "server_id": node.server_id,
            "replica": replica,
        }),
    )?;
    let secrets = ctx.secrets;
    if replica {
        let primary = node
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
                "password": secrets.db_replication,
            }),
        )?;
        out.step(
            "start replication and wait until caught up",
            When::AfterReady,
            &[REPLICA_SQL],
            format!("mariadb --batch < {REPLICA_SQL}\n{WAIT_REPLICATION}"),
        );
    } else {
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
    }
    out.service(Service {
        name: "mariadb".into(),
        pre: vec!["install -d -o mysql -g mysql /run/mysqld".into()],
        command: vec!["mariadbd".into(), "--user=mysql".into()],
        user: None,
        reload: Reload::Restart,
        watches: vec![CONF.into()],
        host_provides: false,
        // The socket first: it would start the service again.
        replaces: vec!["mariadb.socket".into(), "mariadb.service".into()],
    });
    out.probe(
        "mariadb",
        "mariadb-admin --protocol=socket ping --silent",
        "mariadb-admin ping answers on the local socket",
    );
    out.check(
        "mariadbd --help --verbose",
        CONF,
        "mariadbd --user=mysql --help --verbose >/dev/null",
    );
    Ok(())
}
