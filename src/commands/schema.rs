//! `infractl schema`: the JSON Schema of the stack format, generated from
//! the types that read it.

use std::io::Write;

use super::emit_json;
use crate::error::Result;

pub fn schema() -> serde_json::Value {
    let s = schemars::schema_for!(crate::stack::raw::StackFile);
    serde_json::to_value(s).expect("schema serializes")
}

pub fn run(out: &mut dyn Write) -> Result<i32> {
    emit_json(out, &schema())?;
    Ok(0)
}
