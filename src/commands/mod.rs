//! One function per CLI command, each thin: parse nothing, print results to
//! the writer it is given (status lines go through `Progress::note`), return
//! the exit code. The CLI (`crate::cli`, `main.rs`) parses the arguments.

use std::io::Write;
use std::path::PathBuf;

use crate::driver::docker::endpoint::Endpoint;
use crate::error::{Error, Result};

pub mod alerts;
pub mod chaos;
pub mod class;
pub mod completions;
pub mod diagram;
pub mod docs;
pub mod down;
pub mod exec;
pub mod explain;
pub mod image;
pub mod list;
pub mod logs;
pub mod man;
pub mod open;
pub mod render;
pub mod report;
pub mod schema;
pub mod status;
pub mod up;
pub mod validate;
pub mod verify;

/// Options every command shares.
#[derive(Debug, Clone, Default)]
pub struct Global {
    /// Root of the per-stack state directories.
    pub state_dir: Option<PathBuf>,
    /// The lab's name (`--lab`), when not the stack's own.
    pub lab: Option<String>,
    /// No progress or status output (results and errors still).
    pub quiet: bool,
    /// Apply over SSH to the hosts of this inventory (else: Docker).
    pub inventory: Option<PathBuf>,
    /// known_hosts file for the SSH driver.
    pub known_hosts: Option<PathBuf>,
    /// Record unknown hosts' keys (never changed ones).
    pub accept_new_host_keys: bool,
    /// The Docker engine (`--engine URL`).
    pub engine: Option<String>,
    /// The Docker context whose engine to use (`--context NAME`).
    pub context: Option<String>,
    /// An engine already resolved, over the flags (see `Global::on`).
    pub pinned: Option<Endpoint>,
}

impl Global {
    /// The same options with the engine named outright (a class's labs,
    /// each on its own engine).
    pub fn on(&self, engine: &Endpoint) -> Global {
        Global {
            pinned: Some(engine.clone()),
            ..self.clone()
        }
    }
}

/// The engine a lab's commands go to: the one its record says it runs
/// on, else the one the options name, else the one the environment names
/// (DOCKER_HOST, DOCKER_CONTEXT, the current context, the local socket).
/// An engine named outright — `--engine`, `--context`, or DOCKER_HOST or
/// DOCKER_CONTEXT over the flags' absence — that is not the recorded one
/// is refused: the lab is not there, and no command goes anywhere but
/// where it was asked. A lab moves to another engine only through `down`.
pub fn engine_of(lab: &str, global: &Global) -> Result<Endpoint> {
    let root = crate::state::root(global.state_dir.as_deref());
    let recorded =
        crate::lab::read(&crate::state::StateDir::new(&root, lab)).and_then(|r| r.engine);
    let flag = explicit_engine(global)?;
    // The environment matters only for a recorded lab the flags leave open.
    let env = match (&flag, &recorded) {
        (None, Some(_)) => Endpoint::named_by_env(&crate::driver::docker::endpoint::Env::read())?,
        _ => None,
    };
    match choose_for_lab(lab, flag, env, recorded)? {
        Some(e) => Ok(e),
        None => Endpoint::ambient(),
    }
}

/// [`engine_of`]'s choice, from what names an engine: the flags, the
/// environment (and which variable), the lab's record. None: the engine
/// the environment names by default.
pub fn choose_for_lab(
    lab: &str,
    flag: Option<Endpoint>,
    env: Option<(Endpoint, &str)>,
    recorded: Option<Endpoint>,
) -> Result<Option<Endpoint>> {
    let Some(there) = recorded else {
        return Ok(flag);
    };
    let (asked, by) = match (flag, env) {
        (Some(f), _) => (f, None),
        (None, Some((e, var))) => (e, Some(var)),
        (None, None) => return Ok(Some(there)),
    };
    if asked.same_engine(&there) {
        return Ok(Some(there));
    }
    let down = format!(
        "`infractl down {lab} {}` frees the lab for another engine",
        there.flag()
    );
    Err(match by {
        None => Error::usage(format!(
            "lab `{lab}` runs on the engine {there}, not {asked}"
        ))
        .with_hint(format!(
            "leave --engine and --context out, or name the lab's engine ({}); {down}",
            there.flag()
        )),
        Some(var) => Error::usage(format!(
            "lab `{lab}` runs on the engine {there}, not {asked}, which {var} names"
        ))
        .with_hint(format!(
            "say which engine: `{}` for the lab's, or unset {var}; {down}",
            there.flag()
        )),
    })
}

/// The engine the command line names, if it names one.
pub fn explicit_engine(global: &Global) -> Result<Option<Endpoint>> {
    if let Some(e) = &global.pinned {
        return Ok(Some(e.clone()));
    }
    Endpoint::explicit(global.engine.as_deref(), global.context.as_deref())
}

/// The driver the options ask for: SSH when an inventory is given, else
/// the Docker engine.
pub async fn driver(
    global: &Global,
    topo: &crate::topology::Topology,
) -> Result<crate::driver::AnyDriver> {
    use crate::driver::AnyDriver;
    let lab = &topo.stack.name;
    match &global.inventory {
        None => Ok(AnyDriver::Docker(
            crate::driver::docker::DockerEngine::connect(engine_of(lab, global)?)
                .await?
                .lab(lab),
        )),
        Some(inv) => {
            let hosts = crate::inventory::load(inv, topo)?;
            let known = global.known_hosts.clone().unwrap_or_else(|| {
                std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("/root"))
                    .join(".ssh/known_hosts")
            });
            Ok(AnyDriver::Ssh(crate::driver::ssh::SshDriver::new(
                lab,
                hosts,
                known,
                global.accept_new_host_keys,
            )))
        }
    }
}

/// What a failure to write the command's output says (a closed pipe is
/// no failure: the binary exits quietly).
pub const WRITE_OUTPUT: &str = "cannot write output";

/// A driver for a lab, for the commands that work on a running lab by
/// name alone: over SSH the stack must load (the inventory is matched to
/// it); on Docker a lab's name is enough (labels are the truth), so a
/// stack file that is gone or broken does not stop them. The lab's name
/// is `driver.lab()`.
pub async fn lab_driver(stack: &str, global: &Global) -> Result<crate::driver::AnyDriver> {
    let err = match resolve(stack, global) {
        Ok(lab) => return driver(global, &crate::topology::Topology::build(lab.stack)).await,
        Err(e) => e,
    };
    let name = global.lab.as_deref().unwrap_or(stack);
    if global.inventory.is_some() || !crate::stack::valid_name(name) {
        return Err(err);
    }
    Ok(crate::driver::AnyDriver::Docker(
        crate::driver::docker::DockerEngine::connect(engine_of(name, global)?)
            .await?
            .lab(name),
    ))
}

/// The site's address on the engine's host, published at `port`: this
/// machine (`localhost`) for a local engine, else the engine's host.
pub fn site_url(topo: &crate::topology::Topology, engine: &Endpoint, port: u16) -> String {
    let scheme = topo.site_scheme();
    let host = match engine.host_name() {
        Some(h) if h.contains(':') => format!("[{h}]"),
        Some(h) => h.to_string(),
        None => "localhost".into(),
    };
    format!("{scheme}://{host}:{port}/")
}

/// `1 server`, `3 servers`.
pub(crate) fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

pub(crate) fn emit(out: &mut dyn Write, text: &str) -> Result<()> {
    out.write_all(text.as_bytes())
        .map_err(|e| Error::caused(WRITE_OUTPUT, e))
}

pub(crate) fn emit_json(out: &mut dyn Write, value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value).expect("serializable") + "\n";
    emit(out, &text)
}

/// A loaded stack: its topology, secrets and plan (for real hosts when an
/// inventory is given).
pub struct Loaded {
    pub topo: crate::topology::Topology,
    pub secrets: crate::state::Secrets,
    pub plan: crate::plan::Plan,
    pub state: crate::state::StateDir,
}

/// The lab a command names: a stack (as `--lab`, or its own lab) or a lab
/// by its name alone (see `lab::resolve`).
pub fn resolve(stack: &str, global: &Global) -> Result<crate::lab::Lab> {
    let root = crate::state::root(global.state_dir.as_deref());
    crate::lab::resolve(stack, global.lab.as_deref(), &root)
}

/// Loads the stack, its secrets, and renders its plan.
pub fn load(stack: &str, global: &Global) -> Result<Loaded> {
    load_lab(resolve(stack, global)?, global)
}

/// Loads a resolved lab's secrets and renders its plan.
pub fn load_lab(lab: crate::lab::Lab, global: &Global) -> Result<Loaded> {
    let topo = crate::topology::Topology::build(lab.stack);
    let root = crate::state::root(global.state_dir.as_deref());
    let state = crate::state::StateDir::new(&root, &topo.stack.name);
    let mut names = topo.stack.tls.as_ref().map(|t| t.names.clone());
    // A site published on the engine's host is opened as
    // https://localhost:PORT/ (or the engine's host): the certificate
    // names it too.
    let record = crate::lab::read(&state);
    if let (Some(names), Some(r)) = (names.as_mut(), &record) {
        if r.publish.is_some() {
            names.push("localhost".into());
            if let Some(h) = r.engine.as_ref().and_then(Endpoint::host_name) {
                names.push(h.to_string());
            }
        }
    }
    let mut secrets = state.secrets(&topo.stack.name, names.as_deref())?;
    if !crate::components::dns::servers(&topo).is_empty() {
        let digest = crate::components::dns::records_digest(&topo);
        let first = crate::components::dns::first_serial(&digest);
        secrets.zone_serial = Some(state.zone_serial(&digest, first)?);
    }
    let plan = crate::render::plan(&topo, &secrets, &crate::image::reference())?;
    let plan = if global.inventory.is_some() {
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
) -> Result<(crate::topology::Topology, crate::plan::Plan)> {
    let l = load(stack, global)?;
    Ok((l.topo, l.plan))
}

/// A running lab, locked for `what` (verify and chaos stop servers: no
/// `up` meanwhile), with its driver.
pub struct RunningLab {
    pub loaded: Loaded,
    pub driver: crate::driver::AnyDriver,
    _lock: crate::state::StackLock,
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
    use crate::driver::Driver;
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

/// A text table: columns padded to their widest cell, the last unpadded.
pub fn table<const N: usize>(head: [&str; N], rows: &[[String; N]]) -> String {
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.to_vec()).collect();
    table_of(&head, &rows)
}

/// [`table`] for a number of columns known only at run time.
pub fn table_of(head: &[&str], rows: &[Vec<String>]) -> String {
    let n = head.len();
    let mut w: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(n) {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == n {
                l.push_str(c);
            } else {
                l.push_str(&format!("{c:<width$}  ", width = w[i]));
            }
        }
        l.trim_end().to_string() + "\n"
    };
    let mut out = line(head.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(url: &str) -> Endpoint {
        Endpoint::parse(url, None).unwrap()
    }

    #[test]
    fn a_labs_engine_is_its_records_and_another_named_outright_is_refused() {
        let here = Endpoint::local();
        let there = at("tcp://192.0.2.7:2375");
        let env = |e: &Endpoint| Some((e.clone(), "DOCKER_HOST"));
        // Nothing named: the record's, else the default.
        assert_eq!(
            choose_for_lab("x", None, None, Some(there.clone())).unwrap(),
            Some(there.clone())
        );
        assert_eq!(choose_for_lab("x", None, None, None).unwrap(), None);
        // Named and agreeing, or no record: what is named.
        assert_eq!(
            choose_for_lab("x", None, env(&there), Some(there.clone())).unwrap(),
            Some(there.clone())
        );
        assert_eq!(
            choose_for_lab("x", Some(there.clone()), None, None).unwrap(),
            Some(there.clone())
        );
        // The flag over the environment: naming the lab's engine settles it.
        assert_eq!(
            choose_for_lab("x", Some(here.clone()), env(&there), Some(here.clone())).unwrap(),
            Some(here.clone())
        );
        // The environment naming another engine: an error, with the flag
        // that says which.
        let e = choose_for_lab("x", None, env(&there), Some(here.clone())).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::EXIT_INPUT);
        assert_eq!(
            e.report(),
            "error: lab `x` runs on the engine unix:///var/run/docker.sock, not tcp://192.0.2.7:2375, which DOCKER_HOST names
  = hint: say which engine: `--engine unix:///var/run/docker.sock` for the lab's, or unset DOCKER_HOST; `infractl down x --engine unix:///var/run/docker.sock` frees the lab for another engine
"
        );
        // A flag naming another engine, as before.
        let e = choose_for_lab("x", Some(there.clone()), None, Some(here)).unwrap_err();
        assert!(e
            .report()
            .starts_with("error: lab `x` runs on the engine unix:///var/run/docker.sock, not tcp://192.0.2.7:2375\n"));
        // A lab found through a context is named by it.
        let mut school = there.clone();
        school.context = Some("school".into());
        let e = choose_for_lab(
            "x",
            None,
            Some((Endpoint::local(), "DOCKER_CONTEXT")),
            Some(school),
        )
        .unwrap_err();
        assert!(e
            .report()
            .contains("`--context school` for the lab's, or unset DOCKER_CONTEXT"));
    }
}
