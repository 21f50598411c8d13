//! One function per CLI command, each thin: parse nothing, print to the
//! writer it is given, return the exit code. The CLI (`main.rs`) parses
//! arguments into the option structs here.

use std::io::Write;
use std::path::PathBuf;

use crate::error::{Error, Result};

pub mod chaos;
pub mod diagram;
pub mod down;
pub mod exec;
pub mod explain;
pub mod image;
pub mod list;
pub mod logs;
pub mod render;
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
    /// No progress output.
    pub quiet: bool,
    /// Apply over SSH to the hosts of this inventory (else: Docker).
    pub inventory: Option<PathBuf>,
    /// known_hosts file for the SSH driver.
    pub known_hosts: Option<PathBuf>,
    /// Record unknown hosts' keys (never changed ones).
    pub accept_new_host_keys: bool,
}

/// The driver the options ask for: SSH when an inventory is given, else
/// the Docker engine.
pub async fn driver(
    global: &Global,
    topo: &crate::topology::Topology,
) -> Result<crate::driver::AnyDriver> {
    use crate::driver::AnyDriver;
    match &global.inventory {
        None => Ok(AnyDriver::Docker(
            crate::driver::docker::DockerDriver::connect().await?,
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
                hosts,
                known,
                global.accept_new_host_keys,
            )))
        }
    }
}

pub(crate) fn emit(out: &mut dyn Write, text: &str) -> Result<()> {
    out.write_all(text.as_bytes())
        .map_err(|e| Error::failure(format!("cannot write output: {e}")))
}

pub(crate) fn emit_json(out: &mut dyn Write, value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value).expect("serializable") + "\n";
    emit(out, &text)
}

/// Loads the stack, its secrets, and renders its plan.
pub fn plan_for(
    stack: &str,
    global: &Global,
) -> Result<(crate::topology::Topology, crate::plan::Plan)> {
    let topo = crate::stack::load(stack)?;
    let root = crate::state::root(global.state_dir.as_deref());
    let state = crate::state::StateDir::new(&root, &topo.stack.name);
    let names = topo.stack.tls.as_ref().map(|t| t.names.clone());
    let secrets = state.secrets(&topo.stack.name, names.as_deref())?;
    let plan = crate::render::plan(&topo, &secrets, &crate::image::reference())?;
    let plan = if global.inventory.is_some() {
        plan.for_real_hosts()
    } else {
        plan
    };
    Ok((topo, plan))
}
