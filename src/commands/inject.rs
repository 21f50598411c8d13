//! `infractl inject LAB FAULT`: one fault of the catalogue injected into a
//! running lab, for learners to find and fix; what it broke in the
//! instructor's words, the claims of `verify` that now fail, and the
//! answer key. `infractl inject --list [STACK]`: the catalogue.

use std::io::Write;

use serde::Serialize;

use super::{emit, emit_json, Global};
use crate::error::{Result, EXIT_OK};
use crate::exercise::faults::{self, ClaimRef, Fit, FAULTS};
use crate::exercise::inject::Injected;
use crate::progress::Progress;
use crate::topology::Topology;

/// `inject --json`: the fault made, what now fails, and the answer key.
#[derive(Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    injected: &'a Injected,
    lab: &'a str,
}

/// `inject --list --json`: a fault of the catalogue, and where it fits
/// the stack asked about.
#[derive(Serialize)]
struct Listed {
    #[serde(skip_serializing_if = "Option::is_none")]
    applies: Option<bool>,
    hits: &'static str,
    name: &'static str,
    /// The servers of the stack it can hit.
    #[serde(skip_serializing_if = "Option::is_none")]
    servers: Option<Vec<String>>,
    /// Why it does not apply (yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    why_not: Option<String>,
    /// It would, once what it breaks there is stated.
    #[serde(skip)]
    not_yet: bool,
    what: &'static str,
}

/// `inject ...`: the catalogue with `--list`, else a fault injected.
pub async fn dispatch(
    args: &crate::cli::InjectArgs,
    global: &Global,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<i32> {
    match (args.list, &args.stack, &args.fault) {
        (false, Some(stack), Some(fault)) => {
            run(stack, fault, args.seed, args.json, global, progress, out).await
        }
        (_, stack, _) => list(stack.as_deref(), args.json, global, out),
    }
}

/// `inject LAB FAULT`: the fault injected into the running lab; exit 0
/// once it shows.
pub async fn run(
    stack: &str,
    fault: &str,
    seed: u64,
    json: bool,
    global: &Global,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<i32> {
    let fault = faults::find(fault)?;
    // Whether it applies is told from the stack alone, before the engine.
    let topo = Topology::build(super::resolve(stack, global)?.stack);
    fault.plan(&topo, seed, "")?;
    let lab = super::running_lab(stack, "inject", global).await?;
    let (topo, plan, driver) = (&lab.loaded.topo, &lab.loaded.plan, &lab.driver);
    progress.begin("inject", None, fault.name);
    let state = &lab.loaded.state;
    let injected =
        crate::exercise::inject::inject(driver.as_ref(), topo, plan, state, fault, seed).await;
    progress.finish(
        "inject",
        injected.is_ok(),
        &format!("{} on lab `{}`", fault.name, plan.stack),
    );
    let injected = injected?;
    if json {
        emit_json(
            out,
            &Report {
                injected: &injected,
                lab: &plan.stack,
            },
        )?;
    } else {
        emit(out, &text(&injected, &plan.stack))?;
    }
    Ok(EXIT_OK)
}

/// `group: … words …`, as a claim's check reads.
fn claim(c: &ClaimRef) -> String {
    format!("{}: …{}…", c.group, c.words)
}

/// What was injected, what fails, and the answer key, for the instructor.
fn text(i: &Injected, lab: &str) -> String {
    let b = &i.breakage;
    let mut t = format!(
        "Injected `{}` into lab `{lab}` (seed {}): it hits {}; it showed after {:.1} s.\n\n",
        b.fault, b.seed, b.server, i.shown_after_s
    );
    t.push_str(&format!(
        "What is broken (not for learners): {}.\n\n",
        b.what
    ));
    t.push_str(&format!(
        "The claims that now fail (`infractl verify {lab}`):\n"
    ));
    // The claims that fail on every run first.
    let mut breaks: Vec<&ClaimRef> = b.breaks.iter().collect();
    breaks.sort_by_key(|c| !c.surely);
    let rows: Vec<[String; 2]> = breaks
        .into_iter()
        .map(|c| {
            [
                claim(c),
                c.when.clone().unwrap_or_else(|| "always".to_string()),
            ]
        })
        .collect();
    for line in super::table(["CLAIM", "FAILS"], &rows).lines() {
        t.push_str(&format!("  {line}\n"));
    }
    t.push_str(&format!(
        "\nThe answer key: {}\n  On {}:\n",
        b.repair.text, b.repair.server
    ));
    for c in &b.repair.commands {
        t.push_str(&format!("    {c}\n"));
    }
    if let Some(a) = &b.alerts {
        t.push('\n');
        t.push_str(&alerts_text(a, i.fired_after_s));
    }
    t
}

/// The alerts a fault fires on a monitored lab, and their bounds.
fn alerts_text(a: &faults::Alerts, fired: Option<f64>) -> String {
    let mut t = match fired {
        Some(s) => format!(
            "The lab's alerts fired: {} after {s:.1} s (bound {} s: the longest `for:` of their rules on {}, a scrape, an evaluation and a probe, and a margin).\n",
            a.fire.join(", "),
            a.fire_within_s,
            a.server
        ),
        None => "No alert of the lab fires for it surely.\n".to_string(),
    };
    if let Some(w) = &a.when {
        t.push_str(&format!("One may fire {w}.\n"));
    }
    t.push_str(&format!(
        "After the repair, nothing is pending or firing within {} s (the longest range a rule looks back over, a scrape, an evaluation, and a margin).\n",
        a.resolve_within_s
    ));
    t
}

/// `inject --list [STACK]`: every fault, and with a stack, which servers
/// of it each can hit.
pub fn list(stack: Option<&str>, json: bool, global: &Global, out: &mut dyn Write) -> Result<i32> {
    let topo = match stack {
        Some(s) => Some(Topology::build(super::resolve(s, global)?.stack)),
        None => None,
    };
    let listed: Vec<Listed> = FAULTS
        .iter()
        .map(|f| {
            let fit = topo.as_ref().map(|t| f.fit(t));
            Listed {
                applies: fit.as_ref().map(|f| matches!(f, Fit::Servers(_))),
                hits: f.hits,
                name: f.name,
                servers: match &fit {
                    Some(Fit::Servers(s)) => Some(s.clone()),
                    _ => None,
                },
                why_not: match &fit {
                    Some(Fit::Nothing) => Some(format!("it hits {}: none here", f.hits)),
                    Some(Fit::NotYet(why)) => Some(format!("not yet: {why}")),
                    _ => None,
                },
                not_yet: matches!(fit, Some(Fit::NotYet(_))),
                what: f.what,
            }
        })
        .collect();
    if json {
        emit_json(out, &listed)?;
        return Ok(EXIT_OK);
    }
    emit(out, &list_text(&listed, topo.as_ref()))?;
    Ok(EXIT_OK)
}

fn list_text(listed: &[Listed], topo: Option<&Topology>) -> String {
    let Some(topo) = topo else {
        let rows: Vec<[String; 3]> = listed
            .iter()
            .map(|l| [l.name.to_string(), l.hits.to_string(), l.what.to_string()])
            .collect();
        return super::table(["FAULT", "HITS", "WHAT BREAKS"], &rows)
            + "\nWith a stack (`infractl inject --list task1`): which servers of it each can hit.\n";
    };
    let name = &topo.stack.name;
    let rows: Vec<[String; 3]> = listed
        .iter()
        .map(|l| {
            let on = match &l.servers {
                Some(s) => s.join(", "),
                None if l.not_yet => "not yet".into(),
                None => "-".into(),
            };
            [l.name.to_string(), on, l.what.to_string()]
        })
        .collect();
    let on = format!("ON {}", name.to_uppercase());
    let mut t = super::table(["FAULT", on.as_str(), "WHAT BREAKS"], &rows);
    let applies = listed.iter().filter(|l| l.applies == Some(true)).count();
    t.push_str(&format!(
        "\n{} of {} apply to `{name}`.",
        applies,
        super::count(listed.len(), "fault")
    ));
    let not_yet = listed.iter().filter(|l| l.not_yet).count();
    if let Some(why) = faults::not_yet(topo).filter(|_| not_yet > 0) {
        t.push_str(&format!(
            " Not yet for `{name}`, {not_yet} more: {why}, and the claims such a stack fails after them are not stated yet."
        ));
    }
    t.push('\n');
    t
}
