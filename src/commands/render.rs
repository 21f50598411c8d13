//! `infractl render`: writes every server's files and the plan to a
//! directory, without touching any engine or host.
//!
//! The directory is the render's alone: a new or empty one is filled, an
//! earlier render (its `plan.json` and its servers' directories, nothing
//! else) is replaced whole, and anything else is refused, so two stacks are
//! never mixed and no one's files are deleted. The new render is written
//! next to it first and swapped in, so a failure leaves the old one intact.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{emit_json, plan_for, Global};
use crate::error::{Context, Error, Result};
use crate::progress::Progress;
use crate::render::plan::{Plan, PLAN_FILE};

pub fn run(
    stack: &str,
    out_dir: &Path,
    json: bool,
    global: &Global,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<i32> {
    let target = Target::of(out_dir)?;
    let (_, plan) = plan_for(stack, global)?;
    target.replace_with(&plan)?;
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
        "\nbring-up order: {}\nplan: {}",
        plan.order
            .iter()
            .map(|s| s.join(" "))
            .collect::<Vec<_>>()
            .join(" -> "),
        out_dir.join(PLAN_FILE).display()
    ));
    progress.note(&text);
    Ok(0)
}

/// What is at the output path now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Existing {
    Nothing,
    Empty,
    Render,
}

/// The output directory, checked before anything is rendered.
#[derive(Debug)]
struct Target {
    path: PathBuf,
    existing: Existing,
}

impl Target {
    /// The output directory, or exit 2 when it is not ours to replace.
    fn of(dir: &Path) -> Result<Target> {
        let doing = || format!("cannot look into the output directory {}", dir.display());
        let meta = match fs_err::metadata(dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Target {
                    path: dir.to_path_buf(),
                    existing: Existing::Nothing,
                })
            }
            r => r.with_context(doing)?,
        };
        if !meta.is_dir() {
            return Err(Error::usage(format!(
                "`{}` exists and is not a directory",
                dir.display()
            )));
        }
        // The directory itself, not a symbolic link to it, is swapped.
        let path = fs_err::canonicalize(dir).with_context(doing)?;
        let mut entries = fs_err::read_dir(&path).with_context(doing)?.peekable();
        let existing = if entries.peek().is_none() {
            Existing::Empty
        } else if is_render(&path) {
            Existing::Render
        } else {
            return Err(Error::usage(format!(
                "`{}` is not empty and holds no render of infractl",
                dir.display()
            ))
            .with_hint(
                "render into a new or empty directory, or into an earlier render (which is replaced whole)",
            ));
        };
        Ok(Target { path, existing })
    }

    /// Writes the render beside the directory, then swaps it in.
    fn replace_with(&self, plan: &Plan) -> Result<()> {
        let (parent, name) = match (self.path.parent(), self.path.file_name()) {
            (Some(p), Some(n)) => (p, n.to_string_lossy()),
            _ => {
                return Err(Error::usage(format!(
                    "cannot render into `{}`: name a directory",
                    self.path.display()
                )))
            }
        };
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        let pid = std::process::id();
        let fresh = parent.join(format!(".{name}.infractl-{pid}.new"));
        let old = parent.join(format!(".{name}.infractl-{pid}.old"));
        let doing = || format!("cannot write the render into {}", self.path.display());
        fs_err::create_dir_all(&fresh).with_context(doing)?;
        if let Err(e) = plan.write_to(&fresh) {
            let _ = fs_err::remove_dir_all(&fresh);
            return Err(e);
        }
        if self.existing == Existing::Nothing {
            return fs_err::rename(&fresh, &self.path).with_context(doing);
        }
        fs_err::rename(&self.path, &old).with_context(doing)?;
        if let Err(e) = fs_err::rename(&fresh, &self.path) {
            let _ = fs_err::rename(&old, &self.path);
            return Err(Error::caused(doing(), e));
        }
        fs_err::remove_dir_all(&old)
            .with_context(|| format!("cannot remove the earlier render (now {})", old.display()))
    }
}

/// Whether `dir` holds a render of infractl: a `plan.json` of infractl's
/// format (a stack, its servers, the bring-up order, a hash) and nothing
/// but that file and one directory per server of that plan.
fn is_render(dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join(PLAN_FILE)) else {
        return false;
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    let (Some(_), Some(servers), Some(_), Some(_)) = (
        v["stack"].as_str(),
        v["servers"].as_array(),
        v["order"].as_array(),
        v["hash"].as_str(),
    ) else {
        return false;
    };
    let names: Vec<&str> = servers.iter().filter_map(|s| s["name"].as_str()).collect();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.into_iter().all(|e| {
        let Ok(e) = e else { return false };
        let name = e.file_name();
        let name = name.to_string_lossy();
        name == PLAN_FILE
            || (e.file_type().is_ok_and(|t| t.is_dir()) && names.contains(&name.as_ref()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_infractl_renders_count_as_renders() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let plan =
            r#"{"stack":"t","servers":[{"name":"web-01"}],"order":[["web-01"]],"hash":"ab"}"#;
        std::fs::write(d.join(PLAN_FILE), plan).unwrap();
        std::fs::create_dir(d.join("web-01")).unwrap();
        assert!(is_render(d));
        // A file of someone else's beside it: not only a render any more.
        std::fs::write(d.join("notes.txt"), "mine").unwrap();
        assert!(!is_render(d));
        std::fs::remove_file(d.join("notes.txt")).unwrap();
        // A directory no server of the plan is named after.
        std::fs::create_dir(d.join("src")).unwrap();
        assert!(!is_render(d));
        std::fs::remove_dir(d.join("src")).unwrap();
        // Some other program's plan.json.
        std::fs::write(d.join(PLAN_FILE), r#"{"steps":[]}"#).unwrap();
        assert!(!is_render(d));
    }
}
