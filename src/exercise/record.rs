//! An exercise on a lab: its faults injected in order (see `inject`),
//! and what was done recorded in the lab's state (`exercise.json`): the
//! exercise, the faults drawn with their seed and server, the checks that
//! grade, when, and which host each server was at that moment — so that
//! a lab re-made since (`up` after a `down`, a reset) is told apart from
//! one repaired.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::file::Exercise;
use super::grade::{Check, Outcome};
use crate::driver::Driver;
use crate::error::{Context, Error, Result};
use crate::lab::state::StateDir;
use crate::progress::Progress;
use crate::render::plan::Plan;
use crate::topology::Topology;

const RECORD: &str = "exercise.json";

/// A fault as drawn for the lab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drawn {
    pub fault: String,
    pub seed: u64,
    /// The server it hit.
    pub server: String,
}

/// A server as it was at the injection: the host's identity (a
/// container's id; over SSH, the host's boot).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub server: String,
    pub id: String,
}

/// What `exercise.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The exercise's name, and how to find it again.
    pub exercise: String,
    pub reference: String,
    pub title: String,
    pub text: String,
    pub drawn: Vec<Drawn>,
    /// What grades the repair.
    pub checks: Vec<Check>,
    /// Seconds since the epoch when the last fault showed.
    pub injected_at: u64,
    pub servers: Vec<Identity>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_reset: bool,
}

/// The lab's exercise, if it has one.
pub fn read(state: &StateDir) -> Option<Record> {
    let text = std::fs::read_to_string(state.path.join(RECORD)).ok()?;
    serde_json::from_str(&text).ok()
}

fn write(state: &StateDir, record: &Record) -> Result<()> {
    let dir = state.ensure_dir("")?;
    let text = serde_json::to_string_pretty(record).expect("serializable") + "\n";
    fs_err::write(dir.join(RECORD), text).context("cannot write the lab's exercise")
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// What a host says of itself: the container's id (where the engine
/// mounts its `/etc/hostname` from), else the boot's id.
const IDENTITY: &str = "id=$(sed -n 's|.*/containers/\\([0-9a-f]\\{12,\\}\\)/hostname /etc/hostname .*|\\1|p' /proc/self/mountinfo | head -n 1); [ -n \"$id\" ] || id=boot-$(cat /proc/sys/kernel/random/boot_id); echo \"$id\"";

/// Each server of `plan` as it is now (a server that does not answer: an
/// empty id).
pub async fn identities(driver: &dyn Driver, plan: &Plan) -> Vec<Identity> {
    let each = plan.servers.iter().map(|s| async move {
        let id = match driver.exec(&s.name, IDENTITY).await {
            Ok(out) if out.code == 0 => out.stdout.trim().to_string(),
            _ => String::new(),
        };
        Identity {
            server: s.name.clone(),
            id,
        }
    });
    futures_util::future::join_all(each).await
}

/// The servers re-made since the injection: those that answer from
/// another host than the one recorded (one that does not answer is not
/// running: verify says so).
pub fn remade(record: &Record, now: &[Identity]) -> Vec<String> {
    record
        .servers
        .iter()
        .filter(|was| {
            now.iter()
                .any(|n| n.server == was.server && !n.id.is_empty() && n.id != was.id)
        })
        .map(|was| was.server.clone())
        .collect()
}

/// The checks of `record` graded from `claims` (the lab's verify) at
/// `now`, the servers `remade` since the injection.
pub fn outcome(
    record: &Record,
    claims: &[crate::verify::Claim],
    remade: Vec<String>,
    now: u64,
) -> Outcome {
    let checks = super::grade::grade(&record.checks, claims);
    Outcome {
        exercise: record.exercise.clone(),
        title: record.title.clone(),
        fixed: checks.iter().filter(|g| g.fixed).count(),
        total: checks.len(),
        checks,
        seconds: now.saturating_sub(record.injected_at),
        counts: remade.is_empty() || record.allow_reset,
        remade,
    }
}

/// Injects the faults `seed` draws of `exercise` into the lab (its state
/// `state`), in order, each waited for until it shows; then records it.
/// A lab that has this exercise already is left as it is (its record
/// returned, `false`); one with another exercise is refused.
pub async fn start(
    exercise: &Exercise,
    seed: u64,
    driver: &dyn Driver,
    topo: &Topology,
    plan: &Plan,
    state: &StateDir,
    progress: &dyn Progress,
) -> Result<(Record, bool)> {
    if let Some(r) = read(state) {
        if r.exercise == exercise.name {
            return Ok((r, false));
        }
        return Err(Error::usage(format!(
            "lab `{}` has exercise `{}` already, not `{}`",
            plan.stack, r.exercise, exercise.name
        ))
        .with_hint(format!(
            "another lab (`--lab NAME`), or `infractl down {} --purge` first",
            plan.stack
        )));
    }
    let mut drawn = Vec::new();
    let mut breaks = Vec::new();
    for fault in exercise.draw(seed) {
        progress.begin("exercise", None, "preparing the exercise");
        let injected = super::inject::inject(driver, topo, plan, state, fault, seed).await;
        progress.finish("exercise", injected.is_ok(), "prepared");
        let b = injected?.breakage;
        drawn.push(Drawn {
            fault: b.fault.to_string(),
            seed,
            server: b.server.clone(),
        });
        breaks.extend(b.breaks);
    }
    let checks = if exercise.checks.is_empty() {
        super::grade::of_breaks(&breaks)
    } else {
        exercise.checks.iter().map(|g| Check::group(g)).collect()
    };
    let record = Record {
        exercise: exercise.name.clone(),
        reference: exercise.reference.clone(),
        title: exercise.title.clone(),
        text: exercise.text.clone(),
        drawn,
        checks,
        injected_at: now(),
        servers: identities(driver, plan).await,
        allow_reset: exercise.allow_reset,
    };
    write(state, &record)?;
    Ok((record, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(server: &str, id: &str) -> Identity {
        Identity {
            server: server.into(),
            id: id.into(),
        }
    }

    #[test]
    fn a_server_answering_from_another_host_was_remade() {
        let r = Record {
            exercise: "e".into(),
            reference: "e".into(),
            title: "T".into(),
            text: String::new(),
            drawn: vec![],
            checks: vec![],
            injected_at: 0,
            servers: vec![id("a", "1"), id("b", "2"), id("c", "3")],
            allow_reset: false,
        };
        assert!(remade(&r, &[id("a", "1"), id("b", "2"), id("c", "3")]).is_empty());
        assert_eq!(
            remade(&r, &[id("a", "1"), id("b", "9"), id("c", "")]),
            ["b"]
        );
    }
}
