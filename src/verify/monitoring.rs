//! Monitoring claims: every exporter (and Prometheus's own targets) is a
//! target that is up, and a web server's request count rises after
//! traffic, Prometheus giving its rate. A failed one's hint points at
//! Prometheus's own view of its targets and at the exporters that are not
//! up, on their servers.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::claim::verdict;
use super::verifier::Verifier;
use crate::components::{nginx, prometheus, ToProve};
use crate::driver::ExecOutput;
use crate::error::Result;
use crate::render::plan::Plan;
use crate::shell::shell_quote;
use crate::topology::Topology;

/// The targets claim, in words.
pub const TARGETS: &str = "every exporter is a Prometheus target that is up";

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
    /// The targets not up or not there, `(job, server)`.
    not_up: Vec<(String, String)>,
}

/// Prometheus's targets against the `wanted` ones, `(job, server)`.
fn targets_up(v: &Value, wanted: &[(String, String)]) -> Targets {
    let targets = v["data"]["activeTargets"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let label = |t: &Value, l: &str| t["labels"][l].as_str().unwrap_or("?").to_string();
    let not_up: Vec<(String, String)> = targets
        .iter()
        .filter(|t| t["health"] != "up")
        .map(|t| (label(t, "job"), label(t, "server")))
        .chain(
            wanted
                .iter()
                .filter(|w| {
                    !targets
                        .iter()
                        .any(|t| (label(t, "job"), label(t, "server")) == **w)
                })
                .cloned(),
        )
        .collect();
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
        not_up,
    }
}

/// The service on `server` that serves the target of `job`: its exporter
/// (`node-exporter`), else the service of that name (`haproxy`,
/// `prometheus`), else the site's probe (`blackbox-exporter`).
fn service_for(plan: &Plan, server: &str, job: &str) -> Option<String> {
    let services: Vec<&str> = plan
        .server(server)?
        .services
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    [
        format!("{job}-exporter"),
        job.to_string(),
        "blackbox-exporter".into(),
    ]
    .into_iter()
    .take(if job == "site" { 3 } else { 2 })
    .find(|name| services.contains(&name.as_str()))
}

/// Where to look for the target of `job` on `server` that is not up: its
/// service there (on `prom` for Prometheus's own targets), and the firewall
/// between them.
fn target_hint(topo: &Topology, plan: &Plan, prom: &str, job: &str, server: &str) -> String {
    let on = if plan.server(server).is_some() {
        server
    } else {
        prom
    };
    let Some(service) = service_for(plan, on, job) else {
        return format!("on {on}, `sv status /etc/service/*` shows which services run");
    };
    let port = topo
        .exporters(on)
        .into_iter()
        .find(|(j, _)| *j == job)
        .map(|(_, p)| p);
    let wall = match port {
        Some(port) if on != prom && topo.server(on).has("ufw") => {
            format!(", `ufw status` whether {prom} is let in on {port}")
        }
        _ => String::new(),
    };
    format!("on {on}, `sv status {service}` says whether {service} runs{wall}")
}

/// Where to look when not every target is up: Prometheus's own view on
/// `prom` (its API on `port`), its configuration, then each target not up
/// (`not_up`, `(job, server)`).
fn targets_hint(
    topo: &Topology,
    plan: &Plan,
    prom: &str,
    port: u16,
    not_up: &[(String, String)],
) -> String {
    let mut hint = format!(
        "On {prom}, `curl -s http://127.0.0.1:{port}/api/v1/targets` gives each target's health and last error, \
         and `{}` the targets it scrapes",
        prometheus::CONF
    );
    for (job, server) in not_up {
        hint.push_str("; ");
        hint.push_str(&target_hint(topo, plan, prom, job, server));
    }
    hint
}

/// Where to look when `web`'s request count does not rise: its exporter,
/// and what Prometheus on `prom` (its API on `port`) has of `metric`.
fn rate_hint(
    topo: &Topology,
    plan: &Plan,
    web: &str,
    prom: &str,
    port: u16,
    metric: &str,
) -> String {
    format!(
        "{}; on {prom}, `curl -s 'http://127.0.0.1:{port}/api/v1/query?query={metric}'` shows what Prometheus has \
         of its requests, and `{}` how it scrapes them",
        capitalized(&target_hint(topo, plan, prom, nginx::EXPORTER.job, web)),
        prometheus::CONF
    )
}

/// `text` with its first letter in capitals.
fn capitalized(text: &str) -> String {
    let mut c = text.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The claim that `web`'s request rate is seen.
fn rate_check(web: &str) -> String {
    format!("{web}'s request count rises after traffic (QPS)")
}

/// The requests verify sends to the site to see a web server's count rise.
pub const TRAFFIC: u32 = 400;

/// How much `web`'s request count must rise after [`TRAFFIC`] requests:
/// half its share of them behind its load balancer. The noise is far
/// below: each load balancer checks each server every second (every
/// 250 ms while it is down), the site's probe every scrape, over the
/// 15 s verify waits at most: at most 68 requests from one load balancer
/// whose servers are all down, against 100 for two web servers.
fn counted_rise(topo: &crate::topology::Topology, web: &str) -> f64 {
    let share = topo
        .with_role(crate::topology::Role::LoadBalancer)
        .find(|lb| lb.backends.iter().any(|b| b == web))
        .map_or(1, |lb| lb.backends.len().max(1));
    f64::from(TRAFFIC) / share as f64 / 2.0
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
        let judged = verdict(seen.ok, || {
            targets_hint(self.topo, self.plan, &prom, port, &seen.not_up)
        });
        self.record(
            "monitoring",
            TARGETS.into(),
            format!("{n} of {n} up"),
            seen.observed,
            judged,
            t,
        );
        self.request_rate(&prom, port).await
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

    /// A web server's request count rises with the users' traffic, and
    /// Prometheus gives its rate (the seeds' QPS). The count must rise by
    /// half the web server's share of [`TRAFFIC`] requests sent to the
    /// site: far more than the load balancers' health checks and the
    /// site's probe add meanwhile (see [`counted_rise`]), so traffic that
    /// never reaches the server, or a count that never sees it, fails.
    async fn request_rate(&mut self, prom: &str, port: u16) -> Result<()> {
        let Some((web, metric)) = self.rate_web() else {
            return Ok(());
        };
        let api = &format!("http://127.0.0.1:{port}/api/v1");
        let t = Instant::now();
        let counter = format!("sum({metric}{{server=\"{web}\"}})");
        let before = self.query(prom, api, &counter).await?.unwrap_or(0.0);
        // One connection, kept alive: HAProxy still balances each request.
        let traffic = format!(
            "curl -s -m 60 '{}://{}/static/style.css?[1-{TRAFFIC}]' > /dev/null",
            self.scheme(),
            self.site()
        );
        self.sh(&self.client, &traffic).await?;
        let least = counted_rise(self.topo, &web);
        let mut after = before;
        for _ in 0..30 {
            after = self.query(prom, api, &counter).await?.unwrap_or(before);
            if after - before >= least {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let rate = format!("sum(rate({metric}{{server=\"{web}\"}}[1m]))");
        let rate = self.query(prom, api, &rate).await?;
        self.record(
            "monitoring",
            rate_check(&web),
            format!("{least:.0} more after {TRAFFIC} requests to the site"),
            format!(
                "{:.0} more ({after:.0} in all); {} req/s over the last minute",
                after - before,
                rate.map(|r| format!("{r:.2}"))
                    .unwrap_or_else(|| "?".into())
            ),
            verdict(after - before >= least, || {
                rate_hint(self.topo, self.plan, &web, prom, port, metric)
            }),
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
                not_up: w(&[("mysqld", "db-01")]),
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
                not_up: vec![],
            }
        );
        assert_eq!(
            targets_up(&all, &w(&[("node", "web-01"), ("site", "site")])),
            Targets {
                observed: "1 of 1 up; not a target: site/site".into(),
                ok: false,
                undiscovered: true,
                not_up: w(&[("site", "site")]),
            },
            "a target missing is not all up"
        );
        assert!(!targets_up(&Value::Null, &[]).observed.is_empty());
    }

    fn plan(stack: &str) -> (Topology, Plan) {
        let topo = Topology::load(stack).unwrap();
        let secrets = crate::lab::state::Secrets {
            db_app: "a".into(),
            db_replication: "r".into(),
            db_exporter: "e".into(),
            tls: None,
            zone_serial: None,
        };
        let plan = crate::render::plan(&topo, &secrets, "infractl/node:test").unwrap();
        (topo, plan)
    }

    #[test]
    fn a_target_not_up_is_looked_for_on_its_server() {
        let (topo, plan) = plan("task2");
        let not_up = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(j, s)| (j.to_string(), s.to_string()))
                .collect()
        };
        let hint = targets_hint(
            &topo,
            &plan,
            "admin",
            9090,
            &not_up(&[("mysqld", "server-02"), ("site", "site"), ("node", "lb-01")]),
        );
        assert_eq!(
            hint,
            "On admin, `curl -s http://127.0.0.1:9090/api/v1/targets` gives each target's health and last error, \
             and `/etc/prometheus/prometheus.yml` the targets it scrapes; \
             on server-02, `sv status mysqld-exporter` says whether mysqld-exporter runs, `ufw status` whether admin is let in on 9104; \
             on admin, `sv status blackbox-exporter` says whether blackbox-exporter runs; \
             on lb-01, `sv status node-exporter` says whether node-exporter runs, `ufw status` whether admin is let in on 9100"
        );
        let rate = rate_hint(
            &topo,
            &plan,
            "server-01",
            "admin",
            9090,
            "nginx_http_requests_total",
        );
        assert!(
            rate.starts_with("On server-01, `sv status nginx-exporter` says whether nginx-exporter runs, `ufw status` whether admin is let in on 9113; on admin, "),
            "{rate}"
        );
        assert!(
            rate.contains(
                "`curl -s 'http://127.0.0.1:9090/api/v1/query?query=nginx_http_requests_total'`"
            ),
            "{rate}"
        );
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
