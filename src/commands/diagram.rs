//! `infractl diagram`: the stack drawn as SVG, Mermaid or Graphviz DOT.

use std::io::Write;
use std::path::Path;

use super::emit;
use crate::error::{Error, Result};

pub fn run(stack: &str, format: &str, output: Option<&Path>, out: &mut dyn Write) -> Result<i32> {
    let topo = crate::stack::load(stack)?;
    let model = crate::diagram::model(&topo);
    let text = match format {
        "svg" => crate::diagram::svg(&model),
        "mermaid" => crate::diagram::mermaid(&model),
        "dot" => crate::diagram::dot(&model),
        other => {
            return Err(Error::usage(format!("unknown format `{other}`"))
                .with_hint("formats: svg, mermaid, dot"));
        }
    };
    match output {
        Some(p) => {
            std::fs::write(p, &text)
                .map_err(|e| Error::failure(format!("cannot write {}: {e}", p.display())))?;
            emit(
                out,
                &format!(
                    "wrote {} ({format}, {} servers)\n",
                    p.display(),
                    topo.stack.servers.len()
                ),
            )?;
        }
        None => emit(out, &text)?,
    }
    Ok(0)
}
