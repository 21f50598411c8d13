//! `infractl alerts LAB`: the alerts firing in a running lab, from its own
//! Alertmanager (see `crate::alerts`).

use std::io::Write;

use super::{emit, emit_json, Global};
use crate::alerts::{self, Firing};

use crate::error::{Error, Result};

pub async fn run(stack: &str, json: bool, global: &Global, out: &mut dyn Write) -> Result<i32> {
    let lab = super::resolve(stack, global)?;
    let topo = crate::topology::Topology::build(lab.stack);
    let name = topo.stack.name.clone();
    let Some(monitor) = alerts::monitor(&topo) else {
        return Err(Error::usage(format!(
            "lab `{name}` has no monitoring server (no `prometheus` component): nothing raises alerts"
        ))
        .with_hint("task2 and task3 have one (server `admin`)"));
    };
    let driver = super::driver(global, &topo).await?;
    let running = driver
        .hosts()
        .await?
        .iter()
        .any(|h| h.server == monitor && h.running);
    if !running {
        return Err(Error::failure(format!(
            "lab `{name}`: its monitoring server `{monitor}` is not running"
        ))
        .with_hint(format!("`infractl up {name}` brings it up")));
    }
    let firing = alerts::firing(&*driver, &topo).await?.unwrap_or_default();
    if json {
        emit_json(out, &firing)?;
    } else {
        emit(out, &text(&name, &firing))?;
    }
    Ok(0)
}

/// The table of alerts, or one line saying none fires.
pub fn text(lab: &str, firing: &[Firing]) -> String {
    if firing.is_empty() {
        return format!("No alert fires in lab `{lab}`.\n");
    }
    let rows: Vec<[String; 5]> = firing
        .iter()
        .map(|f| {
            [
                f.alert.clone(),
                f.severity.clone(),
                f.server.clone(),
                alerts::age(f.seconds),
                f.summary.clone(),
            ]
        })
        .collect();
    super::table(
        ["ALERT", "SEVERITY", "SERVER", "FIRING FOR", "SUMMARY"],
        &rows,
    )
}
