//! How the Docker backend names and labels what it makes: containers
//! `<lab>-<server>`, networks `<lab>-<net>`, volumes
//! `<lab>-<server>-<name>`, every object labelled with its lab
//! (`io.infractl.lab`) and its stack, a server's container with its
//! server, roles and hashes, a kept volume with what it keeps. The labels
//! are what `down` and `status` go by; the names are what people see.

use std::collections::HashMap;

use crate::render::plan::{Keep, Plan, ServerPlan};

/// The lab an object belongs to: what `down` removes by.
pub const LABEL_LAB: &str = "io.infractl.lab";
/// The stack the lab runs (its own name).
pub const LABEL_STACK: &str = "io.infractl.stack";
/// Label on the throwaway containers `infractl validate` starts.
pub const LABEL_CHECK: &str = "io.infractl.check";
pub const LABEL_SERVER: &str = "io.infractl.server";
pub const LABEL_ROLES: &str = "io.infractl.roles";
pub const LABEL_PLAN: &str = "io.infractl.plan-hash";
pub const LABEL_STRUCTURE: &str = "io.infractl.structure";
/// On a server's data volume: the directory it is mounted on, what it
/// holds (for people) and whose data it is (`plan::Keep`).
pub const LABEL_PATH: &str = "io.infractl.path";
pub const LABEL_WHAT: &str = "io.infractl.what";
pub const LABEL_HOLDS: &str = "io.infractl.holds";

/// The container of `server` in lab `stack`: `<stack>-<server>`.
pub fn container_name(stack: &str, server: &str) -> String {
    format!("{stack}-{server}")
}

/// The network `net` of lab `stack`: `<stack>-<net>`.
pub fn network_name(stack: &str, net: &str) -> String {
    format!("{stack}-{net}")
}

/// The volume holding what `server` keeps in a directory (see
/// `plan::Keep`): `<lab>-<server>-<name>`.
pub fn volume_name(lab: &str, server: &str, name: &str) -> String {
    format!("{lab}-{server}-{name}")
}

/// The engine's list filter keeping the objects of `lab`.
pub fn label_filter(lab: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![format!("{LABEL_LAB}={lab}")])])
}

/// The labels naming the lab and its stack, on everything of the lab.
pub fn lab_labels(plan: &Plan) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_LAB.to_string(), plan.stack.clone()),
        (LABEL_STACK.to_string(), plan.origin.clone()),
    ])
}

/// The labels of `server`'s container: the lab's, and its server, roles,
/// plan hash and structure hash.
pub fn server_labels(plan: &Plan, server: &ServerPlan) -> HashMap<String, String> {
    let mut labels = lab_labels(plan);
    labels.extend([
        (LABEL_SERVER.to_string(), server.name.clone()),
        (LABEL_ROLES.to_string(), server.roles.join(",")),
        (LABEL_PLAN.to_string(), server.hash.clone()),
        (
            LABEL_STRUCTURE.to_string(),
            server.structure_hash(&plan.image),
        ),
    ]);
    labels
}

/// The labels of the volume keeping `keep` of `server`: the lab's, and
/// its server, directory, what it holds and whose data it is.
pub fn volume_labels(plan: &Plan, server: &ServerPlan, keep: &Keep) -> HashMap<String, String> {
    let mut labels = lab_labels(plan);
    labels.extend([
        (LABEL_SERVER.to_string(), server.name.clone()),
        (LABEL_PATH.to_string(), keep.path.clone()),
        (LABEL_WHAT.to_string(), keep.what.clone()),
        (LABEL_HOLDS.to_string(), keep.holds.clone()),
    ]);
    labels
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A plan of lab `lab` running stack `stack`, with no servers.
    pub(in crate::driver::docker) fn plan(lab: &str, stack: &str) -> Plan {
        Plan {
            stack: lab.into(),
            origin: stack.into(),
            image: "infractl/node:test".into(),
            domain: "lab.test".into(),
            networks: vec![],
            servers: vec![],
            order: vec![],
            rolling: vec![],
            hash: String::new(),
        }
    }

    #[test]
    fn objects_are_named_after_their_lab() {
        assert_eq!(container_name("alice", "web-01"), "alice-web-01");
        assert_eq!(network_name("alice", "dmz"), "alice-dmz");
        assert_eq!(network_name("alice", ""), "alice-");
        assert_eq!(volume_name("alice", "db-01", "data"), "alice-db-01-data");
        assert_eq!(
            label_filter("alice"),
            HashMap::from([(
                "label".to_string(),
                vec!["io.infractl.lab=alice".to_string()]
            )])
        );
    }

    #[test]
    fn a_labs_objects_carry_the_lab_and_the_stack_it_runs() {
        let plan = plan("alice", "task1");
        let lab = lab_labels(&plan);
        assert_eq!(lab.len(), 2);
        assert_eq!(lab[LABEL_LAB], "alice");
        assert_eq!(lab[LABEL_STACK], "task1");

        let mut server = ServerPlan::new("db-01");
        server.roles = vec!["db".into(), "primary".into()];
        server.hash = "abc".into();
        let labels = server_labels(&plan, &server);
        assert_eq!(labels[LABEL_LAB], "alice");
        assert_eq!(labels[LABEL_SERVER], "db-01");
        assert_eq!(labels[LABEL_ROLES], "db,primary");
        assert_eq!(labels[LABEL_PLAN], "abc");
        assert_eq!(
            labels[LABEL_STRUCTURE],
            server.structure_hash("infractl/node:test")
        );

        let keep = Keep {
            name: "data".into(),
            path: "/var/lib/mysql".into(),
            what: "database".into(),
            holds: "db-01".into(),
            follows: None,
        };
        let labels = volume_labels(&plan, &server, &keep);
        assert_eq!(labels.len(), 6);
        assert_eq!(labels[LABEL_STACK], "task1");
        assert_eq!(labels[LABEL_SERVER], "db-01");
        assert_eq!(labels[LABEL_PATH], "/var/lib/mysql");
        assert_eq!(labels[LABEL_WHAT], "database");
        assert_eq!(labels[LABEL_HOLDS], "db-01");
    }
}
