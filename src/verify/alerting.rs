//! Alerting claims: no alert fires on the lab as it is; a monitored server
//! killed fires its `TargetDown` in time, and restored, its alerts resolve.
//! Which server is killed for it is chosen here too (`alert_victim`).
//! A failed one's hint points at what fires and the rules on the
//! monitoring server, or at Alertmanager when it does not answer.

use std::time::{Duration, Instant};

use super::claim::{service_state, verdict};
use super::verifier::Verifier;
use crate::alerts::Firing;
use crate::components::prometheus::{ALERTMANAGER_CONF, ALERTS, CONF};

use crate::error::Result;
use crate::progress::Progress;
use crate::topology::{Role, Topology};

/// How soon a killed server's alert must fire, and resolve once it is
/// back and ready: a target is scraped every 5 s, rules are evaluated
/// every 5 s, and `TargetDown` holds for 10 s before it fires.
pub const ALERT_BOUND_S: u64 = 30;

/// The quiet lab's claim, in words.
const QUIET: &str = "no alert fires on the lab as it is";

/// The claim that killing `v` fires its alert.
pub fn killed(v: &str) -> String {
    format!("{v} killed: its alert fires")
}

/// What `killed` expects.
fn fires(v: &str) -> String {
    format!("TargetDown for {v} within {ALERT_BOUND_S} s")
}

/// The claim that `v`'s alerts resolve once it is back.
fn restored(v: &str) -> String {
    format!("{v} restored: its alerts resolve")
}

/// What `restored` expects.
fn resolve(v: &str) -> String {
    format!("none for {v} within {ALERT_BOUND_S} s")
}

/// Where to see what fires.
const WHAT_FIRES: &str =
    "`infractl alerts` on the lab (the Monitoring tab of the lab's page in the portal)";

/// Where to look when Alertmanager, on `monitor`, does not answer.
fn alertmanager_hint(monitor: &str) -> String {
    format!(
        "On {monitor}, is Alertmanager running ({})? `{ALERTMANAGER_CONF}` is its configuration",
        service_state("alertmanager")
    )
}

/// Where to look when an alert fires on the lab as it is: what fires,
/// and the rules on `monitor`.
fn quiet_hint(monitor: &str) -> String {
    format!("{WHAT_FIRES} says what fires and since when; on {monitor}, `{ALERTS}` holds each alert's rule")
}

/// Where to look when killing `victim` fires no `TargetDown` in time:
/// the rule, the targets, where alerts go, on `monitor`.
fn fires_hint(monitor: &str, victim: &str) -> String {
    format!(
        "On {monitor}, `{ALERTS}` holds the `TargetDown` rule, `{CONF}` the targets that name {victim}, \
         and `{ALERTMANAGER_CONF}` where alerts go; {WHAT_FIRES} shows what fires"
    )
}

/// Where to look when `victim`'s alerts do not resolve once it is back.
fn resolve_hint(monitor: &str, victim: &str) -> String {
    format!(
        "On {victim}, `sv status /etc/service/*` says whether its exporters run again; {WHAT_FIRES} shows what still fires, \
         and `{ALERTS}` on {monitor} each alert's rule"
    )
}

/// The alerts of `firing` about `victim`.
fn about(victim: &str, firing: &[Firing]) -> Vec<Firing> {
    firing
        .iter()
        .filter(|a| a.server == victim)
        .cloned()
        .collect()
}

/// `TargetDown (web-02: node, nginx), SiteDown (site)`, or `none`: each
/// alert on a server once, with the jobs it fires for.
fn names(firing: &[Firing]) -> String {
    let mut seen: Vec<(String, Vec<String>)> = Vec::new();
    for f in firing {
        let key = format!("{} ({}", f.alert, f.server);
        let job = f.labels.get("job").cloned();
        match seen.iter_mut().find(|(k, _)| *k == key) {
            Some((_, jobs)) => jobs.extend(job),
            None => seen.push((key, job.into_iter().collect())),
        }
    }
    if seen.is_empty() {
        return "none".into();
    }
    seen.into_iter()
        .map(|(key, jobs)| match jobs.len() {
            0 | 1 => format!("{key})"),
            _ => format!("{key}: {})", jobs.join(", ")),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The server verify kills to see its alert fire: one Prometheus scrapes
/// (not the monitoring server itself), the one whose loss costs the lab
/// least — not the only entry point, not the write primary, rather not a
/// replica — the last such in the stack.
pub fn alert_victim(topo: &Topology) -> Option<String> {
    let monitor = crate::alerts::monitor(topo)?;
    let entries = topo.entry();
    topo.stack
        .servers
        .iter()
        .filter(|s| s.name != monitor && !topo.exporters(&s.name).is_empty())
        .map(|s| {
            let n = topo.node(&s.name);
            let sole_entry = entries.len() == 1 && entries[0].name == s.name;
            let cost = 2 * usize::from(sole_entry)
                + 2 * usize::from(n.roles.contains(&Role::DbPrimary))
                + usize::from(n.roles.contains(&Role::DbReplica));
            (cost, s.name.clone())
        })
        .enumerate()
        .min_by_key(|(i, (cost, _))| (*cost, usize::MAX - i))
        .map(|(_, (_, name))| name)
}

impl Verifier<'_> {
    /// No alert fires on the healthy lab; a monitored server killed fires
    /// its `TargetDown` within [`ALERT_BOUND_S`]; restored, its alerts
    /// resolve within the same bound. A server already down is watched for
    /// its alert, never killed or started: the lab is left as it was.
    pub(super) async fn alerting(&mut self, progress: &dyn Progress) -> Result<()> {
        let Some(monitor) = crate::alerts::monitor(self.topo).map(str::to_string) else {
            return Ok(());
        };
        let victim = alert_victim(self.topo);
        if self.is_down(&monitor) {
            self.alerting_unchecked(&monitor, victim.as_deref());
            return Ok(());
        }
        let answered = self.quiet(&monitor).await;
        let Some(victim) = victim else {
            return Ok(());
        };
        if !answered {
            self.not_watched(&monitor, &victim);
            return Ok(());
        }
        let was_down = self.is_down(&victim);
        self.alert_fires(&monitor, &victim, was_down, progress)
            .await?;
        if was_down {
            self.unchecked("alerting", restored(&victim), resolve(&victim), &victim);
            return Ok(());
        }
        self.alerts_resolve(&monitor, &victim, progress).await
    }

    /// The alerting claims, failed because the monitoring server
    /// (`monitor`) is not running.
    fn alerting_unchecked(&mut self, monitor: &str, victim: Option<&str>) {
        self.unchecked("alerting", QUIET.into(), "none".into(), monitor);
        if let Some(v) = victim {
            self.unchecked("alerting", killed(v), fires(v), monitor);
            self.unchecked("alerting", restored(v), resolve(v), monitor);
        }
    }

    /// The claim that no alert fires (asked of Alertmanager on
    /// `monitor`); whether Alertmanager answered.
    async fn quiet(&mut self, monitor: &str) -> bool {
        let t = Instant::now();
        let firing = crate::alerts::firing(self.driver, self.topo).await;
        let (observed, judged) = match &firing {
            Ok(f) => {
                let f = f.clone().unwrap_or_default();
                (names(&f), verdict(f.is_empty(), || quiet_hint(monitor)))
            }
            Err(e) => (e.headline(), verdict(false, || alertmanager_hint(monitor))),
        };
        self.record("alerting", QUIET.into(), "none".into(), observed, judged, t);
        firing.is_ok()
    }

    /// The claims on `victim`, failed: Alertmanager (on `monitor`) does
    /// not answer, so there is nothing to watch a kill with.
    fn not_watched(&mut self, monitor: &str, victim: &str) {
        for (check, expected) in [
            (killed(victim), fires(victim)),
            (restored(victim), resolve(victim)),
        ] {
            self.record(
                "alerting",
                check,
                expected,
                "not tried: Alertmanager did not answer".into(),
                verdict(false, || alertmanager_hint(monitor)),
                Instant::now(),
            );
        }
    }

    /// Kills `victim` (unless it `was_down`) and claims its `TargetDown`
    /// fires in time (watched on `monitor`).
    async fn alert_fires(
        &mut self,
        monitor: &str,
        victim: &str,
        was_down: bool,
        progress: &dyn Progress,
    ) -> Result<()> {
        let bound = Duration::from_secs(ALERT_BOUND_S);
        let t = Instant::now();
        if !was_down {
            progress.update("verify", None, &format!("killing {victim}"));
            self.driver.kill(victim).await?;
        }
        // A server already down is neither killed nor started again (the
        // lab is left as it was found): its alert fires all the same.
        let watched = crate::alerts::watch(self.driver, self.topo, bound, |f| {
            about(victim, f).iter().any(|a| a.alert == "TargetDown")
        })
        .await;
        let (observed, judged) = match watched {
            Ok((now, fired)) => (
                format!(
                    "{} after {:.1} s{}",
                    names(&about(victim, &now)),
                    t.elapsed().as_secs_f64(),
                    if was_down {
                        " (it was not running)"
                    } else {
                        ""
                    }
                ),
                verdict(fired, || fires_hint(monitor, victim)),
            ),
            Err(e) => (e.headline(), verdict(false, || alertmanager_hint(monitor))),
        };
        self.record(
            "alerting",
            killed(victim),
            fires(victim),
            observed,
            judged,
            t,
        );
        Ok(())
    }

    /// Restores `victim` and claims its alerts resolve in time (watched
    /// on `monitor`).
    async fn alerts_resolve(
        &mut self,
        monitor: &str,
        victim: &str,
        progress: &dyn Progress,
    ) -> Result<()> {
        let bound = Duration::from_secs(ALERT_BOUND_S);
        progress.update("verify", None, &format!("restoring {victim}"));
        self.restore(victim).await?;
        let t = Instant::now();
        let (now, resolved) = crate::alerts::watch(self.driver, self.topo, bound, |f| {
            about(victim, f).is_empty()
        })
        .await?;
        self.record(
            "alerting",
            restored(victim),
            resolve(victim),
            format!(
                "{} after {:.1} s",
                names(&about(victim, &now)),
                t.elapsed().as_secs_f64()
            ),
            verdict(resolved, || resolve_hint(monitor, victim)),
            t,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alert_victim_is_the_server_the_lab_misses_least() {
        let victim = |s: &str| alert_victim(&Topology::load(s).unwrap());
        assert_eq!(victim("task1"), None, "no monitoring");
        assert_eq!(victim("task2").as_deref(), Some("server-02"));
        assert_eq!(victim("task3").as_deref(), Some("app-02"));
    }

    fn firing(alert: &str, server: &str, job: Option<&str>) -> Firing {
        Firing {
            alert: alert.into(),
            severity: "critical".into(),
            server: server.into(),
            summary: String::new(),
            since: String::new(),
            seconds: 0,
            labels: job
                .map(|j| [("job".to_string(), j.to_string())].into_iter().collect())
                .unwrap_or_default(),
        }
    }

    #[test]
    fn alerting_hints_point_at_the_rules_on_the_monitoring_server() {
        let quiet = quiet_hint("admin");
        assert!(quiet.starts_with("`infractl alerts` on the lab"), "{quiet}");
        assert!(
            quiet.ends_with("on admin, `/etc/prometheus/alerts.yml` holds each alert's rule"),
            "{quiet}"
        );
        let fires = fires_hint("admin", "server-02");
        assert!(
            fires.starts_with(
                "On admin, `/etc/prometheus/alerts.yml` holds the `TargetDown` rule, \
                               `/etc/prometheus/prometheus.yml` the targets that name server-02"
            ),
            "{fires}"
        );
        let resolve = resolve_hint("admin", "server-02");
        assert!(
            resolve.starts_with("On server-02, `sv status /etc/service/*`"),
            "{resolve}"
        );
        let am = alertmanager_hint("admin");
        assert_eq!(
            am,
            "On admin, is Alertmanager running (`sv status alertmanager`, `tail /var/log/infractl/alertmanager/current`)? \
             `/etc/prometheus/alertmanager.yml` is its configuration"
        );
    }

    #[test]
    fn firing_alerts_are_named_once_a_server_with_their_jobs() {
        assert_eq!(names(&[]), "none");
        let f = [
            firing("TargetDown", "web-02", Some("node")),
            firing("TargetDown", "web-02", Some("nginx")),
            firing("SiteDown", "site", None),
        ];
        assert_eq!(
            names(&f),
            "TargetDown (web-02: node, nginx), SiteDown (site)"
        );
        assert_eq!(names(&about("site", &f)), "SiteDown (site)");
    }
}
