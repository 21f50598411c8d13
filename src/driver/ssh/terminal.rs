//! Shells in a terminal on a lab's hosts over SSH, for people to type into
//! (the portal's terminals): a channel with a pseudo-terminal, on a
//! session of its own (the host's shared one is held for the whole of
//! each command, and a terminal lives for minutes). The shell is root's
//! login shell, bash else sh, as every command of the driver runs as
//! root: straight when the inventory logs in as root, else through
//! `sudo -i` (the driver runs commands through sudo). Hanging up is done
//! on the host, as in a container: every process of the terminal carries
//! a mark in its environment, and each gets SIGHUP (closing the channel
//! alone would leave its background jobs running, sudo's own terminal
//! between them and the channel's).
//!
//! ssh2 blocks, and a session is one thread's at a time: a thread of its
//! own owns each terminal's session, non-blocking, waiting on its socket
//! and on a wake-up from the async side (what is typed, a resize, a
//! hang-up). A connection that drops ends the terminal, saying so;
//! keepalives, and a bound on how long what was sent may go unanswered,
//! find a host that went silent (powered off, its network cut).

use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ssh2::{BlockDirections, Channel, Session};
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, oneshot};

use super::{as_root, connect, inventory, ssh_err, SshDriver};
use crate::driver::{Terminal, TerminalControl, TerminalOutput, Terminals};
use crate::error::{Error, Result};
use crate::shell::shell_quote;

/// The terminal the shell is told it runs in.
const TERM: &str = "xterm-256color";

/// The variable every process of a terminal has in its environment, set
/// to the terminal's own mark.
const MARK: &str = "INFRACTL_TERMINAL";

/// A login shell: bash where there is one, else sh, in root's home.
const LOGIN: &str =
    "cd ~ 2>/dev/null; if command -v bash >/dev/null 2>&1; then exec bash -l; fi; exec sh -l";

/// How long hanging up may take on the host.
const HANGING_UP: Duration = Duration::from_secs(5);

/// How often a quiet connection is asked whether it is still there.
const KEEPALIVE_SECONDS: u32 = 10;

/// How long what was sent may go unacknowledged before the connection
/// counts as dropped (the kernel's own bound is a quarter of an hour).
const UNANSWERED: Duration = Duration::from_secs(30);

/// How long a shell that ended has to say how (its exit status) before
/// its channel is closed.
const CLOSING: Duration = Duration::from_secs(5);

/// What may be typed ahead of the terminal's thread taking it.
const TYPED: usize = 64 << 10;

/// What the async side asks of a terminal's thread.
enum Ask {
    Type(Bytes),
    Resize(u16, u16),
    HangUp,
}

/// The async side's line to a terminal's thread: its asks, and a socket
/// that wakes it.
#[derive(Clone)]
struct Line {
    asks: mpsc::Sender<Ask>,
    wake: Arc<UnixStream>,
}

impl Line {
    /// Hands `ask` to the thread; `false` once it has ended.
    async fn send(&self, ask: Ask) -> bool {
        let sent = self.asks.send(ask).await.is_ok();
        // Non-blocking: a wake-up already waiting wakes it as well.
        let _ = (&*self.wake).write(&[1]);
        sent
    }
}

#[async_trait::async_trait]
impl Terminals for SshDriver {
    async fn terminal(&self, server: &str, cols: u16, rows: u16) -> Result<Terminal> {
        self.flush(server).await?;
        let host = self.host(server)?.clone();
        let (known, accept, lock) = (
            self.known_hosts.clone(),
            self.accept_new,
            self.known_lock.clone(),
        );
        let doing = format!("opening a terminal on {server}");
        let (wake, woken) = UnixStream::pair().map_err(|e| Error::caused(doing.clone(), e))?;
        for s in [&wake, &woken] {
            s.set_nonblocking(true)
                .map_err(|e| Error::caused(doing.clone(), e))?;
        }
        let (asks, asked) = mpsc::channel(64);
        let (out, output) = mpsc::channel(16);
        let (opened, is_open) = oneshot::channel();
        let why = Arc::new(Mutex::new(None));
        let ended = why.clone();
        let mark = format!("{:016x}", rand::random::<u64>());
        std::thread::Builder::new()
            .name(format!("terminal on {server}"))
            .spawn(move || {
                let session = connect(&host, &known, accept, &lock)
                    .and_then(|sess| open(&sess, &host, &mark, cols, rows).map(|ch| (sess, ch)));
                let (sess, ch) = match session {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = opened.send(Err(e));
                        return;
                    }
                };
                let _ = opened.send(Ok(()));
                let mut pump = Pump::new(sess, ch, &host, &mark, asked, woken, out);
                let why = pump.run();
                // Said before the output ends (with the pump): whoever
                // reads it to its end then asks why.
                *ended.lock().expect("lock") = Some(why);
                drop(pump);
            })
            .map_err(|e| Error::caused(doing.clone(), e))?;
        is_open
            .await
            .map_err(|_| Error::failure(format!("{doing}: its thread ended")))??;
        let line = Line {
            asks,
            wake: Arc::new(wake),
        };
        let (input, typed) = tokio::io::duplex(TYPED);
        tokio::spawn(pass_typing(typed, line.clone()));
        let output: TerminalOutput =
            Box::pin(futures_util::stream::unfold(output, |mut rx| async move {
                rx.recv().await.map(|c| (c, rx))
            }));
        Ok(Terminal {
            output,
            input: Box::pin(input),
            control: Box::new(Control {
                line,
                server: server.to_string(),
                why,
            }),
        })
    }
}

/// Passes what is typed on to the terminal's thread, until nothing more
/// is (the writer gone) or the terminal has ended.
async fn pass_typing(mut typed: tokio::io::DuplexStream, line: Line) {
    let mut buf = vec![0u8; 8192];
    loop {
        let n = match typed.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let bytes = Bytes::copy_from_slice(buf.get(..n).unwrap_or_default());
        if !line.send(Ask::Type(bytes)).await {
            return;
        }
    }
}

/// The channel of root's login shell, marked with `mark`, in a terminal
/// of `cols` × `rows` on `host`.
fn open(
    sess: &Session,
    host: &inventory::Host,
    mark: &str,
    cols: u16,
    rows: u16,
) -> Result<Channel> {
    let what = format!("opening a terminal on {}", host.server);
    let mut ch = sess.channel_session().map_err(ssh_err(what.clone()))?;
    ch.request_pty(TERM, None, Some((cols.into(), rows.into(), 0, 0)))
        .map_err(ssh_err(what.clone()))?;
    ch.exec(&shell_command(host, mark)).map_err(ssh_err(what))?;
    Ok(ch)
}

/// What runs root's login shell, marked with `mark`, for `host`'s user:
/// through `sudo -i` (root's login environment) unless it is root.
fn shell_command(host: &inventory::Host, mark: &str) -> String {
    let login = format!("env {MARK}={mark} sh -c {}", shell_quote(LOGIN));
    if host.user == "root" {
        format!("exec {login}")
    } else {
        format!("exec sudo -i {login}")
    }
}

/// A script sending SIGHUP to every process marked with `mark`.
fn hang_up_script(mark: &str) -> String {
    format!(
        "for p in /proc/[0-9]*; do if grep -qzx '{MARK}={mark}' \"$p/environ\" 2>/dev/null; then kill -HUP \"${{p#/proc/}}\" 2>/dev/null; fi; done; exit 0"
    )
}

/// A terminal's thread: its session, its shell's channel, and what goes
/// between them and the async side.
struct Pump {
    sess: Session,
    ch: Channel,
    server: String,
    /// `host:port`, as the connection's errors name it.
    target: String,
    asked: mpsc::Receiver<Ask>,
    woken: UnixStream,
    out: mpsc::Sender<Result<Bytes>>,
    /// Typed, not yet sent.
    typed: Vec<u8>,
    /// A size asked for, not yet sent.
    size: Option<(u16, u16)>,
    /// What hangs the terminal's processes up, as root.
    hang_up: String,
}

/// Where a step of the pump left the terminal.
enum Step {
    Going,
    Ended(String),
}

impl Pump {
    fn new(
        sess: Session,
        ch: Channel,
        host: &inventory::Host,
        mark: &str,
        asked: mpsc::Receiver<Ask>,
        woken: UnixStream,
        out: mpsc::Sender<Result<Bytes>>,
    ) -> Pump {
        sess.set_blocking(false);
        sess.set_keepalive(false, KEEPALIVE_SECONDS);
        bound_unanswered(&sess, UNANSWERED);
        Pump {
            sess,
            ch,
            server: host.server.clone(),
            target: super::target_of(host),
            asked,
            woken,
            out,
            typed: Vec::new(),
            size: None,
            hang_up: as_root(
                host,
                &format!("sh -c {}", shell_quote(&hang_up_script(mark))),
            ),
        }
    }

    /// Runs the terminal until its shell ends, it is hung up, or its
    /// connection drops: why, for people.
    fn run(&mut self) -> String {
        let mut keepalive_at = Instant::now() + Duration::from_secs(KEEPALIVE_SECONDS.into());
        loop {
            match self.step() {
                Ok(Step::Going) => {}
                Ok(Step::Ended(why)) => return why,
                Err(e) => return self.dropped(&e),
            }
            if Instant::now() >= keepalive_at {
                match self.sess.keepalive_send() {
                    Ok(next) => {
                        keepalive_at = Instant::now() + Duration::from_secs(next.max(1).into());
                    }
                    Err(e) if would_block(&e) => {}
                    Err(e) => return self.dropped(&e.into()),
                }
            }
            self.wait(keepalive_at);
        }
    }

    /// Does what was asked, sends what was typed, hands on what the shell
    /// wrote, each as far as it goes without waiting.
    fn step(&mut self) -> std::io::Result<Step> {
        loop {
            match self.asked.try_recv() {
                Ok(Ask::Type(bytes)) => self.typed.extend_from_slice(&bytes),
                Ok(Ask::Resize(cols, rows)) => self.size = Some((cols, rows)),
                // Asked to, or nobody holds the terminal any more.
                Ok(Ask::HangUp) | Err(mpsc::error::TryRecvError::Disconnected) => {
                    return Ok(Step::Ended(self.hang_up()));
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
            }
        }
        let mut drained = [0u8; 64];
        while matches!(self.woken.read(&mut drained), Ok(n) if n > 0) {}
        if let Some((cols, rows)) = self.size {
            match self
                .ch
                .request_pty_size(cols.into(), rows.into(), None, None)
            {
                Ok(()) => self.size = None,
                Err(e) if would_block(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        while !self.typed.is_empty() {
            match self.ch.write(&self.typed) {
                Ok(0) => break,
                Ok(n) => drop(self.typed.drain(..n)),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        let mut buf = vec![0u8; 16 << 10];
        loop {
            match self.ch.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let bytes = Bytes::copy_from_slice(buf.get(..n).unwrap_or_default());
                    if self.out.blocking_send(Ok(bytes)).is_err() {
                        // Nobody reads it any more.
                        return Ok(Step::Ended(self.hang_up()));
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        if self.ch.eof() {
            return Ok(Step::Ended(self.ended()));
        }
        Ok(Step::Going)
    }

    /// Waits until the socket has something for the session (or room for
    /// what it holds back), the async side asks something, or
    /// `keepalive_at`.
    fn wait(&self, keepalive_at: Instant) {
        let mut socket = libc::POLLIN;
        if matches!(
            self.sess.block_directions(),
            BlockDirections::Outbound | BlockDirections::Both
        ) {
            socket |= libc::POLLOUT;
        }
        let mut fds = [
            libc::pollfd {
                fd: self.sess.as_raw_fd(),
                events: socket,
                revents: 0,
            },
            libc::pollfd {
                fd: self.woken.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let timeout = keepalive_at
            .saturating_duration_since(Instant::now())
            .as_millis()
            .clamp(1, 60_000) as libc::c_int;
        // SAFETY: `fds` is an array of two initialised pollfd that
        // outlives the call, and its length is said.
        unsafe {
            libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout);
        }
    }

    /// The shell ended: how, once its channel closed (its exit status or
    /// signal come before the close).
    fn ended(&mut self) -> String {
        let until = Instant::now() + CLOSING;
        let closed = loop {
            match self.ch.wait_close() {
                Ok(()) => break true,
                Err(e) if would_block(&e) && Instant::now() < until => {
                    self.wait(until);
                }
                Err(_) => break false,
            }
        };
        let signal = self.ch.exit_signal().ok().and_then(|s| s.exit_signal);
        let code = closed.then(|| self.ch.exit_status().ok()).flatten();
        why(signal.as_deref(), code)
    }

    /// Hangs up, as closing a terminal window does: every process of the
    /// terminal gets SIGHUP (through a command of its own, as root), then
    /// the channel is closed and the connection left.
    fn hang_up(&mut self) -> String {
        self.sess.set_blocking(true);
        self.sess.set_timeout(HANGING_UP.as_millis() as u32);
        let _ = self.sess.channel_session().and_then(|mut ch| {
            ch.exec(&self.hang_up)?;
            ch.send_eof()?;
            ch.wait_close()
        });
        let _ = self.ch.close();
        let _ = self.sess.disconnect(None, "the terminal was closed", None);
        "it was hung up".into()
    }

    fn dropped(&self, e: &std::io::Error) -> String {
        format!(
            "the connection to {} ({}) dropped: {e}",
            self.server, self.target
        )
    }
}

/// libssh2's "would block" (`LIBSSH2_ERROR_EAGAIN`).
const EAGAIN: i32 = -37;

fn would_block(e: &ssh2::Error) -> bool {
    e.code() == ssh2::ErrorCode::Session(EAGAIN)
}

/// Bounds how long what is sent on the session's connection may go
/// unacknowledged before the connection fails (TCP_USER_TIMEOUT).
fn bound_unanswered(sess: &Session, bound: Duration) {
    let ms = bound.as_millis() as libc::c_uint;
    // SAFETY: the socket is the session's, open while it is; the option's
    // value is a c_uint that outlives the call, and its size is said.
    unsafe {
        libc::setsockopt(
            sess.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_USER_TIMEOUT,
            std::ptr::addr_of!(ms).cast(),
            std::mem::size_of::<libc::c_uint>() as libc::socklen_t,
        );
    }
}

/// Why a shell ended, for people, from the signal that killed it or its
/// exit status.
fn why(signal: Option<&str>, code: Option<i32>) -> String {
    match (signal, code) {
        (Some(s), _) => format!("it was killed (SIG{s})"),
        (None, Some(0)) => "it exited".into(),
        (None, Some(c)) => format!("it exited with code {c}"),
        (None, None) => "its output ended".into(),
    }
}

/// The terminal of one shell over SSH.
struct Control {
    line: Line,
    server: String,
    why: Arc<Mutex<Option<String>>>,
}

#[async_trait::async_trait]
impl TerminalControl for Control {
    async fn resize(&self, cols: u16, rows: u16) -> Result<()> {
        if self.line.send(Ask::Resize(cols, rows)).await {
            Ok(())
        } else {
            Err(Error::failure(format!(
                "resizing the terminal on {}: it has ended",
                self.server
            )))
        }
    }

    async fn hang_up(&self) -> Result<()> {
        self.line.send(Ask::HangUp).await;
        Ok(())
    }

    async fn why_ended(&self) -> String {
        self.why
            .lock()
            .expect("lock")
            .clone()
            .unwrap_or_else(|| "its output ended".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminals_shell_is_roots_and_marked() {
        let host = |user: &str| inventory::Host {
            server: "web-01".into(),
            host: "192.0.2.7".into(),
            port: 22,
            user: user.into(),
            auth: inventory::Auth::Agent,
            vip_interface: None,
        };
        let root = shell_command(&host("root"), "00ff");
        assert!(
            root.starts_with("exec env INFRACTL_TERMINAL=00ff sh -c 'cd ~"),
            "{root}"
        );
        let sudo = shell_command(&host("admin"), "00ff");
        assert_eq!(sudo, root.replacen("exec ", "exec sudo -i ", 1));
        let s = hang_up_script("00ff");
        assert!(s.contains("grep -qzx 'INFRACTL_TERMINAL=00ff'"), "{s}");
        assert!(s.contains("kill -HUP \"${p#/proc/}\""), "{s}");
    }

    #[test]
    fn a_shell_says_why_it_ended() {
        assert_eq!(why(None, Some(0)), "it exited");
        assert_eq!(why(None, Some(3)), "it exited with code 3");
        assert_eq!(why(Some("HUP"), Some(0)), "it was killed (SIGHUP)");
        assert_eq!(why(None, None), "its output ended");
    }
}
