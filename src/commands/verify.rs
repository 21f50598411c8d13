//! `infractl verify`: every claim of the stack, checked on its running lab.
//! A failed claim's hint (where to look) follows its row, wrapped.

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

/// How wide a hint's lines are, at most (a command in backquotes that is
/// longer stays whole).
const HINT_WIDTH: usize = 100;

/// `text` in lines of at most `width` characters, broken between words
/// and never inside a command in backquotes (which may be longer).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for w in text.split(' ') {
        match words.last_mut() {
            Some(last) if last.matches('`').count() % 2 == 1 => {
                last.push(' ');
                last.push_str(w);
            }
            _ => words.push(w.to_string()),
        }
    }
    let mut lines: Vec<String> = Vec::new();
    for w in words {
        match lines.last_mut() {
            Some(l) if l.chars().count() + 1 + w.chars().count() <= width => {
                l.push(' ');
                l.push_str(&w);
            }
            _ => lines.push(w),
        }
    }
    lines
}

/// The table of `results`, each failed claim's hint under its row:
/// `  hint: ...`, its further lines under its first.
fn with_hints(table: &str, results: &[crate::verify::Claim]) -> String {
    let mut lines = table.lines();
    let mut text: String = lines.next().map(|h| format!("{h}\n")).unwrap_or_default();
    for (line, r) in lines.zip(results) {
        text.push_str(line);
        text.push('\n');
        if let Some(hint) = r.hint.as_deref().filter(|_| !r.ok) {
            for (i, l) in wrap(hint, HINT_WIDTH).iter().enumerate() {
                let lead = if i == 0 { "  hint: " } else { "        " };
                text.push_str(&format!("{lead}{l}\n"));
            }
        }
    }
    text
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
        let table = super::table(["CHECK", "EXPECTED", "OBSERVED", "RESULT", "TIME"], &rows);
        let mut text = with_hints(&table, &results);
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
            hint: None,
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

    #[test]
    fn a_hint_is_wrapped_between_words_never_inside_a_command() {
        let hint = "On lb-01, the `backend` of `/etc/haproxy/haproxy.cfg` lists the web servers; \
                    from lb-01, `nc -zv -w 1 10.102.1.11 80` tries it";
        let lines = wrap(hint, 30);
        assert_eq!(
            lines,
            [
                "On lb-01, the `backend` of",
                "`/etc/haproxy/haproxy.cfg`",
                "lists the web servers; from",
                "lb-01,",
                "`nc -zv -w 1 10.102.1.11 80`",
                "tries it",
            ]
        );
        assert_eq!(lines.join(" "), hint, "nothing lost");
        assert!(wrap(hint, 100).iter().all(|l| l.chars().count() <= 100));
    }

    #[test]
    fn a_failed_claim_s_hint_follows_its_row() {
        let claim = |check: &str, ok: bool, hint: Option<&str>| crate::verify::Claim {
            group: "firewall",
            check: check.into(),
            expected: "connects".into(),
            observed: if ok { "connected" } else { "dropped" }.into(),
            ok,
            ms: 1,
            because: None,
            hint: hint.map(str::to_string),
        };
        let results = [
            claim("a", true, None),
            claim(
                "b",
                false,
                Some("On server-01, `ufw status numbered` lists what it lets in"),
            ),
            claim("c", true, None),
        ];
        let table = "CHECK  RESULT\nfirewall: a  pass\nfirewall: b  FAIL\nfirewall: c  pass\n";
        assert_eq!(
            with_hints(table, &results),
            "CHECK  RESULT\nfirewall: a  pass\nfirewall: b  FAIL\n\
             \x20 hint: On server-01, `ufw status numbered` lists what it lets in\n\
             firewall: c  pass\n"
        );
    }
}
