//! The way to an engine over SSH (`ssh://[USER@]HOST[:PORT]`): the
//! engine's socket forwarded to a socket on this machine by one `ssh` for
//! the whole run, as the docker CLI does it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};

/// How long an engine has to answer its first ping (or a tunnel to it to
/// open): an unreachable engine is one line within this, not a hang.
pub(super) const CONNECT_SECONDS: u64 = 10;

/// An SSH engine's socket, forwarded to a socket on this machine by one
/// `ssh` for the whole run (every API connection a channel of its one
/// session: no handshake per connection, none of sshd's limits on
/// connections coming at once). It is this machine's `ssh`, as the docker
/// CLI's: the user's config and keys (or agent), a new host's key recorded
/// in known_hosts, a changed one refused. The `ssh` ends with infractl.
pub(super) async fn open(url: &str) -> Result<PathBuf> {
    use std::collections::HashMap;
    // Held while a tunnel opens: labs connecting at once share one.
    static TUNNELS: tokio::sync::Mutex<Option<HashMap<String, PathBuf>>> =
        tokio::sync::Mutex::const_new(None);
    let mut tunnels = TUNNELS.lock().await;
    let tunnels = tunnels.get_or_insert_with(HashMap::new);
    if let Some(p) = tunnels.get(url) {
        return Ok(p.clone());
    }
    let (user, host, port) = ssh_target(url);
    let dir = std::env::temp_dir().join("infractl-ssh");
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::caused(format!("cannot make {}", dir.display()), e))?;
    remove_ended_sockets(&dir);
    let socket = dir.join(format!("{}-{}.sock", std::process::id(), tunnels.len()));
    let _ = std::fs::remove_file(&socket);
    let mut child = ssh_forwarding(&socket, user, host, port)
        .spawn()
        .map_err(|e| Error::caused(format!("cannot run ssh for the engine at {url}"), e))?;
    until_open(&mut child, &socket, host).await?;
    // The child stays running, unwaited, for the rest of the run.
    std::mem::forget(child);
    tunnels.insert(url.to_string(), socket.clone());
    Ok(socket)
}

/// The user, host and port an `ssh://[USER@]HOST[:PORT]` URL names (a
/// host in brackets, an IPv6 address, without them).
fn ssh_target(url: &str) -> (Option<&str>, &str, Option<&str>) {
    let authority = url.trim_start_matches("ssh://");
    let (user, rest) = match authority.rsplit_once('@') {
        Some((u, r)) => (Some(u), r),
        None => (None, authority),
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') && p.parse::<u16>().is_ok() => (h, Some(p)),
        _ => (rest.trim_start_matches('[').trim_end_matches(']'), None),
    };
    (user, host, port)
}

/// Removes the sockets in `dir` of runs that ended (their pid is gone).
fn remove_ended_sockets(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name.split('-').next().unwrap_or("");
        if !pid.is_empty() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The `ssh` that forwards the engine's socket on `host` to `socket`,
/// asking nothing (a new host's key recorded, a changed one refused), and
/// ending with infractl.
fn ssh_forwarding(
    socket: &Path,
    user: Option<&str>,
    host: &str,
    port: Option<&str>,
) -> tokio::process::Command {
    let mut ssh = tokio::process::Command::new("ssh");
    ssh.args([
        "-N",
        "-T",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=accept-new",
    ])
    .args([
        "-o",
        "ExitOnForwardFailure=yes",
        "-o",
        "StreamLocalBindUnlink=yes",
    ])
    .args(["-o", "ServerAliveInterval=15", "-o", "ConnectTimeout=10"])
    .arg("-L")
    .arg(format!("{}:/var/run/docker.sock", socket.display()));
    if let Some(p) = port {
        ssh.args(["-p", p]);
    }
    if let Some(u) = user {
        ssh.args(["-l", u]);
    }
    ssh.arg("--")
        .arg(host)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    // The tunnel goes when infractl does, however it ends.
    // SAFETY: prctl is async-signal-safe; nothing else runs in the child.
    unsafe {
        ssh.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    ssh
}

/// Waits for `child` (the `ssh` to `host`) to open `socket`: an error
/// with what it said when it ends first, or when the socket is not there
/// within seconds.
async fn until_open(child: &mut tokio::process::Child, socket: &Path, host: &str) -> Result<()> {
    let start = std::time::Instant::now();
    while !socket.exists() {
        if let Some(status) = child.try_wait().ok().flatten() {
            let mut said = String::new();
            if let Some(mut err) = child.stderr.take() {
                use tokio::io::AsyncReadExt;
                let _ = err.read_to_string(&mut said).await;
            }
            return Err(Error::failure(format!(
                "ssh to {host} ended ({status}): {}",
                said.trim()
            )));
        }
        if start.elapsed() > Duration::from_secs(CONNECT_SECONDS) {
            let _ = child.start_kill();
            return Err(Error::failure(format!(
                "ssh to {host} opened no tunnel within {CONNECT_SECONDS} s"
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ssh_url_names_its_user_host_and_port() {
        assert_eq!(ssh_target("ssh://lab-7"), (None, "lab-7", None));
        assert_eq!(
            ssh_target("ssh://ann@lab-7:2222"),
            (Some("ann"), "lab-7", Some("2222"))
        );
        assert_eq!(
            ssh_target("ssh://ann@[2001:db8::7]"),
            (Some("ann"), "2001:db8::7", None)
        );
        // A port that is no port is part of the host, as ssh would read it.
        assert_eq!(ssh_target("ssh://h:x"), (None, "h:x", None));
        assert_eq!(ssh_target("ssh://a@b@h:22"), (Some("a@b"), "h", Some("22")));
    }
}
