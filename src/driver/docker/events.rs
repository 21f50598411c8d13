//! The engine's events for one lab (`GET /events`): each change of a
//! server's container (created, started, died, stopped, paused, removed,
//! its health) told as its server, read from the container's
//! `io.infractl.server` label, which the engine hands with each event,
//! and whether it runs after. The engine tells of a death before its
//! list of containers shows it (it lets go of the container's networks
//! first, a second under load): the event is the news.
//! What the lab's own helpers do (they carry no server label) and the
//! commands run in its containers (`exec_*` events) are not told.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::models::{EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::EventsOptions;
use futures_util::StreamExt;

use super::names::{LABEL_LAB, LABEL_SERVER};
use super::DockerDriver;
use crate::driver::{Change, ChangeStream, Events};
use crate::error::Result;

/// The actions of a container that change what its host is.
const ACTIONS: &[&str] = &[
    "create",
    "start",
    "restart",
    "die",
    "stop",
    "pause",
    "unpause",
    "health_status",
    "destroy",
];

/// How far back a new subscription reaches: a change made while it was
/// being set up is told too (the engine keeps its last events).
const OVERLAP: Duration = Duration::from_secs(2);

/// The engine's filter for the changes of lab `lab`'s containers.
pub fn filters(lab: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([
        ("type".to_string(), vec!["container".to_string()]),
        ("label".to_string(), vec![format!("{LABEL_LAB}={lab}")]),
        (
            "event".to_string(),
            ACTIONS.iter().map(|a| a.to_string()).collect(),
        ),
    ])
}

/// The change of a server's host an event tells, if it is a server's
/// container and the event one of [`ACTIONS`] (`health_status: unhealthy`
/// is `health_status`).
pub fn change_of(event: &EventMessage) -> Option<Change> {
    if event.typ != Some(EventMessageTypeEnum::CONTAINER) {
        return None;
    }
    let action = event.action.as_deref()?;
    let action = action.split(':').next().unwrap_or(action).trim();
    if !ACTIONS.contains(&action) {
        return None;
    }
    let server = event
        .actor
        .as_ref()?
        .attributes
        .as_ref()?
        .get(LABEL_SERVER)?
        .clone();
    let running = match action {
        "die" | "stop" | "pause" => Some(false),
        "start" | "restart" | "unpause" => Some(true),
        _ => None,
    };
    Some(Change { server, running })
}

#[async_trait::async_trait]
impl Events for DockerDriver {
    async fn changes(&self) -> Result<ChangeStream> {
        let since = SystemTime::now()
            .checked_sub(OVERLAP)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs().to_string());
        let events = self.docker.events(Some(EventsOptions {
            since,
            until: None,
            filters: Some(filters(&self.lab)),
        }));
        // An error ends the stream: whoever reads it asks again.
        let servers = events
            .take_while(|e| std::future::ready(e.is_ok()))
            .filter_map(|e| std::future::ready(e.ok().as_ref().and_then(change_of)));
        Ok(Box::pin(servers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event as the engine sends it.
    fn event(json: serde_json::Value) -> EventMessage {
        serde_json::from_value(json).expect("an event")
    }

    fn of(typ: &str, action: &str, attributes: serde_json::Value) -> EventMessage {
        event(serde_json::json!({
            "Type": typ,
            "Action": action,
            "Actor": {"ID": "0123abcd", "Attributes": attributes},
            "scope": "local",
            "time": 1_765_000_000,
            "timeNano": 1_765_000_000_000_000_000_i64
        }))
    }

    #[test]
    fn a_servers_container_changing_names_its_server_and_whether_it_runs() {
        let attrs = serde_json::json!({
            "io.infractl.lab": "alice",
            "io.infractl.server": "server-01",
            "name": "alice-server-01",
            "exitCode": "137"
        });
        let told = |action: &str| change_of(&of("container", action, attrs.clone()));
        let change = |running| {
            Some(Change {
                server: "server-01".into(),
                running,
            })
        };
        for action in ["die", "stop", "pause"] {
            assert_eq!(told(action), change(Some(false)), "{action}");
        }
        for action in ["start", "restart", "unpause"] {
            assert_eq!(told(action), change(Some(true)), "{action}");
        }
        for action in ["create", "destroy", "health_status: unhealthy"] {
            assert_eq!(told(action), change(None), "{action}");
        }
    }

    #[test]
    fn commands_helpers_and_other_objects_change_no_server() {
        let server = serde_json::json!({"io.infractl.server": "server-01"});
        // The watcher's own commands in the container.
        for action in [
            "exec_create: sh -c x",
            "exec_start: sh -c x",
            "exec_die",
            "attach",
        ] {
            assert_eq!(change_of(&of("container", action, server.clone())), None);
        }
        // A lab's helper (the stranger, the forwarder): no server label.
        let helper = serde_json::json!({"io.infractl.lab": "alice", "name": "alice-_stranger"});
        assert_eq!(change_of(&of("container", "die", helper)), None);
        // A network's event names no server either.
        assert_eq!(change_of(&of("network", "destroy", server)), None);
        assert_eq!(
            change_of(&event(serde_json::json!({"Type": "container"}))),
            None
        );
    }

    #[test]
    fn the_filter_asks_for_the_labs_containers_only() {
        let f = filters("alice");
        assert_eq!(f["type"], ["container"]);
        assert_eq!(f["label"], ["io.infractl.lab=alice"]);
        assert!(f["event"].iter().any(|e| e == "die"));
        assert!(!f["event"].iter().any(|e| e.starts_with("exec")));
    }
}
