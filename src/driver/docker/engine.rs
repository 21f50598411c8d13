//! The Docker backend's plainest Engine API calls, over bollard on tokio:
//! connecting (honouring `DOCKER_HOST`, negotiating the API version: the
//! engine here speaks 1.41 at most), errors that say what was being done,
//! and asking the engine whether it has a container or an image and which
//! containers a filter keeps. Running commands, files, containers,
//! networks and volumes each have a file of their own beside this one.

use std::collections::HashMap;

use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::Docker;

use crate::error::{Error, Result};

pub use super::names::{LABEL_CHECK, LABEL_LAB, LABEL_STACK};

/// Connects to the engine the environment names (DOCKER_HOST,
/// DOCKER_CONTEXT, the current context, or the local socket).
pub async fn connect() -> Result<Docker> {
    super::endpoint::Endpoint::ambient()?.connect().await
}

/// Turns a bollard error into a failure that says what was being done,
/// the engine's error (and its causes) kept as `Caused by:` lines.
pub fn fail(doing: &str) -> impl Fn(bollard::errors::Error) -> Error + '_ {
    move |e| Error::caused(doing, e)
}

/// Names of containers carrying `label=value`, running or not.
pub async fn containers_with_label(
    docker: &Docker,
    label: &str,
    value: &str,
) -> Result<Vec<String>> {
    containers_where(docker, "label", &format!("{label}={value}")).await
}

/// Names of containers of the image `reference` (or of an image built on
/// it), running or not.
pub async fn containers_of_image(docker: &Docker, reference: &str) -> Result<Vec<String>> {
    containers_where(docker, "ancestor", reference).await
}

/// Names of containers the engine's list filter `key=value` keeps,
/// running or not.
async fn containers_where(docker: &Docker, key: &str, value: &str) -> Result<Vec<String>> {
    let filters = HashMap::from([(key.to_string(), vec![value.to_string()])]);
    let list = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(fail("listing containers"))?;
    Ok(list
        .into_iter()
        .filter_map(|c| {
            c.names?
                .first()
                .map(|n| n.trim_start_matches('/').to_string())
        })
        .collect())
}

/// The container `name` as the engine describes it; None when there is
/// none of that name.
pub async fn inspect(
    docker: &Docker,
    name: &str,
) -> Result<Option<bollard::models::ContainerInspectResponse>> {
    match docker
        .inspect_container(
            name,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
    {
        Ok(c) => Ok(Some(c)),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(e) => Err(Error::caused(format!("inspecting container {name}"), e)),
    }
}

/// Whether an inspection found its object: "not found" is a plain no,
/// any other error the engine's, reported as `doing` failed.
pub fn found<T>(
    inspected: std::result::Result<T, bollard::errors::Error>,
    doing: &str,
) -> Result<bool> {
    match inspected {
        Ok(_) => Ok(true),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(false),
        Err(e) => Err(Error::failure(format!("{doing}: {e}"))),
    }
}

/// Whether the engine has an image with this reference.
pub async fn image_exists(docker: &Docker, reference: &str) -> Result<bool> {
    found(
        docker.inspect_image(reference).await,
        &format!("inspecting image {reference}"),
    )
}
