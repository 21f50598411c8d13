//! `infractl down`: removes every container, network and volume labelled
//! with the stack, and nothing else; over SSH, stops and forgets the
//! services and removes the files infractl placed on each host (and the
//! packages it installed, with `--purge-packages`).

use std::io::Write;

use super::{emit, emit_json, Global};

use crate::error::{Context, Error, Result};

pub async fn run(args: &crate::cli::DownArgs, global: &Global, out: &mut dyn Write) -> Result<i32> {
    let crate::cli::DownArgs {
        stack,
        purge,
        purge_packages,
        json,
        ..
    } = args;
    let (purge, purge_packages, json) = (*purge, *purge_packages, *json);
    if purge_packages && !crate::ops::real_hosts(stack, global) {
        return Err(Error::usage(
            "--purge-packages is for hosts reached over SSH (with --inventory): a container's packages go with it",
        ));
    }
    // A stack file need not load to be taken down: the labels say what it owns.
    let driver = super::lab_driver(stack, global).await?;
    let name = driver.lab().to_string();
    let state = global.state(&name);
    let _lock = state.lock("down")?;
    let gone = driver
        .destroy(&crate::driver::DownOptions { purge_packages })
        .await?;
    crate::apply::forget_applied(&state)?;
    // Down, the lab is on no engine: the next `up` may put it on any.
    crate::lab::left_engine(&state)?;
    if purge && state.path.exists() {
        fs_err::remove_dir_all(&state.path)
            .with_context(|| format!("cannot delete the state of lab `{name}`"))?;
    }
    if json {
        emit_json(
            out,
            &super::report::Down {
                purged: purge,
                purged_packages: purge_packages,
                removed: &gone,
                stack: &name,
            },
        )?;
        return Ok(0);
    }
    let mut text = if gone.hosts.is_empty() && gone.networks.is_empty() && gone.volumes.is_empty() {
        format!("Lab `{name}` is not up: nothing to remove.\n")
    } else if driver.host_noun() == "host" {
        format!(
            "Lab `{name}` is down: removed its services and files from {} ({}){}.\n",
            super::count(gone.hosts.len(), "host"),
            gone.hosts.join(", "),
            if purge_packages {
                ", and the packages it installed"
            } else {
                ""
            }
        )
    } else {
        format!(
            "Lab `{name}` is down: removed {} ({}), {}, {}.\n",
            super::count(gone.hosts.len(), "container"),
            gone.hosts.join(", "),
            super::count(gone.networks.len(), "network"),
            super::count(gone.volumes.len(), "volume")
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
