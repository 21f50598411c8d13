//! A fault of the database tier: replication stopped on a replica, the
//! primary written to since.

use super::{Breakage, Change, ClaimRef, Repair, Symptom};
use crate::topology::Topology;

/// How many rows are written on the primary while the replica stands still.
pub const ROWS_BEHIND: usize = 3;

/// (d) Replication stopped on `replica`, the primary written to since.
pub(super) fn replica_stopped(topo: &Topology, replica: &str, marker: &str) -> Breakage {
    let primary = topo
        .node(replica)
        .replicates_from
        .clone()
        .expect("a replica has a primary");
    let breaks = vec![ClaimRef::sure(
        "replication",
        format!("the note reaches replica {replica}"),
    )];
    let status = "mariadb -e 'SHOW SLAVE STATUS\\G'";
    Breakage {
        fault: "",
        seed: 0,
        server: replica.into(),
        on: replica.into(),
        what: format!(
            "replication is stopped on {replica} (STOP SLAVE) and {ROWS_BEHIND} rows were written on {primary} since: {replica} serves reads without them, and every new write too"
        ),
        breaks,
        repair: Repair {
            server: replica.into(),
            text: format!(
                "On {replica}, `SHOW SLAVE STATUS` says Slave_IO_Running and Slave_SQL_Running: No; start replication again (`START SLAVE`): it catches up from where it stopped, the rows written on {primary} meanwhile included."
            ),
            commands: vec![format!("{status} | grep -E 'Running|Behind'"), "mariadb -e 'START SLAVE'".into()],
        },
        shows: Symptom {
            server: replica.into(),
            script: format!(
                "st=$({status}); \
                 if echo \"$st\" | grep -q 'Slave_SQL_Running: No'; then echo yes; \
                 elif echo \"$st\" | grep -q 'Slave_IO_Running: Yes' && echo \"$st\" | grep -q 'Slave_SQL_Running: Yes' \
                 && [ \"$(mariadb -N site -e \"SELECT COUNT(*) FROM notes WHERE text LIKE '{marker}%'\")\" = {ROWS_BEHIND} ]; then echo no; \
                 else echo catching-up; fi"
            ),
        },
        change: Change::StopReplica {
            primary,
            rows: ROWS_BEHIND,
            marker: marker.into(),
        },
        alerts: None,
    }
}
