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

use super::engine::{self, fail};
use crate::error::{Error, Result};

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
    engine::remove(docker, &name).await?;
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
        engine::start(docker, &name).await?;
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
        _ => engine::logs(docker, &name, 10).await.unwrap_or_default(),
    };
    engine::remove(docker, &name).await?;
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
