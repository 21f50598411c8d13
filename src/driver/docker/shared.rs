//! The node image's programs and libraries, shared by every container of
//! every lab on an engine: `/usr/bin`, `/usr/sbin` and `/usr/lib` are three
//! read-only volumes, filled once per image from the image itself.
//!
//! Why: on an engine whose storage driver is `fuse-overlayfs` (rootless
//! engines, engines in containers), each container's root is a FUSE mount
//! of its own, and the kernel caches a file it reads once per container —
//! the page cache holds as many copies of `mariadbd` or Python's library as
//! there are containers using them, and `docker stats` counts them. From a
//! volume, a file is cached once for every container. A task3 lab holds
//! 463 → 332 MB, and programs start without going through FUSE. `/usr/local` (the init, the lab's own files) stays in each
//! container.
//!
//! The volumes are named by the image's id, so a rebuilt image gets its
//! own. Filling is safe between processes and machines: the filler is a
//! container of a fixed name (the engine lets one exist), and the volumes
//! count as filled once a fourth, empty volume flags it; the filler clears
//! what an interrupted fill left.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, ContainerStateStatusEnum, HostConfig};
use bollard::query_parameters::{CreateContainerOptionsBuilder, ListVolumesOptionsBuilder};
use bollard::Docker;
use futures_util::StreamExt;

use super::containers;
use super::engine::{self, fail};
use super::exec::logs;
use crate::error::{Error, Result};

/// The shared directories under `/usr`.
pub const DIRS: [&str; 3] = ["bin", "sbin", "lib"];
/// On each shared volume and the filler: the image id they hold.
pub const LABEL: &str = "io.infractl.shared";

/// `infractl-usr-<id>-<what>`, with the image id's first 12 digits.
fn name(image_id: &str, what: &str) -> String {
    let id = image_id.trim_start_matches("sha256:");
    format!("infractl-usr-{}-{what}", &id[..id.len().min(12)])
}

/// The binds a container of the image gets: each shared directory, read
/// only.
pub fn binds(image_id: &str) -> Vec<String> {
    DIRS.iter()
        .map(|d| format!("{}:/usr/{d}:ro", name(image_id, d)))
        .collect()
}

/// The image's id, as the engine has it.
pub async fn image_id(docker: &Docker, reference: &str) -> Result<String> {
    docker
        .inspect_image(reference)
        .await
        .map_err(fail(&format!("inspecting image {reference}")))?
        .id
        .ok_or_else(|| Error::failure(format!("image {reference} has no id")))
}

async fn volume_exists(docker: &Docker, name: &str) -> Result<bool> {
    engine::found(
        docker.inspect_volume(name).await,
        &format!("inspecting volume {name}"),
    )
}

/// Filled: the flag is there, and so is every volume it vouches for.
pub async fn filled(docker: &Docker, image_id: &str) -> Result<bool> {
    for what in std::iter::once("filled").chain(DIRS) {
        if !volume_exists(docker, &name(image_id, what)).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

async fn create_volume(docker: &Docker, name: &str, image_id: &str) -> Result<()> {
    docker
        .create_volume(bollard::models::VolumeCreateOptions {
            name: Some(name.to_string()),
            labels: Some(HashMap::from([(LABEL.to_string(), image_id.to_string())])),
            ..Default::default()
        })
        .await
        .map_err(fail(&format!("creating volume {name}")))?;
    Ok(())
}

/// The fill: each shared directory's volume cleared of what an interrupted
/// fill left, then the image's directory copied in.
fn fill_script() -> String {
    format!(
        "set -e; for d in {}; do \
         find /fill/$d -mindepth 1 -maxdepth 1 -exec rm -rf {{}} +; \
         cp -a /usr/$d/. /fill/$d/; done",
        DIRS.join(" ")
    )
}

/// The shared volumes of `reference` are still not filled (by `filler`)
/// after 10 minutes: what to look at, and how to start again.
fn not_filled(reference: &str, filler: &str) -> Error {
    Error::failure(format!(
        "the shared volumes of {reference} are not filled after 10 minutes"
    ))
    .with_hint(format!(
        "see `docker logs {filler}`; `docker rm -f {filler}` lets the next `up` fill them again"
    ))
}

/// Makes sure the shared volumes of `reference` are filled on this engine
/// (filling them, or waiting for whoever is), and returns the binds of a
/// container of it.
pub async fn ensure(docker: &Docker, reference: &str) -> Result<Vec<String>> {
    let id = image_id(docker, reference).await?;
    let filler = name(&id, "fill");
    let started = std::time::Instant::now();
    // Since when the filler has been seen created and not started.
    let mut unstarted: Option<std::time::Instant> = None;
    loop {
        if filled(docker, &id).await? {
            return Ok(binds(&id));
        }
        if started.elapsed() > std::time::Duration::from_secs(600) {
            return Err(not_filled(reference, &filler));
        }
        let state = match docker
            .inspect_container(
                &filler,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
        {
            Ok(c) => c.state,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {
                // Gone: not made yet, or removed once done (the flag is
                // made before the removal, so it shows now).
                if !filled(docker, &id).await? {
                    start_filler(docker, reference, &id, &filler).await?;
                }
                continue;
            }
            Err(e) => {
                return Err(Error::failure(format!(
                    "inspecting container {filler}: {e}"
                )))
            }
        };
        let state = state.unwrap_or_default();
        match state.status {
            Some(ContainerStateStatusEnum::RUNNING) => {
                // Its end, whoever started it.
                let mut wait = docker.wait_container(
                    &filler,
                    None::<bollard::query_parameters::WaitContainerOptions>,
                );
                let _ = wait.next().await;
            }
            Some(ContainerStateStatusEnum::EXITED) if state.exit_code == Some(0) => {
                create_volume(docker, &name(&id, "filled"), &id).await?;
                // Whoever sees it first removes it; the others' removal
                // finds it gone or going ("already in progress").
                let _ = containers::remove(docker, &filler).await;
            }
            Some(ContainerStateStatusEnum::EXITED) | Some(ContainerStateStatusEnum::DEAD) => {
                let log = logs(docker, &filler, 10).await.unwrap_or_default();
                let _ = containers::remove(docker, &filler).await;
                return Err(Error::failure(format!(
                    "filling the shared volumes of {reference} failed (exit code {}):\n{log}",
                    state.exit_code.unwrap_or(-1)
                )));
            }
            _ => {
                // Created and not started yet: by another `up` a moment
                // ago, or by one cut off in between (cleared once seen so
                // for 60 s).
                let since = *unstarted.get_or_insert_with(std::time::Instant::now);
                if since.elapsed() > std::time::Duration::from_secs(60) {
                    let _ = containers::remove(docker, &filler).await;
                    unstarted = None;
                } else {
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
            }
        }
    }
}

/// Creates and starts the filler, unless another has just been created
/// (the engine refuses a second of the name: the caller waits on it).
async fn start_filler(docker: &Docker, reference: &str, id: &str, filler: &str) -> Result<()> {
    for d in DIRS {
        create_volume(docker, &name(id, d), id).await?;
    }
    let body = ContainerCreateBody {
        image: Some(reference.to_string()),
        entrypoint: Some(vec!["sh".into(), "-c".into(), fill_script()]),
        cmd: Some(vec![]),
        labels: Some(HashMap::from([(LABEL.to_string(), id.to_string())])),
        network_disabled: Some(true),
        host_config: Some(HostConfig {
            binds: Some(
                DIRS.iter()
                    .map(|d| format!("{}:/fill/{d}", name(id, d)))
                    .collect(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = docker
        .create_container(
            Some(CreateContainerOptionsBuilder::new().name(filler).build()),
            body,
        )
        .await;
    match created {
        Ok(_) => {}
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 409, ..
        }) => return Ok(()),
        Err(e) => return Err(Error::failure(format!("creating container {filler}: {e}"))),
    }
    prune(docker, id).await;
    match docker
        .start_container(
            filler,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
    {
        Ok(()) => Ok(()),
        // Removed by another `up` that took it for one cut off: it
        // starts its own.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(Error::failure(format!("starting container {filler}: {e}"))),
    }
}

/// Removes the shared volumes of images the engine no longer has (an
/// image rebuilt: its id changed, or removed), but `keep`'s; their names.
/// Volumes in use stay.
pub async fn prune(docker: &Docker, keep: &str) -> Vec<String> {
    let filters = HashMap::from([("label".to_string(), vec![LABEL.to_string()])]);
    let Ok(list) = docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
    else {
        return vec![];
    };
    let mut removed = vec![];
    for v in list.volumes.unwrap_or_default() {
        let Some(id) = v.labels.get(LABEL) else {
            continue;
        };
        if id == keep || engine::image_exists(docker, id).await.unwrap_or(true) {
            continue;
        }
        let gone = docker
            .remove_volume(
                &v.name,
                None::<bollard::query_parameters::RemoveVolumeOptions>,
            )
            .await;
        if gone.is_ok() {
            removed.push(v.name);
        }
    }
    removed.sort();
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fill_copies_every_shared_directory() {
        assert!(fill_script().starts_with("set -e; for d in bin sbin lib; do "));
    }

    #[test]
    fn names_and_binds_follow_the_image_id() {
        let id = "sha256:4ca65df6b02f0123456789abcdef";
        assert_eq!(name(id, "fill"), "infractl-usr-4ca65df6b02f-fill");
        assert_eq!(
            binds(id),
            [
                "infractl-usr-4ca65df6b02f-bin:/usr/bin:ro",
                "infractl-usr-4ca65df6b02f-sbin:/usr/sbin:ro",
                "infractl-usr-4ca65df6b02f-lib:/usr/lib:ro",
            ]
        );
    }

    #[test]
    fn a_short_id_is_kept_whole_and_a_fill_too_long_says_what_to_do() {
        assert_eq!(name("sha256:abc", "filled"), "infractl-usr-abc-filled");
        let script = fill_script();
        assert!(
            script.contains("find /fill/$d -mindepth 1 -maxdepth 1 -exec rm -rf {} +;"),
            "{script}"
        );
        assert!(
            script.ends_with("cp -a /usr/$d/. /fill/$d/; done"),
            "{script}"
        );
        let e = not_filled("infractl/node:x", "infractl-usr-0123456789ab-fill");
        assert_eq!(
            e.headline(),
            "the shared volumes of infractl/node:x are not filled after 10 minutes"
        );
        assert!(e
            .hint_text()
            .is_some_and(|h| h.contains("`docker rm -f infractl-usr-0123456789ab-fill`")));
    }
}
