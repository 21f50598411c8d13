//! `infractl chaos`: kills each server of a running lab in turn and checks
//! the site, comparing with `explain`.

use std::io::Write;

use super::{emit, emit_json, Global};
use crate::driver::Driver;
use crate::error::{Error, Result, EXIT_FAILURE, EXIT_OK};
use crate::progress::Progress;
use crate::state::StateDir;

pub async fn run(
    stack: &str,
    json: bool,
    global: &Global,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<i32> {
    let (topo, plan) = super::plan_for(stack, global)?;
    let state = StateDir::new(
        &crate::state::root(global.state_dir.as_deref()),
        &plan.stack,
    );
    let _lock = state.lock("chaos")?;
    let driver = super::driver(global, &topo).await?;
    let hosts = driver.hosts(&plan.stack).await?;
    if plan
        .servers
        .iter()
        .any(|s| !hosts.iter().any(|h| h.server == s.name && h.running))
    {
        return Err(
            Error::failure(format!("stack `{}` is not (fully) up", plan.stack))
                .with_hint(format!("`infractl up {stack}` first")),
        );
    }
    let results = crate::chaos::run(&driver, &topo, &plan, progress).await?;
    let disagree = results.iter().filter(|r| !r.agrees).count();
    if json {
        emit_json(
            out,
            &serde_json::json!({ "stack": plan.stack, "agrees": disagree == 0, "servers": results }),
        )?;
    } else {
        let mut text = format!(
            "{:<10}  {:<26}  {:<5}  {:<5}  {:<6}  {:>8}  EXPLAIN\n",
            "KILLED", "ROLE", "SITE", "READS", "WRITES", "RECOVERY"
        );
        let yn = |b: bool| if b { "ok" } else { "DOWN" };
        for r in &results {
            text.push_str(&format!(
                "{:<10}  {:<26}  {:<5}  {:<5}  {:<6}  {:>7.1}s  {}\n",
                r.server,
                r.roles.join(","),
                yn(r.site),
                yn(r.reads),
                yn(r.writes),
                r.recovery_s,
                if r.agrees {
                    "agrees".to_string()
                } else {
                    format!("DISAGREES: predicted {}", r.predicted)
                }
            ));
        }
        let fatal: Vec<&str> = results
            .iter()
            .filter(|r| !r.site)
            .map(|r| r.server.as_str())
            .collect();
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
        emit(out, &text)?;
    }
    Ok(if disagree == 0 { EXIT_OK } else { EXIT_FAILURE })
}
