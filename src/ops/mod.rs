//! Operations on labs, under the commands: the options every command
//! shares ([`Global`]), a lab resolved, loaded and placed on its engine,
//! a running lab opened for verify and chaos. The commands (`commands`)
//! and the classes (`class`) both stand on these, and print nothing here.

use std::path::PathBuf;

use crate::driver::{Choice, Driver, Engine, Placement};
use crate::error::{Error, Result};

pub mod check;
pub mod status;
pub mod up;

/// Options every command shares, resolved once from the command line.
#[derive(Debug, Clone, Default)]
pub struct Global {
    /// Root of the per-stack state directories (`root()`: the default's
    /// when none is given).
    pub state_dir: Option<PathBuf>,
    /// The lab's name (`--lab`), when not the stack's own.
    pub lab: Option<String>,
    /// No progress or status output (results and errors still).
    pub quiet: bool,
    /// Where labs run, as the command line says it.
    pub choice: Choice,
}

impl Global {
    /// The same options with the engine named outright (a class's labs,
    /// each on its own engine).
    pub fn on(&self, engine: &Placement) -> Global {
        let mut global = self.clone();
        global.choice.pinned = Some(engine.clone());
        global
    }

    /// The same options with the lab named `lab` (`--lab`).
    pub fn for_lab(&self, lab: Option<String>) -> Global {
        Global {
            lab,
            ..self.clone()
        }
    }

    /// Root of the per-stack state directories.
    pub fn root(&self) -> PathBuf {
        crate::lab::state::root(self.state_dir.as_deref())
    }

    /// The state directory of lab `lab`.
    pub fn state(&self, lab: &str) -> crate::lab::state::StateDir {
        crate::lab::state::StateDir::new(&self.root(), lab)
    }
}

/// The engine a lab's commands go to: the one its record says it runs
/// on, else the one the options name, else the one the environment names.
/// Another engine named outright is refused (see the backend's choice): a
/// lab moves to another engine only through `down`.
pub async fn engine_of(lab: &str, global: &Global) -> Result<Box<dyn Engine>> {
    let recorded = crate::lab::read(&global.state(lab)).and_then(|r| r.engine);
    crate::driver::engine_for(lab, &global.choice, recorded.as_ref()).await
}

/// Where the lab a command names (a stack, or a lab by its name) runs,
/// as its record says; `None` without a record, or once it is down.
pub fn recorded(stack: &str, global: &Global) -> Option<Placement> {
    let name = match resolve(stack, global) {
        Ok(lab) => lab.stack.name,
        Err(_) => global.lab.clone().unwrap_or_else(|| stack.to_string()),
    };
    crate::lab::read(&global.state(&name))?.engine
}

/// Whether the lab a command names runs on real machines (see
/// `driver::real_hosts`): as its record says, else as the options do.
pub fn real_hosts(stack: &str, global: &Global) -> bool {
    crate::driver::real_hosts(&global.choice, recorded(stack, global).as_ref())
}

/// The driver for the lab of `topo`, on its engine.
pub async fn driver(global: &Global, topo: &crate::topology::Topology) -> Result<Box<dyn Driver>> {
    engine_of(&topo.stack.name, global)
        .await?
        .driver(topo)
        .await
}

/// A driver for a lab, for the commands that work on a running lab by
/// name alone: over SSH the stack must load (the recorded inventory is
/// matched to it); on Docker a lab's name is enough (labels are the truth), so a
/// stack file that is gone or broken does not stop them. The lab's name
/// is `driver.lab()`.
pub async fn lab_driver(stack: &str, global: &Global) -> Result<Box<dyn Driver>> {
    let err = match resolve(stack, global) {
        Ok(lab) => return driver(global, &crate::topology::Topology::build(lab.stack)).await,
        Err(e) => e,
    };
    let name = global.lab.as_deref().unwrap_or(stack);
    if !crate::stack::valid_name(name) {
        return Err(err);
    }
    engine_of(name, global)
        .await?
        .driver_by_name(name)
        .ok_or(err)
}

/// The site's address on the engine's host, published at `port`: this
/// machine (`localhost`) for a local engine, else the engine's host.
pub fn site_url(topo: &crate::topology::Topology, engine: &Placement, port: u16) -> String {
    let scheme = topo.site_scheme();
    let host = match engine.host_name() {
        Some(h) if h.contains(':') => format!("[{h}]"),
        Some(h) => h.to_string(),
        None => "localhost".into(),
    };
    format!("{scheme}://{host}:{port}/")
}

/// A loaded stack: its topology, secrets and plan (for real hosts when the
/// lab runs on them, or an inventory is given).
pub struct Loaded {
    pub topo: crate::topology::Topology,
    pub secrets: crate::lab::state::Secrets,
    pub plan: crate::render::plan::Plan,
    pub state: crate::lab::state::StateDir,
}

/// The lab a command names: a stack (as `--lab`, or its own lab) or a lab
/// by its name alone (see `lab::resolve`).
pub fn resolve(stack: &str, global: &Global) -> Result<crate::lab::Lab> {
    crate::lab::resolve(stack, global.lab.as_deref(), &global.root())
}

/// Loads the stack, its secrets, and renders its plan.
pub fn load(stack: &str, global: &Global) -> Result<Loaded> {
    load_lab(resolve(stack, global)?, global)
}

/// Loads a resolved lab's secrets and renders its plan.
pub fn load_lab(lab: crate::lab::Lab, global: &Global) -> Result<Loaded> {
    let topo = crate::topology::Topology::build(lab.stack);
    let state = global.state(&topo.stack.name);
    let mut names = topo.stack.tls.as_ref().map(|t| t.names.clone());
    // A site published on the engine's host is opened as
    // https://localhost:PORT/ (or the engine's host): the certificate
    // names it too.
    let record = crate::lab::read(&state);
    if let (Some(names), Some(r)) = (names.as_mut(), &record) {
        if r.publish.is_some() {
            names.push("localhost".into());
            if let Some(h) = r.engine.as_ref().and_then(Placement::host_name) {
                names.push(h);
            }
        }
    }
    let mut secrets = state.secrets(&topo.stack.name, names.as_deref())?;
    if !crate::components::dns::servers(&topo).is_empty() {
        let digest = crate::components::dns::records_digest(&topo);
        let first = crate::components::dns::first_serial(&digest);
        secrets.zone_serial = Some(state.zone_serial(&digest, first)?);
    }
    let plan = crate::render::plan(&topo, &secrets, &crate::driver::node_image())?;
    let placed = record.as_ref().and_then(|r| r.engine.as_ref());
    let plan = if crate::driver::real_hosts(&global.choice, placed) {
        plan.for_real_hosts()
    } else {
        plan
    };
    Ok(Loaded {
        topo,
        secrets,
        plan,
        state,
    })
}

/// Loads the stack, its secrets, and renders its plan.
pub fn plan_for(
    stack: &str,
    global: &Global,
) -> Result<(crate::topology::Topology, crate::render::plan::Plan)> {
    let l = load(stack, global)?;
    Ok((l.topo, l.plan))
}

/// A running lab, locked for `what` (verify and chaos stop servers: no
/// `up` meanwhile), with its driver.
pub struct RunningLab {
    pub loaded: Loaded,
    pub driver: Box<dyn Driver>,
    _lock: crate::lab::state::StackLock,
}

/// The lab, every server running: an error names those that are not.
pub async fn running_lab(stack: &str, what: &str, global: &Global) -> Result<RunningLab> {
    open_lab(stack, what, global, true).await
}

/// The lab with at least one server running (verify grades the rest as
/// down); an error when none runs: the lab is not up.
pub async fn lab_to_verify(stack: &str, what: &str, global: &Global) -> Result<RunningLab> {
    open_lab(stack, what, global, false).await
}

async fn open_lab(stack: &str, what: &str, global: &Global, all: bool) -> Result<RunningLab> {
    let loaded = load(stack, global)?;
    let lock = loaded.state.lock(what)?;
    let driver = driver(global, &loaded.topo).await?;
    let hosts = driver.hosts().await?;
    let missing: Vec<&str> = loaded
        .plan
        .servers
        .iter()
        .filter(|s| !hosts.iter().any(|h| h.server == s.name && h.running))
        .map(|s| s.name.as_str())
        .collect();
    if !missing.is_empty() && (all || missing.len() == loaded.plan.servers.len()) {
        return Err(Error::failure(format!(
            "lab `{}` is not (fully) up: {} not running",
            loaded.plan.stack,
            missing.join(", ")
        ))
        .with_hint(format!("`infractl up {stack}` first")));
    }
    Ok(RunningLab {
        loaded,
        driver,
        _lock: lock,
    })
}
