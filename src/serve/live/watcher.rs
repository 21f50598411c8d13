//! A lab's watcher: what it looks at when (see `live`). It follows the
//! engine's changes of the lab and publishes each at once from the hosts
//! alone, what a change says prevailing over the engine's list of hosts
//! until the list shows it; it looks at the services and the probes
//! beside that, on their beats, and lays the hosts as they are now over a
//! look that began before a change. A look the engine does not answer
//! within [`LOOK_BOUND`] shows the lab unreachable, and the engine is
//! opened anew.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use super::{look_services, unreachable_view, with_hosts, LabView};
use crate::driver::{Change, ChangeStream, Host};
use crate::render::plan::Plan;
use crate::serve::{LabHandle, Portal};

/// How often the services are looked at when nothing is told.
const SERVICES_EVERY: Duration = Duration::from_secs(5);

/// How long after a host changed its services are looked at first (then
/// twice as long each time, up to [`SERVICES_EVERY`]).
const SETTLE: Duration = Duration::from_secs(1);

/// How often the lab's probes run.
const PROBES_EVERY: Duration = Duration::from_secs(3);

/// How long a change told by the engine prevails over its list of hosts
/// that does not show it yet (it lets go of a dead container's networks
/// first, a second or two under load).
const TOLD_FOR: Duration = Duration::from_secs(10);

/// How long a look at the lab may take before its engine is taken for one
/// that stopped answering. A look is a command in each server and the
/// probes' (each bounded by 5 s): seconds, even on a busy engine. An
/// engine that stops answering without closing its connections (its
/// machine frozen or cut off) would otherwise hold the look, and the page
/// showing the lab as it was, for the driver's own bound on a request
/// (ten minutes).
const LOOK_BOUND: Duration = Duration::from_secs(15);

/// How a look that outlived [`LOOK_BOUND`] is told.
fn silent() -> String {
    format!("it has not answered for {} s", LOOK_BOUND.as_secs())
}

/// How long a watcher outlives its last page.
const LINGER: Duration = Duration::from_secs(30);

/// When a watcher is due to look next: at the services' beat, or the
/// probes' where the lab has any (a lab with nothing to probe has no
/// probes' beat to wake for: its time, never moved on, would wake the
/// watcher at once, again and again).
fn next_due(services_at: Instant, probes_at: Option<Instant>) -> Instant {
    probes_at.map_or(services_at, |p| p.min(services_at))
}

/// What woke a watcher up.
enum Woken {
    Poked,
    /// A server's host changed; the stream of changes still runs.
    Changed(Change),
    /// The stream of changes ended.
    Deaf,
    /// A look at the services or the probes finished.
    Looked(LabView),
    Due,
}

/// A look at the services and probes under way.
type Looking = std::pin::Pin<Box<dyn std::future::Future<Output = LabView> + Send>>;

/// One lab's watcher: what it looks at when. A look at the services runs
/// beside the engine's changes, so that a change is published at once
/// even while every server is being asked for its services; a look that
/// began before a change has the hosts as they are now laid over it.
pub(super) struct Watcher {
    portal: Portal,
    lab: String,
    tx: watch::Sender<Arc<LabView>>,
    poke: Arc<Notify>,
    /// The engine's changes of the lab, while it tells them.
    changes: Option<ChangeStream>,
    /// When to ask for them again, once they ended.
    subscribe_at: Instant,
    services_at: Instant,
    /// The services' beat now: [`SETTLE`] after a change, up to
    /// [`SERVICES_EVERY`].
    beat: Duration,
    probes_at: Instant,
    /// The look under way, and the hosts as the last change had them
    /// (`None`: no change since it began).
    looking: Option<Looking>,
    hosts_since: Option<Vec<Host>>,
    /// Whether each host runs, as the engine's changes told it and its
    /// list of hosts does not show yet, and since when (see [`TOLD_FOR`]).
    told: HashMap<String, (bool, Instant)>,
    /// When a page last watched.
    watched: Instant,
}

impl Watcher {
    pub(super) fn new(
        portal: Portal,
        lab: &str,
        tx: watch::Sender<Arc<LabView>>,
        poke: Arc<Notify>,
    ) -> Watcher {
        let now = Instant::now();
        Watcher {
            portal,
            lab: lab.to_string(),
            tx,
            poke,
            changes: None,
            subscribe_at: now,
            services_at: now,
            beat: SERVICES_EVERY,
            probes_at: now,
            looking: None,
            hosts_since: None,
            told: HashMap::new(),
            watched: now,
        }
    }

    pub(super) async fn run(mut self) {
        loop {
            match self.portal.lab(&self.lab).await {
                Ok(handle) => {
                    self.subscribe(&handle).await;
                    self.start_look(&handle);
                    self.wait(&handle).await;
                }
                Err(e) => {
                    self.publish(unreachable_view(&self.lab, &e.headline()))
                        .await;
                    let retry = tokio::time::sleep(SERVICES_EVERY);
                    tokio::select! {
                        () = self.poke.notified() => {}
                        () = retry => {}
                    }
                }
            }
            if self.ended() {
                return;
            }
        }
    }

    /// Whether no page has watched for [`LINGER`] (the watcher ends then).
    fn ended(&mut self) -> bool {
        if self.tx.receiver_count() > 0 {
            self.watched = Instant::now();
            return false;
        }
        self.watched.elapsed() >= LINGER
            && self
                .portal
                .live
                .end_if_unwatched(&self.lab, &self.tx, &self.poke)
    }

    /// Asks for the engine's changes, where the driver tells them, unless
    /// they are told already or were asked for a moment ago.
    async fn subscribe(&mut self, handle: &LabHandle) {
        let now = Instant::now();
        if self.changes.is_some() || now < self.subscribe_at {
            return;
        }
        self.subscribe_at = now + SERVICES_EVERY;
        if let Some(events) = handle.driver.events() {
            self.changes = events.changes().await.ok();
            // What changed while nobody was told is looked at now.
            self.services_at = now;
        }
    }

    /// Begins a look at the services, the probes, or both, where due and
    /// none is under way.
    fn start_look(&mut self, handle: &Arc<LabHandle>) {
        let now = Instant::now();
        let services = now >= self.services_at;
        let probes = now >= self.probes_at && crate::serve::probes::any(&handle.topo);
        if self.looking.is_some() || !(services || probes) {
            return;
        }
        if services {
            self.services_at = now + self.beat;
            self.beat = (self.beat * 2).min(SERVICES_EVERY);
        }
        if probes {
            self.probes_at = now + PROBES_EVERY;
        }
        self.hosts_since = None;
        let current = self.tx.borrow().clone();
        let look = look_again(handle.clone(), current, services, probes);
        let lab = self.lab.clone();
        self.looking = Some(Box::pin(async move {
            tokio::time::timeout(LOOK_BOUND, look)
                .await
                .unwrap_or_else(|_| unreachable_view(&lab, &silent()))
        }));
    }

    /// Waits for a poke, a change, the look under way, or what is due
    /// next; a change is published at once from the hosts alone.
    async fn wait(&mut self, handle: &LabHandle) {
        let probes = crate::serve::probes::any(&handle.topo);
        let until = next_due(self.services_at, probes.then_some(self.probes_at));
        let idle = self.looking.is_none();
        let woken = {
            let change = async {
                match self.changes.as_mut() {
                    Some(changes) => changes.next().await,
                    None => std::future::pending().await,
                }
            };
            let looked = async {
                match self.looking.as_mut() {
                    Some(look) => look.await,
                    None => std::future::pending().await,
                }
            };
            let due = async {
                if idle {
                    tokio::time::sleep_until(until).await;
                } else {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                () = self.poke.notified() => Woken::Poked,
                changed = change => changed.map_or(Woken::Deaf, Woken::Changed),
                view = looked => Woken::Looked(view),
                () = due => Woken::Due,
            }
        };
        let now = Instant::now();
        match woken {
            Woken::Poked => (self.services_at, self.probes_at) = (now, now),
            Woken::Deaf => {
                self.changes = None;
                self.subscribe_at = now + SERVICES_EVERY;
            }
            Woken::Changed(change) => {
                self.tell(change, now);
                self.drain(now);
                self.hosts_changed(handle).await;
                self.beat = SETTLE;
                self.services_at = self.services_at.min(now + SETTLE);
            }
            Woken::Looked(view) => {
                self.looking = None;
                let mut view = match self.hosts_since.take() {
                    Some(hosts) if view.reachable => with_hosts(&view, &handle.plan, &hosts),
                    _ => view,
                };
                if view.reachable {
                    view = self.told_over_view(view, &handle.plan);
                }
                self.publish(view).await;
            }
            Woken::Due => {}
        }
    }

    /// Notes what a change says of its host (the engine's list may not
    /// show it yet).
    fn tell(&mut self, change: Change, now: Instant) {
        match change.running {
            Some(running) => self.told.insert(change.server, (running, now)),
            None => self.told.remove(&change.server),
        };
    }

    /// Takes the changes told already: one look covers them all.
    fn drain(&mut self, now: Instant) {
        while let Some(changes) = self.changes.as_mut() {
            match changes.next().now_or_never() {
                Some(Some(change)) => self.tell(change, now),
                Some(None) => self.changes = None,
                None => break,
            }
        }
    }

    /// Publishes the hosts as they stand now, the rest as it was.
    async fn hosts_changed(&mut self, handle: &LabHandle) {
        let hosts = tokio::time::timeout(LOOK_BOUND, handle.driver.hosts()).await;
        let view = match hosts.map_err(|_| silent()) {
            Ok(Ok(mut hosts)) => {
                told_over(&mut self.told, &mut hosts);
                let current = self.tx.borrow().clone();
                let view = with_hosts(&current, &handle.plan, &hosts);
                if self.looking.is_some() {
                    self.hosts_since = Some(hosts);
                }
                view
            }
            Ok(Err(e)) => unreachable_view(&self.lab, &e.headline()),
            Err(why) => unreachable_view(&self.lab, &why),
        };
        self.publish(view).await;
    }

    /// `view` with the hosts as the engine's changes told them, where its
    /// list did not show it yet.
    fn told_over_view(&mut self, view: LabView, plan: &Plan) -> LabView {
        let mut hosts: Vec<Host> = view
            .servers
            .iter()
            .filter(|s| s.state != "absent")
            .map(|s| Host {
                server: s.server.clone(),
                running: s.runs(),
                structure: None,
                handle: String::new(),
                status: String::new(),
                networks: None,
                services: None,
                kept: None,
            })
            .collect();
        if !told_over(&mut self.told, &mut hosts) {
            return view;
        }
        with_hosts(&view, plan, &hosts)
    }

    /// Publishes `view` if it differs from the last one; an engine that
    /// does not answer is opened anew next time.
    async fn publish(&mut self, view: LabView) {
        if !view.reachable {
            self.portal.forget(&self.lab).await;
            self.changes = None;
            self.looking = None;
        }
        self.tx.send_if_modified(|v| {
            let changed = **v != view;
            if changed {
                *v = Arc::new(view);
            }
            changed
        });
    }
}

/// The lab looked at again: its services (else as `current` has them),
/// then what its probes find (else what `current` has of them).
async fn look_again(
    handle: Arc<LabHandle>,
    current: Arc<LabView>,
    services: bool,
    probes: bool,
) -> LabView {
    let mut view = if services {
        look_services(&handle, &current).await
    } else {
        (*current).clone()
    };
    if probes && view.up {
        let running = view.running();
        let probed = crate::serve::probes::probe(&*handle.driver, &handle.topo, &running).await;
        view.set_probed(probed);
    }
    view
}

/// Lays over `hosts` what the engine's changes told of them (`told`) and
/// its list does not show yet; forgets what it shows now, and what was
/// told too long ago. Whether anything was laid over.
fn told_over(told: &mut HashMap<String, (bool, Instant)>, hosts: &mut [Host]) -> bool {
    told.retain(|server, (running, at)| {
        at.elapsed() < TOLD_FOR
            && hosts
                .iter()
                .any(|h| h.server == *server && h.running != *running)
    });
    for h in hosts.iter_mut() {
        if let Some((running, _)) = told.get(&h.server) {
            h.running = *running;
        }
    }
    !told.is_empty()
}

#[cfg(test)]
mod tests {
    use super::super::tests::host;
    use super::*;

    #[test]
    fn a_lab_with_nothing_to_probe_wakes_at_its_services_beat_only() {
        let now = Instant::now();
        let services = now + SERVICES_EVERY;
        // The probes' time of a lab without probes is never moved on.
        let stale = now - Duration::from_secs(60);
        assert_eq!(next_due(services, None), services);
        assert_eq!(next_due(services, Some(stale)), stale);
        let probes = now + PROBES_EVERY;
        assert_eq!(next_due(services, Some(probes)), probes.min(services));
    }

    #[test]
    fn a_death_told_prevails_until_the_list_shows_it() {
        let now = Instant::now();
        let mut told = HashMap::from([("server-01".to_string(), (false, now))]);
        // The engine still lists it running: the death told wins.
        let mut hosts = vec![host("server-01", true), host("server-02", true)];
        assert!(told_over(&mut told, &mut hosts));
        assert!(!hosts[0].running);
        assert!(hosts[1].running);
        // Once the list shows it, what was told is forgotten.
        let mut hosts = vec![host("server-01", false), host("server-02", true)];
        assert!(!told_over(&mut told, &mut hosts));
        assert!(told.is_empty());
        // What was told long ago gives way to the list.
        let long_ago = now.checked_sub(TOLD_FOR).expect("an instant that long ago");
        let mut told = HashMap::from([("server-01".to_string(), (false, long_ago))]);
        let mut hosts = vec![host("server-01", true)];
        assert!(!told_over(&mut told, &mut hosts));
        assert!(hosts[0].running);
    }
}
