//! `chaos`: proves `explain`'s single points of failure on the running lab.
//!
//! For each server in turn: kill it (no clean shutdown), then from the
//! user's computer ask whether the site answers, whether reads and writes
//! through the application work; start it again and measure how long it
//! takes to recover. Each result is compared with what `explain` predicts;
//! any disagreement is reported. In a lab that monitors itself, each kill
//! also waits for the alert that tells the operator, and times it. The
//! lab is left as it was found.

use std::time::Instant;

use serde::Serialize;

use crate::driver::Driver;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::render::plan::Plan;
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
    /// In a lab with monitoring, what the operator was told: see
    /// [`Alerted`]; None without monitoring.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<Alerted>,
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

/// The alerts a server's loss raised, or why none was awaited.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Alerted {
    /// These fired (each once), the first this long after the kill.
    Fired { alerts: Vec<String>, after_s: f64 },
    /// Nothing about the server fired within the bound.
    Silent { within_s: u64 },
    /// Nothing scrapes the server: its loss cannot raise an alert.
    Unwatched,
    /// The server is the monitoring itself: nobody is left to alert.
    Monitor,
}

impl Alerted {
    pub fn cell(&self) -> String {
        match self {
            Alerted::Fired { alerts, after_s } => format!("{} {after_s:.1} s", alerts.join(",")),
            Alerted::Silent { within_s } => format!("NONE in {within_s} s"),
            Alerted::Unwatched => "unwatched".into(),
            Alerted::Monitor => "(the monitor)".into(),
        }
    }
}

/// Waits, from `killed`, for an alert about `server` (or the site's, when
/// the site went down with it).
async fn await_alert(
    driver: &dyn Driver,
    topo: &Topology,
    server: &str,
    killed: Instant,
) -> Result<Option<Alerted>> {
    use crate::alerts;
    let Some(monitor) = alerts::monitor(topo) else {
        return Ok(None);
    };
    if server == monitor {
        return Ok(Some(Alerted::Monitor));
    }
    if topo.exporters(server).is_empty() {
        return Ok(Some(Alerted::Unwatched));
    }
    let bound = std::time::Duration::from_secs(crate::verify::ALERT_BOUND_S);
    // Raised by this kill: an alert still firing from the one before (a
    // replica that lost its primary) says nothing of this one.
    let relevant = |f: &alerts::Firing| {
        (alerts::about(f, server) || f.alert == "SiteDown")
            && f.seconds <= killed.elapsed().as_secs() + 1
    };
    let left = bound.saturating_sub(killed.elapsed());
    let (now, fired) = alerts::watch(driver, topo, left, |f| f.iter().any(&relevant)).await?;
    if !fired {
        return Ok(Some(Alerted::Silent {
            within_s: crate::verify::ALERT_BOUND_S,
        }));
    }
    let mut names: Vec<String> = Vec::new();
    for a in now.iter().filter(|a| relevant(a)) {
        if !names.contains(&a.alert) {
            names.push(a.alert.clone());
        }
    }
    Ok(Some(Alerted::Fired {
        alerts: names,
        after_s: (killed.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    }))
}

/// How long the lab's alerts get, after the last server is back, to return
/// to those that fired before chaos began: the site's error rate is read
/// over a one-minute window, so its alert outlives the outage it reports
/// by up to a minute, plus a scrape and an evaluation (5 s each).
pub const SETTLE_BOUND_S: u64 = 120;

/// The lab's alerts once chaos has restored every server.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Settled {
    /// Back to those that fired before chaos began, this long after the
    /// last server came back.
    Quiet { after_s: f64 },
    /// Still firing, raised by chaos, when the bound passed.
    Firing { alerts: Vec<String>, within_s: u64 },
}

impl Settled {
    pub fn line(&self) -> String {
        match self {
            Settled::Quiet { after_s } => {
                format!("The alerts chaos raised resolved {after_s:.1} s after the last server came back.")
            }
            Settled::Firing { alerts, within_s } => format!(
                "Still firing {within_s} s after the last server came back: {}.",
                alerts.join(", ")
            ),
        }
    }
}

/// Waits until the lab's alerts are back to `before` (those that fired
/// before chaos began), so that chaos leaves the lab as it found it: a
/// `verify` right after finds no alert chaos raised.
async fn settle(
    driver: &dyn Driver,
    topo: &Topology,
    before: &[String],
    progress: &dyn Progress,
) -> Result<Option<Settled>> {
    if crate::alerts::monitor(topo).is_none() {
        return Ok(None);
    }
    progress.update("chaos", None, "waiting for the alerts to resolve");
    let t = Instant::now();
    // Each alert on a server once (`TargetDown` fires per job).
    let raised = |f: &[crate::alerts::Firing]| -> Vec<String> {
        let keys: std::collections::BTreeSet<String> = f
            .iter()
            .map(crate::alerts::Firing::name)
            .filter(|k| !before.contains(k))
            .collect();
        keys.into_iter().collect()
    };
    let bound = std::time::Duration::from_secs(SETTLE_BOUND_S);
    // Quiet in Alertmanager, and nothing chaos raised still pending in
    // Prometheus either: an error rate read over a minute can hold an
    // alert pending that fires only after Alertmanager looked quiet.
    let (now, quiet) = loop {
        let left = bound.saturating_sub(t.elapsed());
        let (now, quiet) =
            crate::alerts::watch(driver, topo, left, |f| raised(f).is_empty()).await?;
        let pending = crate::alerts::held(driver, topo)
            .await
            .into_iter()
            .any(|k| !before.contains(&k));
        if !quiet || !pending || t.elapsed() >= bound {
            break (now, quiet && !pending);
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    Ok(Some(if quiet {
        Settled::Quiet {
            after_s: (t.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        }
    } else {
        Settled::Firing {
            alerts: raised(&now),
            within_s: SETTLE_BOUND_S,
        }
    }))
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

async fn probe(driver: &dyn Driver, client: &str, base: &str) -> Result<(bool, bool, bool)> {
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

/// One kill: its victims, their roles, explain's prediction, how long the
/// lab may take to be ready again, and how to tell it has reacted (a
/// server and the script it runs until then).
struct Kill<'a> {
    victims: &'a [String],
    roles: Vec<String>,
    predicted: String,
    ready_s: u32,
    settle: Option<(&'a str, String)>,
}

/// Where chaos probes from, and what it breaks.
struct Lab<'a> {
    driver: &'a dyn Driver,
    topo: &'a Topology,
    plan: &'a Plan,
    client: String,
    base: String,
}

impl Lab<'_> {
    /// Kills `k.victims` at once (no clean stop), waits for the lab to
    /// react where `k.settle` says how, probes the site, waits for the
    /// alert, starts them again, waits until every server is ready and the
    /// site answers with every function; a row comparing what happened
    /// with `k.predicted`.
    async fn kill_and_restore(
        &self,
        k: Kill<'_>,
        progress: &dyn Progress,
        step: Option<u64>,
    ) -> Result<ServerChaos> {
        let Kill {
            victims,
            roles,
            predicted,
            ready_s,
            settle,
        } = k;
        let (driver, plan) = (self.driver, self.plan);
        let name = victims.join("+");
        progress.update("chaos", step, &format!("killing {name}"));
        let killed = Instant::now();
        futures_util::future::try_join_all(victims.iter().map(|s| driver.kill(s))).await?;
        if let Some((server, script)) = settle {
            let out = driver.exec(server, &script).await?;
            if out.code != 0 {
                return Err(Error::failure(format!(
                    "{server} did not react to losing {name}: {}",
                    out.stdout.trim()
                )));
            }
        }
        let (site, reads, writes) = probe(driver, &self.client, &self.base).await?;
        progress.update(
            "chaos",
            step,
            &format!("{name} down: waiting for its alert"),
        );
        let alert = await_alert(driver, self.topo, &victims[0], killed).await?;
        progress.update("chaos", step, &format!("restarting {name}"));
        let t = Instant::now();
        futures_util::future::try_join_all(victims.iter().map(|s| driver.start(plan, s))).await?;
        // Every server ready again, not only the victims: the load
        // balancer must see its backend UP before the next kill (or the
        // verify after chaos) finds the lab as it was.
        futures_util::future::try_join_all(
            plan.servers
                .iter()
                .map(|s| crate::apply::wait_probes(driver, plan, s, ready_s, 0)),
        )
        .await?;
        // Recovered when the site answers again with every function.
        let (s2, r2, w2) = probe(driver, &self.client, &self.base).await?;
        let recovery = t.elapsed().as_secs_f64();
        if !(s2 && r2 && w2) {
            return Err(Error::failure(format!(
                "after {name} came back the site did not recover: {}",
                describe(s2, r2, w2)
            )));
        }
        let observed = describe(site, reads, writes);
        Ok(ServerChaos {
            server: name,
            roles,
            site,
            reads,
            writes,
            recovery_s: (recovery * 10.0).round() / 10.0,
            alert,
            agrees: predicted == observed,
            predicted,
            observed,
        })
    }
}

/// A Galera cluster loses its quorum: as many of its nodes killed at once
/// as leave the rest a minority. explain says the rest then refuse reads
/// and writes rather than diverge, and the page, which reads the notes,
/// fails with them; the cluster comes back whole once the nodes are back
/// (joining takes longer than a restart: up to 120 s).
async fn lose_quorum(lab: &Lab<'_>, progress: &dyn Progress) -> Result<Option<ServerChaos>> {
    let cluster = lab.topo.cluster();
    let n = cluster.len();
    if n < 3 {
        return Ok(None);
    }
    let (kept, lost) = cluster.split_at(crate::components::mariadb::quorum(n) - 1);
    let roles = vec![format!("{} of {n} Galera nodes", lost.len())];
    let predicted = describe(false, false, false);
    // Probed once the rest have seen the loss: until then they serve
    // reads, and a probe would catch that moment rather than the outage.
    let settle = crate::shell::polling(crate::shell::QUORUM_LOST, &["30"]);
    let kill = Kill {
        victims: lost,
        roles,
        predicted,
        ready_s: 120,
        settle: Some((kept[0].as_str(), settle)),
    };
    lab.kill_and_restore(kill, progress, None).await.map(Some)
}

/// What chaos found: a row per kill, and, in a lab that monitors itself,
/// whether the alerts it raised resolved once every server was back.
pub struct Outcome {
    pub rows: Vec<ServerChaos>,
    pub settled: Option<Settled>,
}

impl Outcome {
    /// No alert chaos raised still fires (true without monitoring).
    pub fn quiet(&self) -> bool {
        !matches!(self.settled, Some(Settled::Firing { .. }))
    }
}

/// Kills each server in turn and reports what the site did.
pub async fn run(
    driver: &dyn Driver,
    topo: &Topology,
    plan: &Plan,
    progress: &dyn Progress,
) -> Result<Outcome> {
    let client = topo
        .with_role(Role::Client)
        .next()
        .map(|n| n.name.clone())
        .ok_or_else(|| Error::usage("chaos probes the site from the user's computer, and this stack has no `client` server"))?;
    let lab = Lab {
        driver,
        topo,
        plan,
        base: format!("{}://{}", topo.site_scheme(), topo.site_host()),
        client,
    };
    let victims: Vec<&crate::topology::Node> =
        topo.nodes.iter().filter(|n| n.name != lab.client).collect();
    let before: Vec<String> = crate::alerts::firing(driver, topo)
        .await?
        .unwrap_or_default()
        .iter()
        .map(crate::alerts::Firing::name)
        .collect();
    let mut out = Vec::new();
    progress.begin("chaos", Some(victims.len() as u64), "");
    for (i, n) in victims.iter().enumerate() {
        let (site_down, writes_down) = prediction(topo, &n.name);
        let row = lab
            .kill_and_restore(
                Kill {
                    victims: std::slice::from_ref(&n.name),
                    roles: n.roles.iter().map(|r| r.as_str().to_string()).collect(),
                    predicted: describe(!site_down, !site_down, !writes_down),
                    ready_s: 60,
                    settle: None,
                },
                progress,
                Some(i as u64),
            )
            .await?;
        out.push(row);
    }
    if let Some(row) = lose_quorum(&lab, progress).await? {
        out.push(row);
    }
    let outcome = Outcome {
        settled: settle(driver, topo, &before, progress).await?,
        rows: out,
    };
    let disagree = outcome.rows.iter().filter(|r| !r.agrees).count();
    progress.finish(
        "chaos",
        disagree == 0 && outcome.quiet(),
        &format!(
            "{} servers killed and restored, {disagree} disagree with explain",
            outcome.rows.len()
        ),
    );
    Ok(outcome)
}
