//! `infractl list`: the built-in stacks, or exercises.

use std::io::Write;

use super::{emit, emit_json};
use crate::error::Result;

pub fn run(exercises: bool, json: bool, out: &mut dyn Write) -> Result<i32> {
    if exercises {
        return list_exercises(json, out);
    }
    let stacks = crate::stack::builtins();
    if json {
        let v: Vec<_> = stacks
            .iter()
            .map(|b| super::report::Builtin {
                description: &b.description,
                name: &b.name,
            })
            .collect();
        emit_json(out, &v)?;
        return Ok(0);
    }
    let rows: Vec<[String; 2]> = stacks
        .iter()
        .map(|b| [b.name.clone(), b.description.clone()])
        .collect();
    emit(out, &super::table(["STACK", "DESCRIPTION"], &rows))?;
    Ok(0)
}

/// The built-in exercises: name, stack, title.
fn list_exercises(json: bool, out: &mut dyn Write) -> Result<i32> {
    let mut rows = Vec::new();
    for (name, _) in crate::exercise::file::builtins() {
        let e = crate::exercise::file::load_reference(&name)?;
        rows.push([name, e.stack.clone(), e.title.clone()]);
    }
    if json {
        let v: Vec<_> = rows
            .iter()
            .map(|[name, stack, title]| serde_json::json!({ "name": name, "stack": stack, "title": title }))
            .collect();
        emit_json(out, &v)?;
        return Ok(0);
    }
    emit(out, &super::table(["EXERCISE", "STACK", "TITLE"], &rows))?;
    Ok(0)
}
