//! The SSH backend as the rest of infractl sees it: chosen by an
//! inventory on the command line (`--inventory`), whose hosts are real
//! machines that keep their own addresses. Nothing of it goes into a lab's
//! record: the command line names the inventory again each time.

use std::path::PathBuf;

use super::SshDriver;
use crate::driver::{Choice, Driver, Engine, Placement};
use crate::error::Result;

/// The SSH backend.
pub struct Backend;

/// The hosts of one inventory, and how to trust them.
pub struct Inventory {
    path: PathBuf,
    known_hosts: PathBuf,
    accept_new: bool,
}

impl Inventory {
    fn of(choice: &Choice) -> Option<Inventory> {
        let path = choice.inventory.clone()?;
        let known_hosts = choice.known_hosts.clone().unwrap_or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/root"))
                .join(".ssh/known_hosts")
        });
        Some(Inventory {
            path,
            known_hosts,
            accept_new: choice.accept_new_host_keys,
        })
    }
}

#[async_trait::async_trait]
impl crate::driver::Backend for Backend {
    fn chosen(&self, choice: &Choice) -> bool {
        choice.inventory.is_some()
    }

    fn real_hosts(&self) -> bool {
        true
    }

    async fn engine(
        &self,
        _lab: &str,
        choice: &Choice,
        _recorded: Option<&Placement>,
    ) -> Result<Box<dyn Engine>> {
        let inventory = Inventory::of(choice).expect("chosen for its inventory");
        Ok(Box::new(inventory))
    }

    async fn engine_at(&self, _placement: &Placement) -> Option<Result<Box<dyn Engine>>> {
        None
    }

    fn named(&self, _choice: &Choice) -> Result<Option<Placement>> {
        Ok(None)
    }

    fn same(&self, _a: &Placement, _b: &Placement) -> bool {
        false
    }

    fn describe(&self, _p: &Placement) -> Option<String> {
        None
    }

    fn host_name(&self, _p: &Placement) -> Option<String> {
        None
    }

    fn flag(&self, _p: &Placement) -> Option<String> {
        None
    }
}

#[async_trait::async_trait]
impl Engine for Inventory {
    fn placement(&self) -> Option<Placement> {
        None
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
