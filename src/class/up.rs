//! `class up`: every lab of the class placed first, the class refused
//! whole (nothing changed) when it does not fit; then the labs of
//! students gone removed, and every lab brought up on its engine, a few at
//! a time per engine, engines side by side; a class set an exercise has
//! each student's draw of its faults injected into their lab, once.

use std::path::Path;
use std::time::Instant;

use futures_util::StreamExt;
use serde::Serialize;

use super::engines::{self, locate, Reached, Site, Where};
use super::{place, Class};
use crate::driver::{Engine, Placement};
use crate::error::{count, Error, Result};
use crate::lab::state::StateDir;
use crate::ops::Global;
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

impl StudentLab {
    /// A lab that could not come up, and why (one line).
    fn failed(student: String, lab: String, engine: String, why: &str) -> StudentLab {
        StudentLab {
            engine,
            lab,
            state: format!("failed: {why}"),
            student,
            url: None,
        }
    }
}

/// A class placed whole, nothing changed yet: its engines as reached, the
/// labs of students gone, where each lab goes.
pub struct Placed {
    pub class: Class,
    pub sites: Vec<Site>,
    /// The labs of students gone from the class, which `class up` removes.
    pub leaving: Vec<String>,
    pub placement: place::Placement,
}

/// The class of `file` placed on its engines (an engine that did not
/// answer is a note); refused (exit 2, nothing changed) when it does not
/// fit, an error when no engine answered.
pub async fn place(file: &Path, global: &Global, progress: &dyn Progress) -> Result<Placed> {
    let class = super::load(file)?;
    // What a lab of the class holds, from its plan (addresses and secrets
    // do not change it).
    let stack = class.load_stack()?;
    let sites = engines::reach(&class, global).await;
    if sites.iter().all(|s| s.reached.is_err()) {
        return Err(engines::none_answered(sites, file));
    }
    for line in sites.iter().filter_map(Site::silence) {
        progress.note(&line);
    }
    let ours = engines::class_labs(&class, global);
    let leaving = engines::leaving(&class, &ours);
    let rooms = rooms(&sites, &ours, &stack)?;
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
    let placement = place::place(&rooms, &wanted, stack.memory_mb())
        .map_err(|r| r.error(&class.name, &stack.name, &file.display().to_string()))?;
    Ok(Placed {
        class,
        sites,
        leaving,
        placement,
    })
}

/// The class's engines as placement takes them: memory, what other labs
/// hold of it (at this stack's rate per server), free subnets.
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

impl Placed {
    /// The name of the engine of index `i`, as tables show it.
    pub fn engine_name(&self, i: Option<usize>) -> Option<String> {
        i.map(|i| self.sites[i].endpoint.to_string())
    }

    /// The lines under `class up --dry-run`'s table: how many labs go to
    /// each engine, the labs that would be removed, and that nothing was
    /// done.
    pub fn summary(&self) -> String {
        let names: Vec<String> = self.sites.iter().map(|s| s.endpoint.to_string()).collect();
        placement_summary(&self.class.name, &self.placement, &names, &self.leaving)
    }

    /// Carries the placement out: the labs of students gone removed (each
    /// a note), then every lab brought up on its engine. Each student's
    /// lab, in the class's order.
    pub async fn bring_up(mut self, global: &Global, progress: &dyn Progress) -> Vec<StudentLab> {
        self.remove_leaving(global, progress).await;
        let placement = std::mem::take(&mut self.placement.labs);
        let (jobs, failed_early) = jobs(&self.class, placement, &mut self.sites, global);
        for l in &failed_early {
            progress.begin(&l.lab, None, "placing");
            progress.finish(&l.lab, false, l.state.trim_start_matches("failed: "));
        }
        let mut labs = run_jobs(&self.sites, jobs, global, progress).await;
        labs.extend(failed_early);
        let students = &self.class.students;
        labs.sort_by_key(|l| students.iter().position(|s| *s == l.student));
        labs
    }

    /// Removes the labs of students gone from the class, each a note.
    async fn remove_leaving(&self, global: &Global, progress: &dyn Progress) {
        for lab in &self.leaving {
            let gone = match locate(lab, &self.sites, global) {
                Where::On(i) => match &self.sites[i].reached {
                    Ok(r) => engines::remove_lab(&*r.engine, lab, global)
                        .await
                        .map_err(|e| e.headline()),
                    Err(e) => Err(e.headline()),
                },
                Where::Unknown(engines) => {
                    Err(format!("it may be on {engines}, which did not answer"))
                }
                Where::Nowhere => engines::remove_state(lab, global).map_err(|e| e.headline()),
            };
            match gone {
                Ok(()) => progress.note(&format!("{lab}: its student left the class; removed")),
                Err(e) => progress.note(&format!("{lab}: its student left the class, but {e}")),
            }
        }
    }
}

/// `class up --dry-run`'s lines under the table, the engines named as in
/// `engines` (in the file's order).
fn placement_summary(
    class: &str,
    placement: &place::Placement,
    engines: &[String],
    leaving: &[String],
) -> String {
    // Per engine, in the file's order: how many labs, how many new.
    let mut per: Vec<String> = Vec::new();
    for (i, name) in engines.iter().enumerate() {
        let on: Vec<&place::Placed> = placement
            .labs
            .iter()
            .filter(|p| p.engine == Some(i))
            .collect();
        if on.is_empty() {
            continue;
        }
        let new = on.iter().filter(|p| p.how == place::How::New).count();
        per.push(format!("{} on {name} ({new} new)", on.len()));
    }
    let mut text = format!(
        "\nClass `{class}`: {} placed: {}.\n",
        count(placement.labs.len(), "lab"),
        if per.is_empty() {
            "none on an engine".to_string()
        } else {
            per.join(", ")
        }
    );
    if !leaving.is_empty() {
        text.push_str(&format!(
            "Their students gone, {} would be removed: {}.\n",
            count(leaving.len(), "lab"),
            leaving.join(", ")
        ));
    }
    text.push_str("Nothing was started or changed (--dry-run).\n");
    text
}

/// The line under `class up`'s table: how many labs are up, and on how
/// many engines when more than one.
pub fn up_summary(class: &str, labs: &[StudentLab]) -> String {
    format!(
        "\nClass `{class}`: {} of {} labs up{}.\n",
        labs.iter().filter(|l| l.state == "up").count(),
        labs.len(),
        spread(labs)
    )
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

/// Each placed lab made a job on its engine (jobs grouped per engine, in
/// the sites' order), or failed already: lost, or its engine gone.
fn jobs(
    class: &Class,
    placement: Vec<place::Placed>,
    sites: &mut [Site],
    global: &Global,
) -> (Vec<Vec<Job>>, Vec<StudentLab>) {
    let mut jobs: Vec<Vec<Job>> = sites.iter().map(|_| Vec::new()).collect();
    let mut failed = Vec::new();
    for place::Placed {
        student,
        lab,
        engine,
        how,
    } in placement
    {
        let job = match (how, engine) {
            (place::How::Lost(why), _) => Err(why),
            (_, None) => Err("placed on no engine".to_string()),
            (_, Some(i)) => {
                let site = &mut sites[i];
                match &mut site.reached {
                    Ok(r) => make_job(class, &student, &site.endpoint, r, global).map(|j| (i, j)),
                    Err(e) => Err(e.headline()),
                }
            }
        };
        match job {
            Ok((i, j)) => jobs[i].push(j),
            Err(e) => {
                let at = engine.map(|i| sites[i].endpoint.to_string());
                failed.push(StudentLab::failed(student, lab, at.unwrap_or_default(), &e));
            }
        }
    }
    (jobs, failed)
}

/// Every engine with labs to bring up gets what hosts are made from (the
/// node image, copied from one that has it, or built), then brings its
/// labs up, a few at once; engines side by side.
async fn run_jobs(
    sites: &[Site],
    jobs: Vec<Vec<Job>>,
    global: &Global,
    progress: &dyn Progress,
) -> Vec<StudentLab> {
    let sources: Vec<&dyn Engine> = sites
        .iter()
        .filter_map(|s| s.reached.as_ref().ok().map(|r| &*r.engine))
        .collect();
    let per_engine = sites.iter().zip(jobs).map(|(site, jobs)| {
        let sources = &sources;
        async move {
            let Ok(r) = &site.reached else {
                return Vec::new();
            };
            if jobs.is_empty() {
                return Vec::new();
            }
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
    futures_util::future::join_all(per_engine)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// A lab placed on its engine and subnets, its record written, its state
/// locked: ready to come up.
struct Job {
    student: String,
    name: String,
    /// The class's exercise, and the seed of this student's draw.
    exercise: Option<(crate::exercise::file::Exercise, u64)>,
    lab: crate::lab::Lab,
    state: StateDir,
    _lock: crate::lab::state::StackLock,
}

/// Places `student`'s lab on the engine `r`: subnets free there, recorded
/// with the engine and the class, its forwarder asked for (published
/// when the class says so).
fn make_job(
    class: &Class,
    student: &str,
    endpoint: &Placement,
    r: &mut Reached,
    global: &Global,
) -> std::result::Result<Job, String> {
    let name = class.lab(student);
    let state = global.state(&name);
    let placed = (|| {
        let lock = state.lock("class up")?;
        let lab = crate::lab::resolve(&class.stack, Some(&name), &global.root())?;
        let lab = crate::ops::up::place_among(lab, &r.subnets, &crate::progress::Silent)?;
        let before = crate::lab::read(&state);
        let mut record = lab.record();
        record.class = Some(class.name.clone());
        // The portal reaches the site through the forwarder; the engine's
        // host publishes it only when the class file says so.
        record.forwarder = true;
        record.publish = class
            .publish
            .then(|| before.as_ref().and_then(|r| r.publish).unwrap_or(0));
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
        exercise: class.exercise.clone().map(|e| (e, class.seed(student))),
        lab,
        state,
        _lock: lock,
    })
}

impl Job {
    fn failed(self, engine: &Placement, line: &str) -> StudentLab {
        StudentLab::failed(self.student, self.name, engine.to_string(), line)
    }

    async fn run(self, on: &dyn Engine, global: &Global, progress: &dyn Progress) -> StudentLab {
        let name = self.name.clone();
        progress.begin(&name, None, "coming up");
        let started = Instant::now();
        let engine = on.describe();
        // Published as its record says (any free port for a new lab).
        let r = crate::ops::up::bring_up(
            self.lab,
            on,
            &self.state,
            crate::ops::up::UpOptions::default(),
            global,
            &crate::progress::Silent,
        )
        .await;
        // The student's draw of the class's exercise, injected once.
        let r = match (r, &self.exercise) {
            (Ok(b), Some((exercise, seed))) => crate::exercise::record::start(
                exercise,
                *seed,
                &*b.driver,
                &b.topo,
                &b.plan,
                &self.state,
                &crate::progress::Silent,
            )
            .await
            .map(|_| b),
            (r, _) => r,
        };
        let secs = started.elapsed().as_secs_f64();
        match r {
            Ok(b) => {
                progress.finish(&name, true, &format!("up after {secs:.1} s"));
                StudentLab {
                    engine,
                    lab: name,
                    state: "up".to_string(),
                    student: self.student,
                    url: b.url,
                }
            }
            Err(e) => {
                let first = e.headline();
                progress.finish(&name, false, &first);
                StudentLab::failed(self.student, name, engine, &first)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(lab: &str, engine: Option<usize>, how: place::How) -> place::Placed {
        place::Placed {
            student: lab.trim_start_matches("c-").into(),
            lab: lab.into(),
            engine,
            how,
        }
    }

    fn lab(student: &str, engine: &str, state: &str) -> StudentLab {
        StudentLab {
            engine: engine.into(),
            lab: format!("c-{student}"),
            state: state.into(),
            student: student.into(),
            url: None,
        }
    }

    #[test]
    fn a_dry_run_counts_the_labs_per_engine_in_the_files_order() {
        let placement = place::Placement {
            labs: vec![
                placed("c-ann", Some(1), place::How::Kept),
                placed("c-ben", Some(0), place::How::New),
                placed("c-cat", Some(1), place::How::New),
                placed("c-dan", None, place::How::Lost("why".into())),
            ],
        };
        let engines = ["e0".to_string(), "e1".into(), "e2".into()];
        assert_eq!(
            placement_summary("c", &placement, &engines, &["c-old".into()]),
            "\nClass `c`: 4 labs placed: 1 on e0 (1 new), 2 on e1 (1 new).\n\
             Their students gone, 1 lab would be removed: c-old.\n\
             Nothing was started or changed (--dry-run).\n"
        );
        let lost = place::Placement {
            labs: vec![placed("c-dan", None, place::How::Lost("why".into()))],
        };
        assert_eq!(
            placement_summary("c", &lost, &engines, &[]),
            "\nClass `c`: 1 lab placed: none on an engine.\n\
             Nothing was started or changed (--dry-run).\n"
        );
    }

    #[test]
    fn the_summary_counts_labs_up_and_the_engines_they_are_on() {
        let labs = [
            lab("ann", "e0", "up"),
            lab("ben", "e1", "up"),
            lab("cat", "e2", "failed: no room"),
        ];
        assert_eq!(
            up_summary("c", &labs),
            "\nClass `c`: 2 of 3 labs up, on 2 engines.\n"
        );
        assert_eq!(
            up_summary("c", &labs[..1]),
            "\nClass `c`: 1 of 1 labs up.\n"
        );
        assert_eq!(
            up_summary("c", &labs[2..]),
            "\nClass `c`: 0 of 1 labs up.\n"
        );
    }

    #[test]
    fn labs_placed_nowhere_fail_before_any_job() {
        let mut sites = [
            engines::tests::site(1, Some(&[])),
            engines::tests::site(2, None),
        ];
        let class = crate::class::tests::ann_and_ben();
        let placement = vec![
            placed("c-ann", None, place::How::Lost("it may be on e2".into())),
            placed("c-ben", Some(1), place::How::New),
        ];
        let (jobs, failed) = jobs(&class, placement, &mut sites, &Global::default());
        assert!(jobs.iter().all(Vec::is_empty));
        let states: Vec<(&str, &str)> = failed
            .iter()
            .map(|l| (l.engine.as_str(), l.state.as_str()))
            .collect();
        let e2 = engines::tests::endpoint(2).to_string();
        assert_eq!(
            states,
            [
                ("", "failed: it may be on e2"),
                (e2.as_str(), "failed: 192.0.2.2 did not answer")
            ]
        );
    }
}
