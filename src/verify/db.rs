//! Database claims: a note written through the application reaches every
//! replica in time and replicas refuse writes; in a Galera cluster, every
//! node is in it, Synced, in the primary component, and holds every write.
//! A failed one's hint points at the database server's own status
//! (`SHOW REPLICA STATUS`, `wsrep_%`), its configuration and its log, or
//! at the application for a write that did not go through.

use std::time::Instant;

use super::claim::{log_of, not_running, service_state, verdict};
use super::verifier::{first_line, Verifier};
use crate::components::mariadb::{galera_state, CONF, GALERA_STATUS};
use crate::components::{app, ToProve};
use crate::driver::ExecOutput;
use crate::error::Result;
use crate::topology::{names, Role, Topology};
use crate::words::and_list;

/// How long a write may take to reach every replica.
pub const REPLICATION_BOUND_MS: u64 = 5000;

/// What a write on a replica did: went through, or its `ERROR` line (else
/// all it said).
fn write_outcome(out: &ExecOutput) -> String {
    if out.code == 0 {
        "the write went through".into()
    } else {
        out.stderr
            .lines()
            .find(|l| l.starts_with("ERROR"))
            .unwrap_or_else(|| out.stderr.trim())
            .to_string()
    }
}

/// Where to look when Galera node `node` is not in the cluster, or
/// lacks a write: its own status, its configuration, its log.
fn galera_hint(node: &str) -> String {
    format!(
        "On {node}, `mariadb -e \"SHOW STATUS LIKE 'wsrep_%'\"` says whether it is in the cluster and applying its writes \
         (`wsrep_cluster_size`, `wsrep_cluster_status`, `wsrep_local_state_comment`); `{CONF}` names the cluster's members \
         (`wsrep-cluster-address`); `tail {}` says what it met joining",
        log_of("mariadb")
    )
}

/// Where to look when a note did not reach database `server` (a replica,
/// or a node of the Galera cluster).
fn note_hint(topo: &Topology, server: &str) -> String {
    if topo.cluster().iter().any(|n| n == server) {
        return galera_hint(server);
    }
    let from = topo
        .node(server)
        .replicates_from
        .clone()
        .unwrap_or_else(|| "its primary".into());
    format!(
        "On {server}, `mariadb -e 'SHOW REPLICA STATUS\\G'` says whether its IO and SQL threads run \
         (`Slave_IO_Running`, `Slave_SQL_Running`) and the last error; it replicates from {from}: compare `{CONF}` on both"
    )
}

/// Where to look when replica `r` takes a write.
fn read_only_hint(r: &str) -> String {
    format!(
        "On {r}, `mariadb -e 'SELECT @@read_only'` says whether it refuses writes; compare the `[mysqld]` settings of its `{CONF}` \
         with what a replica needs"
    )
}

/// Where to look when a note written through the site (from `client`)
/// was not stored: what the application answers and logs, the databases
/// it writes to.
fn write_hint(topo: &Topology, client: &str) -> String {
    let apps = and_list(&names(topo.with_role(Role::App)));
    let mut writers: Vec<String> = topo.cluster().to_vec();
    if writers.is_empty() {
        writers = names(topo.with_role(Role::DbPrimary));
    }
    format!(
        "From {client}, `curl -si -H 'Content-Type: application/json' -d '{{\"text\": \"hello\"}}' {}://{}/api/notes` \
         shows what the application answers; on {apps}, `tail {}` says why a write failed and `{}` names the databases \
         it writes to; on {}, {}",
        topo.site_scheme(),
        topo.site_host(),
        log_of("app"),
        app::CONFIG,
        and_list(&writers),
        service_state("mariadb")
    )
}

/// A marker no other note has: this process's, at this instant.
fn marker() -> String {
    format!(
        "verify-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    )
}

impl Verifier<'_> {
    /// A write through the application reaches every replica in time, and
    /// replicas refuse writes (or, in a Galera cluster, every node).
    pub(super) async fn replication(&mut self) -> Result<()> {
        self.galera().await?;
        let replicas: Vec<String> = self
            .claimed(|c| matches!(c, ToProve::Replica).then_some(()))
            .into_iter()
            .map(|(r, ())| r.to_string())
            .collect();
        if replicas.is_empty() {
            return Ok(());
        }
        let marker = self.write_note().await?;
        for r in &replicas {
            self.note_reaches(r, &marker, format!("the note reaches replica {r}"))
                .await?;
            self.refuses_writes(r).await?;
        }
        Ok(())
    }

    /// A Galera cluster: every node in it, Synced, in the primary
    /// component; a note written through the application reaches every
    /// node (each holds every write).
    async fn galera(&mut self) -> Result<()> {
        let cluster: Vec<(String, usize)> = self
            .claimed(|c| match c {
                ToProve::GaleraNode { size } => Some(*size),
                _ => None,
            })
            .into_iter()
            .map(|(node, size)| (node.to_string(), size))
            .collect();
        if cluster.is_empty() {
            return Ok(());
        }
        for (node, size) in &cluster {
            self.in_cluster(node, *size).await?;
        }
        let marker = self.write_note().await?;
        for (node, _) in &cluster {
            self.note_reaches(node, &marker, format!("the note is on Galera node {node}"))
                .await?;
        }
        Ok(())
    }

    /// The claim that Galera node `node` is Synced in the primary component
    /// of a cluster of `size`.
    async fn in_cluster(&mut self, node: &str, size: usize) -> Result<()> {
        let t = Instant::now();
        let out = self.sh(node, GALERA_STATUS).await?;
        let observed = galera_state(&out.stdout);
        self.record(
            "replication",
            format!("Galera node {node} is in the cluster"),
            format!("Synced, Primary, size {size}"),
            observed.clone(),
            verdict(observed == format!("Synced, Primary, size {size}"), || {
                galera_hint(node)
            }),
            t,
        );
        Ok(())
    }

    /// The claim that replica `r` refuses a write (it is read-only).
    async fn refuses_writes(&mut self, r: &str) -> Result<()> {
        let t = Instant::now();
        let out = match self.refuse(r) {
            Some(out) => out,
            None => self
                .driver
                .exec_env(r,
                    "mariadb -uapp -h127.0.0.1 site -e \"INSERT INTO notes (text, written_by) VALUES ('verify', 'verify')\"",
                    &[format!("MYSQL_PWD={}", self.secrets.db_app)],
                )
                .await?,
        };
        let refused = out.code != 0 && out.stderr.contains("read-only");
        self.record(
            "replication",
            format!("replica {r} refuses writes"),
            "ERROR 1290: --read-only".into(),
            write_outcome(&out),
            verdict(refused, || read_only_hint(r)),
            t,
        );
        Ok(())
    }

    /// The claim `check`: the note `marker` is on database `server` within
    /// [`REPLICATION_BOUND_MS`].
    async fn note_reaches(&mut self, server: &str, marker: &str, check: String) -> Result<()> {
        let t = Instant::now();
        let seconds = REPLICATION_BOUND_MS.div_ceil(1000).to_string();
        let script = crate::shell::polling(crate::shell::REPLICA_LAG, &[seconds.as_str(), marker]);
        let out = self.sh(server, &script).await?;
        let lag = out.stdout.trim().parse::<u64>().ok();
        self.record(
            "replication",
            check,
            format!("within {REPLICATION_BOUND_MS} ms"),
            match lag {
                Some(ms) => format!("after {ms} ms"),
                None if self.is_down(server) => not_running(&[server]),
                None => "not there".into(),
            },
            verdict(lag.is_some_and(|ms| ms <= REPLICATION_BOUND_MS), || {
                note_hint(self.topo, server)
            }),
            t,
        );
        Ok(())
    }

    /// Writes a note of a marker of its own through the site, as a user
    /// would; the marker.
    async fn write_note(&mut self) -> Result<String> {
        let marker = marker();
        let t = Instant::now();
        let out = self
            .sh(
                &self.client,
                &format!(
                    "curl -sS -o /dev/null -w '%{{http_code}}' -H 'Content-Type: application/json' -d '{{\"text\": \"{marker}\"}}' {}://{}/api/notes",
                    self.scheme(),
                    self.site()
                ),
            )
            .await?;
        let observed = out.stdout.trim().to_string();
        self.record(
            "replication",
            "a note written through the application".into(),
            "201 (stored)".into(),
            if observed.is_empty() {
                first_line(&out.stderr)
            } else {
                observed.clone()
            },
            verdict(observed == "201", || write_hint(self.topo, &self.client)),
            t,
        );
        Ok(marker)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{Role, Topology};

    #[test]
    fn a_galera_node_s_state_is_read_from_its_status() {
        let status = "wsrep_cluster_size\t3\nwsrep_cluster_status\tPrimary\nwsrep_local_state_comment\tSynced \n";
        assert_eq!(galera_state(status), "Synced, Primary, size 3");
        assert_eq!(galera_state("ERROR 2002"), "?, ?, size ?");
    }

    #[test]
    fn a_refused_write_is_told_by_its_error_line() {
        let out = |code, stderr: &str| ExecOutput {
            code,
            stdout: String::new(),
            stderr: stderr.into(),
        };
        assert_eq!(write_outcome(&out(0, "")), "the write went through");
        assert_eq!(
            write_outcome(&out(1, "warning\nERROR 1290 (HY000): --read-only\n")),
            "ERROR 1290 (HY000): --read-only"
        );
        assert_eq!(
            write_outcome(&out(125, " db-02 is not running\n")),
            "db-02 is not running"
        );
    }

    #[test]
    fn a_replica_s_hints_point_at_its_own_status_and_configuration() {
        let topo = Topology::load("task2").unwrap();
        let note = note_hint(&topo, "server-02");
        assert!(
            note.starts_with("On server-02, `mariadb -e 'SHOW REPLICA STATUS\\G'` says whether its IO and SQL threads run"),
            "{note}"
        );
        assert!(
            note.ends_with("it replicates from server-01: compare `/etc/mysql/mariadb.conf.d/60-infractl.cnf` on both"),
            "{note}"
        );
        let ro = read_only_hint("server-02");
        assert!(
            ro.starts_with("On server-02, `mariadb -e 'SELECT @@read_only'`"),
            "{ro}"
        );
        assert!(
            ro.contains("`/etc/mysql/mariadb.conf.d/60-infractl.cnf`"),
            "{ro}"
        );
        let write = write_hint(&topo, "client");
        assert!(write.starts_with("From client, `curl -si -H 'Content-Type: application/json' -d '{\"text\": \"hello\"}' http"), "{write}");
        assert!(write.contains("on server-01 and server-02, `tail /var/log/infractl/app/current` says why a write failed"), "{write}");
        assert!(
            write.ends_with(
                "on server-01, `sv status mariadb`, `tail /var/log/infractl/mariadb/current`"
            ),
            "{write}"
        );
    }

    #[test]
    fn a_galera_node_s_hint_points_at_its_wsrep_status() {
        let topo = Topology::load("task4").unwrap();
        for hint in [note_hint(&topo, "db-02"), galera_hint("db-02")] {
            assert!(
                hint.starts_with("On db-02, `mariadb -e \"SHOW STATUS LIKE 'wsrep_%'\"`"),
                "{hint}"
            );
            assert!(hint.contains("(`wsrep-cluster-address`)"), "{hint}");
        }
        let write = write_hint(&topo, "client");
        assert!(
            write.contains("on db-01, db-02 and db-03, `sv status mariadb`"),
            "{write}"
        );
    }

    #[test]
    fn replicas_and_galera_nodes_claim_what_the_topology_says() {
        for stack in ["task0", "task1", "task2", "task3", "task4"] {
            let topo = Topology::load(stack).unwrap();
            let claims = super::super::verifier::kinds_claims(&topo);
            let replicas: Vec<&str> = claims
                .iter()
                .filter(|(_, c)| *c == ToProve::Replica)
                .map(|(s, _)| s.as_str())
                .collect();
            let want: Vec<&str> = topo
                .with_role(Role::DbReplica)
                .map(|n| n.name.as_str())
                .collect();
            assert_eq!(replicas, want, "{stack}");
            let galera: Vec<(&str, usize)> = claims
                .iter()
                .filter_map(|(s, c)| match c {
                    ToProve::GaleraNode { size } => Some((s.as_str(), *size)),
                    _ => None,
                })
                .collect();
            let cluster = topo.cluster();
            let want: Vec<(&str, usize)> = cluster
                .iter()
                .map(|n| (n.as_str(), cluster.len()))
                .collect();
            assert_eq!(galera, want, "{stack}");
        }
    }
}
