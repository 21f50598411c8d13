//! One function per CLI command, each thin: parse nothing, print results to
//! the writer it is given (status lines go through `Progress::note`), return
//! the exit code. The CLI (`crate::cli`, `main.rs`) parses the arguments.

use std::io::Write;

use crate::error::{Error, Result};

pub mod alerts;
pub mod chaos;
pub mod class;
pub mod completions;
pub mod diagram;
pub mod docs;
pub mod down;
pub mod exec;
pub mod exercise;
pub mod explain;
pub mod image;
pub mod inject;
pub mod list;
pub mod logs;
pub mod man;
pub mod open;
pub mod render;
pub mod report;
pub mod schema;
pub mod serve;
pub mod status;
pub mod up;
pub mod validate;
pub mod verify;

pub use crate::ops::{
    driver, engine_of, lab_driver, lab_to_verify, load, load_lab, plan_for, resolve, running_lab,
    site_url, Global, Loaded, RunningLab,
};

/// The topology of `stack`: a built-in stack, a stack file, or a lab's
/// (its stack, on the subnets it was brought up on).
pub(crate) fn topology_of(stack: &str, global: &Global) -> Result<crate::topology::Topology> {
    Ok(crate::topology::Topology::build(
        resolve(stack, global)?.stack,
    ))
}

/// What a failure to write the command's output says (a closed pipe is
/// no failure: the binary exits quietly).
pub const WRITE_OUTPUT: &str = "cannot write output";

pub(crate) use crate::error::count;

pub(crate) fn emit(out: &mut dyn Write, text: &str) -> Result<()> {
    out.write_all(text.as_bytes())
        .map_err(|e| Error::caused(WRITE_OUTPUT, e))
}

pub(crate) fn emit_json(out: &mut dyn Write, value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value).expect("serializable") + "\n";
    emit(out, &text)
}

/// A text table: columns padded to their widest cell, the last unpadded.
pub fn table<const N: usize>(head: [&str; N], rows: &[[String; N]]) -> String {
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.to_vec()).collect();
    table_of(&head, &rows)
}

/// [`table`] for a number of columns known only at run time.
pub fn table_of(head: &[&str], rows: &[Vec<String>]) -> String {
    let n = head.len();
    let mut w: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(n) {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == n {
                l.push_str(c);
            } else {
                l.push_str(&format!("{c:<width$}  ", width = w[i]));
            }
        }
        l.trim_end().to_string() + "\n"
    };
    let mut out = line(head.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}
