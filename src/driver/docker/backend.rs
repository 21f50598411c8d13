//! The Docker backend as the rest of infractl sees it: which engine a
//! command line (or environment, or a lab's record) names, the engine as a
//! [`crate::driver::Engine`], and its placement in a lab's record (the
//! engine's [`Endpoint`], as JSON).

use super::endpoint::{Endpoint, Env};
use super::DockerEngine;
use crate::driver::{Choice, Driver, Engine, LabOnEngine, Placement};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// The Docker backend: the default one.
pub struct Backend;

/// The endpoint a placement holds, when it is a Docker engine's.
pub fn endpoint_of(p: &Placement) -> Option<Endpoint> {
    serde_json::from_value(p.0.clone()).ok()
}

/// The placement of an engine at `endpoint`.
pub fn placement_of(endpoint: &Endpoint) -> Placement {
    Placement(serde_json::to_value(endpoint).expect("an endpoint is JSON"))
}

/// The engine the command line names, if it names one.
fn explicit(choice: &Choice) -> Result<Option<Endpoint>> {
    if let Some(e) = choice.pinned.as_ref().and_then(endpoint_of) {
        return Ok(Some(e));
    }
    Endpoint::explicit(choice.engine.as_deref(), choice.context.as_deref())
}

#[async_trait::async_trait]
impl crate::driver::Backend for Backend {
    fn chosen(&self, choice: &Choice) -> bool {
        choice.inventory.is_none()
    }

    async fn engine(
        &self,
        lab: &str,
        choice: &Choice,
        recorded: Option<&Placement>,
    ) -> Result<Box<dyn Engine>> {
        let recorded = recorded.and_then(endpoint_of);
        let flag = explicit(choice)?;
        // The environment matters only for a recorded lab the flags leave open.
        let env = match (&flag, &recorded) {
            (None, Some(_)) => Endpoint::named_by_env(&Env::read())?,
            _ => None,
        };
        let endpoint = match choose_for_lab(lab, flag, env, recorded)? {
            Some(e) => e,
            None => Endpoint::ambient()?,
        };
        Ok(Box::new(DockerEngine::connect(endpoint).await?))
    }

    async fn engine_at(&self, placement: &Placement) -> Option<Result<Box<dyn Engine>>> {
        let endpoint = endpoint_of(placement)?;
        Some(
            DockerEngine::connect(endpoint)
                .await
                .map(|e| Box::new(e) as Box<dyn Engine>),
        )
    }

    fn named(&self, choice: &Choice) -> Result<Option<Placement>> {
        let endpoint = match explicit(choice)? {
            Some(e) => e,
            None => Endpoint::ambient()?,
        };
        Ok(Some(placement_of(&endpoint)))
    }

    fn asked(&self, choice: &Choice) -> Result<Option<Placement>> {
        Ok(explicit(choice)?.as_ref().map(placement_of))
    }

    fn same(&self, a: &Placement, b: &Placement) -> bool {
        match (endpoint_of(a), endpoint_of(b)) {
            (Some(a), Some(b)) => a.same_engine(&b),
            _ => false,
        }
    }

    fn describe(&self, p: &Placement) -> Option<String> {
        endpoint_of(p).map(|e| e.to_string())
    }

    fn whereabouts(&self, p: &Placement) -> Option<String> {
        endpoint_of(p).map(|e| format!("the engine {e}"))
    }

    fn host_name(&self, p: &Placement) -> Option<String> {
        endpoint_of(p).and_then(|e| e.host_name().map(str::to_string))
    }

    fn flag(&self, p: &Placement) -> Option<String> {
        endpoint_of(p).map(|e| e.flag())
    }
}

/// The engine a lab's commands go to, from what names an engine: the
/// flags, the environment (and which variable), the lab's record. An
/// engine named outright — `--engine`, `--context`, or DOCKER_HOST or
/// DOCKER_CONTEXT over the flags' absence — that is not the recorded one
/// is refused: the lab is not there, and no command goes anywhere but
/// where it was asked. A lab moves to another engine only through `down`.
/// None: the engine the environment names by default.
pub fn choose_for_lab(
    lab: &str,
    flag: Option<Endpoint>,
    env: Option<(Endpoint, &str)>,
    recorded: Option<Endpoint>,
) -> Result<Option<Endpoint>> {
    let Some(there) = recorded else {
        return Ok(flag);
    };
    let (asked, by) = match (flag, env) {
        (Some(f), _) => (f, None),
        (None, Some((e, var))) => (e, Some(var)),
        (None, None) => return Ok(Some(there)),
    };
    if asked.same_engine(&there) {
        return Ok(Some(there));
    }
    let down = format!(
        "`infractl down {lab} {}` frees the lab for another engine",
        there.flag()
    );
    Err(match by {
        None => Error::usage(format!(
            "lab `{lab}` runs on the engine {there}, not {asked}"
        ))
        .with_hint(format!(
            "leave --engine and --context out, or name the lab's engine ({}); {down}",
            there.flag()
        )),
        Some(var) => Error::usage(format!(
            "lab `{lab}` runs on the engine {there}, not {asked}, which {var} names"
        ))
        .with_hint(format!(
            "say which engine: `{}` for the lab's, or unset {var}; {down}",
            there.flag()
        )),
    })
}

#[async_trait::async_trait]
impl Engine for DockerEngine {
    fn placement(&self) -> Option<Placement> {
        Some(placement_of(&self.endpoint))
    }

    fn describe(&self) -> String {
        self.endpoint.to_string()
    }

    async fn driver(&self, topo: &crate::topology::Topology) -> Result<Box<dyn Driver>> {
        Ok(Box::new(self.lab(&topo.stack.name)))
    }

    fn driver_by_name(&self, lab: &str) -> Option<Box<dyn Driver>> {
        Some(Box::new(self.lab(lab)))
    }

    async fn subnets_in_use(&self) -> Result<Option<Vec<(Option<String>, crate::stack::Subnet)>>> {
        DockerEngine::subnets_in_use(self).await.map(Some)
    }

    async fn labs(&self) -> Result<Vec<LabOnEngine>> {
        DockerEngine::labs(self).await
    }

    async fn memory_mb(&self) -> Result<u64> {
        DockerEngine::memory_mb(self).await
    }

    fn images(&self) -> Option<&dyn crate::driver::Images> {
        Some(self)
    }

    fn checks(&self) -> Option<&dyn crate::driver::Checks> {
        Some(self)
    }

    async fn ensure_ready_from(
        &self,
        sources: &[&dyn Engine],
        progress: &dyn Progress,
    ) -> Result<()> {
        let sources: Vec<&DockerEngine> = sources
            .iter()
            .filter_map(|s| (*s as &dyn std::any::Any).downcast_ref::<DockerEngine>())
            .collect();
        self.ensure_image_from(&sources, progress).await
    }
}

#[async_trait::async_trait]
impl crate::driver::Checks for DockerEngine {
    async fn check(
        &self,
        plan: &crate::render::plan::Plan,
        progress: std::sync::Arc<dyn Progress>,
    ) -> Result<Vec<crate::driver::CheckResult>> {
        super::image::ensure(&self.docker, None, false, progress.as_ref()).await?;
        super::check::run(&self.docker, plan, progress).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(url: &str) -> Endpoint {
        Endpoint::parse(url, None).unwrap()
    }

    #[test]
    fn a_placement_is_the_endpoint_as_a_labs_record_kept_it() {
        let e = at("tcp://192.0.2.7:2375");
        let p = placement_of(&e);
        assert_eq!(endpoint_of(&p), Some(e.clone()));
        assert_eq!(p.describe(), "tcp://192.0.2.7:2375");
        assert_eq!(p.host_name().as_deref(), Some("192.0.2.7"));
        assert_eq!(p.flag(), "--engine tcp://192.0.2.7:2375");
        let mut named = e.clone();
        named.context = Some("school".into());
        assert!(p.same(&placement_of(&named)));
        assert!(!p.same(&placement_of(&Endpoint::local())));
    }

    #[test]
    fn a_labs_engine_is_its_records_and_another_named_outright_is_refused() {
        let here = Endpoint::local();
        let there = at("tcp://192.0.2.7:2375");
        let env = |e: &Endpoint| Some((e.clone(), "DOCKER_HOST"));
        // Nothing named: the record's, else the default.
        assert_eq!(
            choose_for_lab("x", None, None, Some(there.clone())).unwrap(),
            Some(there.clone())
        );
        assert_eq!(choose_for_lab("x", None, None, None).unwrap(), None);
        // Named and agreeing, or no record: what is named.
        assert_eq!(
            choose_for_lab("x", None, env(&there), Some(there.clone())).unwrap(),
            Some(there.clone())
        );
        assert_eq!(
            choose_for_lab("x", Some(there.clone()), None, None).unwrap(),
            Some(there.clone())
        );
        // The flag over the environment: naming the lab's engine settles it.
        assert_eq!(
            choose_for_lab("x", Some(here.clone()), env(&there), Some(here.clone())).unwrap(),
            Some(here.clone())
        );
        // The environment naming another engine: an error, with the flag
        // that says which.
        let e = choose_for_lab("x", None, env(&there), Some(here.clone())).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::EXIT_INPUT);
        assert_eq!(
            e.report(),
            "error: lab `x` runs on the engine unix:///var/run/docker.sock, not tcp://192.0.2.7:2375, which DOCKER_HOST names
  = hint: say which engine: `--engine unix:///var/run/docker.sock` for the lab's, or unset DOCKER_HOST; `infractl down x --engine unix:///var/run/docker.sock` frees the lab for another engine
"
        );
        // A flag naming another engine, as before.
        let e = choose_for_lab("x", Some(there.clone()), None, Some(here)).unwrap_err();
        assert!(e
            .report()
            .starts_with("error: lab `x` runs on the engine unix:///var/run/docker.sock, not tcp://192.0.2.7:2375\n"));
        // A lab found through a context is named by it.
        let mut school = there.clone();
        school.context = Some("school".into());
        let e = choose_for_lab(
            "x",
            None,
            Some((Endpoint::local(), "DOCKER_CONTEXT")),
            Some(school),
        )
        .unwrap_err();
        assert!(e
            .report()
            .contains("`--context school` for the lab's, or unset DOCKER_CONTEXT"));
    }
}
