//! The Docker driver's own Engine API calls, over bollard on tokio; the
//! check containers (`infractl validate`) and the image build use them too.
//!
//! Connecting (honouring `DOCKER_HOST`, negotiating the API version: the
//! engine here speaks 1.41 at most), running a throwaway container, copying
//! files in as a tar archive, and running a command with its output and
//! exit code. Everything infractl creates carries an `io.infractl.*` label.

use std::collections::HashMap;

use bollard::container::LogOutput;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, ExecConfig, HostConfig,
    NetworkingConfig,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
    UploadToContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;

use crate::driver::archive::{tar_of, tar_with_dirs, Owners};
use crate::driver::ExecOutput;
use crate::error::{Error, Result};
use crate::render::plan::FileSpec;
use crate::shell::shell_quote;

/// Label on every object of a stack: its name.
/// The lab an object belongs to: what `down` removes by.
pub const LABEL_LAB: &str = "io.infractl.lab";
/// The stack the lab runs (its own name).
pub const LABEL_STACK: &str = "io.infractl.stack";
/// Label on the throwaway containers `infractl validate` starts.
pub const LABEL_CHECK: &str = "io.infractl.check";

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
    let (id, output) = start_exec(docker, container, argv, env).await?;
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    if let Some(mut output) = output {
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
    let inspect = docker.inspect_exec(&id).await.map_err(fail(&doing))?;
    Ok(ExecOutput {
        code: inspect.exit_code.unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

type ExecStream = std::pin::Pin<
    Box<dyn futures_util::Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>,
>;

/// Creates and starts an exec of `argv` in `container`, attached: its id
/// and its output.
async fn start_exec(
    docker: &Docker,
    container: &str,
    argv: &[String],
    env: &[String],
) -> Result<(String, Option<ExecStream>)> {
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
    let output = match started {
        StartExecResults::Attached { output, .. } => Some(output),
        StartExecResults::Detached => None,
    };
    Ok((created.id, output))
}

/// Runs `sh -c script` in a running container, its output handed on as it
/// comes (`logs --follow`).
pub async fn exec_stream(
    docker: &Docker,
    container: &str,
    script: &str,
) -> Result<crate::driver::OutputStream> {
    use crate::driver::Chunk;
    let argv = ["sh".into(), "-c".into(), script.into()];
    let (_, output) = start_exec(docker, container, &argv, &[]).await?;
    let doing = format!("reading the output of a command in {container}");
    let chunks = futures_util::stream::iter(output)
        .flatten()
        .filter_map(move |item| {
            let chunk = match item {
                Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                    Some(Ok(Chunk::Stdout(message.to_vec())))
                }
                Ok(LogOutput::StdErr { message }) => Some(Ok(Chunk::Stderr(message.to_vec()))),
                Ok(LogOutput::StdIn { .. }) => None,
                Err(e) => Some(Err(Error::caused(doing.clone(), e))),
            };
            std::future::ready(chunk)
        });
    Ok(Box::pin(chunks))
}

/// The users and groups of a container (created or running), read from
/// its `/etc/passwd` and `/etc/group` through the archive API.
pub async fn owners_of(docker: &Docker, container: &str) -> Result<Owners> {
    let passwd = read_file(docker, container, "/etc/passwd").await?;
    let group = read_file(docker, container, "/etc/group").await?;
    Ok(Owners::parse(&passwd, &group))
}

/// One file's text from a container, created or running.
async fn read_file(docker: &Docker, container: &str, path: &str) -> Result<String> {
    let doing = format!("reading {path} of {container}");
    let mut stream = docker.download_from_container(
        container,
        Some(
            bollard::query_parameters::DownloadFromContainerOptionsBuilder::new()
                .path(path)
                .build(),
        ),
    );
    let mut archive = Vec::new();
    while let Some(chunk) = stream.next().await {
        archive.extend_from_slice(&chunk.map_err(fail(&doing))?);
    }
    let mut tar = tar::Archive::new(archive.as_slice());
    let mut text = String::new();
    let entries = tar
        .entries()
        .map_err(|e| Error::failure(format!("{doing}: {e}")))?;
    for entry in entries {
        use std::io::Read;
        entry
            .and_then(|mut e| e.read_to_string(&mut text))
            .map_err(|e| Error::failure(format!("{doing}: {e}")))?;
    }
    Ok(text)
}

/// Copies `files` into the container at their absolute paths, with their
/// modes and owners.
pub async fn put_files(
    docker: &Docker,
    container: &str,
    files: &[FileSpec],
    owners: Option<&Owners>,
) -> Result<()> {
    if files.is_empty() {
        return Ok(());
    }
    let read;
    let owners = match owners {
        Some(o) => o,
        None => {
            read = owners_of(docker, container).await?;
            &read
        }
    };
    let running = docker
        .inspect_container(
            container,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .map_err(fail(&format!("inspecting {container}")))?
        .state
        .and_then(|s| s.running)
        .unwrap_or(false);
    if !running {
        // Nothing runs to read the files: they go where they belong.
        return upload(docker, container, tar_of(files, Some(owners))?).await;
    }
    // The engine writes an archive's files where they go, in place: a
    // service reading one meanwhile (a DNS server loading its zone as it
    // starts) would read half a file. So the files land in a staging
    // directory, each directory's in one of its own, and are renamed into
    // place: a reader sees the old file or the new one, whole.
    static PUTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = PUTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let stage = format!("/var/tmp/infractl-put-{}-{n}", std::process::id());
    let (dirs, staged, script) = staging(files, &stage);
    upload(
        docker,
        container,
        tar_with_dirs(&dirs, &staged, Some(owners))?,
    )
    .await?;
    let out = exec(docker, container, &script).await?;
    if out.code != 0 {
        return Err(Error::failure(format!(
            "cannot move the files into place in {container}: {}",
            out.message()
        )));
    }
    Ok(())
}

/// `files` staged under `stage`: the staging directories, the files at
/// their staged paths, and the script that renames them into place (one
/// `mv` a directory) and removes the stage.
fn staging(files: &[FileSpec], stage: &str) -> (Vec<String>, Vec<FileSpec>, String) {
    let mut dirs = vec![stage.to_string()];
    let mut staged = Vec::new();
    let mut script = String::from("set -e\n");
    for (k, (dir, paths)) in crate::render::plan::paths_by_dir(files).iter().enumerate() {
        let at = format!("{stage}/{k}");
        dirs.push(at.clone());
        let mut moved = Vec::new();
        for f in files.iter().filter(|f| paths.contains(&f.path.as_str())) {
            let name = f.path.rsplit('/').next().unwrap_or(&f.path);
            staged.push(FileSpec {
                path: format!("{at}/{name}"),
                ..f.clone()
            });
            moved.push(shell_quote(&format!("{at}/{name}")));
        }
        let dir = shell_quote(dir);
        script.push_str(&format!(
            "mkdir -p {dir}\nmv -f -t {dir} {}\n",
            moved.join(" ")
        ));
    }
    script.push_str(&format!("rm -rf {}\n", shell_quote(stage)));
    (dirs, staged, script)
}

/// Unpacks `tar` at the container's root.
async fn upload(docker: &Docker, container: &str, tar: Vec<u8>) -> Result<()> {
    docker
        .upload_to_container(
            container,
            Some(UploadToContainerOptionsBuilder::new().path("/").build()),
            bollard::body_full(tar.into()),
        )
        .await
        .map_err(fail(&format!("copying files into {container}")))
}

/// Where a throwaway container is attached: the engine's default bridge
/// (an interface like a server's; nothing is sent), or a network at a
/// given address.
pub enum Attach<'a> {
    Bridge,
    At { network: &'a str, address: &'a str },
}

/// Starts a throwaway container of `image`, attached as `attach`. It
/// removes itself after ten minutes should its creator die before
/// removing it.
pub async fn run_scratch(
    docker: &Docker,
    image: &str,
    name: &str,
    labels: HashMap<String, String>,
    attach: Attach<'_>,
    turn: Option<&StartTurn>,
) -> Result<()> {
    let doing = format!("starting container {name}");
    let (network_mode, networking_config) = match attach {
        Attach::Bridge => ("bridge".to_string(), None),
        Attach::At { network, address } => {
            let endpoint = EndpointSettings {
                ipam_config: Some(EndpointIpamConfig {
                    ipv4_address: Some(address.to_string()),
                    ..Default::default()
                }),
                ..Default::default()
            };
            (
                network.to_string(),
                Some(NetworkingConfig {
                    endpoints_config: Some(HashMap::from([(network.to_string(), endpoint)])),
                }),
            )
        }
    };
    docker
        .create_container(
            Some(CreateContainerOptionsBuilder::new().name(name).build()),
            ContainerCreateBody {
                image: Some(image.to_string()),
                entrypoint: Some(vec!["sleep".into(), "600".into()]),
                cmd: Some(vec![]),
                labels: Some(labels),
                host_config: Some(HostConfig {
                    network_mode: Some(network_mode),
                    auto_remove: Some(true),
                    ..Default::default()
                }),
                networking_config,
                ..Default::default()
            },
        )
        .await
        .map_err(fail(&doing))?;
    match turn {
        Some(turn) => start_in_turn(docker, name, turn).await,
        None => start(docker, name).await,
    }
}

/// A TCP forwarder: a container of the lab at `address` on `network`,
/// taking `port` published on the engine's host (at `host_port`, or one
/// the engine picks when 0) and passing each connection to `target:port`.
/// Returns the host port. HAProxy in TCP mode does the forwarding: TLS
/// goes through untouched, to the lab's own load balancer.
pub struct Forwarder<'a> {
    pub image: &'a str,
    /// The image's shared directories.
    pub binds: Vec<String>,
    pub name: &'a str,
    pub labels: HashMap<String, String>,
    pub network: &'a str,
    pub address: &'a str,
    pub target: std::net::Ipv4Addr,
    pub port: u16,
    pub host_port: u16,
    /// The lab's turn to start a container.
    pub turn: StartTurn,
}

/// HAProxy's configuration for a forwarder to `target:port`.
fn forwarder_config(target: std::net::Ipv4Addr, port: u16) -> String {
    format!(
        "global\n    maxconn 2000\ndefaults\n    mode tcp\n    timeout connect 5s\n    timeout client 1h\n    timeout server 1h\n\
         frontend published\n    bind :{port}\n    default_backend lab\nbackend lab\n    server site {target}:{port}\n"
    )
}

/// Starts the forwarder `f` (see [`Forwarder`]); its host port.
pub async fn run_forwarder(docker: &Docker, f: Forwarder<'_>) -> Result<u16> {
    let doing = format!("starting container {}", f.name);
    let exposed = format!("{}/tcp", f.port);
    let config = forwarder_config(f.target, f.port);
    let script = format!(
        "printf '%s' {} > /run/forwarder.cfg && exec haproxy -db -f /run/forwarder.cfg",
        shell_quote(&config)
    );
    let endpoint = EndpointSettings {
        ipam_config: Some(EndpointIpamConfig {
            ipv4_address: Some(f.address.to_string()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let binding = bollard::models::PortBinding {
        host_ip: Some("0.0.0.0".into()),
        host_port: Some(if f.host_port == 0 {
            String::new()
        } else {
            f.host_port.to_string()
        }),
    };
    docker
        .create_container(
            Some(CreateContainerOptionsBuilder::new().name(f.name).build()),
            ContainerCreateBody {
                image: Some(f.image.to_string()),
                entrypoint: Some(vec!["sh".into(), "-c".into(), script]),
                cmd: Some(vec![]),
                labels: Some(f.labels),
                exposed_ports: Some(HashMap::from([(exposed.clone(), HashMap::new())])),
                host_config: Some(HostConfig {
                    binds: Some(f.binds),
                    network_mode: Some(f.network.to_string()),
                    port_bindings: Some(HashMap::from([(exposed.clone(), Some(vec![binding]))])),
                    restart_policy: Some(bollard::models::RestartPolicy {
                        name: Some(bollard::models::RestartPolicyNameEnum::UNLESS_STOPPED),
                        maximum_retry_count: None,
                    }),
                    ..Default::default()
                }),
                networking_config: Some(NetworkingConfig {
                    endpoints_config: Some(HashMap::from([(f.network.to_string(), endpoint)])),
                }),
                ..Default::default()
            },
        )
        .await
        .map_err(fail(&doing))?;
    start_in_turn(docker, f.name, &f.turn).await?;
    // The engine forwards the host port from now on; the site is there
    // once HAProxy listens behind it (until then a browser gets an empty
    // answer).
    let wait = crate::shell::polling(
        crate::shell::LISTENING,
        &["10".to_string(), f.port.to_string()],
    );
    let out = exec_argv(docker, f.name, &["sh".into(), "-c".into(), wait], &[]).await?;
    if out.code != 0 {
        let log = logs(docker, f.name, 10).await.unwrap_or_default();
        return Err(Error::failure(format!(
            "{}: the forwarder does not listen on port {} after 10 s{}",
            f.name,
            f.port,
            if log.trim().is_empty() {
                String::new()
            } else {
                format!("; its log:\n{}", log.trim_end())
            }
        )));
    }
    published_port(docker, f.name, f.port)
        .await?
        .ok_or_else(|| Error::failure(format!("{}: the engine published no port", f.name)))
}

/// The container `name`'s logs (its first process's output), last `tail`
/// lines.
pub async fn logs(docker: &Docker, name: &str, tail: u32) -> Result<String> {
    use futures_util::StreamExt;
    let mut stream = docker.logs(
        name,
        Some(
            bollard::query_parameters::LogsOptionsBuilder::new()
                .stdout(true)
                .stderr(true)
                .tail(&tail.to_string())
                .build(),
        ),
    );
    let mut out = String::new();
    while let Some(item) = stream.next().await {
        out.push_str(
            &item
                .map_err(fail(&format!("reading the logs of {name}")))?
                .to_string(),
        );
    }
    Ok(out)
}

/// A lab's turn to start a container: one start at a time per lab.
///
/// Starting a container joins it to its networks, and the engine (20.10)
/// counts each network's endpoints in its store, incrementing a cached
/// object in place and, when another join wrote first, reloading it and
/// trying again: two joins to one network at the same moment can count
/// one of them twice. A network whose count stays above zero once its
/// containers are gone can never be removed until the engine restarts
/// (moby/moby#42119). A lab's containers share its networks, so they
/// start one after another; labs, each on networks of its own, start
/// side by side.
pub type StartTurn = std::sync::Arc<tokio::sync::Mutex<()>>;

/// Starts the container `name` once it is the lab's turn (see
/// [`StartTurn`]).
pub async fn start_in_turn(docker: &Docker, name: &str, turn: &StartTurn) -> Result<()> {
    let _turn = turn.lock().await;
    start(docker, name).await
}

/// Stops the container `name` cleanly: its init stops its services, and
/// is killed after `seconds`. A container stopped already or gone is fine.
pub async fn stop(docker: &Docker, name: &str, seconds: i32) -> Result<()> {
    match docker
        .stop_container(
            name,
            Some(
                bollard::query_parameters::StopContainerOptionsBuilder::new()
                    .t(seconds)
                    .build(),
            ),
        )
        .await
    {
        Ok(())
        | Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304 | 404,
            ..
        }) => Ok(()),
        Err(e) => Err(Error::failure(format!("stopping container {name}: {e}"))),
    }
}

/// Waits until the container `name` has stopped and the engine has left
/// every network of it (no endpoint id left in its settings); a container
/// gone is released too. Gives up after 10 s, saying so.
pub async fn until_released(docker: &Docker, name: &str) -> Result<()> {
    let started = std::time::Instant::now();
    loop {
        let Some(c) = inspect(docker, name).await? else {
            return Ok(());
        };
        let running = c.state.as_ref().and_then(|s| s.running).unwrap_or(false);
        let joined = c
            .network_settings
            .and_then(|n| n.networks)
            .is_some_and(|n| {
                n.values()
                    .any(|e| e.endpoint_id.as_deref().is_some_and(|id| !id.is_empty()))
            });
        if !running && !joined {
            return Ok(());
        }
        if started.elapsed() > std::time::Duration::from_secs(10) {
            return Err(Error::failure(format!(
                "container {name}: still {} 10 s after it was killed",
                if running {
                    "running"
                } else {
                    "on its networks"
                }
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Starts the container `name`.
pub async fn start(docker: &Docker, name: &str) -> Result<()> {
    docker
        .start_container(
            name,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .map_err(fail(&format!("starting container {name}")))
}

/// Starts the container `name` with `input` on its input (it must be
/// created with stdin open, once): attached before the start, so nothing
/// it reads is lost, then closed.
pub async fn start_feeding(
    docker: &Docker,
    name: &str,
    input: &[u8],
    turn: &StartTurn,
) -> Result<()> {
    use tokio::io::AsyncWriteExt;
    let doing = format!("starting container {name}");
    let mut attached = docker
        .attach_container(
            name,
            Some(
                bollard::query_parameters::AttachContainerOptionsBuilder::new()
                    .stdin(true)
                    .stream(true)
                    .build(),
            ),
        )
        .await
        .map_err(fail(&doing))?;
    start_in_turn(docker, name, turn).await?;
    let sent = async {
        attached.input.write_all(input).await?;
        attached.input.flush().await?;
        attached.input.shutdown().await
    };
    sent.await
        .map_err(|e| Error::failure(format!("{doing}: sending its files on its input: {e}")))
}

/// Follows the container `name`'s output from its start for up to
/// `seconds` until its init says whether the services are ready. Reading
/// a log costs the engine next to nothing; an `exec` polling inside
/// starts a process in the container (about 70 ms of the engine's CPU).
pub async fn boot_ready(docker: &Docker, name: &str, seconds: u32) -> Result<bool> {
    use futures_util::StreamExt;
    let mut stream = docker.logs(
        name,
        Some(
            bollard::query_parameters::LogsOptionsBuilder::new()
                .stdout(true)
                .follow(true)
                .build(),
        ),
    );
    let said = async {
        let mut text = Vec::new();
        while let Some(item) = stream.next().await {
            text.extend_from_slice(
                &item
                    .map_err(fail(&format!("reading the logs of {name}")))?
                    .into_bytes(),
            );
            while let Some(end) = text.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = text.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line);
                let line = line.trim_end();
                if line == crate::supervise::BOOT_READY {
                    return Ok(true);
                }
                if line.starts_with(crate::supervise::BOOT_NOT_READY) {
                    return Ok(false);
                }
            }
        }
        Ok(false)
    };
    match tokio::time::timeout(std::time::Duration::from_secs(seconds.into()), said).await {
        Ok(r) => r,
        Err(_) => Ok(false),
    }
}

/// The host port the container `name` publishes its `port` on, if any.
pub async fn published_port(docker: &Docker, name: &str, port: u16) -> Result<Option<u16>> {
    let Some(c) = inspect(docker, name).await? else {
        return Ok(None);
    };
    Ok(c.network_settings
        .and_then(|n| n.ports)
        .and_then(|p| p.get(&format!("{port}/tcp")).cloned().flatten())
        .and_then(|b| b.first()?.host_port.as_deref()?.parse().ok()))
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

/// Removes a network whose containers are gone.
///
/// The engine can keep an endpoint of a container that is already removed
/// (a create or connect it finished after its client died, or a removal
/// it has not yet released). Such an endpoint blocks the removal with
/// "active endpoints" for good; a forced disconnect by the endpoint's name
/// deletes it, which is what `docker network disconnect -f` does. `known`
/// names the containers that were on the network, in case the engine no
/// longer lists the stale endpoint.
pub async fn remove_network(docker: &Docker, name: &str, known: &[String]) -> Result<()> {
    let started = std::time::Instant::now();
    let mut tries = 0;
    loop {
        let e = match docker.remove_network(name).await {
            Ok(()) => return Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => return Ok(()),
            Err(e) => e,
        };
        if !e.to_string().contains("active endpoints") {
            return Err(Error::failure(format!("removing network {name}: {e}")));
        }
        tries += 1;
        // An engine removing many containers at once (a class going down)
        // was seen to hold one endpoint for more than 18 s, then let go.
        if started.elapsed() > std::time::Duration::from_secs(60) {
            let held = endpoints_on(docker, name).await;
            // An engine can also count an endpoint it no longer has
            // (moby/moby#42119): nothing names it, nothing but a restart
            // of the engine lets the network go.
            let hint = match held.first() {
                Some(ep) => format!(
                    "every container of the lab is gone but the engine still holds an endpoint on this network: `docker network disconnect -f {name} {ep}` removes it; then `down` again finishes"
                ),
                None => "every container of the lab is gone and the network lists no endpoint, yet the engine counts one (a known engine fault, moby/moby#42119): only restarting the engine lets the network go; then `down` again finishes".to_string(),
            };
            return Err(Error::failure(format!("removing network {name}: {e}")).with_hint(hint));
        }
        if tries > 3 {
            let mut stale: Vec<String> = known.to_vec();
            stale.extend(endpoints_on(docker, name).await);
            for c in stale {
                // Errors are expected: most names have no endpoint left.
                let _ = docker
                    .disconnect_network(
                        name,
                        bollard::models::NetworkDisconnectRequest {
                            container: Some(c),
                            force: Some(true),
                        },
                    )
                    .await;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100 * tries.min(5))).await;
    }
}

/// The endpoints the network `name` lists (their names, else their ids);
/// none when it cannot be inspected.
async fn endpoints_on(docker: &Docker, name: &str) -> Vec<String> {
    docker
        .inspect_network(
            name,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
        .map(|n| {
            n.containers
                .unwrap_or_default()
                .into_iter()
                .map(|(id, ep)| ep.name.unwrap_or(id))
                .collect()
        })
        .unwrap_or_default()
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

/// Copies the image `reference` from one engine to another through the
/// API (an export streamed into a load: nothing lands on this machine's
/// disk), reporting the megabytes moved as `task`.
pub async fn copy_image(
    from: &Docker,
    to: &Docker,
    reference: &str,
    task: &str,
    progress: &dyn crate::progress::Progress,
) -> Result<()> {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    let doing = format!("copying the image {reference} between engines");
    let total = from
        .inspect_image(reference)
        .await
        .map_err(fail(&doing))?
        .size
        .map(|b| (b.max(0) as u64) / 1_000_000);
    progress.begin(task, total, "copying the node image");
    // The export's error, if it stops short: the load then sees a cut
    // archive and fails, and this says why.
    let broken: Arc<Mutex<Option<bollard::errors::Error>>> = Arc::default();
    let moved = Arc::new(AtomicU64::new(0));
    let export = {
        let (broken, moved) = (broken.clone(), moved.clone());
        from.export_image(reference)
            .take_while(move |chunk| {
                if let Err(e) = chunk {
                    *broken.lock().expect("lock") = Some(clone_error(e));
                }
                std::future::ready(chunk.is_ok())
            })
            .filter_map(move |chunk| {
                let bytes = chunk.ok();
                if let Some(b) = &bytes {
                    moved.fetch_add(b.len() as u64, Ordering::Relaxed);
                }
                std::future::ready(bytes)
            })
    };
    let options = bollard::query_parameters::ImportImageOptionsBuilder::new()
        .quiet(true)
        .build();
    let mut load = std::pin::pin!(to.import_image_stream(options, export, None));
    let cut = || {
        broken
            .lock()
            .expect("lock")
            .take()
            .map(|c| Error::caused(format!("{doing}: the export stopped"), c))
    };
    let mut last = 0;
    let result = loop {
        let step = tokio::time::timeout(std::time::Duration::from_secs(1), load.next()).await;
        let mb = moved.load(Ordering::Relaxed) / 1_000_000;
        if mb != last {
            progress.update(task, Some(mb), &format!("copying the node image ({mb} MB)"));
            last = mb;
        }
        match step {
            Err(_) => continue,
            Ok(None) => break cut().map_or(Ok(()), Err),
            // A cut export explains whatever the load says next.
            Ok(Some(_)) if cut_now(&broken) => break Err(cut().expect("cut")),
            Ok(Some(Ok(info))) => {
                if let Some(e) = info.error_detail.and_then(|d| d.message).or(info.error) {
                    break Err(Error::failure(format!(
                        "{doing}: the engine refused it: {e}"
                    )));
                }
            }
            Ok(Some(Err(e))) => break Err(Error::caused(doing.clone(), e)),
        }
    };
    let result = match result {
        Ok(()) if !image_exists(to, reference).await? => Err(Error::failure(format!(
            "{doing}: the engine took the archive but has no {reference}"
        ))),
        r => r,
    };
    let mb = moved.load(Ordering::Relaxed) / 1_000_000;
    match &result {
        Ok(()) => progress.finish(task, true, &format!("node image copied ({mb} MB)")),
        Err(e) => progress.finish(task, false, &e.headline()),
    }
    result
}

fn cut_now(broken: &std::sync::Mutex<Option<bollard::errors::Error>>) -> bool {
    broken.lock().expect("lock").is_some()
}

/// A bollard error kept for later (it is not `Clone`): its message.
fn clone_error(e: &bollard::errors::Error) -> bollard::errors::Error {
    bollard::errors::Error::IOError {
        err: std::io::Error::other(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_files_are_renamed_into_place_a_directory_at_a_time() {
        let file = |path: &str| FileSpec {
            path: path.into(),
            mode: 0o640,
            owner: Some("root:bind".into()),
            sha256: String::new(),
            secret: false,
            content: b"x".to_vec(),
        };
        let files = [
            file("/etc/bind/named.conf"),
            file("/var/lib/bind/db.x"),
            file("/etc/bind/b c"),
        ];
        let (dirs, staged, script) = staging(&files, "/var/tmp/s");
        assert_eq!(dirs, ["/var/tmp/s", "/var/tmp/s/0", "/var/tmp/s/1"]);
        let paths: Vec<&str> = staged.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/var/tmp/s/0/named.conf",
                "/var/tmp/s/0/b c",
                "/var/tmp/s/1/db.x"
            ]
        );
        assert!(staged
            .iter()
            .all(|f| f.mode == 0o640 && f.owner.as_deref() == Some("root:bind")));
        assert_eq!(
            script,
            "set -e\nmkdir -p /etc/bind\nmv -f -t /etc/bind /var/tmp/s/0/named.conf '/var/tmp/s/0/b c'\n\
             mkdir -p /var/lib/bind\nmv -f -t /var/lib/bind /var/tmp/s/1/db.x\nrm -rf /var/tmp/s\n"
        );
    }
}
