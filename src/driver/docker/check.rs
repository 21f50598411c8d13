//! `infractl validate`: every rendered file checked by the program that
//! will read it (`nginx -t`, `haproxy -c`, `named-checkzone`, ...), inside a
//! throwaway container of the node image, one per server, several at once.

use std::collections::HashMap;
use std::sync::Arc;

use bollard::Docker;
use tokio::sync::Semaphore;

use crate::driver::docker::containers::{self, Attach};
use crate::driver::docker::exec::exec;
use crate::driver::docker::files::put_files;
use crate::driver::docker::names::LABEL_CHECK;
use crate::driver::CheckResult;
use crate::error::Result;
use crate::progress::Progress;
use crate::render::plan::{Plan, ServerPlan};

/// How many servers are checked at once (the engine starts containers
/// largely one after another; two cores do the checking).
const PARALLEL: usize = 4;

/// The `io.infractl.check` label of this process's check containers.
pub fn run_label(stack: &str) -> String {
    format!("{stack}.{}", std::process::id())
}

/// Runs every check of the plan; returns one result per check.
pub async fn run(
    docker: &Docker,
    plan: &Plan,
    progress: Arc<dyn Progress>,
) -> Result<Vec<CheckResult>> {
    let sem = Arc::new(Semaphore::new(PARALLEL));
    let mut tasks = Vec::new();
    for server in plan.servers.iter().filter(|s| !s.checks.is_empty()) {
        let docker = docker.clone();
        let server = server.clone();
        let image = plan.image.clone();
        let stack = plan.stack.clone();
        let sem = sem.clone();
        let progress = progress.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire_owned().await.expect("semaphore open");
            check_server(&docker, &image, &stack, &server, progress.as_ref()).await
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        let r = t
            .await
            .map_err(|e| crate::Error::failure(format!("check task failed: {e}")))??;
        results.extend(r);
    }
    Ok(results)
}

async fn check_server(
    docker: &Docker,
    image: &str,
    stack: &str,
    server: &ServerPlan,
    progress: &dyn Progress,
) -> Result<Vec<CheckResult>> {
    // Runs of the same stack may overlap (two terminals, tests): names and
    // labels carry this process's id.
    let run = run_label(stack);
    let name = format!("infractl-check-{}-{}", run.replace('.', "-"), server.name);
    let total = server.checks.len() as u64;
    progress.begin(&server.name, Some(total), "starting a container");
    let labels = HashMap::from([(LABEL_CHECK.to_string(), run)]);
    let outcome = async {
        containers::run_scratch(docker, image, &name, labels, Attach::Bridge, None).await?;
        put_files(docker, &name, &server.files, None).await?;
        let mut results = Vec::new();
        for (i, c) in server.checks.iter().enumerate() {
            progress.update(&server.name, Some(i as u64), &c.program);
            let out = exec(docker, &name, &c.command).await?;
            results.push(CheckResult {
                server: server.name.clone(),
                program: c.program.clone(),
                file: c.file.clone(),
                ok: out.code == 0,
                message: if out.code == 0 {
                    String::new()
                } else {
                    out.message()
                },
            });
        }
        Ok::<_, crate::Error>(results)
    }
    .await;
    let removed = containers::remove(docker, &name).await;
    let results = outcome?;
    removed?;
    let failed = results.iter().filter(|r| !r.ok).count();
    let msg = if failed == 0 {
        format!("{total} checks passed")
    } else {
        format!("{failed} of {total} checks failed")
    };
    progress.finish(&server.name, failed == 0, &msg);
    Ok(results)
}
