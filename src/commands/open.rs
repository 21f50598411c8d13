//! `infractl open LAB` and `infractl ca LAB`: where a published lab's site
//! is on this machine, and the certificate a browser must trust for it.

use std::io::Write;

use super::{emit, Global};

use crate::error::{Error, Result};

pub async fn open(stack: &str, global: &Global, out: &mut dyn Write) -> Result<i32> {
    let lab = super::resolve(stack, global)?;
    let topo = crate::topology::Topology::build(lab.stack);
    let engine = super::engine_of(&topo.stack.name, global).await?;
    let driver = engine.driver(&topo).await?;
    let port = topo.site_port();
    match (driver.published(port).await?, engine.placement()) {
        (Some(p), Some(at)) => {
            emit(out, &(super::site_url(&topo, &at, p) + "\n"))?;
            Ok(0)
        }
        _ => Err(Error::failure(format!(
            "lab `{}` is not published on this machine",
            topo.stack.name
        ))
        .with_hint(format!(
            "`infractl up {} --publish` publishes it",
            topo.stack.name
        ))),
    }
}

pub fn ca(stack: &str, global: &Global, out: &mut dyn Write) -> Result<i32> {
    let lab = super::resolve(stack, global)?;
    let name = lab.stack.name.clone();
    if lab.stack.tls.is_none() {
        return Err(Error::usage(format!(
            "lab `{name}` serves plain HTTP (its stack has no `tls:`): there is no CA to trust"
        )));
    }
    let state = global.state(&name);
    match std::fs::read_to_string(state.path.join("tls/ca.crt")) {
        Ok(pem) => {
            emit(out, &pem)?;
            Ok(0)
        }
        Err(_) => Err(Error::failure(format!("lab `{name}` has no CA yet"))
            .with_hint(format!("`infractl up {name}` makes it"))),
    }
}
