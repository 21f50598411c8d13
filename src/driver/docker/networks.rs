//! A lab's networks on the engine: one bridge per stack network
//! (`<lab>-<net>`, on the stack's subnet and gateway), made by `prepare`
//! (made anew when its subnet changed), each container's address on them,
//! and their removal with the lab, past the endpoints an engine can hold
//! on to. Cutting them off from the engine's host is [`super::isolate`]'s.

use bollard::models::{Ipam, IpamConfig, Network, NetworkCreateRequest};
use bollard::query_parameters::ListNetworksOptionsBuilder;
use bollard::Docker;
use futures_util::future::try_join_all;

use super::containers;
use super::engine::fail;
use super::names::{lab_labels, label_filter, network_name};
use super::{DockerDriver, STOP_SECONDS};
use crate::error::{Error, Result};
use crate::render::plan::{NetworkPlan, Plan};

/// A network's (first) subnet.
fn subnet_of(n: &Network) -> Option<&str> {
    n.ipam.as_ref()?.config.as_ref()?.first()?.subnet.as_deref()
}

/// What the engine is asked for the lab's network `net`, named `name`: a
/// bridge on its subnet and gateway, labelled with the lab.
fn network_request(plan: &Plan, net: &NetworkPlan, name: &str) -> NetworkCreateRequest {
    NetworkCreateRequest {
        name: name.to_string(),
        driver: Some("bridge".into()),
        ipam: Some(Ipam {
            driver: Some("default".into()),
            config: Some(vec![IpamConfig {
                subnet: Some(net.subnet.clone()),
                gateway: Some(net.gateway.clone()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        labels: Some(lab_labels(plan)),
        ..Default::default()
    }
}

/// The network `name` on `subnet` could not be made: the engine's words,
/// and what to do (another network takes the subnet, most often).
fn creating_failed(name: &str, subnet: &str, msg: String) -> Error {
    let hint = if msg.contains("overlap") {
        format!(
            "another network on this engine uses {subnet}; change the stack's subnet, or remove that network"
        )
    } else {
        "see `docker network ls`".to_string()
    };
    Error::failure(format!("creating network {name} ({subnet}): {msg}")).with_hint(hint)
}

impl DockerDriver {
    /// The lab's networks on the engine.
    pub(super) async fn lab_networks(&self) -> Result<Vec<Network>> {
        self.docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::new()
                    .filters(&label_filter(&self.lab))
                    .build(),
            ))
            .await
            .map_err(fail("listing networks"))
    }

    /// Makes the plan's networks that are not there, or not on their
    /// subnet, then cuts them off from the engine's host (unless every
    /// one was there already, cut off by an earlier `up`).
    pub(super) async fn prepare_networks(&self, plan: &Plan) -> Result<()> {
        let existing = self.lab_networks().await?;
        // Whether every network was there already, cut off by an earlier
        // `up` (unless something removed the rules since).
        let mut kept = true;
        for net in &plan.networks {
            kept &= self.ensure_network(plan, net, &existing).await?;
        }
        // Cut off from the host before any server starts.
        // The list read above, unless a network was made since.
        let networks = if kept {
            existing
        } else {
            self.lab_networks().await?
        };
        if kept && self.cut_off(&networks).await {
            return Ok(());
        }
        self.isolate_networks(plan, &networks).await
    }

    /// Makes sure the lab's network `net` is there on its subnet (among
    /// `existing`): whether it was already.
    async fn ensure_network(
        &self,
        plan: &Plan,
        net: &NetworkPlan,
        existing: &[Network],
    ) -> Result<bool> {
        let name = network_name(&plan.stack, &net.name);
        let found = existing
            .iter()
            .find(|n| n.name.as_deref() == Some(name.as_str()));
        if let Some(n) = found {
            if subnet_of(n) == Some(net.subnet.as_str()) {
                return Ok(true);
            }
            // The subnet changed: the network is made anew (its
            // containers are recreated too, their structure changed).
            self.clear_network(n, &name).await?;
        }
        let created = self
            .docker
            .create_network(network_request(plan, net, &name))
            .await;
        // A create sent by an `up` that was cut off may have landed
        // since the list above: then the network is there, as planned.
        if created.is_err() && self.has_network(&plan.stack, &name, &net.subnet).await {
            return Ok(false);
        }
        created.map_err(|e| creating_failed(&name, &net.subnet, e.to_string()))?;
        Ok(false)
    }

    /// Removes the network `n` (named `name`) and its containers, these
    /// stopped cleanly first: their data is kept.
    async fn clear_network(&self, n: &Network, name: &str) -> Result<()> {
        let on: Vec<String> = n
            .containers
            .clone()
            .unwrap_or_default()
            .into_keys()
            .collect();
        self.leave_networks(&on).await?;
        try_join_all(
            on.iter()
                .map(|c| containers::stop(&self.docker, c, STOP_SECONDS)),
        )
        .await?;
        for c in &on {
            containers::remove(&self.docker, c).await?;
        }
        remove_network(&self.docker, name, &on).await
    }

    /// Takes each container of `names` off every network it is on, one
    /// after another in the lab's turn, so that stopping or removing them
    /// next, side by side, leaves no network: each leave of a network
    /// changes the engine's count of its endpoints, and two at once can be
    /// miscounted as two joins can (see [`containers::StartTurn`]; 11
    /// containers on two networks removed side by side left a network the
    /// engine would never let go in 1 of 13 rounds). A container gone is
    /// passed over.
    pub(super) async fn leave_networks(&self, names: &[String]) -> Result<()> {
        let turn = self.start_turn();
        let _turn = turn.lock().await;
        for name in names {
            let Some(c) = super::engine::inspect(&self.docker, name).await? else {
                continue;
            };
            let on = c
                .network_settings
                .and_then(|n| n.networks)
                .unwrap_or_default();
            for network in on.keys() {
                disconnect(&self.docker, network, name).await?;
            }
        }
        Ok(())
    }

    /// Whether the stack's network `name` exists with `subnet`.
    async fn has_network(&self, stack: &str, name: &str, subnet: &str) -> bool {
        let Ok(list) = self
            .docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::new()
                    .filters(&label_filter(stack))
                    .build(),
            ))
            .await
        else {
            return false;
        };
        list.iter()
            .any(|n| n.name.as_deref() == Some(name) && subnet_of(n) == Some(subnet))
    }

    /// Removes every network of the lab (its containers gone, `known`
    /// naming those that were on them); their names.
    pub(super) async fn remove_lab_networks(&self, known: &[String]) -> Result<Vec<String>> {
        let mut networks = Vec::new();
        for n in self.lab_networks().await? {
            let Some(name) = n.name else { continue };
            remove_network(&self.docker, &name, known).await?;
            networks.push(name);
        }
        Ok(networks)
    }
}

/// Removes a network whose containers are gone.
///
/// The engine can keep an endpoint of a container that is already removed
/// (a create or connect it finished after its client died, or a removal
/// it has not yet released). Such an endpoint blocks the removal with
/// "active endpoints" for good; a forced disconnect by the endpoint's name
/// deletes it, which is what `docker network disconnect -f` does. `known`
/// names the containers that were on the network, in case the engine no
/// longer lists the stale endpoint.
pub async fn remove_network(docker: &Docker, name: &str, known: &[String]) -> Result<()> {
    let started = std::time::Instant::now();
    let mut tries = 0;
    loop {
        let e = match docker.remove_network(name).await {
            Ok(()) => return Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => return Ok(()),
            Err(e) => e,
        };
        if !e.to_string().contains("active endpoints") {
            return Err(Error::failure(format!("removing network {name}: {e}")));
        }
        tries += 1;
        // An engine removing many containers at once (a class going down)
        // was seen to hold one endpoint for more than 18 s, then let go.
        if started.elapsed() > std::time::Duration::from_secs(60) {
            let held = endpoints_on(docker, name).await;
            let hint = held_hint(name, held.first().map(String::as_str));
            return Err(Error::failure(format!("removing network {name}: {e}")).with_hint(hint));
        }
        if tries > 3 {
            disconnect_stale(docker, name, known).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100 * tries.min(5))).await;
    }
}

/// The endpoints the network `name` lists (their names, else their ids);
/// none when it cannot be inspected.
async fn endpoints_on(docker: &Docker, name: &str) -> Vec<String> {
    docker
        .inspect_network(
            name,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
        .map(|n| {
            n.containers
                .unwrap_or_default()
                .into_iter()
                .map(|(id, ep)| ep.name.unwrap_or(id))
                .collect()
        })
        .unwrap_or_default()
}

/// What to do about a network the engine will not let go: the endpoint
/// it still holds, `held`, disconnected by force; or, where it lists none
/// yet counts one (moby/moby#42119: nothing names it), a restart of the
/// engine.
fn held_hint(name: &str, held: Option<&str>) -> String {
    match held {
        Some(ep) => format!(
            "every container of the lab is gone but the engine still holds an endpoint on this network: `docker network disconnect -f {name} {ep}` removes it; then `down` again finishes"
        ),
        None => "every container of the lab is gone and the network lists no endpoint, yet the engine counts one (a known engine fault, moby/moby#42119): only restarting the engine lets the network go; then `down` again finishes".to_string(),
    }
}

/// Disconnects by force, from the network `name`, every container `known`
/// to have been on it and every endpoint it lists.
async fn disconnect_stale(docker: &Docker, name: &str, known: &[String]) {
    let mut stale: Vec<String> = known.to_vec();
    stale.extend(endpoints_on(docker, name).await);
    for c in stale {
        // Errors are expected: most names have no endpoint left.
        let _ = disconnect(docker, name, &c).await;
    }
}

/// Disconnects the container `container` from the network `network`, by
/// force; one or the other gone is no error.
async fn disconnect(docker: &Docker, network: &str, container: &str) -> Result<()> {
    match docker
        .disconnect_network(
            network,
            bollard::models::NetworkDisconnectRequest {
                container: Some(container.to_string()),
                force: Some(true),
            },
        )
        .await
    {
        Ok(())
        | Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(fail(&format!("taking {container} off {network}"))(e)),
    }
}
