//! The one `Verifier` every family of claims is proved with: the lab it
//! runs commands on (nothing on a server that is not running), the claims
//! recorded so far, and what the kinds claim of their servers.
//!
//! Each family (`dns.rs`, `site.rs`, ...) adds its own `impl Verifier`
//! block: they all share this state and these few steps, so one type keeps
//! them together rather than a type per family each borrowing the same.

use std::time::Instant;

use super::claim::{blamed, not_running, Claim, Verdict};
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
    /// running explains it (and then that the hint is to start it).
    pub(super) fn push(&mut self, claim: Claim) {
        let refused = self.take_refused();
        self.results.push(blamed(claim, &self.down, &refused));
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
        let claim = Claim {
            group,
            check,
            expected,
            observed: format!("not tried: {}", not_running(&[server])),
            ok: false,
            ms: 0,
            because: None,
            hint: None,
        };
        self.push(claim.blamed_on(&[server]));
    }

    /// Records a claim judged `verdict`: whether it held, and where to
    /// look when it did not.
    pub(super) fn record(
        &mut self,
        group: &'static str,
        check: String,
        expected: String,
        observed: String,
        verdict: Verdict,
        started: Instant,
    ) {
        self.push(Claim {
            group,
            check,
            expected,
            observed,
            ok: verdict.ok,
            ms: started.elapsed().as_millis() as u64,
            because: None,
            hint: verdict.hint,
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
        self.ready(victim).await
    }

    /// Waits until `victim`, started again, passes its probes.
    pub(super) async fn ready(&self, victim: &str) -> Result<()> {
        let server = self
            .plan
            .server(victim)
            .ok_or_else(|| Error::failure(format!("{victim} is not in the plan")))?;
        crate::apply::wait_probes(self.driver, self.plan, server, 30, 0).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::{Destroyed, DownOptions, Host};
    use crate::render::plan::{FileSpec, ServerPlan};

    /// A lab where every command fails at once, saying nothing.
    struct Broken;

    #[async_trait::async_trait]
    impl Driver for Broken {
        fn lab(&self) -> &str {
            "broken"
        }
        async fn hosts(&self) -> Result<Vec<Host>> {
            Ok(vec![])
        }
        async fn prepare(&self, _: &Plan) -> Result<()> {
            Ok(())
        }
        async fn create(&self, _: &Plan, _: &ServerPlan) -> Result<()> {
            Ok(())
        }
        async fn put_files(&self, _: &Plan, _: &str, _: &[FileSpec]) -> Result<()> {
            Ok(())
        }
        async fn start(&self, _: &Plan, _: &str) -> Result<()> {
            Ok(())
        }
        async fn exec_env(&self, _: &str, _: &str, _: &[String]) -> Result<ExecOutput> {
            Ok(ExecOutput {
                code: 1,
                stdout: String::new(),
                stderr: String::new(),
            })
        }
        async fn kill(&self, _: &str) -> Result<()> {
            Ok(())
        }
        async fn remove(&self, _: &str) -> Result<()> {
            Ok(())
        }
        async fn destroy(&self, _: &DownOptions) -> Result<Destroyed> {
            Ok(Destroyed::default())
        }
    }

    /// The absolute paths in `text` outside the logs (`/etc/haproxy/...`).
    fn paths(text: &str) -> Vec<&str> {
        text.split(['`', ' ', '\''])
            .filter(|w| w.starts_with('/') && !w.starts_with("/var/log/") && !w.contains('*'))
            .map(|w| w.trim_end_matches([',', ';', ')']))
            .collect()
    }

    /// task2 with server-02 stopped and nothing answering elsewhere: every
    /// claim fails; those that need server-02 say so and that the hint is
    /// to start it, the others say where to look, naming files the lab has.
    #[tokio::test]
    async fn every_failed_claim_has_a_hint_a_dead_server_s_is_to_start_it() {
        let topo = Topology::load("task2").unwrap();
        let secrets = Secrets {
            db_app: "a".into(),
            db_replication: "r".into(),
            db_exporter: "e".into(),
            tls: None,
            zone_serial: None,
        };
        let plan = crate::render::plan(&topo, &secrets, "infractl/node:test").unwrap();
        let down = vec!["server-02".to_string()];
        let mut v = Verifier::new(&Broken, &topo, &plan, &secrets, "client".into(), down);
        v.dns().await.unwrap();
        v.site_checks().await.unwrap();
        v.balancing().await.unwrap();
        v.replication().await.unwrap();
        v.firewall().await.unwrap();
        let start = super::super::claim::start(&["server-02"]);
        let files: Vec<&str> = plan
            .servers
            .iter()
            .flat_map(|s| s.files.iter().map(|f| f.path.as_str()))
            .collect();
        let groups: std::collections::BTreeSet<&str> = v.results.iter().map(|c| c.group).collect();
        assert_eq!(
            groups.into_iter().collect::<Vec<_>>(),
            ["dns", "firewall", "load balancing", "replication", "site"]
        );
        for c in &v.results {
            assert!(!c.ok, "{c:?}");
            let hint = c
                .hint
                .as_deref()
                .unwrap_or_else(|| panic!("no hint: {c:?}"));
            match c.because.as_deref() {
                Some(because) => {
                    assert_eq!(because, "server-02 is not running", "{c:?}");
                    assert_eq!(hint, start, "{c:?}");
                }
                None => {
                    assert!(
                        hint.starts_with("On ") || hint.starts_with("From "),
                        "{c:?}"
                    );
                    for p in paths(hint) {
                        assert!(files.contains(&p), "`{p}` is no file of the lab: {c:?}");
                    }
                }
            }
        }
        let blamed = |check: &str| {
            v.results
                .iter()
                .find(|c| c.check == check)
                .unwrap_or_else(|| panic!("no claim `{check}`"))
                .because
                .is_some()
        };
        assert!(blamed("ufw on server-02"));
        assert!(blamed("replica server-02 refuses writes"));
        assert!(!blamed("ufw on server-01"));
        assert!(!blamed("a note written through the application"));
        // server-02's probes were refused; the client's were not.
        assert!(!blamed("client -> lb-01:80 (HTTP to the site)"));
        assert!(blamed(
            "server-02 -> server-01:3306 (SQL writes to the primary)"
        ));
    }
}
