//! A lab's servers as they stand: each host's state, each service's
//! state and the server's addresses, and the requests per second the
//! lab's own Prometheus measures. `status` prints it; `up` shows it after
//! a bring-up.

use serde::Serialize;

use crate::driver::{Driver, LabOnEngine, Placement};
use crate::error::Result;
use crate::render::plan::Plan;
use crate::render::supervise::{parse_status, ServiceStatus};

use super::Global;

/// A lab as `status STACK` shows it: its servers, whether any is up, and
/// the alerts its monitoring fires.
pub struct LabStatus {
    pub plan: Plan,
    pub servers: Vec<ServerStatus>,
    /// Some server of the lab exists.
    pub up: bool,
    /// The alerts firing, for a lab with monitoring whose Alertmanager
    /// answered.
    pub alerts: Option<Vec<crate::alerts::Firing>>,
}

impl LabStatus {
    /// Whether every server runs and every service is up.
    pub fn healthy(&self) -> bool {
        healthy(&self.servers)
    }
}

/// The lab of `stack` as it stands, on its engine.
pub async fn of_lab(stack: &str, global: &Global) -> Result<LabStatus> {
    let (topo, plan) = super::plan_for(stack, global)?;
    let driver = super::driver(global, &topo).await?;
    let mut servers = collect(&*driver, &plan).await?;
    let up = servers.iter().any(|r| r.state != "absent");
    let mut alerts = None;
    if up {
        add_qps(&*driver, &topo, &mut servers).await;
        // A monitoring server that does not answer shows in the table.
        alerts = crate::alerts::firing(&*driver, &topo).await.ok().flatten();
    }
    Ok(LabStatus {
        plan,
        servers,
        up,
        alerts,
    })
}

/// One server of a lab, as it stands.

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

/// Each server of the plan as it stands (`absent` when it has no host).
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
                            let out = driver
                                .exec(&s.name, crate::render::supervise::STATUS)
                                .await?;
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

/// The labs on the engines `status` lists: the engine in use (the one
/// the options name, else the environment's) and, with `all`, every
/// engine a lab's record names.
pub struct OnEngines {
    pub in_use: Placement,
    /// Each lab, with the engine it was found on.
    pub labs: Vec<(Placement, LabOnEngine)>,
    /// Engines that did not answer, one line each.
    pub unreachable: Vec<String>,
}

/// The labs on the engine in use (and with `all`, on every engine a
/// record names); the engine in use alone not answering is an error.
pub async fn labs_on_engines(all: bool, global: &Global) -> Result<OnEngines> {
    let in_use = crate::driver::named(&global.choice)?.ok_or_else(|| {
        crate::Error::usage("--inventory names hosts, not an engine: `infractl status STACK --inventory FILE` shows a lab on them")
    })?;
    let mut engines = vec![in_use.clone()];
    if all {
        for e in crate::lab::recorded_engines(&global.root()) {
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
            Ok(on) => labs.extend(on.into_iter().map(|l| (endpoint.clone(), l))),
            Err(e) if engines.len() == 1 => return Err(e),
            Err(e) => unreachable.push(e.headline()),
        }
    }
    Ok(OnEngines {
        in_use,
        labs,
        unreachable,
    })
}

/// Whether every server runs and every service is up.
pub fn healthy(report: &[ServerStatus]) -> bool {
    report
        .iter()
        .all(|r| r.state == "running" && r.services.iter().all(|s| s.state == "run"))
}
