//! Terminals in the portal, from a client as a browser uses them: a class
//! of one learner brought up, `infractl serve` started on it, the
//! learner's link exchanged for the cookie, then a shell on server-01
//! over a WebSocket — typed into, resized, sent what it must refuse,
//! joined by a second socket, and ended by its server stopping.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{docker, eventually, Test};
use crate::up::lab_alone;

const LAB: &str = "it-term-ann";

/// How long the portal keeps a session nobody is attached to, here.
const IDLE_SECONDS: u64 = 2;

/// Takes the class down when the test ends, passed or failed.
struct ClassDown<'a>(&'a Test);

impl Drop for ClassDown<'_> {
    fn drop(&mut self) {
        let _ = self
            .0
            .run_args(&["--quiet", "class", "down", "it-term.yaml"]);
    }
}

/// The portal's process, killed when the test ends.
pub(crate) struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `infractl serve` on a port the system picks: the process and
/// the address it says it serves on.
pub(crate) fn serve(t: &Test) -> (Serving, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_infractl"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("INFRACTL_STATE_DIR", t.state_dir())
        .env("INFRACTL_TEST_TERMINAL_IDLE", IDLE_SECONDS.to_string())
        .current_dir(t.dir())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start infractl serve");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let serving = Serving(child);
    let addr = loop {
        let line = lines
            .next()
            .expect("serve ended before saying where it serves")
            .expect("serve's stderr");
        if let Some(rest) = line.split_once(" on http://").map(|(_, r)| r.to_string()) {
            break rest.split('/').next().expect("an address").to_string();
        }
    };
    // What it says later goes nowhere, and never fills the pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (serving, addr)
}

/// One plain HTTP/1.1 request: the status line and headers, and the body.
pub(crate) fn http_get(addr: &str, path: &str, cookie: Option<&str>) -> (String, String) {
    let mut s = std::net::TcpStream::connect(addr).expect("connect to the portal");
    let cookie = cookie.map_or(String::new(), |c| format!("Cookie: {c}\r\n"));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{cookie}Connection: close\r\n\r\n"
    )
    .expect("send");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read the answer");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.to_string(), body.to_string())
}

/// The learner's cookie, from their personal link.
fn cookie_of_ann(t: &Test, addr: &str) -> String {
    let out = t
        .run_args(&["class", "links", "it-term.yaml", "--json"])
        .code(0);
    let links: serde_json::Value = serde_json::from_str(&out.stdout).expect("links as JSON");
    let url = links
        .as_array()
        .expect("a list")
        .iter()
        .find(|l| l["who"] == "ann")
        .and_then(|l| l["url"].as_str())
        .unwrap_or_else(|| panic!("no link for ann:\n{}", out.stdout))
        .to_string();
    let path = &url[url.find("/join/").expect("a join link")..];
    let (head, _) = http_get(addr, path, None);
    head.lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or(l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no cookie for the link:\n{head}"))
        .to_string()
}

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket to `path` with the cookie, and the session it is on.
pub(crate) async fn socket(addr: &str, path: &str, cookie: &str) -> (Socket, String) {
    let mut request = format!("ws://{addr}{path}")
        .into_client_request()
        .expect("a request");
    request
        .headers_mut()
        .insert("cookie", cookie.parse().expect("a cookie header"));
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .unwrap_or_else(|e| panic!("no WebSocket at {path}: {e}"));
    let hello = next(&mut ws).await.expect("a first message");
    let Message::Text(text) = hello else {
        panic!("the first message is not the session's: {hello:?}");
    };
    let hello: serde_json::Value = serde_json::from_str(text.as_str()).expect("JSON");
    let id = hello["session"].as_str().expect("a session id").to_string();
    (ws, id)
}

/// The socket's next message; a stuck socket fails the test.
async fn next(ws: &mut Socket) -> Option<Message> {
    tokio::time::timeout(Duration::from_secs(30), ws.next())
        .await
        .expect("the portal said nothing for 30 s")
        .map(|m| m.expect("a message"))
}

/// Reads the terminal until its output has `want`: all it read.
pub(crate) async fn read_until(ws: &mut Socket, want: &str) -> String {
    read_while(ws, want, |seen| !seen.contains(want)).await
}

/// Reads the terminal until a line of it, as a terminal shows it (its
/// escape sequences done, a carriage return starting the line anew), is
/// `line`.
pub(crate) async fn read_line(ws: &mut Socket, line: &str) -> String {
    read_while(ws, line, |seen| !shown(seen).iter().any(|l| l == line)).await
}

async fn read_while(ws: &mut Socket, want: &str, more: impl Fn(&str) -> bool) -> String {
    let mut seen = String::new();
    while more(&seen) {
        let Ok(message) = tokio::time::timeout(Duration::from_secs(30), ws.next()).await else {
            panic!("no {want:?} in 30 s; the terminal showed:\n{seen}");
        };
        match message.map(|m| m.expect("a message")) {
            Some(Message::Binary(b)) => seen.push_str(&String::from_utf8_lossy(&b)),
            Some(Message::Text(_) | Message::Ping(_) | Message::Pong(_)) => {}
            other => panic!("the terminal ended before {want:?}: {other:?}\nread:\n{seen}"),
        }
    }
    seen
}

/// The lines of a terminal's output as they show: control sequences
/// (`ESC [ ... letter`) take no room, and a carriage return writes the
/// line again from its start.
pub(crate) fn shown(output: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut chars = output.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() || c == '~' {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
        .split('\n')
        .map(|l| {
            let l = l.trim_end_matches('\r');
            l.rsplit('\r').next().unwrap_or(l).to_string()
        })
        .collect()
}

/// The next text frame (the portal's word on a message), skipping output.
async fn next_text(ws: &mut Socket) -> String {
    loop {
        match next(ws).await {
            Some(Message::Text(t)) => return t.to_string(),
            Some(Message::Binary(_)) => {}
            other => panic!("no text frame: {other:?}"),
        }
    }
}

pub(crate) async fn type_in(ws: &mut Socket, text: &str) {
    ws.send(Message::Binary(text.as_bytes().to_vec().into()))
        .await
        .expect("type");
}

async fn control(ws: &mut Socket, text: &str) {
    ws.send(Message::Text(text.into())).await.expect("send");
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn a_learner_types_into_a_shell_on_their_server_and_the_instructor_joins_it() {
    let _lab = lab_alone();
    let t = Test::new();
    t.file("it-term.yaml", "stack: task1\nstudents: [ann]\n");
    let _down = ClassDown(&t);
    t.run_args(&["--quiet", "class", "up", "it-term.yaml"])
        .code(0);
    let (_serving, addr) = serve(&t);
    let cookie = cookie_of_ann(&t, &addr);
    let term = format!("/lab/{LAB}/term/server-01");

    // Without the cookie, or on a server the lab does not have: nothing.
    let (head, _) = http_get(&addr, &term, None);
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    let (head, _) = http_get(&addr, &format!("/lab/{LAB}/term/db-99"), Some(&cookie));
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");

    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let (mut ann, id) = socket(&addr, &term, &cookie).await;
        type_in(&mut ann, "hostname\r").await;
        read_line(&mut ann, "server-01").await;

        control(&mut ann, r#"{"resize":[100,30]}"#).await;
        type_in(&mut ann, "stty size\r").await;
        read_line(&mut ann, "30 100").await;

        // Sizes no terminal has are refused, and the shell goes on.
        for bad in [r#"{"resize":[0,0]}"#, r#"{"resize":[10000,30]}"#] {
            control(&mut ann, bad).await;
            let said = next_text(&mut ann).await;
            assert!(said.contains("refused"), "{bad}: {said}");
            assert!(said.contains("1 to 500 columns"), "{bad}: {said}");
        }
        type_in(&mut ann, "stty size\r").await;
        read_line(&mut ann, "30 100").await;

        // Bytes a terminal passes on as they are, the lowest too: the
        // pauses have them come first in a piece of output, where a
        // client guessing the stream's framing from its first bytes
        // would take them for a header.
        type_in(
            &mut ann,
            "sleep 0.5; printf '\\001\\002ABCDEFGHIJ'; sleep 0.5; echo; echo after-$((6*7))\r",
        )
        .await;
        let seen = read_line(&mut ann, "after-42").await;
        assert!(seen.contains("\u{1}\u{2}ABCDEFGHIJ\r\n"), "{seen:?}");

        too_large_a_message(&addr, &term, &cookie).await;
        left_alone(&addr, &term, &cookie).await;
        joined(&addr, &term, &cookie, &mut ann, &id).await;
    });
    drop(runtime);

    let audit =
        std::fs::read_to_string(t.state_dir().join(".portal/audit.jsonl")).expect("the audit log");
    for action in ["\"action\":\"terminal\"", "\"action\":\"terminal-join\""] {
        assert!(
            audit
                .lines()
                .any(|l| l.contains(action) && l.contains("\"server\":\"server-01\"")),
            "no {action} in the audit log:\n{audit}"
        );
    }
}

/// A 10 MB message closes its socket, saying why; the portal still
/// opens a new terminal after it.
async fn too_large_a_message(addr: &str, term: &str, cookie: &str) {
    let (big, _) = socket(addr, term, cookie).await;
    // As a browser does: the message is sent while the socket is read.
    let (mut sink, mut stream) = big.split();
    let sending = tokio::spawn(async move {
        let _ = sink
            .send(Message::Binary(vec![b'a'; 10 << 20].into()))
            .await;
        sink
    });
    let frame = loop {
        match tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("the socket neither closed nor said anything for 30 s")
        {
            Some(Ok(Message::Close(Some(frame)))) => break frame,
            Some(Ok(Message::Binary(_) | Message::Text(_))) => {}
            other => panic!("not a close with a reason: {other:?}"),
        }
    };
    assert_eq!(frame.code, CloseCode::Size, "{frame:?}");
    assert_eq!(frame.reason.as_str(), "a message is at most 64 KiB");
    drop(stream);
    drop(sending.await.expect("the sending task"));
    let (mut again, _) = socket(addr, term, cookie).await;
    type_in(&mut again, "hostname\r").await;
    read_line(&mut again, "server-01").await;
    type_in(&mut again, "exit\r").await;
    let end = read_until(&mut again, "[the shell on server-01 ended: it exited]").await;
    assert!(end.ends_with("]\r\n"), "{end:?}");
}

/// A session nobody is attached to is hung up after a while: what ran
/// in its shell ends, and it is no longer listed.
async fn left_alone(addr: &str, term: &str, cookie: &str) {
    let (mut ws, id) = socket(addr, term, cookie).await;
    type_in(&mut ws, "sleep 4242 & sleep 4343\r").await;
    let running = |what: &str| {
        let out = Command::new("docker")
            .args(["exec", &format!("{LAB}-server-01"), "pgrep", "-f", what])
            .output()
            .expect("docker exec");
        out.status.success()
    };
    assert!(
        eventually(20, || running("sleep 4242") && running("sleep 4343")),
        "the commands typed do not run"
    );
    let listed = |id: &str| {
        let (_, body) = http_get(addr, &format!("/lab/{LAB}/terms"), Some(cookie));
        body.contains(&format!("\"id\":\"{id}\""))
    };
    assert!(listed(&id));
    ws.close(None).await.expect("close");
    drop(ws);
    assert!(
        eventually(4 * IDLE_SECONDS as u32 + 10, || !listed(&id)),
        "the session is still open with nobody attached"
    );
    assert!(
        eventually(10, || !running("sleep 4242") && !running("sleep 4343")),
        "the shell's commands outlived its session"
    );
}

/// A second socket joins ann's session: it gets the recent output, both
/// see what either types; stopping the server ends both with a line.
async fn joined(addr: &str, term: &str, cookie: &str, ann: &mut Socket, id: &str) {
    let (head, body) = http_get(addr, &format!("/lab/{LAB}/terms"), Some(cookie));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let listed: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let session = listed
        .as_array()
        .expect("a list")
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("session {id} not listed: {body}"));
    assert_eq!(session["server"], "server-01", "{body}");
    assert_eq!(session["attached"], 1, "{body}");

    let (mut other, same) = socket(addr, &format!("{term}?join={id}"), cookie).await;
    assert_eq!(same, id);
    read_line(&mut other, "30 100").await;

    type_in(ann, "echo one-$((6*7))\r").await;
    read_line(ann, "one-42").await;
    read_line(&mut other, "one-42").await;
    type_in(&mut other, "echo two-$((6*7))\r").await;
    read_line(&mut other, "two-42").await;
    read_line(ann, "two-42").await;

    docker(&["stop", &format!("{LAB}-server-01")]);
    for ws in [ann, &mut other] {
        read_until(ws, "\r\n[the shell on server-01 ended").await;
        let closed = loop {
            match next(ws).await {
                Some(Message::Binary(_)) => {}
                other => break other,
            }
        };
        match closed {
            Some(Message::Close(Some(frame))) => {
                assert_eq!(frame.code, CloseCode::Normal, "{frame:?}");
            }
            other => panic!("not closed cleanly: {other:?}"),
        }
    }

    // A shell on a server that is not running: the terminal says why.
    let mut request = format!("ws://{addr}{term}")
        .into_client_request()
        .expect("a request");
    request
        .headers_mut()
        .insert("cookie", cookie.parse().expect("a cookie header"));
    let (mut none, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("a WebSocket");
    let said = read_until(&mut none, "]\r\n").await;
    assert_eq!(
        said,
        "\r\n[no shell on server-01: it is not running (its start button starts it)]\r\n"
    );
}
