//! A lab reaches only itself. Docker lets a container reach its engine's
//! host on every address and port (the bridge's gateway, the host's own
//! address: its SSH, the Engine API when it listens on TCP) and, through
//! the host, anywhere the host routes. A lab's networks are cut off from
//! both by firewall rules on the engine's host, put there with the lab's
//! networks and removed with them: a throwaway container in the host's
//! network namespace with NET_ADMIN runs `src/shell/isolate.sh`, through
//! the Engine API, so a remote engine (TCP, TLS, SSH, a context) is
//! isolated the same way as the local one and nothing asks the user to
//! edit a firewall by hand.
//!
//! Rules rather than networks without a route: an `internal` network
//! still has its gateway's address on the host, one hop away, and a lab
//! server with NET_ADMIN (every firewalled one has it, for ufw) could route
//! to the host through it; and an internal network cannot publish the site.
//! The rules match the bridge a packet comes in on, whatever its addresses.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::CreateContainerOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;

use super::containers;
use super::engine::{fail, image_exists};
use super::exec::logs;
use super::names::{lab_labels, network_name, LABEL_LAB};
use super::DockerDriver;
use crate::driver::{Driver, Host};
use crate::error::{Error, Result};
use crate::render::plan::Plan;

/// The option naming a bridge network's interface on the host, when the
/// network was given one.
const BRIDGE_NAME: &str = "com.docker.network.bridge.name";

/// The host interface of a bridge network: the name it was given, else
/// the engine's own (`br-` and the first 12 digits of its id).
pub fn bridge_of(network: &bollard::models::Network) -> Option<String> {
    if let Some(name) = network.options.as_ref().and_then(|o| o.get(BRIDGE_NAME)) {
        return Some(name.clone());
    }
    let id = network.id.as_deref()?;
    Some(format!("br-{}", id.get(..12)?))
}

/// Cuts the lab's `bridges` off from the engine's host and from every
/// address beyond them (again, harmlessly, for bridges already cut off).
pub async fn isolate(
    docker: &Docker,
    image: &str,
    lab: &str,
    labels: HashMap<String, String>,
    bridges: &[String],
) -> Result<()> {
    let mut args = vec!["add".to_string(), lab.to_string()];
    args.extend(bridges.iter().cloned());
    run(docker, image, lab, labels, args).await
}

/// Removes every rule of the lab from the engine's host.
pub async fn release(
    docker: &Docker,
    image: &str,
    lab: &str,
    labels: HashMap<String, String>,
) -> Result<()> {
    run(
        docker,
        image,
        lab,
        labels,
        vec!["remove".to_string(), lab.to_string()],
    )
    .await
}

/// Runs the rules' script on the engine's host, to its end.
async fn run(
    docker: &Docker,
    image: &str,
    lab: &str,
    labels: HashMap<String, String>,
    args: Vec<String>,
) -> Result<()> {
    let name = format!("{lab}-isolate");
    let doing = format!("isolating lab {lab} on the engine's host");
    // One left by a run cut off.
    containers::remove(docker, &name).await?;
    let script = crate::shell::with_args(crate::shell::ISOLATE, &args);
    docker
        .create_container(
            Some(CreateContainerOptionsBuilder::new().name(&name).build()),
            ContainerCreateBody {
                image: Some(image.to_string()),
                entrypoint: Some(vec!["sh".into(), "-c".into(), script]),
                cmd: Some(vec![]),
                labels: Some(labels),
                // iptables-legacy takes the host's lock, as the engine's
                // own calls do (iptables-nft needs none).
                env: Some(vec!["XTABLES_LOCKFILE=/host-run/xtables.lock".into()]),
                host_config: Some(HostConfig {
                    network_mode: Some("host".into()),
                    cap_add: Some(vec!["NET_ADMIN".into()]),
                    binds: Some(vec!["/run:/host-run".into()]),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .map_err(fail(&doing))?;
    let ended = async {
        containers::start(docker, &name).await?;
        let mut wait = docker.wait_container(
            &name,
            None::<bollard::query_parameters::WaitContainerOptions>,
        );
        Ok::<i64, Error>(match wait.next().await {
            Some(Ok(w)) => w.status_code,
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
            Some(Err(e)) => return Err(fail(&doing)(e)),
            None => -1,
        })
    }
    .await;
    let log = match &ended {
        Ok(0) => String::new(),
        _ => logs(docker, &name, 10).await.unwrap_or_default(),
    };
    containers::remove(docker, &name).await?;
    match ended? {
        0 => Ok(()),
        code => Err(Error::failure(format!(
            "{doing}: the rules' script ended with code {code}{}",
            if log.trim().is_empty() {
                String::new()
            } else {
                format!(":\n{}", log.trim_end())
            }
        ))
        .with_hint(
            "the engine's host needs iptables (nft or legacy) in its kernel; see `docker info`",
        )),
    }
}

/// For each of lab `lab`'s `networks`, a running host on it (its
/// handle) and the network's gateway, for the host to see whether the
/// gateway refuses it; `None` where the network has no running host or no
/// gateway.
fn probes(
    lab: &str,
    networks: &[bollard::models::Network],
    hosts: &[Host],
) -> Vec<Option<(String, String)>> {
    let prefix = network_name(lab, "");
    networks
        .iter()
        .map(|n| {
            let net = n.name.as_deref().and_then(|n| n.strip_prefix(&prefix));
            let gateway = n
                .ipam
                .as_ref()
                .and_then(|i| i.config.as_ref()?.first()?.gateway.clone());
            let on = hosts.iter().find(|h| {
                h.running
                    && h.networks
                        .as_ref()
                        .is_some_and(|ns| ns.iter().any(|x| Some(x.as_str()) == net))
            });
            Some((on?.handle.clone(), gateway?))
        })
        .collect()
}

impl DockerDriver {
    /// Cuts the lab's `networks` off from the engine's host, one change of
    /// the host's rules at a time.
    pub(super) async fn isolate_networks(
        &self,
        plan: &Plan,
        networks: &[bollard::models::Network],
    ) -> Result<()> {
        let bridges: Vec<String> = networks.iter().filter_map(bridge_of).collect();
        let _rules = self.node.rules.lock().await;
        isolate(
            &self.docker,
            &plan.image,
            &plan.stack,
            lab_labels(plan),
            &bridges,
        )
        .await
    }

    /// Removes the lab's rules from the engine's host, where a node image
    /// is there to run the rules' script in (none: no lab was isolated).
    pub(super) async fn release_rules(&self) -> Result<()> {
        if let Some(image) = self.rules_image().await? {
            let _rules = self.node.rules.lock().await;
            let labels = HashMap::from([(LABEL_LAB.to_string(), self.lab.clone())]);
            release(&self.docker, &image, &self.lab, labels).await?;
        }
        Ok(())
    }

    /// Whether each of the lab's `networks` is seen cut off from the
    /// engine's host already: a running server on it finds the network's
    /// gateway refusing it as the rules do. An exec per network, where
    /// putting the rules in place again takes a container; false when it
    /// cannot tell (a network with no server running on it).
    pub(super) async fn cut_off(&self, networks: &[bollard::models::Network]) -> bool {
        let Ok(hosts) = self.hosts().await else {
            return false;
        };
        let probes = probes(&self.lab, networks, &hosts).into_iter().map(|p| async move {
            let Some((host, gateway)) = p else {
                return false;
            };
            let script = crate::shell::with_args(crate::shell::CUT_OFF, &[gateway]);
            matches!(super::exec::exec(&self.docker, &host, &script).await, Ok(o) if o.code == 0)
        });
        futures_util::future::join_all(probes)
            .await
            .into_iter()
            .all(|cut| cut)
    }

    /// A node image on the engine to run the lab's rules' script in: this
    /// version's, else any version's (a lab made by another version goes
    /// down with it). None when the engine has none: no lab was isolated
    /// there.
    async fn rules_image(&self) -> Result<Option<String>> {
        let this = crate::driver::docker::image::reference();
        if image_exists(&self.docker, &this).await? {
            return Ok(Some(this));
        }
        let images = self
            .docker
            .list_images(Some(
                bollard::query_parameters::ListImagesOptionsBuilder::new()
                    .filters(&HashMap::from([(
                        "reference".to_string(),
                        vec![format!("{}:*", crate::driver::docker::image::REPOSITORY)],
                    )]))
                    .build(),
            ))
            .await
            .map_err(fail("listing images"))?;
        Ok(images
            .into_iter()
            .find_map(|i| i.repo_tags.into_iter().next()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bridges_interface_is_its_given_name_else_the_engines() {
        let net = |json: serde_json::Value| -> bollard::models::Network {
            serde_json::from_value(json).expect("a network")
        };
        let given = net(serde_json::json!({
            "Id": "0123456789abcdef0123",
            "Options": {"com.docker.network.bridge.name": "lab0"}
        }));
        assert_eq!(bridge_of(&given).as_deref(), Some("lab0"));
        let plain = net(serde_json::json!({"Id": "0123456789abcdef0123", "Options": {}}));
        assert_eq!(bridge_of(&plain).as_deref(), Some("br-0123456789ab"));
        assert_eq!(bridge_of(&net(serde_json::json!({"Id": "short"}))), None);
        assert_eq!(bridge_of(&net(serde_json::json!({}))), None);
    }

    #[test]
    fn each_network_is_probed_from_a_running_host_on_it() {
        let nets: Vec<bollard::models::Network> = serde_json::from_value(serde_json::json!([
            {"Name": "alice-front", "IPAM": {"Config": [{"Subnet": "10.20.1.0/24", "Gateway": "10.20.1.1"}]}},
            {"Name": "alice-back", "IPAM": {"Config": [{"Subnet": "10.20.2.0/24", "Gateway": "10.20.2.1"}]}},
            {"Name": "alice-users", "IPAM": {"Config": [{"Subnet": "10.20.3.0/24"}]}}
        ]))
        .expect("networks");
        let host = |server: &str, running: bool, nets: &[&str]| Host {
            server: server.into(),
            running,
            structure: None,
            handle: format!("alice-{server}"),
            status: String::new(),
            networks: Some(nets.iter().map(|n| n.to_string()).collect()),
            services: None,
            kept: None,
        };
        let hosts = [
            host("lb-01", false, &["front", "back"]),
            host("web-01", true, &["back", "users"]),
            host("lb-02", true, &["front"]),
        ];
        assert_eq!(
            probes("alice", &nets, &hosts),
            [
                Some(("alice-lb-02".to_string(), "10.20.1.1".to_string())),
                Some(("alice-web-01".to_string(), "10.20.2.1".to_string())),
                None,
            ]
        );
        assert_eq!(probes("alice", &nets, &hosts[..1]), [None, None, None]);
    }
}
