//! `infractl diagram`: the stack drawn as SVG, Mermaid or Graphviz DOT.
//!
//! With `-o FILE`, the format follows the file's extension, and a file
//! named for a format infractl does not draw (`.png`, `.pdf`, ...) is
//! refused: it never gets SVG under another name.

use std::io::Write;
use std::path::Path;

use super::emit;
use crate::error::{Context, Error, Result};
use crate::progress::Progress;

/// The formats infractl draws, and the extensions that name each.
const FORMATS: [(&str, &[&str]); 3] = [
    ("svg", &["svg"]),
    ("mermaid", &["mmd", "mermaid"]),
    ("dot", &["dot", "gv"]),
];

/// The format to draw: `--format` if given, else the output file's
/// extension, else SVG. Exit 2 for an unknown format, an extension that
/// names none of them, or a `--format` that contradicts the extension.
pub fn format_for(format: Option<&str>, output: Option<&Path>) -> Result<&'static str> {
    let known = || {
        FORMATS
            .iter()
            .map(|(f, exts)| format!("{f} (.{})", exts.join(", .")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let asked = match format {
        None => None,
        Some(f) => Some(
            FORMATS
                .iter()
                .map(|(name, _)| *name)
                .find(|name| *name == f)
                .ok_or_else(|| {
                    Error::usage(format!("unknown format `{f}`"))
                        .with_hint(format!("formats: {}", known()))
                })?,
        ),
    };
    let ext = output
        .and_then(|p| p.extension())
        .map(|e| e.to_string_lossy().to_lowercase());
    let Some(ext) = ext else {
        return Ok(asked.unwrap_or("svg"));
    };
    let path = output.map(Path::display).expect("an extension has a path");
    let Some((named, _)) = FORMATS
        .iter()
        .find(|(_, exts)| exts.contains(&ext.as_str()))
    else {
        let hint = match ext.as_str() {
            "png" | "pdf" | "jpg" | "jpeg" | "gif" | "webp" => format!(
                "write SVG and convert it (e.g. `-o x.svg`, then `rsvg-convert -o x.{ext} x.svg`), or DOT and `dot -T{ext}`"
            ),
            _ => format!("formats: {}", known()),
        };
        return Err(Error::usage(format!(
            "cannot write `{path}`: infractl draws SVG, Mermaid and DOT, not .{ext}"
        ))
        .with_hint(hint));
    };
    match asked {
        Some(f) if f != *named => Err(Error::usage(format!(
            "`{path}` is named for {named}, but --format says {f}"
        ))
        .with_hint("drop --format (the extension decides), or name the file for the format")),
        _ => Ok(named),
    }
}

pub fn run(
    stack: &str,
    format: Option<&str>,
    output: Option<&Path>,
    global: &super::Global,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<i32> {
    let format = format_for(format, output)?;
    let topo = super::topology_of(stack, global)?;
    let model = crate::diagram::model(&topo);
    let text = match format {
        "mermaid" => crate::diagram::mermaid(&model),
        "dot" => crate::diagram::dot(&model),
        _ => crate::diagram::svg(&model),
    };
    match output {
        Some(p) => {
            fs_err::write(p, &text).context("cannot write the diagram")?;
            progress.note(&format!(
                "wrote {} ({format}, {} servers)",
                p.display(),
                topo.stack.servers.len()
            ));
        }
        None => emit(out, &text)?,
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(format: Option<&str>, output: Option<&str>) -> Result<&'static str> {
        format_for(format, output.map(Path::new))
    }

    #[test]
    fn the_extension_decides_and_nothing_is_written_under_a_wrong_name() {
        assert_eq!(f(None, None).unwrap(), "svg");
        assert_eq!(f(Some("dot"), None).unwrap(), "dot");
        assert_eq!(f(None, Some("a/x.SVG")).unwrap(), "svg");
        assert_eq!(f(None, Some("x.mmd")).unwrap(), "mermaid");
        assert_eq!(f(None, Some("x.gv")).unwrap(), "dot");
        assert_eq!(f(Some("mermaid"), Some("x")).unwrap(), "mermaid");
        assert_eq!(f(Some("dot"), Some("x.dot")).unwrap(), "dot");
        for bad in [
            f(None, Some("x.png")),
            f(Some("svg"), Some("x.png")),
            f(None, Some("x.txt")),
            f(Some("svg"), Some("x.dot")),
            f(Some("png"), None),
        ] {
            assert_eq!(bad.unwrap_err().exit_code(), 2);
        }
        let png = f(Some("svg"), Some("x.png")).unwrap_err().report();
        assert!(png.contains("not .png"), "{png}");
        assert!(png.contains("rsvg-convert"), "{png}");
    }
}
