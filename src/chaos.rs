//! `chaos`: proves `explain`'s single points of failure on the running lab.
//!
//! For each server in turn: kill it (no clean shutdown), then from the
//! user's computer ask whether the site answers, whether reads and writes
//! through the application work; start it again and measure how long it
//! takes to recover. Each result is compared with what `explain` predicts;
//! any disagreement is reported. The lab is left as it was found.

use std::time::Instant;

use serde::Serialize;

use crate::driver::Driver;
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::progress::Progress;
use crate::topology::{Role, Topology};

/// How long the site gets to answer with a server down (the load balancer
/// needs a couple of health checks to notice).
pub const PROBE_SECONDS: u32 = 10;

#[derive(Debug, Clone, Serialize)]
pub struct ServerChaos {
    pub server: String,
    pub roles: Vec<String>,
    /// With the server down: the home page answers.
    pub site: bool,
    /// Reading notes through the application works.
    pub reads: bool,
    /// Writing a note through the application works.
    pub writes: bool,
    /// Seconds from the restart until the server is ready and the site
    /// answers again.
    pub recovery_s: f64,
    /// What `explain` predicts of this server's loss.
    pub predicted: String,
    /// What happened.
    pub observed: String,
    pub agrees: bool,
}

/// What explain predicts when `server` is lost: (site down, writes down).
pub fn prediction(topo: &Topology, server: &str) -> (bool, bool) {
    use crate::explain::{Category, FindingKind};
    let findings = crate::explain::findings(topo);
    let spof = |primary: bool| {
        findings.iter().any(|f| {
            f.category == Category::Spof
                && (f.kind == FindingKind::SpofDbPrimary) == primary
                && f.servers.iter().any(|s| s == server)
        })
    };
    let site_down = spof(false);
    let writes_down = site_down || spof(true);
    (site_down, writes_down)
}

fn describe(site: bool, reads: bool, writes: bool) -> String {
    match (site, reads, writes) {
        (true, true, true) => "site up, reads and writes work".into(),
        (true, true, false) => "site up, reads work, writes fail".into(),
        (false, _, _) => "site down".into(),
        (true, false, true) => "site up, reads fail, writes work".into(),
        (true, false, false) => "site up, reads and writes fail".into(),
    }
}

async fn probe<D: Driver>(driver: &D, client: &str, base: &str) -> Result<(bool, bool, bool)> {
    // Poll until all three work or the time is up; report what worked.
    let script = crate::shell::polling(
        crate::shell::CHAOS_PROBE,
        &[&PROBE_SECONDS.to_string(), base],
    );
    let out = driver.exec(client, &script).await?;
    let w: Vec<&str> = out.stdout.split_whitespace().collect();
    Ok((
        w.first() == Some(&"yes"),
        w.get(1) == Some(&"yes"),
        w.get(2) == Some(&"yes"),
    ))
}

/// Kills each server in turn and reports what the site did.
pub async fn run<D: Driver>(
    driver: &D,
    topo: &Topology,
    plan: &Plan,
    progress: &dyn Progress,
) -> Result<Vec<ServerChaos>> {
    let client = topo
        .with_role(Role::Client)
        .next()
        .map(|n| n.name.clone())
        .ok_or_else(|| Error::usage("chaos probes the site from the user's computer, and this stack has no `client` server"))?;
    let scheme = if topo.tls() { "https" } else { "http" };
    let base = format!("{scheme}://www.{}", topo.stack.domain);
    let victims: Vec<&crate::topology::Node> =
        topo.nodes.iter().filter(|n| n.name != client).collect();
    let mut out = Vec::new();
    progress.begin("chaos", Some(victims.len() as u64), "");
    for (i, n) in victims.iter().enumerate() {
        progress.update("chaos", Some(i as u64), &format!("killing {}", n.name));
        driver.kill(&n.name).await?;
        let (site, reads, writes) = probe(driver, &client, &base).await?;
        progress.update("chaos", Some(i as u64), &format!("restarting {}", n.name));
        let t = Instant::now();
        driver.start(plan, &n.name).await?;
        // Every server ready again, not only the victim: the load
        // balancer must see its backend UP before the next kill (or the
        // verify after chaos) finds the lab as it was.
        futures_util::future::try_join_all(
            plan.servers
                .iter()
                .map(|s| crate::apply::wait_probes(driver, plan, s, 60)),
        )
        .await?;
        // Recovered when the site answers again with every function.
        let (s2, r2, w2) = probe(driver, &client, &base).await?;
        let recovery = t.elapsed().as_secs_f64();
        if !(s2 && r2 && w2) {
            return Err(Error::failure(format!(
                "after {} came back the site did not recover: {}",
                n.name,
                describe(s2, r2, w2)
            )));
        }
        let (site_down, writes_down) = prediction(topo, &n.name);
        let predicted = describe(!site_down, !site_down, !writes_down);
        let observed = describe(site, reads, writes);
        out.push(ServerChaos {
            server: n.name.clone(),
            roles: n.roles.iter().map(|r| r.as_str().to_string()).collect(),
            site,
            reads,
            writes,
            recovery_s: (recovery * 10.0).round() / 10.0,
            agrees: predicted == observed,
            predicted,
            observed,
        });
    }
    let disagree = out.iter().filter(|r| !r.agrees).count();
    progress.finish(
        "chaos",
        disagree == 0,
        &format!(
            "{} servers killed and restored, {disagree} disagree with explain",
            out.len()
        ),
    );
    Ok(out)
}
