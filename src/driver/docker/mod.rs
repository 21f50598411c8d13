//! The Docker driver: one container per server (`<stack>-<server>`), one
//! bridge network per stack network (`<stack>-<net>`), every object
//! labelled `io.infractl.stack=<stack>` (plus server, role, plan hash).
//! Labels are the truth for what a lab owns: `destroy` removes exactly what
//! carries the stack's label.
//!
//! Here: the driver itself ([`DockerDriver`], one lab on one engine) and
//! what the labs of one engine learn once (`NodeFacts`). The work is in
//! rooms of one concern each, in the order a lab comes up:
//!
//! - [`backend`], [`endpoint`] (and `tunnel`, over SSH), [`labs`]: which
//!   engine, reaching it, and the labs on it ([`DockerEngine`]); [`copy`]
//!   and [`image`]: the node image there; [`shared`]: its programs in
//!   volumes shared by all.
//! - [`names`]: how objects are named and labelled.
//! - [`networks`] and [`isolate`]: a lab's networks, cut off from the
//!   engine's host.
//! - [`server`], [`volumes`]: a server's container and its kept data;
//!   [`containers`]: a container's life (started in its lab's turn,
//!   stopped, removed); [`files`]: files into it; [`exec`]: commands in
//!   it, and its init's output; [`terminal`]: shells in it for people;
//!   [`events`]: its changes as they happen.
//! - [`forwarder`]: the site published on the engine's host; [`check`]:
//!   rendered files checked in throwaway containers; [`engine`]: the
//!   plainest Engine API calls the others share.

pub mod backend;
pub mod check;
pub mod containers;
pub mod copy;
mod dial;
pub mod endpoint;
pub mod engine;
pub mod events;
pub mod exec;
pub mod files;
pub mod forwarder;
pub mod image;
pub mod isolate;
pub mod labs;
pub mod names;
pub mod networks;
pub mod server;
pub mod shared;
pub mod terminal;
mod tunnel;
pub mod volumes;

pub use backend::Backend;
pub use labs::DockerEngine;
pub use names::{
    container_name, network_name, volume_name, LABEL_HOLDS, LABEL_PATH, LABEL_PLAN, LABEL_ROLES,
    LABEL_SERVER, LABEL_STRUCTURE, LABEL_WHAT,
};

use std::collections::HashMap;
use std::sync::Arc;

use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::Docker;
use futures_util::future::try_join_all;

use super::{
    BootLog, Destroyed, Driver, ExecOutput, Host, Keeper, Publisher, Strangers, PUBLISHER, STRANGER,
};
use crate::driver::archive::{tar_of, Owners};
use crate::error::{Error, Result};
use crate::render::plan::{FileSpec, Plan, ServerPlan};
use endpoint::Endpoint;
use engine::fail;
use names::{lab_labels, label_filter};

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
    /// Each lab's turn to start a container (see [`containers::StartTurn`]).
    starts: std::sync::Mutex<HashMap<String, containers::StartTurn>>,
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

impl DockerDriver {
    /// The node image's users and groups, read from `container` (any
    /// of the engine's nodes) the first time they are needed.
    async fn owners(&self, container: &str) -> Result<&Owners> {
        self.node
            .owners
            .get_or_try_init(|| files::owners_of(&self.docker, container))
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
    fn start_turn(&self) -> containers::StartTurn {
        self.node
            .starts
            .lock()
            .expect("lock")
            .entry(self.lab.clone())
            .or_default()
            .clone()
    }

    /// The name of the lab's container for `server`.
    fn container(&self, server: &str) -> String {
        container_name(&self.lab, server)
    }

    /// Container logs (the init's output), last `tail` lines.
    pub async fn container_logs(&self, server: &str, tail: u32) -> Result<String> {
        exec::logs(&self.docker, &self.container(server), tail).await
    }
}

#[async_trait::async_trait]
impl Driver for DockerDriver {
    fn lab(&self) -> &str {
        &self.lab
    }

    async fn hosts(&self) -> Result<Vec<Host>> {
        let list = self
            .docker
            .list_containers(Some(
                ListContainersOptionsBuilder::new()
                    .all(true)
                    .filters(&label_filter(&self.lab))
                    .build(),
            ))
            .await
            .map_err(fail("listing containers"))?;
        Ok(list
            .into_iter()
            .filter_map(|c| labs::host_of(&self.lab, c))
            .collect())
    }

    async fn prepare(&self, plan: &Plan) -> Result<()> {
        self.prepare_networks(plan).await
    }

    async fn create(&self, plan: &Plan, server: &ServerPlan) -> Result<()> {
        self.create_server(plan, server).await
    }

    async fn put_files(&self, plan: &Plan, server: &str, files: &[FileSpec]) -> Result<()> {
        let name = container_name(&plan.stack, server);
        if files.is_empty() {
            return Ok(());
        }
        let owners = self.owners(&name).await?;
        files::put_files(&self.docker, &name, files, Some(owners)).await
    }

    async fn start_with_files(&self, plan: &Plan, server: &str, files: &[FileSpec]) -> Result<()> {
        let name = container_name(&plan.stack, server);
        // Owners by name: the node's tar gives them its own ids (reading
        // them here would mount the container's layer, not yet running).
        let mut tar = tar_of(files, None)?;
        files::whole_records(&mut tar);
        containers::start_feeding(&self.docker, &name, &tar, &self.start_turn()).await
    }

    async fn start(&self, plan: &Plan, server: &str) -> Result<()> {
        let name = container_name(&plan.stack, server);
        containers::start_in_turn(&self.docker, &name, &self.start_turn()).await
    }

    async fn exec_env(&self, server: &str, script: &str, env: &[String]) -> Result<ExecOutput> {
        exec::exec_env(&self.docker, &self.container(server), script, env).await
    }

    async fn exec_stream(&self, server: &str, script: &str) -> Result<super::OutputStream> {
        exec::exec_stream(&self.docker, &self.container(server), script).await
    }

    /// Kills the server in the lab's turn, and returns once the engine has
    /// let go of its endpoints: the kill API returns when the signal is
    /// sent, and the engine leaves the container's networks after, beside
    /// whatever comes next (a start of another server joining the same
    /// network: the two changes of one network's endpoints at once that
    /// the engine can miscount, see [`containers::StartTurn`]).
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
        containers::until_released(&self.docker, &name).await
    }

    /// Removes the server in the lab's turn: its leaving the lab's
    /// networks is not sent beside another server's start (see `kill`).
    async fn remove(&self, server: &str) -> Result<()> {
        let turn = self.start_turn();
        let _turn = turn.lock().await;
        containers::remove(&self.docker, &self.container(server)).await
    }

    /// Stops the server cleanly, in the lab's turn (see `kill`).
    async fn stop(&self, server: &str) -> Result<()> {
        let name = self.container(server);
        let turn = self.start_turn();
        let _turn = turn.lock().await;
        containers::stop(&self.docker, &name, STOP_SECONDS).await?;
        containers::until_released(&self.docker, &name).await
    }

    async fn exec_argv(&self, server: &str, argv: &[String]) -> Result<ExecOutput> {
        exec::exec_argv(&self.docker, &self.container(server), argv, &[]).await
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

    fn events(&self) -> Option<&dyn super::Events> {
        Some(self)
    }

    fn terminals(&self) -> Option<&dyn super::Terminals> {
        Some(self)
    }

    async fn destroy(&self, _options: &super::DownOptions) -> Result<Destroyed> {
        let hosts = self.hosts().await?;
        // The servers, and the lab's own helpers no server list names.
        let known: Vec<String> = hosts
            .iter()
            .map(|h| h.handle.clone())
            .chain([STRANGER, PUBLISHER].map(|h| self.container(h)))
            .collect();
        // Off their networks one after another first (see
        // `leave_networks`), then removed side by side.
        self.leave_networks(&known).await?;
        try_join_all(known.iter().map(|c| containers::remove(&self.docker, c))).await?;
        // With the servers gone, their rules on the engine's host go while
        // the data and the networks do (the servers' data before the
        // networks: an engine that holds on to a network, moby/moby#42119,
        // keeps no learner's data).
        let rest = async {
            let volumes = self.remove_lab_volumes().await?;
            let networks = self.remove_lab_networks(&known).await?;
            Ok::<_, Error>((volumes, networks))
        };
        let ((), (volumes, networks)) = tokio::try_join!(self.release_rules(), rest)?;
        Ok(Destroyed {
            hosts: hosts.into_iter().map(|h| h.server).collect(),
            networks,
            volumes,
        })
    }
}

#[async_trait::async_trait]
impl Strangers for DockerDriver {
    async fn add_stranger(&self, plan: &Plan, network: &str, address: &str) -> Result<()> {
        let name = container_name(&plan.stack, STRANGER);
        Driver::remove(self, STRANGER).await?;
        let net = network_name(&plan.stack, network);
        containers::run_scratch(
            &self.docker,
            &plan.image,
            &name,
            lab_labels(plan),
            containers::Attach::At {
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
impl super::Terminals for DockerDriver {
    async fn terminal(&self, server: &str, cols: u16, rows: u16) -> Result<super::Terminal> {
        terminal::open(&self.docker, &self.container(server), server, cols, rows).await
    }
}

#[async_trait::async_trait]
impl BootLog for DockerDriver {
    async fn boot_log(&self, server: &str, lines: u32) -> Result<String> {
        self.container_logs(server, lines).await
    }

    async fn boot_ready(&self, server: &str, seconds: u32) -> Result<bool> {
        exec::boot_ready(&self.docker, &self.container(server), seconds).await
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
