//! `infractl up`: brings a stack up on the local Docker engine (or the one
//! `DOCKER_HOST` names, or hosts over SSH), doing only what changed since
//! the last `up`. The result (what changed, the servers' table) goes to
//! stdout; how to reach the site is a status note on stderr.

use std::io::Write;
use std::time::Instant;

use super::{emit, emit_json, status, Global};
use crate::apply::{self, Action};
use crate::driver::Engine;
use crate::error::{Error, Result};
use crate::lab::state::StateDir;
use crate::progress::Progress;

pub async fn run(
    args: &crate::cli::UpArgs,
    global: &Global,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<i32> {
    let (stack, json) = (args.stack.as_str(), args.json);
    if args.dry_run {
        return dry_run(stack, json, global, out).await;
    }
    let ready_seconds = args.timeout;
    let started = Instant::now();
    let lab = super::resolve(stack, global)?;
    let state = global.state(&lab.stack.name);
    let _lock = state.lock("up")?;
    let engine = super::engine_of(&lab.stack.name, global).await?;
    let lab = place(lab, &*engine, progress).await?;
    let name = lab.stack.name.clone();
    // Ctrl-C during the bring-up is ours: say how to go on from here.
    let ctrl_c = crate::interrupt::handle();
    let brought = tokio::select! {
        r = bring_up(lab, &*engine, &state, args.publish, ready_seconds, global, progress) => r?,
        signal = crate::interrupt::signalled() => {
            return Err(Error::Interrupted {
                message: format!("interrupted: lab `{name}` is partly up"),
                hint: None,
                signal,
            }
            .with_hint(format!(
                "`infractl up {name}` resumes where this stopped; `infractl down {name}` removes it"
            )));
        }
    };
    drop(ctrl_c);
    let Brought {
        topo,
        plan,
        driver,
        outcomes,
        url,
    } = brought;
    let elapsed = started.elapsed().as_secs_f64();
    let report = status::collect(&*driver, &plan).await?;
    if json {
        emit_json(
            out,
            &super::report::Up {
                changes: &outcomes,
                seconds: elapsed,
                servers: &report,
                stack: &plan.stack,
                url: url.as_deref(),
            },
        )?;
        return Ok(0);
    }
    let changed: Vec<_> = outcomes
        .iter()
        .filter(|o| o.action != Action::Unchanged)
        .collect();
    // A lab of another name says which stack it runs.
    let what = if plan.origin == plan.stack {
        format!("Lab `{}`", plan.stack)
    } else {
        format!("Lab `{}` ({})", plan.stack, plan.origin)
    };
    let mut text = if changed.is_empty() {
        format!(
            "{what} is up to date: {} unchanged, nothing touched ({elapsed:.2} s).\n",
            super::count(outcomes.len(), "server")
        )
    } else {
        let mut t = format!("{what} is up ({elapsed:.2} s):");
        for a in [
            Action::Created,
            Action::Recreated,
            Action::Started,
            Action::Updated,
            Action::Removed,
        ] {
            let names: Vec<&str> = changed
                .iter()
                .filter(|o| o.action == a)
                .map(|o| o.server.as_str())
                .collect();
            if !names.is_empty() {
                t.push_str(&format!(" {} {}", a.as_str(), names.join(", ")));
                t.push(';');
            }
        }
        t.pop();
        t.push_str(".\n");
        for o in &changed {
            if let Some(n) = crate::reconcile::notice(&o.server, &o.action, &o.why, &o.data) {
                t.push_str(&format!("  {n}\n"));
            }
        }
        for o in changed.iter().filter(|o| !o.reloaded.is_empty()) {
            t.push_str(&format!(
                "  {}: reloaded {}\n",
                o.server,
                o.reloaded.join(", ")
            ));
        }
        t
    };
    text.push('\n');
    text.push_str(&status::table(&report));
    emit(out, &text)?;
    let scheme = if topo.tls() { "https" } else { "http" };
    if let Some(client) = topo.with_role(crate::topology::Role::Client).next() {
        progress.note(&format!(
            "\nThe site, from the user's computer:\n  infractl exec {0} {1} -- curl -s {scheme}://www.{2}/",
            plan.stack, client.name, plan.domain
        ));
    }
    if let Some(url) = &url {
        let trust = if topo.tls() {
            format!(
                " (a browser trusts it once it trusts `infractl ca {}`)",
                plan.stack
            )
        } else {
            String::new()
        };
        progress.note(&format!(
            "\nThe site, published on this machine:\n  {url}{trust}"
        ));
    }
    Ok(0)
}

/// A lab brought up: its graph, plan and driver, what was done to each
/// server, and where it is published.
pub struct Brought {
    pub topo: crate::topology::Topology,
    pub plan: crate::render::plan::Plan,
    pub driver: Box<dyn crate::driver::Driver>,
    pub outcomes: Vec<apply::Outcome>,
    pub url: Option<String>,
}

/// Brings a placed lab up (its state locked by the caller): records it,
/// applies its plan, publishes it (when `publish` or its record says so).
pub async fn bring_up(
    lab: crate::lab::Lab,
    engine: &dyn Engine,
    state: &StateDir,
    publish: Option<u16>,
    ready_seconds: u32,
    global: &Global,
    progress: &dyn Progress,
) -> Result<Brought> {
    // Recorded before anything is made: an `up` cut off resumes on the
    // same subnets, and `verify LAB` finds them.
    let before = crate::lab::read(state);
    let mut record = lab.record();
    record.publish = publish.or_else(|| before.as_ref().and_then(|r| r.publish));
    record.engine = engine.placement();
    record.class = before.and_then(|r| r.class);
    let publishing = match (record.publish, &record.engine) {
        (Some(host_port), Some(engine)) => Some((host_port, engine.clone())),
        (Some(_), None) => return Err(Error::usage(NOT_PUBLISHED)),
        (None, _) => None,
    };
    crate::lab::write(state, &record)?;
    let super::Loaded { topo, plan, .. } = super::load_lab(lab, global)?;
    let driver = engine.driver(&topo).await?;
    driver.ensure_ready(progress).await?;
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
    let (outcomes, url) = (outcomes?, Some(url?));
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

/// Publishes the site on the engine's host (see `Publisher::publish`);
/// its address there.
async fn publish(
    driver: &dyn crate::driver::Driver,
    engine: &crate::driver::Placement,
    topo: &crate::topology::Topology,
    plan: &crate::render::plan::Plan,
    host_port: u16,
) -> Result<String> {
    use crate::stranger;
    let at = stranger::users_network(topo).and_then(|network| {
        let address = stranger::publisher_address(topo, &network)?;
        let target = stranger::site_address(topo, &network)?;
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
    Ok(super::site_url(topo, engine, port))
}

/// The lab where its engine has room: on the stack's own subnets, or,
/// where another network of the engine holds one of them (another lab of
/// the same stack), on free subnets of the pool, each server keeping its
/// host number. Over SSH the hosts' addresses are what they are.
async fn place(
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

/// `up --dry-run`: what `up` would do to each server, and nothing done.
async fn dry_run(stack: &str, json: bool, global: &Global, out: &mut dyn Write) -> Result<i32> {
    let lab = super::resolve(stack, global)?;
    let engine = super::engine_of(&lab.stack.name, global).await?;
    let lab = place(lab, &*engine, &crate::progress::Silent).await?;
    let super::Loaded { topo, plan, .. } = super::load_lab(lab, global)?;
    let state = global.state(&plan.stack);
    let driver = engine.driver(&topo).await?;
    let (hosts, kept) = tokio::try_join!(driver.hosts(), driver.kept())?;
    let decisions = crate::reconcile::decide(&plan, &hosts, &kept, &apply::read_applied(&state));
    if json {
        emit_json(
            out,
            &super::report::DryRun {
                decisions: &decisions,
                dry_run: true,
                stack: &plan.stack,
            },
        )?;
        return Ok(0);
    }
    let list = |v: &[String]| {
        if v.is_empty() {
            String::new()
        } else if v.len() > 3 {
            format!("{}, … ({} in all)", v[..3].join(", "), v.len())
        } else {
            v.join(", ")
        }
    };
    let rows: Vec<[String; 4]> = decisions
        .iter()
        .map(|d| {
            let mut what = Vec::new();
            if !d.files.is_empty() {
                what.push(format!("copy {}", super::count(d.files.len(), "file")));
            }
            for x in d
                .data
                .iter()
                .filter(|x| x.fate != crate::reconcile::Fate::New)
            {
                what.push(x.describe());
            }
            for (verb, names) in [
                ("reload", &d.reload),
                ("enable", &d.enable),
                ("disable", &d.disable),
            ] {
                if !names.is_empty() {
                    what.push(format!("{verb} {}", list(names)));
                }
            }
            [
                d.server.clone(),
                d.action.as_str().to_string(),
                d.why.clone(),
                what.join("; "),
            ]
        })
        .collect();
    let changes = decisions
        .iter()
        .filter(|d| d.action != Action::Unchanged)
        .count();
    let mut text = super::table(["SERVER", "ACTION", "WHY", "WHAT"], &rows);
    text.push_str(&format!(
        "\nDry run: {} of lab `{}` would change; nothing was done.\n",
        super::count(changes, "server"),
        plan.stack
    ));
    emit(out, &text)?;
    Ok(0)
}
