//! Drivers apply a plan to hosts: containers on a Docker engine, or real
//! machines over SSH. One trait; the executor (`apply`) and the commands
//! never know which implementation they hold.

use std::future::Future;

use crate::error::Result;
use crate::plan::{FileSpec, Plan, ServerPlan};
use crate::progress::Progress;

pub mod archive;
pub mod docker;
pub mod ssh;

/// Output of a command run on a host.
#[derive(Debug, Clone)]
pub struct ExecOutput {
    pub code: i64,
    pub stdout: String,
    pub stderr: String,
}

impl ExecOutput {
    /// stderr then stdout, trimmed: what to show when the command failed.
    pub fn message(&self) -> String {
        let mut s = self.stderr.trim().to_string();
        if !self.stdout.trim().is_empty() {
            if !s.is_empty() {
                s.push('\n');
            }
            s.push_str(self.stdout.trim());
        }
        s
    }
}

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
    /// The stack networks the host is attached to, where the driver
    /// attaches hosts itself (a container created but cut off before it
    /// was connected to all of its networks must be made again).
    pub networks: Option<Vec<String>>,
    /// Each service's state, when the driver learnt it with the rest
    /// (saves a round trip per host).
    pub services: Option<Vec<crate::supervise::ServiceStatus>>,
    /// The directories of the host kept apart from it (see `Driver::kept`),
    /// where the driver makes hosts anew; `None` where a host keeps its
    /// data itself (a real machine).
    pub kept: Option<Vec<String>>,
}

/// Data a host of the lab keeps apart from itself (a Docker volume), so
/// that it outlives the host: made with the host, removed with the lab.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Kept {
    pub server: String,
    /// The directory on the host.
    pub path: String,
    /// What it holds, for people (`database`).
    pub what: String,
    /// Whose data it is (see `plan::Keep::holds`).
    pub holds: String,
    /// The driver's name for it (the volume's).
    pub handle: String,
}

/// How `down` removes a lab.
#[derive(Debug, Clone, Copy, Default)]
pub struct DownOptions {
    /// Also purge the packages `up` installed (over SSH; a container's
    /// packages go with it).
    pub purge_packages: bool,
}

/// What `destroy` removed.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Destroyed {
    pub hosts: Vec<String>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

/// The name `exec`, `put_files` and `remove` know a stranger by (see
/// `Driver::add_stranger`); no server has it (server names have no `_`).
pub const STRANGER: &str = "_stranger";

/// The name of the lab's forwarder from the engine's host (see
/// `Driver::publish`).
pub const PUBLISHER: &str = "_publish";

/// Where a lab's site is published on the engine's host.
#[derive(Debug, Clone, Copy)]
pub struct Publish<'a> {
    /// The network the forwarder joins (the users'), and its address there.
    pub network: &'a str,
    pub address: &'a str,
    /// The site's address on that network (the virtual IP, when there is
    /// one) and its port (443, or 80 without HTTPS).
    pub target: std::net::Ipv4Addr,
    pub port: u16,
    /// The host port asked for; 0: any free one.
    pub host_port: u16,
}

/// A piece of a command's output, as it comes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
}

/// A command's output as it comes (`logs --follow`); ends with the command.
pub type OutputStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Chunk>> + Send + 'static>>;

/// Applies plans to hosts.
pub trait Driver: Sync {
    /// The lab this driver is bound to.
    fn lab(&self) -> &str;
    /// The lab's hosts that exist now, running or not.
    fn hosts(&self) -> impl Future<Output = Result<Vec<Host>>> + Send;
    /// Creates what the hosts share (networks); idempotent.
    fn prepare(&self, plan: &Plan) -> impl Future<Output = Result<()>> + Send;
    /// Creates a host, not yet started; its structure hash is recorded.
    fn create(&self, plan: &Plan, server: &ServerPlan) -> impl Future<Output = Result<()>> + Send;
    /// Puts files on a host (created or running) with their modes and
    /// owners, each in place whole or not at all: a service never sees a
    /// file with the wrong owner, even if the caller is interrupted.
    fn put_files(
        &self,
        plan: &Plan,
        server: &str,
        files: &[FileSpec],
    ) -> impl Future<Output = Result<()>> + Send;
    /// Starts a created (or stopped) host: its init runs the before-start
    /// steps and the services.
    fn start(&self, plan: &Plan, server: &str) -> impl Future<Output = Result<()>> + Send;
    /// Puts `files` on a host just created and starts it; by default
    /// `put_files`, then `start`. (A Docker container takes them on its
    /// input as it starts: no archive into a container not yet running,
    /// which costs the engine a mount of its filesystem and a process.)
    fn start_with_files(
        &self,
        plan: &Plan,
        server: &str,
        files: &[FileSpec],
    ) -> impl Future<Output = Result<()>> + Send {
        async move {
            self.put_files(plan, server, files).await?;
            self.start(plan, server).await
        }
    }
    /// Runs a shell script on a running host.
    fn exec(&self, server: &str, script: &str) -> impl Future<Output = Result<ExecOutput>> + Send;
    /// Runs a shell script with extra environment variables (`NAME=value`)
    /// that must not appear on a command line (passwords).
    fn exec_env(
        &self,
        server: &str,
        script: &str,
        env: &[String],
    ) -> impl Future<Output = Result<ExecOutput>> + Send;
    /// Runs a shell script on a running host, handing its output on as it
    /// comes (for output that does not end, like `tail -F`); dropping the
    /// stream stops reading, not the script. By default, collected and then
    /// handed on whole.
    fn exec_stream(
        &self,
        server: &str,
        script: &str,
    ) -> impl Future<Output = Result<OutputStream>> + Send {
        async move {
            let out = self.exec(server, script).await?;
            let chunks = [
                Chunk::Stdout(out.stdout.into_bytes()),
                Chunk::Stderr(out.stderr.into_bytes()),
            ];
            let stream: OutputStream = Box::pin(futures_util::stream::iter(chunks.map(Ok)));
            Ok(stream)
        }
    }
    /// Stops a host the hard way (power cut, kernel panic): no clean shutdown.
    fn kill(&self, server: &str) -> impl Future<Output = Result<()>> + Send;
    /// Removes one host.
    fn remove(&self, server: &str) -> impl Future<Output = Result<()>> + Send;
    /// Stops a host cleanly (its services shut down as on a power-off
    /// button), before it is removed with data kept: a database flushes
    /// and a Galera node leaves its cluster. Nothing by default.
    fn stop(&self, _server: &str) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
    /// The data the lab's hosts keep apart from themselves (see [`Kept`]);
    /// none where hosts keep their own.
    fn kept(&self) -> impl Future<Output = Result<Vec<Kept>>> + Send {
        async { Ok(vec![]) }
    }
    /// Drops kept data for good (its host removed first).
    fn drop_kept(&self, _kept: &[Kept]) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
    /// Removes every object of the lab, and nothing else.
    fn destroy(&self, options: &DownOptions) -> impl Future<Output = Result<Destroyed>> + Send;
    /// Makes sure what hosts are made from is there (the node image on a
    /// Docker engine); nothing by default.
    fn ensure_ready(&self, _progress: &dyn Progress) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
    /// Runs a program with its arguments as given (no shell reads them on
    /// the way); by default, each quoted into a script for `exec`.
    fn exec_argv(
        &self,
        server: &str,
        argv: &[String],
    ) -> impl Future<Output = Result<ExecOutput>> + Send {
        let line: Vec<String> = argv.iter().map(|a| crate::shell::shell_quote(a)).collect();
        async move { self.exec(server, &line.join(" ")).await }
    }
    /// The last `lines` lines the host's init printed (a container's own
    /// log); empty where there is none apart from the services' logs.
    fn boot_log(
        &self,
        _server: &str,
        _lines: u32,
    ) -> impl Future<Output = Result<Option<String>>> + Send {
        async { Ok(None) }
    }
    /// Waits up to `seconds` for a host just created and started to say,
    /// through its init's output, that every service is ready
    /// ([`crate::supervise::BOOT_READY`]): `true` once it has. `false` when
    /// it said otherwise, its output ended, the time ran out, or the driver
    /// has no such output (SSH): ask the host itself then.
    fn boot_ready(
        &self,
        _server: &str,
        _seconds: u32,
    ) -> impl Future<Output = Result<bool>> + Send {
        async { Ok(false) }
    }
    /// What `destroy` says it removed: `container` or `host`.
    fn host_noun(&self) -> &'static str {
        "host"
    }
    /// Starts a host that is none of the stack's servers on its `network`
    /// at `address`: anyone on that network, probing the lab as the public
    /// would. It answers to [`STRANGER`] and goes with `remove` (or
    /// `destroy`). `false` where the driver has no such host (SSH).
    fn add_stranger(
        &self,
        _plan: &Plan,
        _network: &str,
        _address: &str,
    ) -> impl Future<Output = Result<bool>> + Send {
        async { Ok(false) }
    }
    /// Publishes the site on the engine's host, as the internet would
    /// reach it: a forwarder (answering to [`PUBLISHER`]) passes each
    /// connection to the site's address, so a failover that moves the
    /// virtual IP moves nothing here. The host port; `None` where hosts are
    /// reached as they are (SSH).
    fn publish(
        &self,
        _plan: &Plan,
        _at: Publish<'_>,
    ) -> impl Future<Output = Result<Option<u16>>> + Send {
        async { Ok(None) }
    }
    /// The host port the site is published on, if it is.
    fn published(&self, _port: u16) -> impl Future<Output = Result<Option<u16>>> + Send {
        async { Ok(None) }
    }
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
    fn lab(&self) -> &str {
        delegate!(self, d => d.lab())
    }
    async fn hosts(&self) -> Result<Vec<Host>> {
        delegate!(self, d => d.hosts().await)
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
    async fn exec(&self, server: &str, script: &str) -> Result<ExecOutput> {
        delegate!(self, d => d.exec(server, script).await)
    }
    async fn exec_env(&self, server: &str, script: &str, env: &[String]) -> Result<ExecOutput> {
        delegate!(self, d => d.exec_env(server, script, env).await)
    }
    async fn exec_stream(&self, server: &str, script: &str) -> Result<OutputStream> {
        delegate!(self, d => d.exec_stream(server, script).await)
    }
    async fn kill(&self, server: &str) -> Result<()> {
        delegate!(self, d => d.kill(server).await)
    }
    async fn remove(&self, server: &str) -> Result<()> {
        delegate!(self, d => d.remove(server).await)
    }
    async fn stop(&self, server: &str) -> Result<()> {
        delegate!(self, d => d.stop(server).await)
    }
    async fn kept(&self) -> Result<Vec<Kept>> {
        delegate!(self, d => d.kept().await)
    }
    async fn drop_kept(&self, kept: &[Kept]) -> Result<()> {
        delegate!(self, d => d.drop_kept(kept).await)
    }
    async fn destroy(&self, options: &DownOptions) -> Result<Destroyed> {
        delegate!(self, d => d.destroy(options).await)
    }
    async fn add_stranger(&self, plan: &Plan, network: &str, address: &str) -> Result<bool> {
        delegate!(self, d => d.add_stranger(plan, network, address).await)
    }
    async fn publish(&self, plan: &Plan, at: Publish<'_>) -> Result<Option<u16>> {
        delegate!(self, d => d.publish(plan, at).await)
    }
    async fn published(&self, port: u16) -> Result<Option<u16>> {
        delegate!(self, d => d.published(port).await)
    }
    async fn ensure_ready(&self, progress: &dyn Progress) -> Result<()> {
        delegate!(self, d => d.ensure_ready(progress).await)
    }
    async fn exec_argv(&self, server: &str, argv: &[String]) -> Result<ExecOutput> {
        delegate!(self, d => d.exec_argv(server, argv).await)
    }
    async fn boot_log(&self, server: &str, lines: u32) -> Result<Option<String>> {
        delegate!(self, d => d.boot_log(server, lines).await)
    }
    async fn start_with_files(&self, plan: &Plan, server: &str, files: &[FileSpec]) -> Result<()> {
        delegate!(self, d => d.start_with_files(plan, server, files).await)
    }
    async fn boot_ready(&self, server: &str, seconds: u32) -> Result<bool> {
        delegate!(self, d => d.boot_ready(server, seconds).await)
    }
    fn host_noun(&self) -> &'static str {
        delegate!(self, d => d.host_noun())
    }
}
