//! `infractl status`: per server, its container's state, each service's
//! state and its addresses; with no stack, every lab on the engine in
//! use (and with `--all`, on every engine a lab's record names).

use std::io::Write;

use serde::Serialize;

use super::{emit, emit_json, plan_for, Global};
use crate::driver::Driver;
use crate::error::Result;
use crate::render::plan::Plan;
use crate::supervise::{parse_status, ServiceStatus};

#[derive(Debug, Clone, Serialize)]
pub struct ServerStatus {
    pub server: String,
    pub roles: Vec<String>,
    pub addresses: Vec<String>,
    /// `running`, `exited`, ... or `absent`.
    pub state: String,
    pub services: Vec<ServiceStatus>,
    /// Web servers: requests per second over the last minute, as the lab's
    /// Prometheus has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qps: Option<f64>,
}

pub async fn collect(driver: &dyn Driver, plan: &Plan) -> Result<Vec<ServerStatus>> {
    let hosts = driver.hosts().await?;
    let jobs = plan.servers.iter().map(|s| {
        let host = hosts.iter().find(|h| h.server == s.name);
        async move {
            let state = match host {
                None => "absent".to_string(),
                Some(h) if h.running => "running".to_string(),
                Some(h) => h.status.to_lowercase(),
            };
            let services = match host {
                Some(h) if h.running && !s.services.is_empty() => {
                    let mut got = match &h.services {
                        Some(known) => known.clone(),
                        None => {
                            let out = driver.exec(&s.name, crate::supervise::STATUS).await?;
                            parse_status(&out.stdout)
                        }
                    };
                    // Services of the plan the supervisor does not know yet.
                    for want in &s.services {
                        if !got.iter().any(|g| g.name == want.name) {
                            got.push(ServiceStatus {
                                name: want.name.clone(),
                                state: "missing".into(),
                            });
                        }
                    }
                    got
                }
                _ => s
                    .services
                    .iter()
                    .map(|x| ServiceStatus {
                        name: x.name.clone(),
                        state: "down".into(),
                    })
                    .collect(),
            };
            Ok::<_, crate::Error>(ServerStatus {
                server: s.name.clone(),
                roles: s.roles.clone(),
                addresses: s
                    .networks
                    .iter()
                    .map(|a| format!("{} {}", a.network, a.address))
                    .collect(),
                state,
                services,
                qps: None,
            })
        }
    });
    futures_util::future::try_join_all(jobs).await
}

/// Fills in each web server's requests per second from the lab's
/// Prometheus (when the stack has one and it answers).
pub async fn add_qps(
    driver: &dyn Driver,
    topo: &crate::topology::Topology,
    report: &mut [ServerStatus],
) {
    use crate::topology::Role;
    let Some(prom) = topo.with_role(Role::Monitoring).next() else {
        return;
    };
    let port = topo.prometheus_port(&prom.name);
    let query = "query=sum by (server) (rate(nginx_http_requests_total[1m]))";
    let Ok(out) = driver
        .exec(
            &prom.name,
            &format!(
                "curl -sS -m 3 --data-urlencode '{query}' http://127.0.0.1:{port}/api/v1/query"
            ),
        )
        .await
    else {
        return;
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&out.stdout) else {
        return;
    };
    for r in v["data"]["result"].as_array().into_iter().flatten() {
        let (Some(server), Some(qps)) = (
            r["metric"]["server"].as_str(),
            r["value"][1].as_str().and_then(|x| x.parse::<f64>().ok()),
        ) else {
            continue;
        };
        if let Some(row) = report.iter_mut().find(|x| x.server == server) {
            row.qps = Some((qps * 100.0).round() / 100.0);
        }
    }
}

/// The human table: server, roles, addresses, state, services.
pub fn table(report: &[ServerStatus]) -> String {
    let rows: Vec<[String; 5]> = report
        .iter()
        .map(|r| {
            let services = r
                .services
                .iter()
                .map(|s| {
                    if s.state == "run" {
                        s.name.clone()
                    } else {
                        format!("{}({})", s.name, s.state)
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
            [
                r.server.clone(),
                r.roles.join(","),
                r.addresses
                    .iter()
                    .map(|a| a.split(' ').nth(1).unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join(","),
                r.state.clone(),
                services,
            ]
        })
        .collect();
    super::table(["SERVER", "ROLE", "ADDRESS", "STATE", "SERVICES"], &rows)
}

/// Whether every server runs and every service is up.
pub fn healthy(report: &[ServerStatus]) -> bool {
    report
        .iter()
        .all(|r| r.state == "running" && r.services.iter().all(|s| s.state == "run"))
}

pub async fn run(
    stack: Option<&str>,
    json: bool,
    all: bool,
    global: &Global,
    out: &mut dyn Write,
) -> Result<i32> {
    let Some(stack) = stack else {
        return every_lab(json, all, global, out).await;
    };
    let (topo, plan) = plan_for(stack, global)?;
    let driver = super::driver(global, &topo).await?;
    let mut report = collect(&*driver, &plan).await?;
    let up = report.iter().any(|r| r.state != "absent");
    let mut alerts = None;
    if up {
        add_qps(&*driver, &topo, &mut report).await;
        // A monitoring server that does not answer shows in the table.
        alerts = crate::alerts::firing(&*driver, &topo).await.ok().flatten();
    }
    if json {
        emit_json(
            out,
            &super::report::Status {
                healthy: healthy(&report),
                servers: &report,
                stack: &plan.stack,
                up,
                alerts: alerts.as_deref(),
            },
        )?;
    } else if !up {
        emit(out, &format!("Lab `{}` is not up.\n", plan.stack))?;
    } else {
        let mut text = table(&report);
        let qps: Vec<String> = report
            .iter()
            .filter_map(|r| r.qps.map(|q| format!("{} {q:.2}", r.server)))
            .collect();
        if !qps.is_empty() {
            text.push_str(&format!(
                "\nRequests per second, last minute (Prometheus): {}\n",
                qps.join(", ")
            ));
        }
        match alerts.as_deref() {
            Some([]) => text.push_str("\nNo alert fires.\n"),
            Some(firing) => {
                text.push_str(&format!(
                    "\n{} firing (Alertmanager):\n",
                    super::count(firing.len(), "alert")
                ));
                text.push_str(&super::alerts::text(&plan.stack, firing));
            }
            None => {}
        }
        emit(out, &text)?;
    }
    Ok(if !up || healthy(&report) { 0 } else { 1 })
}

/// `status` with no stack: every lab on the engine in use (the one the
/// options name, else the environment's), and how many labs the records
/// say run on other engines; with `all`, the labs of those engines too.
/// An engine that does not answer is one line, and exit 1 (the one in
/// use, alone, is an error).
async fn every_lab(json: bool, all: bool, global: &Global, out: &mut dyn Write) -> Result<i32> {
    let in_use = crate::driver::named(&global.choice)?.ok_or_else(|| {
        crate::Error::usage("--inventory names hosts, not an engine: `infractl status STACK --inventory FILE` shows a lab on them")
    })?;
    let root = global.root();
    let mut engines = vec![in_use.clone()];
    if all {
        for e in crate::lab::recorded_engines(&root) {
            if !engines.iter().any(|x| x.same(&e)) {
                engines.push(e);
            }
        }
    }
    let found = futures_util::future::join_all(
        engines
            .iter()
            .map(|e| async { crate::driver::engine_at(e).await?.labs().await }),
    )
    .await;
    let mut labs = Vec::new();
    let mut unreachable = Vec::new();
    for (endpoint, result) in engines.iter().zip(found) {
        match result {
            Ok(on) => labs.extend(on.into_iter().map(|l| super::report::Lab {
                engine: endpoint.to_string(),
                lab: l.lab,
                running: l.hosts.iter().filter(|h| h.running).count(),
                servers: l.hosts.len(),
                stack: l.stack,
            })),
            Err(e) if engines.len() == 1 => return Err(e),
            Err(e) => unreachable.push(e.headline()),
        }
    }
    let elsewhere = match all {
        true => 0,
        false => elsewhere(&crate::lab::records(&root), &in_use, &labs),
    };
    if json {
        emit_json(
            out,
            &super::report::Labs {
                elsewhere,
                engine: in_use.to_string(),
                labs: &labs,
                unreachable: &unreachable,
            },
        )?;
    } else {
        emit(out, &labs_text(&labs, &in_use.to_string(), all, elsewhere))?;
        for line in &unreachable {
            emit(out, &format!("{line}\n"))?;
        }
    }
    Ok(if unreachable.is_empty() { 0 } else { 1 })
}

/// How many labs the records say run on an engine other than `in_use`
/// (and are not among `listed`, found on it).
fn elsewhere(
    records: &[(String, crate::lab::Record)],
    in_use: &crate::driver::Placement,
    listed: &[super::report::Lab],
) -> usize {
    records
        .iter()
        .filter(|(name, r)| {
            r.engine.as_ref().is_some_and(|e| !e.same(in_use))
                && !listed.iter().any(|l| l.lab == *name)
        })
        .count()
}

/// `status`'s table of labs (an ENGINE column with `all`), and the line
/// that says how many others there are.
fn labs_text(labs: &[super::report::Lab], in_use: &str, all: bool, elsewhere: usize) -> String {
    let mut text = if labs.is_empty() {
        format!("No lab is up on the engine {in_use}.\n")
    } else {
        let mut head = vec!["LAB", "STACK", "SERVERS", "RUNNING"];
        if all {
            head.push("ENGINE");
        }
        let rows: Vec<Vec<String>> = labs
            .iter()
            .map(|l| {
                let mut row = vec![
                    l.lab.clone(),
                    l.stack.clone(),
                    l.servers.to_string(),
                    l.running.to_string(),
                ];
                if all {
                    row.push(l.engine.clone());
                }
                row
            })
            .collect();
        let mut t = super::table_of(&head, &rows);
        if !all {
            t.push_str(&format!("\nOn the engine {in_use}.\n"));
        }
        t
    };
    if elsewhere > 0 {
        text.push_str(&format!(
            "{} on other engines (status --all lists them).\n",
            super::count(elsewhere, "lab")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::docker::backend::placement_of;
    use crate::driver::docker::endpoint::Endpoint;

    fn lab(name: &str, engine: &str) -> crate::commands::report::Lab {
        crate::commands::report::Lab {
            engine: engine.into(),
            lab: name.into(),
            running: 5,
            servers: 5,
            stack: "task1".into(),
        }
    }

    #[test]
    fn status_lists_the_engine_in_use_and_counts_the_others() {
        let here = Endpoint::local();
        let there = Endpoint::parse("tcp://192.0.2.7:2375", None).unwrap();
        let record = |e: Option<&Endpoint>| crate::lab::Record {
            engine: e.map(placement_of),
            ..crate::lab::Record::of("task1", &[])
        };
        let records = vec![
            ("a".to_string(), record(Some(&here))),
            ("b".to_string(), record(Some(&there))),
            ("c".to_string(), record(Some(&there))),
            ("d".to_string(), record(None)),
        ];
        let listed = [lab("a", &here.host), lab("x", &here.host)];
        assert_eq!(elsewhere(&records, &placement_of(&here), &listed), 2);
        assert_eq!(elsewhere(&records, &placement_of(&there), &[]), 1);
        assert_eq!(
            labs_text(&listed, &here.host, false, 2),
            "LAB  STACK  SERVERS  RUNNING\na    task1  5        5\nx    task1  5        5\n\nOn the engine unix:///var/run/docker.sock.\n2 labs on other engines (status --all lists them).\n"
        );
        assert!(labs_text(&listed, &here.host, true, 0).starts_with(
            "LAB  STACK  SERVERS  RUNNING  ENGINE\na    task1  5        5        unix://"
        ));
        assert_eq!(
            labs_text(&[], &here.host, false, 1),
            "No lab is up on the engine unix:///var/run/docker.sock.\n1 lab on other engines (status --all lists them).\n"
        );
    }
}
