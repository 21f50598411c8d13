//! Drivers apply a plan to hosts: containers on a Docker engine, or real
//! machines over SSH. One trait; the executor (`apply`) and the commands
//! never know which implementation they hold.

use std::future::Future;

use crate::docker::ExecOutput;
use crate::error::Result;
use crate::plan::{FileSpec, Plan, ServerPlan};

pub mod docker;
pub mod ssh;

/// A host of a stack that exists now.
#[derive(Debug, Clone)]
pub struct Host {
    pub server: String,
    pub running: bool,
    /// The structure hash the host was created with (see
    /// `ServerPlan::structure_hash`).
    pub structure: Option<String>,
    /// Where the driver's own identity of the host (container name, address).
    pub handle: String,
    pub status: String,
    /// Each service's state, when the driver learnt it with the rest
    /// (saves a round trip per host).
    pub services: Option<Vec<crate::supervise::ServiceStatus>>,
}

/// What `destroy` removed.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Destroyed {
    pub hosts: Vec<String>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

/// Applies plans to hosts.
pub trait Driver: Sync {
    /// Hosts of `stack` that exist now, running or not.
    fn hosts(&self, stack: &str) -> impl Future<Output = Result<Vec<Host>>> + Send;
    /// Creates what the hosts share (networks); idempotent.
    fn prepare(&self, plan: &Plan) -> impl Future<Output = Result<()>> + Send;
    /// Creates a host, not yet started; its structure hash is recorded.
    fn create(&self, plan: &Plan, server: &ServerPlan) -> impl Future<Output = Result<()>> + Send;
    /// Puts files on a host (created or running), with their modes. Owners
    /// are set by the before-start steps (new hosts) and by `apply` (updates),
    /// both through `supervise::chowns`.
    fn put_files(
        &self,
        plan: &Plan,
        server: &str,
        files: &[FileSpec],
    ) -> impl Future<Output = Result<()>> + Send;
    /// Starts a created (or stopped) host: its init runs the before-start
    /// steps and the services.
    fn start(&self, plan: &Plan, server: &str) -> impl Future<Output = Result<()>> + Send;
    /// Runs a shell script on a running host.
    fn exec(
        &self,
        stack: &str,
        server: &str,
        script: &str,
    ) -> impl Future<Output = Result<ExecOutput>> + Send;
    /// Runs a shell script with extra environment variables (`NAME=value`)
    /// that must not appear on a command line (passwords).
    fn exec_env(
        &self,
        stack: &str,
        server: &str,
        script: &str,
        env: &[String],
    ) -> impl Future<Output = Result<ExecOutput>> + Send;
    /// Stops a host the hard way (power cut, kernel panic): no clean shutdown.
    fn kill(&self, stack: &str, server: &str) -> impl Future<Output = Result<()>> + Send;
    /// Removes one host.
    fn remove(&self, stack: &str, server: &str) -> impl Future<Output = Result<()>> + Send;
    /// Removes every object of the stack, and nothing else.
    fn destroy(&self, stack: &str) -> impl Future<Output = Result<Destroyed>> + Send;
}

/// Either driver, chosen on the command line.
pub enum AnyDriver {
    Docker(docker::DockerDriver),
    Ssh(ssh::SshDriver),
}

macro_rules! delegate {
    ($self:ident, $d:ident => $e:expr) => {
        match $self {
            AnyDriver::Docker($d) => $e,
            AnyDriver::Ssh($d) => $e,
        }
    };
}

impl Driver for AnyDriver {
    async fn hosts(&self, stack: &str) -> Result<Vec<Host>> {
        delegate!(self, d => d.hosts(stack).await)
    }
    async fn prepare(&self, plan: &Plan) -> Result<()> {
        delegate!(self, d => d.prepare(plan).await)
    }
    async fn create(&self, plan: &Plan, server: &ServerPlan) -> Result<()> {
        delegate!(self, d => d.create(plan, server).await)
    }
    async fn put_files(&self, plan: &Plan, server: &str, files: &[FileSpec]) -> Result<()> {
        delegate!(self, d => d.put_files(plan, server, files).await)
    }
    async fn start(&self, plan: &Plan, server: &str) -> Result<()> {
        delegate!(self, d => d.start(plan, server).await)
    }
    async fn exec(&self, stack: &str, server: &str, script: &str) -> Result<ExecOutput> {
        delegate!(self, d => d.exec(stack, server, script).await)
    }
    async fn exec_env(
        &self,
        stack: &str,
        server: &str,
        script: &str,
        env: &[String],
    ) -> Result<ExecOutput> {
        delegate!(self, d => d.exec_env(stack, server, script, env).await)
    }
    async fn kill(&self, stack: &str, server: &str) -> Result<()> {
        delegate!(self, d => d.kill(stack, server).await)
    }
    async fn remove(&self, stack: &str, server: &str) -> Result<()> {
        delegate!(self, d => d.remove(stack, server).await)
    }
    async fn destroy(&self, stack: &str) -> Result<Destroyed> {
        delegate!(self, d => d.destroy(stack).await)
    }
}
