//! `infractl exec STACK SERVER -- CMD...`: runs a command on a server of a
//! running lab; its output and exit code pass through.

use std::io::Write;

use super::Global;

use crate::error::{Error, Result};

/// The stack's name from a stack argument (loading it when possible).
pub fn stack_name(stack: &str) -> Result<String> {
    match crate::stack::load(stack) {
        Ok(s) => Ok(s.name),
        Err(_) if crate::stack::valid_name(stack) => Ok(stack.to_string()),
        Err(e) => Err(e),
    }
}

pub async fn run(
    stack: &str,
    server: &str,
    argv: &[String],
    global: &Global,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32> {
    if argv.is_empty() {
        return Err(Error::usage("no command given")
            .with_hint(format!("e.g. infractl exec {stack} {server} -- hostname")));
    }
    let driver = super::lab_driver(stack, global).await?;
    let result = driver.exec_argv(server, argv).await?;
    let _ = out.write_all(result.stdout.as_bytes());
    let _ = err.write_all(result.stderr.as_bytes());
    Ok(result.code.clamp(0, 255) as i32)
}
