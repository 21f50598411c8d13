//! `infractl image build|show|rm`: the node image.

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

/// Removes this version's node image (with `old`, every other version's
/// instead) and the shared volumes of images no longer on the engine.
/// Refused, changing nothing, while any container uses an image to remove.
pub async fn rm(old: bool, out: &mut dyn Write) -> Result<i32> {
    use bollard::query_parameters::{ListImagesOptionsBuilder, RemoveImageOptions};
    use std::collections::HashMap;
    let current = crate::image::reference();
    let docker = crate::driver::docker::engine::connect().await?;
    let filters = HashMap::from([(
        "reference".to_string(),
        vec![crate::image::REPOSITORY.to_string()],
    )]);
    let images = docker
        .list_images(Some(
            ListImagesOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
        .map_err(crate::driver::docker::engine::fail("listing images"))?;
    // Per image, the tags to remove; an image that keeps another tag is
    // only untagged, and only one that goes must be unused.
    let mut targets: Vec<String> = vec![];
    let mut in_use = vec![];
    for image in images {
        let (gone, kept): (Vec<String>, Vec<String>) = image.repo_tags.into_iter().partition(|t| {
            t.starts_with(&format!("{}:", crate::image::REPOSITORY)) && (t == &current) != old
        });
        if gone.is_empty() {
            continue;
        }
        if kept.is_empty() {
            let mut users =
                crate::driver::docker::engine::containers_of_image(&docker, &image.id).await?;
            if !users.is_empty() {
                users.sort();
                let n = users.len();
                let mut named = users.into_iter().take(5).collect::<Vec<_>>().join(", ");
                if n > 5 {
                    named.push_str(&format!(" and {} more", n - 5));
                }
                let s = if n == 1 { "" } else { "s" };
                in_use.push(format!(
                    "{} is in use by {n} container{s}: {named}",
                    gone.join(", ")
                ));
            }
        }
        targets.extend(gone);
    }
    targets.sort();
    // Every image checked before any is removed: a refusal changes nothing.
    if !in_use.is_empty() {
        return Err(crate::error::Error::failure(in_use.join("; ")).with_hint(
            "`infractl status` lists the labs; `infractl down LAB` removes one; then run this again",
        ));
    }
    let mut said = String::new();
    for t in &targets {
        docker
            .remove_image(t, None::<RemoveImageOptions>, None)
            .await
            .map_err(crate::driver::docker::engine::fail(&format!(
                "removing image {t}"
            )))?;
        said.push_str(&format!("removed image {t}\n"));
    }
    // The volumes of images still here (this version's, after --old) stay.
    for v in shared::prune(&docker, "").await {
        said.push_str(&format!("removed volume {v}\n"));
    }
    if said.is_empty() {
        said = if old {
            format!("nothing to remove: no image of another version of infractl ({} is this version's)\n", current)
        } else {
            format!("nothing to remove: {current} is not on this engine\n")
        };
    }
    emit(out, &said)?;
    Ok(0)
}
