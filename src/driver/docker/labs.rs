//! One Docker engine as the commands about every lab see it
//! ([`DockerEngine`]): the labs on it (read from its containers' labels),
//! their hosts, the subnets its networks take, its machine's memory, and a
//! driver for each lab. The engine's answers are read into infractl's
//! words here, by pure functions.

use std::collections::HashMap;
use std::sync::Arc;

use bollard::models::{ContainerSummary, ContainerSummaryStateEnum, Network};
use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::Docker;

use super::endpoint::Endpoint;
use super::engine::fail;
use super::names::{
    container_name, network_name, LABEL_LAB, LABEL_SERVER, LABEL_STACK, LABEL_STRUCTURE,
};
use super::volumes::kept_mounts;
use super::{DockerDriver, NodeFacts};
use crate::driver::{Driver, Host, LabOnEngine};
use crate::error::Result;

/// One Docker engine: the labs on it, and a driver for each.
#[derive(Clone)]
pub struct DockerEngine {
    pub docker: Docker,
    /// Where it is reached (`unix:///var/run/docker.sock`, `tcp://...`).
    pub endpoint: Endpoint,
    pub(super) node: Arc<NodeFacts>,
}

impl DockerEngine {
    /// Connects to the engine at `endpoint`.
    pub async fn connect(endpoint: Endpoint) -> Result<Self> {
        Ok(DockerEngine {
            docker: endpoint.connect().await?,
            node: NodeFacts::of(&endpoint),
            endpoint,
        })
    }

    /// The memory of the engine's machine, in MB.
    pub async fn memory_mb(&self) -> Result<u64> {
        let info = self
            .docker
            .info()
            .await
            .map_err(fail("asking the engine about its machine"))?;
        Ok(info.mem_total.unwrap_or(0).max(0) as u64 / 1_000_000)
    }

    /// Where the engine is, as tables show it.
    pub fn address(&self) -> String {
        self.endpoint.to_string()
    }

    /// A driver for `lab` on this engine; several live side by side.
    pub fn lab(&self, lab: &str) -> DockerDriver {
        DockerDriver {
            docker: self.docker.clone(),
            endpoint: self.endpoint.clone(),
            lab: lab.to_string(),
            node: self.node.clone(),
        }
    }

    /// The labs that have containers on this engine, each with the stack
    /// it runs and its hosts.
    pub async fn labs(&self) -> Result<Vec<LabOnEngine>> {
        let mut labs = Vec::new();
        for (lab, stack) in self.lab_names().await? {
            let hosts = self.lab(&lab).hosts().await?;
            labs.push(LabOnEngine { lab, stack, hosts });
        }
        Ok(labs)
    }

    /// The subnets of this engine's networks, each with the lab it
    /// belongs to (none for a network of no lab): what a lab's networks
    /// must not overlap, but for its own.
    pub async fn subnets_in_use(&self) -> Result<Vec<(Option<String>, crate::stack::Subnet)>> {
        let nets = self
            .docker
            .list_networks(None::<bollard::query_parameters::ListNetworksOptions>)
            .await
            .map_err(fail("listing networks"))?;
        Ok(subnets_of(&nets))
    }

    /// Names of the labs that have containers on this engine, with their
    /// stacks.
    async fn lab_names(&self) -> Result<Vec<(String, String)>> {
        let list = self
            .docker
            .list_containers(Some(
                ListContainersOptionsBuilder::new()
                    .all(true)
                    .filters(&HashMap::from([(
                        "label".to_string(),
                        vec![LABEL_LAB.to_string()],
                    )]))
                    .build(),
            ))
            .await
            .map_err(fail("listing containers"))?;
        Ok(lab_names_of(list))
    }
}

/// Each subnet of `nets`, with the lab its network belongs to.
fn subnets_of(nets: &[Network]) -> Vec<(Option<String>, crate::stack::Subnet)> {
    nets.iter()
        .flat_map(|n| {
            let lab = n.labels.as_ref().and_then(|l| l.get(LABEL_LAB)).cloned();
            n.ipam
                .iter()
                .flat_map(|i| i.config.iter().flatten())
                .filter_map(move |c| Some((lab.clone(), c.subnet.as_deref()?.parse().ok()?)))
        })
        .collect()
}

/// The labs (with their stacks) the labels of `containers` name, sorted,
/// each once.
fn lab_names_of(containers: Vec<ContainerSummary>) -> Vec<(String, String)> {
    let mut names: Vec<(String, String)> = containers
        .into_iter()
        .filter_map(|c| {
            let labels = c.labels?;
            let lab = labels.get(LABEL_LAB)?.clone();
            let stack = labels.get(LABEL_STACK).cloned().unwrap_or_default();
            Some((lab, stack))
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The host a container of lab `stack` is, if it is a server's (the
/// lab's helpers carry no server label).
pub(super) fn host_of(stack: &str, c: ContainerSummary) -> Option<Host> {
    let labels = c.labels.unwrap_or_default();
    let server = labels.get(LABEL_SERVER)?.clone();
    let running = matches!(c.state, Some(ContainerSummaryStateEnum::RUNNING));
    let prefix = network_name(stack, "");
    let kept = kept_mounts(
        &container_name(stack, &server),
        c.mounts.as_deref().unwrap_or_default(),
    );
    let networks = c.network_settings.and_then(|n| n.networks).map(|n| {
        n.into_keys()
            .filter_map(|k| k.strip_prefix(&prefix).map(str::to_string))
            .collect()
    });
    Some(Host {
        handle: container_name(stack, &server),
        services: None,
        kept: Some(kept),
        networks,
        server,
        running,
        structure: labels.get(LABEL_STRUCTURE).cloned(),
        status: c.status.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A container as the engine lists it (`GET /containers/json`).
    fn summary(json: serde_json::Value) -> ContainerSummary {
        serde_json::from_value(json).expect("a container summary")
    }

    #[test]
    fn a_servers_container_is_read_into_a_host() {
        let c = summary(serde_json::json!({
            "Names": ["/alice-db-01"],
            "State": "running",
            "Status": "Up 3 minutes",
            "Labels": {
                "io.infractl.lab": "alice",
                "io.infractl.server": "db-01",
                "io.infractl.structure": "s1"
            },
            "Mounts": [
                {"Name": "alice-db-01-data", "Destination": "/var/lib/mysql"},
                {"Name": "infractl-usr-0123456789ab-bin", "Destination": "/usr/bin"},
                {"Name": "alice-db-01-usr", "Destination": "/usr/share/x"}
            ],
            "NetworkSettings": {"Networks": {"alice-back": {}, "alice-front": {}, "bridge": {}}}
        }));
        let host = host_of("alice", c).expect("a server's");
        assert_eq!(host.server, "db-01");
        assert_eq!(host.handle, "alice-db-01");
        assert!(host.running);
        assert_eq!(host.status, "Up 3 minutes");
        assert_eq!(host.structure.as_deref(), Some("s1"));
        assert_eq!(host.kept, Some(vec!["/var/lib/mysql".to_string()]));
        let mut networks = host.networks.expect("listed");
        networks.sort();
        assert_eq!(networks, ["back", "front"]);
        assert!(host.services.is_none());
    }

    #[test]
    fn a_stopped_container_unlisted_networks_and_helpers() {
        let stopped = summary(serde_json::json!({
            "State": "exited",
            "Labels": {"io.infractl.lab": "alice", "io.infractl.server": "web-01"}
        }));
        let host = host_of("alice", stopped).expect("a server's");
        assert!(!host.running);
        assert_eq!(host.networks, None);
        assert_eq!(host.kept, Some(vec![]));
        assert_eq!(host.structure, None);
        assert_eq!(host.status, "");
        // The lab's forwarder or stranger: no server.
        let helper = summary(serde_json::json!({
            "State": "running",
            "Labels": {"io.infractl.lab": "alice"}
        }));
        assert!(host_of("alice", helper).is_none());
    }

    #[test]
    fn the_labs_on_an_engine_are_read_from_its_containers_labels() {
        let c = |lab: &str, stack: Option<&str>| {
            let mut labels = serde_json::json!({"io.infractl.lab": lab});
            if let Some(s) = stack {
                labels["io.infractl.stack"] = s.into();
            }
            summary(serde_json::json!({ "Labels": labels }))
        };
        let names = lab_names_of(vec![
            c("bob", Some("task1")),
            c("alice", Some("task3")),
            c("bob", Some("task1")),
            c("old", None),
            summary(serde_json::json!({})),
        ]);
        assert_eq!(
            names,
            [
                ("alice".to_string(), "task3".to_string()),
                ("bob".to_string(), "task1".to_string()),
                ("old".to_string(), String::new()),
            ]
        );
    }

    #[test]
    fn the_subnets_in_use_name_their_lab() {
        let nets: Vec<Network> = serde_json::from_value(serde_json::json!([
            {
                "Name": "alice-front",
                "Labels": {"io.infractl.lab": "alice"},
                "IPAM": {"Config": [{"Subnet": "10.20.1.0/24", "Gateway": "10.20.1.1"}]}
            },
            {"Name": "bridge", "IPAM": {"Config": [{"Subnet": "172.17.0.0/16"}, {"Subnet": "fd00::/64"}]}},
            {"Name": "none", "IPAM": {"Config": []}}
        ]))
        .expect("networks");
        let subnets: Vec<(Option<String>, String)> = subnets_of(&nets)
            .into_iter()
            .map(|(lab, s)| (lab, s.to_string()))
            .collect();
        assert_eq!(
            subnets,
            [
                (Some("alice".to_string()), "10.20.1.0/24".to_string()),
                (None, "172.17.0.0/16".to_string()),
            ]
        );
    }
}
