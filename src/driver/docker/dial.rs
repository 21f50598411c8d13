//! A connection to a lab's site made through the engine: an exec of
//! `nc` in the lab's forwarder, its input and output attached, is the
//! byte stream (as `kubectl port-forward` goes through its API server).
//! It needs no port of the engine's host, so it reaches a lab that
//! publishes nothing, on any engine the command line reaches (a socket,
//! TCP, TLS, SSH).

use bollard::container::LogOutput;
use bollard::models::ExecConfig;
use bollard::Docker;
use futures_util::StreamExt;

use super::exec::{start_attached, Attached};
use crate::driver::Connection;
use crate::error::Result;

/// How long a connection may sit idle before `nc` gives it up.
const IDLE_SECONDS: u32 = 120;

/// A connection to `port` of `container`'s own address (the forwarder,
/// which passes it to the site).
pub async fn connect(docker: &Docker, container: &str, port: u16) -> Result<Connection> {
    let doing = format!("connecting to the site through {container}");
    // -N: the end of what is sent is passed on (the site then closes, and
    // nc ends with it); -w: an idle connection ends.
    let argv = [
        "nc",
        "-N",
        "-w",
        &IDLE_SECONDS.to_string(),
        "127.0.0.1",
        &port.to_string(),
    ]
    .map(String::from)
    .to_vec();
    let config = ExecConfig {
        cmd: Some(argv),
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..Default::default()
    };
    let Attached { output, input, .. } = start_attached(docker, container, config, &doing).await?;
    // What nc says on its stderr (`Connection refused`) ends the stream
    // as an error that says it.
    let bytes = output.filter_map(|item| {
        std::future::ready(match item {
            Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => Some(Ok(message)),
            Ok(LogOutput::StdErr { message }) => Some(Err(std::io::Error::other(
                String::from_utf8_lossy(&message).trim().to_string(),
            ))),
            Ok(LogOutput::StdIn { .. }) => None,
            Err(e) => Some(Err(std::io::Error::other(e))),
        })
    });
    let reader = tokio_util::io::StreamReader::new(Box::pin(bytes));
    Ok(Box::new(tokio::io::join(reader, input)))
}
