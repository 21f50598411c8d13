//! `infractl schema`: the JSON Schema of the stack format, generated from
//! the types that read it, so that editors check what the loader checks.
//!
//! A stack that `extends` another is an overlay, merged key by key into its
//! parent: none of its keys is required, and `~` may stand for any mapping
//! entry (it removes what the parent set). Lists replace the parent's whole,
//! so their items stay complete. The schema says so with `if`/`then`/`else`
//! on `extends`, and an `...Overlay` twin of each mapping type. Top-level
//! keys starting with `x-` are the writer's own (anchors, as in Compose).
//!
//! The repository's `stack.schema.json`, which the shipped stacks name in
//! their `$schema` line, is this output (a test keeps it current).

use std::io::Write;

use serde_json::{json, Map, Value};

use super::emit_json;
use crate::error::Result;

/// Where the repository keeps the schema, from the stacks' directory.
pub const FILE: &str = "stack.schema.json";

pub fn schema() -> Value {
    let generated = schemars::schema_for!(crate::stack::raw::StackFile);
    let Value::Object(mut root) = serde_json::to_value(generated).expect("schema serializes")
    else {
        unreachable!("a schema of a struct is an object")
    };
    let defs = match root.remove("$defs") {
        Some(Value::Object(d)) => d,
        _ => Map::new(),
    };
    let mut head = Map::new();
    for key in ["$schema", "title", "description"] {
        if let Some(v) = root.remove(key) {
            head.insert(key.into(), v);
        }
    }
    root.insert(
        "patternProperties".into(),
        json!({ format!("^{}", crate::stack::EXTENSION_PREFIX): {} }),
    );
    let complete = Value::Object(root);
    let mut overlays = Map::new();
    let overlay_root = overlay(&complete, &defs, &mut overlays);
    let mut all_defs = defs;
    all_defs.extend(overlays);
    head.insert("if".into(), json!({ "required": ["extends"] }));
    head.insert("then".into(), overlay_root);
    head.insert("else".into(), complete);
    head.insert("$defs".into(), Value::Object(all_defs));
    Value::Object(head)
}

/// `s`, or nothing (`~`).
fn nullable(s: Value) -> Value {
    json!({ "anyOf": [s, { "type": "null" }] })
}

/// The overlay form of `s`: mappings with no required key and `~` allowed
/// for each entry; `$ref`s to mapping types go to their `...Overlay` twin
/// (made in `out` on first use); list items unchanged.
fn overlay(s: &Value, defs: &Map<String, Value>, out: &mut Map<String, Value>) -> Value {
    let Value::Object(o) = s else {
        return s.clone();
    };
    if let Some(name) = o
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        let Some(def) = defs.get(name).filter(|d| d.get("properties").is_some()) else {
            return s.clone();
        };
        let twin = format!("{name}Overlay");
        if !out.contains_key(&twin) {
            out.insert(twin.clone(), Value::Null); // taken, for recursive types
            let made = overlay(def, defs, out);
            out.insert(twin.clone(), made);
        }
        let mut r = o.clone();
        r.insert("$ref".into(), json!(format!("#/$defs/{twin}")));
        return Value::Object(r);
    }
    let mut o = o.clone();
    o.remove("required");
    if let Some(Value::Object(props)) = o.get_mut("properties") {
        for v in props.values_mut() {
            *v = nullable(overlay(v, defs, out));
        }
    }
    if let Some(ap) = o.get("additionalProperties").filter(|v| v.is_object()) {
        let ap = nullable(overlay(ap, defs, out));
        o.insert("additionalProperties".into(), ap);
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(branches)) = o.get_mut(key) {
            for b in branches.iter_mut() {
                *b = overlay(b, defs, out);
            }
        }
    }
    Value::Object(o)
}

/// Where the repository keeps the exercises' schema.
pub const EXERCISE_FILE: &str = "exercise.schema.json";

/// The JSON Schema of exercise files.
pub fn exercise_schema() -> Value {
    let generated = schemars::schema_for!(crate::exercise::file::ExerciseFile);
    let mut v = serde_json::to_value(generated).expect("schema serializes");
    // One of `faults` or `pool`, as the loader says; a fault is one of
    // the catalogue's.
    let names: Vec<&str> = crate::exercise::faults::FAULTS
        .iter()
        .map(|f| f.name)
        .collect();
    let fault = json!({ "enum": names });
    if let Value::Object(o) = &mut v {
        o.insert(
            "oneOf".into(),
            json!([{ "required": ["faults"] }, { "required": ["pool"] }]),
        );
    }
    for at in [
        "/properties/faults/items",
        "/$defs/PoolFile/properties/faults/items",
    ] {
        if let Some(items) = v.pointer_mut(at) {
            *items = fault.clone();
        }
    }
    v
}

pub fn run(exercise: bool, out: &mut dyn Write) -> Result<i32> {
    emit_json(
        out,
        &if exercise {
            exercise_schema()
        } else {
            schema()
        },
    )?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overlay_requires_nothing_and_allows_removals() {
        let s = schema();
        let then = &s["then"];
        assert!(then.get("required").is_none());
        assert_eq!(
            s["else"]["required"],
            json!(["domain", "networks", "servers"])
        );
        let server = &s["$defs"]["ServerOverlay"];
        assert!(server.get("required").is_none());
        assert_eq!(
            server["properties"]["networks"]["anyOf"][1],
            json!({ "type": "null" })
        );
        // The servers map takes `~` for a server (task3 removes two).
        let servers = &then["properties"]["servers"]["anyOf"][0];
        assert_eq!(
            servers["additionalProperties"]["anyOf"][0]["$ref"],
            "#/$defs/ServerOverlay"
        );
    }
}
