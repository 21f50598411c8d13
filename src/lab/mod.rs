//! Lab instances: a stack brought up under a name of its own (`--lab`),
//! several copies side by side on one engine, each on subnets of its own.
//!
//! A lab's record (`lab.json` in its state directory) says which stack it
//! runs and where its subnets moved, so every later command — `verify
//! LAB`, `down LAB` — finds the same lab from its name alone.

pub mod state;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Context, Error, Result};
use crate::lab::state::StateDir;
use crate::stack::relocate::Move;
use crate::stack::{Instance, Stack, Subnet};

/// What `lab.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The stack: a built-in name, or a file's absolute path.
    pub stack: String,
    /// The stack's subnets and where they moved (`10.101.0.0/24` ->
    /// `10.128.0.0/24`); none when the lab runs on the stack's own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<(String, String)>,
    /// The host port the site is published on (`up --publish`), 0 for
    /// any free one; none when it is not published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<u16>,
    /// The lab has its forwarder even when its site is published nowhere
    /// (a class's lab: the portal reaches the site through the engine,
    /// see `driver::Publisher::connect`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forwarder: bool,
    /// The class the lab is a learner's of (`infractl class`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// The engine the lab runs on (a Docker engine, an inventory's hosts),
    /// as its backend placed it; none once it is down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<crate::driver::Placement>,
}

impl Record {
    pub fn moves(&self) -> Result<Vec<Move>> {
        self.subnets
            .iter()
            .map(|(from, to)| {
                let parse = |s: &str| {
                    s.parse::<Subnet>()
                        .map_err(|e| Error::failure(format!("lab record: {e}")))
                };
                Ok(Move {
                    from: parse(from)?,
                    to: parse(to)?,
                })
            })
            .collect()
    }

    pub fn of(stack: &str, moves: &[Move]) -> Record {
        Record {
            stack: stack.to_string(),
            subnets: moves
                .iter()
                .map(|m| (m.from.to_string(), m.to.to_string()))
                .collect(),
            publish: None,
            forwarder: false,
            class: None,
            engine: None,
        }
    }
}

const RECORD: &str = "lab.json";

/// The lab's record, if it has one.
pub fn read(state: &StateDir) -> Option<Record> {
    let text = std::fs::read_to_string(state.path.join(RECORD)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes the lab's record (before anything of the lab is made, so that
/// an interrupted `up` resumes on the same subnets).
pub fn write(state: &StateDir, record: &Record) -> Result<()> {
    let dir = state.ensure_dir("")?;
    let text = serde_json::to_string_pretty(record).expect("serializable") + "\n";
    fs_err::write(dir.join(RECORD), text).context("cannot write the lab's record")
}

/// Notes in the lab's record (if it has one) that it runs on no engine.
pub fn left_engine(state: &StateDir) -> Result<()> {
    match read(state) {
        Some(mut r) if r.engine.is_some() => {
            r.engine = None;
            write(state, &r)
        }
        _ => Ok(()),
    }
}

/// Every lab's record under `root`, by the lab's name, in name order.
pub fn records(root: &Path) -> Vec<(String, Record)> {
    let Ok(dirs) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut names: Vec<String> = dirs
        .filter_map(|d| d.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|name| {
            let r = read(&StateDir::new(root, &name))?;
            Some((name, r))
        })
        .collect()
}

/// The engines the labs' records under `root` say they run on, each once.
pub fn recorded_engines(root: &Path) -> Vec<crate::driver::Placement> {
    let mut engines: Vec<crate::driver::Placement> = Vec::new();
    for (_, r) in records(root) {
        if let Some(e) = r.engine {
            if !engines.iter().any(|x| x.same(&e)) {
                engines.push(e);
            }
        }
    }
    engines
}

/// How a stack is named in a record: a built-in by its name, a file by
/// its absolute path (the lab is found again from anywhere).
pub fn stack_reference(reference: &str) -> String {
    let p = Path::new(reference);
    if p.is_file() {
        if let Ok(abs) = std::fs::canonicalize(p) {
            return abs.display().to_string();
        }
    }
    reference.to_string()
}

/// A lab resolved: the stack it runs (as a record names it), the instance
/// it is, and the stack loaded as that instance.
#[derive(Debug, Clone)]
pub struct Lab {
    pub reference: String,
    pub instance: Instance,
    pub stack: Stack,
}

impl Lab {
    fn load(reference: &str, instance: Instance) -> Result<Lab> {
        let stack = crate::stack::load_as(reference, &instance)?;
        Ok(Lab {
            reference: stack_reference(reference),
            instance,
            stack,
        })
    }

    /// The same lab on the subnets `moves` give (from the stack's own).
    pub fn moved(self, moves: Vec<Move>) -> Result<Lab> {
        let instance = Instance {
            lab: self.instance.lab,
            moves,
        };
        Lab::load(&self.reference, instance)
    }

    /// The stack's own subnets, in order (where the lab's moved from).
    pub fn own_subnets(&self) -> Vec<Subnet> {
        self.stack
            .networks
            .iter()
            .map(|n| {
                self.instance
                    .moves
                    .iter()
                    .find(|m| m.to == n.subnet)
                    .map_or(n.subnet, |m| m.from)
            })
            .collect()
    }

    pub fn record(&self) -> Record {
        Record::of(&self.reference, &self.instance.moves)
    }
}

/// What a command names — a stack (with `--lab` or not) or a lab by its
/// name alone — as the stack to load and the lab instance to load it as.
/// With no record, the lab is the stack's own name on its own subnets.
pub fn resolve(reference: &str, lab: Option<&str>, root: &Path) -> Result<Lab> {
    if let Some(lab) = lab {
        let record = read(&StateDir::new(root, lab));
        let moves = match &record {
            Some(r) if r.stack == stack_reference(reference) => r.moves()?,
            _ => Vec::new(),
        };
        let instance = Instance {
            lab: Some(lab.to_string()),
            moves,
        };
        return Lab::load(reference, instance);
    }
    if crate::stack::valid_name(reference) {
        if let Some(r) = read(&StateDir::new(root, reference)) {
            let instance = Instance {
                lab: Some(reference.to_string()),
                moves: r.moves()?,
            };
            return Lab::load(&r.stack, instance);
        }
    }
    // A stack by name or path: its lab has the stack's name, and perhaps
    // a record of moved subnets.
    let own = Lab::load(reference, Instance::default())?;
    match read(&StateDir::new(root, &own.stack.name)) {
        Some(r) if !r.subnets.is_empty() && r.stack == own.reference => {
            let moves = r.moves()?;
            own.moved(moves)
        }
        _ => Ok(own),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lab_is_found_again_by_its_name_with_its_subnets() {
        let root = tempfile::tempdir().unwrap();
        let moves = vec![
            Move {
                from: "10.101.0.0/24".parse().unwrap(),
                to: "10.128.7.0/24".parse().unwrap(),
            },
            Move {
                from: "10.101.1.0/24".parse().unwrap(),
                to: "10.128.8.0/24".parse().unwrap(),
            },
        ];
        write(
            &StateDir::new(root.path(), "alice"),
            &Record::of("task1", &moves),
        )
        .unwrap();
        let s = resolve("alice", None, root.path()).unwrap().stack;
        assert_eq!((s.name.as_str(), s.origin.as_str()), ("alice", "task1"));
        let lb = s.server("lb-01").unwrap();
        assert_eq!(lb.addr_on("public").unwrap().to_string(), "10.128.7.10");
        // The same with the stack and --lab.
        let t = resolve("task1", Some("alice"), root.path()).unwrap();
        assert_eq!(t.own_subnets()[0].to_string(), "10.101.0.0/24");
        let t = t.stack;
        assert_eq!(format!("{s:?}"), format!("{t:?}"));
        // The stack alone is the stack's own lab.
        let own = resolve("task1", None, root.path()).unwrap().stack;
        assert_eq!(own.name, "task1");
        assert_eq!(
            own.server("lb-01")
                .unwrap()
                .addr_on("public")
                .unwrap()
                .to_string(),
            "10.101.0.10"
        );
        // A lab name that cannot name containers is refused.
        let e = resolve("task1", Some("Alice!"), root.path()).unwrap_err();
        assert!(e.report().contains("lab name `Alice!`"), "{}", e.report());
    }
}
