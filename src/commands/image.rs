//! `infractl image build|show|rm`: what the engine's hosts are made from
//! (the node image, on a Docker engine).

use std::io::Write;

use super::{emit, Global};
use crate::driver::{Engine, Images};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// The engine the command line names, and its images.
async fn engine(global: &Global) -> Result<Box<dyn Engine>> {
    let at = crate::driver::named(&global.choice)?
        .ok_or_else(|| Error::usage("hosts over SSH are not made from an image"))?;
    crate::driver::engine_at(&at).await
}

fn images(engine: &dyn Engine) -> Result<&dyn Images> {
    engine.images().ok_or_else(|| {
        Error::usage(format!(
            "the engine {} makes no image of its own",
            engine.describe()
        ))
    })
}

pub async fn build(
    mirror: Option<&str>,
    force: bool,
    global: &Global,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<i32> {
    let engine = engine(global).await?;
    let said = images(&*engine)?.build(mirror, force, progress).await?;
    emit(out, &said)?;
    Ok(0)
}

pub async fn show(global: &Global, out: &mut dyn Write) -> Result<i32> {
    let engine = engine(global).await?;
    let said = images(&*engine)?.show().await?;
    emit(out, &said)?;
    Ok(0)
}

/// Removes this version's node image (with `old`, every other version's
/// instead) and what only images no longer there used. Refused, changing
/// nothing, while any host uses an image to remove.
pub async fn rm(old: bool, global: &Global, out: &mut dyn Write) -> Result<i32> {
    let engine = engine(global).await?;
    let said = images(&*engine)?.remove(old).await?;
    emit(out, &said)?;
    Ok(0)
}
