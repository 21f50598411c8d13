//! Commands run in a running container: a shell script or a program's
//! argv, with its output collected and its exit code, or handed on as it
//! comes (`logs --follow`); and what a container's first process (its
//! init) printed, read from its log: the last lines, or whether it said
//! its services are ready.

use bollard::container::LogOutput;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use bollard::Docker;
use futures_util::StreamExt;

use super::engine::fail;
use crate::driver::{Chunk, ExecOutput};
use crate::error::{Error, Result};
use crate::render::supervise::{BOOT_NOT_READY, BOOT_READY};

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
            match chunk_of(item.map_err(fail(&doing))?) {
                Some(Chunk::Stdout(bytes)) => stdout.extend_from_slice(&bytes),
                Some(Chunk::Stderr(bytes)) => stderr.extend_from_slice(&bytes),
                None => {}
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

/// An exec's output as the engine sends it.
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
    let config = ExecConfig {
        cmd: Some(argv.to_vec()),
        env: (!env.is_empty()).then(|| env.to_vec()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..Default::default()
    };
    let doing = format!("running a command in {container}");
    let a = start_attached(docker, container, config, &doing).await?;
    Ok((a.id, Some(a.output)))
}

/// An exec started with its streams attached.
pub(super) struct Attached {
    pub id: String,
    pub output: ExecStream,
    /// Its stdin (when the config attached it).
    pub input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
}

/// Creates the exec `config` in `container` and starts it attached
/// (`doing` names it in errors). Started without a TTY whatever the
/// config says: the engine then frames the output, stdout apart from
/// stderr, even for an exec that has a terminal (made at creation),
/// whose raw output a client could otherwise take for such frames.
pub(super) async fn start_attached(
    docker: &Docker,
    container: &str,
    config: ExecConfig,
    doing: &str,
) -> Result<Attached> {
    let created = docker
        .create_exec(container, config)
        .await
        .map_err(|e| refused(container, doing, e))?;
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
        .map_err(fail(doing))?;
    match started {
        StartExecResults::Attached { output, input } => Ok(Attached {
            id: created.id,
            output,
            input,
        }),
        StartExecResults::Detached => Err(Error::failure(format!(
            "{doing}: the engine started it detached"
        ))),
    }
}

/// Runs `sh -c script` in a running container, its output handed on as it
/// comes (`logs --follow`).
pub async fn exec_stream(
    docker: &Docker,
    container: &str,
    script: &str,
) -> Result<crate::driver::OutputStream> {
    let argv = ["sh".into(), "-c".into(), script.into()];
    let (_, output) = start_exec(docker, container, &argv, &[]).await?;
    let doing = format!("reading the output of a command in {container}");
    let chunks = futures_util::stream::iter(output)
        .flatten()
        .filter_map(move |item| {
            let chunk = match item {
                Ok(output) => chunk_of(output).map(Ok),
                Err(e) => Some(Err(Error::caused(doing.clone(), e))),
            };
            std::future::ready(chunk)
        });
    Ok(Box::pin(chunks))
}

/// The container `name`'s logs (its first process's output), last `tail`
/// lines.
pub async fn logs(docker: &Docker, name: &str, tail: u32) -> Result<String> {
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

/// Follows the container `name`'s output from its start for up to
/// `seconds` until its init says whether the services are ready. Reading
/// a log costs the engine next to nothing; an `exec` polling inside
/// starts a process in the container (about 70 ms of the engine's CPU).
pub async fn boot_ready(docker: &Docker, name: &str, seconds: u32) -> Result<bool> {
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
            while let Some(line) = next_line(&mut text) {
                if let Some(ready) = boot_said(&line) {
                    return Ok(ready);
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

/// What an exec's output item is to infractl: a piece of its output or
/// its errors (what a console prints is output); nothing for its input.
fn chunk_of(output: LogOutput) -> Option<Chunk> {
    match output {
        LogOutput::StdOut { message } | LogOutput::Console { message } => {
            Some(Chunk::Stdout(message.to_vec()))
        }
        LogOutput::StdErr { message } => Some(Chunk::Stderr(message.to_vec())),
        LogOutput::StdIn { .. } => None,
    }
}

/// Why the engine would not run a command in `container`: there is no
/// such container (404), it is not running (409), or its own words.
pub(super) fn refused(container: &str, doing: &str, e: bollard::errors::Error) -> Error {
    match e {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        } => Error::failure(format!("no container {container}"))
            .with_hint("is the stack up? see `infractl status`"),
        bollard::errors::Error::DockerResponseServerError {
            status_code: 409, ..
        } => Error::failure(format!("container {container} is not running"))
            .with_hint("`infractl up` starts it again"),
        e => Error::failure(format!("{doing}: {e}")),
    }
}

/// The first whole line of `text` (taken out of it), without its end of
/// line and trailing blanks; `None` until a line is whole.
fn next_line(text: &mut Vec<u8>) -> Option<String> {
    let end = text.iter().position(|b| *b == b'\n')?;
    let line: Vec<u8> = text.drain(..=end).collect();
    Some(String::from_utf8_lossy(&line).trim_end().to_string())
}

/// What a line of the init's output says of the services: ready
/// ([`BOOT_READY`]), not ready ([`BOOT_NOT_READY`] and the service), or
/// nothing about them.
fn boot_said(line: &str) -> Option<bool> {
    if line == BOOT_READY {
        return Some(true);
    }
    if line.starts_with(BOOT_NOT_READY) {
        return Some(false);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_and_console_are_stdout_and_input_is_nothing() {
        let bytes = |s: &str| bytes::Bytes::from(s.to_string());
        assert_eq!(
            chunk_of(LogOutput::StdOut {
                message: bytes("out")
            }),
            Some(Chunk::Stdout(b"out".to_vec()))
        );
        assert_eq!(
            chunk_of(LogOutput::Console {
                message: bytes("tty")
            }),
            Some(Chunk::Stdout(b"tty".to_vec()))
        );
        assert_eq!(
            chunk_of(LogOutput::StdErr {
                message: bytes("err")
            }),
            Some(Chunk::Stderr(b"err".to_vec()))
        );
        assert_eq!(
            chunk_of(LogOutput::StdIn {
                message: bytes("in")
            }),
            None
        );
    }

    #[test]
    fn a_command_refused_says_whether_the_container_is_there_or_stopped() {
        let said = |status_code: u16| {
            let e = bollard::errors::Error::DockerResponseServerError {
                status_code,
                message: "engine words".into(),
            };
            refused("alice-web-01", "running a command in alice-web-01", e)
        };
        let gone = said(404);
        assert_eq!(gone.headline(), "no container alice-web-01");
        assert_eq!(
            gone.hint_text(),
            Some("is the stack up? see `infractl status`")
        );
        let stopped = said(409);
        assert_eq!(stopped.headline(), "container alice-web-01 is not running");
        assert_eq!(stopped.hint_text(), Some("`infractl up` starts it again"));
        let other = said(500);
        assert!(other
            .headline()
            .starts_with("running a command in alice-web-01: "));
        assert!(other.headline().contains("engine words"));
    }

    #[test]
    fn the_inits_output_is_read_a_whole_line_at_a_time() {
        let mut text = b"infractl: routes\ninfractl: rea".to_vec();
        assert_eq!(next_line(&mut text).as_deref(), Some("infractl: routes"));
        assert_eq!(next_line(&mut text), None);
        text.extend_from_slice(b"dy \r\n\nrest");
        assert_eq!(next_line(&mut text).as_deref(), Some("infractl: ready"));
        assert_eq!(next_line(&mut text).as_deref(), Some(""));
        assert_eq!(next_line(&mut text), None);
        assert_eq!(text, b"rest");
    }

    #[test]
    fn the_init_says_whether_the_services_are_ready() {
        assert_eq!(boot_said("infractl: ready"), Some(true));
        assert_eq!(boot_said("infractl: not ready: mariadb"), Some(false));
        assert_eq!(boot_said("infractl: not ready:"), Some(false));
        assert_eq!(boot_said("infractl: ready or not"), None);
        assert_eq!(boot_said("infractl: routes"), None);
        assert_eq!(boot_said(""), None);
    }
}
