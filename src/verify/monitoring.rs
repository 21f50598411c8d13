//! Monitoring claims: every exporter (and Prometheus's own targets) is a
//! target that is up, and a web server's request count rises after
//! traffic, Prometheus giving its rate.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::verifier::Verifier;
use crate::components::ToProve;
use crate::driver::ExecOutput;
use crate::error::Result;
use crate::shell::shell_quote;

/// The targets claim, in words.
const TARGETS: &str = "every exporter is a Prometheus target that is up";

/// What Prometheus's targets (its `/api/v1/targets` answer) say against
/// the wanted ones.
#[derive(Debug, PartialEq)]
struct Targets {
    /// What was seen, naming the targets not up and the wanted ones
    /// Prometheus has not (yet) discovered.
    observed: String,
    /// Every wanted target is there and up, and no other.
    ok: bool,
    /// Some wanted target is not among Prometheus's targets.
    undiscovered: bool,
}

/// Prometheus's targets against the `wanted` ones, `(job, server)`.
fn targets_up(v: &Value, wanted: &[(String, String)]) -> Targets {
    let targets = v["data"]["activeTargets"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let label = |t: &Value, l: &str| t["labels"][l].as_str().unwrap_or("?").to_string();
    let down: Vec<String> = targets
        .iter()
        .filter(|t| t["health"] != "up")
        .map(|t| {
            format!(
                "{}/{} {}",
                label(t, "job"),
                label(t, "server"),
                t["health"].as_str().unwrap_or("?")
            )
        })
        .collect();
    let seen: Vec<(String, String)> = targets
        .iter()
        .map(|t| (label(t, "job"), label(t, "server")))
        .collect();
    let missing: Vec<String> = wanted
        .iter()
        .filter(|w| !seen.contains(w))
        .map(|(job, server)| format!("{job}/{server}"))
        .collect();
    let up = targets.len() - down.len();
    let mut observed = format!("{up} of {} up", targets.len());
    if !down.is_empty() {
        observed.push_str(&format!("; not up: {}", down.join(", ")));
    }
    if !missing.is_empty() {
        observed.push_str(&format!("; not a target: {}", missing.join(", ")));
    }
    Targets {
        observed,
        ok: down.is_empty() && missing.is_empty() && targets.len() == wanted.len(),
        undiscovered: !missing.is_empty(),
    }
}

/// The claim that `web`'s request rate is seen.
fn rate_check(web: &str) -> String {
    format!("{web}'s request count rises after traffic (QPS)")
}

/// The value of a PromQL query's first result, from its answer.
fn query_value(out: &ExecOutput) -> Option<f64> {
    let v: Value = serde_json::from_str(&out.stdout).ok()?;
    v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

impl Verifier<'_> {
    /// Every exporter is an `up` target of Prometheus, and a web server's
    /// request rate rises after traffic.
    pub(super) async fn monitoring(&mut self) -> Result<()> {
        let first = self.claimed(|c| match c {
            ToProve::TargetsUp { port, wanted } => Some((*port, wanted.clone())),
            _ => None,
        });
        let Some((prom, (port, wanted))) = first.into_iter().next() else {
            return Ok(());
        };
        let prom = prom.to_string();
        if self.is_down(&prom) {
            self.monitoring_unchecked(&prom);
            return Ok(());
        }
        // Asked on the monitoring server itself: its web interface
        // answers the administrators only, not the user's computer.
        let api = format!("http://127.0.0.1:{port}/api/v1");
        let t = Instant::now();
        let seen = self.targets_seen(&prom, &api, &wanted).await?;
        let n = wanted.len();
        self.record(
            "monitoring",
            TARGETS.into(),
            format!("{n} of {n} up"),
            seen.observed,
            seen.ok,
            t,
        );
        self.request_rate(&prom, &api).await
    }

    /// The monitoring claims, failed because Prometheus (on `prom`) is not
    /// running.
    fn monitoring_unchecked(&mut self, prom: &str) {
        self.unchecked("monitoring", TARGETS.into(), "every target up".into(), prom);
        if let Some((web, _)) = self.rate_web() {
            self.unchecked(
                "monitoring",
                rate_check(&web),
                "more requests than before".into(),
                prom,
            );
        }
    }

    /// Prometheus's targets against `wanted`, asked until all are up (or
    /// long enough).
    async fn targets_seen(
        &self,
        prom: &str,
        api: &str,
        wanted: &[(String, String)],
    ) -> Result<Targets> {
        let t = Instant::now();
        // A target needs one scrape after start: a few seconds. The site's
        // is discovered once `up` ends (a file Prometheus reads, then hands
        // to its scrapers every 5 s): up to 30 s while one is missing.
        loop {
            let out = self.sh(prom, &format!("curl -sS {api}/targets")).await?;
            let v: Value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
            let seen = targets_up(&v, wanted);
            let limit = if seen.undiscovered { 30 } else { 10 };
            if seen.ok || t.elapsed() > Duration::from_secs(limit) {
                return Ok(seen);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// A web server's request count rises after traffic, and Prometheus
    /// gives its rate (the seeds' QPS).
    async fn request_rate(&mut self, prom: &str, api: &str) -> Result<()> {
        let Some((web, metric)) = self.rate_web() else {
            return Ok(());
        };
        let t = Instant::now();
        let counter = format!("sum({metric}{{server=\"{web}\"}})");
        let before = self.query(prom, api, &counter).await?.unwrap_or(0.0);
        let traffic = format!(
            "for i in $(seq 40); do curl -s -o /dev/null {}://{}/static/style.css; done",
            self.scheme(),
            self.site()
        );
        self.sh(&self.client, &traffic).await?;
        let mut after = before;
        for _ in 0..30 {
            after = self.query(prom, api, &counter).await?.unwrap_or(before);
            if after > before {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let rate = format!("sum(rate({metric}{{server=\"{web}\"}}[1m]))");
        let rate = self.query(prom, api, &rate).await?;
        self.record(
            "monitoring",
            rate_check(&web),
            format!("more than {before:.0} requests"),
            format!(
                "{after:.0} requests; {} req/s over the last minute",
                rate.map(|r| format!("{r:.2}"))
                    .unwrap_or_else(|| "?".into())
            ),
            after > before,
            t,
        );
        Ok(())
    }

    /// The value of the PromQL query `q`, asked of Prometheus on `prom`.
    async fn query(&self, prom: &str, api: &str, q: &str) -> Result<Option<f64>> {
        let ask = format!(
            "curl -sS --data-urlencode {} {api}/query",
            shell_quote(&format!("query={q}"))
        );
        Ok(query_value(&self.sh(prom, &ask).await?))
    }

    /// The web server whose request rate verify checks, with the metric
    /// counting its requests: the one its kind names.
    fn rate_web(&self) -> Option<(String, &'static str)> {
        let first = self.claimed(|c| match c {
            ToProve::RequestCount { metric } => Some(*metric),
            _ => None,
        });
        first
            .into_iter()
            .next()
            .map(|(web, m)| (web.to_string(), m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{Role, Topology};

    #[test]
    fn targets_are_up_when_all_wanted_ones_are() {
        let w = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(j, s)| (j.to_string(), s.to_string()))
                .collect()
        };
        let v = serde_json::json!({"data": {"activeTargets": [
            {"health": "up", "labels": {"job": "node", "server": "web-01"}},
            {"health": "down", "labels": {"job": "mysqld", "server": "db-01"}},
        ]}});
        assert_eq!(
            targets_up(&v, &w(&[("node", "web-01"), ("mysqld", "db-01")])),
            Targets {
                observed: "1 of 2 up; not up: mysqld/db-01 down".into(),
                ok: false,
                undiscovered: false,
            }
        );
        let all = serde_json::json!({"data": {"activeTargets": [
            {"health": "up", "labels": {"job": "node", "server": "web-01"}},
        ]}});
        assert_eq!(
            targets_up(&all, &w(&[("node", "web-01")])),
            Targets {
                observed: "1 of 1 up".into(),
                ok: true,
                undiscovered: false,
            }
        );
        assert_eq!(
            targets_up(&all, &w(&[("node", "web-01"), ("site", "site")])),
            Targets {
                observed: "1 of 1 up; not a target: site/site".into(),
                ok: false,
                undiscovered: true,
            },
            "a target missing is not all up"
        );
        assert!(!targets_up(&Value::Null, &[]).observed.is_empty());
    }

    #[test]
    fn a_query_s_value_is_its_first_result() {
        let out = |stdout: &str| ExecOutput {
            code: 0,
            stdout: stdout.into(),
            stderr: String::new(),
        };
        let answered = r#"{"data": {"result": [{"value": [1700000000.1, "42.5"]}]}}"#;
        assert_eq!(query_value(&out(answered)), Some(42.5));
        assert_eq!(query_value(&out(r#"{"data": {"result": []}}"#)), None);
        assert_eq!(query_value(&out("curl: (7) refused")), None);
    }

    /// What the monitoring claims were before the kinds named them: the
    /// first monitoring server, every exporter and its own targets; the
    /// first web server, when its nginx is exported.
    #[test]
    fn the_kinds_claim_what_monitoring_proves() {
        for stack in ["task0", "task1", "task2", "task3", "task4"] {
            let topo = Topology::load(stack).unwrap();
            let claims = super::super::verifier::kinds_claims(&topo);
            let targets = claims.iter().find_map(|(s, c)| match c {
                ToProve::TargetsUp { port, wanted } => Some((s.as_str(), *port, wanted.len())),
                _ => None,
            });
            let want = topo.with_role(Role::Monitoring).next().map(|p| {
                let exporters: usize = topo
                    .stack
                    .servers
                    .iter()
                    .map(|s| topo.exporters(&s.name).len())
                    .sum();
                let own = crate::components::prometheus::own_targets(&topo, &p.name).len();
                (
                    p.name.as_str(),
                    topo.prometheus_port(&p.name),
                    exporters + own,
                )
            });
            assert_eq!(targets, want, "{stack}");
            let rate: Vec<&str> = claims
                .iter()
                .filter(|(_, c)| matches!(c, ToProve::RequestCount { .. }))
                .map(|(s, _)| s.as_str())
                .collect();
            let web = topo.with_role(Role::Web).next().map(|w| w.name.as_str());
            let exported = web.filter(|w| {
                topo.exporters(w)
                    .iter()
                    .any(|(j, _)| *j == crate::components::nginx::EXPORTER.job)
            });
            assert_eq!(rate, exported.into_iter().collect::<Vec<_>>(), "{stack}");
        }
    }
}
