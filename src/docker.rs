//! The Docker Engine API pieces infractl uses, over bollard on tokio.
//!
//! Connecting (honouring `DOCKER_HOST`, negotiating the API version: the
//! engine here speaks 1.41 at most), running a throwaway container, copying
//! files in as a tar archive, and running a command with its output and
//! exit code. Everything infractl creates carries an `io.infractl.*` label.

use std::collections::HashMap;

use bollard::container::LogOutput;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, ExecConfig, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
    UploadToContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;

use crate::error::{Error, Result};
use crate::plan::FileSpec;

/// Label on every object of a stack: its name.
pub const LABEL_STACK: &str = "io.infractl.stack";
/// Label on the throwaway containers `infractl validate` starts.
pub const LABEL_CHECK: &str = "io.infractl.check";

/// Connects to the engine (`DOCKER_HOST` or the local socket) and agrees on
/// an API version; one clear error when the engine cannot be reached.
pub async fn connect() -> Result<Docker> {
    let where_ =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    let unreachable = |e: bollard::errors::Error| {
        Error::failure(format!("cannot reach the Docker engine at {where_}: {e}")).with_hint(
            "start it (`systemctl start docker` or `dockerd &`), or point DOCKER_HOST at a running engine",
        )
    };
    let docker = Docker::connect_with_defaults().map_err(unreachable)?;
    let docker = docker.negotiate_version().await.map_err(unreachable)?;
    docker.ping().await.map_err(unreachable)?;
    Ok(docker)
}

/// Turns a bollard error into a failure that says what was being done.
pub fn fail(doing: &str) -> impl Fn(bollard::errors::Error) -> Error + '_ {
    move |e| Error::failure(format!("{doing}: {e}"))
}

/// Output of a command run in a container.
#[derive(Debug, Clone)]
pub struct ExecOutput {
    pub code: i64,
    pub stdout: String,
    pub stderr: String,
}

impl ExecOutput {
    /// stderr then stdout, trimmed: what to show when the command failed.
    pub fn message(&self) -> String {
        let mut s = self.stderr.trim().to_string();
        if !self.stdout.trim().is_empty() {
            if !s.is_empty() {
                s.push('\n');
            }
            s.push_str(self.stdout.trim());
        }
        s
    }
}

/// Runs `sh -c script` in a running container.
pub async fn exec(docker: &Docker, container: &str, script: &str) -> Result<ExecOutput> {
    exec_argv(
        docker,
        container,
        &["sh".into(), "-c".into(), script.into()],
        &[],
    )
    .await
}

/// Runs `sh -c script` with extra environment variables (`NAME=value`),
/// for values that must not appear on a command line.
pub async fn exec_env(
    docker: &Docker,
    container: &str,
    script: &str,
    env: &[String],
) -> Result<ExecOutput> {
    exec_argv(
        docker,
        container,
        &["sh".into(), "-c".into(), script.into()],
        env,
    )
    .await
}

/// Runs a program (argv) in a running container, collecting its output.
pub async fn exec_argv(
    docker: &Docker,
    container: &str,
    argv: &[String],
    env: &[String],
) -> Result<ExecOutput> {
    let doing = format!("running a command in {container}");
    let created = docker
        .create_exec(
            container,
            ExecConfig {
                cmd: Some(argv.to_vec()),
                env: (!env.is_empty()).then(|| env.to_vec()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| match e {
            bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            } => Error::failure(format!("no container {container}"))
                .with_hint("is the stack up? see `infractl status`"),
            bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            } => Error::failure(format!("container {container} is not running"))
                .with_hint("`infractl up` starts it again"),
            e => Error::failure(format!("{doing}: {e}")),
        })?;
    let started = docker
        .start_exec(
            &created.id,
            Some(StartExecOptions {
                detach: false,
                tty: false,
                output_capacity: None,
            }),
        )
        .await
        .map_err(fail(&doing))?;
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    if let StartExecResults::Attached { mut output, .. } = started {
        while let Some(item) = output.next().await {
            match item.map_err(fail(&doing))? {
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    stdout.extend_from_slice(&message)
                }
                LogOutput::StdErr { message } => stderr.extend_from_slice(&message),
                LogOutput::StdIn { .. } => {}
            }
        }
    }
    let inspect = docker
        .inspect_exec(&created.id)
        .await
        .map_err(fail(&doing))?;
    Ok(ExecOutput {
        code: inspect.exit_code.unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

/// A tar archive of `files`, paths relative to `/`, with their modes.
pub fn tar_of(files: &[FileSpec]) -> Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for f in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(f.content.len() as u64);
        header.set_mode(f.mode);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(
                &mut header,
                f.path.trim_start_matches('/'),
                f.content.as_slice(),
            )
            .map_err(|e| Error::failure(format!("cannot pack {}: {e}", f.path)))?;
    }
    builder
        .into_inner()
        .map_err(|e| Error::failure(format!("cannot pack files: {e}")))
}

/// Copies `files` into the container at their absolute paths, then sets
/// their owners.
pub async fn put_files(docker: &Docker, container: &str, files: &[FileSpec]) -> Result<()> {
    if files.is_empty() {
        return Ok(());
    }
    // Parent directories first: the engine does not create them for us.
    let mkdir = format!(
        "mkdir -p {}",
        crate::plan::paths_by_dir(files)
            .keys()
            .map(|d| shell_quote(d))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let out = exec(docker, container, &mkdir).await?;
    if out.code != 0 {
        return Err(Error::failure(format!(
            "cannot create directories in {container}: {}",
            out.message()
        )));
    }
    let tar = tar_of(files)?;
    docker
        .upload_to_container(
            container,
            Some(UploadToContainerOptionsBuilder::new().path("/").build()),
            bollard::body_full(tar.into()),
        )
        .await
        .map_err(fail(&format!("copying files into {container}")))?;
    let chowns = crate::supervise::chowns(files);
    if !chowns.is_empty() {
        let out = exec(docker, container, &format!("set -e\n{chowns}")).await?;
        if out.code != 0 {
            return Err(Error::failure(format!(
                "cannot set file owners in {container}: {}",
                out.message()
            )));
        }
    }
    Ok(())
}

/// Single-quotes `s` for sh.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-:=@,".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Starts a throwaway container of `image` on the engine's default bridge
/// (so it has an interface like a server would; nothing is sent). It
/// removes itself after ten minutes should its creator die before
/// removing it.
pub async fn run_scratch(
    docker: &Docker,
    image: &str,
    name: &str,
    labels: HashMap<String, String>,
) -> Result<()> {
    let doing = format!("starting container {name}");
    docker
        .create_container(
            Some(CreateContainerOptionsBuilder::new().name(name).build()),
            ContainerCreateBody {
                image: Some(image.to_string()),
                entrypoint: Some(vec!["sleep".into(), "600".into()]),
                cmd: Some(vec![]),
                labels: Some(labels),
                host_config: Some(HostConfig {
                    network_mode: Some("bridge".into()),
                    auto_remove: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .map_err(fail(&doing))?;
    docker
        .start_container(
            name,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .map_err(fail(&doing))?;
    Ok(())
}

/// Removes a container and its anonymous volumes, running or not.
pub async fn remove(docker: &Docker, name: &str) -> Result<()> {
    match docker
        .remove_container(
            name,
            Some(
                RemoveContainerOptionsBuilder::new()
                    .force(true)
                    .v(true)
                    .build(),
            ),
        )
        .await
    {
        Ok(()) => Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(Error::failure(format!("removing container {name}: {e}"))),
    }
}

/// Names of containers carrying `label=value`, running or not.
pub async fn containers_with_label(
    docker: &Docker,
    label: &str,
    value: &str,
) -> Result<Vec<String>> {
    let mut filters = HashMap::new();
    filters.insert("label".to_string(), vec![format!("{label}={value}")]);
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

/// Whether the engine has an image with this reference.
pub async fn image_exists(docker: &Docker, reference: &str) -> Result<bool> {
    match docker.inspect_image(reference).await {
        Ok(_) => Ok(true),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(false),
        Err(e) => Err(Error::failure(format!("inspecting image {reference}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(
            shell_quote("/etc/nginx/nginx.conf"),
            "/etc/nginx/nginx.conf"
        );
        assert_eq!(shell_quote("root:www-data"), "root:www-data");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
