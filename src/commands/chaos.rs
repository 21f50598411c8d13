//! `infractl chaos`: kills each server of a running lab in turn and checks
//! the site, comparing with `explain`; with `--answers`, a learner's
//! design review checked against what it saw (`crate::review`).

use std::io::Write;

use super::{emit, emit_json, Global};
use crate::chaos::ServerChaos;
use crate::error::{Result, EXIT_FAILURE, EXIT_OK};
use crate::progress::Progress;

/// `chaos STACK`: each server killed in turn, a row each, and whether
/// every result agrees with `explain`; exit 1 when one does not, when
/// alerts chaos raised are still firing, or when an answer of `answers`
/// (read before anything is killed) is wrong.
pub async fn run(
    args: &crate::cli::ChaosArgs,
    global: &Global,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<i32> {
    let (stack, json) = (args.stack.as_str(), args.json);
    let answers = match &args.answers {
        Some(path) => {
            let topo = crate::topology::Topology::build(super::resolve(stack, global)?.stack);
            Some(crate::review::load(path, &topo)?)
        }
        None => None,
    };
    let lab = super::running_lab(stack, "chaos", global).await?;
    let (topo, plan, driver) = (&lab.loaded.topo, &lab.loaded.plan, &lab.driver);
    let outcome = crate::chaos::run(driver.as_ref(), topo, plan, progress).await?;
    let graded = answers
        .as_ref()
        .map(|a| crate::review::grade(a, &outcome.rows));
    let wrong = graded.iter().flatten().filter(|g| !g.right).count();
    let quiet = outcome.quiet();
    let crate::chaos::Outcome {
        rows: results,
        settled,
    } = outcome;
    let disagree = results.iter().filter(|r| !r.agrees).count();
    if json {
        emit_json(
            out,
            &super::report::Chaos {
                agrees: disagree == 0,
                alerts_after: settled.as_ref(),
                answers: graded.as_deref(),
                servers: &results,
                stack: &plan.stack,
            },
        )?;
    } else {
        let mut t = text(&results, settled.as_ref());
        if let Some(g) = &graded {
            t.push_str(&review_text(g));
        }
        emit(out, &t)?;
    }
    // A lab left with alerts chaos raised is not the lab it found.
    Ok(if disagree == 0 && quiet && wrong == 0 {
        EXIT_OK
    } else {
        EXIT_FAILURE
    })
}

/// The table of servers killed (an ALERT column when the lab's monitoring
/// watched), which were fatal alone, whether every result agrees with
/// `explain`, and whether the alerts resolved.
fn text(results: &[ServerChaos], settled: Option<&crate::chaos::Settled>) -> String {
    let watched = results.iter().any(|r| r.alert.is_some());
    let rows: Vec<Vec<String>> = results.iter().map(|r| row(r, watched)).collect();
    let mut head = vec!["KILLED", "ROLE", "SITE", "READS", "WRITES", "RECOVERY"];
    if watched {
        head.push("ALERT");
    }
    head.push("EXPLAIN");
    let mut text = super::table_of(&head, &rows);
    let fatal: Vec<&str> = results
        .iter()
        .filter(|r| !r.site)
        .map(|r| r.server.as_str())
        .collect();
    let disagree = results.iter().filter(|r| !r.agrees).count();
    text.push_str(&format!(
        "\nFatal alone: {}. {}\n",
        if fatal.is_empty() {
            "none".to_string()
        } else {
            fatal.join(", ")
        },
        if disagree == 0 {
            "Every result agrees with `infractl explain`.".to_string()
        } else {
            format!("{disagree} results disagree with `infractl explain`.")
        }
    ));
    if let Some(s) = settled {
        text.push_str(&s.line());
        text.push('\n');
    }
    text
}

/// The learner's answers against what chaos saw, and how many are right.
fn review_text(graded: &[crate::review::Graded]) -> String {
    let rows: Vec<Vec<String>> = graded
        .iter()
        .map(|g| {
            vec![
                g.question.clone(),
                g.answer.clone(),
                g.observed.clone(),
                if g.right { "right" } else { "WRONG" }.to_string(),
            ]
        })
        .collect();
    let right = graded.iter().filter(|g| g.right).count();
    format!(
        "\nThe answers, against what chaos saw:\n{}\n{right} of {} right.\n",
        super::table_of(&["QUESTION", "ANSWER", "CHAOS SAW", ""], &rows),
        graded.len()
    )
}

/// A killed server's row.
fn row(r: &ServerChaos, watched: bool) -> Vec<String> {
    let yn = |b: bool| if b { "ok" } else { "DOWN" }.to_string();
    let mut row = vec![
        r.server.clone(),
        r.roles.join(","),
        yn(r.site),
        yn(r.reads),
        yn(r.writes),
        format!("{:.1} s", r.recovery_s),
    ];
    if watched {
        row.push(r.alert.as_ref().map(|a| a.cell()).unwrap_or_default());
    }
    row.push(if r.agrees {
        "agrees".to_string()
    } else {
        format!("DISAGREES: predicted {}", r.predicted)
    });
    row
}
