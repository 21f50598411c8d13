//! `infractl verify`: every claim of the stack, checked on its running lab.

use std::io::Write;

use super::{emit, emit_json, Global};
use crate::driver::Driver;
use crate::error::{Error, Result, EXIT_FAILURE, EXIT_OK};
use crate::progress::Progress;
use crate::state::StateDir;

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
    let topo = crate::stack::load(stack)?;
    let root = crate::state::root(global.state_dir.as_deref());
    let state = StateDir::new(&root, &topo.stack.name);
    let names = topo.stack.tls.as_ref().map(|t| t.names.clone());
    let secrets = state.secrets(&topo.stack.name, names.as_deref())?;
    let plan = crate::render::plan(&topo, &secrets, &crate::image::reference())?;
    let plan = if global.inventory.is_some() {
        plan.for_real_hosts()
    } else {
        plan
    };
    // Verify stops and restarts a load balancer: no `up` meanwhile.
    let _lock = state.lock("verify")?;
    let driver = super::driver(global, &topo).await?;
    let hosts = driver.hosts(&plan.stack).await?;
    let missing: Vec<&str> = plan
        .servers
        .iter()
        .filter(|s| !hosts.iter().any(|h| h.server == s.name && h.running))
        .map(|s| s.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(Error::failure(format!(
            "stack `{}` is not (fully) up: {} not running",
            plan.stack,
            missing.join(", ")
        ))
        .with_hint(format!("`infractl up {stack}` first")));
    }
    let results = crate::verify::run(&driver, &topo, &plan, &secrets, progress).await?;
    let failed = results.iter().filter(|r| !r.ok).count();
    if json {
        emit_json(
            out,
            &serde_json::json!({ "stack": plan.stack, "ok": failed == 0, "checks": results }),
        )?;
    } else {
        let rows: Vec<[String; 5]> = results
            .iter()
            .map(|r| {
                [
                    format!("{}: {}", r.group, r.check),
                    r.expected.clone(),
                    clip(&r.observed, 64),
                    if r.ok { "pass".into() } else { "FAIL".into() },
                    format!("{} ms", r.ms),
                ]
            })
            .collect();
        let head = ["CHECK", "EXPECTED", "OBSERVED", "RESULT", "TIME"].map(str::to_string);
        let mut w = [0usize; 5];
        for r in rows.iter().chain(std::iter::once(&head)) {
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let mut text = String::new();
        for r in std::iter::once(&head).chain(rows.iter()) {
            text.push_str(&format!(
                "{:<a$}  {:<b$}  {:<c$}  {:<d$}  {}\n",
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                a = w[0],
                b = w[1],
                c = w[2],
                d = w[3]
            ));
        }
        text.push_str(&format!(
            "\n{} passed, {failed} failed\n",
            results.len() - failed
        ));
        emit(out, &text)?;
    }
    Ok(if failed == 0 { EXIT_OK } else { EXIT_FAILURE })
}
