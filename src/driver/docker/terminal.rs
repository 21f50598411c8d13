//! Shells in a terminal in a server's container, for people to type into
//! (the portal's terminals): an exec with a TTY, its input and output
//! attached (started as a command is, so that its output comes framed),
//! resized through the engine. The engine has no way to end an
//! exec, so hanging up is done inside the container: every process of
//! the terminal carries a mark in its environment, and each gets SIGHUP,
//! as a closed terminal window sends.

use bollard::container::LogOutput;
use bollard::models::ExecConfig;
use bollard::Docker;
use futures_util::StreamExt;

use super::engine::{fail, inspect};
use super::exec::{exec, start_attached, Attached};
use crate::driver::{Terminal, TerminalControl};
use crate::error::{Error, Result};

/// The variable every process of a terminal has in its environment, set
/// to the terminal's own mark.
const MARK: &str = "INFRACTL_TERMINAL";

/// A login shell: bash where there is one, else sh, in root's home.
const LOGIN: &str =
    "cd ~ 2>/dev/null; if command -v bash >/dev/null 2>&1; then exec bash -l; fi; exec sh -l";

/// How long a shell killed by a signal waits for its container to say it
/// stopped: the engine tells of the shell's end before its container's,
/// when the container's end is what killed it.
const STOPPING: std::time::Duration = std::time::Duration::from_secs(5);

/// A login shell in `container` (the lab's `server`) in a terminal of
/// `cols` × `rows`.
pub async fn open(
    docker: &Docker,
    container: &str,
    server: &str,
    cols: u16,
    rows: u16,
) -> Result<Terminal> {
    let doing = format!("opening a terminal on {server}");
    let mark = format!("{:016x}", rand::random::<u64>());
    let config = ExecConfig {
        cmd: Some(vec!["sh".into(), "-c".into(), LOGIN.into()]),
        env: Some(vec!["TERM=xterm-256color".into(), format!("{MARK}={mark}")]),
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(true),
        console_size: Some(vec![rows.into(), cols.into()]),
        ..Default::default()
    };
    let Attached { id, output, input } = start_attached(docker, container, config, &doing).await?;
    let control = Control {
        docker: docker.clone(),
        exec: id,
        container: container.to_string(),
        server: server.to_string(),
        mark,
    };
    // Engines before API 1.42 ignore the size asked at creation; the
    // engine holds a resize until the shell has started.
    control.resize(cols, rows).await?;
    let reading = format!("reading the terminal on {server}");
    let output = output.filter_map(move |item| {
        std::future::ready(match item {
            Ok(LogOutput::Console { message } | LogOutput::StdOut { message })
            | Ok(LogOutput::StdErr { message }) => Some(Ok(message)),
            Ok(LogOutput::StdIn { .. }) => None,
            Err(e) => Some(Err(Error::caused(reading.clone(), e))),
        })
    });
    Ok(Terminal {
        output: Box::pin(output),
        input,
        control: Box::new(control),
    })
}

/// The terminal of one exec.
struct Control {
    docker: Docker,
    exec: String,
    container: String,
    server: String,
    mark: String,
}

#[async_trait::async_trait]
impl TerminalControl for Control {
    async fn resize(&self, cols: u16, rows: u16) -> Result<()> {
        self.docker
            .resize_exec(
                &self.exec,
                bollard::exec::ResizeExecOptions {
                    height: rows,
                    width: cols,
                },
            )
            .await
            .map_err(fail(&format!("resizing the terminal on {}", self.server)))
    }

    async fn hang_up(&self) -> Result<()> {
        let out = exec(&self.docker, &self.container, &hang_up_script(&self.mark)).await?;
        if out.code != 0 {
            return Err(Error::failure(format!(
                "hanging up the terminal on {}: {}",
                self.server,
                out.message()
            )));
        }
        Ok(())
    }

    async fn why_ended(&self) -> String {
        let code = self
            .docker
            .inspect_exec(&self.exec)
            .await
            .ok()
            .and_then(|e| e.exit_code);
        if code.is_some_and(|c| c > 128) {
            self.until_stopped().await;
        }
        let running = match inspect(&self.docker, &self.container).await {
            Ok(Some(c)) => c.state.and_then(|s| s.running),
            Ok(None) => return format!("{} is gone", self.server),
            Err(_) => None,
        };
        why(&self.server, running, code)
    }
}

impl Control {
    /// Waits, up to [`STOPPING`], for the container to stop.
    async fn until_stopped(&self) {
        let mut wait = self.docker.wait_container(
            &self.container,
            Some(
                bollard::query_parameters::WaitContainerOptionsBuilder::default()
                    .condition("not-running")
                    .build(),
            ),
        );
        let _ = tokio::time::timeout(STOPPING, wait.next()).await;
    }
}

/// Why a shell ended, for people, from whether its container still runs
/// and the shell's exit code.
fn why(server: &str, running: Option<bool>, code: Option<i64>) -> String {
    match (running, code) {
        (Some(false), _) => format!("{server} stopped"),
        (_, Some(0)) => "it exited".into(),
        (_, Some(c)) if c > 128 => format!("it was killed (signal {})", c - 128),
        (_, Some(c)) => format!("it exited with code {c}"),
        (_, None) => "its output ended".into(),
    }
}

/// A script sending SIGHUP to every process marked with `mark`.
fn hang_up_script(mark: &str) -> String {
    format!(
        "for p in /proc/[0-9]*; do if grep -qzx '{MARK}={mark}' \"$p/environ\" 2>/dev/null; then kill -HUP \"${{p#/proc/}}\" 2>/dev/null; fi; done; exit 0"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shell_says_why_it_ended() {
        assert_eq!(
            why("server-01", Some(false), Some(137)),
            "server-01 stopped"
        );
        assert_eq!(why("server-01", Some(true), Some(0)), "it exited");
        assert_eq!(
            why("server-01", Some(true), Some(130)),
            "it was killed (signal 2)"
        );
        assert_eq!(why("server-01", None, Some(3)), "it exited with code 3");
    }

    #[test]
    fn hanging_up_finds_the_terminals_processes_by_their_whole_mark() {
        let s = hang_up_script("00ff");
        assert!(s.contains("grep -qzx 'INFRACTL_TERMINAL=00ff'"), "{s}");
        assert!(s.contains("kill -HUP \"${p#/proc/}\""), "{s}");
    }
}
