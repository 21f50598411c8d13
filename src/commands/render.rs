//! `infractl render`: writes every server's files and the plan to a
//! directory, without touching any engine or host.

use std::io::Write;
use std::path::Path;

use super::{emit, emit_json, plan_for, Global};
use crate::error::{Error, Result};

pub fn run(
    stack: &str,
    out_dir: &Path,
    json: bool,
    global: &Global,
    out: &mut dyn Write,
) -> Result<i32> {
    let (_, plan) = plan_for(stack, global)?;
    if out_dir.exists() && !out_dir.is_dir() {
        return Err(Error::usage(format!(
            "`{}` exists and is not a directory",
            out_dir.display()
        )));
    }
    std::fs::create_dir_all(out_dir)
        .map_err(|e| Error::failure(format!("cannot create {}: {e}", out_dir.display())))?;
    let written = plan.write_to(out_dir)?;
    if json {
        emit_json(out, &plan)?;
        return Ok(0);
    }
    let files: usize = plan.servers.iter().map(|s| s.files.len()).sum();
    let mut text = format!(
        "Rendered stack `{}`: {} servers, {files} files into {}\n\n",
        plan.stack,
        plan.servers.len(),
        out_dir.display()
    );
    text.push_str(&plan.summary());
    text.push_str(&format!(
        "\nbring-up order: {}\nplan: {}\n",
        plan.order
            .iter()
            .map(|s| s.join(" "))
            .collect::<Vec<_>>()
            .join(" -> "),
        out_dir.join("plan.json").display()
    ));
    debug_assert_eq!(written.len(), files + 1);
    emit(out, &text)?;
    Ok(0)
}
