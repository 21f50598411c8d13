//! `infractl explain`: each component's role, the request path, load
//! balancing, replication and the stack's weaknesses, from its topology.

use std::io::Write;

use super::{emit, emit_json, Global};
use crate::error::Result;

pub fn run(stack: &str, json: bool, global: &Global, out: &mut dyn Write) -> Result<i32> {
    let topo = super::topology_of(stack, global)?;
    let e = crate::explain::explain(&topo);
    if json {
        emit_json(out, &e)?;
    } else {
        emit(out, &crate::explain::render_text(&e))?;
    }
    Ok(0)
}
