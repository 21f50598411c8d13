//! `infractl logs STACK SERVER [SERVICE]`: a service's log (or every
//! service's, and the server's init output).

use std::io::Write;

use super::{emit, Global};
use crate::driver::{AnyDriver, Driver};
use crate::error::{Error, Result};

pub async fn run(
    stack: &str,
    server: &str,
    service: Option<&str>,
    lines: u32,
    global: &Global,
    out: &mut dyn Write,
) -> Result<i32> {
    let (name, driver) = match &global.inventory {
        None => (
            super::exec::stack_name(stack)?,
            AnyDriver::Docker(crate::driver::docker::DockerDriver::connect().await?),
        ),
        Some(_) => {
            let topo = crate::stack::load(stack)?;
            let d = super::driver(global, &topo).await?;
            (topo.stack.name, d)
        }
    };
    let known = driver
        .exec(
            &name,
            server,
            &format!("ls {} 2>/dev/null", crate::supervise::SV_DIR),
        )
        .await?;
    let known: Vec<String> = known
        .stdout
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let services: Vec<String> = match service {
        Some(s) if !known.iter().any(|k| k == s) => {
            return Err(
                Error::usage(format!("server `{server}` has no service `{s}`"))
                    .with_hint(format!("its services: {}", known.join(", "))),
            );
        }
        Some(s) => vec![s.to_string()],
        None => known,
    };
    let mut text = String::new();
    if let (None, AnyDriver::Docker(d)) = (service, &driver) {
        text.push_str(&format!("==> {server} (init) <==\n"));
        text.push_str(&d.container_logs(&name, server, lines).await?);
    }
    for s in &services {
        let o = driver
            .exec(&name, server, &crate::supervise::log_tail(s, lines))
            .await?;
        if service.is_none() {
            text.push_str(&format!("\n==> {server} {s} <==\n"));
        }
        text.push_str(&o.stdout);
    }
    emit(out, &text)?;
    Ok(0)
}
