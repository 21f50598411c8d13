//! The Docker driver: one container per server (`<stack>-<server>`), one
//! bridge network per stack network (`<stack>-<net>`), every object
//! labelled `io.infractl.stack=<stack>` (plus server, role, plan hash).
//! Labels are the truth for what a lab owns: `destroy` removes exactly what
//! carries the stack's label.

pub mod backend;
pub mod check;
pub mod endpoint;
pub mod engine;
pub mod image;
pub mod isolate;
pub mod shared;

pub use backend::Backend;

use std::collections::HashMap;
use std::sync::Arc;

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, Ipam, IpamConfig,
    NetworkConnectRequest, NetworkCreateRequest, NetworkingConfig,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
    ListVolumesOptionsBuilder,
};
use bollard::Docker;
use futures_util::future::try_join_all;

use super::{
    BootLog, Destroyed, Driver, ExecOutput, Host, Keeper, Kept, LabOnEngine, Publish, Publisher,
    Strangers, PUBLISHER, STRANGER,
};
use crate::driver::archive::Owners;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::render::plan::{FileSpec, Plan, ServerPlan};
use endpoint::Endpoint;
use engine::{fail, LABEL_LAB, LABEL_STACK};

pub const LABEL_SERVER: &str = "io.infractl.server";
pub const LABEL_ROLES: &str = "io.infractl.roles";
pub const LABEL_PLAN: &str = "io.infractl.plan-hash";
pub const LABEL_STRUCTURE: &str = "io.infractl.structure";
/// On a server's data volume: the directory it is mounted on, what it
/// holds (for people) and whose data it is (`plan::Keep`).
pub const LABEL_PATH: &str = "io.infractl.path";
pub const LABEL_WHAT: &str = "io.infractl.what";
pub const LABEL_HOLDS: &str = "io.infractl.holds";
/// Seconds a server with data kept gets to stop cleanly before it is
/// removed (its services' own stop waits up to 20).
const STOP_SECONDS: i32 = 25;

/// The Docker driver, bound to one lab on one engine.
pub struct DockerDriver {
    pub docker: Docker,
    /// Where the engine is.
    pub endpoint: Endpoint,
    lab: String,
    node: Arc<NodeFacts>,
}

/// What every lab on one engine finds the same, learned once for all of
/// them (a class's labs share it): every node runs the same image.
#[derive(Default)]
struct NodeFacts {
    /// The node image's users and groups, read from the first container
    /// filled.
    owners: tokio::sync::OnceCell<Owners>,
    /// The binds of the image's shared directories, once they are filled.
    shared: tokio::sync::OnceCell<Vec<String>>,
    /// Each lab's turn to start a container (see [`engine::StartTurn`]).
    starts: std::sync::Mutex<HashMap<String, engine::StartTurn>>,
    /// Held while a lab's rules change on the engine's host (see
    /// [`isolate`]): one change at a time.
    rules: tokio::sync::Mutex<()>,
}

impl NodeFacts {
    /// The facts of the engine at `endpoint`, shared by every connection
    /// to it in this process: a class's labs, each brought up on its own
    /// connection, learn them once.
    fn of(endpoint: &Endpoint) -> Arc<NodeFacts> {
        static KNOWN: std::sync::LazyLock<std::sync::Mutex<HashMap<String, Arc<NodeFacts>>>> =
            std::sync::LazyLock::new(Default::default);
        KNOWN
            .lock()
            .expect("lock")
            .entry(endpoint.to_string())
            .or_default()
            .clone()
    }
}

/// Set to `stdin` in a container that takes its files on its input.
const FILES_ENV: &str = "INFRACTL_FILES";

pub fn container_name(stack: &str, server: &str) -> String {
    format!("{stack}-{server}")
}

pub fn network_name(stack: &str, net: &str) -> String {
    format!("{stack}-{net}")
}

/// The volume holding what `server` keeps in a directory (see
/// `plan::Keep`): `<lab>-<server>-<name>`.
pub fn volume_name(lab: &str, server: &str, name: &str) -> String {
    format!("{lab}-{server}-{name}")
}

/// The directories of a container kept in volumes of its lab (those named
/// after it; the image's shared volumes are under /usr).
fn kept_mounts(container: &str, mounts: &[bollard::models::MountPoint]) -> Vec<String> {
    let prefix = format!("{container}-");
    mounts
        .iter()
        .filter(|m| m.name.as_deref().is_some_and(|n| n.starts_with(&prefix)))
        .filter_map(|m| m.destination.clone())
        .filter(|d| !d.starts_with("/usr/"))
        .collect()
}

/// A network's (first) subnet.
fn subnet_of(n: &bollard::models::Network) -> Option<&str> {
    n.ipam.as_ref()?.config.as_ref()?.first()?.subnet.as_deref()
}

fn label_filter(lab: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![format!("{LABEL_LAB}={lab}")])])
}

/// The labels naming the lab and its stack, on everything of the lab.
fn lab_labels(plan: &Plan) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_LAB.to_string(), plan.stack.clone()),
        (LABEL_STACK.to_string(), plan.origin.clone()),
    ])
}

/// One Docker engine: the labs on it, and a driver for each.
#[derive(Clone)]
pub struct DockerEngine {
    pub docker: Docker,
    /// Where it is reached (`unix:///var/run/docker.sock`, `tcp://...`).
    pub endpoint: Endpoint,
    node: Arc<NodeFacts>,
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

    /// Makes sure the node image is there: already, or copied from the
    /// engine the environment names or the local one when it has it, or
    /// built.
    pub async fn ensure_image(&self, progress: &dyn Progress) -> Result<()> {
        if engine::image_exists(&self.docker, &crate::driver::docker::image::reference()).await? {
            return Ok(());
        }
        let mut sources = Vec::new();
        for e in [Endpoint::ambient().ok(), Some(Endpoint::local())]
            .into_iter()
            .flatten()
        {
            if !e.same_engine(&self.endpoint)
                && !sources
                    .iter()
                    .any(|s: &DockerEngine| s.endpoint.same_engine(&e))
            {
                if let Ok(s) = DockerEngine::connect(e).await {
                    sources.push(s);
                }
            }
        }
        let sources: Vec<&DockerEngine> = sources.iter().collect();
        self.ensure_image_from(&sources, progress).await
    }

    /// Makes sure the node image is there: already, copied through the
    /// API from the first of `sources` that has it, or built here.
    pub async fn ensure_image_from(
        &self,
        sources: &[&DockerEngine],
        progress: &dyn Progress,
    ) -> Result<()> {
        let reference = crate::driver::docker::image::reference();
        if engine::image_exists(&self.docker, &reference).await? {
            return Ok(());
        }
        for source in sources
            .iter()
            .filter(|s| !s.endpoint.same_engine(&self.endpoint))
        {
            if engine::image_exists(&source.docker, &reference)
                .await
                .unwrap_or(false)
            {
                let task = format!("image → {}", self.endpoint);
                return engine::copy_image(
                    &source.docker,
                    &self.docker,
                    &reference,
                    &task,
                    progress,
                )
                .await;
            }
        }
        crate::driver::docker::image::ensure(&self.docker, None, false, progress)
            .await
            .map(|_| ())
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
        Ok(nets
            .iter()
            .flat_map(|n| {
                let lab = n.labels.as_ref().and_then(|l| l.get(LABEL_LAB)).cloned();
                n.ipam
                    .iter()
                    .flat_map(|i| i.config.iter().flatten())
                    .filter_map(move |c| Some((lab.clone(), c.subnet.as_deref()?.parse().ok()?)))
            })
            .collect())
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
        let mut names: Vec<(String, String)> = list
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
        Ok(names)
    }
}

impl DockerDriver {
    /// The node image's users and groups, read from `container` (any
    /// of the engine's nodes) the first time they are needed.
    async fn owners(&self, container: &str) -> Result<&Owners> {
        self.node
            .owners
            .get_or_try_init(|| engine::owners_of(&self.docker, container))
            .await
    }

    /// The binds of `image`'s shared directories ([`shared`]), filled on
    /// the engine if they are not yet.
    async fn shared(&self, image: &str) -> Result<Vec<String>> {
        self.node
            .shared
            .get_or_try_init(|| shared::ensure(&self.docker, image))
            .await
            .cloned()
    }

    /// The lab's turn to start a container, shared by every driver of the
    /// lab on this engine in this process.
    fn start_turn(&self) -> engine::StartTurn {
        self.node
            .starts
            .lock()
            .expect("lock")
            .entry(self.lab.clone())
            .or_default()
            .clone()
    }

    /// The lab's networks on the engine.
    async fn lab_networks(&self) -> Result<Vec<bollard::models::Network>> {
        self.docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::new()
                    .filters(&label_filter(&self.lab))
                    .build(),
            ))
            .await
            .map_err(fail("listing networks"))
    }

    /// Whether each of the lab's `networks` is seen cut off from the
    /// engine's host already: a running server on it finds the network's
    /// gateway refusing it as the rules do. An exec per network, where
    /// putting the rules in place again takes a container; false when it
    /// cannot tell (a network with no server running on it).
    async fn cut_off(&self, networks: &[bollard::models::Network]) -> bool {
        let Ok(hosts) = self.hosts().await else {
            return false;
        };
        let prefix = network_name(&self.lab, "");
        let probes = networks.iter().map(|n| {
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
            async move {
                let (Some(host), Some(gateway)) = (on, gateway) else {
                    return false;
                };
                let script = crate::shell::with_args(crate::shell::CUT_OFF, &[gateway]);
                matches!(engine::exec(&self.docker, &host.handle, &script).await, Ok(o) if o.code == 0)
            }
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
        if engine::image_exists(&self.docker, &this).await? {
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

    /// The name of the lab's container for `server`.
    fn container(&self, server: &str) -> String {
        container_name(&self.lab, server)
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

    /// The stack label of the container `name` (empty when it has none);
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

    /// The volume keeping `keep` of `server`, made if it is not there. A
    /// fresh volume is filled from the image's directory as the container
    /// first mounts it (the engine's copy for named volumes): a database
    /// server starts from Debian's initialised data directory, as before.
    /// One that holds another's data (the primary's, now a replica's:
    /// decided and said by `reconcile`, and dropped by `up`; here in case
    /// it came back since) is made anew.
    async fn data_volume(
        &self,
        plan: &Plan,
        server: &ServerPlan,
        keep: &crate::render::plan::Keep,
    ) -> Result<String> {
        let name = volume_name(&plan.stack, &server.name, &keep.name);
        let mut labels = lab_labels(plan);
        labels.extend([
            (LABEL_SERVER.to_string(), server.name.clone()),
            (LABEL_PATH.to_string(), keep.path.clone()),
            (LABEL_WHAT.to_string(), keep.what.clone()),
            (LABEL_HOLDS.to_string(), keep.holds.clone()),
        ]);
        let options = bollard::models::VolumeCreateOptions {
            name: Some(name.clone()),
            labels: Some(labels),
            ..Default::default()
        };
        let doing = format!("creating volume {name}");
        // The engine hands back the volume of that name when there is one.
        let made = self
            .docker
            .create_volume(options.clone())
            .await
            .map_err(fail(&doing))?;
        if made.labels.get(LABEL_HOLDS) != Some(&keep.holds) {
            self.remove_volume(&name).await?;
            self.docker
                .create_volume(options)
                .await
                .map_err(fail(&doing))?;
        }
        Ok(name)
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        match self
            .docker
            .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
            .await
        {
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(Error::failure(format!("removing volume {name}: {e}"))),
        }
    }

    /// Container logs (the init's output), last `tail` lines.
    pub async fn container_logs(&self, server: &str, tail: u32) -> Result<String> {
        engine::logs(&self.docker, &self.container(server), tail).await
    }
}

#[async_trait::async_trait]
impl Driver for DockerDriver {
    fn lab(&self) -> &str {
        &self.lab
    }

    async fn hosts(&self) -> Result<Vec<Host>> {
        let stack = self.lab.as_str();
        let list = self
            .docker
            .list_containers(Some(
                ListContainersOptionsBuilder::new()
                    .all(true)
                    .filters(&label_filter(stack))
                    .build(),
            ))
            .await
            .map_err(fail("listing containers"))?;
        Ok(list
            .into_iter()
            .filter_map(|c| {
                let labels = c.labels.unwrap_or_default();
                let server = labels.get(LABEL_SERVER)?.clone();
                let running = matches!(
                    c.state,
                    Some(bollard::models::ContainerSummaryStateEnum::RUNNING)
                );
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
            })
            .collect())
    }

    async fn prepare(&self, plan: &Plan) -> Result<()> {
        let existing = self.lab_networks().await?;
        // Whether every network was there already, cut off by an earlier
        // `up` (unless something removed the rules since).
        let mut kept = true;
        for net in &plan.networks {
            let name = network_name(&plan.stack, &net.name);
            let found = existing
                .iter()
                .find(|n| n.name.as_deref() == Some(name.as_str()));
            if let Some(n) = found {
                if subnet_of(n) == Some(net.subnet.as_str()) {
                    continue;
                }
                // The subnet changed: the network is made anew (its
                // containers are recreated too, their structure changed).
                let on: Vec<String> = n
                    .containers
                    .clone()
                    .unwrap_or_default()
                    .into_keys()
                    .collect();
                // Stopped cleanly first: their data is kept.
                try_join_all(
                    on.iter()
                        .map(|c| engine::stop(&self.docker, c, STOP_SECONDS)),
                )
                .await?;
                for c in &on {
                    engine::remove(&self.docker, c).await?;
                }
                engine::remove_network(&self.docker, &name, &on).await?;
            }
            kept = false;
            let created = self
                .docker
                .create_network(NetworkCreateRequest {
                    name: name.clone(),
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
                })
                .await;
            // A create sent by an `up` that was cut off may have landed
            // since the list above: then the network is there, as planned.
            if created.is_err() && self.has_network(&plan.stack, &name, &net.subnet).await {
                continue;
            }
            created.map_err(|e| {
                    let msg = e.to_string();
                    let hint = if msg.contains("overlap") {
                        format!(
                            "another network on this engine uses {}; change the stack's subnet, or remove that network",
                            net.subnet
                        )
                    } else {
                        "see `docker network ls`".to_string()
                    };
                    Error::failure(format!("creating network {name} ({}): {msg}", net.subnet)).with_hint(hint)
                })?;
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
        let bridges: Vec<String> = networks.iter().filter_map(isolate::bridge_of).collect();
        let _rules = self.node.rules.lock().await;
        isolate::isolate(
            &self.docker,
            &plan.image,
            &plan.stack,
            lab_labels(plan),
            &bridges,
        )
        .await
    }

    async fn create(&self, plan: &Plan, server: &ServerPlan) -> Result<()> {
        let name = container_name(&plan.stack, &server.name);
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
        let endpoint = |address: &str| EndpointSettings {
            ipam_config: Some(EndpointIpamConfig {
                ipv4_address: Some(address.to_string()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let first = server
            .networks
            .first()
            .ok_or_else(|| Error::failure(format!("server {} has no network", server.name)))?;
        let first_net = network_name(&plan.stack, &first.network);
        let doing = format!("creating container {name}");
        let body = ContainerCreateBody {
            image: Some(plan.image.clone()),
            hostname: Some(server.name.clone()),
            domainname: Some(plan.domain.clone()),
            labels: Some(labels),
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
                binds: Some(self.shared(&plan.image).await?),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(first_net, endpoint(&first.address))])),
            }),
            ..Default::default()
        };
        let mut body = body;
        if !server.keeps.is_empty() {
            let mut binds = body
                .host_config
                .as_ref()
                .and_then(|h| h.binds.clone())
                .unwrap_or_default();
            for keep in &server.keeps {
                let volume = self.data_volume(plan, server, keep).await?;
                binds.push(format!("{volume}:{}", keep.path));
            }
            if let Some(h) = body.host_config.as_mut() {
                h.binds = Some(binds);
            }
        }
        let options = CreateContainerOptionsBuilder::new().name(&name).build();
        // A create sent by an `up` that was cut off can land after this
        // `up` listed the hosts: the name is then taken by a container of
        // ours, half made (removed and made again), or, for the moment the
        // engine takes to make it, by none that can be inspected yet.
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
                break;
            }
            match self.owner_of(&name).await {
                Some(owner) if owner == plan.stack => engine::remove(&self.docker, &name).await?,
                Some(_) => {
                    created.map_err(fail(&doing))?;
                }
                None => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
        for att in server.networks.iter().skip(1) {
            let net = network_name(&plan.stack, &att.network);
            self.docker
                .connect_network(
                    &net,
                    NetworkConnectRequest {
                        container: Some(name.clone()),
                        endpoint_config: Some(endpoint(&att.address)),
                    },
                )
                .await
                .map_err(fail(&format!("connecting {name} to {net}")))?;
        }
        Ok(())
    }

    async fn put_files(&self, plan: &Plan, server: &str, files: &[FileSpec]) -> Result<()> {
        let name = container_name(&plan.stack, server);
        if files.is_empty() {
            return Ok(());
        }
        let owners = self.owners(&name).await?;
        engine::put_files(&self.docker, &name, files, Some(owners)).await
    }

    async fn start_with_files(&self, plan: &Plan, server: &str, files: &[FileSpec]) -> Result<()> {
        let name = container_name(&plan.stack, server);
        // Owners by name: the node's tar gives them its own ids (reading
        // them here would mount the container's layer, not yet running).
        let mut tar = crate::driver::archive::tar_of(files, None)?;
        // Whole records of 10 KiB, as tar writes them: tar reading a pipe
        // fills a record before it looks at it, so the archive's end is
        // seen without waiting for the input to close.
        tar.resize(tar.len().div_ceil(10240) * 10240, 0);
        engine::start_feeding(&self.docker, &name, &tar, &self.start_turn()).await
    }

    async fn start(&self, plan: &Plan, server: &str) -> Result<()> {
        let name = container_name(&plan.stack, server);
        engine::start_in_turn(&self.docker, &name, &self.start_turn()).await
    }

    async fn exec_env(&self, server: &str, script: &str, env: &[String]) -> Result<ExecOutput> {
        engine::exec_env(&self.docker, &self.container(server), script, env).await
    }

    async fn exec_stream(&self, server: &str, script: &str) -> Result<super::OutputStream> {
        engine::exec_stream(&self.docker, &self.container(server), script).await
    }

    /// Kills the server in the lab's turn, and returns once the engine has
    /// let go of its endpoints: the kill API returns when the signal is
    /// sent, and the engine leaves the container's networks after, beside
    /// whatever comes next (a start of another server joining the same
    /// network: the two changes of one network's endpoints at once that
    /// the engine can miscount, see [`engine::StartTurn`]).
    async fn kill(&self, server: &str) -> Result<()> {
        let name = self.container(server);
        let turn = self.start_turn();
        let _turn = turn.lock().await;
        self.docker
            .kill_container(
                &name,
                None::<bollard::query_parameters::KillContainerOptions>,
            )
            .await
            .map_err(fail(&format!("killing container {name}")))?;
        engine::until_released(&self.docker, &name).await
    }

    /// Removes the server in the lab's turn: its leaving the lab's
    /// networks is not sent beside another server's start (see `kill`).
    async fn remove(&self, server: &str) -> Result<()> {
        let turn = self.start_turn();
        let _turn = turn.lock().await;
        engine::remove(&self.docker, &self.container(server)).await
    }

    /// Stops the server cleanly, in the lab's turn (see `kill`).
    async fn stop(&self, server: &str) -> Result<()> {
        let name = self.container(server);
        let turn = self.start_turn();
        let _turn = turn.lock().await;
        engine::stop(&self.docker, &name, STOP_SECONDS).await?;
        engine::until_released(&self.docker, &name).await
    }

    async fn ensure_ready(&self, progress: &dyn Progress) -> Result<()> {
        DockerEngine {
            docker: self.docker.clone(),
            endpoint: self.endpoint.clone(),
            node: self.node.clone(),
        }
        .ensure_image(progress)
        .await
    }

    async fn exec_argv(&self, server: &str, argv: &[String]) -> Result<ExecOutput> {
        engine::exec_argv(&self.docker, &self.container(server), argv, &[]).await
    }

    fn host_noun(&self) -> &'static str {
        "container"
    }

    fn publisher(&self) -> Option<&dyn Publisher> {
        Some(self)
    }

    fn strangers(&self) -> Option<&dyn Strangers> {
        Some(self)
    }

    fn boot(&self) -> Option<&dyn BootLog> {
        Some(self)
    }

    fn keeper(&self) -> Option<&dyn Keeper> {
        Some(self)
    }

    async fn destroy(&self, _options: &super::DownOptions) -> Result<Destroyed> {
        let stack = self.lab.as_str();
        let mut out = Destroyed::default();
        let hosts = self.hosts().await?;
        // The servers, and the lab's own helpers no server list names.
        let known: Vec<String> = hosts
            .iter()
            .map(|h| h.handle.clone())
            .chain([STRANGER, PUBLISHER].map(|h| self.container(h)))
            .collect();
        try_join_all(known.iter().map(|c| engine::remove(&self.docker, c))).await?;
        out.hosts = hosts.into_iter().map(|h| h.server).collect();
        // With the servers gone, their rules on the engine's host go while
        // the data and the networks do (the servers' data before the
        // networks: an engine that holds on to a network, moby/moby#42119,
        // keeps no learner's data).
        let release = async {
            if let Some(image) = self.rules_image().await? {
                let _rules = self.node.rules.lock().await;
                let labels = HashMap::from([(LABEL_LAB.to_string(), stack.to_string())]);
                isolate::release(&self.docker, &image, stack, labels).await?;
            }
            Ok::<(), Error>(())
        };
        let rest = async {
            let vols = self
                .docker
                .list_volumes(Some(
                    ListVolumesOptionsBuilder::new()
                        .filters(&label_filter(stack))
                        .build(),
                ))
                .await
                .map_err(fail("listing volumes"))?;
            let mut volumes = Vec::new();
            for v in vols.volumes.unwrap_or_default() {
                self.docker
                    .remove_volume(
                        &v.name,
                        None::<bollard::query_parameters::RemoveVolumeOptions>,
                    )
                    .await
                    .map_err(fail(&format!("removing volume {}", v.name)))?;
                volumes.push(v.name);
            }
            let mut networks = Vec::new();
            for n in self.lab_networks().await? {
                let Some(name) = n.name else { continue };
                engine::remove_network(&self.docker, &name, &known).await?;
                networks.push(name);
            }
            Ok::<_, Error>((volumes, networks))
        };
        let ((), (volumes, networks)) = tokio::try_join!(release, rest)?;
        out.volumes = volumes;
        out.networks = networks;
        Ok(out)
    }
}

#[async_trait::async_trait]
impl Keeper for DockerDriver {
    async fn kept(&self) -> Result<Vec<Kept>> {
        let vols = self
            .docker
            .list_volumes(Some(
                ListVolumesOptionsBuilder::new()
                    .filters(&label_filter(&self.lab))
                    .build(),
            ))
            .await
            .map_err(fail("listing volumes"))?;
        Ok(vols
            .volumes
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| {
                let label = |l: &str| v.labels.get(l).cloned();
                Some(Kept {
                    server: label(LABEL_SERVER)?,
                    path: label(LABEL_PATH)?,
                    what: label(LABEL_WHAT).unwrap_or_default(),
                    holds: label(LABEL_HOLDS).unwrap_or_default(),
                    handle: v.name,
                })
            })
            .collect())
    }

    async fn drop_kept(&self, kept: &[Kept]) -> Result<()> {
        for k in kept {
            self.remove_volume(&k.handle).await?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Publisher for DockerDriver {
    async fn publish(&self, plan: &Plan, at: Publish<'_>) -> Result<u16> {
        let name = self.container(PUBLISHER);
        // Kept when it forwards as asked (an `up` again changes nothing).
        if let Some(port) = engine::published_port(&self.docker, &name, at.port).await? {
            if at.host_port == 0 || at.host_port == port {
                return Ok(port);
            }
        }
        engine::remove(&self.docker, &name).await?;
        let port = engine::run_forwarder(
            &self.docker,
            engine::Forwarder {
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
        engine::published_port(&self.docker, &self.container(PUBLISHER), port).await
    }
}

#[async_trait::async_trait]
impl Strangers for DockerDriver {
    async fn add_stranger(&self, plan: &Plan, network: &str, address: &str) -> Result<()> {
        let name = container_name(&plan.stack, STRANGER);
        engine::remove(&self.docker, &name).await?;
        let net = network_name(&plan.stack, network);
        engine::run_scratch(
            &self.docker,
            &plan.image,
            &name,
            lab_labels(plan),
            engine::Attach::At {
                network: &net,
                address,
            },
            Some(&self.start_turn()),
        )
        .await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl BootLog for DockerDriver {
    async fn boot_log(&self, server: &str, lines: u32) -> Result<String> {
        self.container_logs(server, lines).await
    }

    async fn boot_ready(&self, server: &str, seconds: u32) -> Result<bool> {
        engine::boot_ready(&self.docker, &self.container(server), seconds).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every driver of a lab on an engine shares the lab's turn to start a
    /// container; another lab's is its own.
    #[tokio::test]
    async fn a_lab_starts_one_container_at_a_time_and_labs_side_by_side() {
        let engine = DockerEngine::connect(Endpoint::local())
            .await
            .expect("a client (it connects on its first request)");
        let (first, second, other) = (engine.lab("alice"), engine.lab("alice"), engine.lab("bob"));
        let held = first.start_turn().lock_owned().await;
        assert!(second.start_turn().try_lock().is_err());
        assert!(other.start_turn().try_lock().is_ok());
        drop(held);
        assert!(second.start_turn().try_lock().is_ok());
    }
}
