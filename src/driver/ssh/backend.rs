//! The SSH backend as the rest of infractl sees it: chosen by an
//! inventory on the command line (`--inventory`), whose hosts are real
//! machines that keep their own addresses. A lab's record keeps where it
//! runs — the inventory's absolute path, the known_hosts file its keys
//! were checked against, whether new host keys are accepted — so every
//! later command finds the lab by its name alone; another inventory named
//! for it is refused (a lab moves only through `down`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::SshDriver;
use crate::driver::{Choice, Driver, Engine, Placement};
use crate::error::{Error, Result};

/// The SSH backend.
pub struct Backend;

/// The hosts of one inventory, and how to trust them: what a lab's record
/// keeps of it (its placement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Inventory {
    /// The inventory file, absolute.
    #[serde(rename = "inventory")]
    path: PathBuf,
    /// The known_hosts file, absolute.
    known_hosts: PathBuf,
    #[serde(rename = "accept-new-host-keys")]
    accept_new: bool,
}

/// `p` absolute: the file itself where it exists (links followed), else
/// as named from here.
fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p)
        .or_else(|_| std::path::absolute(p))
        .unwrap_or_else(|_| p.to_path_buf())
}

impl Inventory {
    /// The inventory a command line names (`--inventory`, or an engine
    /// pinned), if it names one.
    fn of(choice: &Choice) -> Option<Inventory> {
        if let Some(pinned) = choice.pinned.as_ref().and_then(Inventory::at) {
            return Some(pinned);
        }
        let path = absolute(choice.inventory.as_deref()?);
        let known_hosts = choice.known_hosts.as_deref().map_or_else(
            || {
                std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("/root"))
                    .join(".ssh/known_hosts")
            },
            absolute,
        );
        Some(Inventory {
            path,
            known_hosts,
            accept_new: choice.accept_new_host_keys,
        })
    }

    /// The inventory a placement names, when it is one of this backend's.
    fn at(p: &Placement) -> Option<Inventory> {
        serde_json::from_value(p.0.clone()).ok()
    }

    fn placement(&self) -> Placement {
        Placement(serde_json::to_value(self).expect("an inventory's placement is JSON"))
    }

    /// The recorded inventory, as this command line adds to it: its own
    /// known_hosts file where it names one, new keys accepted where
    /// either says so.
    fn with(self, choice: &Choice) -> Inventory {
        Inventory {
            known_hosts: choice
                .known_hosts
                .as_deref()
                .map_or(self.known_hosts, absolute),
            accept_new: self.accept_new || choice.accept_new_host_keys,
            path: self.path,
        }
    }
}

/// The lab is on the hosts of `there`, and the command line names others.
fn elsewhere(lab: &str, there: &Inventory, asked: &Inventory) -> Error {
    let flag = format!("--inventory {}", there.path.display());
    Error::usage(format!(
        "lab `{lab}` runs on the hosts of {}, not those of {}",
        there.path.display(),
        asked.path.display()
    ))
    .with_hint(format!(
        "leave --inventory out, or name the lab's ({flag}); `infractl down {lab}` frees the lab for other hosts"
    ))
}

#[async_trait::async_trait]
impl crate::driver::Backend for Backend {
    fn chosen(&self, choice: &Choice) -> bool {
        Inventory::of(choice).is_some()
    }

    fn real_hosts(&self) -> bool {
        true
    }

    async fn engine(
        &self,
        lab: &str,
        choice: &Choice,
        recorded: Option<&Placement>,
    ) -> Result<Box<dyn Engine>> {
        let there = recorded.and_then(Inventory::at);
        let inventory = match (Inventory::of(choice), there) {
            (Some(asked), Some(there)) if asked.path != there.path => {
                return Err(elsewhere(lab, &there, &asked))
            }
            (_, Some(there)) => there.with(choice),
            (Some(asked), None) => asked,
            (None, None) => {
                return Err(
                    Error::usage(format!("no inventory names the hosts of lab `{lab}`"))
                        .with_hint("--inventory FILE"),
                )
            }
        };
        Ok(Box::new(inventory))
    }

    async fn engine_at(&self, placement: &Placement) -> Option<Result<Box<dyn Engine>>> {
        let inventory = Inventory::at(placement)?;
        Some(Ok(Box::new(inventory)))
    }

    fn named(&self, _choice: &Choice) -> Result<Option<Placement>> {
        Ok(None)
    }

    fn asked(&self, choice: &Choice) -> Result<Option<Placement>> {
        Ok(Inventory::of(choice).map(|i| i.placement()))
    }

    fn same(&self, a: &Placement, b: &Placement) -> bool {
        match (Inventory::at(a), Inventory::at(b)) {
            (Some(a), Some(b)) => a.path == b.path,
            _ => false,
        }
    }

    fn describe(&self, p: &Placement) -> Option<String> {
        Inventory::at(p).map(|i| i.path.display().to_string())
    }

    fn whereabouts(&self, p: &Placement) -> Option<String> {
        Inventory::at(p).map(|i| format!("the hosts of {}", i.path.display()))
    }

    fn host_name(&self, _p: &Placement) -> Option<String> {
        None
    }

    fn flag(&self, p: &Placement) -> Option<String> {
        Inventory::at(p).map(|i| format!("--inventory {}", i.path.display()))
    }
}

#[async_trait::async_trait]
impl Engine for Inventory {
    fn placement(&self) -> Option<Placement> {
        Some(Inventory::placement(self))
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn real_hosts(&self) -> bool {
        true
    }

    async fn driver(&self, topo: &crate::topology::Topology) -> Result<Box<dyn Driver>> {
        let hosts = super::inventory::load(&self.path, topo)?;
        Ok(Box::new(SshDriver::new(
            &topo.stack.name,
            hosts,
            self.known_hosts.clone(),
            self.accept_new,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(inventory: &str) -> Choice {
        Choice {
            inventory: Some(inventory.into()),
            known_hosts: Some("/srv/lab/known_hosts".into()),
            ..Choice::default()
        }
    }

    #[test]
    fn a_placement_is_the_inventory_as_a_labs_record_keeps_it() {
        let inventory = Inventory::of(&choice("/srv/lab/hosts.yaml")).unwrap();
        let p = inventory.placement();
        assert_eq!(
            p.0,
            serde_json::json!({
                "inventory": "/srv/lab/hosts.yaml",
                "known-hosts": "/srv/lab/known_hosts",
                "accept-new-host-keys": false
            })
        );
        assert_eq!(Inventory::at(&p), Some(inventory));
        assert_eq!(p.describe(), "/srv/lab/hosts.yaml");
        assert_eq!(p.whereabouts(), "the hosts of /srv/lab/hosts.yaml");
        assert_eq!(p.flag(), "--inventory /srv/lab/hosts.yaml");
        assert_eq!(p.host_name(), None);
        assert!(p.same(
            &Inventory::of(&choice("/srv/lab/hosts.yaml"))
                .unwrap()
                .placement()
        ));
        assert!(!p.same(
            &Inventory::of(&choice("/srv/other.yaml"))
                .unwrap()
                .placement()
        ));
        // No Docker engine's, nor the other way round.
        let docker = crate::driver::docker::backend::placement_of(
            &crate::driver::docker::endpoint::Endpoint::local(),
        );
        assert_eq!(Inventory::at(&docker), None);
        assert!(crate::driver::docker::backend::endpoint_of(&p).is_none());
        assert!(!p.same(&docker));
    }

    #[test]
    fn an_inventory_named_relative_is_recorded_absolute() {
        let here = std::env::current_dir().unwrap();
        let inventory = Inventory::of(&choice("hosts.yaml")).unwrap();
        assert_eq!(inventory.path, here.join("hosts.yaml"));
    }

    #[tokio::test]
    async fn a_recorded_lab_is_on_its_inventory_and_another_is_refused() {
        let recorded = Inventory::of(&choice("/srv/lab/hosts.yaml"))
            .unwrap()
            .placement();
        let backend: &dyn crate::driver::Backend = &Backend;
        // Nothing named: the record's, with what the command line adds.
        let bare = Choice {
            accept_new_host_keys: true,
            ..Choice::default()
        };
        let engine = backend.engine("x", &bare, Some(&recorded)).await.unwrap();
        let p = engine.placement().unwrap();
        assert!(p.same(&recorded));
        assert_eq!(p.0["accept-new-host-keys"], true);
        assert_eq!(p.0["known-hosts"], "/srv/lab/known_hosts");
        // The same inventory named again: the same hosts.
        let engine = backend
            .engine("x", &choice("/srv/lab/hosts.yaml"), Some(&recorded))
            .await
            .unwrap();
        assert_eq!(engine.placement(), Some(recorded.clone()));
        // Another: refused, saying where the lab is.
        let e = backend
            .engine("x", &choice("/srv/other.yaml"), Some(&recorded))
            .await
            .err()
            .unwrap();
        assert_eq!(e.exit_code(), crate::error::EXIT_INPUT);
        assert_eq!(
            e.report(),
            "error: lab `x` runs on the hosts of /srv/lab/hosts.yaml, not those of /srv/other.yaml
  = hint: leave --inventory out, or name the lab's (--inventory /srv/lab/hosts.yaml); `infractl down x` frees the lab for other hosts
"
        );
    }
}
