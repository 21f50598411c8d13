//! `infractl class up|status|down FILE`: a lab per student of a class
//! file, each published for the learner's browser.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use futures_util::StreamExt;
use serde::Serialize;

use super::{emit, emit_json, Global};
use crate::class::{place, Class};
use crate::driver::{DownOptions, Engine, LabOnEngine, Placement};
use crate::error::{Error, Result, EXIT_FAILURE, EXIT_OK};
use crate::lab::state::StateDir;
use crate::progress::Progress;

/// Labs brought up at once on one engine: each lab's bring-up already
/// runs its servers in parallel on the engine's cores. Engines work side
/// by side.
const AT_ONCE: usize = 2;

/// One student's lab, as `class up` and `class status` show it.
#[derive(Debug, Serialize)]
pub struct StudentLab {
    pub engine: String,
    pub lab: String,
    /// `up`, `failed: ...`, `absent`, `unreachable`, or `N of M running`.
    pub state: String,
    pub student: String,
    pub url: Option<String>,
}

fn root(global: &Global) -> std::path::PathBuf {
    crate::lab::state::root(global.state_dir.as_deref())
}

/// One of the class's engines, as reached now.
struct Site {
    endpoint: Placement,
    /// Listed in the class file (else only a lab's record names it).
    listed: bool,
    max_labs: Option<u32>,
    /// Connected, with what is on it; or why not.
    reached: std::result::Result<Reached, Error>,
}

struct Reached {
    engine: Box<dyn Engine>,
    labs: Vec<LabOnEngine>,
    subnets: Vec<(Option<String>, crate::stack::Subnet)>,
    memory_mb: u64,
}

impl Site {
    fn has(&self, lab: &str) -> bool {
        self.reached
            .as_ref()
            .is_ok_and(|r| r.labs.iter().any(|l| l.lab == lab))
    }
}

/// Every engine of the class (and every other engine its labs' records
/// name), reached at once; an engine that does not answer is a line.
async fn reach(class: &Class, global: &Global) -> Vec<Site> {
    let mut wanted: Vec<(Placement, bool, Option<u32>)> = class
        .engines
        .iter()
        .map(|e| (e.placement.clone(), true, e.max_labs))
        .collect();
    // A lab stays on the engine it runs on, even one the file no longer lists.
    for lab in class_labs(class, global) {
        if let Some(e) = record_of(&lab, global).and_then(|r| r.engine) {
            if !wanted.iter().any(|(w, _, _)| w.same(&e)) {
                wanted.push((e, false, None));
            }
        }
    }
    futures_util::future::join_all(wanted.into_iter().map(
        |(endpoint, listed, max_labs)| async move {
            let reached = async {
                let engine = crate::driver::engine_at(&endpoint).await?;
                let labs = engine.labs().await?;
                let subnets = engine.subnets_in_use().await?.unwrap_or_default();
                let memory_mb = engine.memory_mb().await?;
                Ok::<_, Error>(Reached {
                    engine,
                    labs,
                    subnets,
                    memory_mb,
                })
            }
            .await;
            Site {
                endpoint,
                listed,
                max_labs,
                reached,
            }
        },
    ))
    .await
}

fn record_of(lab: &str, global: &Global) -> Option<crate::lab::Record> {
    crate::lab::read(&StateDir::new(&root(global), lab))
}

/// The labs of the class: each listed student's, and those whose record
/// says they are of the class (students since gone).
fn class_labs(class: &Class, global: &Global) -> Vec<String> {
    let mut labs: Vec<String> = class.students.iter().map(|s| class.lab(s)).collect();
    let prefix = format!("{}-", class.name);
    if let Ok(dirs) = std::fs::read_dir(root(global)) {
        let mut more: Vec<String> = dirs
            .filter_map(|d| d.ok()?.file_name().into_string().ok())
            .filter(|l| l.starts_with(&prefix) && !labs.contains(l))
            .filter(|l| {
                record_of(l, global).is_some_and(|r| r.class.as_deref() == Some(&class.name))
            })
            .collect();
        more.sort();
        labs.extend(more);
    }
    labs
}

/// Where a lab of the class is.
enum Where {
    /// On this site (which may not have answered).
    On(usize),
    /// Its record names no engine and it is on none that answered: it may
    /// be on one that did not (named here).
    Unknown(String),
    /// On no engine.
    Nowhere,
}

/// Where `lab` is: the engine its record names, else one it has
/// containers on. A lab with no record at all was never made here: on no
/// engine that answered, it is new.
fn locate(lab: &str, sites: &[Site], global: &Global) -> Where {
    let record = record_of(lab, global);
    let had_record = record.is_some();
    let recorded = record.and_then(|r| r.engine);
    let found = match &recorded {
        Some(e) => sites.iter().position(|s| s.endpoint.same(e)),
        None => sites.iter().position(|s| s.has(lab)),
    };
    if let Some(i) = found {
        return Where::On(i);
    }
    let silent: Vec<String> = sites
        .iter()
        .filter(|s| s.reached.is_err())
        .map(|s| s.endpoint.to_string())
        .collect();
    match (had_record, recorded, silent.is_empty()) {
        (true, None, false) => Where::Unknown(silent.join(", ")),
        _ => Where::Nowhere,
    }
}

fn site_of<'a>(lab: &str, sites: &'a [Site], global: &Global) -> Option<&'a Site> {
    match locate(lab, sites, global) {
        Where::On(i) => Some(&sites[i]),
        _ => None,
    }
}

/// Removes a lab from its engine, and its state.
async fn remove_lab(engine: &dyn Engine, lab: &str, global: &Global) -> Result<()> {
    if let Some(driver) = engine.driver_by_name(lab) {
        driver.destroy(&DownOptions::default()).await?;
    }
    let state = StateDir::new(&root(global), lab);
    if state.path.exists() {
        fs_err::remove_dir_all(&state.path)
            .map_err(|e| Error::caused(format!("cannot delete the state of lab `{lab}`"), e))?;
    }
    Ok(())
}

/// `class up`: every lab placed first, the class refused whole (exit 2,
/// nothing changed) when it does not fit; with `dry_run` the placement
/// printed and nothing done; else the students gone removed and every
/// lab brought up on its engine.
pub async fn up(
    file: &Path,
    dry_run: bool,
    json: bool,
    global: &Global,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<i32> {
    let class = crate::class::load(file)?;
    // What a lab of the class holds, from its plan (addresses and secrets
    // do not change it).
    let stack = class.load_stack()?;
    let mut sites = reach(&class, global).await;
    if sites.iter().all(|s| s.reached.is_err()) {
        return Err(none_answered(sites, file));
    }
    for s in &sites {
        if let Err(e) = &s.reached {
            progress.note(&format!("engine {}: {e}", s.endpoint));
        }
    }
    let listed: Vec<String> = class.students.iter().map(|s| class.lab(s)).collect();
    let ours = class_labs(&class, global);
    let leaving: Vec<String> = ours
        .iter()
        .filter(|l| !listed.contains(l))
        .cloned()
        .collect();
    let engines = rooms(&sites, &ours, &stack)?;
    let wanted: Vec<place::Wanted> = class
        .students
        .iter()
        .map(|student| {
            let lab = class.lab(student);
            let now = match locate(&lab, &sites, global) {
                Where::On(i) => place::Now::On(i),
                Where::Unknown(engines) => place::Now::Unknown(engines),
                Where::Nowhere => place::Now::New,
            };
            place::Wanted {
                student: student.clone(),
                lab,
                now,
            }
        })
        .collect();
    // Decided whole before anything changes: a class that does not fit
    // starts nothing, removes nothing, writes nothing.
    let placement = place::place(&engines, &wanted, stack.memory_mb())
        .map_err(|r| r.error(&class.name, &stack.name, &file.display().to_string()))?;
    if dry_run {
        return placement_report(&class, &placement, &sites, &leaving, json, out);
    }
    for lab in &leaving {
        let gone = match locate(lab, &sites, global) {
            Where::On(i) => match &sites[i].reached {
                Ok(r) => remove_lab(&*r.engine, lab, global)
                    .await
                    .map_err(|e| e.headline()),
                Err(e) => Err(e.headline()),
            },
            Where::Unknown(engines) => Err(format!("it may be on {engines}, which did not answer")),
            Where::Nowhere => remove_lab_state(lab, global).map_err(|e| e.headline()),
        };
        match gone {
            Ok(()) => progress.note(&format!("{lab}: its student left the class; removed")),
            Err(e) => progress.note(&format!("{lab}: its student left the class, but {e}")),
        }
    }
    // Each lab on its engine, then on subnets free there.
    let mut jobs: Vec<Vec<Job>> = sites.iter().map(|_| Vec::new()).collect();
    let mut failed_early = Vec::new();
    for place::Placed {
        student,
        lab,
        engine,
        how,
    } in placement.labs
    {
        let job = match (how, engine) {
            (place::How::Lost(why), _) => Err(why),
            (_, None) => Err("placed on no engine".to_string()),
            (_, Some(i)) => {
                let site = &mut sites[i];
                match &mut site.reached {
                    Ok(r) => make_job(&class, &student, &site.endpoint, r, global).map(|j| (i, j)),
                    Err(e) => Err(e.headline()),
                }
            }
        };
        match job {
            Ok((i, j)) => jobs[i].push(j),
            Err(e) => failed_early.push(StudentLab {
                engine: engine
                    .map(|i| sites[i].endpoint.to_string())
                    .unwrap_or_default(),
                lab,
                state: format!("failed: {e}"),
                student,
                url: None,
            }),
        }
    }
    for l in &failed_early {
        progress.begin(&l.lab, None, "placing");
        progress.finish(&l.lab, false, l.state.trim_start_matches("failed: "));
    }
    // Every engine with labs to bring up gets what hosts are made from
    // (the node image, copied from one that has it, or built), then brings
    // its labs up, a few at once.
    let sources: Vec<&dyn Engine> = sites
        .iter()
        .filter_map(|s| s.reached.as_ref().ok().map(|r| &*r.engine))
        .collect();
    let per_engine = sites.iter().zip(jobs).map(|(site, jobs)| {
        let sources = &sources;
        async move {
            if jobs.is_empty() {
                return Vec::new();
            }
            let Ok(r) = &site.reached else {
                return Vec::new();
            };
            if let Err(e) = r.engine.ensure_ready_from(sources, progress).await {
                let line = e.headline();
                return jobs
                    .into_iter()
                    .map(|j| {
                        progress.begin(&j.name, None, "waiting for the image");
                        progress.finish(&j.name, false, &line);
                        j.failed(&site.endpoint, &line)
                    })
                    .collect();
            }
            let global = global.on(&site.endpoint);
            let engine = &*r.engine;
            futures_util::stream::iter(jobs.into_iter().map(|j| j.run(engine, &global, progress)))
                .buffer_unordered(AT_ONCE)
                .collect::<Vec<_>>()
                .await
        }
    });
    let mut labs: Vec<StudentLab> = futures_util::future::join_all(per_engine)
        .await
        .into_iter()
        .flatten()
        .collect();
    labs.extend(failed_early);
    labs.sort_by_key(|l| class.students.iter().position(|s| *s == l.student));
    let failed = labs.iter().filter(|l| l.state != "up").count();
    if json {
        emit_json(out, &labs)?;
        return Ok(if failed == 0 { EXIT_OK } else { EXIT_FAILURE });
    }
    emit(out, &table(&labs))?;
    emit(
        out,
        &format!(
            "\nClass `{}`: {} of {} labs up{}.\n",
            class.name,
            labs.len() - failed,
            labs.len(),
            spread(&labs)
        ),
    )?;
    Ok(if failed == 0 { EXIT_OK } else { EXIT_FAILURE })
}

/// The class's engines as placement takes them: memory, what other labs
/// hold of it (at this stack's rate per server), free subnets.
/// The error of a class none of whose engines answered: the engine's own
/// when there is one (what to try, as for a lab), else each one's line.
fn none_answered(mut sites: Vec<Site>, file: &Path) -> Error {
    if sites.len() == 1 {
        if let Some(Err(e)) = sites.pop().map(|s| s.reached) {
            return e;
        }
    }
    let mut message = "no engine of the class answered".to_string();
    for s in &sites {
        if let Err(e) = &s.reached {
            message.push_str(&format!("\n  {}", e.headline()));
        }
    }
    Error::failure(message).with_hint(format!(
        "are they running, and their ports open to this machine? or list others under `engines:` in {}",
        file.display()
    ))
}

fn rooms(
    sites: &[Site],
    ours: &[String],
    stack: &crate::stack::Stack,
) -> Result<Vec<place::Engine>> {
    let per_server = stack.memory_mb() / stack.servers.len().max(1) as u64;
    let own: Vec<crate::stack::Subnet> = stack.networks.iter().map(|n| n.subnet).collect();
    let pool = crate::stack::relocate::pool().map_err(Error::usage)?;
    Ok(sites
        .iter()
        .map(|s| place::Engine {
            name: s.endpoint.to_string(),
            listed: s.listed,
            max_labs: s.max_labs,
            reached: s.reached.as_ref().map_err(Error::headline).map(|r| {
                let taken: Vec<crate::stack::Subnet> = r.subnets.iter().map(|(_, n)| *n).collect();
                place::Room {
                    memory_mb: r.memory_mb,
                    others_mb: r
                        .labs
                        .iter()
                        .filter(|l| !ours.contains(&l.lab))
                        .map(|l| per_server * l.hosts.len() as u64)
                        .sum(),
                    subnets_for: place::subnet_room(&own, &taken, pool),
                }
            }),
        })
        .collect())
}

/// `class up --dry-run`: where each lab would go, and nothing done.
fn placement_report(
    class: &Class,
    placement: &place::Placement,
    sites: &[Site],
    leaving: &[String],
    json: bool,
    out: &mut dyn Write,
) -> Result<i32> {
    let engine = |i: Option<usize>| i.map(|i| sites[i].endpoint.to_string());
    let labs: Vec<super::report::PlacedLab> = placement
        .labs
        .iter()
        .map(|p| super::report::PlacedLab {
            engine: engine(p.engine),
            lab: p.lab.clone(),
            placed: match &p.how {
                place::How::Kept => "kept",
                place::How::New => "new",
                place::How::Lost(_) => "unknown",
            },
            student: p.student.clone(),
        })
        .collect();
    if json {
        emit_json(
            out,
            &super::report::ClassPlacement {
                class: &class.name,
                dry_run: true,
                labs: &labs,
                removed: leaving,
            },
        )?;
        return Ok(EXIT_OK);
    }
    let rows: Vec<[String; 4]> = placement
        .labs
        .iter()
        .map(|p| {
            [
                p.student.clone(),
                p.lab.clone(),
                engine(p.engine).unwrap_or_default(),
                p.how.word(),
            ]
        })
        .collect();
    let mut text = super::table(["STUDENT", "LAB", "ENGINE", "PLACED"], &rows);
    // Per engine, in the file's order: how many labs, how many new.
    let mut per: Vec<String> = Vec::new();
    for (i, site) in sites.iter().enumerate() {
        let on: Vec<&place::Placed> = placement
            .labs
            .iter()
            .filter(|p| p.engine == Some(i))
            .collect();
        if on.is_empty() {
            continue;
        }
        let new = on.iter().filter(|p| p.how == place::How::New).count();
        per.push(format!("{} on {} ({new} new)", on.len(), site.endpoint));
    }
    text.push_str(&format!(
        "\nClass `{}`: {} placed: {}.\n",
        class.name,
        super::count(placement.labs.len(), "lab"),
        if per.is_empty() {
            "none on an engine".to_string()
        } else {
            per.join(", ")
        }
    ));
    if !leaving.is_empty() {
        text.push_str(&format!(
            "Their students gone, {} would be removed: {}.\n",
            super::count(leaving.len(), "lab"),
            leaving.join(", ")
        ));
    }
    text.push_str("Nothing was started or changed (--dry-run).\n");
    emit(out, &text)?;
    Ok(EXIT_OK)
}

/// `, on 3 engines` when the labs are on more than one.
fn spread(labs: &[StudentLab]) -> String {
    let mut engines: Vec<&str> = labs
        .iter()
        .filter(|l| l.state == "up")
        .map(|l| l.engine.as_str())
        .collect();
    engines.sort();
    engines.dedup();
    if engines.len() > 1 {
        format!(", on {} engines", engines.len())
    } else {
        String::new()
    }
}

/// Deletes a lab's state (a lab on no engine).
fn remove_lab_state(lab: &str, global: &Global) -> Result<()> {
    let state = StateDir::new(&root(global), lab);
    if state.path.exists() {
        fs_err::remove_dir_all(&state.path)
            .map_err(|e| Error::caused(format!("cannot delete the state of lab `{lab}`"), e))?;
    }
    Ok(())
}

/// A lab placed on its engine and subnets, its record written, its state
/// locked: ready to come up.
struct Job {
    student: String,
    name: String,
    lab: crate::lab::Lab,
    state: StateDir,
    _lock: crate::lab::state::StackLock,
}

/// Places `student`'s lab on the engine `r`: subnets free there, recorded
/// with the engine and the class, published.
fn make_job(
    class: &Class,
    student: &str,
    endpoint: &Placement,
    r: &mut Reached,
    global: &Global,
) -> std::result::Result<Job, String> {
    let name = class.lab(student);
    let state = StateDir::new(&root(global), &name);
    let placed = (|| {
        let lock = state.lock("class up")?;
        let lab = crate::lab::resolve(&class.stack, Some(&name), &root(global))?;
        let lab = super::up::place_among(lab, &r.subnets, &crate::progress::Silent)?;
        let before = crate::lab::read(&state);
        let mut record = lab.record();
        record.class = Some(class.name.clone());
        record.publish = before.as_ref().and_then(|r| r.publish).or(Some(0));
        record.engine = Some(endpoint.clone());
        crate::lab::write(&state, &record)?;
        Ok::<_, Error>((lab, lock))
    })();
    let (lab, lock) = placed.map_err(|e| e.headline())?;
    r.subnets.extend(
        lab.stack
            .networks
            .iter()
            .map(|n| (Some(name.clone()), n.subnet)),
    );
    Ok(Job {
        student: student.to_string(),
        name,
        lab,
        state,
        _lock: lock,
    })
}

impl Job {
    fn failed(self, engine: &Placement, line: &str) -> StudentLab {
        StudentLab {
            engine: engine.to_string(),
            lab: self.name,
            state: format!("failed: {line}"),
            student: self.student,
            url: None,
        }
    }

    async fn run(self, on: &dyn Engine, global: &Global, progress: &dyn Progress) -> StudentLab {
        let name = self.name.clone();
        progress.begin(&name, None, "coming up");
        let started = Instant::now();
        let engine = on.describe();
        // Published as its record says (any free port for a new lab).
        let r = super::up::bring_up(
            self.lab,
            on,
            &self.state,
            None,
            crate::apply::READY_SECONDS,
            global,
            &crate::progress::Silent,
        )
        .await;
        let secs = started.elapsed().as_secs_f64();
        let (state, url) = match r {
            Ok(b) => {
                progress.finish(&name, true, &format!("up after {secs:.1} s"));
                ("up".to_string(), b.url)
            }
            Err(e) => {
                let first = e.headline();
                progress.finish(&name, false, &first);
                (format!("failed: {first}"), None)
            }
        };
        StudentLab {
            engine,
            lab: name,
            state,
            student: self.student,
            url,
        }
    }
}

fn table(labs: &[StudentLab]) -> String {
    let rows: Vec<[String; 5]> = labs
        .iter()
        .map(|l| {
            [
                l.student.clone(),
                l.lab.clone(),
                l.engine.clone(),
                l.state.clone(),
                l.url.clone().unwrap_or_default(),
            ]
        })
        .collect();
    super::table(["STUDENT", "LAB", "ENGINE", "STATE", "URL"], &rows)
}

pub async fn status(file: &Path, json: bool, global: &Global, out: &mut dyn Write) -> Result<i32> {
    let class = crate::class::load(file)?;
    // Every lab runs the class's stack: where its site is, asked once.
    let topo = crate::topology::Topology::build(class.load_stack()?);
    let sites = reach(&class, global).await;
    let mut labs = Vec::new();
    for student in &class.students {
        let name = class.lab(student);
        let site = site_of(&name, &sites, global);
        let (state, url) = match site.map(|s| &s.reached) {
            None => ("absent".to_string(), None),
            Some(Err(_)) => ("unreachable".to_string(), None),
            Some(Ok(r)) => {
                let hosts = r
                    .labs
                    .iter()
                    .find(|l| l.lab == name)
                    .map(|l| l.hosts.as_slice())
                    .unwrap_or_default();
                let running = hosts.iter().filter(|h| h.running).count();
                let state = match (hosts.len(), running) {
                    (0, _) => "absent".to_string(),
                    (n, r) if n == r => "up".to_string(),
                    (n, r) => format!("{r} of {n} running"),
                };
                match hosts.is_empty() {
                    true => (state, None),
                    false => match published(&*r.engine, &name, topo.site_port()).await {
                        Ok(p) => (
                            state,
                            p.map(|p| super::site_url(&topo, &site.expect("found").endpoint, p)),
                        ),
                        Err(e) => (format!("error: {}", e.headline()), None),
                    },
                }
            }
        };
        labs.push(StudentLab {
            engine: site.map(|s| s.endpoint.to_string()).unwrap_or_default(),
            lab: name,
            state,
            student: student.clone(),
            url,
        });
    }
    let all_up = labs.iter().all(|l| l.state == "up");
    if json {
        emit_json(out, &labs)?;
    } else {
        let mut text = table(&labs);
        for s in &sites {
            if let Err(e) = &s.reached {
                text.push_str(&format!("\nengine {}: {e}", s.endpoint));
            }
        }
        if sites.iter().any(|s| s.reached.is_err()) {
            text.push('\n');
        }
        emit(out, &text)?;
    }
    Ok(if all_up { EXIT_OK } else { EXIT_FAILURE })
}

pub async fn down(
    file: &Path,
    global: &Global,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<i32> {
    let class = crate::class::load(file)?;
    let sites = reach(&class, global).await;
    let mut removed = 0;
    // Labs kept, grouped by why (an engine that did not answer, or an
    // engine's error) and what to do then.
    let mut left: Vec<((String, String), Vec<String>)> = Vec::new();
    let again = "`class down` again once it is back".to_string();
    for lab in class_labs(&class, global) {
        // Counted when it had anything: state, or objects on an engine.
        let had = StateDir::new(&root(global), &lab).path.exists();
        let outcome = async {
            let _lock = StateDir::new(&root(global), &lab).lock("class down")?;
            let gone = match locate(&lab, &sites, global) {
                Where::On(i) => match &sites[i].reached {
                    Ok(r) => match r.engine.driver_by_name(&lab) {
                        Some(d) => d.destroy(&DownOptions::default()).await?,
                        None => Default::default(),
                    },
                    Err(_) => {
                        return Ok(Some(format!("Engine {} did not answer", sites[i].endpoint)))
                    }
                },
                Where::Unknown(engines) => {
                    return Ok(Some(format!(
                        "Not found on the engines that answered; perhaps on {engines}"
                    )))
                }
                Where::Nowhere => Default::default(),
            };
            remove_lab_state(&lab, global)?;
            let had = had
                || !(gone.hosts.is_empty() && gone.networks.is_empty() && gone.volumes.is_empty());
            Ok::<_, Error>(if had { None } else { Some(String::new()) })
        }
        .await;
        let why = match outcome {
            Ok(None) => {
                removed += 1;
                progress.note(&format!("{lab}: removed"));
                continue;
            }
            // Nothing there, nothing to say.
            Ok(Some(w)) if w.is_empty() => continue,
            Ok(Some(w)) => (w, again.clone()),
            Err(e) => (
                format!("Failed ({})", e.headline()),
                e.hint_text()
                    .map_or_else(|| "`class down` again".to_string(), str::to_string),
            ),
        };
        // Kept: its record says where it is, for a later `class down`.
        match left.iter_mut().find(|(w, _)| *w == why) {
            Some((_, labs)) => labs.push(lab),
            None => left.push((why, vec![lab])),
        }
    }
    let mut text = format!(
        "Class `{}` is down: {} removed, with their state.\n",
        class.name,
        super::count(removed, "lab")
    );
    for ((why, then), labs) in &left {
        text.push_str(&format!(
            "{why}: {} left there ({}); {then}.\n",
            super::count(labs.len(), "lab"),
            labs.join(", ")
        ));
    }
    emit(out, &text)?;
    Ok(if left.is_empty() {
        EXIT_OK
    } else {
        EXIT_FAILURE
    })
}

/// Verifies every student's lab, one after another (verify times a
/// failover: labs verified at once would measure each other), and writes
/// the report into `report` when given. Students are listed by score,
/// highest first, then by name (see `grade`).
pub async fn verify(
    file: &Path,
    report: Option<&Path>,
    global: &Global,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<i32> {
    use crate::grade::{self, LabReport};
    let class = crate::class::load(file)?;
    // Labs on one engine one after another (verify times a failover: labs
    // verified at once on one machine would measure each other), engines
    // side by side.
    let mut by_engine: Vec<(Option<String>, Vec<&String>)> = Vec::new();
    for student in &class.students {
        let engine = record_of(&class.lab(student), global)
            .and_then(|r| r.engine)
            .map(|e| e.describe());
        match by_engine.iter_mut().find(|(e, _)| *e == engine) {
            Some((_, v)) => v.push(student),
            None => by_engine.push((engine, vec![student])),
        }
    }
    let class_ref = &class;
    let groups = by_engine.into_iter().map(|(_, students)| async move {
        let mut labs = Vec::new();
        for student in students {
            labs.push(verify_lab(class_ref, student, global, progress).await);
        }
        labs
    });
    let labs: Vec<LabReport> = futures_util::future::join_all(groups)
        .await
        .into_iter()
        .flatten()
        .collect();
    let r = grade::report(&class.name, &class.stack, labs);
    if let Some(dir) = report {
        let doing = || format!("cannot write the class report into {}", dir.display());
        fs_err::create_dir_all(dir).map_err(|e| Error::caused(doing(), e))?;
        let json = serde_json::to_string_pretty(&r).expect("serializable") + "\n";
        for (name, text) in [
            ("report.json", json),
            ("report.csv", grade::csv(&r)),
            ("index.html", grade::html(&r)),
        ] {
            fs_err::write(dir.join(name), text).map_err(|e| Error::caused(doing(), e))?;
        }
        progress.note(&format!(
            "wrote {0}/report.json, {0}/report.csv and {0}/index.html",
            dir.display()
        ));
    }
    let rows: Vec<[String; 5]> = r
        .labs
        .iter()
        .map(|l| {
            let failed: Vec<&grade::GradedClaim> =
                l.claims.iter().filter(|c| !c.claim.ok).collect();
            let first = failed.first().map(|c| match &c.claim.because {
                Some(b) => format!("{} (because {b})", c.column),
                None => c.column.clone(),
            });
            [
                l.student.clone(),
                l.lab.clone(),
                format!("{}/{}", l.score, l.total),
                if l.error.is_some() {
                    "-".into()
                } else {
                    failed.len().to_string()
                },
                l.error.clone().or(first).unwrap_or_default(),
            ]
        })
        .collect();
    let mut text = super::table(
        ["STUDENT", "LAB", "SCORE", "FAILED", "FIRST FAILURE"],
        &rows,
    );
    let passing = r.labs.iter().filter(|l| l.ok).count();
    text.push_str(&format!(
        "\nClass `{}`: {passing} of {} labs pass every claim.\n",
        class.name,
        r.labs.len()
    ));
    emit(out, &text)?;
    Ok(if passing == r.labs.len() {
        EXIT_OK
    } else {
        EXIT_FAILURE
    })
}

/// One student's lab verified and graded.
async fn verify_lab(
    class: &Class,
    student: &str,
    global: &Global,
    progress: &dyn Progress,
) -> crate::grade::LabReport {
    use crate::grade::LabReport;
    let name = class.lab(student);
    progress.begin(&name, None, "verifying");
    // On the engine its record names, whatever the environment names:
    // the class file says where its labs run.
    let record = record_of(&name, global);
    let global = match record.as_ref().and_then(|r| r.engine.clone()) {
        Some(e) => global.on(&e),
        None => global.clone(),
    };
    let claims = async {
        // A lab with no record was never brought up (its name is no stack).
        if record.is_none() {
            return Err(Error::failure(format!("lab `{name}` is not up")));
        }
        let lab = super::lab_to_verify(&name, "class verify", &global).await?;
        let l = &lab.loaded;
        crate::verify::run(
            &*lab.driver,
            &l.topo,
            &l.plan,
            &l.secrets,
            &crate::progress::Silent,
        )
        .await
    }
    .await;
    let report = LabReport::new(student, &name, claims.map_err(|e| e.headline()));
    let failed = report.claims.iter().filter(|c| !c.claim.ok).count();
    progress.finish(
        &name,
        report.ok,
        &match &report.error {
            Some(e) => e.clone(),
            None => format!("{} claims, {failed} failed", report.claims.len()),
        },
    );
    report
}

/// The host port lab `lab`'s site is published on at `engine`, if it is.
async fn published(engine: &dyn Engine, lab: &str, port: u16) -> Result<Option<u16>> {
    match engine.driver_by_name(lab) {
        Some(driver) => driver.published(port).await,
        None => Ok(None),
    }
}
