//! What the lab's own servers say of the parts that span them, for its
//! live view: which load balancer holds each virtual IP (keepalived
//! stacks), whether each replica replicates and how far behind, which
//! Galera nodes are synced, and which alerts fire (stacks that monitor
//! themselves). One cheap command on each server concerned, every few
//! seconds (see `live`), and only on the servers that run: a stopped one
//! already shows as stopped. The commands and their reading are the
//! components' own, which `verify` uses too; the alerts are read as the
//! monitoring tab and `infractl alerts` read them (`alerts::firing`).

use serde::Serialize;

use crate::components::{keepalived, mariadb};
use crate::driver::Driver;
use crate::topology::{Role, Topology};

/// A virtual IP and who holds it now: one load balancer when all is well,
/// none while it moves, two when they cannot hear each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VipView {
    pub address: String,
    pub holders: Vec<String>,
}

/// A replica's replication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplicaView {
    pub server: String,
    /// Both its threads run.
    pub running: bool,
    /// Seconds behind its primary, when it knows.
    pub lag_seconds: Option<u64>,
    /// What stopped it, when it says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A Galera node's place in its cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GaleraView {
    pub server: String,
    /// Synced, in the primary component.
    pub synced: bool,
    /// As it says it: `Synced, Primary, size 3`.
    pub state: String,
}

/// The alerts of a lab that monitors itself, as its Alertmanager holds
/// them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertsView {
    /// The monitoring server.
    pub server: String,
    /// Each alert firing, `TargetDown (server-02)`, oldest first; `None`
    /// until read, or when they could not be.
    pub firing: Option<Vec<String>>,
    /// Why they could not be read: the monitoring server does not run, or
    /// Alertmanager did not answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl AlertsView {
    /// Not read yet.
    pub fn unread(server: &str) -> AlertsView {
        AlertsView {
            server: server.to_string(),
            firing: None,
            problem: None,
        }
    }

    /// Its monitoring server does not run: nobody sees an alert.
    pub fn not_running(server: &str) -> AlertsView {
        AlertsView {
            problem: Some(format!("{server} is not running: no alert is seen")),
            ..AlertsView::unread(server)
        }
    }

    /// What reading them gave.
    fn read(server: &str, read: crate::error::Result<Vec<crate::alerts::Firing>>) -> AlertsView {
        match read {
            Ok(firing) => AlertsView {
                firing: Some(crate::alerts::names(&firing)),
                ..AlertsView::unread(server)
            },
            Err(e) => AlertsView {
                problem: Some(e.headline()),
                ..AlertsView::unread(server)
            },
        }
    }
}

/// Everything the probes found; empty for a stack without these parts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probed {
    pub vips: Vec<VipView>,
    pub replication: Vec<ReplicaView>,
    pub galera: Vec<GaleraView>,
    /// `None` for a stack without monitoring.
    pub alerts: Option<AlertsView>,
}

/// Whether `topo` has anything to probe.
pub fn any(topo: &Topology) -> bool {
    !topo.vips.is_empty()
        || topo.with_role(Role::DbReplica).next().is_some()
        || !topo.cluster().is_empty()
        || crate::alerts::monitor(topo).is_some()
}

/// Asks the running servers of `topo` (`running`) about its virtual IPs,
/// replicas, Galera nodes and alerts, all at once.
pub async fn probe(driver: &dyn Driver, topo: &Topology, running: &[&str]) -> Probed {
    let runs = |s: &str| running.contains(&s);
    let vips = topo.vips.iter().map(|vip| async move {
        let members: Vec<String> = vip
            .members
            .iter()
            .map(|(m, _)| m.clone())
            .filter(|m| runs(m))
            .collect();
        let address = vip.address.to_string();
        let ask = |m: String, script: String| async move {
            driver.exec(&m, &script).await.ok().map(|o| o.stdout)
        };
        let holders = keepalived::holders(&address, &members, ask).await;
        VipView { address, holders }
    });
    let replicas = topo
        .with_role(Role::DbReplica)
        .filter(|n| runs(&n.name))
        .map(|n| replica(driver, &n.name));
    let galera = topo
        .cluster()
        .iter()
        .filter(|n| runs(n))
        .map(|n| galera_node(driver, n));
    let alerts = async {
        let server = crate::alerts::monitor(topo)?;
        if !runs(server) {
            return Some(AlertsView::not_running(server));
        }
        let read = crate::alerts::firing(driver, topo).await;
        Some(AlertsView::read(
            server,
            read.map(Option::unwrap_or_default),
        ))
    };
    let (vips, replication, galera, alerts) = tokio::join!(
        futures_util::future::join_all(vips),
        futures_util::future::join_all(replicas),
        futures_util::future::join_all(galera),
        alerts,
    );
    Probed {
        vips,
        replication: replication.into_iter().flatten().collect(),
        galera: galera.into_iter().flatten().collect(),
        alerts,
    }
}

/// Replica `server`'s replication; `None` when the command could not run.
async fn replica(driver: &dyn Driver, server: &str) -> Option<ReplicaView> {
    let out = driver.exec(server, mariadb::REPLICA_STATUS).await.ok()?;
    Some(replica_view(server, out.code, &out.stdout, &out.stderr))
}

/// What a replica's status command said, as its view: a database that
/// does not answer replicates nothing.
fn replica_view(server: &str, code: i64, stdout: &str, stderr: &str) -> ReplicaView {
    let r = mariadb::replication(stdout);
    let failed = (code != 0).then(|| stderr.lines().next().unwrap_or("").trim().to_string());
    ReplicaView {
        server: server.to_string(),
        running: code == 0 && r.running,
        lag_seconds: if code == 0 { r.lag_seconds } else { None },
        error: failed.filter(|e| !e.is_empty()).or(r.error),
    }
}

/// Galera node `node`'s state; `None` when the command could not run.
async fn galera_node(driver: &dyn Driver, node: &str) -> Option<GaleraView> {
    let out = driver.exec(node, mariadb::GALERA_STATUS).await.ok()?;
    let state = mariadb::galera_state(&out.stdout);
    Some(GaleraView {
        server: node.to_string(),
        synced: state.starts_with("Synced, Primary,"),
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_that_replicates_says_its_lag() {
        let status = "Slave_IO_Running: Yes\nSlave_SQL_Running: Yes\nSeconds_Behind_Master: 3\n";
        let v = replica_view("server-02", 0, status, "");
        assert_eq!(
            v,
            ReplicaView {
                server: "server-02".into(),
                running: true,
                lag_seconds: Some(3),
                error: None
            }
        );
    }

    #[test]
    fn a_database_that_does_not_answer_replicates_nothing() {
        let v = replica_view(
            "server-02",
            1,
            "",
            "ERROR 2002 (HY000): Can't connect to local server through socket\n",
        );
        assert!(!v.running);
        assert_eq!(v.lag_seconds, None);
        assert_eq!(
            v.error.as_deref(),
            Some("ERROR 2002 (HY000): Can't connect to local server through socket")
        );
        let stopped = replica_view(
            "server-02",
            0,
            "Slave_IO_Running: No\nSlave_SQL_Running: Yes\nSeconds_Behind_Master: NULL\n",
            "",
        );
        assert!(!stopped.running);
        assert_eq!(stopped.error, None);
    }

    #[test]
    fn alerts_read_are_named_and_a_failure_says_why() {
        let firing = crate::alerts::parse(
            "1796354445\n[{\"labels\":{\"alertname\":\"TargetDown\",\"server\":\"server-02\"},\"startsAt\":\"2026-12-04T03:20:15Z\"}]",
        );
        let read = AlertsView::read("admin", Ok(firing.unwrap()));
        assert_eq!(
            read.firing,
            Some(vec!["TargetDown (server-02)".to_string()])
        );
        assert_eq!(read.problem, None);
        let failed = AlertsView::read(
            "admin",
            Err(crate::error::Error::failure(
                "admin: Alertmanager did not answer on port 9093: curl: (7) Failed to connect",
            )),
        );
        assert_eq!(failed.firing, None);
        assert!(failed
            .problem
            .unwrap()
            .contains("Alertmanager did not answer"));
        let json = serde_json::to_value(AlertsView::not_running("admin")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "server": "admin", "firing": null,
                "problem": "admin is not running: no alert is seen"
            })
        );
    }

    #[test]
    fn only_stacks_with_these_parts_are_probed() {
        let want = [
            ("task0", false),
            ("task1", true),
            ("task2", true),
            ("task3", true),
            ("task4", true),
        ];
        for (stack, probed) in want {
            let topo = Topology::load(stack).unwrap();
            assert_eq!(any(&topo), probed, "{stack}");
        }
    }
}
