//! Terminals into a lab's servers over WebSockets.
//!
//! `GET /lab/LAB/term/SERVER` opens a login shell on the server (through
//! the driver's [`Terminals`](crate::driver::Terminals)) as a session;
//! `?join=ID` attaches another socket to an open session of the lab (the
//! instructor beside a learner: the same shell, both see it, both type),
//! which first gets the session's recent output; `GET /lab/LAB/terms`
//! lists the lab's open sessions. A session ends when its shell does (its
//! sockets get a last line saying why, and a clean close) or when nobody
//! has been attached to it for [`IDLE`] (the shell is hung up).
//!
//! On the socket, binary frames are the terminal's raw bytes both ways; a
//! text frame is JSON: from the page `{"resize":[cols,rows]}`; from the
//! portal `{"session":ID,"server":SERVER}` first, then `{"refused":WHY}`
//! for a message it ignored.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::sync::{broadcast, watch};

use super::auth::{LabAccess, Who};
use super::{Portal, PortalError};
use crate::driver::{TerminalControl, TerminalOutput};

/// How long a session lives with nobody attached.
pub const IDLE: Duration = Duration::from_secs(60);

/// A test hook (the `test-hooks` feature only): seconds a session lives
/// with nobody attached, instead of [`IDLE`].
pub const IDLE_ENV: &str = "INFRACTL_TEST_TERMINAL_IDLE";

/// How long a session lives with nobody attached: [`IDLE`], or what the
/// tests set.
fn idle() -> Duration {
    #[cfg(feature = "test-hooks")]
    if let Some(seconds) = std::env::var(IDLE_ENV).ok().and_then(|v| v.parse().ok()) {
        return Duration::from_secs(seconds);
    }
    IDLE
}

/// The largest message a page may send, and the recent output a socket
/// joining a session gets first.
pub const LIMIT: usize = 64 << 10;

/// How long a socket whose message was refused is held after its close
/// frame went.
const LINGER: Duration = Duration::from_secs(2);

/// Columns and rows a terminal may have.
const COLS: std::ops::RangeInclusive<u64> = 1..=500;
const ROWS: std::ops::RangeInclusive<u64> = 1..=200;

/// The size of a terminal opened without one.
const DEFAULT_SIZE: (u16, u16) = (80, 24);

pub fn router() -> Router<Portal> {
    Router::new()
        .route("/lab/{lab}/term/{server}", get(terminal))
        .route("/lab/{lab}/terms", get(list))
}

/// The terminals a lab may have open at once.
pub const PER_LAB: usize = 16;

/// The open terminal sessions, by id.
#[derive(Default)]
pub struct Sessions {
    open: Mutex<HashMap<String, Arc<Session>>>,
    /// Sessions being opened, by lab: counted against [`PER_LAB`] already.
    opening: Arc<Mutex<HashMap<String, usize>>>,
}

/// A session being opened, counted against its lab's [`PER_LAB`] until
/// it is dropped (by then the session is open, or failed).
struct Opening {
    lab: String,
    opening: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for Opening {
    fn drop(&mut self) {
        let mut opening = self.opening.lock().expect("sessions lock");
        if let Some(n) = opening.get_mut(&self.lab) {
            *n -= 1;
            if *n == 0 {
                opening.remove(&self.lab);
            }
        }
    }
}

impl Sessions {
    /// Room for one more session of `lab`, if it has fewer than
    /// [`PER_LAB`] open or being opened.
    fn reserve(&self, lab: &str) -> Option<Opening> {
        let open = self.open.lock().expect("sessions lock");
        let mut opening = self.opening.lock().expect("sessions lock");
        let now =
            open.values().filter(|s| s.lab == lab).count() + opening.get(lab).copied().unwrap_or(0);
        if now >= PER_LAB {
            return None;
        }
        *opening.entry(lab.to_string()).or_default() += 1;
        Some(Opening {
            lab: lab.to_string(),
            opening: self.opening.clone(),
        })
    }

    fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.open.lock().expect("sessions lock").get(id).cloned()
    }

    fn insert(&self, session: Arc<Session>) {
        self.open
            .lock()
            .expect("sessions lock")
            .insert(session.id.clone(), session);
    }

    fn remove(&self, id: &str) {
        self.open.lock().expect("sessions lock").remove(id);
    }

    /// The open sessions of `lab`, oldest first.
    fn of_lab(&self, lab: &str) -> Vec<Listed> {
        let open = self.open.lock().expect("sessions lock");
        let mut listed: Vec<Listed> = open
            .values()
            .filter(|s| s.lab == lab)
            .map(|s| Listed {
                id: s.id.clone(),
                server: s.server.clone(),
                by: s.by.clone(),
                opened: s.opened,
                attached: *s.attached.borrow(),
            })
            .collect();
        listed.sort_by(|a, b| (a.opened, &a.id).cmp(&(b.opened, &b.id)));
        listed
    }
}

/// A session as `/lab/LAB/terms` lists it.
#[derive(Debug, Serialize)]
struct Listed {
    id: String,
    server: String,
    /// Who opened it.
    by: String,
    /// Seconds since the epoch.
    opened: u64,
    /// Sockets attached now.
    attached: usize,
}

/// One shell in a terminal, and the sockets attached to it.
struct Session {
    id: String,
    lab: String,
    server: String,
    by: String,
    opened: u64,
    /// What is typed, until the shell ends.
    input: tokio::sync::Mutex<Option<Pin<Box<dyn tokio::io::AsyncWrite + Send>>>>,
    control: Box<dyn TerminalControl>,
    screen: Mutex<Screen>,
    output: broadcast::Sender<Out>,
    attached: watch::Sender<usize>,
}

/// What a newcomer is shown first.
#[derive(Default)]
struct Screen {
    /// The last [`LIMIT`] bytes of output.
    recent: Vec<u8>,
    /// The line saying the shell ended, once it has.
    ended: Option<Bytes>,
}

/// What a session hands its sockets.
#[derive(Clone)]
enum Out {
    Bytes(Bytes),
    /// The shell ended: the line saying so.
    Ended(Bytes),
}

/// A socket counted as attached to a session while this lives.
struct Attached(Arc<Session>);

impl Drop for Attached {
    fn drop(&mut self) {
        self.0.attached.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// What a socket joining a session gets: the recent output, the end if
/// it came, and the output from then on.
struct Joined {
    recent: Vec<u8>,
    ended: Option<Bytes>,
    output: broadcast::Receiver<Out>,
    attached: Attached,
}

impl Session {
    /// Attaches a socket. The recent output and the subscription are
    /// taken under one lock, so that nothing is missed or shown twice.
    fn join(self: &Arc<Self>) -> Joined {
        self.attached.send_modify(|n| *n += 1);
        let attached = Attached(self.clone());
        let screen = self.screen.lock().expect("screen lock");
        Joined {
            recent: screen.recent.clone(),
            ended: screen.ended.clone(),
            output: self.output.subscribe(),
            attached,
        }
    }

    fn publish(&self, bytes: Bytes) {
        let mut screen = self.screen.lock().expect("screen lock");
        keep_recent(&mut screen.recent, &bytes);
        let _ = self.output.send(Out::Bytes(bytes));
    }

    fn end(&self, why: &str) {
        let line = Bytes::from(format!(
            "\r\n[the shell on {} ended: {why}]\r\n",
            self.server
        ));
        let mut screen = self.screen.lock().expect("screen lock");
        screen.ended = Some(line.clone());
        let _ = self.output.send(Out::Ended(line));
    }

    /// Types `bytes` into the shell; nothing once it has ended.
    async fn type_in(&self, bytes: &[u8]) {
        let mut input = self.input.lock().await;
        if let Some(w) = input.as_mut() {
            if w.write_all(bytes).await.is_err() || w.flush().await.is_err() {
                *input = None;
            }
        }
    }

    /// Does what a text frame asks; why not, when it is refused.
    async fn control_message(&self, text: &str) -> Result<(), String> {
        let (cols, rows) = resize_of(text)?;
        self.control
            .resize(cols, rows)
            .await
            .map_err(|e| e.headline())
    }
}

/// Appends `bytes` to `recent`, keeping its last [`LIMIT`] bytes, from
/// the start of a line where one starts soon after the cut.
fn keep_recent(recent: &mut Vec<u8>, bytes: &[u8]) {
    recent.extend_from_slice(bytes);
    if recent.len() <= LIMIT {
        return;
    }
    let mut cut = recent.len() - LIMIT;
    if let Some(nl) = recent[cut..].iter().take(4096).position(|b| *b == b'\n') {
        cut += nl + 1;
    }
    recent.drain(..cut);
}

/// The columns and rows a text frame asks the terminal to have.
fn resize_of(text: &str) -> Result<(u16, u16), String> {
    let understood = "a message is {\"resize\":[cols,rows]}";
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|_| format!("not JSON: {understood}"))?;
    let Some([cols, rows]) = value
        .get("resize")
        .and_then(|r| r.as_array())
        .map(Vec::as_slice)
    else {
        return Err(format!("not understood: {understood}"));
    };
    let (Some(cols), Some(rows)) = (cols.as_u64(), rows.as_u64()) else {
        return Err("a size is two whole numbers: [cols,rows]".into());
    };
    if !COLS.contains(&cols) || !ROWS.contains(&rows) {
        return Err(format!(
            "a terminal has 1 to 500 columns and 1 to 200 rows: {cols}×{rows} ignored"
        ));
    }
    Ok((cols as u16, rows as u16))
}

/// Runs a session: hands its output on until the shell ends or nobody
/// has been attached for [`IDLE`], then says why and forgets it.
async fn run(portal: Portal, session: Arc<Session>, mut output: TerminalOutput) {
    let mut attached = session.attached.subscribe();
    let mut idle_since = (*attached.borrow_and_update() == 0).then(tokio::time::Instant::now);
    let why = loop {
        let deserted = async {
            match idle_since {
                Some(since) => tokio::time::sleep_until(since + idle()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            chunk = output.next() => match chunk {
                Some(Ok(bytes)) => session.publish(bytes),
                Some(Err(e)) => {
                    let _ = session.control.hang_up().await;
                    break e.headline();
                }
                None => break session.control.why_ended().await,
            },
            _ = attached.changed() => {
                idle_since = (*attached.borrow_and_update() == 0)
                    .then(tokio::time::Instant::now);
            }
            () = deserted => {
                let _ = session.control.hang_up().await;
                break format!("nobody was attached for {} s", idle().as_secs());
            }
        }
    };
    session.input.lock().await.take();
    session.end(&why);
    portal.terms.remove(&session.id);
}

/// What the terminal route reads from its query.
#[derive(Debug, Deserialize)]
struct Asked {
    /// An open session to attach to.
    join: Option<String>,
    /// The size to open the terminal with.
    cols: Option<u16>,
    rows: Option<u16>,
}

/// `GET /lab/LAB/term/SERVER`: a WebSocket onto a new shell on the
/// server, or onto an open session (`?join=ID`).
async fn terminal(
    access: LabAccess,
    State(portal): State<Portal>,
    Path((_, server)): Path<(String, String)>,
    Query(asked): Query<Asked>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, PortalError> {
    if !same_origin(&headers) {
        return Err(PortalError::NotFound);
    }
    let lab = portal.lab(&access.lab).await?;
    if !lab.plan.servers.iter().any(|s| s.name == server) {
        return Err(PortalError::NotFound);
    }
    let ws = match ws {
        Ok(ws) => ws.max_message_size(LIMIT).max_frame_size(LIMIT),
        Err(not_a_socket) => return Ok(not_a_socket.into_response()),
    };
    let LabAccess { who, lab: lab_name } = access;
    if let Some(id) = asked.join {
        let session = portal
            .terms
            .get(&id)
            .filter(|s| s.lab == lab_name && s.server == server);
        let found = session.is_some();
        portal
            .audit
            .log(&who, "terminal-join", Some(&lab_name), Some(&server), found);
        let session = session.ok_or(PortalError::NotFound)?;
        return Ok(ws
            .on_upgrade(move |socket| attach(socket, session))
            .into_response());
    }
    let size = match (asked.cols, asked.rows) {
        (Some(c), Some(r)) if COLS.contains(&c.into()) && ROWS.contains(&r.into()) => (c, r),
        _ => DEFAULT_SIZE,
    };
    Ok(ws
        .on_upgrade(move |socket| open(socket, portal, lab, who, server, size))
        .into_response())
}

/// Whether a request comes from the portal's own pages, where the
/// browser says (an `Origin` naming another host is another site's page).
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get("origin").and_then(|o| o.to_str().ok()) else {
        return true;
    };
    let host = headers.get("host").and_then(|h| h.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    host.is_some() && origin_host == host
}

/// Opens a shell on `server` and attaches the socket to it as a new
/// session; a shell that cannot be opened is said in the terminal.
async fn open(
    mut socket: WebSocket,
    portal: Portal,
    lab: Arc<super::LabHandle>,
    who: Who,
    server: String,
    (cols, rows): (u16, u16),
) {
    let reserved = portal.terms.reserve(&lab.lab);
    let opened = match (reserved.is_some(), lab.driver.terminals()) {
        (false, _) => Err(crate::error::Error::failure(format!(
            "{} terminals are open on this lab already",
            PER_LAB
        ))
        .with_hint("close one of them first")),
        (true, Some(t)) => t.terminal(&server, cols, rows).await,
        (true, None) => Err(crate::error::Error::failure(format!(
            "the hosts of {} have no terminals here",
            lab.lab
        ))),
    };
    portal.audit.log(
        &who,
        "terminal",
        Some(&lab.lab),
        Some(&server),
        opened.is_ok(),
    );
    let terminal = match opened {
        Ok(t) => t,
        Err(e) => {
            let line = format!(
                "\r\n[no shell on {server}: {}]\r\n",
                why_not(&lab, &server, &e).await
            );
            let _ = socket.send(Message::Binary(line.into())).await;
            let _ = socket.send(close(close_code::ERROR, "no shell")).await;
            return;
        }
    };
    let session = Arc::new(Session {
        id: format!("{:016x}", rand::random::<u64>()),
        lab: lab.lab.clone(),
        server,
        by: who.name.clone(),
        opened: SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        input: tokio::sync::Mutex::new(Some(terminal.input)),
        control: terminal.control,
        screen: Mutex::new(Screen::default()),
        output: broadcast::channel(256).0,
        attached: watch::channel(0).0,
    });
    portal.terms.insert(session.clone());
    drop(reserved);
    let joined = session.join();
    tokio::spawn(run(portal, session.clone(), terminal.output));
    serve(socket, session, joined).await;
}

/// Why no shell could be opened on `server`, in the page's words: the
/// server's state where that is why, else the driver's error.
async fn why_not(lab: &super::LabHandle, server: &str, e: &crate::error::Error) -> String {
    let host = lab
        .driver
        .hosts()
        .await
        .ok()
        .map(|hosts| hosts.into_iter().find(|h| h.server == server));
    match host {
        Some(Some(h)) if !h.running => "it is not running (its start button starts it)".into(),
        Some(None) => "it does not exist (ask your instructor to bring the lab up)".into(),
        _ => {
            let hint = e.hint_text().map(|h| format!(" ({h})")).unwrap_or_default();
            format!("{}{hint}", e.headline())
        }
    }
}

/// Attaches a socket to an open session.
async fn attach(socket: WebSocket, session: Arc<Session>) {
    let joined = session.join();
    serve(socket, session, joined).await;
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// Passes a session's output to the socket and the socket's typing and
/// resizes to the session, until either ends.
async fn serve(socket: WebSocket, session: Arc<Session>, joined: Joined) {
    let Joined {
        recent,
        ended,
        mut output,
        attached: _attached,
    } = joined;
    let (mut tx, mut rx) = socket.split();
    let hello = serde_json::json!({ "session": session.id, "server": session.server });
    if tx
        .send(Message::Text(hello.to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    for piece in recent.chunks(LIMIT) {
        if tx
            .send(Message::Binary(Bytes::copy_from_slice(piece)))
            .await
            .is_err()
        {
            return;
        }
    }
    if let Some(line) = ended {
        let _ = tx.send(Message::Binary(line)).await;
        let _ = tx.send(close(close_code::NORMAL, "the shell ended")).await;
        return;
    }
    loop {
        tokio::select! {
            out = output.recv() => match out {
                Ok(Out::Bytes(bytes)) => {
                    if tx.send(Message::Binary(bytes)).await.is_err() {
                        return;
                    }
                }
                Ok(Out::Ended(line)) => {
                    let _ = tx.send(Message::Binary(line)).await;
                    let _ = tx.send(close(close_code::NORMAL, "the shell ended")).await;
                    return;
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let note = "\r\n[this connection fell behind: some output was skipped]\r\n";
                    if tx.send(Message::Binary(note.into())).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            message = rx.next() => match message {
                Some(Ok(Message::Binary(bytes))) => session.type_in(&bytes).await,
                Some(Ok(Message::Text(text))) => {
                    if let Err(why) = session.control_message(text.as_str()).await {
                        let refused = serde_json::json!({ "refused": why }).to_string();
                        if tx.send(Message::Text(refused.into())).await.is_err() {
                            return;
                        }
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | None => return,
                Some(Err(e)) => {
                    // The rest of the message is not read: the socket is
                    // held a moment, so that a page still sending it reads
                    // the close and its reason before the connection goes.
                    if tx.send(refusal(&e.to_string())).await.is_ok() {
                        tokio::time::sleep(LINGER).await;
                    }
                    return;
                }
            },
        }
    }
}

/// The close frame for a socket whose message could not be read: too
/// large, or not WebSocket.
fn refusal(error: &str) -> Message {
    if error.contains("too long") || error.contains("limit") {
        close(
            close_code::SIZE,
            &format!("a message is at most {} KiB", LIMIT >> 10),
        )
    } else {
        let mut reason: String = format!("unreadable message: {error}");
        // A close frame's reason is at most 123 bytes.
        while reason.len() > 120 {
            reason.pop();
        }
        close(close_code::PROTOCOL, &reason)
    }
}

/// `GET /lab/LAB/terms`: the lab's open sessions.
async fn list(access: LabAccess, State(portal): State<Portal>) -> impl IntoResponse {
    Json(portal.terms.of_lab(&access.lab))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resize_is_understood_within_its_bounds_and_refused_outside() {
        assert_eq!(resize_of(r#"{"resize":[100,30]}"#), Ok((100, 30)));
        assert_eq!(resize_of(r#"{"resize":[500,200]}"#), Ok((500, 200)));
        assert_eq!(resize_of(r#"{"resize":[1,1]}"#), Ok((1, 1)));
        for refused in [
            r#"{"resize":[0,0]}"#,
            r#"{"resize":[10000,30]}"#,
            r#"{"resize":[80,201]}"#,
            r#"{"resize":[80,-1]}"#,
            r#"{"resize":[80]}"#,
            r#"{"resize":"80x24"}"#,
            r#"{"type":"hello"}"#,
            "hostname",
        ] {
            assert!(resize_of(refused).is_err(), "{refused} was taken");
        }
        assert_eq!(
            resize_of(r#"{"resize":[0,0]}"#),
            Err("a terminal has 1 to 500 columns and 1 to 200 rows: 0×0 ignored".into())
        );
    }

    #[test]
    fn the_recent_output_is_the_last_64_kib_from_a_lines_start() {
        let mut recent = Vec::new();
        keep_recent(&mut recent, b"first\n");
        assert_eq!(recent, b"first\n");
        let line = [b'x'; 99].iter().chain(b"\n").copied().collect::<Vec<u8>>();
        for _ in 0..1000 {
            keep_recent(&mut recent, &line);
        }
        assert!(recent.len() <= LIMIT, "{}", recent.len());
        assert!(recent.len() > LIMIT - 100, "{}", recent.len());
        assert_eq!(recent[0], b'x');
        assert_eq!(recent.len() % 100, 0);
        let mut long = Vec::new();
        keep_recent(&mut long, &vec![b'y'; 3 * LIMIT]);
        assert_eq!(long.len(), LIMIT);
    }

    #[test]
    fn a_lab_has_so_many_terminals_open_at_once() {
        let sessions = Sessions::default();
        let held: Vec<Opening> = (0..PER_LAB)
            .map(|_| sessions.reserve("ann").expect("room"))
            .collect();
        assert!(sessions.reserve("ann").is_none());
        assert!(sessions.reserve("bob").is_some(), "another lab's own");
        drop(held);
        assert!(sessions.reserve("ann").is_some());
        assert!(sessions.opening.lock().expect("lock").is_empty());
    }

    #[test]
    fn a_socket_from_another_sites_page_is_not_served() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, v.parse().expect("header"));
            }
            h
        };
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8080")])));
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "https://evil.example")
        ])));
        assert!(!same_origin(&headers(&[(
            "origin",
            "http://127.0.0.1:8080"
        )])));
    }
}
