//! Monitoring and faults: Prometheus scraping a web server's nginx
//! exporter on the wrong port (a port where another exporter answers, so
//! the target stays up and nothing fires: monitoring blind), the rule
//! that says a target is down selecting a job the lab does not have (an
//! alert that never fires), and the
//! alerts any fault fires on a monitored stack, with the bounds within
//! which they fire and resolve, read from the lab's rules as rendered.

use serde::Serialize;

use super::{reload, undo, Breakage, Change, ClaimRef, Edit, Repair, Symptom};
use crate::components::prometheus::{self, ALERTMANAGER_PORT, ALERTS, CONF, TARGET_DOWN};
use crate::topology::Topology;

/// The claim of a quiet lab, which a fault's alerts make fail.
pub const QUIET: &str = "no alert fires on the lab as it is";

/// Margin on every bound: an engine under load answers an exec late.
const MARGIN_S: u32 = 10;

/// The alerts a fault fires on a monitored stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alerts {
    /// The monitoring server, where they are read.
    pub server: String,
    /// The lab's alerts that surely fire: `inject` waits for each.
    pub fire: Vec<String>,
    /// Within how many seconds they fire: the longest `for:` among them,
    /// plus a scrape, an evaluation and the site's probe (each one
    /// scrape interval), plus a margin.
    pub fire_within_s: u32,
    /// An alert that fires only `when` traffic makes it (verify's own
    /// requests through the broken server count).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// Within how many seconds of the repair nothing is pending or firing
    /// any more: the longest range any rule's expression looks back over
    /// (a rate over a minute still counts the errors), plus a scrape and
    /// an evaluation, plus a margin.
    pub resolve_within_s: u32,
    /// Prints `quiet` on `server` while Prometheus holds no alert,
    /// pending or firing, and Alertmanager none; else their names.
    pub quiet: String,
}

/// Seconds in a Prometheus duration (`10s`, `1m`, `1h`); None otherwise.
pub fn seconds(d: &str) -> Option<u32> {
    let (n, unit) = d.split_at(d.find(|c: char| !c.is_ascii_digit())?);
    let n: u32 = n.parse().ok()?;
    match unit {
        "s" => Some(n),
        "m" => Some(n * 60),
        "h" => Some(n * 3600),
        _ => None,
    }
}

/// The longest range (`[1m]`) an expression looks back over; 0 for none.
fn longest_range(expr: &str) -> u32 {
    expr.split('[')
        .skip(1)
        .filter_map(|r| r.split(']').next().and_then(seconds))
        .max()
        .unwrap_or(0)
}

/// The alerts `fire` (and one that fires `when`) of the monitoring server
/// of `topo`, with their bounds; None for a stack without monitoring.
pub fn alerts(topo: &Topology, fire: &[&str], when: Option<&str>) -> Option<Alerts> {
    let monitor = crate::alerts::monitor(topo)?.to_string();
    let interval = topo
        .server(&monitor)
        .get::<prometheus::Options>()
        .and_then(|o| seconds(&o.scrape_interval))
        .unwrap_or(5);
    let rules: Vec<crate::components::Alert> = prometheus::rules(topo, &monitor)
        .into_iter()
        .flat_map(|(_, r)| r)
        .collect();
    let hold = |name: &str| {
        rules
            .iter()
            .find(|r| r.name == name)
            .and_then(|r| seconds(r.hold))
            .unwrap_or_else(|| panic!("the lab's rules have no alert {name}"))
    };
    let longest_hold = fire.iter().map(|a| hold(a)).max().unwrap_or(0);
    let longest_window = rules
        .iter()
        .map(|r| longest_range(r.expr))
        .max()
        .unwrap_or(0);
    let port = topo.prometheus_port(&monitor);
    Some(Alerts {
        fire: fire.iter().map(|a| a.to_string()).collect(),
        fire_within_s: longest_hold + 3 * interval + MARGIN_S,
        when: when.map(str::to_string),
        resolve_within_s: longest_window + 2 * interval + MARGIN_S,
        quiet: format!(
            "p=$(curl -fsS -m 5 http://127.0.0.1:{port}/api/v1/alerts) && \
             a=$(curl -fsS -m 5 'http://127.0.0.1:{ALERTMANAGER_PORT}/api/v2/alerts?active=true&silenced=false&inhibited=false') && \
             python3 -c 'import json, sys; p = json.loads(sys.argv[1])[\"data\"][\"alerts\"]; a = json.loads(sys.argv[2]); \
             n = sorted({{x[\"labels\"][\"alertname\"] for x in p + a}}); print(\" \".join(n) or \"quiet\")' \"$p\" \"$a\""
        ),
        server: monitor,
    })
}

/// The quiet lab's claim, failing surely when `a` fires something,
/// `when` traffic makes it fire, else not at all.
pub fn quiet_claim(a: &Alerts) -> Option<ClaimRef> {
    if !a.fire.is_empty() {
        return Some(ClaimRef::sure("alerting", QUIET));
    }
    a.when.as_ref().map(|w| ClaimRef {
        group: "alerting",
        words: QUIET.into(),
        surely: false,
        when: Some(w.clone()),
    })
}

/// On a monitored stack, verify's claim that the counted web server's
/// request count rises with the users' traffic.
pub(super) fn uncounted(topo: &Topology) -> Option<ClaimRef> {
    counted(topo).map(|(web, _)| {
        ClaimRef::sure(
            "monitoring",
            format!("{web}'s request count rises after traffic"),
        )
    })
}

/// The web server whose request count verify claims rises, with the
/// port of the exporter that counts it.
pub(super) fn counted(topo: &Topology) -> Option<(String, u16)> {
    crate::verify::kinds_claims(topo)
        .iter()
        .find(|(_, c)| matches!(c, crate::components::ToProve::RequestCount { .. }))
        .and_then(|(web, _)| {
            topo.exporters(web)
                .into_iter()
                .find(|(job, _)| *job == "nginx")
                .map(|(_, port)| (web.clone(), port))
        })
}

/// (k) Prometheus scrapes `web`'s nginx exporter on the node exporter's
/// port: the target is up, its requests are never counted.
pub(super) fn wrong_scrape(topo: &Topology, web: &str) -> Breakage {
    let monitor = crate::alerts::monitor(topo)
        .expect("a monitoring server, by fit")
        .to_string();
    let (_, right) = counted(topo).expect("a counted web server, by fit");
    let wrong = topo
        .exporters(web)
        .into_iter()
        .find(|(job, _)| *job == "node")
        .map_or(9100, |(_, p)| p);
    let addr = topo.addr(&monitor, web);
    let target = |port: u16| format!("- targets: [\"{addr}:{port}\"]");
    let edits = vec![Edit {
        from: target(right),
        to: target(wrong),
    }];
    let sed = format!(
        "/job_name: nginx/,/job_name:/ s|{}|{}|",
        super::sed_pattern(&target(wrong)),
        super::sed_replacement(&target(right))
    );
    let port = topo.prometheus_port(&monitor);
    let counter = format!("nginx_http_requests_total{{server=\"{web}\"}}");
    Breakage {
        fault: "",
        seed: 0,
        server: web.into(),
        on: monitor.clone(),
        what: format!(
            "Prometheus on {monitor} scrapes {web}'s nginx exporter at {addr}:{wrong}, where the node exporter answers: the target is up, no alert fires, and {web}'s requests are never counted (its QPS is blind)"
        ),
        breaks: uncounted(topo).into_iter().collect(),
        repair: Repair {
            server: monitor.clone(),
            text: format!(
                "On {monitor}, Prometheus's page of targets (:{port}/targets) shows job nginx's {web} up, but `{counter}` has no series: the target's port in {CONF} is the node exporter's ({wrong}), not the nginx exporter's ({right}, `ss -ltn` on {web}); put it back in the `nginx` job, check the file with `promtool check config` and reload Prometheus."
            ),
            commands: vec![
                format!("sed -i {} {CONF}", crate::shell::shell_quote(&sed)),
                format!("promtool check config {CONF}"),
                reload("prometheus"),
            ],
        },
        shows: Symptom {
            server: monitor,
            script: format!(
                "r=$(curl -fsS -m 5 --data-urlencode {} http://127.0.0.1:{port}/api/v1/query) || r=; \
                 case $r in *'\"result\":[]'*) echo yes ;; *'\"result\":[{{'*) echo no ;; *) echo unknown ;; esac",
                crate::shell::shell_quote(&format!("query=count({counter})"))
            ),
        },
        change: Change::Edit {
            path: CONF,
            service: "prometheus",
            edits,
            then: None,
        },
        alerts: None,
    }
}

/// The job the broken rule selects: the node exporter's job in many
/// setups, `node` in this lab's.
pub const WRONG_JOB: &str = "node-exporter";

/// The monitoring server, where its rules say when a target is down and
/// verify kills a server to see it fire.
pub(super) fn alerted(topo: &Topology) -> Option<String> {
    let monitor = crate::alerts::monitor(topo)?;
    let rules = prometheus::rules(topo, monitor);
    let target_down = rules
        .iter()
        .any(|(_, r)| r.iter().any(|a| a.name == TARGET_DOWN.name));
    (target_down && crate::verify::alert_victim(topo).is_some()).then(|| monitor.to_string())
}

/// (l) The TargetDown rule on `monitor` selects a job the lab does not
/// have: `promtool` passes it, Prometheus loads it, and it is never true.
pub(super) fn rule_wrong_job(topo: &Topology, monitor: &str) -> Breakage {
    let victim = crate::verify::alert_victim(topo).expect("a server to kill, by fit");
    let right = TARGET_DOWN.expr;
    let wrong = format!("up{{job='{WRONG_JOB}'}} == 0");
    let edits = vec![Edit {
        from: format!("expr: \"{right}\""),
        to: format!("expr: \"{wrong}\""),
    }];
    let port = topo.prometheus_port(monitor);
    let name = TARGET_DOWN.name;
    // As Prometheus prints the expression back.
    let shown = wrong.replace('\'', "\"");
    Breakage {
        fault: "",
        seed: 0,
        server: monitor.into(),
        on: monitor.into(),
        what: format!(
            "the {name} rule in {ALERTS} on {monitor} reads `{wrong}`: no target of this lab is in job `{WRONG_JOB}` (the node exporter's job is `node`), so the rule loads and is never true: a server that dies fires no {name} (verify kills {victim} to see one fire), and only another rule, where one sees the death, says so"
        ),
        breaks: vec![ClaimRef::sure("alerting", crate::verify::killed(&victim))],
        repair: Repair {
            server: monitor.into(),
            text: format!(
                "On {monitor}, Prometheus's page of rules (:{port}/rules) shows {name} as `{shown}`; its graph page says that query has no series while `up == 0` lists a stopped target. Put the rule's expression back to `{right}` in {ALERTS}, check the file with `promtool check rules` and reload Prometheus."
            ),
            commands: vec![
                undo(&edits[0], ALERTS),
                format!("promtool check rules {ALERTS}"),
                reload("prometheus"),
            ],
        },
        shows: Symptom {
            server: monitor.into(),
            script: format!(
                "r=$(curl -fsS -m 5 http://127.0.0.1:{port}/api/v1/rules) || r=; \
                 case $r in *{WRONG_JOB}*) echo yes ;; *'\"name\":\"{name}\"'*) echo no ;; *) echo unknown ;; esac"
            ),
        },
        change: Change::Edit {
            path: ALERTS,
            service: "prometheus",
            edits,
            then: None,
        },
        alerts: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_ranges_are_read_as_prometheus_writes_them() {
        assert_eq!(seconds("10s"), Some(10));
        assert_eq!(seconds("1m"), Some(60));
        assert_eq!(seconds("2h"), Some(7200));
        assert_eq!(seconds("5d"), None);
        assert_eq!(seconds("s"), None);
        assert_eq!(longest_range("up == 0"), 0);
        assert_eq!(
            longest_range("sum(rate(a[1m])) / sum(rate(b[30s])) > 0.05"),
            60
        );
    }

    #[test]
    fn a_fault_s_alerts_are_bounded_by_the_lab_s_own_rules() {
        let t = Topology::load("task2").unwrap();
        let a = alerts(&t, &["ReplicationStopped"], None).unwrap();
        assert_eq!(a.server, "admin");
        // for: 15s, then a scrape, an evaluation and a probe of 5 s each.
        assert_eq!(a.fire_within_s, 15 + 15 + MARGIN_S);
        // SiteErrors' rate looks back a minute.
        assert_eq!(a.resolve_within_s, 60 + 10 + MARGIN_S);
        assert_eq!(quiet_claim(&a), Some(ClaimRef::sure("alerting", QUIET)));
        let none = alerts(&t, &[], None).unwrap();
        assert_eq!(quiet_claim(&none), None);
        let maybe = alerts(&t, &[], Some("when SiteErrors fires")).unwrap();
        assert!(!quiet_claim(&maybe).unwrap().surely);
        assert_eq!(alerts(&Topology::load("task1").unwrap(), &[], None), None);
    }

    #[test]
    fn the_rule_on_the_wrong_job_fails_only_the_killed_server_s_alert() {
        for (stack, victim) in [
            ("task2", "server-02"),
            ("task3", "app-02"),
            ("task4", "app-02"),
        ] {
            assert_eq!(
                super::super::tests::breaks_on(stack, "alert-rule-wrong-job"),
                (
                    "admin".to_string(),
                    vec![format!("alerting: {victim} killed: its alert fires")]
                ),
                "{stack}"
            );
        }
    }
}
