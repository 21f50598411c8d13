//! The one `Verifier` every family of claims is proved with: the lab it
//! runs commands on (nothing on a server that is not running), the claims
//! recorded so far, and what the kinds claim of their servers.
//!
//! Each family (`dns.rs`, `site.rs`, ...) adds its own `impl Verifier`
//! block: they all share this state and these few steps, so one type keeps
//! them together rather than a type per family each borrowing the same.

use std::time::Instant;

use super::claim::{blame, not_running, Claim};
use crate::components::ToProve;
use crate::driver::{Driver, ExecOutput};
use crate::error::{Error, Result};
use crate::lab::state::Secrets;
use crate::render::plan::Plan;
use crate::topology::Topology;

/// What the kinds claim of their servers (see `Component::to_prove`): each
/// server's, in stack order, with its name.
pub fn kinds_claims(topo: &Topology) -> Vec<(String, ToProve)> {
    topo.nodes
        .iter()
        .flat_map(|node| {
            topo.server(&node.name)
                .components
                .iter()
                .flat_map(move |c| c.component().to_prove(topo, node))
                .map(move |claim| (node.name.clone(), claim))
        })
        .collect()
}

/// Proves claims on one running lab, recording each.
pub(super) struct Verifier<'a> {
    pub(super) driver: &'a dyn Driver,
    pub(super) topo: &'a Topology,
    pub(super) plan: &'a Plan,
    pub(super) secrets: &'a Secrets,
    /// The user's computer, where the site is tried from.
    pub(super) client: String,
    pub(super) results: Vec<Claim>,
    /// What the kinds claim of their servers ([`kinds_claims`]).
    pub(super) kinds: Vec<(String, ToProve)>,
    /// The lab's servers that are not running: verify runs nothing on
    /// them (nor kills or restarts them), and a claim that needs one
    /// fails because of it.
    pub(super) down: Vec<String>,
    /// The servers of `down` a command was meant for since the last claim
    /// was recorded.
    refused: std::sync::Mutex<Vec<String>>,
}

pub(super) fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

/// What a command answered: its output, or the first line of its error.
pub(super) fn answer(out: &ExecOutput) -> String {
    if out.code == 0 {
        out.stdout.trim().to_string()
    } else {
        first_line(&out.stderr)
    }
}

impl<'a> Verifier<'a> {
    /// A verifier of the lab `plan` brings up, tried from `client`, with
    /// `down` not running.
    pub(super) fn new(
        driver: &'a dyn Driver,
        topo: &'a Topology,
        plan: &'a Plan,
        secrets: &'a Secrets,
        client: String,
        down: Vec<String>,
    ) -> Self {
        Verifier {
            driver,
            topo,
            plan,
            secrets,
            client,
            results: Vec::new(),
            kinds: kinds_claims(topo),
            down,
            refused: Default::default(),
        }
    }
}

impl Verifier<'_> {
    /// The servers whose kinds claim what `pick` picks, with what it
    /// picks, in stack order.
    pub(super) fn claimed<'s, T>(
        &'s self,
        pick: impl Fn(&'s ToProve) -> Option<T>,
    ) -> Vec<(&'s str, T)> {
        self.kinds
            .iter()
            .filter_map(|(server, claim)| Some((server.as_str(), pick(claim)?)))
            .collect()
    }

    pub(super) async fn sh(&self, server: &str, script: &str) -> Result<ExecOutput> {
        match self.refuse(server) {
            Some(out) => Ok(out),
            None => self.driver.exec(server, script).await,
        }
    }

    pub(super) fn is_down(&self, server: &str) -> bool {
        self.down.iter().any(|d| d == server)
    }

    /// For a server that is not running, what a command there answers
    /// (noted, for the claim that needed it); None for one that runs.
    pub(super) fn refuse(&self, server: &str) -> Option<ExecOutput> {
        if !self.is_down(server) {
            return None;
        }
        let mut refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        if !refused.iter().any(|r| r == server) {
            refused.push(server.to_string());
        }
        Some(ExecOutput {
            code: 125,
            stdout: String::new(),
            stderr: not_running(&[server]),
        })
    }

    /// The servers refused since the last claim, forgotten.
    pub(super) fn take_refused(&self) -> Vec<String> {
        std::mem::take(&mut *self.refused.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Records `claim`, saying why it failed when a server that is not
    /// running explains it.
    pub(super) fn push(&mut self, mut claim: Claim) {
        let refused = self.take_refused();
        if claim.because.is_none() {
            claim.because = blame(&claim, &self.down, &refused);
        }
        self.results.push(claim);
    }

    /// A claim that cannot be tried because `server` is not running: failed,
    /// because of it.
    pub(super) fn unchecked(
        &mut self,
        group: &'static str,
        check: String,
        expected: String,
        server: &str,
    ) {
        let because = not_running(&[server]);
        self.push(Claim {
            group,
            check,
            expected,
            observed: format!("not tried: {because}"),
            ok: false,
            ms: 0,
            because: Some(because),
        });
    }

    pub(super) fn record(
        &mut self,
        group: &'static str,
        check: String,
        expected: String,
        observed: String,
        ok: bool,
        started: Instant,
    ) {
        self.push(Claim {
            group,
            check,
            expected,
            observed,
            ok,
            ms: started.elapsed().as_millis() as u64,
            because: None,
        });
    }

    pub(super) fn scheme(&self) -> &'static str {
        self.topo.site_scheme()
    }

    pub(super) fn site(&self) -> String {
        self.topo.site_host()
    }

    /// Starts a server verify killed, and waits until it is ready.
    pub(super) async fn restore(&self, victim: &str) -> Result<()> {
        self.driver.start(self.plan, victim).await?;
        let server = self
            .plan
            .server(victim)
            .ok_or_else(|| Error::failure(format!("{victim} is not in the plan")))?;
        crate::apply::wait_probes(self.driver, self.plan, server, 30, 0).await
    }
}
