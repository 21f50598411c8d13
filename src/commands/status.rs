//! `infractl status`: per server, its container's state, each service's
//! state and its addresses; with no stack, every lab that is up.

use std::io::Write;

use serde::Serialize;

use super::{emit, emit_json, plan_for, Global};
use crate::driver::Driver;
use crate::error::Result;
use crate::plan::Plan;
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

pub async fn collect<D: Driver>(driver: &D, plan: &Plan) -> Result<Vec<ServerStatus>> {
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
pub async fn add_qps<D: Driver>(
    driver: &D,
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
    global: &Global,
    out: &mut dyn Write,
) -> Result<i32> {
    let Some(stack) = stack else {
        return every_lab(json, global, out).await;
    };
    let (topo, plan) = plan_for(stack, global)?;
    let driver = super::driver(global, &topo).await?;
    let mut report = collect(&driver, &plan).await?;
    let up = report.iter().any(|r| r.state != "absent");
    let mut alerts = None;
    if up {
        add_qps(&driver, &topo, &mut report).await;
        // A monitoring server that does not answer shows in the table.
        alerts = crate::alerts::firing(&driver, &topo).await.ok().flatten();
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
        emit(out, &format!("Stack `{}` is not up.\n", plan.stack))?;
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

/// `status` with no stack: every lab on the engine the options name, and
/// on every other engine a lab's record names (a class's engines). An
/// engine that does not answer is one line, and exit 1.
async fn every_lab(json: bool, global: &Global, out: &mut dyn Write) -> Result<i32> {
    use crate::driver::docker::{endpoint::Endpoint, DockerEngine};
    let named = super::explicit_engine(global)?;
    let first = match &named {
        Some(e) => e.clone(),
        None => Endpoint::ambient()?,
    };
    let mut engines = vec![first.clone()];
    if named.is_none() {
        let root = crate::state::root(global.state_dir.as_deref());
        for e in crate::lab::recorded_engines(&root) {
            if !engines.iter().any(|x| x.same_engine(&e)) {
                engines.push(e);
            }
        }
    }
    let found = futures_util::future::join_all(engines.iter().map(|e| async {
        let engine = DockerEngine::connect(e.clone()).await?;
        engine.labs().await
    }))
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
            // An engine asked for must answer; the others are reported
            // (the environment's too, when records name others).
            Err(e) if named.is_some() || engines.len() == 1 => return Err(e),
            Err(e) => unreachable.push(e.headline()),
        }
    }
    if json {
        emit_json(out, &labs)?;
    } else if labs.is_empty() {
        emit(out, "No lab is up.\n")?;
    } else {
        let rows: Vec<[String; 5]> = labs
            .iter()
            .map(|l| {
                [
                    l.lab.clone(),
                    l.stack.clone(),
                    l.servers.to_string(),
                    l.running.to_string(),
                    l.engine.clone(),
                ]
            })
            .collect();
        let head = ["LAB", "STACK", "SERVERS", "RUNNING", "ENGINE"];
        emit(out, &super::table(head, &rows))?;
    }
    if !json {
        for line in &unreachable {
            emit(out, &format!("{line}\n"))?;
        }
    }
    Ok(if unreachable.is_empty() { 0 } else { 1 })
}
