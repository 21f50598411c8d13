//! Exercises on the command line: `infractl up EXERCISE` (its stack
//! brought up as a lab of the exercise's name, its faults injected once,
//! its text printed for the learner) and `infractl check LAB` (the
//! learner's own check: which of the exercise's checks are fixed, where
//! to look for the others).

use std::io::Write;
use std::time::Instant;

use serde::Serialize;

use super::{emit, emit_json, status, Global};
use crate::error::{Result, EXIT_FAILURE, EXIT_OK};
use crate::exercise::file::Exercise;
use crate::exercise::grade::Graded;
use crate::exercise::record::{self, Record};
use crate::ops::check::Checked;
use crate::ops::up::Brought;
use crate::progress::Progress;

/// What `up EXERCISE --json` says of the exercise, beside what `up` says.
#[derive(Serialize)]
struct Shown<'a> {
    name: &'a str,
    title: &'a str,
    text: &'a str,
    /// Seconds since the epoch when its faults went in.
    injected_at: u64,
    /// This `up` injected them (else an earlier one had).
    injected_now: bool,
}

#[derive(Serialize)]
struct UpReport<'a> {
    #[serde(flatten)]
    up: super::report::Up<'a>,
    exercise: Shown<'a>,
}

/// `up STACK` (see `up::run`), or `up EXERCISE`.
pub async fn up_any(
    args: &crate::cli::UpArgs,
    global: &Global,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<i32> {
    match crate::exercise::file::find(&args.stack).transpose()? {
        Some(exercise) => up(exercise, args, global, progress, out).await,
        None => super::up::run(args, global, progress, out).await,
    }
}

/// `up EXERCISE`: the exercise's stack brought up as the lab `--lab`
/// names (else the exercise's), its faults injected unless the lab has
/// them already, then the lab and the exercise's text for the learner.
pub async fn up(
    exercise: Exercise,
    args: &crate::cli::UpArgs,
    global: &Global,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<i32> {
    let global = &global.for_lab(Some(
        global.lab.clone().unwrap_or_else(|| exercise.name.clone()),
    ));
    if args.dry_run {
        return super::up::dry_run(&exercise.stack, args.json, global, out).await;
    }
    let started = Instant::now();
    let (brought, _lock) =
        super::up::interruptible_up(&exercise.stack, args, global, progress).await?;
    let Brought {
        topo,
        plan,
        driver,
        outcomes,
        url,
    } = brought;
    let state = global.state(&plan.stack);
    let (record, now) = record::start(
        &exercise, args.seed, &*driver, &topo, &plan, &state, progress,
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let report = crate::ops::status::collect(&*driver, &plan).await?;
    if args.json {
        emit_json(
            out,
            &UpReport {
                up: super::report::Up {
                    changes: &outcomes,
                    seconds,
                    servers: &report,
                    stack: &plan.stack,
                    url: url.as_deref(),
                },
                exercise: Shown {
                    name: &record.exercise,
                    title: &record.title,
                    text: &record.text,
                    injected_at: record.injected_at,
                    injected_now: now,
                },
            },
        )?;
        return Ok(EXIT_OK);
    }
    let summary = super::up::Summary {
        stack: &plan.stack,
        origin: &plan.origin,
        outcomes: &outcomes,
        seconds,
    };
    let mut text = format!("{summary}\n{}", status::table(&report));
    text.push_str(&learner_text(&record, &plan.stack, now));
    emit(out, &text)?;
    for note in super::up::site_notes(&topo, &plan, url.as_deref()) {
        progress.note(&note);
    }
    Ok(EXIT_OK)
}

/// The exercise as the learner reads it: its title, its text, and how to
/// check; never the faults.
fn learner_text(r: &Record, lab: &str, now: bool) -> String {
    let rule = "─".repeat(r.title.chars().count().min(70));
    let mut t = format!("\nExercise: {}\n{rule}\n\n", r.title);
    for line in r.text.trim_end().lines() {
        t.push_str(format!("  {line}").trim_end());
        t.push('\n');
    }
    if !now {
        t.push_str(&format!(
            "\n(The exercise was set on this lab {} ago; this `up` changed nothing of it.)\n",
            ago(record::now().saturating_sub(r.injected_at))
        ));
    }
    t.push_str(&format!(
        "\nWhen you think it is fixed: infractl check {lab}\n"
    ));
    t
}

/// `42 s`, `12 min`, `3 h 5 min`.
fn ago(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// `check --json`.
#[derive(Serialize)]
struct CheckReport<'a> {
    lab: &'a str,
    title: &'a str,
    /// Every check is fixed, and the lab counts.
    ok: bool,
    fixed: usize,
    total: usize,
    checks: &'a [Graded],
    /// The servers re-made since the injection (the attempt does not
    /// count unless the exercise allows it).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    remade: &'a [String],
    counts: bool,
    injected_at: u64,
    seconds_since_injection: u64,
}

/// `check LAB`: exit 0 when every check of the exercise is fixed, 1 when
/// not yet or the lab was re-made.
pub async fn check(
    lab: &str,
    json: bool,
    global: &Global,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<i32> {
    let c = crate::ops::check::checked(lab, global, progress).await?;
    let code = if c.ok() { EXIT_OK } else { EXIT_FAILURE };
    let since = record::now().saturating_sub(c.record.injected_at);
    if json {
        emit_json(
            out,
            &CheckReport {
                lab,
                title: &c.record.title,
                ok: c.ok(),
                fixed: c.fixed(),
                total: c.graded.len(),
                checks: &c.graded,
                remade: &c.remade,
                counts: c.counts(),
                injected_at: c.record.injected_at,
                seconds_since_injection: since,
            },
        )?;
        return Ok(code);
    }
    emit(out, &check_text(&c, lab, since))?;
    Ok(code)
}

/// What `check` prints: the checks, fixed or not yet, each unfixed one's
/// hint under it; a lab re-made said first.
pub fn check_text(c: &Checked, lab: &str, since: u64) -> String {
    let mut t = format!("Exercise: {} (lab `{lab}`)\n\n", c.record.title);
    if !c.counts() {
        t.push_str(&format!(
            "The lab was reset (infractl up re-made its servers: {}): this attempt does not count.\n\n",
            crate::words::and_list(&c.remade)
        ));
    }
    for g in &c.graded {
        let mark = if g.fixed { "fixed  " } else { "not yet" };
        t.push_str(&format!("  {mark}  {}\n", g.check));
        if let Some(h) = &g.hint {
            t.push_str(&format!("           hint: {h}\n"));
        }
    }
    t.push_str(&format!(
        "\n{} of {} fixed, {} after the exercise was set.\n",
        c.fixed(),
        super::count(c.graded.len(), "check"),
        ago(since)
    ));
    if c.ok() {
        t.push_str("Every check is fixed: well done.\n");
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercise::record::Identity;

    fn checked(fixed: bool, remade: &[&str], allow_reset: bool) -> Checked {
        Checked {
            record: Record {
                exercise: "e".into(),
                reference: "e".into(),
                title: "A web server nobody visits".into(),
                text: "x".into(),
                drawn: vec![],
                checks: vec![],
                injected_at: 0,
                servers: vec![Identity {
                    server: "lb-01".into(),
                    id: "1".into(),
                }],
                allow_reset,
            },
            graded: vec![
                Graded {
                    check: "site: the page comes through every tier".into(),
                    fixed: true,
                    hint: None,
                },
                Graded {
                    check: "load balancing: requests are spread over the web servers".into(),
                    fixed,
                    hint: (!fixed).then(|| "On lb-01, look at /etc/haproxy/haproxy.cfg".into()),
                },
            ],
            remade: remade.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn check_says_what_is_fixed_and_where_to_look_for_the_rest() {
        let c = checked(false, &[], false);
        assert!(!c.ok());
        assert_eq!(
            check_text(&c, "alice", 754),
            "Exercise: A web server nobody visits (lab `alice`)\n\n  \
             fixed    site: the page comes through every tier\n  \
             not yet  load balancing: requests are spread over the web servers\n           \
             hint: On lb-01, look at /etc/haproxy/haproxy.cfg\n\n\
             1 of 2 checks fixed, 12 min after the exercise was set.\n"
        );
        assert!(checked(true, &[], false).ok());
    }

    #[test]
    fn a_lab_remade_does_not_count_unless_the_exercise_allows_it() {
        let c = checked(true, &["lb-01", "server-01"], false);
        assert!(!c.ok());
        assert!(check_text(&c, "alice", 5).contains(
            "The lab was reset (infractl up re-made its servers: lb-01 and server-01): this attempt does not count."
        ));
        assert!(checked(true, &["lb-01"], true).ok());
    }

    #[test]
    fn up_prints_the_title_and_text_never_the_faults() {
        let mut r = checked(true, &[], false).record;
        r.text = "The site **answers**.\n\nFind out why.\n".into();
        r.drawn = vec![crate::exercise::record::Drawn {
            fault: "haproxy-backend-left-out".into(),
            seed: 0,
            server: "server-02".into(),
        }];
        let t = learner_text(&r, "alice", true);
        assert!(t.contains("Exercise: A web server nobody visits\n"));
        assert!(t.contains("  The site **answers**.\n\n  Find out why.\n"));
        assert!(t.ends_with("When you think it is fixed: infractl check alice\n"));
        assert!(!t.contains("left-out") && !t.contains("server-02"));
    }
}
