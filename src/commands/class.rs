//! `infractl class up|status|down FILE`: a lab per student of a class
//! file, each published for the learner's browser.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use futures_util::StreamExt;
use serde::Serialize;

use super::{emit, emit_json, Global};
use crate::class::Class;
use crate::driver::docker::DockerEngine;
use crate::driver::{DownOptions, Driver};
use crate::error::{Error, Result, EXIT_FAILURE, EXIT_OK};
use crate::progress::Progress;
use crate::state::StateDir;

/// Labs brought up at once: each lab's bring-up already runs its servers
/// in parallel on the engine's cores.
const AT_ONCE: usize = 2;

/// One student's lab, as `class up` and `class status` show it.
#[derive(Debug, Serialize)]
pub struct StudentLab {
    pub engine: String,
    pub lab: String,
    /// `up`, `failed: ...`, `absent`, or `N of M running`.
    pub state: String,
    pub student: String,
    pub url: Option<String>,
}

fn root(global: &Global) -> std::path::PathBuf {
    crate::state::root(global.state_dir.as_deref())
}

/// The labs of `class` on the engine whose student is no longer listed.
async fn gone(class: &Class, engine: &DockerEngine, global: &Global) -> Result<Vec<String>> {
    let prefix = format!("{}-", class.name);
    let listed: Vec<String> = class.students.iter().map(|s| class.lab(s)).collect();
    Ok(engine
        .labs()
        .await?
        .into_iter()
        .map(|l| l.lab)
        .filter(|l| l.starts_with(&prefix) && !listed.contains(l))
        .filter(|l| {
            crate::lab::read(&StateDir::new(&root(global), l))
                .is_some_and(|r| r.class.as_deref() == Some(class.name.as_str()))
        })
        .collect())
}

/// Removes a lab and its state.
async fn remove_lab(engine: &DockerEngine, lab: &str, global: &Global) -> Result<()> {
    engine.lab(lab).destroy(&DownOptions::default()).await?;
    let state = StateDir::new(&root(global), lab);
    if state.path.exists() {
        fs_err::remove_dir_all(&state.path)
            .map_err(|e| Error::caused(format!("cannot delete the state of lab `{lab}`"), e))?;
    }
    Ok(())
}

pub async fn up(
    file: &Path,
    global: &Global,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<i32> {
    let class = crate::class::load(file)?;
    let engine = DockerEngine::connect().await?;
    for lab in gone(&class, &engine, global).await? {
        remove_lab(&engine, &lab, global).await?;
        progress.note(&format!("{lab}: its student left the class; removed"));
    }
    // Placed one after another, each lab's subnets taken before the next
    // is placed; then brought up a few at once.
    let mut in_use = engine.subnets_in_use().await?;
    let mut placed = Vec::new();
    for student in &class.students {
        let name = class.lab(student);
        let state = StateDir::new(&root(global), &name);
        let lock = state.lock("class up")?;
        let lab = crate::lab::resolve(&class.stack, Some(&name), &root(global))?;
        let lab = super::up::place_among(lab, &in_use, &crate::progress::Silent)?;
        in_use.extend(
            lab.stack
                .networks
                .iter()
                .map(|n| (Some(name.clone()), n.subnet)),
        );
        let mut record = lab.record();
        record.class = Some(class.name.clone());
        record.publish = crate::lab::read(&state).and_then(|r| r.publish).or(Some(0));
        crate::lab::write(&state, &record)?;
        placed.push((student.clone(), lab, state, lock));
    }
    engine.ensure_image(progress).await?;
    let jobs = placed.into_iter().map(|(student, lab, state, _lock)| {
        let name = lab.stack.name.clone();
        async move {
            progress.begin(&name, None, "coming up");
            let started = Instant::now();
            let quiet = crate::progress::Silent;
            // Published as its record says (any free port for a new lab).
            let r = super::up::bring_up(
                lab,
                &state,
                None,
                crate::apply::READY_SECONDS,
                global,
                &quiet,
            )
            .await;
            let secs = started.elapsed().as_secs_f64();
            let (state_text, url) = match r {
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
                engine: String::new(),
                lab: name,
                state: state_text,
                student,
                url,
            }
        }
    });
    let mut labs: Vec<StudentLab> = futures_util::stream::iter(jobs)
        .buffer_unordered(AT_ONCE)
        .collect()
        .await;
    for l in &mut labs {
        l.engine = engine.address.clone();
    }
    labs.sort_by_key(|l| class.students.iter().position(|s| *s == l.student));
    let failed = labs.iter().filter(|l| l.state != "up").count();
    emit(out, &table(&labs))?;
    emit(
        out,
        &format!(
            "\nClass `{}`: {} of {} labs up.\n",
            class.name,
            labs.len() - failed,
            labs.len()
        ),
    )?;
    Ok(if failed == 0 { EXIT_OK } else { EXIT_FAILURE })
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

pub async fn status(file: &Path, json: bool, out: &mut dyn Write) -> Result<i32> {
    let class = crate::class::load(file)?;
    // Every lab runs the class's stack: where its site is, asked once.
    let topo = crate::topology::Topology::load(&class.stack)?;
    let engine = DockerEngine::connect().await?;
    let mut labs = Vec::new();
    for student in &class.students {
        let name = class.lab(student);
        let driver = engine.lab(&name);
        let hosts = driver.hosts().await?;
        let running = hosts.iter().filter(|h| h.running).count();
        let state = match (hosts.len(), running) {
            (0, _) => "absent".to_string(),
            (n, r) if n == r => "up".to_string(),
            (n, r) => format!("{r} of {n} running"),
        };
        let url = driver
            .published(topo.site_port())
            .await?
            .map(|p| super::site_url(&topo, p));
        labs.push(StudentLab {
            engine: engine.address.clone(),
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
        emit(out, &table(&labs))?;
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
    let engine = DockerEngine::connect().await?;
    let mut labs: Vec<String> = class.students.iter().map(|s| class.lab(s)).collect();
    labs.extend(gone(&class, &engine, global).await?);
    for lab in &labs {
        let _lock = StateDir::new(&root(global), lab).lock("class down")?;
        remove_lab(&engine, lab, global).await?;
        progress.note(&format!("{lab}: removed"));
    }
    emit(
        out,
        &format!(
            "Class `{}` is down: {} removed, with their state.\n",
            class.name,
            super::count(labs.len(), "lab")
        ),
    )?;
    Ok(EXIT_OK)
}

/// Verifies every student's lab, one after another (verify times a
/// failover: labs verified at once would measure each other), and writes
/// the report into `report` when given.
pub async fn verify(
    file: &Path,
    report: Option<&Path>,
    global: &Global,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<i32> {
    use crate::grade::{self, LabReport};
    let class = crate::class::load(file)?;
    let mut labs = Vec::new();
    for student in &class.students {
        let name = class.lab(student);
        progress.begin(&name, None, "verifying");
        let claims = async {
            let lab = super::running_lab(&name, "class verify", global).await?;
            let l = &lab.loaded;
            crate::verify::run(
                &lab.driver,
                &l.topo,
                &l.plan,
                &l.secrets,
                &crate::progress::Silent,
            )
            .await
        }
        .await;
        let (claims, error) = match claims {
            Ok(c) => (c, None),
            Err(e) => {
                let first = e.headline();
                (Vec::new(), Some(first))
            }
        };
        let failed = claims.iter().filter(|c| !c.ok).count();
        let ok = error.is_none() && failed == 0;
        progress.finish(
            &name,
            ok,
            &match &error {
                Some(e) => e.clone(),
                None => format!("{} claims, {failed} failed", claims.len()),
            },
        );
        labs.push(LabReport {
            student: student.clone(),
            lab: name,
            ok,
            claims: grade::grade(claims),
            error,
        });
    }
    let r = grade::Report {
        class: class.name.clone(),
        stack: class.stack.clone(),
        columns: grade::columns(&labs),
        labs,
    };
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
            [
                l.student.clone(),
                l.lab.clone(),
                (l.claims.len() - failed.len()).to_string(),
                if l.error.is_some() {
                    "-".into()
                } else {
                    failed.len().to_string()
                },
                l.error
                    .clone()
                    .or_else(|| failed.first().map(|c| c.column.clone()))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    let mut text = super::table(
        ["STUDENT", "LAB", "PASSED", "FAILED", "FIRST FAILURE"],
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
