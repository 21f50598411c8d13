//! A fault of the catalogue made real on a running lab, through the
//! driver: a config file read from the server, edited and put back whole
//! (its mode and owner as the plan has them), its service reloaded the
//! way the lab's supervisor reloads it (after an expired certificate the
//! lab CA signs is put beside the valid one, for that fault), and for
//! some a script run after (a service stopped); or
//! replication stopped and the primary written to; or a script run (a
//! firewall rule, a zone changed and reloaded). Then waited for until it
//! shows, and on a monitored stack until the lab's own alerts for it fire
//! (within the bound the fault reads from the rules), so that a `verify`
//! right after sees it all.

use std::time::Instant;

use super::faults::{apply, Alerts, Breakage, Change, Edit, Fault, Symptom};
use crate::driver::Driver;
use crate::error::{Error, Result};
use crate::lab::state::StateDir;
use crate::render::plan::{sha256_hex, FileSpec, Plan};
use crate::topology::Topology;

/// How long a fault gets to show once made: a reload's new workers (or
/// HAProxy's first failed checks, two at 250 ms) take well under a
/// second; the rest is margin for a loaded engine.
pub const SHOW_BOUND_S: u32 = 30;

/// What `inject` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Injected {
    #[serde(flatten)]
    pub breakage: Breakage,
    /// Seconds from the change until the fault showed.
    pub shown_after_s: f64,
    /// Seconds from the change until its alerts fired (none to wait for:
    /// absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fired_after_s: Option<f64>,
}

/// Seconds since `t`, to a tenth.
fn since(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 10.0).round() / 10.0
}

/// A marker no other injection's rows hold: this process's, now.
fn marker() -> String {
    format!(
        "inject-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    )
}

/// Injects `fault` into the lab of `topo` (the server `seed` draws; its
/// state `state`) and waits until it shows.
pub async fn inject(
    driver: &dyn Driver,
    topo: &Topology,
    plan: &Plan,
    state: &StateDir,
    fault: &Fault,
    seed: u64,
) -> Result<Injected> {
    let b = fault.plan(topo, seed, &marker())?;
    let t = Instant::now();
    match &b.change {
        Change::Edit {
            path,
            service,
            edits,
            then,
        } => {
            edit(driver, plan, &b.on, path, service, edits).await?;
            if let Some(script) = then {
                run(driver, &b.on, script, &format!("injecting {}", b.fault)).await?;
            }
        }
        Change::StopReplica {
            primary,
            rows,
            marker,
        } => stop_replica(driver, &b.on, primary, *rows, marker).await?,
        Change::ExpiredCert {
            cert,
            path,
            service,
            edits,
        } => {
            let file = FileSpec {
                secret: true,
                ..crate::render::supervise::plain_file(
                    cert,
                    0o600,
                    state.expired_site_certificate()?,
                )
            };
            driver.put_files(plan, &b.on, &[file]).await?;
            edit(driver, plan, &b.on, path, service, edits).await?;
        }
        Change::Run { script } => {
            run(driver, &b.on, script, &format!("injecting {}", b.fault)).await?;
        }
    }
    let (shown, last) = wait_for(driver, &b.shows, "yes", SHOW_BOUND_S).await?;
    if !shown {
        return Err(Error::failure(format!(
            "fault `{}` was made on {} but did not show within {SHOW_BOUND_S} s (last seen: {last})",
            b.fault, b.on
        ))
        .with_hint(format!(
            "`infractl logs {} {}` says what the server did",
            plan.stack, b.on
        )));
    }
    let shown_after_s = since(t);
    let fired_after_s = match &b.alerts {
        Some(a) if !a.fire.is_empty() => Some(fired(driver, topo, &b, a, t).await?),
        _ => None,
    };
    Ok(Injected {
        shown_after_s,
        fired_after_s,
        breakage: b,
    })
}

/// Waits until every alert of `a` fires, within its bound; the seconds
/// since `t` when they did.
async fn fired(
    driver: &dyn Driver,
    topo: &Topology,
    b: &Breakage,
    a: &Alerts,
    t: Instant,
) -> Result<f64> {
    let bound = std::time::Duration::from_secs(a.fire_within_s.into());
    let (now, all) = crate::alerts::watch(driver, topo, bound, |f| {
        a.fire.iter().all(|want| f.iter().any(|x| x.alert == *want))
    })
    .await?;
    if !all {
        let seen: Vec<&str> = now.iter().map(|f| f.alert.as_str()).collect();
        return Err(Error::failure(format!(
            "fault `{}` shows on {}, but the lab's alerts for it ({}) did not all fire within {} s (firing: {})",
            b.fault,
            b.on,
            a.fire.join(", "),
            a.fire_within_s,
            if seen.is_empty() { "none".into() } else { seen.join(", ") }
        ))
        .with_hint(format!(
            "`infractl alerts {}` says what fires; the rules are in {} on {}",
            topo.stack.name,
            crate::components::prometheus::ALERTS,
            a.server
        )));
    }
    Ok(since(t))
}

/// Runs `script` on `server`; its output, or an error saying what failed.
async fn run(driver: &dyn Driver, server: &str, script: &str, doing: &str) -> Result<String> {
    let out = driver.exec(server, script).await?;
    if out.code != 0 {
        return Err(Error::failure(format!(
            "{doing} on {server} failed (exit {}): {}",
            out.code,
            out.message()
        )));
    }
    Ok(out.stdout)
}

/// `path` on `server` edited and put back, then `service` reloaded.
async fn edit(
    driver: &dyn Driver,
    plan: &Plan,
    server: &str,
    path: &str,
    service: &str,
    edits: &[Edit],
) -> Result<()> {
    let quoted = crate::shell::shell_quote(path);
    let conf = run(
        driver,
        server,
        &format!("cat {quoted}"),
        &format!("reading {path}"),
    )
    .await?;
    let broken = apply(&conf, edits).map_err(|line| {
        Error::failure(format!(
            "{path} on {server} has no line `{line}...`: it is not as infractl wrote it (another fault, or a change by hand)"
        ))
        .with_hint(format!(
            "`infractl up {}` puts infractl's files back",
            plan.stack
        ))
    })?;
    let sp = plan
        .servers
        .iter()
        .find(|s| s.name == server)
        .ok_or_else(|| Error::failure(format!("the plan has no server {server}")))?;
    let (mode, owner) = sp
        .files
        .iter()
        .find(|f| f.path == path)
        .map_or((0o644, None), |f| (f.mode, f.owner.clone()));
    let file = FileSpec {
        path: path.into(),
        mode,
        owner,
        sha256: sha256_hex(broken.as_bytes()),
        secret: false,
        content: broken.into_bytes(),
    };
    driver.put_files(plan, server, &[file]).await?;
    let svc = sp
        .services
        .iter()
        .find(|s| s.name == service)
        .ok_or_else(|| Error::failure(format!("{server} runs no service {service}")))?;
    let reload = crate::render::supervise::reload(svc);
    run(driver, server, &reload, &format!("reloading {service}")).await?;
    Ok(())
}

/// Replication stopped on `replica`, then `rows` rows holding `marker`
/// written on `primary`.
async fn stop_replica(
    driver: &dyn Driver,
    replica: &str,
    primary: &str,
    rows: usize,
    marker: &str,
) -> Result<()> {
    run(
        driver,
        replica,
        "mariadb -e 'STOP SLAVE'",
        "stopping replication",
    )
    .await?;
    let values: Vec<String> = (1..=rows)
        .map(|i| {
            format!(
                "('{marker} {i}/{rows}: written while {replica} stood still', 'infractl inject')"
            )
        })
        .collect();
    let sql = format!(
        "INSERT INTO notes (text, written_by) VALUES {}",
        values.join(", ")
    );
    run(
        driver,
        primary,
        &format!("mariadb site -e {}", crate::shell::shell_quote(&sql)),
        "writing rows",
    )
    .await?;
    Ok(())
}

/// Polls `s` on its server until it prints `want`, for up to `seconds`:
/// whether it did, and what it printed last.
pub async fn wait_for(
    driver: &dyn Driver,
    s: &Symptom,
    want: &str,
    seconds: u32,
) -> Result<(bool, String)> {
    let script = format!(
        "{}\nlooks() {{ r=$({}); [ \"$r\" = {want} ]; }}\npoll {seconds} looks\necho \"$r\"\n",
        crate::shell::POLL,
        s.script
    );
    let out = driver.exec(&s.server, &script).await?;
    let last = out.stdout.trim().lines().last().unwrap_or("").to_string();
    Ok((last == want, last))
}
