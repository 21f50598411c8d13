//! `verify`: proves what a stack claims on its running lab, from the user's
//! side, the way an examiner would check it.
//!
//! Probes run from the client container (the user's computer) through the
//! lab's DNS, HTTPS and the virtual IP; firewall flows are tried from the
//! server each flow comes from. Checks apply to the stacks that have the
//! component. Each result says what was expected, what was observed, and
//! how long it took; a failed one, where to look (its hint, worded by its
//! family).
//!
//! What a claim about one component is made of comes from its kind
//! (`Component::to_prove`, gathered by `verifier::kinds_claims`); what is
//! claimed of the whole stack (the page through every tier, what must not
//! pass the firewalls, what a stranger reaches) is decided here. One file
//! per family of claims, in the order `run` proves them:
//!
//! - `claim.rs`: the [`Claim`] recorded, why a failed one failed, and the
//!   words its hint (where to look) shares with the other families';
//! - `verifier.rs`: the one `Verifier` the families share;
//! - `dns.rs`, `site.rs`, `balance.rs`, `db.rs` (replication, Galera),
//!   `firewall.rs` (and how ports are tried), `stranger.rs` (the public
//!   side), `monitoring.rs`, `alerting.rs`, `failover.rs`.

mod alerting;
mod balance;
mod claim;
mod db;
mod dns;
mod failover;
mod firewall;
mod monitoring;
mod site;
mod stranger;
mod verifier;

pub use alerting::{alert_victim, killed, ALERT_BOUND_S};
pub use balance::{requests_for, spread, REQUESTS, REQUESTS_PER_BACKEND};
pub use claim::{blame, mentions, not_running, Claim};
pub use db::REPLICATION_BOUND_MS;
pub use failover::FAILOVER_BOUND_MS;
pub use firewall::{firewall_probes, PortProbe};
pub use monitoring::TARGETS;
pub use stranger::walled_on;
pub use verifier::kinds_claims;

use crate::driver::Driver;
use crate::error::{Error, Result};
use crate::lab::state::Secrets;
use crate::progress::Progress;
use crate::render::plan::Plan;
use crate::topology::{Role, Topology};
use verifier::Verifier;

/// Runs every check that applies to the stack. A server that is not
/// running fails the claims that need it (each saying so in `because`);
/// the others are checked as on a whole lab.
pub async fn run(
    driver: &dyn Driver,
    topo: &Topology,
    plan: &Plan,
    secrets: &Secrets,
    progress: &dyn Progress,
) -> Result<Vec<Claim>> {
    let client = topo
        .with_role(Role::Client)
        .next()
        .map(|n| n.name.clone())
        .ok_or_else(|| Error::usage("verify checks the lab from the user's computer, and this stack has no `client` server"))?;
    let down = not_running_now(driver, plan).await?;
    if !down.is_empty() {
        progress.note(&format!(
            "{}: the claims that need {} fail, the others are checked",
            not_running(&down),
            if down.len() == 1 { "it" } else { "them" }
        ));
    }
    let mut v = Verifier::new(driver, topo, plan, secrets, client, down);
    prove_all(&mut v, progress).await?;
    let failed = v.results.iter().filter(|r| !r.ok).count();
    progress.finish(
        "verify",
        failed == 0,
        &format!("{} checks, {failed} failed", v.results.len()),
    );
    Ok(v.results)
}

/// The servers of `plan` the driver does not find running.
async fn not_running_now(driver: &dyn Driver, plan: &Plan) -> Result<Vec<String>> {
    let hosts = driver.hosts().await?;
    Ok(plan
        .servers
        .iter()
        .filter(|s| !hosts.iter().any(|h| h.server == s.name && h.running))
        .map(|s| s.name.clone())
        .collect())
}

/// Every family of claims, in order, each announced.
async fn prove_all(v: &mut Verifier<'_>, progress: &dyn Progress) -> Result<()> {
    progress.begin("verify", None, "DNS");
    v.dns().await?;
    v.dns_servers().await?;
    progress.update("verify", None, "the site");
    v.site_checks().await?;
    progress.update("verify", None, "load balancing");
    v.balancing().await?;
    progress.update("verify", None, "replication");
    v.replication().await?;
    progress.update("verify", None, "firewalls");
    v.firewall().await?;
    progress.update("verify", None, "a stranger");
    v.stranger().await?;
    progress.update("verify", None, "monitoring");
    v.monitoring().await?;
    progress.update("verify", None, "alerting");
    v.alerting(progress).await?;
    progress.update("verify", None, "failover");
    v.failover(progress).await
}
