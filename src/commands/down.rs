//! `infractl down`: removes every container, network and volume labelled
//! with the stack, and nothing else.

use std::io::Write;

use super::{emit, emit_json, Global};
use crate::driver::docker::DockerDriver;
use crate::driver::Driver;
use crate::error::{Error, Result};
use crate::state::StateDir;

pub async fn run(
    stack: &str,
    purge: bool,
    json: bool,
    global: &Global,
    out: &mut dyn Write,
) -> Result<i32> {
    // A stack file need not load to be taken down: the labels say what it owns.
    let topo = match crate::stack::load(stack) {
        Ok(t) => Some(t),
        Err(_) if crate::stack::valid_name(stack) && global.inventory.is_none() => None,
        Err(e) => return Err(e),
    };
    let name = topo
        .as_ref()
        .map_or_else(|| stack.to_string(), |t| t.stack.name.clone());
    let state = StateDir::new(&crate::state::root(global.state_dir.as_deref()), &name);
    let _lock = state.lock("down")?;
    let driver = match &topo {
        Some(t) => super::driver(global, t).await?,
        None => crate::driver::AnyDriver::Docker(DockerDriver::connect().await?),
    };
    let gone = driver.destroy(&name).await?;
    crate::apply::forget_applied(&state);
    if purge && state.path.exists() {
        std::fs::remove_dir_all(&state.path)
            .map_err(|e| Error::failure(format!("cannot remove {}: {e}", state.path.display())))?;
    }
    if json {
        emit_json(
            out,
            &serde_json::json!({ "stack": name, "removed": gone, "purged": purge }),
        )?;
        return Ok(0);
    }
    let mut text = if gone.hosts.is_empty() && gone.networks.is_empty() && gone.volumes.is_empty() {
        format!("Stack `{name}` is not up: nothing to remove.\n")
    } else {
        format!(
            "Stack `{name}` is down: removed {} containers ({}), {} networks, {} volumes.\n",
            gone.hosts.len(),
            gone.hosts.join(", "),
            gone.networks.len(),
            gone.volumes.len()
        )
    };
    if purge {
        text.push_str(&format!(
            "Deleted its state (passwords, CA, keys): {}\n",
            state.path.display()
        ));
    }
    emit(out, &text)?;
    Ok(0)
}
