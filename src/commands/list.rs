//! `infractl list`: the built-in stacks.

use std::io::Write;

use super::{emit, emit_json};
use crate::error::Result;

pub fn run(json: bool, out: &mut dyn Write) -> Result<i32> {
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
