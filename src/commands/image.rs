//! `infractl image build|show`: the node image.

use std::io::Write;

use super::emit;
use crate::driver::docker::shared;
use crate::error::Result;
use crate::progress::Progress;

pub async fn build(
    mirror: Option<&str>,
    force: bool,
    progress: &dyn Progress,
    out: &mut dyn Write,
) -> Result<i32> {
    let docker = crate::driver::docker::engine::connect().await?;
    let msg = match crate::image::ensure(&docker, mirror, force, progress).await? {
        crate::image::Built::AlreadyThere(r) => {
            format!("{r} is up to date (the recipe has not changed)\n")
        }
        crate::image::Built::Built(r) => format!("built {r}\n"),
    };
    emit(out, &msg)?;
    Ok(0)
}

pub async fn show(out: &mut dyn Write) -> Result<i32> {
    let reference = crate::image::reference();
    let docker = crate::driver::docker::engine::connect().await?;
    let present = crate::driver::docker::engine::image_exists(&docker, &reference).await?;
    // The shared directories' volumes, as a container binds them.
    let shared = if present {
        let id = shared::image_id(&docker, &reference).await?;
        if shared::filled(&docker, &id).await? {
            shared::binds(&id).join(" ")
        } else {
            "not filled yet (the first `up` fills them)".into()
        }
    } else {
        "none yet".into()
    };
    emit(
        out,
        &format!(
            "image:    {reference}\npresent:  {}\nshared:   {shared}\npackages: {}\n",
            if present {
                "yes"
            } else {
                "no (built on first use, or by `infractl image build`)"
            },
            crate::image::packages().join(" ")
        ),
    )?;
    Ok(0)
}
