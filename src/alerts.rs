//! The lab's alerts as its operator sees them: what the lab's Alertmanager
//! holds as firing (the rules are `components::prometheus::rules`), read
//! on the monitoring server through the driver, with since when each fires.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::components::prometheus;
use crate::driver::Driver;
use crate::error::{Error, Result};
use crate::topology::{Role, Topology};

/// One alert that fires.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Firing {
    /// The rule's name (`TargetDown`).
    pub alert: String,
    pub severity: String,
    /// The server it is about (the scrape's `server` label; `site` for the
    /// site as users load it).
    pub server: String,
    pub summary: String,
    /// When it started, as Alertmanager has it (RFC 3339).
    pub since: String,
    /// How long it has fired, in seconds, by the monitoring server's clock.
    pub seconds: u64,
    /// Every label of the alert.
    pub labels: BTreeMap<String, String>,
}

impl Firing {
    /// How people name it: `TargetDown (server-02)`.
    pub fn name(&self) -> String {
        named(&self.alert, &self.server)
    }
}

/// `alert (server)`.
fn named(alert: &str, server: &str) -> String {
    format!("{alert} ({server})")
}

/// Each alert of `firing` by its name, in its order, once: a rule that
/// fires per job (`TargetDown` of a server's node and nginx exporters) is
/// one line of the instructor's grid.
pub fn names(firing: &[Firing]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in firing.iter().map(Firing::name) {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// The server that holds the lab's alerts, if the stack monitors itself.
pub fn monitor(topo: &Topology) -> Option<&str> {
    topo.with_role(Role::Monitoring)
        .next()
        .map(|n| n.name.as_str())
}

/// The alerts firing in the lab, oldest first; None for a stack with no
/// monitoring server.
pub async fn firing(driver: &dyn Driver, topo: &Topology) -> Result<Option<Vec<Firing>>> {
    let Some(server) = monitor(topo) else {
        return Ok(None);
    };
    let script = format!(
        "date +%s && curl -fsS -m 5 'http://127.0.0.1:{}/api/v2/alerts?active=true&silenced=false&inhibited=false'",
        prometheus::ALERTMANAGER_PORT
    );
    let out = driver.exec(server, &script).await?;
    if out.code != 0 {
        return Err(Error::failure(format!(
            "{server}: Alertmanager did not answer on port {}: {}",
            prometheus::ALERTMANAGER_PORT,
            out.stderr.trim()
        ))
        .with_hint(format!(
            "`infractl status {}` shows whether the alertmanager service runs",
            topo.stack.name
        )));
    }
    parse(&out.stdout).map(Some).map_err(|e| {
        Error::failure(format!(
            "{server}: Alertmanager's answer is not what infractl reads: {e}"
        ))
    })
}

/// Whether `f` is about `server`: raised by its own targets, or by
/// another server's view of it (a load balancer's backend).
pub fn about(f: &Firing, server: &str) -> bool {
    f.server == server || f.labels.get("exported_server").map(String::as_str) == Some(server)
}

/// The alerts Prometheus holds now, pending or firing, as `alert
/// (server)`: an alert whose expression holds is pending there for its
/// `for:` time before Alertmanager hears of it. Empty for a stack with no
/// monitoring server, or when Prometheus does not answer.
pub async fn held(driver: &dyn Driver, topo: &Topology) -> Vec<String> {
    let Some(server) = monitor(topo) else {
        return Vec::new();
    };
    let script = format!(
        "curl -fsS -m 5 http://127.0.0.1:{}/api/v1/alerts",
        topo.prometheus_port(server)
    );
    let Ok(out) = driver.exec(server, &script).await else {
        return Vec::new();
    };
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_default();
    let mut keys: Vec<String> = v["data"]["alerts"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    let l = &x["labels"];
                    let server = l["server"].as_str().or(l["instance"].as_str());
                    named(
                        l["alertname"].as_str().unwrap_or_default(),
                        server.unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    keys.sort();
    keys.dedup();
    keys
}

/// Reads the lab's alerts every half second until `done` holds of them
/// or `bound` has passed: the last alerts read, and whether `done` held.
pub async fn watch(
    driver: &dyn Driver,
    topo: &Topology,
    bound: std::time::Duration,
    done: impl Fn(&[Firing]) -> bool,
) -> Result<(Vec<Firing>, bool)> {
    let t = std::time::Instant::now();
    loop {
        let now = firing(driver, topo).await?.unwrap_or_default();
        if done(&now) {
            return Ok((now, true));
        }
        if t.elapsed() >= bound {
            return Ok((now, false));
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

#[derive(Deserialize)]
struct Raw {
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    starts_at: String,
}

/// Reads the clock line (seconds since the epoch) and Alertmanager's
/// `/api/v2/alerts` answer that follows it.
pub fn parse(text: &str) -> std::result::Result<Vec<Firing>, String> {
    let (now, json) = text.split_once('\n').ok_or("no clock line")?;
    let now: i64 = now.trim().parse().map_err(|_| format!("clock `{now}`"))?;
    let raw: Vec<Raw> = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let mut out: Vec<Firing> = raw
        .into_iter()
        .map(|r| {
            let started = epoch_seconds(&r.starts_at).unwrap_or(now);
            let label = |k: &str| r.labels.get(k).cloned().unwrap_or_default();
            Firing {
                alert: label("alertname"),
                severity: label("severity"),
                server: r
                    .labels
                    .get("server")
                    .or_else(|| r.labels.get("instance"))
                    .cloned()
                    .unwrap_or_default(),
                summary: r.annotations.get("summary").cloned().unwrap_or_default(),
                since: r.starts_at,
                seconds: (now - started).max(0) as u64,
                labels: r.labels,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.seconds
            .cmp(&a.seconds)
            .then_with(|| a.alert.cmp(&b.alert))
            .then_with(|| a.server.cmp(&b.server))
    });
    Ok(out)
}

/// Seconds since the epoch of an RFC 3339 time in UTC
/// (`2026-12-04T03:20:45.123Z`), as Alertmanager writes them.
fn epoch_seconds(t: &str) -> Option<i64> {
    let (date, time) = t.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.trim_end_matches('Z');
    let offset = match time.rfind(['+', '-']) {
        Some(i) => {
            let (h, mi) = time[i + 1..].split_once(':')?;
            let s = h.parse::<i64>().ok()? * 3600 + mi.parse::<i64>().ok()? * 60;
            if time.as_bytes()[i] == b'+' {
                s
            } else {
                -s
            }
        }
        None => 0,
    };
    let clock = time.split(['+', '-']).next()?;
    let mut c = clock.splitn(3, ':');
    let (h, mi) = (
        c.next()?.parse::<i64>().ok()?,
        c.next()?.parse::<i64>().ok()?,
    );
    let s = c.next()?.split('.').next()?.parse::<i64>().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + h * 3600 + mi * 60 + s - offset)
}

/// `41 s`, `3 min`, `2 h 5 min`.
pub fn age(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_the_epoch_does() {
        assert_eq!(epoch_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(epoch_seconds("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(
            epoch_seconds("2026-12-04T03:20:45.123456789Z"),
            Some(1_796_354_445)
        );
        assert_eq!(
            epoch_seconds("2026-12-04T04:20:45+01:00"),
            Some(1_796_354_445)
        );
        assert_eq!(epoch_seconds("yesterday"), None);
    }

    #[test]
    fn alertmanagers_answer_becomes_alerts_oldest_first() {
        let text = r#"1796354445
[{"labels":{"alertname":"TargetDown","job":"node","server":"web-01","severity":"critical"},
  "annotations":{"summary":"node on web-01 is not answering"},
  "startsAt":"2026-12-04T03:20:04Z","status":{"state":"active"}},
 {"labels":{"alertname":"SiteDown","instance":"https://10.0.0.1/","severity":"critical"},
  "startsAt":"2026-12-04T03:10:45Z"}]"#;
        let got = parse(text).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].alert, "SiteDown");
        assert_eq!(got[0].server, "https://10.0.0.1/");
        assert_eq!(got[0].seconds, 600);
        assert_eq!(got[1].server, "web-01");
        assert_eq!(got[1].seconds, 41);
        assert_eq!(got[1].summary, "node on web-01 is not answering");
        assert!(parse("no clock\n[]").is_err());
        assert_eq!(parse("5\n[]").unwrap(), vec![]);
    }

    /// Alertmanager's `/api/v2/alerts` answer, as a task2 lab gave it
    /// (with its clock line) 30 s after server-02 was stopped, its alerts
    /// firing for 10 s: `TargetDown` of each of its three exporters, and
    /// the load balancer's own `BackendDown`.
    const SERVER_02_DOWN: &str = r#"1796641902
[{"annotations":{"summary":"mysqld on server-02 is not answering"},"endsAt":"2026-12-07T11:15:32.835Z","fingerprint":"4f43ae1d6dbbdde0","receivers":[{"name":"operator"}],"startsAt":"2026-12-07T11:11:32.835Z","status":{"inhibitedBy":[],"silencedBy":[],"state":"active"},"updatedAt":"2026-12-07T11:11:32.844Z","generatorURL":"http://admin:9090/graph?g0.expr=up+%3D%3D+0\u0026g0.tab=1","labels":{"alertname":"TargetDown","instance":"10.128.1.12:9104","job":"mysqld","lab":"it-pf-cap","server":"server-02","severity":"critical"}},{"annotations":{"summary":"node on server-02 is not answering"},"endsAt":"2026-12-07T11:15:32.835Z","fingerprint":"f12b7e01ae2be6b2","receivers":[{"name":"operator"}],"startsAt":"2026-12-07T11:11:32.835Z","status":{"inhibitedBy":[],"silencedBy":[],"state":"active"},"updatedAt":"2026-12-07T11:11:32.844Z","generatorURL":"http://admin:9090/graph?g0.expr=up+%3D%3D+0\u0026g0.tab=1","labels":{"alertname":"TargetDown","instance":"10.128.1.12:9100","job":"node","lab":"it-pf-cap","server":"server-02","severity":"critical"}},{"annotations":{"summary":"load balancer lb-01 sees backend web/server-02 down"},"endsAt":"2026-12-07T11:15:32.043Z","fingerprint":"f788e687e79a372d","receivers":[{"name":"operator"}],"startsAt":"2026-12-07T11:11:32.043Z","status":{"inhibitedBy":[],"silencedBy":[],"state":"active"},"updatedAt":"2026-12-07T11:11:32.070Z","generatorURL":"http://admin:9090/graph?g0.expr=haproxy_server_status%7Bstate%3D%22DOWN%22%7D+%3D%3D+1\u0026g0.tab=1","labels":{"alertname":"BackendDown","exported_server":"server-02","instance":"10.128.1.10:8404","job":"haproxy","lab":"it-pf-cap","proxy":"web","server":"lb-01","severity":"warning","state":"DOWN"}},{"annotations":{"summary":"nginx on server-02 is not answering"},"endsAt":"2026-12-07T11:15:32.835Z","fingerprint":"fc07dd12d86ab1ea","receivers":[{"name":"operator"}],"startsAt":"2026-12-07T11:11:32.835Z","status":{"inhibitedBy":[],"silencedBy":[],"state":"active"},"updatedAt":"2026-12-07T11:11:32.844Z","generatorURL":"http://admin:9090/graph?g0.expr=up+%3D%3D+0\u0026g0.tab=1","labels":{"alertname":"TargetDown","instance":"10.128.1.12:9113","job":"nginx","lab":"it-pf-cap","server":"server-02","severity":"critical"}}]"#;

    #[test]
    fn alerts_are_named_once_each_oldest_first() {
        let got = parse(SERVER_02_DOWN).unwrap();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].name(), "BackendDown (lb-01)");
        assert_eq!(got[0].seconds, 10);
        assert!(about(&got[0], "server-02"), "lb-01's view of server-02");
        assert_eq!(got[1].name(), "TargetDown (server-02)");
        assert_eq!(
            names(&got),
            ["BackendDown (lb-01)", "TargetDown (server-02)"],
            "TargetDown fires per exporter: one line for the server"
        );
        assert_eq!(names(&[]), Vec::<String>::new());
    }

    #[test]
    fn ages_read_at_a_glance() {
        assert_eq!(age(41), "41 s");
        assert_eq!(age(600), "10 min");
        assert_eq!(age(7500), "2 h 5 min");
    }
}
