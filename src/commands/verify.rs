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

/// ` (9 because server-02 is not running)`: the failures a server that is
/// not running explains, by server; empty when none does.
fn because(results: &[crate::verify::Claim]) -> String {
    let mut by: Vec<(&str, usize)> = Vec::new();
    for b in results.iter().filter_map(|r| r.because.as_deref()) {
        match by.iter_mut().find(|(w, _)| *w == b) {
            Some((_, n)) => *n += 1,
            None => by.push((b, 1)),
        }
    }
    if by.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = by.iter().map(|(b, n)| format!("{n} because {b}")).collect();
    format!(" ({})", parts.join("; "))
}

pub async fn run(
    stack: &str,
    json: bool,
    global: &Global,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<i32> {
    let lab = super::lab_to_verify(stack, "verify", global).await?;
    let (topo, plan, secrets, driver) = (
        &lab.loaded.topo,
        &lab.loaded.plan,
        &lab.loaded.secrets,
        &lab.driver,
    );
    let results = crate::verify::run(driver.as_ref(), topo, plan, secrets, progress).await?;
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
            "\n{} passed, {failed} failed{}\n",
            results.len() - failed,
            because(&results)
        ));
        emit(out, &text)?;
    }
    Ok(if failed == 0 { EXIT_OK } else { EXIT_FAILURE })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_counts_the_failures_a_dead_server_explains() {
        let claim = |ok: bool, because: Option<&str>| crate::verify::Claim {
            group: "firewall",
            check: "x".into(),
            expected: "e".into(),
            observed: "o".into(),
            ok,
            ms: 1,
            because: because.map(str::to_string),
        };
        let down = Some("server-02 is not running");
        assert_eq!(because(&[claim(true, None), claim(false, None)]), "");
        assert_eq!(
            because(&[
                claim(false, down),
                claim(true, None),
                claim(false, None),
                claim(false, down),
                claim(false, Some("ns is not running")),
            ]),
            " (2 because server-02 is not running; 1 because ns is not running)"
        );
    }
}
