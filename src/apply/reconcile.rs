//! What `up` will do, decided without touching anything: from the plan,
//! the hosts that exist and what was applied to them, one decision per
//! server — create, recreate (and why), start, update (which files, which
//! services to reload, restart, enable or disable), leave unchanged, or
//! remove. `apply` carries the decisions out; `up --dry-run` prints them.
//! With each server made again or removed goes what becomes of the data it
//! keeps apart from itself (its database, a volume of the lab): kept, or
//! not, and why not (a primary made a replica starts from a copy of its
//! primary; a server that keeps no database any more drops it), so that
//! `up` says so before it acts. Pure, so every half-done state an
//! interrupted `up` leaves is unit-tested.
//!
//! The words both sides share live here, ahead of the executor: what was
//! applied to a server ([`Applied`], recorded by `apply`), what is done to
//! it ([`Action`]) and every file it gets ([`all_files`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::driver::{Host, Kept};
use crate::render::plan::{FileSpec, Keep, Plan, ServerPlan, When};
use crate::render::supervise;

/// What was applied to one server.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Applied {
    pub hash: String,
    /// sha256 of every file put there, plan and supervisor files alike.
    pub files: BTreeMap<String, String>,
    pub services: Vec<String>,
}

impl Applied {
    /// What applying `s` in full leaves on its host.
    pub fn of(s: &ServerPlan) -> Applied {
        Applied {
            hash: s.hash.clone(),
            files: all_files(s)
                .into_iter()
                .map(|f| (f.path, f.sha256))
                .collect(),
            services: s.services.iter().map(|x| x.name.clone()).collect(),
        }
    }
}

/// What `apply` did to a server.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Created,
    Recreated,
    Started,
    Updated,
    Unchanged,
    Removed,
}

impl Action {
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Recreated => "recreated",
            Action::Started => "started",
            Action::Updated => "updated",
            Action::Unchanged => "unchanged",
            Action::Removed => "removed",
        }
    }
}

/// Every file a server gets: the plan's and the supervisor's.
pub fn all_files(server: &ServerPlan) -> Vec<FileSpec> {
    let mut files = server.files.clone();
    files.extend(supervise::files(server));
    files
}

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
    /// What becomes of the data the server keeps, when it is made (again)
    /// or removed, or when some of it is dropped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<Data>,
    /// The server whose databases are loaded into this one's, which
    /// starts afresh (a stage that moves the database): dumped before
    /// anything changes, loaded once the lab is up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fill_from: Option<String>,
}

/// What becomes of one directory a server keeps (see `plan::Keep`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Data {
    pub path: String,
    /// What it holds, for people (`database`).
    pub what: String,
    pub fate: Fate,
    /// Why it is not kept (empty when it is, or is new).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub why: String,
    /// What is there now, if anything: removed before the server is made
    /// (again) when it is dropped.
    #[serde(skip)]
    pub there: Option<Kept>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Fate {
    /// What was there is there again.
    Kept,
    /// There was none: it starts as the image has it.
    New,
    /// What was there is lost: it starts afresh.
    Dropped,
    /// Moved through a dump: from this server to another (or back into
    /// itself), or into this one from another.
    Moved,
}

impl Data {
    fn new(path: &str, what: &str, fate: Fate, why: impl Into<String>) -> Self {
        Data {
            path: path.to_string(),
            what: what.to_string(),
            fate,
            why: why.into(),
            there: None,
        }
    }

    /// `database (/var/lib/mysql) kept`, or not kept and why.
    pub fn describe(&self) -> String {
        let what = format!("{} ({})", self.what, self.path);
        match self.fate {
            Fate::Kept => format!("{what} kept"),
            Fate::New => format!("{what} new"),
            // A copy of another server's data loses nothing: said so.
            Fate::Dropped => match self.there.as_ref().filter(|k| Keep::is_copy(&k.holds)) {
                Some(k) => format!("{what}, {}, dropped: {}", k.holds, self.why),
                None => format!("{what} NOT kept: {}", self.why),
            },
            Fate::Moved => format!("{what} {}", self.why),
        }
    }
}

/// `server-01: recreated (why); database (/var/lib/mysql) kept`: what
/// `up` says of a server made again or removed, or whose data is dropped;
/// None for the others.
pub fn notice(server: &str, action: &Action, why: &str, data: &[Data]) -> Option<String> {
    let data: Vec<String> = data
        .iter()
        .filter(|d| d.fate != Fate::New)
        .map(Data::describe)
        .collect();
    if *action != Action::Recreated && data.is_empty() {
        return None;
    }
    let mut line = format!("{server}: {} ({why})", action.as_str());
    if !data.is_empty() {
        line.push_str(&format!("; {}", data.join("; ")));
    }
    Some(line)
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
            data: vec![],
            fill_from: None,
        }
    }

    /// What `up` says before it acts on this server: that it is made
    /// again or removed, why, and what becomes of its data; or that data
    /// of a server left as it is is dropped. None when there is nothing
    /// worth a word (a new server, a change of files).
    pub fn notice(&self) -> Option<String> {
        notice(&self.server, &self.action, &self.why, &self.data)
    }

    /// Whether some data of the server is lost.
    pub fn drops_data(&self) -> bool {
        self.data.iter().any(|d| d.fate == Fate::Dropped)
    }

    /// The kept data to remove before the server is made (again): what
    /// is dropped, and what moves away (dumped first).
    pub fn to_drop(&self) -> Vec<Kept> {
        self.data
            .iter()
            .filter(|d| matches!(d.fate, Fate::Dropped | Fate::Moved))
            .filter_map(|d| d.there.clone())
            .collect()
    }
}

/// The databases `decisions` lose for good, each with its server:
/// dropped, not a copy of another server's, and not moved (one server of
/// those holding it moves it: a Galera cluster's nodes hold the same).
/// `up` asks before it loses any (`--discard-data`). A metrics history
/// dropped is said, not asked: the lab writes it again.
pub fn losses(decisions: &[Decision]) -> Vec<(&str, &Data)> {
    let moved = |x: &Data| {
        decisions.iter().flat_map(|d| &d.data).any(|m| {
            m.fate == Fate::Moved
                && m.path == x.path
                && m.there.as_ref().map(|k| &k.holds) == x.there.as_ref().map(|k| &k.holds)
        })
    };
    decisions
        .iter()
        .flat_map(|d| d.data.iter().map(move |x| (d.server.as_str(), x)))
        .filter(|(_, x)| x.fate == Fate::Dropped && x.what == Keep::DATABASE)
        .filter(|(_, x)| !x.there.as_ref().is_some_and(|k| Keep::is_copy(&k.holds)))
        .filter(|(_, x)| x.there.is_none() || !moved(x))
        .collect()
}

/// One decision per server of the plan (in its order), then one per host
/// (or data kept) of a server that is no server of it any more. `kept`:
/// the data the lab's hosts keep apart from themselves.
pub fn decide(
    plan: &Plan,
    hosts: &[Host],
    kept: &[Kept],
    applied: &BTreeMap<String, Applied>,
) -> Vec<Decision> {
    let mut out: Vec<Decision> = plan
        .servers
        .iter()
        .map(|s| {
            let host = hosts.iter().find(|h| h.server == s.name);
            let mut d = decide_server(plan, s, host, applied);
            if host.is_none_or(|h| h.kept.is_some()) {
                data_of(s, host, kept, &mut d);
            }
            d
        })
        .collect();
    follow_primaries(plan, &mut out);
    let mut gone: Vec<&str> = hosts
        .iter()
        .map(|h| h.server.as_str())
        .chain(kept.iter().map(|k| k.server.as_str()))
        .filter(|n| plan.server(n).is_none())
        .collect();
    gone.dedup();
    let mut seen = std::collections::BTreeSet::new();
    for g in gone.into_iter().filter(|g| seen.insert(*g)) {
        let mut d = Decision::new(g, Action::Removed, "no longer in the stack");
        d.data = kept
            .iter()
            .filter(|k| k.server == g)
            .map(|k| dropped(k, format!("{g} is no longer in the stack")))
            .collect();
        out.push(d);
    }
    plan_moves(plan, &mut out);
    for d in &mut out {
        // A server left as it is keeps what it has: only what it drops
        // or moves is worth a word. A new one's new data is none.
        match d.action {
            Action::Recreated | Action::Removed => {}
            Action::Created => d.data.retain(|x| x.fate != Fate::New),
            _ => d
                .data
                .retain(|x| matches!(x.fate, Fate::Dropped | Fate::Moved)),
        }
    }
    out
}

/// A stage that moves the database: where a server's own database is dropped
/// (its server gone, or made to hold another's) and a server of the plan
/// that holds its own (a primary, a Galera node) starts afresh, the
/// first such server is filled from it, through a dump taken before
/// anything changes. A primary's writes are taken before a Galera node's
/// copy; each kind of data (its path) moves once.
fn plan_moves(plan: &Plan, out: &mut [Decision]) {
    let own_dropped = |x: &Data| {
        x.fate == Fate::Dropped
            && x.what == Keep::DATABASE
            && x.there.as_ref().is_some_and(|k| !Keep::is_copy(&k.holds))
    };
    let paths: std::collections::BTreeSet<String> = out
        .iter()
        .flat_map(|d| &d.data)
        .filter(|x| own_dropped(x))
        .map(|x| x.path.clone())
        .collect();
    for path in paths {
        // The server to fill: the first of the plan holding its own data
        // there, starting afresh.
        let target = plan.servers.iter().find_map(|s| {
            let keep = s.keep(&path).filter(|k| k.follows.is_none())?;
            let i = out.iter().position(|d| d.server == s.name)?;
            let afresh = match out[i].data.iter().find(|x| x.path == path) {
                Some(x) => matches!(x.fate, Fate::New | Fate::Dropped),
                None => false,
            };
            afresh.then(|| (i, keep.holds.clone()))
        });
        let Some((target, holds)) = target else {
            continue;
        };
        let source = |primary: bool| {
            out.iter().enumerate().find_map(|(i, d)| {
                let j = d.data.iter().position(|x| {
                    x.path == path
                        && own_dropped(x)
                        && (!primary
                            || x.there
                                .as_ref()
                                .is_some_and(|k| k.holds == Keep::PRIMARY_WRITES))
                })?;
                Some((i, j))
            })
        };
        let Some((from, j)) = source(true).or_else(|| source(false)) else {
            continue;
        };
        let from_name = out[from].server.clone();
        let to_name = out[target].server.clone();
        let x = &mut out[from].data[j];
        x.fate = Fate::Moved;
        x.why = if from == target {
            format!("dumped and loaded back: it now holds {holds}")
        } else {
            format!("moved to {to_name}")
        };
        if from != target {
            if let Some(x) = out[target].data.iter_mut().find(|x| x.path == path) {
                x.fate = Fate::Moved;
                x.why = format!("filled from {from_name}'s");
            }
        }
        out[target].fill_from = Some(from_name);
    }
}

/// `k` dropped, and why.
fn dropped(k: &Kept, why: String) -> Data {
    let mut d = Data::new(&k.path, &k.what, Fate::Dropped, why);
    d.there = Some(k.clone());
    d
}

/// What becomes of the data `s` keeps, and of what its host keeps that it
/// does not any more; a host that keeps other directories apart from it
/// than the plan's, or data that is dropped, is made again.
fn data_of(s: &ServerPlan, host: Option<&Host>, kept: &[Kept], d: &mut Decision) {
    let mine: Vec<&Kept> = kept.iter().filter(|k| k.server == s.name).collect();
    let mounted: Option<&[String]> = host.and_then(|h| h.kept.as_deref());
    let mut remake: Option<String> = None;
    for keep in &s.keeps {
        let there = mine.iter().find(|k| k.path == keep.path);
        let data = match there {
            Some(k) if k.holds == keep.holds => {
                let mut d = Data::new(&keep.path, &keep.what, Fate::Kept, "");
                d.there = Some((*k).clone());
                d
            }
            Some(k) => {
                let why = format!("it holds {}, and is now to hold {}", k.holds, keep.holds);
                remake.get_or_insert(format!("its {} starts afresh", keep.what));
                dropped(k, why)
            }
            None if host.is_some() => {
                // Kept in the host itself until now (made by an earlier
                // infractl, or the server did not keep it): gone with it.
                let why = "it was not kept apart from the server until now";
                Data::new(&keep.path, &keep.what, Fate::Dropped, why)
            }
            None => Data::new(&keep.path, &keep.what, Fate::New, ""),
        };
        if mounted.is_some_and(|m| !m.contains(&keep.path)) {
            remake.get_or_insert(format!("its {} is to be kept apart from it", keep.what));
        }
        d.data.push(data);
    }
    for k in mine.iter().filter(|k| s.keep(&k.path).is_none()) {
        d.data.push(dropped(
            k,
            format!("{} keeps no {} any more", s.name, k.what),
        ));
        if mounted.is_some_and(|m| m.contains(&k.path)) {
            remake.get_or_insert(format!("it keeps no {} any more", k.what));
        }
    }
    if let Some(why) = remake {
        remake_as(s, d, why);
    }
}

/// Makes `d` a recreation of `s` (unless it is one, or a creation).
fn remake_as(s: &ServerPlan, d: &mut Decision, why: String) {
    if matches!(d.action, Action::Created | Action::Recreated) {
        return;
    }
    d.action = Action::Recreated;
    d.why = why;
    d.files = all_files(s).into_iter().map(|f| f.path).collect();
    d.reload.clear();
    d.enable.clear();
    d.disable.clear();
}

/// A copy (a replica's data) is kept only while what it copies is: when a
/// primary's database starts afresh, its replica's copy, ahead of it, is
/// dropped too, and the replica copies the new primary from the start.
fn follow_primaries(plan: &Plan, out: &mut [Decision]) {
    // A copy of a copy follows in a later round.
    for _ in 0..plan.servers.len() {
        let mut changed = false;
        for i in 0..out.len() {
            let Some(s) = plan.server(&out[i].server) else {
                continue;
            };
            for Keep { path, follows, .. } in &s.keeps {
                let Some(primary) = follows else { continue };
                let afresh = out.iter().any(|p| {
                    p.server == *primary
                        && p.data
                            .iter()
                            .any(|x| x.path == *path && x.fate != Fate::Kept)
                });
                let d = &mut out[i];
                let Some(mine) = d
                    .data
                    .iter_mut()
                    .find(|x| x.path == *path && x.fate == Fate::Kept)
                else {
                    continue;
                };
                if !afresh {
                    continue;
                }
                mine.fate = Fate::Dropped;
                mine.why = format!(
                    "the {} of {primary} starts afresh, and this copy with it",
                    mine.what
                );
                let why = format!("its {} starts afresh", mine.what);
                remake_as(s, d, why);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
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
    use crate::lab::state::Secrets;

    fn plan(stack: &str) -> Plan {
        let topo = crate::topology::Topology::load(stack).expect("a shipped stack loads");
        let secrets = Secrets {
            db_app: "a".into(),
            db_replication: "r".into(),
            db_exporter: "e".into(),
            tls: Some(crate::lab::state::TlsMaterial {
                ca_cert: "ca".into(),
                cert: "cert".into(),
                key: "key".into(),
            }),
            zone_serial: None,
        };
        crate::render::plan(&topo, &secrets, "infractl/node:test").expect("it renders")
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
            kept: Some(s.keeps.iter().map(|k| k.path.clone()).collect()),
        }
    }

    /// The data `s` keeps, as the plan makes it.
    fn kept(s: &ServerPlan) -> Vec<Kept> {
        s.keeps
            .iter()
            .map(|k| Kept {
                server: s.name.clone(),
                path: k.path.clone(),
                what: k.what.clone(),
                holds: k.holds.clone(),
                handle: format!("{}-{}", s.name, k.name),
            })
            .collect()
    }

    /// Every server of `p` running as applied, with its data.
    fn as_applied(p: &Plan) -> (Vec<Host>, Vec<Kept>, BTreeMap<String, Applied>) {
        let hosts = p.servers.iter().map(|s| host(p, s, true)).collect();
        let data = p.servers.iter().flat_map(kept).collect();
        let applied = p
            .servers
            .iter()
            .map(|s| (s.name.clone(), Applied::of(s)))
            .collect();
        (hosts, data, applied)
    }

    fn decision<'a>(d: &'a [Decision], server: &str) -> &'a Decision {
        d.iter().find(|d| d.server == server).expect("decided")
    }

    fn actions(d: &[Decision]) -> Vec<(String, Action)> {
        d.iter()
            .map(|d| (d.server.clone(), d.action.clone()))
            .collect()
    }

    #[test]
    fn nothing_there_creates_every_server_with_all_its_files() {
        let p = plan("task1");
        let d = decide(&p, &[], &[], &BTreeMap::new());
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
        let d = decide(&p, &hosts, &[], &applied);
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
        let d = decide(&p, &hosts, &[], &BTreeMap::new());
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
        let d = decide(&p, &[host(&p, lb, true)], &[], &applied);
        assert_eq!(d[1].action, Action::Updated);
        assert_eq!(d[1].files, vec![cfg.to_string()]);
        assert_eq!(d[1].reload, vec!["haproxy".to_string()]);

        let mut old = host(&p, lb, true);
        old.structure = Some("another image".into());
        let d = decide(&p, &[old], &[], &applied);
        assert_eq!(d[1].action, Action::Recreated);
    }

    #[test]
    fn a_host_no_longer_in_the_stack_is_removed() {
        let p = plan("task1");
        let mut extra = host(&p, &p.servers[0], true);
        extra.server = "server-03".into();
        let d = decide(&p, &[extra], &[], &BTreeMap::new());
        let last = d.last().expect("decisions");
        assert_eq!(
            (last.server.as_str(), &last.action),
            ("server-03", &Action::Removed)
        );
    }

    #[test]
    fn the_databases_and_the_metrics_history_are_kept() {
        let keeps = |stack: &str| -> Vec<(String, String)> {
            plan(stack)
                .servers
                .iter()
                .flat_map(|s| s.keeps.iter().map(|k| (s.name.clone(), k.path.clone())))
                .collect()
        };
        let db = |s: &str| (s.to_string(), "/var/lib/mysql".to_string());
        assert_eq!(keeps("task1"), vec![db("server-01"), db("server-02")]);
        assert!(keeps("task2").contains(&("admin".into(), "/var/lib/prometheus".into())));
        let p = plan("task1");
        let replica = p
            .server("server-02")
            .expect("server-02")
            .keep("/var/lib/mysql");
        assert_eq!(
            replica.and_then(|k| k.follows.as_deref()),
            Some("server-01")
        );
    }

    #[test]
    fn a_server_made_again_keeps_its_database_and_says_so() {
        let p = plan("task1");
        let (mut hosts, data, applied) = as_applied(&p);
        for h in &mut hosts {
            h.structure = Some("another image".into());
        }
        let d = decide(&p, &hosts, &data, &applied);
        assert!(d.iter().all(|d| d.action == Action::Recreated), "{d:?}");
        let primary = decision(&d, "server-01");
        assert_eq!(primary.data.len(), 1);
        assert_eq!(primary.data[0].fate, Fate::Kept);
        assert!(primary.to_drop().is_empty());
        assert_eq!(
            primary.notice().as_deref(),
            Some("server-01: recreated (made with another image, networks or capabilities); database (/var/lib/mysql) kept")
        );
        // Servers that keep nothing are still named, with why.
        assert_eq!(
            decision(&d, "ns").notice().as_deref(),
            Some("ns: recreated (made with another image, networks or capabilities)")
        );
    }

    #[test]
    fn a_lab_as_applied_with_its_data_is_left_alone() {
        let p = plan("task1");
        let (hosts, data, applied) = as_applied(&p);
        let d = decide(&p, &hosts, &data, &applied);
        assert!(d.iter().all(|d| d.action == Action::Unchanged), "{d:?}");
        assert!(d.iter().all(|d| d.data.is_empty() && d.notice().is_none()));
    }

    #[test]
    fn a_half_made_server_found_again_keeps_its_data() {
        // A resumed `up`: server-01's container gone (or made but never
        // finished), its volume there.
        let p = plan("task1");
        let (hosts, data, _) = as_applied(&p);
        let hosts: Vec<Host> = hosts
            .into_iter()
            .filter(|h| h.server != "server-01")
            .collect();
        let d = decide(&p, &hosts, &data, &BTreeMap::new());
        let s1 = decision(&d, "server-01");
        assert_eq!(s1.action, Action::Created);
        assert_eq!(s1.data[0].fate, Fate::Kept);
        assert_eq!(decision(&d, "server-02").data, vec![]);
    }

    #[test]
    fn a_primary_made_a_replica_starts_afresh_and_says_so() {
        let p = plan("task1");
        let (hosts, mut data, applied) = as_applied(&p);
        // server-02 was the primary; now it is server-01's replica.
        for k in &mut data {
            if k.server == "server-02" {
                k.holds = "the primary's own writes".into();
            }
        }
        let d = decide(&p, &hosts, &data, &applied);
        let s2 = decision(&d, "server-02");
        assert_eq!(s2.action, Action::Recreated);
        assert_eq!(s2.why, "its database starts afresh");
        assert_eq!(s2.data[0].fate, Fate::Dropped);
        assert_eq!(
            s2.data[0].why,
            "it holds the primary's own writes, and is now to hold a copy of server-01"
        );
        assert_eq!(s2.to_drop().len(), 1);
        assert!(s2.notice().expect("said").contains("NOT kept"));
        assert_eq!(decision(&d, "server-01").action, Action::Unchanged);
    }

    /// The lab of `from` as applied, decided against `to`'s plan.
    fn grown(from: &str, to: &str) -> Vec<Decision> {
        let (hosts, data, applied) = as_applied(&plan(from));
        decide(&plan(to), &hosts, &data, &applied)
    }

    fn data_of<'a>(d: &'a [Decision], server: &str) -> &'a Data {
        &decision(d, server).data[0]
    }

    #[test]
    fn a_stage_that_moves_the_database_fills_the_new_primary_from_the_old() {
        let d = grown("task2", "task3");
        let db1 = decision(&d, "db-01");
        assert_eq!(
            (db1.action.clone(), db1.fill_from.as_deref()),
            (Action::Created, Some("server-01"))
        );
        assert_eq!(
            data_of(&d, "db-01").describe(),
            "database (/var/lib/mysql) filled from server-01's"
        );
        let s1 = decision(&d, "server-01");
        assert_eq!(s1.action, Action::Removed);
        assert_eq!(
            s1.notice().expect("said"),
            "server-01: removed (no longer in the stack); database (/var/lib/mysql) moved to db-01"
        );
        // Its volume goes once dumped; the replica's copy is no loss.
        assert_eq!(s1.to_drop().len(), 1);
        assert_eq!(data_of(&d, "server-02").fate, Fate::Dropped);
        assert_eq!(
            data_of(&d, "server-02").describe(),
            "database (/var/lib/mysql), a copy of server-01, dropped: server-02 is no longer in the stack"
        );
        assert_eq!(decision(&d, "db-02").fill_from, None);
        assert!(losses(&d).is_empty(), "{:?}", losses(&d));
        // The metrics history, watching other servers now, starts afresh.
        let admin = decision(&d, "admin");
        assert_eq!(admin.fill_from, None);
        assert_eq!(data_of(&d, "admin").fate, Fate::Dropped);
    }

    #[test]
    fn a_primary_made_a_galera_node_is_dumped_and_loaded_back() {
        let d = grown("task3", "task4");
        let db1 = decision(&d, "db-01");
        assert_eq!(db1.action, Action::Recreated);
        assert_eq!(db1.fill_from.as_deref(), Some("db-01"));
        assert!(
            data_of(&d, "db-01").describe().starts_with(
                "database (/var/lib/mysql) dumped and loaded back: it now holds a node's copy"
            ),
            "{:?}",
            data_of(&d, "db-01")
        );
        assert_eq!(db1.to_drop().len(), 1);
        assert!(losses(&d).is_empty(), "{:?}", losses(&d));
        // Back from Galera: one node's copy moves, the others are the same.
        let back = grown("task4", "task3");
        assert_eq!(decision(&back, "db-01").fill_from.as_deref(), Some("db-01"));
        assert_eq!(decision(&back, "db-03").action, Action::Removed);
        assert!(losses(&back).is_empty(), "{:?}", losses(&back));
    }

    #[test]
    fn stages_that_keep_the_database_move_nothing() {
        // Back from task2 to task1, the metrics history goes, unasked.
        for (from, to) in [("task0", "task1"), ("task1", "task2"), ("task2", "task1")] {
            let d = grown(from, to);
            assert!(d.iter().all(|d| d.fill_from.is_none()), "{from} → {to}");
            assert!(losses(&d).is_empty(), "{from} → {to}: {:?}", losses(&d));
        }
    }

    #[test]
    fn data_dropped_without_a_move_is_a_loss() {
        // task1's second server, a primary until now, made a replica:
        // its own writes have nowhere to go.
        let p = plan("task1");
        let (hosts, mut data, applied) = as_applied(&p);
        for k in &mut data {
            if k.server == "server-02" {
                k.holds = Keep::PRIMARY_WRITES.into();
            }
        }
        let d = decide(&p, &hosts, &data, &applied);
        let lost = losses(&d);
        assert_eq!(lost.len(), 1, "{lost:?}");
        assert_eq!(lost[0].0, "server-02");
        // Back to task0: the replica goes, and its copy is no loss.
        let d = grown("task1", "task0");
        assert_eq!(data_of(&d, "server-02").fate, Fate::Dropped);
        assert!(losses(&d).is_empty(), "{:?}", losses(&d));
    }

    #[test]
    fn a_replica_follows_its_primary_starting_afresh() {
        // The primary's database is lost (its volume gone with the server
        // made again); the replica's copy, ahead of it, goes too.
        let p = plan("task1");
        let (mut hosts, data, applied) = as_applied(&p);
        let data: Vec<Kept> = data
            .into_iter()
            .filter(|k| k.server != "server-01")
            .collect();
        for h in hosts.iter_mut().filter(|h| h.server == "server-01") {
            h.structure = Some("another image".into());
        }
        let d = decide(&p, &hosts, &data, &applied);
        let s1 = decision(&d, "server-01");
        assert_eq!(s1.data[0].fate, Fate::Dropped);
        assert_eq!(
            s1.data[0].why,
            "it was not kept apart from the server until now"
        );
        let s2 = decision(&d, "server-02");
        assert_eq!(s2.action, Action::Recreated);
        assert_eq!(s2.data[0].fate, Fate::Dropped);
        assert_eq!(
            s2.data[0].why,
            "the database of server-01 starts afresh, and this copy with it"
        );
        assert_eq!(s2.to_drop().len(), 1);
    }

    #[test]
    fn a_server_made_by_an_earlier_infractl_moves_its_data_to_a_volume() {
        let p = plan("task1");
        let (mut hosts, _, applied) = as_applied(&p);
        for h in &mut hosts {
            h.kept = Some(vec![]);
        }
        let d = decide(&p, &hosts, &[], &applied);
        let s1 = decision(&d, "server-01");
        assert_eq!(s1.action, Action::Recreated);
        assert_eq!(s1.why, "its database is to be kept apart from it");
        assert_eq!(s1.data[0].fate, Fate::Dropped);
        assert_eq!(decision(&d, "ns").action, Action::Unchanged);
    }

    #[test]
    fn data_of_a_server_gone_from_the_stack_goes_with_it_and_is_named() {
        let p = plan("task1");
        let (hosts, mut data, applied) = as_applied(&p);
        let mut gone = kept(&p.servers[2]);
        gone[0].server = "db-old".into();
        data.extend(gone);
        let d = decide(&p, &hosts, &data, &applied);
        let last = d.last().expect("decisions");
        assert_eq!(
            (last.server.as_str(), &last.action),
            ("db-old", &Action::Removed)
        );
        assert_eq!(last.data[0].why, "db-old is no longer in the stack");
        assert_eq!(last.to_drop().len(), 1);
        // A server that keeps no database any more drops it.
        let mut hosts = hosts;
        for k in data.iter_mut().filter(|k| k.server == "server-01") {
            k.path = "/var/lib/old".into();
        }
        for h in hosts.iter_mut().filter(|h| h.server == "server-01") {
            h.kept = Some(vec!["/var/lib/old".into()]);
        }
        let d = decide(&p, &hosts, &data, &applied);
        let s1 = decision(&d, "server-01");
        assert_eq!(s1.action, Action::Recreated);
        assert!(s1
            .data
            .iter()
            .any(|x| x.fate == Fate::Dropped && x.why == "server-01 keeps no database any more"));
    }
}
