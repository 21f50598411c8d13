//! A container's life on the engine: created (a throwaway one for checks
//! and helpers), started in its lab's turn (see [`StartTurn`]), fed its
//! files on its input as it starts, stopped, killed and released from its
//! networks, removed.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, HostConfig, NetworkingConfig,
};
use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use bollard::Docker;

use super::engine::{fail, inspect};
use crate::error::{Error, Result};

/// Where a throwaway container is attached: the engine's default bridge
/// (an interface like a server's; nothing is sent), or a network at a
/// given address.
pub enum Attach<'a> {
    Bridge,
    At { network: &'a str, address: &'a str },
}

impl Attach<'_> {
    /// The container's network mode, and its endpoint where it has one.
    fn settings(&self) -> (String, Option<NetworkingConfig>) {
        match *self {
            Attach::Bridge => ("bridge".to_string(), None),
            Attach::At { network, address } => (
                network.to_string(),
                Some(NetworkingConfig {
                    endpoints_config: Some(HashMap::from([(
                        network.to_string(),
                        endpoint_at(address),
                    )])),
                }),
            ),
        }
    }
}

/// Starts a throwaway container of `image`, attached as `attach`. It
/// removes itself after ten minutes should its creator die before
/// removing it.
pub async fn run_scratch(
    docker: &Docker,
    image: &str,
    name: &str,
    labels: HashMap<String, String>,
    attach: Attach<'_>,
    turn: Option<&StartTurn>,
) -> Result<()> {
    let doing = format!("starting container {name}");
    let (network_mode, networking_config) = attach.settings();
    docker
        .create_container(
            Some(CreateContainerOptionsBuilder::new().name(name).build()),
            ContainerCreateBody {
                image: Some(image.to_string()),
                entrypoint: Some(vec!["sleep".into(), "600".into()]),
                cmd: Some(vec![]),
                labels: Some(labels),
                host_config: Some(HostConfig {
                    network_mode: Some(network_mode),
                    auto_remove: Some(true),
                    ..Default::default()
                }),
                networking_config,
                ..Default::default()
            },
        )
        .await
        .map_err(fail(&doing))?;
    match turn {
        Some(turn) => start_in_turn(docker, name, turn).await,
        None => start(docker, name).await,
    }
}

/// A lab's turn to join or leave its networks: one start, kill, stop,
/// removal or disconnection at a time per lab.
///
/// Starting a container joins it to its networks, and the engine (20.10)
/// counts each network's endpoints in its store, changing a cached object
/// in place and, when another change wrote first, reloading it and trying
/// again: two joins (or leaves) of one network at the same moment can be
/// counted wrong. A network whose count stays above zero once its
/// containers are gone can never be removed until the engine restarts
/// (moby/moby#42119). A lab's containers share its networks, so they
/// join and leave them one after another; labs, each on networks of its
/// own, side by side.
pub type StartTurn = std::sync::Arc<tokio::sync::Mutex<()>>;

/// Starts the container `name` once it is the lab's turn (see
/// [`StartTurn`]).
pub async fn start_in_turn(docker: &Docker, name: &str, turn: &StartTurn) -> Result<()> {
    let _turn = turn.lock().await;
    start(docker, name).await
}

/// Starts the container `name`.
pub async fn start(docker: &Docker, name: &str) -> Result<()> {
    docker
        .start_container(
            name,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .map_err(fail(&format!("starting container {name}")))
}

/// Starts the container `name` with `input` on its input (it must be
/// created with stdin open, once): attached before the start, so nothing
/// it reads is lost, then closed.
pub async fn start_feeding(
    docker: &Docker,
    name: &str,
    input: &[u8],
    turn: &StartTurn,
) -> Result<()> {
    use tokio::io::AsyncWriteExt;
    let doing = format!("starting container {name}");
    let mut attached = docker
        .attach_container(
            name,
            Some(
                bollard::query_parameters::AttachContainerOptionsBuilder::new()
                    .stdin(true)
                    .stream(true)
                    .build(),
            ),
        )
        .await
        .map_err(fail(&doing))?;
    start_in_turn(docker, name, turn).await?;
    let sent = async {
        attached.input.write_all(input).await?;
        attached.input.flush().await?;
        attached.input.shutdown().await
    };
    sent.await
        .map_err(|e| Error::failure(format!("{doing}: sending its files on its input: {e}")))
}

/// Stops the container `name` cleanly: its init stops its services, and
/// is killed after `seconds`. A container stopped already or gone is fine.
pub async fn stop(docker: &Docker, name: &str, seconds: i32) -> Result<()> {
    match docker
        .stop_container(
            name,
            Some(
                bollard::query_parameters::StopContainerOptionsBuilder::new()
                    .t(seconds)
                    .build(),
            ),
        )
        .await
    {
        Ok(())
        | Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304 | 404,
            ..
        }) => Ok(()),
        Err(e) => Err(Error::failure(format!("stopping container {name}: {e}"))),
    }
}

/// Waits until the container `name` has stopped and the engine has left
/// every network of it (no endpoint id left in its settings); a container
/// gone is released too. Gives up after 10 s, saying so.
pub async fn until_released(docker: &Docker, name: &str) -> Result<()> {
    let started = std::time::Instant::now();
    loop {
        let Some(c) = inspect(docker, name).await? else {
            return Ok(());
        };
        let Some(held) = holding(&c) else {
            return Ok(());
        };
        if started.elapsed() > std::time::Duration::from_secs(10) {
            return Err(Error::failure(format!(
                "container {name}: still {held} 10 s after it was killed"
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The host port the container `name` publishes its `port` on, if any.
pub async fn published_port(docker: &Docker, name: &str, port: u16) -> Result<Option<u16>> {
    let Some(c) = inspect(docker, name).await? else {
        return Ok(None);
    };
    Ok(host_port_of(&c, port))
}

/// The host port `c` publishes its `port` (TCP) on, if any.
pub(super) fn host_port_of(c: &ContainerInspectResponse, port: u16) -> Option<u16> {
    c.network_settings
        .as_ref()
        .and_then(|n| n.ports.as_ref())
        .and_then(|p| p.get(&format!("{port}/tcp")).cloned().flatten())
        .and_then(|b| b.first()?.host_port.as_deref()?.parse().ok())
}

/// What still holds the container `c` (`running`, or `on its networks`:
/// an endpoint id left in its settings); `None` once it is released.
fn holding(c: &ContainerInspectResponse) -> Option<&'static str> {
    let running = c.state.as_ref().and_then(|s| s.running).unwrap_or(false);
    let joined = c
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .is_some_and(|n| {
            n.values()
                .any(|e| e.endpoint_id.as_deref().is_some_and(|id| !id.is_empty()))
        });
    if running {
        Some("running")
    } else if joined {
        Some("on its networks")
    } else {
        None
    }
}

/// Removes a container and its anonymous volumes, running or not.
pub async fn remove(docker: &Docker, name: &str) -> Result<()> {
    match docker
        .remove_container(
            name,
            Some(
                RemoveContainerOptionsBuilder::new()
                    .force(true)
                    .v(true)
                    .build(),
            ),
        )
        .await
    {
        Ok(()) => Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(Error::failure(format!("removing container {name}: {e}"))),
    }
}

/// A container's endpoint on a network, at `address`.
pub fn endpoint_at(address: &str) -> bollard::models::EndpointSettings {
    bollard::models::EndpointSettings {
        ipam_config: Some(bollard::models::EndpointIpamConfig {
            ipv4_address: Some(address.to_string()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A container as the engine describes it (`GET /containers/{id}/json`).
    fn inspected(json: serde_json::Value) -> ContainerInspectResponse {
        serde_json::from_value(json).expect("an inspection")
    }

    #[test]
    fn a_container_is_released_once_stopped_and_off_its_networks() {
        let c = |running: bool, endpoint: &str| {
            inspected(serde_json::json!({
                "State": {"Running": running},
                "NetworkSettings": {"Networks": {
                    "alice-front": {"EndpointID": endpoint},
                    "alice-back": {"EndpointID": ""}
                }}
            }))
        };
        assert_eq!(holding(&c(true, "")), Some("running"));
        assert_eq!(holding(&c(true, "ep1")), Some("running"));
        assert_eq!(holding(&c(false, "ep1")), Some("on its networks"));
        assert_eq!(holding(&c(false, "")), None);
        assert_eq!(holding(&inspected(serde_json::json!({}))), None);
    }

    #[test]
    fn the_host_port_is_the_first_binding_of_the_tcp_port() {
        let c = inspected(serde_json::json!({
            "NetworkSettings": {"Ports": {
                "443/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8443"}, {"HostIp": "::", "HostPort": "8444"}],
                "80/tcp": null,
                "53/udp": [{"HostIp": "0.0.0.0", "HostPort": "5353"}]
            }}
        }));
        assert_eq!(host_port_of(&c, 443), Some(8443));
        assert_eq!(host_port_of(&c, 80), None);
        assert_eq!(host_port_of(&c, 53), None);
        assert_eq!(host_port_of(&inspected(serde_json::json!({})), 443), None);
    }

    #[test]
    fn a_scratch_container_is_on_the_bridge_or_at_its_address() {
        let (mode, config) = Attach::Bridge.settings();
        assert_eq!((mode.as_str(), config), ("bridge", None));
        let (mode, config) = Attach::At {
            network: "alice-users",
            address: "10.20.3.250",
        }
        .settings();
        assert_eq!(mode, "alice-users");
        let endpoints = config.and_then(|c| c.endpoints_config).expect("endpoints");
        let address = endpoints["alice-users"]
            .ipam_config
            .as_ref()
            .and_then(|i| i.ipv4_address.as_deref());
        assert_eq!(address, Some("10.20.3.250"));
    }
}
