//! `class verify`: every student's lab verified and graded (see `grade`),
//! labs on one engine one after another (verify times a failover: labs
//! verified at once on one machine would measure each other), engines
//! side by side; the report written as JSON, CSV and HTML when asked.

use std::path::Path;

use super::engines::record_of;
use super::grade::{self, LabReport, Report};
use super::Class;
use crate::error::{Error, Result};
use crate::ops::Global;
use crate::progress::Progress;

/// Verifies and grades every student's lab of the class of `file`, and
/// writes the report into `report` when given (a note says so).
pub async fn verify(
    file: &Path,
    report: Option<&Path>,
    global: &Global,
    progress: &dyn Progress,
) -> Result<Report> {
    let class = super::load(file)?;
    let engines: Vec<Option<String>> = class
        .students
        .iter()
        .map(|s| {
            record_of(&class.lab(s), global)
                .and_then(|r| r.engine)
                .map(|e| e.describe())
        })
        .collect();
    let class_ref = &class;
    let groups = by_engine(&class.students, &engines)
        .into_iter()
        .map(|students| async move {
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
        write(&r, dir)?;
        progress.note(&format!(
            "wrote {0}/report.json, {0}/report.csv and {0}/index.html",
            dir.display()
        ));
    }
    Ok(r)
}

/// The students grouped by the engine their lab is on (`engines`, one per
/// student), the groups in the order first met.
fn by_engine<'a>(students: &'a [String], engines: &[Option<String>]) -> Vec<Vec<&'a String>> {
    let mut groups: Vec<(&Option<String>, Vec<&String>)> = Vec::new();
    for (student, engine) in students.iter().zip(engines) {
        match groups.iter_mut().find(|(e, _)| *e == engine) {
            Some((_, v)) => v.push(student),
            None => groups.push((engine, vec![student])),
        }
    }
    groups.into_iter().map(|(_, v)| v).collect()
}

/// Writes the report into `dir`: `report.json`, `report.csv` and
/// `index.html`.
fn write(r: &Report, dir: &Path) -> Result<()> {
    let doing = || format!("cannot write the class report into {}", dir.display());
    fs_err::create_dir_all(dir).map_err(|e| Error::caused(doing(), e))?;
    let json = serde_json::to_string_pretty(r).expect("serializable") + "\n";
    for (name, text) in [
        ("report.json", json),
        ("report.csv", grade::csv(r)),
        ("index.html", grade::html(r)),
    ] {
        fs_err::write(dir.join(name), text).map_err(|e| Error::caused(doing(), e))?;
    }
    Ok(())
}

/// One student's lab verified and graded.
async fn verify_lab(
    class: &Class,
    student: &str,
    global: &Global,
    progress: &dyn Progress,
) -> LabReport {
    let name = class.lab(student);
    progress.begin(&name, None, "verifying");
    // On the engine its record names, whatever the environment names:
    // the class file says where its labs run.
    let record = record_of(&name, global);
    let global = match record.as_ref().and_then(|r| r.engine.clone()) {
        Some(e) => global.on(&e),
        None => global.clone(),
    };
    let verified = async {
        // A lab with no record was never brought up (its name is no stack).
        if record.is_none() {
            return Err(Error::failure(format!("lab `{name}` is not up")));
        }
        let lab = crate::ops::lab_to_verify(&name, "class verify", &global).await?;
        let l = &lab.loaded;
        let claims = crate::verify::run(
            &*lab.driver,
            &l.topo,
            &l.plan,
            &l.secrets,
            &crate::progress::Silent,
        )
        .await?;
        // The lab's exercise graded from the same claims, when it has one.
        let exercise = match crate::exercise::record::read(&l.state) {
            Some(r) if class.exercise.is_some() => {
                let now = crate::exercise::record::identities(&*lab.driver, &l.plan).await;
                let remade = crate::exercise::record::remade(&r, &now);
                Some(crate::exercise::record::outcome(
                    &r,
                    &claims,
                    remade,
                    crate::exercise::record::now(),
                ))
            }
            _ => None,
        };
        Ok((claims, exercise))
    }
    .await;
    let (claims, exercise) = match verified {
        Ok((c, e)) => (Ok(c), e),
        Err(e) => (Err(e.headline()), None),
    };
    let mut report = LabReport::new(student, &name, claims);
    report.exercise = exercise;
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

/// The line under `class verify`'s table: how many labs pass every
/// claim, and of a class set an exercise, how many fixed it.
pub fn summary(r: &Report) -> String {
    let mut s = format!(
        "\nClass `{}`: {} of {} labs pass every claim.\n",
        r.class,
        passing(r),
        r.labs.len()
    );
    let set: Vec<&crate::exercise::grade::Outcome> =
        r.labs.iter().filter_map(|l| l.exercise.as_ref()).collect();
    if let Some(first) = set.first() {
        s.push_str(&format!(
            "Exercise `{}`: {} of {} labs fixed it.\n",
            first.exercise,
            set.iter().filter(|o| o.ok()).count(),
            r.labs.len()
        ));
    }
    s
}

/// How many labs pass every claim.
pub fn passing(r: &Report) -> usize {
    r.labs.iter().filter(|l| l.ok).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labs_are_grouped_per_engine_in_the_order_first_met() {
        let students: Vec<String> = ["ann", "ben", "cat", "dan", "eve"]
            .map(String::from)
            .to_vec();
        let e = |s: &str| Some(s.to_string());
        let engines = [e("e1"), None, e("e2"), e("e1"), None];
        let groups: Vec<Vec<&str>> = by_engine(&students, &engines)
            .into_iter()
            .map(|g| g.into_iter().map(String::as_str).collect())
            .collect();
        assert_eq!(
            groups,
            [vec!["ann", "dan"], vec!["ben", "eve"], vec!["cat"]]
        );
    }

    #[test]
    fn the_summary_counts_the_labs_that_pass() {
        let pass = LabReport::new("ann", "c-ann", Ok(vec![]));
        let down = LabReport::new("ben", "c-ben", Err("lab `c-ben` is not up".into()));
        let r = grade::report("c", "task1", vec![pass, down]);
        assert_eq!(passing(&r), 1);
        assert_eq!(summary(&r), "\nClass `c`: 1 of 2 labs pass every claim.\n");
    }
}
