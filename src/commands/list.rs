//! `infractl list`: the built-in stacks.

use std::io::Write;

use serde_json::json;

use super::{emit, emit_json};
use crate::error::Result;

pub fn run(json: bool, out: &mut dyn Write) -> Result<i32> {
    let stacks = crate::stack::builtins();
    if json {
        let v: Vec<_> = stacks
            .iter()
            .map(|b| json!({ "name": b.name, "description": b.description }))
            .collect();
        emit_json(out, &v)?;
        return Ok(0);
    }
    let width = stacks
        .iter()
        .map(|b| b.name.len())
        .max()
        .unwrap_or(4)
        .max(5);
    let mut text = format!("{:<width$}  DESCRIPTION\n", "STACK");
    for b in &stacks {
        text.push_str(&format!("{:<width$}  {}\n", b.name, b.description));
    }
    emit(out, &text)?;
    Ok(0)
}
