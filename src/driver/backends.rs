//! The list of backends, and what asks each in turn: which one a command
//! line chooses, which engine a lab's record names, how a placement is
//! shown. Adding a backend is its folder under `driver/` and one line in
//! [`BACKENDS`].

use super::{docker, ssh, Backend, Choice, Engine, Placement};
use crate::error::Result;

/// The backends, in the order they are asked whether a command line
/// chooses them: the last is the default.
static BACKENDS: &[&dyn Backend] = &[&ssh::Backend, &docker::Backend];

fn chosen(choice: &Choice) -> &'static dyn Backend {
    BACKENDS
        .iter()
        .copied()
        .find(|b| b.chosen(choice))
        .unwrap_or(BACKENDS[BACKENDS.len() - 1])
}

/// The engine lab `lab` runs on, or goes to: the one its record names,
/// unless the command line names another (an error: a lab moves only
/// through `down`), else the one the command line or environment names.
pub async fn engine_for(
    lab: &str,
    choice: &Choice,
    recorded: Option<&Placement>,
) -> Result<Box<dyn Engine>> {
    chosen(choice).engine(lab, choice, recorded).await
}

/// The engine the command line (or environment) names, without reaching
/// it; `None` where it names hosts (see [`Backend::named`]).
pub fn named(choice: &Choice) -> Result<Option<Placement>> {
    chosen(choice).named(choice)
}

/// The engine a lab's record names.
pub async fn engine_at(placement: &Placement) -> Result<Box<dyn Engine>> {
    for b in BACKENDS {
        if let Some(e) = b.engine_at(placement).await {
            return e;
        }
    }
    Err(crate::error::Error::failure(format!(
        "no backend knows the engine {placement}"
    )))
}

/// Whether the backend `choice` names runs labs on real machines, which
/// keep their addresses and get the plan made for them
/// (`Plan::for_real_hosts`).
pub fn real_hosts(choice: &Choice) -> bool {
    chosen(choice).real_hosts()
}

/// What a plan names as the hosts' image: the node image, which the
/// Docker backend makes (and a backend of real hosts ignores).
pub fn node_image() -> String {
    docker::image::reference()
}

impl Placement {
    /// The same engine as `other` (however each was named).
    pub fn same(&self, other: &Placement) -> bool {
        self == other || BACKENDS.iter().any(|b| b.same(self, other))
    }
    /// The backend's own words for it (`tcp://192.0.2.7:2376`).
    pub fn describe(&self) -> String {
        BACKENDS
            .iter()
            .find_map(|b| b.describe(self))
            .unwrap_or_else(|| self.0.to_string())
    }
    /// The machine a site published there is reached at; `None`: this one.
    pub fn host_name(&self) -> Option<String> {
        BACKENDS.iter().find_map(|b| b.host_name(self))
    }
    /// The command-line flag that names it (`--engine URL`).
    pub fn flag(&self) -> String {
        BACKENDS
            .iter()
            .find_map(|b| b.flag(self))
            .unwrap_or_default()
    }
}

impl std::fmt::Display for Placement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}
