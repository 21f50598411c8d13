//! What `up` will do, decided without touching anything: from the plan,
//! the hosts that exist and what was applied to them, one decision per
//! server — create, recreate (and why), start, update (which files, which
//! services to reload, restart, enable or disable), leave unchanged, or
//! remove. `apply` carries the decisions out; `up --dry-run` prints them.
//! Pure, so every half-done state an interrupted `up` leaves is unit-tested.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::apply::{all_files, Action, Applied};
use crate::driver::Host;
use crate::plan::{FileSpec, Plan, ServerPlan, When};
use crate::supervise;

/// What will be done to one server, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Decision {
    pub server: String,
    pub action: Action,
    /// Why, in a few words (empty when unchanged).
    pub why: String,
    /// Files to copy (by path).
    pub files: Vec<String>,
    /// Services reloaded or restarted after the copy.
    pub reload: Vec<String>,
    /// Services started or stopped for good.
    pub enable: Vec<String>,
    pub disable: Vec<String>,
}

impl Decision {
    fn new(server: &str, action: Action, why: impl Into<String>) -> Self {
        Decision {
            server: server.to_string(),
            action,
            why: why.into(),
            files: vec![],
            reload: vec![],
            enable: vec![],
            disable: vec![],
        }
    }
}

/// One decision per server of the plan (in its order), then one per host
/// that is no server of it any more.
pub fn decide(plan: &Plan, hosts: &[Host], applied: &BTreeMap<String, Applied>) -> Vec<Decision> {
    let mut out: Vec<Decision> = plan
        .servers
        .iter()
        .map(|s| decide_server(plan, s, hosts.iter().find(|h| h.server == s.name), applied))
        .collect();
    out.extend(
        hosts
            .iter()
            .filter(|h| plan.server(&h.server).is_none())
            .map(|h| Decision::new(&h.server, Action::Removed, "no longer in the stack")),
    );
    out
}

fn decide_server(
    plan: &Plan,
    s: &ServerPlan,
    host: Option<&Host>,
    applied: &BTreeMap<String, Applied>,
) -> Decision {
    let all = || all_files(s).into_iter().map(|f| f.path).collect::<Vec<_>>();
    let Some(h) = host else {
        let mut d = Decision::new(&s.name, Action::Created, "not there yet");
        d.files = all();
        return d;
    };
    let why = if h.structure.as_deref() != Some(s.structure_hash(&plan.image).as_str()) {
        Some("made with another image, networks or capabilities".to_string())
    } else {
        missing_network(h, s).map(|n| format!("not attached to network `{n}`"))
    };
    if let Some(why) = why {
        let mut d = Decision::new(&s.name, Action::Recreated, why);
        d.files = all();
        return d;
    }
    if !h.running {
        // A host no finished `up` recorded was cut off as it was made: its
        // start may even be under way still, the engine carrying out what
        // an `up` stopped meanwhile asked. Made afresh, it is in a known
        // state.
        let (action, why) = if applied.contains_key(&s.name) {
            (Action::Started, "stopped")
        } else {
            (Action::Recreated, "made, but no `up` finished with it")
        };
        let mut d = Decision::new(&s.name, action, why);
        d.files = all();
        return d;
    }
    match applied.get(&s.name) {
        Some(a) if a.hash == s.hash => Decision::new(&s.name, Action::Unchanged, ""),
        before => {
            let before = before.cloned().unwrap_or_default();
            let c = changes(s, &all_files(s), &before);
            let mut d = Decision::new(
                &s.name,
                Action::Updated,
                if before.hash.is_empty() {
                    "running, but its last `up` did not finish"
                } else {
                    "its files or services changed"
                },
            );
            d.files = c.files.iter().map(|f| f.path.clone()).collect();
            d.reload = c.reload;
            d.enable = c.enable;
            d.disable = c.disable;
            d
        }
    }
}

/// The first network of the plan the host is not attached to (when the
/// driver says which it is on).
fn missing_network<'a>(host: &Host, s: &'a ServerPlan) -> Option<&'a str> {
    let have = host.networks.as_ref()?;
    s.networks
        .iter()
        .map(|a| a.network.as_str())
        .find(|n| !have.iter().any(|h| h == n))
}

/// How a running server gets from `before` to its plan.
#[derive(Debug, Default)]
pub struct Changes {
    pub files: Vec<FileSpec>,
    /// Shell run after the copy: steps whose inputs changed, services
    /// disabled, enabled, restarted or reloaded.
    pub script: String,
    pub reload: Vec<String>,
    pub enable: Vec<String>,
    pub disable: Vec<String>,
}

pub fn changes(s: &ServerPlan, files: &[FileSpec], before: &Applied) -> Changes {
    let mut c = Changes {
        files: files
            .iter()
            .filter(|f| before.files.get(&f.path) != Some(&f.sha256))
            .cloned()
            .collect(),
        ..Default::default()
    };
    let changed = |p: &str| c.files.iter().any(|f| f.path == p);
    let mut script = String::new();
    // Steps before start whose inputs changed run again.
    for st in s.setup.iter().filter(|st| st.when == When::BeforeStart) {
        if st.inputs.iter().any(|i| changed(i)) {
            script.push_str(&format!("{}\n", st.run));
        }
    }
    let (mut reload, mut enable, mut disable) = (vec![], vec![], vec![]);
    for old in &before.services {
        if !s.services.iter().any(|x| &x.name == old) {
            script.push_str(&format!("{}\n", supervise::disable(old)));
            disable.push(old.clone());
        }
    }
    for svc in &s.services {
        let run = format!("{}/{}/run", supervise::SV_DIR, svc.name);
        if !before.services.contains(&svc.name) {
            script.push_str(&format!("{}\n", supervise::enable(&svc.name)));
            enable.push(svc.name.clone());
        } else if changed(&run) {
            script.push_str(&format!("{}\n", supervise::restart(&svc.name)));
            reload.push(svc.name.clone());
        } else if svc.watches.iter().any(|w| changed(w)) {
            script.push_str(&format!("{}\n", supervise::reload(svc)));
            reload.push(svc.name.clone());
        }
    }
    c.script = script;
    c.reload = reload;
    c.enable = enable;
    c.disable = disable;
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Secrets;

    fn plan(stack: &str) -> Plan {
        let topo = crate::topology::Topology::load(stack).expect("a shipped stack loads");
        let secrets = Secrets {
            db_app: "a".into(),
            db_replication: "r".into(),
            db_exporter: "e".into(),
            tls: None,
            zone_serial: None,
        };
        crate::render::plan(&topo, &secrets, "infractl/node:test").expect("task1 renders")
    }

    /// A host of `s` as the plan made it, running or not.
    fn host(plan: &Plan, s: &ServerPlan, running: bool) -> Host {
        Host {
            server: s.name.clone(),
            running,
            structure: Some(s.structure_hash(&plan.image)),
            handle: s.name.clone(),
            status: String::new(),
            services: None,
            networks: Some(s.networks.iter().map(|a| a.network.clone()).collect()),
        }
    }

    fn actions(d: &[Decision]) -> Vec<(String, Action)> {
        d.iter()
            .map(|d| (d.server.clone(), d.action.clone()))
            .collect()
    }

    #[test]
    fn nothing_there_creates_every_server_with_all_its_files() {
        let p = plan("task1");
        let d = decide(&p, &[], &BTreeMap::new());
        assert!(d.iter().all(|d| d.action == Action::Created), "{d:?}");
        assert_eq!(d.len(), p.servers.len());
        assert_eq!(d[0].files.len(), all_files(&p.servers[0]).len());
    }

    #[test]
    fn a_lab_as_applied_is_left_alone() {
        let p = plan("task1");
        let hosts: Vec<Host> = p.servers.iter().map(|s| host(&p, s, true)).collect();
        let applied = p
            .servers
            .iter()
            .map(|s| (s.name.clone(), Applied::of(s)))
            .collect();
        let d = decide(&p, &hosts, &applied);
        assert!(d.iter().all(|d| d.action == Action::Unchanged), "{d:?}");
    }

    #[test]
    fn the_states_an_interrupted_up_leaves() {
        let p = plan("task1");
        let (lb, s1, s2) = (&p.servers[1], &p.servers[2], &p.servers[3]);
        // ns: created, never started; lb-01: created but cut off before
        // its second network; server-01: running, never recorded; server-02
        // and client: not made yet.
        let mut cut_off = host(&p, lb, false);
        cut_off.networks = Some(vec!["public".into()]);
        let hosts = vec![host(&p, &p.servers[0], false), cut_off, host(&p, s1, true)];
        let d = decide(&p, &hosts, &BTreeMap::new());
        assert_eq!(
            actions(&d),
            vec![
                ("ns".into(), Action::Recreated),
                ("lb-01".into(), Action::Recreated),
                ("server-01".into(), Action::Updated),
                (s2.name.clone(), Action::Created),
                ("client".into(), Action::Created),
            ]
        );
        assert_eq!(d[0].why, "made, but no `up` finished with it");
        assert_eq!(d[1].why, "not attached to network `private`");
        // The unrecorded running server gets every file and every service.
        assert_eq!(d[2].files.len(), all_files(s1).len());
        assert_eq!(d[2].enable.len(), s1.services.len());
        assert_eq!(d[2].why, "running, but its last `up` did not finish");
    }

    #[test]
    fn a_changed_file_reloads_what_watches_it_and_a_new_image_recreates() {
        let p = plan("task1");
        let lb = &p.servers[1];
        let mut before = Applied::of(lb);
        before.hash = "older".into();
        let cfg = "/etc/haproxy/haproxy.cfg";
        before.files.insert(cfg.into(), "older".into());
        let mut applied = BTreeMap::new();
        applied.insert(lb.name.clone(), before);
        let d = decide(&p, &[host(&p, lb, true)], &applied);
        assert_eq!(d[1].action, Action::Updated);
        assert_eq!(d[1].files, vec![cfg.to_string()]);
        assert_eq!(d[1].reload, vec!["haproxy".to_string()]);

        let mut old = host(&p, lb, true);
        old.structure = Some("another image".into());
        let d = decide(&p, &[old], &applied);
        assert_eq!(d[1].action, Action::Recreated);
    }

    #[test]
    fn a_host_no_longer_in_the_stack_is_removed() {
        let p = plan("task1");
        let mut extra = host(&p, &p.servers[0], true);
        extra.server = "server-03".into();
        let d = decide(&p, &[extra], &BTreeMap::new());
        let last = d.last().expect("decisions");
        assert_eq!(
            (last.server.as_str(), &last.action),
            ("server-03", &Action::Removed)
        );
    }
}
