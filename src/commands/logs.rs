//! `infractl logs STACK SERVER [SERVICE]`: a service's log (or every
//! service's, and the server's init output).

use std::io::Write;

use super::emit;
use crate::driver::docker::DockerDriver;
use crate::driver::Driver;
use crate::error::{Error, Result};

pub async fn run(
    stack: &str,
    server: &str,
    service: Option<&str>,
    lines: u32,
    out: &mut dyn Write,
) -> Result<i32> {
    let name = super::exec::stack_name(stack)?;
    let driver = DockerDriver::connect().await?;
    let services: Vec<String> = match service {
        Some(s) => vec![s.to_string()],
        None => {
            let o = driver
                .exec(&name, server, "ls /etc/service 2>/dev/null")
                .await?;
            o.stdout.split_whitespace().map(str::to_string).collect()
        }
    };
    let mut text = String::new();
    if service.is_none() {
        text.push_str(&format!("==> {server} (init) <==\n"));
        text.push_str(&driver.container_logs(&name, server, lines).await?);
    }
    for s in &services {
        let o = driver
            .exec(&name, server, &crate::supervise::log_tail(s, lines))
            .await?;
        if service.is_some() && o.stdout.is_empty() {
            let known = driver
                .exec(&name, server, "ls /etc/service 2>/dev/null")
                .await?;
            if !known.stdout.split_whitespace().any(|k| k == s) {
                return Err(
                    Error::usage(format!("server `{server}` has no service `{s}`")).with_hint(
                        format!(
                            "its services: {}",
                            known
                                .stdout
                                .split_whitespace()
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ),
                );
            }
        }
        if service.is_none() {
            text.push_str(&format!("\n==> {server} {s} <==\n"));
        }
        text.push_str(&o.stdout);
    }
    emit(out, &text)?;
    Ok(0)
}
