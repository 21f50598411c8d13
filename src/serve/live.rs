//! Each lab as it stands, live: one watcher per lab that someone's page
//! shows, publishing a [`LabView`] on a `watch` channel whenever it
//! changes; each page reads it as one event stream (SSE). A watcher ends
//! a while after its last page closed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use futures_util::Stream;
use serde::Serialize;
use tokio::sync::watch;

use super::auth::{ClassAccess, LabAccess};
use super::{LabHandle, Portal, PortalError};
use crate::render::supervise::ServiceStatus;

/// A lab as its page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct LabView {
    pub lab: String,
    /// The engine answered (else `message` says why).
    pub reachable: bool,
    /// Some server of the lab exists.
    pub up: bool,
    pub servers: Vec<ServerView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One server: `running`, `unhealthy` (a service down), `stopped`, or
/// `absent`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerView {
    pub server: String,
    pub state: String,
    pub services: Vec<ServiceStatus>,
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
}

/// The watchers, by lab.
#[derive(Default)]
pub struct Hub {
    labs: std::sync::Mutex<HashMap<String, watch::Sender<Arc<LabView>>>>,
}

/// How often a watcher looks again without being told to.
const EVERY: Duration = Duration::from_millis(700);

/// How long a watcher outlives its last page.
const LINGER: Duration = Duration::from_secs(30);

impl Hub {
    /// The lab's view as it changes, its watcher started if none runs.
    pub fn watch(&self, portal: &Portal, lab: &str) -> watch::Receiver<Arc<LabView>> {
        let mut labs = self.labs.lock().expect("hub lock");
        if let Some(tx) = labs.get(lab) {
            return tx.subscribe();
        }
        let (tx, rx) = watch::channel(Arc::new(LabView {
            lab: lab.to_string(),
            ..LabView::default()
        }));
        labs.insert(lab.to_string(), tx.clone());
        tokio::spawn(watcher(portal.clone(), lab.to_string(), tx));
        rx
    }

    /// Tells a lab's watcher to look now (after an action on it).
    pub fn poke(&self, lab: &str) {
        if let Some(tx) = self.labs.lock().expect("hub lock").get(lab) {
            tx.send_modify(|_| {});
        }
    }
}

async fn watcher(portal: Portal, lab: String, tx: watch::Sender<Arc<LabView>>) {
    let mut idle = Duration::ZERO;
    let mut poked = tx.subscribe();
    loop {
        let view = match portal.lab(&lab).await {
            Ok(handle) => look(&handle).await,
            Err(e) => unreachable_view(&lab, &e.headline()),
        };
        if !view.reachable {
            portal.forget(&lab).await;
        }
        tx.send_if_modified(|v| {
            let changed = **v != view;
            if changed {
                *v = Arc::new(view);
            }
            changed
        });
        poked.mark_unchanged();
        let _ = tokio::time::timeout(EVERY, poked.changed()).await;
        if tx.receiver_count() <= 1 {
            idle += EVERY;
            if idle >= LINGER {
                portal.live.labs.lock().expect("hub lock").remove(&lab);
                return;
            }
        } else {
            idle = Duration::ZERO;
        }
    }
}

fn unreachable_view(lab: &str, why: &str) -> LabView {
    LabView {
        lab: lab.to_string(),
        reachable: false,
        up: false,
        servers: vec![],
        message: Some(why.to_string()),
    }
}

/// The lab as it stands now.
pub async fn look(handle: &LabHandle) -> LabView {
    let report = match crate::ops::status::collect(&*handle.driver, &handle.plan).await {
        Ok(r) => r,
        Err(e) => return unreachable_view(&handle.lab, &e.headline()),
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
    LabView {
        lab: handle.lab.clone(),
        reachable: true,
        up: servers.iter().any(|s| s.state != "absent"),
        message: (!servers.iter().any(|s| s.state != "absent"))
            .then(|| "the lab is down: it was taken down, or not brought up yet".to_string()),
        servers,
    }
}

pub fn router() -> Router<Portal> {
    Router::new()
        .route("/lab/{lab}/events", get(lab_events))
        .route("/class/{class}/events", get(class_events))
}

/// The lab's view, each time it changes.
async fn lab_events(access: LabAccess, State(portal): State<Portal>) -> impl IntoResponse {
    let rx = portal.live.watch(&portal, &access.lab);
    let stream = tokio_stream_of(rx).map(|v| {
        Ok::<_, std::convert::Infallible>(
            Event::default()
                .event("lab")
                .json_data(&*v)
                .expect("a view serialises"),
        )
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

use futures_util::StreamExt;

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
        tokio_stream_of(rx).map(move |view| Row {
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
