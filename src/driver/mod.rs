//! The boundary between infractl and the machines a lab runs on. Above it,
//! nothing names a backend's types; below it, one folder per backend
//! (`docker/`: containers on a Docker engine through bollard; `ssh/`: real
//! hosts over ssh2), listed once in `backends.rs`.
//!
//! - [`Driver`]: one lab's hosts — about ten operations every backend
//!   implements (hosts, prepare, create, put files, start, exec, kill,
//!   remove, destroy), object-safe: the executor (`apply`) and the commands
//!   hold a `Box<dyn Driver>`. What only some backends can do is a
//!   capability they opt into: [`Publisher`] (the site on the engine's
//!   host), [`Strangers`] (a host on the users' network), [`BootLog`] (a
//!   host's init output), [`Keeper`] (data kept apart from the hosts),
//!   [`Terminals`] (a shell on a host in a terminal).
//! - [`Engine`]: where labs run (a Docker engine, an inventory's hosts):
//!   drivers for its labs, the labs on it, its room; with [`Images`] and
//!   [`Checks`] where it makes what hosts are made from.
//! - [`Backend`]: how a command line ([`Choice`]) and a lab's record
//!   ([`Placement`], opaque above this line) name an engine of it.

use std::path::PathBuf;

use crate::error::Result;
use crate::progress::Progress;
use crate::render::plan::{FileSpec, Plan, ServerPlan};

pub mod archive;
mod backends;
pub mod docker;
pub mod ssh;

pub use backends::{engine_at, engine_for, named, node_image, real_hosts};

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
    pub services: Option<Vec<crate::render::supervise::ServiceStatus>>,
    /// The directories of the host kept apart from it (see `Keeper::kept`),
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
/// `Strangers::add_stranger`); no server has it (server names have no `_`).
pub const STRANGER: &str = "_stranger";

/// The name of the lab's forwarder from the engine's host (see
/// `Publisher::publish`).
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
    /// The host port asked for (0: any free one); none: no port of the
    /// engine's host, the site reached only through the engine
    /// ([`Publisher::connect`]).
    pub host_port: Option<u16>,
}

/// A byte stream both ways: a connection made through a backend.
pub trait Duplex: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}

impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> Duplex for T {}

/// A connection to a lab's site (see [`Publisher::connect`]).
pub type Connection = Box<dyn Duplex>;

/// A piece of a command's output, as it comes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
}

/// A command's output as it comes (`logs --follow`); ends with the command.
pub type OutputStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Chunk>> + Send + 'static>>;

/// Applies plans to one lab's hosts: the core every backend implements
/// (about ten operations), object-safe so that the executor and the
/// commands hold a `Box<dyn Driver>` and never know which backend it is.
/// What only some backends can do is a capability they opt into
/// ([`Publisher`], [`Strangers`], [`BootLog`], [`Keeper`]).
#[async_trait::async_trait]
pub trait Driver: Send + Sync {
    /// The lab this driver is bound to.
    fn lab(&self) -> &str;
    /// The lab's hosts that exist now, running or not.
    async fn hosts(&self) -> Result<Vec<Host>>;
    /// Creates what the hosts share (networks); idempotent.
    async fn prepare(&self, plan: &Plan) -> Result<()>;
    /// Creates a host, not yet started; its structure hash is recorded.
    async fn create(&self, plan: &Plan, server: &ServerPlan) -> Result<()>;
    /// Puts files on a host (created or running) with their modes and
    /// owners, each in place whole or not at all: a service never sees a
    /// file with the wrong owner, even if the caller is interrupted.
    async fn put_files(&self, plan: &Plan, server: &str, files: &[FileSpec]) -> Result<()>;
    /// Starts a created (or stopped) host: its init runs the before-start
    /// steps and the services.
    async fn start(&self, plan: &Plan, server: &str) -> Result<()>;
    /// Runs a shell script on a running host, with extra environment
    /// variables (`NAME=value`) that must not appear on a command line
    /// (passwords).
    async fn exec_env(&self, server: &str, script: &str, env: &[String]) -> Result<ExecOutput>;
    /// Stops a host the hard way (power cut, kernel panic): no clean shutdown.
    async fn kill(&self, server: &str) -> Result<()>;
    /// Removes one host.
    async fn remove(&self, server: &str) -> Result<()>;
    /// Removes every object of the lab, and nothing else.
    async fn destroy(&self, options: &DownOptions) -> Result<Destroyed>;

    // What every backend can do from the core, better where it knows how.

    /// Runs a shell script on a running host.
    async fn exec(&self, server: &str, script: &str) -> Result<ExecOutput> {
        self.exec_env(server, script, &[]).await
    }
    /// Runs a program with its arguments as given (no shell reads them on
    /// the way); by default, each quoted into a script for `exec`.
    async fn exec_argv(&self, server: &str, argv: &[String]) -> Result<ExecOutput> {
        let line: Vec<String> = argv.iter().map(|a| crate::shell::shell_quote(a)).collect();
        self.exec(server, &line.join(" ")).await
    }
    /// Runs a shell script on a running host, handing its output on as it
    /// comes (for output that does not end, like `tail -F`); dropping the
    /// stream stops reading, not the script. By default, collected and then
    /// handed on whole.
    async fn exec_stream(&self, server: &str, script: &str) -> Result<OutputStream> {
        let out = self.exec(server, script).await?;
        let chunks = [
            Chunk::Stdout(out.stdout.into_bytes()),
            Chunk::Stderr(out.stderr.into_bytes()),
        ];
        let stream: OutputStream = Box::pin(futures_util::stream::iter(chunks.map(Ok)));
        Ok(stream)
    }
    /// Puts `files` on a host just created and starts it; by default
    /// `put_files`, then `start`. (A Docker container takes them on its
    /// input as it starts: no archive into a container not yet running,
    /// which costs the engine a mount of its filesystem and a process.)
    async fn start_with_files(&self, plan: &Plan, server: &str, files: &[FileSpec]) -> Result<()> {
        self.put_files(plan, server, files).await?;
        self.start(plan, server).await
    }
    /// Stops a host cleanly (its services shut down as on a power-off
    /// button), before it is removed with data kept: a database flushes
    /// and a Galera node leaves its cluster. Nothing by default.
    async fn stop(&self, _server: &str) -> Result<()> {
        Ok(())
    }
    /// What `destroy` says it removed: `container` or `host`.
    fn host_noun(&self) -> &'static str {
        "host"
    }

    // The capabilities this backend opts into.

    /// Publishing the site on the machine that runs the lab.
    fn publisher(&self) -> Option<&dyn Publisher> {
        None
    }
    /// A host that is none of the servers, on the users' network.
    fn strangers(&self) -> Option<&dyn Strangers> {
        None
    }
    /// The output of a host's init, apart from its services' logs.
    fn boot(&self) -> Option<&dyn BootLog> {
        None
    }
    /// Data kept apart from the hosts, so that it outlives them.
    fn keeper(&self) -> Option<&dyn Keeper> {
        None
    }
    /// The hosts' changes as they happen.
    fn events(&self) -> Option<&dyn Events> {
        None
    }
    /// Shells on the hosts in a terminal, typed into by people.
    fn terminals(&self) -> Option<&dyn Terminals> {
        None
    }
}

/// Publishes a lab's site on the machine that runs it, as the internet
/// would reach it.
#[async_trait::async_trait]
pub trait Publisher: Send + Sync {
    /// A forwarder (answering to [`PUBLISHER`]) passes each connection to
    /// the site's address, so a failover that moves the virtual IP moves
    /// nothing here. The host port, when one is asked for.
    async fn publish(&self, plan: &Plan, at: Publish<'_>) -> Result<Option<u16>>;
    /// The host port the site is published on, if it is.
    async fn published(&self, port: u16) -> Result<Option<u16>>;
    /// A connection to the site's `port` as the forwarder reaches it, made
    /// through the engine itself (as `kubectl port-forward` goes through
    /// its API server): no port of the engine's host is needed, so a lab
    /// whose site is not published is still reached by the portal, on any
    /// engine the command line reaches.
    async fn connect(&self, port: u16) -> Result<Connection>;
}

/// Starts a host that is none of the stack's servers.
#[async_trait::async_trait]
pub trait Strangers: Send + Sync {
    /// A host on `network` at `address`: anyone on that network, probing
    /// the lab as the public would. It answers to [`STRANGER`] and goes
    /// with `remove` (or `destroy`).
    async fn add_stranger(&self, plan: &Plan, network: &str, address: &str) -> Result<()>;
}

/// What a host's init prints (a container's own log).
#[async_trait::async_trait]
pub trait BootLog: Send + Sync {
    /// Its last `lines` lines.
    async fn boot_log(&self, server: &str, lines: u32) -> Result<String>;
    /// Waits up to `seconds` for a host just created and started to say,
    /// through its init's output, that every service is ready
    /// ([`crate::render::supervise::BOOT_READY`]): `true` once it has; `false`
    /// when it said otherwise, its output ended or the time ran out (ask
    /// the host itself then).
    async fn boot_ready(&self, server: &str, seconds: u32) -> Result<bool>;
}

/// Data the lab's hosts keep apart from themselves (see [`Kept`]), where
/// the backend makes hosts anew.
#[async_trait::async_trait]
pub trait Keeper: Send + Sync {
    /// What is kept now.
    async fn kept(&self) -> Result<Vec<Kept>>;
    /// Drops kept data for good (its host removed first).
    async fn drop_kept(&self, kept: &[Kept]) -> Result<()>;
}

/// A change of one of the lab's hosts, as the backend tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub server: String,
    /// Whether the host runs after it, where the change says (a death, a
    /// start): the backend may tell of it before its list of hosts shows
    /// it. `None`: the list says (created, removed, health).
    pub running: Option<bool>,
}

/// The changes of a lab's hosts, each as it happens (see
/// [`Events::changes`]).
pub type ChangeStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Change> + Send + 'static>>;

/// Tells of the lab's hosts' changes as they happen, so that whoever shows
/// the lab looks again then rather than asking every host all the time.
#[async_trait::async_trait]
pub trait Events: Send + Sync {
    /// Each change of a server's host (created, started, died, stopped,
    /// paused, removed, its health), from about now on (a change of the
    /// last moments may be told again). The stream ends when the backend
    /// stops telling (the engine's connection broke): ask again then.
    async fn changes(&self) -> Result<ChangeStream>;
}

/// Opens shells on a lab's hosts in a terminal, as a person logs in.
#[async_trait::async_trait]
pub trait Terminals: Send + Sync {
    /// A login shell as root on `server` (bash, else sh, in a container;
    /// root's own over SSH) in a terminal of `cols` columns and `rows`
    /// rows, with `TERM=xterm-256color`.
    async fn terminal(&self, server: &str, cols: u16, rows: u16) -> Result<Terminal>;
}

/// What a terminal's shell writes, as it comes; ends when the shell does.
pub type TerminalOutput =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<bytes::Bytes>> + Send + 'static>>;

/// A shell in a terminal on a host (see [`Terminals`]): its output, its
/// input, and a handle on the terminal itself.
pub struct Terminal {
    pub output: TerminalOutput,
    /// What is typed, as a terminal's raw bytes (`\r`, `\x03`).
    pub input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
    pub control: Box<dyn TerminalControl>,
}

/// The terminal around a shell: its size, and its end.
#[async_trait::async_trait]
pub trait TerminalControl: Send + Sync {
    /// Gives it `cols` columns and `rows` rows (the shell gets SIGWINCH).
    async fn resize(&self, cols: u16, rows: u16) -> Result<()>;
    /// Hangs up, as closing a terminal window does: the shell and what it
    /// runs get SIGHUP, and the output ends.
    async fn hang_up(&self) -> Result<()>;
    /// Why the shell ended, once its output has, for people (`it exited`,
    /// `server-01 stopped`).
    async fn why_ended(&self) -> String;
}

/// What every driver can be asked, answered by its capabilities where it
/// has them and plainly where it has not.
impl dyn Driver + '_ {
    /// The data the lab keeps apart from its hosts; none where the backend
    /// keeps nothing apart.
    pub async fn kept(&self) -> Result<Vec<Kept>> {
        match self.keeper() {
            Some(k) => k.kept().await,
            None => Ok(vec![]),
        }
    }

    /// Drops kept data for good (see [`Keeper::drop_kept`]).
    pub async fn drop_kept(&self, kept: &[Kept]) -> Result<()> {
        match self.keeper() {
            Some(k) if !kept.is_empty() => k.drop_kept(kept).await,
            _ => Ok(()),
        }
    }

    /// The last `lines` lines a host's init printed; none where the
    /// backend has no such output apart from the services' logs.
    pub async fn boot_log(&self, server: &str, lines: u32) -> Result<Option<String>> {
        match self.boot() {
            Some(b) => b.boot_log(server, lines).await.map(Some),
            None => Ok(None),
        }
    }

    /// Whether a host just started said every service is ready (see
    /// [`BootLog::boot_ready`]); `false` where the backend has no such
    /// output: ask the host itself then.
    pub async fn boot_ready(&self, server: &str, seconds: u32) -> Result<bool> {
        match self.boot() {
            Some(b) => b.boot_ready(server, seconds).await,
            None => Ok(false),
        }
    }

    /// Starts a stranger on `network` (see [`Strangers::add_stranger`]);
    /// `false` where the backend has none.
    pub async fn add_stranger(&self, plan: &Plan, network: &str, address: &str) -> Result<bool> {
        match self.strangers() {
            Some(s) => s.add_stranger(plan, network, address).await.map(|()| true),
            None => Ok(false),
        }
    }

    /// The host port the site is published on, if it is.
    pub async fn published(&self, port: u16) -> Result<Option<u16>> {
        match self.publisher() {
            Some(p) => p.published(port).await,
            None => Ok(None),
        }
    }
}

/// What the command line says of where labs run, as written: no
/// backend's types (each backend reads what names it).
#[derive(Debug, Clone, Default)]
pub struct Choice {
    /// A Docker engine (`--engine URL`).
    pub engine: Option<String>,
    /// A Docker context whose engine to use (`--context NAME`).
    pub context: Option<String>,
    /// Hosts over SSH, listed in this inventory.
    pub inventory: Option<PathBuf>,
    /// known_hosts file for SSH.
    pub known_hosts: Option<PathBuf>,
    /// Record unknown hosts' keys (never changed ones).
    pub accept_new_host_keys: bool,
    /// An engine already resolved, over the flags (a class's labs, each
    /// on its own engine).
    pub pinned: Option<Placement>,
}

/// Where a lab runs, as the backend that placed it wrote it for the lab's
/// record: opaque to everything above the drivers, which only store it,
/// compare it and show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Placement(pub(crate) serde_json::Value);

/// A lab found on an engine.
#[derive(Debug, Clone)]
pub struct LabOnEngine {
    pub lab: String,
    /// The stack it runs.
    pub stack: String,
    pub hosts: Vec<Host>,
}

/// Where labs run: a Docker engine, the hosts of an SSH inventory. Made
/// once per command by [`engine_for`] (or per engine of a class).
#[async_trait::async_trait]
pub trait Engine: Send + Sync + std::any::Any {
    /// What the lab's record keeps of it, so that later commands find
    /// the lab there by its name alone.
    fn placement(&self) -> Option<Placement>;
    /// Where it is, as tables show it.
    fn describe(&self) -> String;
    /// Hosts are real machines: the plan is made for them
    /// (`Plan::for_real_hosts`), and their addresses are their own.
    fn real_hosts(&self) -> bool {
        false
    }
    /// A driver for the lab of `topo`.
    async fn driver(&self, topo: &crate::topology::Topology) -> Result<Box<dyn Driver>>;
    /// A driver for a lab known by its name alone, where the engine's
    /// objects say what is the lab's (labels); `None` where the stack is
    /// needed (an inventory is matched to it).
    fn driver_by_name(&self, _lab: &str) -> Option<Box<dyn Driver>> {
        None
    }
    /// The subnets of the engine's networks, each with the lab it belongs
    /// to; `None` where hosts keep the addresses they have.
    async fn subnets_in_use(&self) -> Result<Option<Vec<(Option<String>, crate::stack::Subnet)>>> {
        Ok(None)
    }
    /// The labs on it, each with its stack and hosts.
    async fn labs(&self) -> Result<Vec<LabOnEngine>> {
        Ok(vec![])
    }
    /// The memory of its machine, in MB.
    async fn memory_mb(&self) -> Result<u64> {
        Ok(0)
    }
    /// What hosts are made from, where the engine makes it.
    fn images(&self) -> Option<&dyn Images> {
        None
    }
    /// Each rendered file checked by the program that reads it.
    fn checks(&self) -> Option<&dyn Checks> {
        None
    }
    /// Makes sure what hosts are made from is there: already, copied from
    /// the first of `sources` that has it, or made.
    async fn ensure_ready_from(
        &self,
        _sources: &[&dyn Engine],
        _progress: &dyn Progress,
    ) -> Result<()> {
        Ok(())
    }
}

/// A backend: how the command line and a lab's record name its engines.
#[async_trait::async_trait]
pub trait Backend: Sync {
    /// Whether `choice` asks for this backend.
    fn chosen(&self, choice: &Choice) -> bool;
    /// Its hosts are real machines (see [`real_hosts`]).
    fn real_hosts(&self) -> bool {
        false
    }
    /// The engine lab `lab` goes to (its record's `recorded`, when it has one).
    async fn engine(
        &self,
        lab: &str,
        choice: &Choice,
        recorded: Option<&Placement>,
    ) -> Result<Box<dyn Engine>>;
    /// The engine a placement names, for the labs recorded there.
    async fn engine_at(&self, placement: &Placement) -> Option<Result<Box<dyn Engine>>>;
    /// The engine the command line (or environment) names, for the
    /// commands about every lab on it; `None` where it names no engine
    /// (hosts, which belong to no lab until a stack is matched to them).
    fn named(&self, choice: &Choice) -> Result<Option<Placement>>;
    /// The engine of this backend the command line names outright (its
    /// flags, an engine pinned; not the environment), over a lab's record
    /// of another backend's: refused (see [`engine_for`]).
    fn asked(&self, choice: &Choice) -> Result<Option<Placement>>;
    /// Whether two placements of this backend are the same engine.
    fn same(&self, a: &Placement, b: &Placement) -> bool;
    /// How this backend names its placement for people, as tables show
    /// it; `None`: not its.
    fn describe(&self, p: &Placement) -> Option<String>;
    /// Its placement in a sentence (`the engine unix:///…`, `the hosts of
    /// /srv/lab/hosts.yaml`).
    fn whereabouts(&self, p: &Placement) -> Option<String>;
    /// The machine a site published at `p` is reached at.
    fn host_name(&self, p: &Placement) -> Option<String>;
    /// The flag that names `p` on the command line.
    fn flag(&self, p: &Placement) -> Option<String>;
}

/// What hosts are made from, where the backend makes it itself (the node
/// image of a Docker engine).
#[async_trait::async_trait]
pub trait Images: Send + Sync {
    /// Makes it unless it is there (`force`: anew); what was done.
    async fn build(
        &self,
        mirror: Option<&str>,
        force: bool,
        progress: &dyn Progress,
    ) -> Result<String>;
    /// What it is, whether it is there, what it holds.
    async fn show(&self) -> Result<String>;
    /// Removes this version's (`old`: every other version's); what went.
    async fn remove(&self, old: bool) -> Result<String>;
}

/// Each rendered file run through the program that will read it
/// (`nginx -t`, `haproxy -c`, ...), on hosts made for that and gone after.
#[async_trait::async_trait]
pub trait Checks: Send + Sync {
    /// One result per check of the plan.
    async fn check(
        &self,
        plan: &Plan,
        progress: std::sync::Arc<dyn Progress>,
    ) -> Result<Vec<CheckResult>>;
}

/// Result of one check.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckResult {
    pub server: String,
    pub program: String,
    pub file: String,
    pub ok: bool,
    /// The program's own message when it failed.
    pub message: String,
}
