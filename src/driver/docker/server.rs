//! A server's container, as `create` makes it: the node image with the
//! server's name, domain, capabilities and resolvers, `/run` a tmpfs, the
//! image's shared directories and the server's kept directories bound in,
//! on its first network at its address (then joined to the others), its
//! input open for the files it takes as it first starts.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig, NetworkConnectRequest, NetworkingConfig};
use bollard::query_parameters::{CreateContainerOptions, CreateContainerOptionsBuilder};

use super::containers;
use super::containers::endpoint_at;
use super::engine::fail;
use super::names::{container_name, network_name, server_labels, LABEL_LAB};
use super::DockerDriver;
use crate::error::{Error, Result};
use crate::render::plan::{Attachment, Plan, ServerPlan};

/// Set to `stdin` in a container that takes its files on its input.
const FILES_ENV: &str = "INFRACTL_FILES";

/// What the engine is asked for `server`'s container: on its `first`
/// network, with `binds`.
fn server_body(
    plan: &Plan,
    server: &ServerPlan,
    first: &Attachment,
    binds: Vec<String>,
) -> ContainerCreateBody {
    let first_net = network_name(&plan.stack, &first.network);
    ContainerCreateBody {
        image: Some(plan.image.clone()),
        hostname: Some(server.name.clone()),
        domainname: Some(plan.domain.clone()),
        labels: Some(server_labels(plan, server)),
        // Its files come on its input as it first starts
        // (`start_with_files`; src/shell/node-init.sh reads them).
        env: Some(vec![format!("{FILES_ENV}=stdin")]),
        open_stdin: Some(true),
        stdin_once: Some(true),
        attach_stdin: Some(true),
        stop_signal: Some("SIGTERM".into()),
        stop_timeout: Some(10),
        host_config: Some(HostConfig {
            network_mode: Some(first_net.clone()),
            cap_add: Some(server.capabilities.clone()),
            dns: Some(server.resolvers.clone()).filter(|r| !r.is_empty()),
            dns_search: Some(vec![plan.domain.clone()]),
            // /run is a tmpfs, as on a real host: a crash leaves
            // no stale pid files behind for the next boot.
            tmpfs: Some(HashMap::from([(
                "/run".to_string(),
                "rw,nosuid,nodev,mode=755".to_string(),
            )])),
            binds: Some(binds),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(first_net, endpoint_at(&first.address))])),
        }),
        ..Default::default()
    }
}

impl DockerDriver {
    /// Creates `server`'s container (see [`server_body`]), its kept
    /// directories' volumes made first.
    pub(super) async fn create_server(&self, plan: &Plan, server: &ServerPlan) -> Result<()> {
        let name = container_name(&plan.stack, &server.name);
        let first = server
            .networks
            .first()
            .ok_or_else(|| Error::failure(format!("server {} has no network", server.name)))?;
        let mut binds = self.shared(&plan.image).await?;
        for keep in &server.keeps {
            let volume = self.data_volume(plan, server, keep).await?;
            binds.push(format!("{volume}:{}", keep.path));
        }
        let body = server_body(plan, server, first, binds);
        self.create_named(&plan.stack, &name, body).await?;
        self.join_networks(plan, server, &name).await
    }

    /// Creates the container `name` of lab `stack`. A create sent by an
    /// `up` that was cut off can land after this `up` listed the hosts:
    /// the name is then taken by a container of ours, half made (removed
    /// and made again), or, for the moment the engine takes to make it,
    /// by none that can be inspected yet.
    async fn create_named(&self, stack: &str, name: &str, body: ContainerCreateBody) -> Result<()> {
        let doing = format!("creating container {name}");
        let options: CreateContainerOptions =
            CreateContainerOptionsBuilder::new().name(name).build();
        let mut tries = 0;
        loop {
            let created = self
                .docker
                .create_container(Some(options.clone()), body.clone())
                .await;
            let conflict = matches!(
                created,
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 409,
                    ..
                })
            );
            tries += 1;
            if !conflict || tries > 50 {
                created.map_err(fail(&doing))?;
                return Ok(());
            }
            match self.owner_of(name).await {
                Some(owner) if owner == stack => containers::remove(&self.docker, name).await?,
                Some(_) => {
                    created.map_err(fail(&doing))?;
                }
                None => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
    }

    /// Joins the container `name` to `server`'s networks after its first,
    /// each at its address.
    async fn join_networks(&self, plan: &Plan, server: &ServerPlan, name: &str) -> Result<()> {
        for att in server.networks.iter().skip(1) {
            let net = network_name(&plan.stack, &att.network);
            self.docker
                .connect_network(
                    &net,
                    NetworkConnectRequest {
                        container: Some(name.to_string()),
                        endpoint_config: Some(endpoint_at(&att.address)),
                    },
                )
                .await
                .map_err(fail(&format!("connecting {name} to {net}")))?;
        }
        Ok(())
    }

    /// The lab label of the container `name` (empty when it has none);
    /// `None` when no container of that name can be inspected.
    async fn owner_of(&self, name: &str) -> Option<String> {
        let c = self
            .docker
            .inspect_container(
                name,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .ok()?;
        Some(
            c.config
                .and_then(|c| c.labels?.get(LABEL_LAB).cloned())
                .unwrap_or_default(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::docker::names::{LABEL_SERVER, LABEL_STACK};

    #[test]
    fn a_servers_container_is_made_as_the_plan_says() {
        let plan = crate::driver::docker::names::tests::plan("alice", "task1");
        let mut server = ServerPlan::new("db-01");
        server.capabilities = vec!["NET_ADMIN".into()];
        server.resolvers = vec!["10.20.1.53".into()];
        let first = Attachment {
            network: "back".into(),
            address: "10.20.2.10".into(),
        };
        let binds = vec!["alice-db-01-mysql:/var/lib/mysql".to_string()];
        let body = server_body(&plan, &server, &first, binds.clone());
        assert_eq!(body.image.as_deref(), Some("infractl/node:test"));
        assert_eq!(body.hostname.as_deref(), Some("db-01"));
        assert_eq!(body.domainname.as_deref(), Some("lab.test"));
        assert_eq!(body.env, Some(vec!["INFRACTL_FILES=stdin".to_string()]));
        assert_eq!(
            (body.open_stdin, body.stdin_once, body.attach_stdin),
            (Some(true), Some(true), Some(true))
        );
        let labels = body.labels.expect("labels");
        assert_eq!(labels[LABEL_LAB], "alice");
        assert_eq!(labels[LABEL_STACK], "task1");
        assert_eq!(labels[LABEL_SERVER], "db-01");
        let host = body.host_config.expect("host config");
        assert_eq!(host.network_mode.as_deref(), Some("alice-back"));
        assert_eq!(host.cap_add, Some(vec!["NET_ADMIN".to_string()]));
        assert_eq!(host.dns, Some(vec!["10.20.1.53".to_string()]));
        assert_eq!(host.dns_search, Some(vec!["lab.test".to_string()]));
        assert_eq!(host.binds, Some(binds));
        assert!(host.tmpfs.expect("tmpfs").contains_key("/run"));
        let endpoints = body
            .networking_config
            .and_then(|n| n.endpoints_config)
            .expect("endpoints");
        assert_eq!(endpoints.len(), 1);
        let address = endpoints["alice-back"]
            .ipam_config
            .as_ref()
            .and_then(|i| i.ipv4_address.as_deref());
        assert_eq!(address, Some("10.20.2.10"));
        // No resolvers of its own: the engine's.
        server.resolvers.clear();
        let body = server_body(&plan, &server, &first, vec![]);
        assert_eq!(body.host_config.and_then(|h| h.dns), None);
    }
}
