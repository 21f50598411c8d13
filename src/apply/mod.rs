//! The executor: applies a plan through a driver, in the plan's order,
//! doing only what changed.
//!
//! Per server it decides: create (no host yet), recreate (what the host was
//! created with changed: image, networks, capabilities), start (stopped),
//! update (files or services changed: upload those, reload the services
//! that watch them), or nothing. New hosts are created, filled and started
//! all at once (the engine starts containers one after another anyway);
//! then, stage by stage in the bring-up order, each server waits for its
//! readiness probes and runs its after-ready steps (the replica's
//! replication waits for the primary). What was applied is recorded per
//! server in the state directory, so an interrupted `up` resumes.

mod moves;
pub mod reconcile;

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use futures_util::future::try_join_all;
use serde::Serialize;
use tokio::sync::Notify;

use crate::apply::reconcile::{Decision, Fate};
use crate::driver::Driver;
use crate::error::{Error, Result};
use crate::lab::state::StateDir;
use crate::progress::Progress;
use crate::render::plan::{FileSpec, Plan, ServerPlan, When};
use crate::render::supervise;

/// What was applied and done to a server, decided by [`crate::apply::reconcile`].
pub use crate::apply::reconcile::{all_files, Action, Applied};
/// Seconds a server's services get to become ready, unless told otherwise.
pub use crate::render::plan::READY_SECONDS;

/// One server's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub server: String,
    pub action: Action,
    /// Files uploaded (all of them for a new host).
    pub files: usize,
    /// Services reloaded or restarted after a change.
    pub reloaded: Vec<String>,
    /// Why it was made again (or removed, ...); empty when unchanged.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub why: String,
    /// What became of the data it keeps (see `reconcile::Data`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<crate::apply::reconcile::Data>,
}

fn applied_path(state: &StateDir) -> std::path::PathBuf {
    state.path.join("applied.json")
}

pub fn read_applied(state: &StateDir) -> BTreeMap<String, Applied> {
    std::fs::read_to_string(applied_path(state))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

fn write_applied(state: &StateDir, applied: &BTreeMap<String, Applied>) -> Result<()> {
    use crate::error::Context;
    let path = applied_path(state);
    let tmp = path.with_extension("tmp");
    (|| {
        fs_err::create_dir_all(&state.path)?;
        fs_err::write(&tmp, serde_json::to_string_pretty(applied).expect("json"))?;
        fs_err::rename(&tmp, &path)
    })()
    .context("cannot record what was applied (the state of each server)")
}

/// Forgets what was applied (after `down`): the next `up` starts afresh.
pub fn forget_applied(state: &StateDir) -> Result<()> {
    use crate::error::Context;
    match fs_err::remove_file(applied_path(state)) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        r => r.context("cannot forget what was applied to the stack's servers"),
    }
}

/// What was done to a server with no files put (removed, unchanged).
fn bare(d: &Decision) -> Outcome {
    Outcome {
        server: d.server.clone(),
        action: d.action.clone(),
        files: 0,
        reloaded: vec![],
        why: d.why.clone(),
        data: d.data.clone(),
    }
}

/// Applies `plan`; returns what was done to each server.
pub async fn apply(
    driver: &dyn Driver,
    plan: &Plan,
    state: &StateDir,
    ready_seconds: u32,
    progress: &dyn Progress,
) -> Result<Vec<Outcome>> {
    let (hosts, kept) = tokio::try_join!(driver.hosts(), driver.kept())?;
    let applied = read_applied(state);
    let decisions = crate::apply::reconcile::decide(plan, &hosts, &kept, &applied);
    // Said before anything is done: which servers are made again and
    // why, and the data that is kept, moved or lost with them.
    for n in decisions.iter().filter_map(Decision::notice) {
        progress.note(&n);
    }
    // What moves is dumped first: the networks made anew and the servers
    // removed take the old database with them.
    moves::dump(driver, plan, &hosts, &decisions, state, progress).await?;
    let decided: Vec<(&ServerPlan, Action)> = decisions
        .iter()
        .filter_map(|d| Some((plan.server(&d.server)?, d.action.clone())))
        .collect();
    let gone: Vec<&Decision> = decisions
        .iter()
        .filter(|d| d.action == Action::Removed)
        .collect();
    let mut outcomes: Vec<Outcome> = gone.iter().map(|d| bare(d)).collect();
    let unchanged = decisions
        .iter()
        .filter(|d| d.action == Action::Unchanged)
        .map(bare);
    driver.drop_kept(&unused_data(&decisions)).await?;
    if gone.is_empty() && decided.iter().all(|(_, a)| *a == Action::Unchanged) {
        // Nothing to change on the servers; what the driver keeps around
        // them (the Docker driver's networks and the rules that cut them
        // off from the engine's host) is made sure of all the same.
        driver.prepare(plan).await?;
        // A dump an `up` cut off left behind.
        moves::load(driver, plan, state, progress).await?;
        outcomes.extend(unchanged);
        return Ok(outcomes);
    }

    let run = Pipelines {
        driver,
        plan,
        state,
        ready_seconds,
        progress,
        applied: Mutex::new(applied),
        decisions: &decisions,
        done: Mutex::new(HashSet::new()),
        notify: Notify::new(),
        working: decided
            .iter()
            .filter(|(_, a)| *a != Action::Unchanged)
            .map(|(s, a)| (*s, a.clone()))
            .collect(),
        started: std::time::Instant::now(),
        rolling: tokio::sync::Mutex::new(()),
        starting: starting(plan, &decided),
        running: Mutex::new(HashSet::new()),
    };
    driver.prepare(plan).await?;
    for g in &gone {
        driver.remove(&g.server).await?;
        driver.drop_kept(&g.to_drop()).await?;
        run.applied.lock().expect("lock").remove(&g.server);
    }
    for (s, _) in &run.working {
        progress.begin(&s.name, Some(4), "pending");
    }
    let brought = try_join_all(run.working.iter().map(|(s, a)| run.pipeline(s, a))).await?;
    write_applied(state, &run.applied.lock().expect("lock"))?;
    moves::load(driver, plan, state, progress).await?;
    outcomes.extend(brought);
    outcomes.extend(unchanged);
    Ok(outcomes)
}

/// Refuses a change of the lab that would lose data for good (see
/// `reconcile::losses`), saying what and where; changes nothing.
pub async fn refuse_losses(driver: &dyn Driver, plan: &Plan, state: &StateDir) -> Result<()> {
    let (hosts, kept) = tokio::try_join!(driver.hosts(), driver.kept())?;
    let decisions = crate::apply::reconcile::decide(plan, &hosts, &kept, &read_applied(state));
    let lost = crate::apply::reconcile::losses(&decisions);
    if lost.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = lost
        .iter()
        .map(|(server, d)| format!("  {server}: {} ({}): {}", d.what, d.path, d.why))
        .collect();
    Err(Error::usage(format!(
        "this change of lab `{}` would lose data for good:\n{}",
        plan.stack,
        lines.join("\n")
    ))
    .with_hint(
        "nothing was changed; `infractl up --discard-data` goes on without it (`--dry-run` shows every change first)",
    ))
}

/// The data of servers left as they are that they keep no more (none of
/// it in use): what the servers made (again) or removed drop goes with them.
fn unused_data(decisions: &[Decision]) -> Vec<crate::driver::Kept> {
    decisions
        .iter()
        .filter(|d| {
            !matches!(
                d.action,
                Action::Created | Action::Recreated | Action::Removed
            )
        })
        .flat_map(Decision::to_drop)
        .collect()
}

/// The servers to start, in the bring-up order (see
/// [`Pipelines::starting`]). A cluster's server made again waits for its
/// turn in the cluster (`rolling`), not for this order: waiting for both,
/// two of them could each wait for the other.
fn starting(plan: &Plan, decided: &[(&ServerPlan, Action)]) -> Vec<String> {
    plan.order
        .iter()
        .flatten()
        .filter(|n| {
            decided.iter().any(|(s, a)| {
                s.name == **n
                    && match a {
                        Action::Recreated => !plan.rolling.contains(&s.name),
                        a => matches!(a, Action::Created | Action::Started),
                    }
            })
        })
        .cloned()
        .collect()
}

/// Each server in its own pipeline, all at once: made, filled and started
/// (or updated in place), then its services waited for. Its after-ready
/// steps (and so its being ready) wait for every server of the stages
/// before it: the replica starts replicating only once the primary has its
/// users, and so on down the bring-up order.
struct Pipelines<'a> {
    driver: &'a dyn Driver,
    plan: &'a Plan,
    state: &'a StateDir,
    ready_seconds: u32,
    progress: &'a dyn Progress,
    applied: Mutex<BTreeMap<String, Applied>>,
    /// What was decided for each server.
    decisions: &'a [Decision],
    /// The servers whose pipeline has finished.
    done: Mutex<HashSet<String>>,
    /// Woken each time a pipeline finishes.
    notify: Notify,
    working: Vec<(&'a ServerPlan, Action)>,
    started: std::time::Instant,
    /// Held by a server of the plan's `rolling` set from its restart until
    /// it is ready again, so that the others of the set keep running.
    rolling: tokio::sync::Mutex<()>,
    /// The servers to start, in the bring-up order: an engine starts
    /// containers about one at a time, so those the others wait for
    /// (the database before the application servers, those before the
    /// load balancer) go first rather than in whatever order their files
    /// arrived.
    starting: Vec<String>,
    /// Those of `starting` that are started.
    running: Mutex<HashSet<String>>,
}

/// How many servers of a bring-up are in their start step at once: two
/// keep a second start queued behind the one under way without letting a
/// server late in the order overtake the ones before it. (The Docker
/// driver then sends a lab's starts to the engine one at a time, see
/// `containers::StartTurn`; the second waits its turn already attached.)
const STARTS_AT_ONCE: usize = 2;

impl Pipelines<'_> {
    fn stage_of(&self, name: &str) -> usize {
        self.plan
            .order
            .iter()
            .position(|st| st.iter().any(|n| n == name))
            .unwrap_or(0)
    }

    /// Returns once every server of an earlier stage has finished.
    async fn wait_for_earlier_stages(&self, s: &ServerPlan) {
        let mine = self.stage_of(&s.name);
        let before: Vec<&str> = self
            .working
            .iter()
            .filter(|(o, _)| self.stage_of(&o.name) < mine)
            .map(|(o, _)| o.name.as_str())
            .collect();
        self.until(|| {
            let done = self.done.lock().expect("lock");
            let all = before.iter().all(|b| done.contains(*b));
            if !all {
                self.progress
                    .update(&s.name, Some(3), "ready; waiting for the servers before it");
            }
            all
        })
        .await
    }

    /// Returns once `holds` does, asked again each time a pipeline
    /// finishes or a server is started (`notify`); the wake-up is armed
    /// before asking, so none between the two is lost.
    async fn until(&self, holds: impl Fn() -> bool) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if holds() {
                return;
            }
            notified.await;
        }
    }

    /// Returns once `name` may be started: every server before it in
    /// `starting` is, but for at most [`STARTS_AT_ONCE`] - 1 still
    /// starting.
    async fn wait_turn_to_start(&self, name: &str) {
        let Some(mine) = self.starting.iter().position(|n| n == name) else {
            return;
        };
        self.until(|| {
            let running = self.running.lock().expect("lock");
            let before = self.starting[..mine]
                .iter()
                .filter(|n| running.contains(*n))
                .count();
            before + STARTS_AT_ONCE > mine
        })
        .await
    }

    /// Records that `name` is started, for those after it.
    fn started(&self, name: &str) {
        self.running.lock().expect("lock").insert(name.to_string());
        self.notify.notify_waiters();
    }

    fn trace(&self, server: &str, what: &str) {
        trace(self.started, server, what);
    }

    fn decision(&self, server: &str) -> Option<&Decision> {
        self.decisions.iter().find(|d| d.server == server)
    }

    async fn pipeline(&self, s: &ServerPlan, action: &Action) -> Result<Outcome> {
        let (driver, progress) = (self.driver, self.progress);
        let result = async {
            // A server of a cluster that runs already is changed only
            // while the rest of the cluster runs: one at a time.
            let turn = match action {
                Action::Updated | Action::Recreated if self.plan.rolling.contains(&s.name) => {
                    progress.update(&s.name, Some(1), "waiting its turn in the cluster");
                    Some(self.rolling.lock().await)
                }
                _ => None,
            };
            let outcome = bring(self, s, action).await?;
            self.trace(&s.name, "made, filled and started");
            progress.update(&s.name, Some(3), "waiting for services");
            // A new host says when it is ready on its init's output; any
            // other is asked (and a new one that said it is not, for
            // which service and its log).
            let waiting = std::time::Instant::now();
            let booted = matches!(action, Action::Created | Action::Recreated)
                && driver.boot_ready(&s.name, self.ready_seconds).await?;
            if !booted {
                let waited = waiting.elapsed().as_secs().min(self.ready_seconds.into()) as u32;
                wait_probes(driver, self.plan, s, self.ready_seconds - waited, waited).await?;
            }
            drop(turn);
            self.trace(&s.name, "services ready");
            self.wait_for_earlier_stages(s).await;
            self.trace(&s.name, "earlier stages done");
            run_steps(driver, s, action, &self.applied).await?;
            self.trace(&s.name, "after-ready steps done");
            Ok::<_, Error>(outcome)
        }
        .await;
        if result.is_err() {
            progress.finish(&s.name, false, "stopped");
            return result;
        }
        let mut map = self.applied.lock().expect("lock");
        map.insert(s.name.clone(), Applied::of(s));
        let _ = write_applied(self.state, &map);
        drop(map);
        self.done.lock().expect("lock").insert(s.name.clone());
        self.notify.notify_waiters();
        let secs = self.started.elapsed().as_secs_f64();
        progress.finish(
            &s.name,
            true,
            &format!("{} and ready after {secs:.1} s", action.as_str()),
        );
        result
    }
}

/// With INFRACTL_TRACE set, says on stderr when a server's step ended, in
/// seconds since the bring-up began: where an `up` spends its time. A
/// developer's diagnostic, printed past the progress (and so with `-q`).
#[allow(clippy::print_stderr)]
fn trace(started: std::time::Instant, server: &str, what: &str) {
    if std::env::var_os("INFRACTL_TRACE").is_some() {
        let t = started.elapsed().as_secs_f64();
        eprintln!("trace {t:7.3} {server:>10} {what}");
    }
}

/// Makes, fills and starts a host, or brings a running one up to date.
async fn bring(run: &Pipelines<'_>, s: &ServerPlan, action: &Action) -> Result<Outcome> {
    let (driver, plan, applied, progress) = (run.driver, run.plan, &run.applied, run.progress);
    let files = all_files(s);
    let decision = run.decision(&s.name);
    let mut outcome = Outcome {
        server: s.name.clone(),
        action: action.clone(),
        files: 0,
        reloaded: vec![],
        why: decision.map(|d| d.why.clone()).unwrap_or_default(),
        data: decision.map(|d| d.data.clone()).unwrap_or_default(),
    };
    match action {
        Action::Unchanged | Action::Removed => {}
        Action::Created | Action::Recreated | Action::Started => {
            if *action != Action::Started {
                if *action == Action::Recreated {
                    // Stopped cleanly first when its data is kept: the
                    // database flushed, the Galera node gone from its
                    // cluster as from a power-off button.
                    if outcome.data.iter().any(|d| d.fate == Fate::Kept) {
                        progress.update(&s.name, Some(1), "stopping");
                        driver.stop(&s.name).await?;
                    }
                    driver.remove(&s.name).await?;
                }
                if let Some(d) = decision {
                    driver.drop_kept(&d.to_drop()).await?;
                }
                progress.update(&s.name, Some(1), "creating");
                driver.create(plan, s).await?;
                run.trace(&s.name, "created");
            }
            if *action == Action::Started {
                progress.update(&s.name, Some(2), &format!("copying {} files", files.len()));
                driver.put_files(plan, &s.name, &files).await?;
                run.trace(&s.name, "files copied");
            }
            progress.update(&s.name, Some(3), "waiting its turn to start");
            run.wait_turn_to_start(&s.name).await;
            if *action == Action::Started {
                progress.update(&s.name, Some(3), "starting");
                driver.start(plan, &s.name).await?;
            } else {
                progress.update(
                    &s.name,
                    Some(3),
                    &format!("starting with {} files", files.len()),
                );
                driver.start_with_files(plan, &s.name, &files).await?;
            }
            run.started(&s.name);
            outcome.files = files.len();
        }
        Action::Updated => {
            let before = applied
                .lock()
                .expect("lock")
                .get(&s.name)
                .cloned()
                .unwrap_or_default();
            let (n, reloaded) = update(driver, plan, s, &files, &before).await?;
            outcome.files = n;
            outcome.reloaded = reloaded;
        }
    }
    Ok(outcome)
}

/// Brings a running host up to date: changed files, services added,
/// removed or reloaded. Returns (files uploaded, services reloaded).
async fn update(
    driver: &dyn Driver,
    plan: &Plan,
    s: &ServerPlan,
    files: &[FileSpec],
    before: &Applied,
) -> Result<(usize, Vec<String>)> {
    let c = crate::apply::reconcile::changes(s, files, before);
    driver.put_files(plan, &s.name, &c.files).await?;
    let script = c.script;
    if !script.is_empty() {
        let out = driver.exec(&s.name, &script).await?;
        if out.code != 0 {
            return Err(Error::failure(format!(
                "server `{}`: applying the changes failed:\n{}",
                s.name,
                out.message()
            )));
        }
    }
    Ok((c.files.len(), c.reload))
}

/// Waits until every readiness probe of the server passes, for up to
/// `seconds` more after `waited` already spent; on a timeout, says which
/// service and shows the end of its log.
pub async fn wait_probes(
    driver: &dyn Driver,
    plan: &Plan,
    s: &ServerPlan,
    seconds: u32,
    waited: u32,
) -> Result<()> {
    let out = driver
        .exec(&s.name, &supervise::wait_ready(s, seconds))
        .await?;
    if out.code == 0 {
        return Ok(());
    }
    let service = out.stdout.trim().to_string();
    let probe = s.probes.iter().find(|p| p.service == service);
    let log = driver
        .exec(&s.name, &supervise::log_tail(&service, 15))
        .await
        .map(|o| o.stdout)
        .unwrap_or_default();
    let mut msg = format!(
        "server `{}`: service `{service}` is not ready after {} s (expected {})",
        s.name,
        waited + seconds,
        probe
            .map(|p| p.expect.as_str())
            .unwrap_or("its probe to pass")
    );
    if !log.trim().is_empty() {
        msg.push_str(&format!("\nlast lines of its log:\n{}", indent(&log)));
    }
    Err(Error::failure(msg).with_hint(format!(
        "the lab is left as it is: `infractl logs {} {} {service}`; fix and run `infractl up` again",
        plan.stack, s.name
    )))
}

/// Runs the server's after-ready steps: all of them on a new host; on an
/// updated one, those whose inputs changed.
async fn run_steps(
    driver: &dyn Driver,
    s: &ServerPlan,
    action: &Action,
    applied: &Mutex<BTreeMap<String, Applied>>,
) -> Result<()> {
    let before = applied.lock().expect("lock").get(&s.name).cloned();
    for st in s.setup.iter().filter(|st| st.when == When::AfterReady) {
        let rerun = match (&before, action) {
            (Some(b), Action::Updated) => st.inputs.iter().any(|i| {
                let now = s.file(i).map(|f| f.sha256.clone());
                b.files.get(i) != now.as_ref()
            }),
            _ => true,
        };
        if !rerun {
            continue;
        }
        let out = driver.exec(&s.name, &st.run).await?;
        if out.code != 0 {
            return Err(Error::failure(format!(
                "server `{}`: step \"{}\" failed:\n{}",
                s.name,
                st.name,
                indent(&out.message())
            )));
        }
    }
    Ok(())
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::{Destroyed, DownOptions, ExecOutput, Host};

    /// A driver that does nothing but say when each start began and ended;
    /// a start takes a few milliseconds, as the engine's take a while.
    #[derive(Default)]
    struct Recorder {
        events: Mutex<Vec<(bool, String)>>,
    }

    #[async_trait::async_trait]
    impl Driver for Recorder {
        fn lab(&self) -> &str {
            "recorded"
        }
        async fn hosts(&self) -> Result<Vec<Host>> {
            Ok(vec![])
        }
        async fn prepare(&self, _: &Plan) -> Result<()> {
            Ok(())
        }
        async fn create(&self, _: &Plan, _: &ServerPlan) -> Result<()> {
            Ok(())
        }
        async fn put_files(&self, _: &Plan, _: &str, _: &[FileSpec]) -> Result<()> {
            Ok(())
        }
        async fn start(&self, _: &Plan, server: &str) -> Result<()> {
            let event = |began| {
                let mut e = self.events.lock().expect("lock");
                e.push((began, server.to_string()));
            };
            event(true);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            event(false);
            Ok(())
        }
        async fn exec_env(&self, _: &str, _: &str, _: &[String]) -> Result<ExecOutput> {
            Ok(ExecOutput {
                code: 0,
                stdout: String::new(),
                stderr: String::new(),
            })
        }
        async fn kill(&self, _: &str) -> Result<()> {
            Ok(())
        }
        async fn remove(&self, _: &str) -> Result<()> {
            Ok(())
        }
        async fn destroy(&self, _: &DownOptions) -> Result<Destroyed> {
            Ok(Destroyed::default())
        }
    }

    #[tokio::test]
    async fn new_servers_start_in_the_bring_up_order_two_at_a_time() {
        let topo = crate::topology::Topology::load("task3").expect("a shipped stack loads");
        let secrets = crate::lab::state::Secrets {
            db_app: "a".into(),
            db_replication: "r".into(),
            db_exporter: "e".into(),
            tls: None,
            zone_serial: None,
        };
        let plan = crate::render::plan(&topo, &secrets, "infractl/node:test").expect("renders");
        let dir = tempfile::tempdir().expect("tempdir");
        let state = StateDir::new(dir.path(), "recorded");
        let driver = Recorder::default();
        let outcomes = apply(&driver, &plan, &state, 5, &crate::progress::Silent)
            .await
            .expect("applies");
        assert!(outcomes.iter().all(|o| o.action == Action::Created));
        let order: Vec<&String> = plan.order.iter().flatten().collect();
        let events = driver.events.lock().expect("lock").clone();
        let mut ended = HashSet::new();
        let mut began = Vec::new();
        for (is_begin, server) in &events {
            if !*is_begin {
                ended.insert(server.clone());
                continue;
            }
            // When a server's start begins, all but one of the servers
            // before it in the order have started.
            let k = order
                .iter()
                .position(|n| *n == server)
                .expect("in the order");
            let before: Vec<&String> = order[..k].to_vec();
            let done = before.iter().filter(|b| ended.contains(**b)).count();
            assert!(
                done + 1 >= k,
                "{server} began with {done} of {k} before it done: {events:?}"
            );
            began.push((*server).clone());
        }
        assert_eq!(began.len(), order.len(), "{events:?}");
    }

    #[test]
    fn servers_start_in_the_order_and_a_clusters_remade_one_waits_its_turn() {
        let names = |v: &[&str]| v.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let plan = Plan {
            stack: "lab".into(),
            origin: "lab".into(),
            image: "infractl/node:test".into(),
            domain: "lab.test".into(),
            networks: vec![],
            servers: vec![],
            order: vec![names(&["db-1", "db-2"]), names(&["app"]), names(&["lb"])],
            rolling: names(&["db-1", "db-2"]),
            hash: String::new(),
        };
        let (db1, db2, app, lb) = (
            ServerPlan::new("db-1"),
            ServerPlan::new("db-2"),
            ServerPlan::new("app"),
            ServerPlan::new("lb"),
        );
        let decided = [
            (&lb, Action::Created),
            (&app, Action::Updated),
            (&db2, Action::Started),
            (&db1, Action::Recreated),
        ];
        assert_eq!(starting(&plan, &decided), ["db-2", "lb"]);
    }
}
