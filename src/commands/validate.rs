//! `infractl validate`: renders the stack and runs every file through the
//! program that will read it, in containers of the node image. Given an
//! exercise, the exercise is checked first (its faults in the catalogue
//! and applying to its stack, its checks ones they can fail), then its
//! stack's files.

use std::io::Write;
use std::sync::Arc;

use super::{emit, emit_json, plan_for, Global};
use crate::error::{Result, EXIT_FAILURE, EXIT_OK};
use crate::progress::Progress;

pub async fn run(
    stack: &str,
    json: bool,
    global: &Global,
    progress: Arc<dyn Progress>,
    out: &mut dyn Write,
) -> Result<i32> {
    let exercise = crate::exercise::file::find(stack).transpose()?;
    if let Some(e) = &exercise {
        progress.note(&format!(
            "Exercise `{}` on stack `{}`: its faults ({}) apply to the stack, and {}.",
            e.name,
            e.stack,
            e.faults_text(),
            match e.checks.len() {
                0 => "the claims they break grade it".to_string(),
                _ => format!("each of its checks ({}) can fail", e.checks.join(", ")),
            }
        ));
    }
    let stack = exercise.as_ref().map_or(stack, |e| e.stack.as_str());
    let (_, plan) = plan_for(stack, global)?;
    // Files are checked on an engine, whatever hosts the lab runs on.
    let choice = crate::driver::Choice {
        inventory: None,
        ..global.choice.clone()
    };
    let at = crate::driver::named(&choice)?
        .ok_or_else(|| crate::Error::usage("no engine to check the files on"))?;
    let engine = crate::driver::engine_at(&at).await?;
    let checks = engine
        .checks()
        .ok_or_else(|| crate::Error::usage(format!("the engine {at} cannot check files")))?;
    let results = checks.check(&plan, progress).await?;
    let failed: Vec<_> = results.iter().filter(|r| !r.ok).collect();
    if json {
        emit_json(
            out,
            &super::report::Checks {
                checks: &results,
                ok: failed.is_empty(),
                stack: &plan.stack,
            },
        )?;
    } else {
        let rows: Vec<[String; 4]> = results
            .iter()
            .map(|r| {
                [
                    r.server.clone(),
                    r.program.clone(),
                    if r.ok { "ok".into() } else { "FAILED".into() },
                    r.file.clone(),
                ]
            })
            .collect();
        let mut text = super::table(["SERVER", "PROGRAM", "RESULT", "FILE"], &rows);
        for r in &failed {
            text.push_str(&format!(
                "\n{}: {} rejected {}:\n",
                r.server, r.program, r.file
            ));
            for line in r.message.lines() {
                text.push_str(&format!("    {line}\n"));
            }
        }
        text.push_str(&format!(
            "\n{} passed, {} failed ({} servers of stack `{}`)\n",
            results.len() - failed.len(),
            failed.len(),
            plan.servers.iter().filter(|s| !s.checks.is_empty()).count(),
            plan.stack
        ));
        emit(out, &text)?;
    }
    Ok(if failed.is_empty() {
        EXIT_OK
    } else {
        EXIT_FAILURE
    })
}
