//! `infractl verify`: every claim of the stack, checked on its running lab.

use std::io::Write;

use super::{emit, emit_json, Global};
use crate::error::{Result, EXIT_FAILURE, EXIT_OK};
use crate::progress::Progress;

/// At most `n` characters, the rest as `…` (the JSON keeps it all).
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

pub async fn run(
    stack: &str,
    json: bool,
    global: &Global,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<i32> {
    let lab = super::running_lab(stack, "verify", global).await?;
    let (topo, plan, secrets, driver) = (
        &lab.loaded.topo,
        &lab.loaded.plan,
        &lab.loaded.secrets,
        &lab.driver,
    );
    let results = crate::verify::run(driver, topo, plan, secrets, progress).await?;
    let failed = results.iter().filter(|r| !r.ok).count();
    if json {
        emit_json(
            out,
            &super::report::Checks {
                checks: &results,
                ok: failed == 0,
                stack: &plan.stack,
            },
        )?;
    } else {
        let rows: Vec<[String; 5]> = results
            .iter()
            .map(|r| {
                [
                    clip(&format!("{}: {}", r.group, r.check), 72),
                    clip(&r.expected, 48),
                    clip(&r.observed, 64),
                    if r.ok { "pass".into() } else { "FAIL".into() },
                    format!("{} ms", r.ms),
                ]
            })
            .collect();
        let mut text = super::table(["CHECK", "EXPECTED", "OBSERVED", "RESULT", "TIME"], &rows);
        text.push_str(&format!(
            "\n{} passed, {failed} failed\n",
            results.len() - failed
        ));
        emit(out, &text)?;
    }
    Ok(if failed == 0 { EXIT_OK } else { EXIT_FAILURE })
}
