//! The SSH driver: the same plan applied to real hosts over SSH (ssh2).
//!
//! One connection per host, opened once and reused for every step. Host
//! keys are checked against known_hosts: an unknown host is refused unless
//! `--accept-new-host-keys` (OpenSSH's accept-new), a changed key always.
//! Commands run with `sudo -n` when the user is not root; scripts and
//! secrets go over the channel's stdin, never on a command line. Files are
//! sent as one tar archive and each renamed into place. Missing Debian
//! packages are installed (nothing when all are present) with services
//! kept from starting on their own. Services run under systemd where the
//! host booted with it, else under runit as in the containers (see
//! `supervise`). `down --purge-packages` purges what the install added.
//! What infractl placed on a host is recorded there, and a file it
//! replaced is kept, so `down` removes exactly what it placed and puts
//! back what was there before. Terminals (`terminal`): a root shell in a
//! pseudo-terminal, on a connection of its own.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ssh2::{CheckResult, KnownHostFileKind, Session};

use super::archive::tar_of;
use super::{Destroyed, Driver, ExecOutput, Host};
use crate::error::{Error, Result};
pub mod backend;
pub mod inventory;
mod terminal;

use crate::render::plan::{FileSpec, Plan, ServerPlan};
use crate::render::supervise;
use crate::shell::{self, shell_quote};
pub use backend::Backend;
use inventory::Auth;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long what `hosts` found holds, unless something changes a host: a
/// command asking again at once costs no round trip, and whoever watches
/// the lab for longer (the portal, every few seconds) sees what changed
/// without infractl (a service that died, a host rebooted).
const HOSTS_FRESH: Duration = Duration::from_secs(2);

/// The SSH driver, bound to one lab on the hosts of one inventory.
pub struct SshDriver {
    lab: String,
    hosts: Vec<inventory::Host>,
    known_hosts: PathBuf,
    accept_new: bool,
    sessions: Mutex<HashMap<String, Arc<Mutex<Session>>>>,
    /// Serializes known_hosts updates.
    known_lock: Arc<Mutex<()>>,
    /// What `hosts` found and when, until something changes a host or
    /// [`HOSTS_FRESH`] has passed.
    hosts_cache: Mutex<Option<(Instant, Vec<Host>)>>,
    /// Work held back per host, to go in one round trip with the next.
    pending: Mutex<HashMap<String, Batch>>,
}

/// Scripts for one host run as one command: each part in a subshell,
/// stopping at the first that fails; the archive (if any) on stdin.
#[derive(Default)]
struct Batch {
    /// (what it does, script, whether it reads the archive)
    parts: Vec<(String, String, bool)>,
    stdin: Vec<u8>,
}

/// What a failed part of a batch prints before the batch stops (see
/// src/shell/batch.sh).
const FAILED_MARK: &str = "infractl-failed-part:";

fn ssh_err(what: String) -> impl Fn(ssh2::Error) -> Error {
    move |e| Error::caused(what.clone(), e)
}

impl SshDriver {
    pub fn new(
        lab: &str,
        hosts: Vec<inventory::Host>,
        known_hosts: PathBuf,
        accept_new: bool,
    ) -> Self {
        SshDriver {
            lab: lab.to_string(),
            hosts,
            known_hosts,
            accept_new,
            sessions: Mutex::new(HashMap::new()),
            known_lock: Arc::new(Mutex::new(())),
            hosts_cache: Mutex::new(None),
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// Something is about to change a host: what `hosts` found may be stale.
    fn changed(&self) {
        *self.hosts_cache.lock().expect("lock") = None;
    }

    /// Holds `script` back, to run with the host's next batch.
    fn queue(&self, server: &str, what: &str, script: String, stdin: Option<Vec<u8>>) {
        let mut pending = self.pending.lock().expect("lock");
        let batch = pending.entry(server.to_string()).or_default();
        batch
            .parts
            .push((what.to_string(), script, stdin.is_some()));
        if let Some(stdin) = stdin {
            batch.stdin = stdin;
        }
    }

    /// Runs what was held back for a host, in one round trip.
    async fn flush(&self, server: &str) -> Result<()> {
        let Some(batch) = self.pending.lock().expect("lock").remove(server) else {
            return Ok(());
        };
        // Only the copy reads the archive on stdin (see src/shell/batch.sh).
        let args: Vec<&str> = batch
            .parts
            .iter()
            .flat_map(|(_, part, reads)| [if *reads { "stdin" } else { "-" }, part.as_str()])
            .collect();
        let script = shell::with_args(shell::BATCH, &args);
        let out = self
            .run(
                server,
                &format!("sh -c {}", shell_quote(&script)),
                batch.stdin,
            )
            .await?;
        if out.code == 0 {
            return Ok(());
        }
        let failed = out
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix(FAILED_MARK))
            .and_then(|i| i.trim().parse::<usize>().ok())
            .and_then(|i| batch.parts.get(i))
            .map_or("preparing the host", |(what, _, _)| what.as_str());
        let shown = ExecOutput {
            code: out.code,
            stdout: out.stdout,
            stderr: out
                .stderr
                .lines()
                .filter(|l| !l.starts_with(FAILED_MARK))
                .map(|l| format!("{l}\n"))
                .collect(),
        };
        Err(failed_on(server, failed, &shown))
    }

    /// Removes what infractl placed on a host; purges the packages it
    /// installed when asked.
    async fn remove_host(&self, server: &str, purge_packages: bool) -> Result<()> {
        self.changed();
        self.pending.lock().expect("lock").remove(server);
        self.must(
            server,
            "removing what infractl placed",
            &remove_script(purge_packages),
        )
        .await?;
        Ok(())
    }

    fn host(&self, server: &str) -> Result<&inventory::Host> {
        self.hosts
            .iter()
            .find(|h| h.server == server)
            .ok_or_else(|| Error::failure(format!("server `{server}` is not in the inventory")))
    }

    /// The host's session, connecting on first use.
    async fn session(&self, server: &str) -> Result<Arc<Mutex<Session>>> {
        if let Some(s) = self.sessions.lock().expect("lock").get(server) {
            return Ok(s.clone());
        }
        let host = self.host(server)?.clone();
        let known = self.known_hosts.clone();
        let accept = self.accept_new;
        let lock = self.known_lock.clone();
        let sess = tokio::task::spawn_blocking(move || connect(&host, &known, accept, &lock))
            .await
            .map_err(|e| Error::failure(format!("connecting to {server}: {e}")))??;
        let sess = Arc::new(Mutex::new(sess));
        self.sessions
            .lock()
            .expect("lock")
            .insert(server.to_string(), sess.clone());
        Ok(sess)
    }

    /// Runs `command` (with sudo when not root), `stdin` fed to it.
    async fn run(&self, server: &str, command: &str, stdin: Vec<u8>) -> Result<ExecOutput> {
        let host = self.host(server)?.clone();
        let sess = self.session(server).await?;
        let command = as_root(&host, command);
        let server = server.to_string();
        tokio::task::spawn_blocking(move || {
            let sess = sess.lock().expect("lock");
            let what = format!("running a command on {server}");
            let mut ch = sess.channel_session().map_err(ssh_err(what.clone()))?;
            ch.exec(&command).map_err(ssh_err(what.clone()))?;
            ch.write_all(&stdin)
                .map_err(|e| Error::failure(format!("{what}: {e}")))?;
            ch.send_eof().map_err(ssh_err(what.clone()))?;
            let mut stdout = String::new();
            ch.read_to_string(&mut stdout)
                .map_err(|e| Error::failure(format!("{what}: {e}")))?;
            let mut stderr = String::new();
            ch.stderr()
                .read_to_string(&mut stderr)
                .map_err(|e| Error::failure(format!("{what}: {e}")))?;
            ch.wait_close().map_err(ssh_err(what.clone()))?;
            let code = ch.exit_status().map_err(ssh_err(what))?;
            Ok(ExecOutput {
                code: code as i64,
                stdout,
                stderr,
            })
        })
        .await
        .map_err(|e| Error::failure(format!("command task failed: {e}")))?
    }

    async fn script(&self, server: &str, script: &str) -> Result<ExecOutput> {
        self.run(server, "sh -s", script.as_bytes().to_vec()).await
    }

    async fn must(&self, server: &str, what: &str, script: &str) -> Result<String> {
        let out = self.script(server, script).await?;
        if out.code != 0 {
            return Err(failed_on(server, what, &out));
        }
        Ok(out.stdout)
    }
}

/// `command` as root (`sudo -n` when the user is not root), with the
/// address this controller connects from, for the firewall's SSH rule
/// (sudo would drop SSH_CLIENT: it is passed on explicitly).
fn as_root(host: &inventory::Host, command: &str) -> String {
    if host.user == "root" {
        format!("env INFRACTL_CONTROLLER=\"${{SSH_CLIENT%% *}}\" {command}")
    } else {
        format!("sudo -n env INFRACTL_CONTROLLER=\"${{SSH_CLIENT%% *}}\" {command}")
    }
}

/// Runs `script` on a session of its own, sending its output to `tx` as
/// it comes; stops reading when no one receives any more.
fn stream_script(
    sess: &Session,
    server: &str,
    command: &str,
    script: &str,
    tx: &tokio::sync::mpsc::Sender<Result<super::Chunk>>,
) -> Result<()> {
    use super::Chunk;
    let what = format!("running a command on {server}");
    let io = |e: std::io::Error| Error::caused(what.clone(), e);
    let mut ch = sess.channel_session().map_err(ssh_err(what.clone()))?;
    ch.exec(command).map_err(ssh_err(what.clone()))?;
    ch.write_all(script.as_bytes()).map_err(io)?;
    ch.send_eof().map_err(ssh_err(what.clone()))?;
    let mut buf = vec![0u8; 8192];
    loop {
        let n = ch.read(&mut buf).map_err(io)?;
        let Some(data) = buf.get(..n).filter(|d| !d.is_empty()) else {
            break;
        };
        if tx.blocking_send(Ok(Chunk::Stdout(data.to_vec()))).is_err() {
            return Ok(());
        }
    }
    let mut err = Vec::new();
    ch.stderr().read_to_end(&mut err).map_err(io)?;
    if !err.is_empty() {
        let _ = tx.blocking_send(Ok(Chunk::Stderr(err)));
    }
    Ok(())
}

/// `<server>: <what> failed:` with what the host printed.
fn failed_on(server: &str, what: &str, out: &ExecOutput) -> Error {
    Error::failure(format!("{server}: {what} failed:\n{}", out.message()))
}

/// An SSH session with `host`: reached, its host key checked against
/// `known` (recording a new one with `accept_new`), authenticated.
fn connect(
    host: &inventory::Host,
    known: &std::path::Path,
    accept_new: bool,
    lock: &Mutex<()>,
) -> Result<Session> {
    let sess = handshake(host)?;
    check_host_key(&sess, host, known, accept_new, lock)?;
    authenticate(&sess, host)?;
    Ok(sess)
}

/// `<host>:<port>`, as the errors name it.
fn target_of(host: &inventory::Host) -> String {
    format!("{}:{}", host.host, host.port)
}

/// A session with `host` that has done its SSH handshake.
fn handshake(host: &inventory::Host) -> Result<Session> {
    let server = &host.server;
    let target = target_of(host);
    let unreachable = |e: String| {
        Error::failure(format!("cannot reach {server} at {target}: {e}"))
            .with_hint("check the inventory's address and port, and that sshd runs there")
    };
    let addr = target
        .to_socket_addrs()
        .map_err(|e| unreachable(e.to_string()))?
        .next()
        .ok_or_else(|| unreachable("no address".into()))?;
    let tcp = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
        .map_err(|e| unreachable(e.to_string()))?;
    let mut sess = Session::new().map_err(ssh_err(format!("{server}: ssh")))?;
    sess.set_tcp_stream(tcp);
    sess.set_timeout(120_000);
    sess.handshake()
        .map_err(|e| unreachable(format!("SSH handshake: {e}")))?;
    Ok(sess)
}

/// The host key `sess` was sent, checked against known_hosts: a match
/// goes on, a changed key is refused, an unknown one is recorded only
/// with `accept_new`.
fn check_host_key(
    sess: &Session,
    host: &inventory::Host,
    known: &std::path::Path,
    accept_new: bool,
    lock: &Mutex<()>,
) -> Result<()> {
    let server = &host.server;
    let target = target_of(host);
    let (key, key_type) = sess
        .host_key()
        .ok_or_else(|| Error::failure(format!("{server}: the host sent no host key")))?;
    let key = key.to_vec();
    let _guard = lock.lock().expect("lock");
    let mut kh = sess
        .known_hosts()
        .map_err(ssh_err(format!("{server}: known_hosts")))?;
    if known.exists() {
        kh.read_file(known, KnownHostFileKind::OpenSSH)
            .map_err(ssh_err(format!("reading {}", known.display())))?;
    }
    match kh.check_port(&host.host, host.port, &key) {
        CheckResult::Match => Ok(()),
        CheckResult::Mismatch => Err(Error::failure(format!(
            "the host key of {server} ({target}) differs from the one recorded in {}: refusing to connect",
            known.display()
        ))
        .with_hint(format!(
            "a reinstalled host, or someone in the middle; if the change is expected: ssh-keygen -R '[{}]:{}' -f {}",
            host.host,
            host.port,
            known.display()
        ))),
        CheckResult::NotFound | CheckResult::Failure => {
            if !accept_new {
                return Err(Error::failure(format!(
                    "{server} ({target}) is not in {}: refusing an unknown host key",
                    known.display()
                ))
                .with_hint("pass --accept-new-host-keys to record new hosts' keys (like OpenSSH's accept-new)"));
            }
            record_host_key(&mut kh, host, known, &key, key_type)
        }
    }
}

/// The name known_hosts knows `host` by: `host`, or `[host]:port` off
/// port 22.
fn known_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// Adds `key` to known_hosts for `host`, and writes the file.
fn record_host_key(
    kh: &mut ssh2::KnownHosts,
    host: &inventory::Host,
    known: &std::path::Path,
    key: &[u8],
    key_type: ssh2::HostKeyType,
) -> Result<()> {
    let server = &host.server;
    let name = known_name(&host.host, host.port);
    kh.add(&name, key, "added by infractl", key_type.into())
        .map_err(ssh_err(format!("{server}: recording its host key")))?;
    if let Some(dir) = known.parent() {
        fs_err::create_dir_all(dir)
            .map_err(|e| Error::caused(format!("{server}: cannot record its host key"), e))?;
    }
    kh.write_file(known, KnownHostFileKind::OpenSSH)
        .map_err(ssh_err(format!("writing {}", known.display())))
}

/// Logs in as the inventory's user, with its key or the SSH agent.
fn authenticate(sess: &Session, host: &inventory::Host) -> Result<()> {
    let server = &host.server;
    let target = target_of(host);
    let denied = |how: String| {
        Error::failure(format!(
            "authentication failed for {}@{target} ({server}) {how}",
            host.user
        ))
        .with_hint("check the inventory's user and key, and the host's authorized_keys")
    };
    match &host.auth {
        Auth::Key(path) => sess
            .userauth_pubkey_file(&host.user, None, path, None)
            .map_err(|e| denied(format!("with key {}: {e}", path.display())))?,
        Auth::Agent => sess
            .userauth_agent(&host.user)
            .map_err(|e| denied(format!("with the SSH agent: {e}")))?,
    }
    if !sess.authenticated() {
        return Err(denied(String::new()));
    }
    Ok(())
}

/// Installs the server's missing packages; nothing when all are present.
/// What the install added (dependencies included) is recorded on the host,
/// for `down --purge-packages`.
fn packages_script(server: &ServerPlan) -> String {
    shell::with_args(shell::INSTALL_PACKAGES, &server.packages)
}

/// Places the files of the archive on stdin (see src/shell/place.sh): the
/// owners to give, then every path, grouped by directory.
fn place_script(files: &[FileSpec]) -> String {
    let mut args: Vec<&str> = Vec::new();
    for f in files {
        if let Some(owner) = &f.owner {
            args.extend(["-o", owner.as_str(), f.path.as_str()]);
        }
    }
    for paths in crate::render::plan::paths_by_dir(files).values() {
        args.extend(paths.iter().copied());
    }
    shell::with_args(shell::PLACE, &args)
}

/// Removes what infractl placed; purges the packages it installed when
/// asked.
fn remove_script(purge_packages: bool) -> String {
    let purge: &[&str] = if purge_packages { &["purge"] } else { &[] };
    shell::with_args(shell::REMOVE, purge)
}

#[async_trait::async_trait]
impl Driver for SshDriver {
    fn lab(&self) -> &str {
        &self.lab
    }

    async fn hosts(&self) -> Result<Vec<Host>> {
        if let Some((at, hosts)) = self.hosts_cache.lock().expect("lock").clone() {
            if at.elapsed() < HOSTS_FRESH {
                return Ok(hosts);
            }
        }
        let at = Instant::now();
        // One round trip a host: what it was set up with, whether its
        // services run, and each one's state.
        let jobs = self.hosts.iter().map(|h| async move {
            let out = self.script(&h.server, shell::HOST_STATE).await?;
            let mut structure = None;
            let mut running = false;
            let mut status = String::new();
            for line in out.stdout.lines() {
                if let Some(s) = line.strip_prefix("structure ") {
                    structure = Some(s.trim().to_string()).filter(|s| !s.is_empty());
                } else if line == "running" {
                    running = true;
                } else if let Some(l) = line.strip_prefix("service ") {
                    status.push_str(l);
                    status.push('\n');
                }
            }
            Ok::<_, Error>(structure.map(|s| Host {
                server: h.server.clone(),
                running,
                structure: Some(s),
                handle: format!("{}@{}:{}", h.user, h.host, h.port),
                status: if running { "running" } else { "stopped" }.into(),
                services: Some(supervise::parse_status(&status)),
                networks: None,
                kept: None,
            }))
        });
        let hosts: Vec<Host> = futures_util::future::try_join_all(jobs)
            .await?
            .into_iter()
            .flatten()
            .collect();
        *self.hosts_cache.lock().expect("lock") = Some((at, hosts.clone()));
        Ok(hosts)
    }

    async fn prepare(&self, _plan: &Plan) -> Result<()> {
        Ok(())
    }

    // A new host takes one round trip: `create`, `put_files` and `start`
    // are held back and sent together by `start`.
    async fn create(&self, plan: &Plan, server: &ServerPlan) -> Result<()> {
        self.changed();
        self.queue(
            &server.name,
            "installing packages",
            packages_script(server),
            None,
        );
        let mut args = vec![
            server.structure_hash(&plan.image),
            crate::components::keepalived::IFACE_OVERRIDE.to_string(),
        ];
        args.extend(self.host(&server.name)?.vip_interface.clone());
        self.queue(
            &server.name,
            "preparing the host",
            shell::with_args(shell::PREPARE_HOST, &args),
            None,
        );
        Ok(())
    }

    async fn put_files(&self, _plan: &Plan, server: &str, files: &[FileSpec]) -> Result<()> {
        self.changed();
        if files.is_empty() {
            return Ok(());
        }
        let tar = tar_of(files, None)?;
        let script = place_script(files);
        // Behind a held-back `create`, the files wait for `start`; on a
        // running host they go now.
        let held = self.pending.lock().expect("lock").contains_key(server);
        self.queue(server, "copying files", script, Some(tar));
        if !held {
            self.flush(server).await?;
        }
        Ok(())
    }

    async fn start(&self, _plan: &Plan, server: &str) -> Result<()> {
        self.changed();
        self.queue(server, "starting its services", shell::START.into(), None);
        self.flush(server).await
    }

    async fn exec(&self, server: &str, script: &str) -> Result<ExecOutput> {
        self.changed();
        self.flush(server).await?;
        self.script(server, script).await
    }

    async fn exec_env(&self, server: &str, script: &str, env: &[String]) -> Result<ExecOutput> {
        let mut full = String::new();
        for e in env {
            if let Some((k, v)) = e.split_once('=') {
                full.push_str(&format!("export {k}={}\n", shell_quote(v)));
            }
        }
        full.push_str(script);
        self.changed();
        self.flush(server).await?;
        self.script(server, &full).await
    }

    async fn exec_stream(&self, server: &str, script: &str) -> Result<super::OutputStream> {
        self.flush(server).await?;
        // A session of its own, so the shared one stays free meanwhile
        // (to stop what this runs, for one).
        let host = self.host(server)?.clone();
        let (known, accept) = (self.known_hosts.clone(), self.accept_new);
        let lock = self.known_lock.clone();
        let command = as_root(&host, "sh -s");
        let script = script.to_string();
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        tokio::task::spawn_blocking(move || {
            let run = connect(&host, &known, accept, &lock)
                .and_then(|sess| stream_script(&sess, &host.server, &command, &script, &tx));
            if let Err(e) = run {
                let _ = tx.blocking_send(Err(e));
            }
        });
        Ok(Box::pin(futures_util::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|c| (c, rx)) },
        )))
    }

    async fn kill(&self, server: &str) -> Result<()> {
        // As near a crash as a host allows: every service dies at once,
        // with no clean shutdown.
        self.changed();
        self.must(
            server,
            "killing its services",
            &format!("{} kill", supervise::SVC),
        )
        .await?;
        Ok(())
    }

    async fn stop(&self, server: &str) -> Result<()> {
        // As a power-off button: every service shut down cleanly, the
        // host left as it is (`start` brings them back).
        self.changed();
        self.flush(server).await?;
        self.must(
            server,
            "stopping its services",
            &format!("{} down", supervise::SVC),
        )
        .await?;
        Ok(())
    }

    async fn remove(&self, server: &str) -> Result<()> {
        self.remove_host(server, false).await
    }

    fn terminals(&self) -> Option<&dyn super::Terminals> {
        Some(self)
    }

    async fn destroy(&self, options: &super::DownOptions) -> Result<Destroyed> {
        let hosts = self.hosts().await?;
        futures_util::future::try_join_all(
            hosts
                .iter()
                .map(|h| self.remove_host(&h.server, options.purge_packages)),
        )
        .await?;
        Ok(Destroyed {
            hosts: hosts.into_iter().map(|h| h.server).collect(),
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scripts_agree_with_the_driver() {
        let state = "STATE=/var/lib/infractl\n";
        for script in [
            shell::INSTALL_PACKAGES,
            shell::PLACE,
            shell::PREPARE_HOST,
            shell::START,
            shell::REMOVE,
            shell::SVC,
        ] {
            assert!(script.contains(state), "{script}");
        }
        assert!(crate::components::keepalived::IFACE_OVERRIDE.starts_with("/var/lib/infractl/"));
        assert!(shell::HOST_STATE.contains("/var/lib/infractl/structure"));
        for script in [shell::START, shell::REMOVE, shell::HOST_STATE] {
            assert!(script.contains(supervise::SVC), "{script}");
        }
        assert!(shell::BATCH.contains(FAILED_MARK));
    }

    #[test]
    fn known_hosts_names_a_host_off_port_22_with_its_port() {
        assert_eq!(known_name("192.0.2.7", 22), "192.0.2.7");
        assert_eq!(known_name("192.0.2.7", 2222), "[192.0.2.7]:2222");
        assert_eq!(known_name("web-01", 2200), "[web-01]:2200");
    }
}
