//! `infractl class up|status|down|verify FILE`: a lab per student of a
//! class file, each published for the learner's browser. The operations
//! are the class's (`crate::class`); here, their tables, JSON and exit
//! codes.

use std::io::Write;
use std::path::Path;

use super::{emit, emit_json, Global};
use crate::class::grade::{GradedClaim, LabReport};
use crate::class::{place, up::StudentLab};
use crate::error::{Result, EXIT_FAILURE, EXIT_OK};
use crate::progress::Progress;

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
    let placed = crate::class::up::place(file, global, progress).await?;
    if dry_run {
        return placement_report(&placed, json, out);
    }
    let class = placed.class.name.clone();
    crate::class::links::ensure(&global.root(), &placed.class, file)?;
    let labs = placed.bring_up(global, progress).await;
    if json {
        emit_json(out, &labs)?;
    } else {
        emit(out, &table(&labs))?;
        emit(out, &crate::class::up::up_summary(&class, &labs))?;
        emit(
            out,
            &format!(
                "Each student's link to the portal (`infractl serve`): `infractl class links {}`.\n",
                file.display()
            ),
        )?;
    }
    Ok(exit(labs.iter().all(|l| l.state == "up")))
}

/// `class up --dry-run`: where each lab would go, and nothing done.
fn placement_report(
    placed: &crate::class::up::Placed,
    json: bool,
    out: &mut dyn Write,
) -> Result<i32> {
    let labs = &placed.placement.labs;
    if json {
        let labs: Vec<super::report::PlacedLab> = labs
            .iter()
            .map(|p| super::report::PlacedLab {
                engine: placed.engine_name(p.engine),
                lab: p.lab.clone(),
                placed: match &p.how {
                    place::How::Kept => "kept",
                    place::How::New => "new",
                    place::How::Lost(_) => "unknown",
                },
                student: p.student.clone(),
            })
            .collect();
        let report = super::report::ClassPlacement {
            class: &placed.class.name,
            dry_run: true,
            labs: &labs,
            removed: &placed.leaving,
        };
        emit_json(out, &report)?;
        return Ok(EXIT_OK);
    }
    let rows: Vec<[String; 4]> = labs
        .iter()
        .map(|p| {
            [
                p.student.clone(),
                p.lab.clone(),
                placed.engine_name(p.engine).unwrap_or_default(),
                p.how.word(),
            ]
        })
        .collect();
    let mut text = super::table(["STUDENT", "LAB", "ENGINE", "PLACED"], &rows);
    text.push_str(&placed.summary());
    emit(out, &text)?;
    Ok(EXIT_OK)
}

/// The students' labs as `class up` and `class status` print them.
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

/// `class status`: each student's lab, and a line per engine that did not
/// answer; exit 1 unless every lab is up.
pub async fn status(file: &Path, json: bool, global: &Global, out: &mut dyn Write) -> Result<i32> {
    let status = crate::class::status::status(file, global).await?;
    if json {
        emit_json(out, &status.labs)?;
    } else {
        let mut text = table(&status.labs);
        for line in &status.silent {
            text.push_str(&format!("\n{line}"));
        }
        if !status.silent.is_empty() {
            text.push('\n');
        }
        emit(out, &text)?;
    }
    Ok(exit(status.all_up()))
}

/// `class down`: every lab of the class removed; exit 1 when some are
/// left (an engine did not answer, or failed).
pub async fn down(
    file: &Path,
    global: &Global,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<i32> {
    let down = crate::class::down::down(file, global, progress).await?;
    emit(out, &down.to_string())?;
    Ok(exit(down.done()))
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
    use crate::class::verify;
    let r = verify::verify(file, report, global, progress).await?;
    let rows: Vec<[String; 5]> = r.labs.iter().map(graded_row).collect();
    let mut text = super::table(
        ["STUDENT", "LAB", "SCORE", "FAILED", "FIRST FAILURE"],
        &rows,
    );
    text.push_str(&verify::summary(&r));
    emit(out, &text)?;
    Ok(exit(verify::passing(&r) == r.labs.len()))
}

/// A student's row of `class verify`: the score, how many claims failed,
/// and the first failure (or why the lab was not verified).
fn graded_row(l: &LabReport) -> [String; 5] {
    let failed: Vec<&GradedClaim> = l.claims.iter().filter(|c| !c.claim.ok).collect();
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
}

/// Exit 0 when everything asked for is so, else 1.
fn exit(ok: bool) -> i32 {
    if ok {
        EXIT_OK
    } else {
        EXIT_FAILURE
    }
}

/// How `class links` prints.
pub struct LinksOptions<'a> {
    pub url: &'a str,
    pub json: bool,
    pub csv: bool,
    pub revoke: Option<&'a str>,
    pub valid_for: Option<&'a str>,
}

/// `class links`: each student's personal link to the portal, and the
/// instructor's; with `revoke`, that student's link replaced first.
pub fn links(file: &Path, how: &LinksOptions, global: &Global, out: &mut dyn Write) -> Result<i32> {
    use crate::class::links;
    let class = crate::class::load(file)?;
    let root = global.root();
    // Both read before either is done: a wrong one changes nothing.
    let until = match how.valid_for {
        None => None,
        Some("never") => Some(None),
        Some(d) => {
            let seconds = links::parse_duration(d).map_err(|e| {
                crate::Error::usage(format!("--valid-for: {e}")).with_hint("90m, 8h, 7d, or never")
            })?;
            Some(Some(links::now() + seconds))
        }
    };
    if let Some(student) = how.revoke {
        links::revoke(&root, &class.name, student)?;
    }
    if let Some(until) = until {
        links::expire(&root, &class.name, until)?;
    }
    let all = links::links(&root, &class.name, how.url)?;
    let shown: Vec<&links::Link> = all
        .iter()
        .filter(|l| how.revoke.is_none_or(|s| l.who == s))
        .collect();
    if how.json {
        emit_json(out, &shown)?;
    } else if how.csv {
        let mut text = String::from("who,role,lab,url\n");
        for l in &shown {
            let role = if l.role == links::Role::Learner {
                "learner"
            } else {
                "instructor"
            };
            text.push_str(&format!(
                "{},{role},{},{}\n",
                l.who,
                l.lab.as_deref().unwrap_or(""),
                l.url
            ));
        }
        emit(out, &text)?;
    } else {
        let rows: Vec<[String; 3]> = shown
            .iter()
            .map(|l| {
                [
                    l.who.clone(),
                    l.lab.clone().unwrap_or_else(|| "(the class)".into()),
                    l.url.clone(),
                ]
            })
            .collect();
        emit(out, &super::table(["WHO", "LAB", "LINK"], &rows))?;
    }
    Ok(EXIT_OK)
}
