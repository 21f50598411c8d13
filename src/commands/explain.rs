//! `infractl explain`: each component's role, the request path, load
//! balancing, replication and the stack's weaknesses, from its topology.

use std::io::Write;

use super::{emit, emit_json};
use crate::error::Result;

pub fn run(stack: &str, json: bool, out: &mut dyn Write) -> Result<i32> {
    let topo = crate::topology::Topology::load(stack)?;
    let e = crate::explain::explain(&topo);
    if json {
        emit_json(out, &e)?;
    } else {
        emit(out, &crate::explain::render_text(&e))?;
    }
    Ok(0)
}
