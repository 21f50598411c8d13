//! The lab's site published on the engine's host, as the internet would
//! reach it: a forwarder container (HAProxy in TCP mode, so TLS goes
//! through untouched to the lab's own load balancer) on the users'
//! network, the engine publishing its port, each connection passed to the
//! site's address (the virtual IP: a failover moves nothing here).

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig, NetworkingConfig};
use bollard::query_parameters::CreateContainerOptionsBuilder;
use bollard::Docker;

use super::containers::endpoint_at;
use super::containers::{self, published_port, StartTurn};
use super::engine::fail;
use super::exec::{exec_argv, logs};
use super::names::{lab_labels, network_name};
use super::DockerDriver;
use crate::driver::{Publish, Publisher, PUBLISHER};
use crate::error::{Error, Result};
use crate::render::plan::Plan;
use crate::shell::shell_quote;

/// A TCP forwarder: a container of the lab at `address` on `network`,
/// taking `port` (published on the engine's host at `host_port`, or one
/// the engine picks when 0; not at all when none) and passing each
/// connection to `target:port`. Returns the host port, if published. HAProxy in TCP mode does the forwarding: TLS
/// goes through untouched, to the lab's own load balancer.
pub struct Forwarder<'a> {
    pub image: &'a str,
    /// The image's shared directories.
    pub binds: Vec<String>,
    pub name: &'a str,
    pub labels: HashMap<String, String>,
    pub network: &'a str,
    pub address: &'a str,
    pub target: std::net::Ipv4Addr,
    pub port: u16,
    pub host_port: Option<u16>,
    /// The lab's turn to start a container.
    pub turn: StartTurn,
}

/// HAProxy's configuration for a forwarder to `target:port`.
fn forwarder_config(target: std::net::Ipv4Addr, port: u16) -> String {
    format!(
        "global\n    maxconn 2000\ndefaults\n    mode tcp\n    timeout connect 5s\n    timeout client 1h\n    timeout server 1h\n\
         frontend published\n    bind :{port}\n    default_backend lab\nbackend lab\n    server site {target}:{port}\n"
    )
}

/// What the engine is asked for the forwarder `f`: HAProxy configured by
/// its command line, its port published (on the host port asked for, or
/// one the engine picks), restarted with the engine.
fn forwarder_body(f: &Forwarder<'_>) -> ContainerCreateBody {
    let exposed = format!("{}/tcp", f.port);
    let config = forwarder_config(f.target, f.port);
    let script = format!(
        "printf '%s' {} > /run/forwarder.cfg && exec haproxy -db -f /run/forwarder.cfg",
        shell_quote(&config)
    );
    let bindings = f.host_port.map(|host_port| {
        let binding = bollard::models::PortBinding {
            host_ip: Some("0.0.0.0".into()),
            host_port: Some(if host_port == 0 {
                String::new()
            } else {
                host_port.to_string()
            }),
        };
        HashMap::from([(exposed.clone(), Some(vec![binding]))])
    });
    ContainerCreateBody {
        image: Some(f.image.to_string()),
        entrypoint: Some(vec!["sh".into(), "-c".into(), script]),
        cmd: Some(vec![]),
        labels: Some(f.labels.clone()),
        exposed_ports: Some(HashMap::from([(exposed.clone(), HashMap::new())])),
        host_config: Some(HostConfig {
            binds: Some(f.binds.clone()),
            network_mode: Some(f.network.to_string()),
            port_bindings: bindings,
            restart_policy: Some(bollard::models::RestartPolicy {
                name: Some(bollard::models::RestartPolicyNameEnum::UNLESS_STOPPED),
                maximum_retry_count: None,
            }),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                f.network.to_string(),
                endpoint_at(f.address),
            )])),
        }),
        ..Default::default()
    }
}

/// Starts the forwarder `f` (see [`Forwarder`]); its host port, if it is
/// published.
pub async fn run_forwarder(docker: &Docker, f: Forwarder<'_>) -> Result<Option<u16>> {
    let doing = format!("starting container {}", f.name);
    docker
        .create_container(
            Some(CreateContainerOptionsBuilder::new().name(f.name).build()),
            forwarder_body(&f),
        )
        .await
        .map_err(fail(&doing))?;
    containers::start_in_turn(docker, f.name, &f.turn).await?;
    until_listening(docker, f.name, f.port).await?;
    if f.host_port.is_none() {
        return Ok(None);
    }
    published_port(docker, f.name, f.port)
        .await?
        .map(Some)
        .ok_or_else(|| Error::failure(format!("{}: the engine published no port", f.name)))
}

/// The host port of the forwarder `c` when it forwards `port` as asked
/// (`Some(port)`, or `Some(None)`: running, published nowhere); `None`
/// when it must be made anew.
fn kept(
    c: &bollard::models::ContainerInspectResponse,
    port: u16,
    asked: Option<u16>,
) -> Option<Option<u16>> {
    let running = c.state.as_ref().and_then(|s| s.running).unwrap_or(false);
    let forwards = c
        .config
        .as_ref()
        .and_then(|c| c.exposed_ports.as_ref())
        .is_some_and(|p| p.contains_key(&format!("{port}/tcp")));
    if !running || !forwards {
        return None;
    }
    match (asked, containers::host_port_of(c, port)) {
        (Some(0), Some(bound)) => Some(Some(bound)),
        (Some(h), Some(bound)) if h == bound => Some(Some(bound)),
        (None, None) => Some(None),
        _ => None,
    }
}

/// Waits up to 10 s for the forwarder `name` to listen on `port`. The
/// engine forwards the host port from the start; the site is there once
/// HAProxy listens behind it (until then a browser gets an empty answer).
async fn until_listening(docker: &Docker, name: &str, port: u16) -> Result<()> {
    let wait = crate::shell::polling(
        crate::shell::LISTENING,
        &["10".to_string(), port.to_string()],
    );
    let out = exec_argv(docker, name, &["sh".into(), "-c".into(), wait], &[]).await?;
    if out.code == 0 {
        return Ok(());
    }
    let log = logs(docker, name, 10).await.unwrap_or_default();
    Err(Error::failure(format!(
        "{name}: the forwarder does not listen on port {port} after 10 s{}",
        if log.trim().is_empty() {
            String::new()
        } else {
            format!("; its log:\n{}", log.trim_end())
        }
    )))
}

#[async_trait::async_trait]
impl Publisher for DockerDriver {
    async fn publish(&self, plan: &Plan, at: Publish<'_>) -> Result<Option<u16>> {
        let name = self.container(PUBLISHER);
        // Kept when it forwards as asked (an `up` again changes nothing).
        if let Some(c) = super::engine::inspect(&self.docker, &name).await? {
            if let Some(port) = kept(&c, at.port, at.host_port) {
                return Ok(port);
            }
        }
        crate::driver::Driver::remove(self, PUBLISHER).await?;
        let port = run_forwarder(
            &self.docker,
            Forwarder {
                image: &plan.image,
                binds: self.shared(&plan.image).await?,
                name: &name,
                labels: lab_labels(plan),
                network: &network_name(&plan.stack, at.network),
                address: at.address,
                target: at.target,
                port: at.port,
                host_port: at.host_port,
                turn: self.start_turn(),
            },
        )
        .await?;
        Ok(port)
    }

    async fn published(&self, port: u16) -> Result<Option<u16>> {
        published_port(&self.docker, &self.container(PUBLISHER), port).await
    }

    async fn connect(&self, port: u16) -> Result<crate::driver::Connection> {
        super::dial::connect(&self.docker, &self.container(PUBLISHER), port).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarder(host_port: Option<u16>) -> Forwarder<'static> {
        Forwarder {
            image: "infractl/node:test",
            binds: vec!["infractl-usr-0123456789ab-bin:/usr/bin:ro".into()],
            name: "alice-_publish",
            labels: HashMap::from([("io.infractl.lab".to_string(), "alice".to_string())]),
            network: "alice-users",
            address: "10.20.3.251",
            target: std::net::Ipv4Addr::new(10, 20, 3, 100),
            port: 443,
            host_port,
            turn: StartTurn::default(),
        }
    }

    #[test]
    fn the_forwarder_passes_each_connection_to_the_site() {
        let config = forwarder_config(std::net::Ipv4Addr::new(10, 20, 3, 100), 443);
        assert!(config.contains("    mode tcp\n"), "{config}");
        assert!(
            config.contains("frontend published\n    bind :443\n"),
            "{config}"
        );
        assert!(
            config.ends_with("backend lab\n    server site 10.20.3.100:443\n"),
            "{config}"
        );
    }

    #[test]
    fn the_forwarder_publishes_its_port_on_the_users_network() {
        let body = forwarder_body(&forwarder(Some(8443)));
        assert_eq!(body.image.as_deref(), Some("infractl/node:test"));
        let entry = body.entrypoint.expect("entrypoint");
        assert_eq!(entry[..2], ["sh".to_string(), "-c".to_string()]);
        assert!(entry[2].ends_with("&& exec haproxy -db -f /run/forwarder.cfg"));
        assert!(entry[2].contains("server site 10.20.3.100:443"));
        assert!(body.exposed_ports.expect("exposed").contains_key("443/tcp"));
        let host = body.host_config.expect("host config");
        assert_eq!(host.network_mode.as_deref(), Some("alice-users"));
        let bindings = host.port_bindings.expect("bindings");
        let binding = &bindings["443/tcp"].as_ref().expect("bound")[0];
        assert_eq!(binding.host_ip.as_deref(), Some("0.0.0.0"));
        assert_eq!(binding.host_port.as_deref(), Some("8443"));
        assert_eq!(
            host.restart_policy.and_then(|r| r.name),
            Some(bollard::models::RestartPolicyNameEnum::UNLESS_STOPPED)
        );
        let endpoints = body
            .networking_config
            .and_then(|n| n.endpoints_config)
            .expect("endpoints");
        let address = endpoints["alice-users"]
            .ipam_config
            .as_ref()
            .and_then(|i| i.ipv4_address.as_deref());
        assert_eq!(address, Some("10.20.3.251"));
        // No port asked for: the engine picks one.
        let any = forwarder_body(&forwarder(Some(0)))
            .host_config
            .expect("host config");
        let bindings = any.port_bindings.expect("bindings");
        let binding = &bindings["443/tcp"].as_ref().expect("bound")[0];
        assert_eq!(binding.host_port.as_deref(), Some(""));
        // Published nowhere: the port is the forwarder's alone.
        let none = forwarder_body(&forwarder(None));
        assert!(none.exposed_ports.expect("exposed").contains_key("443/tcp"));
        assert_eq!(none.host_config.expect("host config").port_bindings, None);
    }

    #[test]
    fn a_forwarder_is_kept_only_when_it_forwards_as_asked() {
        let c = |running: bool, bound: Option<&str>| {
            serde_json::from_value::<bollard::models::ContainerInspectResponse>(serde_json::json!({
                "State": { "Running": running },
                "Config": { "ExposedPorts": { "443/tcp": {} } },
                "NetworkSettings": { "Ports": { "443/tcp": bound.map(|p| vec![
                    serde_json::json!({ "HostIp": "0.0.0.0", "HostPort": p })
                ]) } },
            }))
            .expect("inspect")
        };
        let published = c(true, Some("32768"));
        assert_eq!(kept(&published, 443, Some(0)), Some(Some(32768)));
        assert_eq!(kept(&published, 443, Some(32768)), Some(Some(32768)));
        assert_eq!(kept(&published, 443, Some(8443)), None);
        assert_eq!(kept(&published, 443, None), None);
        assert_eq!(kept(&published, 80, Some(0)), None);
        let unpublished = c(true, None);
        assert_eq!(kept(&unpublished, 443, None), Some(None));
        assert_eq!(kept(&unpublished, 443, Some(0)), None);
        assert_eq!(kept(&c(false, None), 443, None), None);
    }
}
