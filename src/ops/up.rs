//! Bringing a lab up on its engine: placed on subnets free there,
//! recorded, its plan applied, its site published when asked. `up` and
//! `class up` both bring labs up through here.

use crate::apply;
use crate::driver::Engine;
use crate::error::{Error, Result};
use crate::lab::state::StateDir;
use crate::progress::Progress;

use super::Global;

/// A lab brought up: its graph, plan and driver, what was done to each
/// server, and where it is published.
pub struct Brought {
    pub topo: crate::topology::Topology,
    pub plan: crate::render::plan::Plan,
    pub driver: Box<dyn crate::driver::Driver>,
    pub outcomes: Vec<apply::Outcome>,
    pub url: Option<String>,
}

/// How `up` brings a lab up.
#[derive(Debug, Clone, Copy)]
pub struct UpOptions {
    /// Publish the site on the engine's host at this port (0: any).
    pub publish: Option<u16>,
    /// Seconds each server's services get to become ready.
    pub ready_seconds: u32,
    /// Go on where data would be lost (not moved) for good.
    pub discard_data: bool,
}

impl Default for UpOptions {
    fn default() -> Self {
        UpOptions {
            publish: None,
            ready_seconds: apply::READY_SECONDS,
            discard_data: false,
        }
    }
}

/// Brings a placed lab up (its state locked by the caller): records it,
/// applies its plan, publishes it (when asked or its record says so).
/// Data the change would lose for good (not moved) refuses it, unless
/// `discard_data`, with nothing changed.
pub async fn bring_up(
    lab: crate::lab::Lab,
    engine: &dyn Engine,
    state: &StateDir,
    options: UpOptions,
    global: &Global,
    progress: &dyn Progress,
) -> Result<Brought> {
    let UpOptions {
        publish,
        ready_seconds,
        discard_data,
    } = options;
    // Recorded before anything is made: an `up` cut off resumes on the
    // same subnets, and `verify LAB` finds them.
    let before = crate::lab::read(state);
    let mut record = lab.record();
    record.publish = publish.or_else(|| before.as_ref().and_then(|r| r.publish));
    record.engine = engine.placement();
    record.forwarder = before.as_ref().is_some_and(|r| r.forwarder);
    record.class = before.as_ref().and_then(|r| r.class.clone());
    // Refused before anything is recorded or made: the record would keep
    // the port, and every later `up` fail after applying.
    if record.publish.is_some() && engine.real_hosts() {
        return Err(Error::usage(NOT_PUBLISHED));
    }
    let publishing = match (record.publish, record.forwarder, &record.engine) {
        (Some(_), _, None) => return Err(Error::usage(NOT_PUBLISHED)),
        (host_port, true, Some(engine)) => Some((host_port, engine.clone())),
        (Some(host_port), false, Some(engine)) => Some((Some(host_port), engine.clone())),
        (None, _, _) => None,
    };
    crate::lab::write(state, &record)?;
    let super::Loaded { topo, plan, .. } = super::load_lab(lab, global)?;
    engine.ensure_ready_from(&[], progress).await?;
    let driver = engine.driver(&topo).await?;
    if !discard_data {
        if let Err(e) = apply::refuse_losses(&*driver, &plan, state).await {
            // Refused: the lab as it was, its record too.
            if let Some(before) = &before {
                crate::lab::write(state, before)?;
            }
            return Err(e);
        }
    }
    let Some((host_port, engine)) = publishing else {
        let outcomes = apply::apply(&*driver, &plan, state, ready_seconds, progress).await?;
        return Ok(Brought {
            topo,
            plan,
            driver,
            outcomes,
            url: None,
        });
    };
    // The forwarder waits on nothing of the lab but its networks: it
    // starts beside the servers, not after them. Either failing, the other
    // still finishes (an `up` is not cut off midway by its forwarder).
    driver.prepare(&plan).await?;
    let (outcomes, url) = tokio::join!(
        apply::apply(&*driver, &plan, state, ready_seconds, progress),
        self::publish(&*driver, &engine, &topo, &plan, host_port)
    );
    let (outcomes, url) = (outcomes?, url?);
    Ok(Brought {
        topo,
        plan,
        driver,
        outcomes,
        url,
    })
}

/// What `--publish` on a backend that cannot publish says.
const NOT_PUBLISHED: &str =
    "--publish is for labs on a Docker engine: hosts over SSH are reached at their own addresses";

/// Starts the lab's forwarder (kept when it is there as asked), its site
/// published on the engine's host at `host_port` (see
/// `Publisher::publish`) or nowhere; its address there.
pub async fn publish(
    driver: &dyn crate::driver::Driver,
    engine: &crate::driver::Placement,
    topo: &crate::topology::Topology,
    plan: &crate::render::plan::Plan,
    host_port: Option<u16>,
) -> Result<Option<String>> {
    use crate::topology::public;
    let at = public::users_network(topo).and_then(|network| {
        let address = public::publisher_address(topo, &network)?;
        let target = public::site_address(topo, &network)?;
        Some((network, address.to_string(), target))
    });
    let Some((network, address, target)) = at else {
        return Err(Error::usage(format!(
            "stack `{}` has no entry point on a network users reach: nothing to publish",
            topo.stack.origin
        )));
    };
    let port = topo.site_port();
    let at = crate::driver::Publish {
        network: &network,
        address: &address,
        target,
        port,
        host_port,
    };
    let publisher = driver
        .publisher()
        .ok_or_else(|| Error::usage(NOT_PUBLISHED))?;
    let port = publisher.publish(plan, at).await?;
    Ok(port.map(|port| super::site_url(topo, engine, port)))
}

/// The lab where its engine has room: on the stack's own subnets, or,
/// where another network of the engine holds one of them (another lab of
/// the same stack), on free subnets of the pool, each server keeping its
/// host number. Over SSH the hosts' addresses are what they are.
pub async fn place(
    lab: crate::lab::Lab,
    engine: &dyn Engine,
    progress: &dyn Progress,
) -> Result<crate::lab::Lab> {
    match engine.subnets_in_use().await? {
        Some(in_use) => place_among(lab, &in_use, progress),
        None => Ok(lab),
    }
}

/// `lab` where none of `in_use` (subnets, with the lab each belongs to)
/// overlaps its networks, but its own.
pub fn place_among(
    lab: crate::lab::Lab,
    in_use: &[(Option<String>, crate::stack::Subnet)],
    progress: &dyn Progress,
) -> Result<crate::lab::Lab> {
    use crate::stack::relocate;
    let taken: Vec<crate::stack::Subnet> = in_use
        .iter()
        .filter(|(l, _)| l.as_deref() != Some(lab.stack.name.as_str()))
        .map(|(_, s)| *s)
        .collect();
    let clash = lab
        .stack
        .networks
        .iter()
        .find(|n| taken.iter().any(|t| t.overlaps(n.subnet)));
    let Some(clash) = clash else {
        return Ok(lab);
    };
    let pool = relocate::pool().map_err(Error::usage)?;
    let moves = relocate::allocate(&lab.own_subnets(), &taken, pool).ok_or_else(|| {
        Error::failure(format!(
            "no free subnets left in {pool} for lab `{}`",
            lab.stack.name
        ))
        .with_hint(format!("name another pool in {}", relocate::POOL_VAR))
    })?;
    let to: Vec<String> = moves.iter().map(|m| m.to.to_string()).collect();
    progress.note(&format!(
        "Lab `{}`: {} is taken on this engine; its networks are on {} instead.",
        lab.stack.name,
        clash.subnet,
        to.join(", ")
    ));
    lab.moved(moves)
}

/// What `up` would do to each server of the lab of `stack`, on its
/// engine, with nothing done (`up --dry-run`).
pub async fn decide(
    stack: &str,
    global: &Global,
) -> Result<(
    crate::render::plan::Plan,
    Vec<crate::apply::reconcile::Decision>,
)> {
    let lab = super::resolve(stack, global)?;
    let engine = super::engine_of(&lab.stack.name, global).await?;
    let lab = place(lab, &*engine, &crate::progress::Silent).await?;
    let super::Loaded { topo, plan, .. } = super::load_lab(lab, global)?;
    let state = global.state(&plan.stack);
    let driver = engine.driver(&topo).await?;
    let (hosts, kept) = tokio::try_join!(driver.hosts(), driver.kept())?;
    let decisions =
        crate::apply::reconcile::decide(&plan, &hosts, &kept, &apply::read_applied(&state));
    Ok((plan, decisions))
}

/// Resets a lab: every object of it removed from its engine, then the lab
/// brought up again as its record says (same engine, subnets, secrets
/// and publishing), as new. Its state is locked meanwhile.
pub async fn reset(lab: &str, global: &Global, progress: &dyn Progress) -> Result<Brought> {
    let resolved = super::resolve(lab, global)?;
    let state = global.state(lab);
    let _lock = state.lock("reset")?;
    if crate::lab::read(&state).is_none() {
        return Err(Error::usage(format!(
            "lab `{lab}` was never brought up: nothing to reset"
        )));
    }
    let engine = super::engine_of(lab, global).await?;
    let driver = engine
        .driver(&crate::topology::Topology::build(resolved.stack.clone()))
        .await?;
    driver
        .destroy(&crate::driver::DownOptions::default())
        .await?;
    bring_up(
        resolved,
        &*engine,
        &state,
        UpOptions::default(),
        global,
        progress,
    )
    .await
}
