//! Each lab as it stands, live: one watcher per lab that someone's page
//! shows, publishing a [`LabView`] on a `watch` channel whenever it
//! changes; each page reads it as one event stream (SSE). A watcher ends
//! a while after its last page closed.
//!
//! A watcher asks little of the engine, so that one engine carries a
//! class of thirty labs: it follows the engine's events for its lab (the
//! driver's `Events`) and, when a server's host changes, publishes at
//! once what the change says with the hosts (one call, no command in
//! them; see `watcher`); then
//! at the services (a command in each running server) a moment later,
//! once they had time to start or stop, and again a little later each
//! time until its regular beat. Without events, the services every few
//! seconds; the lab's own probes (`probes`: the virtual IP, replication,
//! Galera) on a beat of their own, never on each event. A page's action
//! pokes the watcher: everything is looked at at once.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use tokio::sync::{watch, Notify};

use super::auth::{ClassAccess, LabAccess};
use super::probes::{AlertsView, GaleraView, Probed, ReplicaView, VipView};
use super::{LabHandle, Portal, PortalError};
use crate::driver::Host;
use crate::render::plan::Plan;
use crate::render::supervise::ServiceStatus;
use watcher::Watcher;

mod watcher;

/// A lab as its page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct LabView {
    pub lab: String,
    /// The engine answered (else `message` says why).
    pub reachable: bool,
    /// Some server of the lab exists.
    pub up: bool,
    pub servers: Vec<ServerView>,
    /// Each virtual IP and the load balancers holding it (keepalived).
    pub vips: Vec<VipView>,
    /// Each running replica's replication.
    pub replication: Vec<ReplicaView>,
    /// Each running Galera node's place in its cluster.
    pub galera: Vec<GaleraView>,
    /// The alerts firing, where the stack monitors itself (`None`: it has
    /// no monitoring server).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerts: Option<AlertsView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One server: `running`, `unhealthy` (a service down), `stopped`, or
/// `absent`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerView {
    pub server: String,
    pub state: String,
    /// Each service as its supervisor says (`run`, `down`, `fail`), or
    /// `starting` on a host just started, not asked yet.
    pub services: Vec<ServiceStatus>,
}

impl ServerView {
    /// Its host runs (whatever its services do).
    fn runs(&self) -> bool {
        self.state == "running" || self.state == "unhealthy"
    }
}

impl LabView {
    /// Servers not running (stopped or absent).
    pub fn down(&self) -> Vec<&str> {
        self.servers
            .iter()
            .filter(|s| s.state == "stopped" || s.state == "absent")
            .map(|s| s.server.as_str())
            .collect()
    }

    /// Servers whose host runs.
    fn running(&self) -> Vec<&str> {
        self.servers
            .iter()
            .filter(|s| s.runs())
            .map(|s| s.server.as_str())
            .collect()
    }

    /// Whether the lab has been looked at: a watcher's first view, before
    /// its first look, is no news (neither reachable nor saying why not).
    pub fn looked(&self) -> bool {
        self.reachable || self.message.is_some()
    }

    /// The probes' findings of `from`, but for servers that no longer run
    /// here (a stopped server neither holds an address nor replicates, a
    /// stopped monitoring server sees no alert).
    fn probed_from(&mut self, from: &LabView) {
        let running = self.running();
        let runs = |s: &str| running.contains(&s);
        let alerts = self.alerts.as_ref().map(|a| {
            let ran = from.running().contains(&a.server.as_str());
            match &from.alerts {
                _ if !runs(&a.server) => AlertsView::not_running(&a.server),
                Some(was) if ran && was.server == a.server => was.clone(),
                _ => AlertsView::unread(&a.server),
            }
        });
        let vips = from
            .vips
            .iter()
            .map(|v| VipView {
                address: v.address.clone(),
                holders: v.holders.iter().filter(|h| runs(h)).cloned().collect(),
            })
            .collect();
        let replication = from
            .replication
            .iter()
            .filter(|r| runs(&r.server))
            .cloned()
            .collect();
        let galera = from
            .galera
            .iter()
            .filter(|g| runs(&g.server))
            .cloned()
            .collect();
        (self.vips, self.replication, self.galera, self.alerts) =
            (vips, replication, galera, alerts);
    }

    fn set_probed(&mut self, probed: Probed) {
        (self.vips, self.replication, self.galera, self.alerts) = (
            probed.vips,
            probed.replication,
            probed.galera,
            probed.alerts,
        );
    }
}

/// A lab's watcher, as the hub knows it.
struct Watched {
    tx: watch::Sender<Arc<LabView>>,
    poke: Arc<Notify>,
}

/// The watchers, by lab.
#[derive(Default)]
pub struct Hub {
    labs: std::sync::Mutex<HashMap<String, Watched>>,
}

impl Hub {
    /// The lab's view as it changes, its watcher started if none runs.
    pub fn watch(&self, portal: &Portal, lab: &str) -> watch::Receiver<Arc<LabView>> {
        let mut labs = self.labs.lock().expect("hub lock");
        if let Some(w) = labs.get(lab) {
            return w.tx.subscribe();
        }
        let (tx, rx) = watch::channel(Arc::new(LabView {
            lab: lab.to_string(),
            ..LabView::default()
        }));
        let poke = Arc::new(Notify::new());
        labs.insert(
            lab.to_string(),
            Watched {
                tx: tx.clone(),
                poke: poke.clone(),
            },
        );
        tokio::spawn(Watcher::new(portal.clone(), lab, tx, poke).run());
        rx
    }

    /// Tells a lab's watcher to look now (after an action on it).
    pub fn poke(&self, lab: &str) {
        if let Some(w) = self.labs.lock().expect("hub lock").get(lab) {
            w.poke.notify_one();
        }
    }

    /// Ends the watcher of `poke` if no page watches it: whether it ended.
    /// Under the hub's lock, so that a page that starts watching the lab
    /// meanwhile has a watcher, this one or a new one.
    fn end_if_unwatched(
        &self,
        lab: &str,
        tx: &watch::Sender<Arc<LabView>>,
        poke: &Arc<Notify>,
    ) -> bool {
        let mut labs = self.labs.lock().expect("hub lock");
        if tx.receiver_count() > 0 {
            return false;
        }
        if labs.get(lab).is_some_and(|w| Arc::ptr_eq(&w.poke, poke)) {
            labs.remove(lab);
        }
        true
    }
}

fn unreachable_view(lab: &str, why: &str) -> LabView {
    LabView {
        lab: lab.to_string(),
        reachable: false,
        message: Some(why.to_string()),
        ..LabView::default()
    }
}

/// The view of `plan`'s lab with its `servers`, with nothing probed yet.
fn view_of(plan: &Plan, servers: Vec<ServerView>) -> LabView {
    let up = servers.iter().any(|s| s.state != "absent");
    LabView {
        lab: plan.stack.clone(),
        reachable: true,
        up,
        message: (!up)
            .then(|| "the lab is down: it was taken down, or not brought up yet".to_string()),
        servers,
        alerts: monitor(plan).map(AlertsView::unread),
        ..LabView::default()
    }
}

/// The server of `plan` that holds the lab's alerts, if it monitors
/// itself (as `alerts::monitor` finds it in the stack).
fn monitor(plan: &Plan) -> Option<&str> {
    let role = crate::topology::Role::Monitoring.as_str();
    plan.servers
        .iter()
        .find(|s| s.roles.iter().any(|r| r == role))
        .map(|s| s.name.as_str())
}

/// Each service of `server` as a host that does not run has them.
fn all(server: &crate::render::plan::ServerPlan, state: &str) -> Vec<ServiceStatus> {
    server
        .services
        .iter()
        .map(|x| ServiceStatus {
            name: x.name.clone(),
            state: state.into(),
        })
        .collect()
}

/// The lab with its hosts as `hosts` says, and the rest as `current` has
/// it: a host that runs keeps the services it had, a host just started
/// has its services `starting` (looked at a moment later), a stopped one
/// has them down; what the probes found is kept for the servers that
/// still run.
pub fn with_hosts(current: &LabView, plan: &Plan, hosts: &[Host]) -> LabView {
    let servers = plan
        .servers
        .iter()
        .map(|s| {
            let was = current.servers.iter().find(|v| v.server == s.name);
            let (state, services) = match hosts.iter().find(|h| h.server == s.name) {
                None => ("absent", all(s, "down")),
                Some(h) if !h.running => ("stopped", all(s, "down")),
                Some(_) => match was {
                    Some(v) if v.runs() => return v.clone(),
                    _ => ("running", all(s, "starting")),
                },
            };
            ServerView {
                server: s.name.clone(),
                state: state.to_string(),
                services,
            }
        })
        .collect();
    let mut view = view_of(plan, servers);
    view.probed_from(current);
    view
}

/// The lab as it stands now: its hosts, their services, and what its
/// probes find.
pub async fn look(handle: &LabHandle) -> LabView {
    let mut view = look_services(handle, &LabView::default()).await;
    if view.up {
        let running = view.running();
        let probed = super::probes::probe(&*handle.driver, &handle.topo, &running).await;
        view.set_probed(probed);
    }
    view
}

/// The hosts and their services now, the probes' findings of `current`
/// kept. A server that stops while its services are asked for is told
/// by its host alone (its services are asked for again next time).
async fn look_services(handle: &LabHandle, current: &LabView) -> LabView {
    let report = match crate::ops::status::collect(&*handle.driver, &handle.plan).await {
        Ok(r) => r,
        Err(e) => {
            return match handle.driver.hosts().await {
                Ok(hosts) => with_hosts(current, &handle.plan, &hosts),
                Err(_) => unreachable_view(&handle.lab, &e.headline()),
            }
        }
    };
    let servers: Vec<ServerView> = report
        .into_iter()
        .map(|s| {
            let state = match s.state.as_str() {
                "running" if s.services.iter().any(|x| x.state != "run") => "unhealthy",
                "running" => "running",
                "absent" => "absent",
                _ => "stopped",
            };
            ServerView {
                server: s.server,
                state: state.to_string(),
                services: s.services,
            }
        })
        .collect();
    let mut view = view_of(&handle.plan, servers);
    view.probed_from(current);
    view
}

pub fn router() -> Router<Portal> {
    Router::new()
        .route("/lab/{lab}/events", get(lab_events))
        .route("/class/{class}/events", get(class_events))
}

/// The lab's view, each time it changes.
async fn lab_events(access: LabAccess, State(portal): State<Portal>) -> impl IntoResponse {
    let rx = portal.live.watch(&portal, &access.lab);
    let stream = looked(tokio_stream_of(rx)).map(|v| {
        Ok::<_, std::convert::Infallible>(
            Event::default()
                .event("lab")
                .json_data(&*v)
                .expect("a view serialises"),
        )
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// A `watch` receiver as a stream of its values, the current one first.
fn tokio_stream_of<T: Clone + Send + Sync + 'static>(
    rx: watch::Receiver<T>,
) -> impl Stream<Item = T> + Send {
    futures_util::stream::unfold((rx, true), |(mut rx, first)| async move {
        if !first && rx.changed().await.is_err() {
            return None;
        }
        let v = rx.borrow_and_update().clone();
        Some((v, (rx, false)))
    })
}

/// The views of `views` that say something: a page waits for its
/// watcher's first look rather than show a lab neither reachable nor not.
fn looked(views: impl Stream<Item = Arc<LabView>>) -> impl Stream<Item = Arc<LabView>> {
    views.filter(|v| std::future::ready(v.looked()))
}

/// One row of the instructor's grid.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub student: String,
    pub lab: String,
    pub view: Arc<LabView>,
}

/// Every lab of the class, each time one changes.
async fn class_events(
    access: ClassAccess,
    State(portal): State<Portal>,
) -> Result<impl IntoResponse, PortalError> {
    let class =
        crate::class::links::read(&portal.root, &access.class)?.ok_or(PortalError::NotFound)?;
    let labs: Vec<(String, String)> = class
        .entries
        .iter()
        .filter_map(|e| Some((e.who.clone(), e.lab.clone()?)))
        .collect();
    let streams = labs.into_iter().map(|(student, lab)| {
        let rx = portal.live.watch(&portal, &lab);
        looked(tokio_stream_of(rx)).map(move |view| Row {
            student: student.clone(),
            lab: lab.clone(),
            view,
        })
    });
    let merged = futures_util::stream::select_all(streams.map(Box::pin));
    let stream = merged.map(|row| {
        Ok::<_, std::convert::Infallible>(
            Event::default()
                .event("row")
                .json_data(&row)
                .expect("a row serialises"),
        )
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::state::Secrets;

    fn plan(stack: &str) -> Plan {
        let topo = crate::topology::Topology::load(stack).expect("a shipped stack loads");
        let secrets = Secrets {
            db_app: "a".into(),
            db_replication: "r".into(),
            db_exporter: "e".into(),
            tls: None,
            zone_serial: None,
        };
        crate::render::plan(&topo, &secrets, "infractl/node:test").expect("renders")
    }

    /// A host of `server`, running or not.
    pub(super) fn host(server: &str, running: bool) -> Host {
        Host {
            server: server.into(),
            running,
            structure: None,
            handle: format!("task1-{server}"),
            status: if running {
                "Up 1 minute"
            } else {
                "Exited (137)"
            }
            .into(),
            networks: None,
            services: None,
            kept: None,
        }
    }

    /// Every server of `plan` running, every service up, the replica
    /// replicating.
    fn all_up(plan: &Plan) -> LabView {
        let servers = plan
            .servers
            .iter()
            .map(|s| ServerView {
                server: s.name.clone(),
                state: "running".into(),
                services: all(s, "run"),
            })
            .collect();
        let mut view = view_of(plan, servers);
        view.replication = vec![ReplicaView {
            server: "server-02".into(),
            running: true,
            lag_seconds: Some(0),
            error: None,
        }];
        view
    }

    /// task2's hosts, each running but `stopped`.
    fn hosts_but(plan: &Plan, stopped: &[&str]) -> Vec<Host> {
        plan.servers
            .iter()
            .map(|s| host(&s.name, !stopped.contains(&s.name.as_str())))
            .collect()
    }

    #[test]
    fn the_alerts_read_are_kept_while_the_monitoring_server_runs() {
        let plan = plan("task2");
        assert_eq!(monitor(&plan), Some("admin"));
        assert_eq!(monitor(&self::plan("task0")), None);
        let mut before = all_up(&plan);
        before.alerts = Some(AlertsView {
            server: "admin".into(),
            firing: Some(vec!["TargetDown (server-02)".into()]),
            problem: None,
        });
        // Another server stops: the alerts are as they were read.
        let after = with_hosts(&before, &plan, &hosts_but(&plan, &["server-01"]));
        assert_eq!(after.alerts, before.alerts);
        // The monitoring server stops: nobody sees an alert.
        let stopped = with_hosts(&before, &plan, &hosts_but(&plan, &["admin"]));
        assert_eq!(stopped.alerts, Some(AlertsView::not_running("admin")));
        let json = serde_json::to_value(&stopped).unwrap();
        assert_eq!(json["alerts"]["firing"], serde_json::Value::Null);
        // Started again: not read yet, not what it said while stopped.
        let again = with_hosts(&stopped, &plan, &hosts_but(&plan, &[]));
        assert_eq!(again.alerts, Some(AlertsView::unread("admin")));
        // A stack without monitoring has no alerts to show.
        let plain = self::plan("task1");
        let view = with_hosts(&all_up(&plain), &plain, &hosts_but(&plain, &[]));
        assert_eq!(view.alerts, None);
        assert!(serde_json::to_value(&view).unwrap().get("alerts").is_none());
    }

    #[test]
    fn a_watchers_first_view_is_no_news() {
        assert!(!LabView::default().looked());
        assert!(unreachable_view("it", "cannot reach the Docker engine").looked());
        let plan = plan("task1");
        assert!(with_hosts(&LabView::default(), &plan, &[]).looked());
    }

    fn server<'a>(view: &'a LabView, name: &str) -> &'a ServerView {
        view.servers.iter().find(|s| s.server == name).expect(name)
    }

    #[test]
    fn a_host_that_died_shows_stopped_at_once_and_the_rest_as_it_was() {
        let plan = plan("task1");
        let before = all_up(&plan);
        let hosts: Vec<Host> = plan
            .servers
            .iter()
            .map(|s| host(&s.name, s.name != "server-02"))
            .collect();
        let after = with_hosts(&before, &plan, &hosts);
        assert_ne!(after, before);
        assert_eq!(after.down(), ["server-02"]);
        let dead = server(&after, "server-02");
        assert_eq!(dead.state, "stopped");
        assert!(dead.services.iter().all(|s| s.state == "down"));
        assert_eq!(server(&after, "server-01"), server(&before, "server-01"));
        // A stopped replica replicates nothing.
        assert!(after.replication.is_empty());
        assert!(after.up);
        // The same hosts again: nothing new to publish.
        assert_eq!(with_hosts(&after, &plan, &hosts), after);
    }

    #[test]
    fn a_host_started_again_runs_with_its_services_starting() {
        let plan = plan("task1");
        let mut before = all_up(&plan);
        before.servers.iter_mut().for_each(|s| {
            s.state = "stopped".into();
            s.services.iter_mut().for_each(|x| x.state = "down".into());
        });
        let hosts = vec![host("server-01", true)];
        let after = with_hosts(&before, &plan, &hosts);
        let started = server(&after, "server-01");
        assert_eq!(started.state, "running");
        assert!(!started.services.is_empty());
        assert!(started.services.iter().all(|s| s.state == "starting"));
        // The others have no host at all now.
        assert_eq!(server(&after, "server-02").state, "absent");
    }

    #[test]
    fn a_lab_without_hosts_is_down() {
        let plan = plan("task1");
        let after = with_hosts(&all_up(&plan), &plan, &[]);
        assert!(after.reachable);
        assert!(!after.up);
        assert_eq!(after.down().len(), plan.servers.len());
        assert!(after.message.is_some_and(|m| m.contains("down")));
    }

    #[test]
    fn a_stopped_load_balancer_holds_no_address() {
        let plan = plan("task3");
        let mut before = all_up(&plan);
        before.vips = vec![VipView {
            address: "10.103.0.100".into(),
            holders: vec!["lb-01".into()],
        }];
        let hosts: Vec<Host> = plan
            .servers
            .iter()
            .map(|s| host(&s.name, s.name != "lb-01"))
            .collect();
        let after = with_hosts(&before, &plan, &hosts);
        assert_eq!(after.vips.len(), 1);
        assert!(after.vips[0].holders.is_empty());
    }
}
