//! `infractl up`: brings a stack up on the local Docker engine (or the one
//! `DOCKER_HOST` names, or hosts over SSH), doing only what changed since
//! the last `up`. The result (what changed, the servers' table) goes to
//! stdout; how to reach the site is a status note on stderr.

use std::fmt;
use std::io::Write;
use std::time::Instant;

use super::{emit, emit_json, status, Global};
use crate::apply::{Action, Outcome};
use crate::error::{Error, Result};
use crate::ops::up::{bring_up, place, Brought, UpOptions};
use crate::progress::Progress;
use crate::render::plan::Plan;

/// `up STACK`: the lab brought up (placed, applied, published when asked),
/// then what changed and the servers' table; with `--dry-run`, what would
/// change.
pub async fn run(
    args: &crate::cli::UpArgs,
    global: &Global,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<i32> {
    let (stack, json) = (args.stack.as_str(), args.json);
    if args.dry_run {
        return dry_run(stack, json, global, out).await;
    }
    let started = Instant::now();
    let (brought, _lock) = interruptible_up(stack, args, global, progress).await?;
    let Brought {
        topo,
        plan,
        driver,
        outcomes,
        url,
    } = brought;
    let elapsed = started.elapsed().as_secs_f64();
    let report = crate::ops::status::collect(&*driver, &plan).await?;
    if json {
        emit_json(
            out,
            &super::report::Up {
                changes: &outcomes,
                seconds: elapsed,
                servers: &report,
                stack: &plan.stack,
                url: url.as_deref(),
            },
        )?;
        return Ok(0);
    }
    let summary = Summary {
        stack: &plan.stack,
        origin: &plan.origin,
        outcomes: &outcomes,
        seconds: elapsed,
    };
    emit(out, &format!("{summary}\n{}", status::table(&report)))?;
    for note in site_notes(&topo, &plan, url.as_deref()) {
        progress.note(&note);
    }
    Ok(0)
}

/// The lab of `stack` (as `args` say) placed on its engine and brought up, with the lock
/// on its state (held until the command is done); Ctrl-C during the
/// bring-up is ours: it says how to go on from there.
pub(super) async fn interruptible_up(
    stack: &str,
    args: &crate::cli::UpArgs,
    global: &Global,
    progress: &dyn Progress,
) -> Result<(Brought, crate::lab::state::StackLock)> {
    let lab = super::resolve(stack, global)?;
    let state = global.state(&lab.stack.name);
    let lock = state.lock("up")?;
    let engine = super::engine_of(&lab.stack.name, global).await?;
    let lab = place(lab, &*engine, progress).await?;
    let name = lab.stack.name.clone();
    let _ctrl_c = crate::interrupt::handle();
    tokio::select! {
        r = bring_up(lab, &*engine, &state, UpOptions {
            publish: args.publish,
            ready_seconds: args.timeout,
            discard_data: args.discard_data,
        }, global, progress) => {
            r.map(|b| (b, lock))
        }
        signal = crate::interrupt::signalled() => {
            Err(Error::Interrupted {
                message: format!("interrupted: lab `{name}` is partly up"),
                hint: None,
                signal,
            }
            .with_hint(format!(
                "`infractl up {name}` resumes where this stopped; `infractl down {name}` removes it"
            )))
        }
    }
}

/// What `up` says it did, above the servers' table: the servers made,
/// started, updated or removed (or that nothing changed), and each
/// change's notice and reloads.
pub struct Summary<'a> {
    /// The lab, and the stack it runs (its name when it is the stack's
    /// own lab).
    pub stack: &'a str,
    pub origin: &'a str,
    pub outcomes: &'a [Outcome],
    /// How long the bring-up took.
    pub seconds: f64,
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let elapsed = self.seconds;
        // A lab of another name says which stack it runs.
        let what = if self.origin == self.stack {
            format!("Lab `{}`", self.stack)
        } else {
            format!("Lab `{}` ({})", self.stack, self.origin)
        };
        let changed: Vec<&Outcome> = self
            .outcomes
            .iter()
            .filter(|o| o.action != Action::Unchanged)
            .collect();
        if changed.is_empty() {
            return writeln!(
                f,
                "{what} is up to date: {} unchanged, nothing touched ({elapsed:.2} s).",
                super::count(self.outcomes.len(), "server")
            );
        }
        writeln!(f, "{what} is up ({elapsed:.2} s):{}.", actions(&changed))?;
        for o in &changed {
            if let Some(n) = crate::apply::reconcile::notice(&o.server, &o.action, &o.why, &o.data)
            {
                writeln!(f, "  {n}")?;
            }
        }
        for o in changed.iter().filter(|o| !o.reloaded.is_empty()) {
            writeln!(f, "  {}: reloaded {}", o.server, o.reloaded.join(", "))?;
        }
        Ok(())
    }
}

/// ` created a, b; started c`: the servers changed, action by action.
fn actions(changed: &[&Outcome]) -> String {
    let parts: Vec<String> = [
        Action::Created,
        Action::Recreated,
        Action::Started,
        Action::Updated,
        Action::Removed,
    ]
    .iter()
    .filter_map(|a| {
        let names: Vec<&str> = changed
            .iter()
            .filter(|o| o.action == *a)
            .map(|o| o.server.as_str())
            .collect();
        (!names.is_empty()).then(|| format!(" {} {}", a.as_str(), names.join(", ")))
    })
    .collect();
    parts.join(";")
}

/// How to reach the site once the lab is up: from the user's computer
/// (the stack's client), and published on this machine at `url`.
pub(super) fn site_notes(
    topo: &crate::topology::Topology,
    plan: &Plan,
    url: Option<&str>,
) -> Vec<String> {
    let mut notes = Vec::new();
    let scheme = if topo.tls() { "https" } else { "http" };
    if let Some(client) = topo.with_role(crate::topology::Role::Client).next() {
        notes.push(format!(
            "\nThe site, from the user's computer:\n  infractl exec {0} {1} -- curl -s {scheme}://www.{2}/",
            plan.stack, client.name, plan.domain
        ));
    }
    if let Some(url) = url {
        let trust = if topo.tls() {
            format!(
                " (a browser trusts it once it trusts `infractl ca {}`)",
                plan.stack
            )
        } else {
            String::new()
        };
        notes.push(format!(
            "\nThe site, published on this machine:\n  {url}{trust}"
        ));
    }
    notes
}

/// `up --dry-run`: what `up` would do to each server, and nothing done.
pub(super) async fn dry_run(
    stack: &str,
    json: bool,
    global: &Global,
    out: &mut dyn Write,
) -> Result<i32> {
    let (plan, decisions) = crate::ops::up::decide(stack, global).await?;
    if json {
        emit_json(
            out,
            &super::report::DryRun {
                decisions: &decisions,
                dry_run: true,
                stack: &plan.stack,
            },
        )?;
        return Ok(0);
    }
    let rows: Vec<[String; 4]> = decisions.iter().map(decision_row).collect();
    let changes = decisions
        .iter()
        .filter(|d| d.action != Action::Unchanged)
        .count();
    let mut text = super::table(["SERVER", "ACTION", "WHY", "WHAT"], &rows);
    text.push_str(&format!(
        "\nDry run: {} of lab `{}` would change; nothing was done.\n",
        super::count(changes, "server"),
        plan.stack
    ));
    let lost = crate::apply::reconcile::losses(&decisions);
    if !lost.is_empty() {
        let servers: Vec<&str> = lost.iter().map(|(s, _)| *s).collect();
        text.push_str(&format!(
            "`up` refuses it without --discard-data: the database of {} would be lost for good.\n",
            crate::words::and_list(&servers)
        ));
    }
    emit(out, &text)?;
    Ok(0)
}

/// A server's row of `up --dry-run`: what would be done to it, and why.
fn decision_row(d: &crate::apply::reconcile::Decision) -> [String; 4] {
    let mut what = Vec::new();
    if !d.files.is_empty() {
        what.push(format!("copy {}", super::count(d.files.len(), "file")));
    }
    for x in d
        .data
        .iter()
        .filter(|x| x.fate != crate::apply::reconcile::Fate::New)
    {
        what.push(x.describe());
    }
    for (verb, names) in [
        ("reload", &d.reload),
        ("enable", &d.enable),
        ("disable", &d.disable),
    ] {
        if !names.is_empty() {
            what.push(format!("{verb} {}", few(names)));
        }
    }
    [
        d.server.clone(),
        d.action.as_str().to_string(),
        d.why.clone(),
        what.join("; "),
    ]
}

/// Names, the first three only when there are more (`a, b, c, … (5 in all)`).
fn few(v: &[String]) -> String {
    if v.is_empty() {
        String::new()
    } else if v.len() > 3 {
        format!("{}, … ({} in all)", v[..3].join(", "), v.len())
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(server: &str, action: Action, reloaded: &[&str]) -> Outcome {
        Outcome {
            server: server.into(),
            action,
            files: 0,
            reloaded: reloaded.iter().map(|s| s.to_string()).collect(),
            why: String::new(),
            data: vec![],
        }
    }

    #[test]
    fn the_summary_names_the_servers_changed_action_by_action() {
        let outcomes = [
            outcome("web-02", Action::Started, &[]),
            outcome("web-01", Action::Created, &[]),
            outcome("lb-01", Action::Updated, &["haproxy"]),
            outcome("db-01", Action::Unchanged, &[]),
            outcome("web-03", Action::Created, &[]),
        ];
        let summary = Summary {
            stack: "task1",
            origin: "task1",
            outcomes: &outcomes,
            seconds: 12.345,
        };
        assert_eq!(
            summary.to_string(),
            "Lab `task1` is up (12.35 s): created web-01, web-03; started web-02; updated lb-01.\n  lb-01: reloaded haproxy\n"
        );
    }

    #[test]
    fn a_lab_with_nothing_changed_is_up_to_date() {
        let outcomes = [outcome("web-01", Action::Unchanged, &[])];
        let summary = Summary {
            stack: "task1-b",
            origin: "task1",
            outcomes: &outcomes,
            seconds: 0.5,
        };
        assert_eq!(
            summary.to_string(),
            "Lab `task1-b` (task1) is up to date: 1 server unchanged, nothing touched (0.50 s).\n"
        );
    }
}
