//! The list of backends, and what asks each in turn: which one a command
//! line chooses, which engine a lab's record names, how a placement is
//! shown. Adding a backend is its folder under `driver/` and one line in
//! [`BACKENDS`].

use super::{docker, ssh, Backend, Choice, Engine, Placement};
use crate::error::{Error, Result};

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

/// The backend whose placement `p` is.
fn owner(p: &Placement) -> Option<usize> {
    BACKENDS.iter().position(|b| b.describe(p).is_some())
}

/// The engine lab `lab` runs on, or goes to: the one its record names
/// (whichever backend placed it), unless the command line names another
/// (an error: a lab moves only through `down`), else the one the command
/// line or environment names.
pub async fn engine_for(
    lab: &str,
    choice: &Choice,
    recorded: Option<&Placement>,
) -> Result<Box<dyn Engine>> {
    let Some((there, owner)) = recorded.and_then(|p| Some((p, owner(p)?))) else {
        return chosen(choice).engine(lab, choice, recorded).await;
    };
    for (i, b) in BACKENDS.iter().enumerate() {
        if i == owner {
            continue;
        }
        if let Some(asked) = b.asked(choice)? {
            return Err(elsewhere(lab, there, &asked));
        }
    }
    BACKENDS[owner].engine(lab, choice, Some(there)).await
}

/// The lab runs at `there`, and the command line names `asked`, of
/// another backend.
fn elsewhere(lab: &str, there: &Placement, asked: &Placement) -> Error {
    Error::usage(format!(
        "lab `{lab}` runs on {}, not {}",
        there.whereabouts(),
        asked.whereabouts()
    ))
    .with_hint(format!(
        "leave `{}` out, or name the lab's ({}); `infractl down {lab} {}` frees the lab for another engine",
        asked.flag(),
        there.flag(),
        there.flag()
    ))
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
    Err(Error::failure(format!(
        "no backend knows the engine {placement}"
    )))
}

/// Whether a lab runs on real machines, which keep their addresses and
/// get the plan made for them (`Plan::for_real_hosts`): those of the
/// backend its record names (`recorded`), else of the one `choice` names.
pub fn real_hosts(choice: &Choice, recorded: Option<&Placement>) -> bool {
    match recorded.and_then(owner) {
        Some(owner) => BACKENDS[owner].real_hosts(),
        None => chosen(choice).real_hosts(),
    }
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
    /// It in a sentence (`the engine tcp://192.0.2.7:2376`).
    pub fn whereabouts(&self) -> String {
        BACKENDS
            .iter()
            .find_map(|b| b.whereabouts(self))
            .unwrap_or_else(|| format!("the engine {self}"))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn docker_at(url: &str) -> Placement {
        let e = docker::endpoint::Endpoint::parse(url, None).expect("a URL");
        docker::backend::placement_of(&e)
    }

    fn hosts_of(inventory: &str) -> Choice {
        Choice {
            inventory: Some(inventory.into()),
            known_hosts: Some("/srv/lab/known_hosts".into()),
            ..Choice::default()
        }
    }

    #[tokio::test]
    async fn a_lab_recorded_by_one_backend_is_refused_to_the_others_flags() {
        let ssh = engine_for("x", &hosts_of("/srv/lab/hosts.yaml"), None)
            .await
            .unwrap()
            .placement()
            .unwrap();
        // Found by its record alone, real hosts and all.
        let found = engine_for("x", &Choice::default(), Some(&ssh))
            .await
            .unwrap();
        assert!(found.real_hosts());
        assert_eq!(found.placement(), Some(ssh.clone()));
        assert!(real_hosts(&Choice::default(), Some(&ssh)));
        assert!(!real_hosts(&Choice::default(), None));
        // A Docker engine named for it.
        let engine = Choice {
            engine: Some("tcp://192.0.2.7:2375".into()),
            ..Choice::default()
        };
        let e = engine_for("x", &engine, Some(&ssh)).await.err().unwrap();
        assert_eq!(e.exit_code(), crate::error::EXIT_INPUT);
        assert_eq!(
            e.report(),
            "error: lab `x` runs on the hosts of /srv/lab/hosts.yaml, not the engine tcp://192.0.2.7:2375
  = hint: leave `--engine tcp://192.0.2.7:2375` out, or name the lab's (--inventory /srv/lab/hosts.yaml); `infractl down x --inventory /srv/lab/hosts.yaml` frees the lab for another engine
"
        );
        // An inventory named for a lab on a Docker engine.
        let docker = docker_at("tcp://192.0.2.7:2375");
        let e = engine_for("x", &hosts_of("/srv/lab/hosts.yaml"), Some(&docker))
            .await
            .err()
            .unwrap();
        assert!(
            e.report().starts_with(
                "error: lab `x` runs on the engine tcp://192.0.2.7:2375, not the hosts of /srv/lab/hosts.yaml\n"
            ),
            "{}",
            e.report()
        );
        assert!(!real_hosts(&hosts_of("/srv/lab/hosts.yaml"), Some(&docker)));
    }
}
