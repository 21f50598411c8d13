//! Labs over SSH found by their name alone, with terminals and a live
//! view, against "VM" containers that run only sshd (see `ssh`).
//!
//! A task0 lab brought up over SSH (as a user with sudo) is recorded with
//! its inventory:
//! `verify`, `status --json`, `exec` and `down` reach it by its name, with
//! no `--inventory`; another inventory, or a Docker engine, named for it
//! is refused; `up --publish` is refused before anything is recorded. A
//! terminal through the driver (found by the lab's name, as the portal
//! finds it) is root's, answers `hostname` with the host's name, takes a
//! new size, hung up ends what its shell runs,
//! and says how its shell ended; one whose host is killed ends saying the
//! connection dropped. The portal's watcher, with no events from the
//! driver, shows a host whose services were killed outside infractl
//! stopped within its beat, and started again running.
//!
//! The portal itself (`infractl serve`, over HTTP) reaches the lab through
//! the machine operator's link: a terminal over its WebSocket, the site,
//! the lab's page's events as its stop and start buttons act and as the
//! host's services are killed outside infractl.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use infractl::driver::{Driver, Terminal};
use infractl::ops::Global;
use infractl::serve::live::LabView;
use infractl::serve::Portal;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

use crate::harness::{docker, eventually, Test};
use crate::ssh::{over_ssh, start_vms, start_vms_booted, Boot};
use crate::terminal::{http_get, read_line, serve, shown, socket, type_in};
use crate::up::{lab_alone, test_stack, Down};

/// The lab of the driver's test, and of the portal's.
const LAB: &str = "it-sshp";
const PORTAL_LAB: &str = "it-sshpw";

/// How long a change made outside infractl may take to show in the live
/// view: the watcher's beat (5 s) and one look at every host.
const BEAT_AND_LOOK: Duration = Duration::from_secs(12);

/// Options with nothing but the test's state: no inventory, no engine.
fn by_name_alone(t: &Test) -> Global {
    Global {
        state_dir: Some(t.state_dir().to_path_buf()),
        ..Default::default()
    }
}

/// Reads a terminal until a line of it, as a terminal shows it, is
/// `line`: all it read.
async fn until_line(term: &mut Terminal, line: &str) -> String {
    let mut seen = String::new();
    while !shown(&seen).iter().any(|l| l == line) {
        let Ok(chunk) = tokio::time::timeout(Duration::from_secs(30), term.output.next()).await
        else {
            panic!("no line {line:?} in 30 s; the terminal showed:\n{seen}");
        };
        match chunk {
            Some(Ok(bytes)) => seen.push_str(&String::from_utf8_lossy(&bytes)),
            other => panic!("the terminal ended before {line:?}: {other:?}\nread:\n{seen}"),
        }
    }
    seen
}

/// Reads a terminal to its end, within `within`.
async fn until_ended(term: &mut Terminal, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, term.output.next()).await {
            Ok(Some(Ok(_))) => {}
            Ok(None) => return,
            Ok(Some(Err(e))) => panic!("the terminal failed: {}", e.report()),
            Err(_) => panic!("the terminal did not end within {within:?}"),
        }
    }
}

async fn types(term: &mut Terminal, text: &str) {
    term.input.write_all(text.as_bytes()).await.expect("typed");
    term.input.flush().await.expect("typed");
}

/// Waits up to `within` for the view to satisfy `what`: the view that
/// did, or the last one seen.
async fn until_view(
    rx: &mut watch::Receiver<Arc<LabView>>,
    within: Duration,
    what: impl Fn(&LabView) -> bool,
) -> Result<Arc<LabView>, Arc<LabView>> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let view = rx.borrow_and_update().clone();
        if what(&view) {
            return Ok(view);
        }
        match tokio::time::timeout_at(deadline, rx.changed()).await {
            Ok(Ok(())) => {}
            _ => return Err(view),
        }
    }
}

/// The state the view gives `server`.
fn state_of<'a>(view: &'a LabView, server: &str) -> &'a str {
    view.servers
        .iter()
        .find(|s| s.server == server)
        .map_or("", |s| s.state.as_str())
}

fn all_running(view: &LabView) -> bool {
    !view.servers.is_empty() && view.servers.iter().all(|s| s.state == "running")
}

/// The lab's record, as JSON.
fn record(t: &Test, lab: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(t.state_dir().join(lab).join("lab.json"))
        .unwrap_or_else(|e| panic!("no record of {lab}: {e}"));
    serde_json::from_str(&text).expect("a record is JSON")
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn an_ssh_lab_is_found_by_its_name_with_terminals_and_a_live_view() {
    let _lab = lab_alone();
    let t = Test::new();
    let file = test_stack(&t, "task0", LAB, 234, false);
    // Logged in as a user with sudo: the terminal is root's all the same.
    let boot = Boot {
        systemd: false,
        user: "lab",
    };
    let (vms, inv) = start_vms_booted(&t, &file, "it-sshp-vm", boot);
    let run = over_ssh(&t, &inv);
    run(&["up", &file])
        .code(0)
        .stdout_has("Lab `it-sshp` is up");
    let _down = Down(&t, LAB.into());

    // The record keeps where the lab runs, absolute.
    let placed = &record(&t, LAB)["engine"];
    let dir = std::fs::canonicalize(t.dir()).expect("the test's folder");
    assert_eq!(placed["inventory"], dir.join(&inv).display().to_string());
    assert_eq!(
        placed["known-hosts"],
        dir.join("known_hosts").display().to_string()
    );
    assert_eq!(placed["accept-new-host-keys"], true);

    found_by_name(&t, &dir.join(&inv));

    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let driver = runtime.block_on(async {
        let global = by_name_alone(&t);
        let loaded = infractl::ops::load(LAB, &global).expect("the lab loads by its name");
        let driver = infractl::ops::driver(&global, &loaded.topo)
            .await
            .expect("its driver, by its name");
        terminal_answers(&*driver).await;
        hung_up(&*driver, vms.of("server-01")).await;
        live_view_on_a_beat(&global, vms.of("server-01")).await;
        driver
    });

    t.run_args(&["--quiet", "down", LAB])
        .code(0)
        .stdout_has("Lab `it-sshp` is down: removed its services and files from 3 hosts");
    assert!(record(&t, LAB).get("engine").is_none());

    // A host killed under an open terminal: it ends, saying why.
    runtime.block_on(async {
        let terminals = driver.terminals().expect("terminals over SSH");
        let mut term = terminals
            .terminal("client", 80, 24)
            .await
            .expect("a terminal on client");
        types(&mut term, "hostname\r").await;
        until_line(&mut term, "client").await;
        let killed = Instant::now();
        docker(&["kill", vms.of("client")]);
        until_ended(&mut term, Duration::from_secs(60)).await;
        let why = term.control.why_ended().await;
        eprintln!(
            "the terminal ended {} ms after its host was killed: {why}",
            killed.elapsed().as_millis()
        );
        assert!(
            why.starts_with("the connection to client (10.234.0.200:22) dropped"),
            "{why}"
        );
    });
}

/// `verify`, `status --json` and `exec` reach the lab by its name alone;
/// another inventory or an engine named for it is refused, and so is
/// `--publish` on its hosts.
fn found_by_name(t: &Test, inventory: &Path) {
    t.run_args(&["--quiet", "verify", LAB])
        .code(0)
        .stdout_has(" passed, 0 failed");
    let out = t.run_args(&["--quiet", "status", LAB, "--json"]).code(0);
    let status: serde_json::Value = serde_json::from_str(&out.stdout).expect("status as JSON");
    let servers = status["servers"].as_array().expect("servers");
    assert_eq!(servers.len(), 3, "{}", out.stdout);
    for s in servers {
        assert_eq!(s["state"], "running", "{s}");
        assert!(
            s["services"]
                .as_array()
                .expect("services")
                .iter()
                .all(|x| x["state"] == "run"),
            "{s}"
        );
    }
    let out = t
        .run_args(&["--quiet", "exec", LAB, "server-01", "--", "hostname"])
        .code(0);
    assert_eq!(out.stdout.trim(), "server-01");

    t.file(
        "other.yaml",
        &std::fs::read_to_string(inventory).expect("the inventory"),
    );
    let other = std::fs::canonicalize(t.dir().join("other.yaml")).expect("other.yaml");
    t.run_args(&["--quiet", "status", LAB, "--inventory", "other.yaml"])
        .code(2)
        .stderr_has(&format!(
            "error: lab `it-sshp` runs on the hosts of {}, not those of {}\n",
            inventory.display(),
            other.display()
        ));
    t.run_args(&["--quiet", "verify", LAB, "--engine", "tcp://192.0.2.7:2375"])
        .code(2)
        .stderr_has(&format!(
            "error: lab `it-sshp` runs on the hosts of {}, not the engine tcp://192.0.2.7:2375\n",
            inventory.display()
        ));
    t.run_args(&["--quiet", "up", LAB, "--publish", "0"])
        .code(2)
        .stderr_has("--publish is for labs on a Docker engine");
    assert!(record(t, LAB).get("publish").is_none());
}

/// A shell on server-01 through the driver: root's (the inventory's user
/// is not root), it answers `hostname`, takes a new size, and ends saying
/// so when it exits.
async fn terminal_answers(driver: &dyn Driver) {
    let terminals = driver.terminals().expect("terminals over SSH");
    let mut term = terminals
        .terminal("server-01", 80, 24)
        .await
        .expect("a terminal on server-01");
    types(&mut term, "hostname\r").await;
    until_line(&mut term, "server-01").await;
    types(&mut term, "id -un; echo $TERM\r").await;
    until_line(&mut term, "root").await;
    until_line(&mut term, "xterm-256color").await;
    term.control.resize(100, 30).await.expect("resized");
    types(&mut term, "stty size\r").await;
    until_line(&mut term, "30 100").await;
    types(&mut term, "exit 3\r").await;
    until_ended(&mut term, Duration::from_secs(30)).await;
    assert_eq!(term.control.why_ended().await, "it exited with code 3");
}

/// A terminal hung up, as a closed window: what its shell runs ends on
/// the host (`vm`, its test host).
async fn hung_up(driver: &dyn Driver, vm: &str) {
    let terminals = driver.terminals().expect("terminals over SSH");
    let mut term = terminals
        .terminal("server-01", 80, 24)
        .await
        .expect("a terminal on server-01");
    types(&mut term, "sleep 4242 & sleep 4343\r").await;
    let running = |what: &str| {
        std::process::Command::new("docker")
            .args(["exec", vm, "pgrep", "-f", what])
            .output()
            .expect("docker exec")
            .status
            .success()
    };
    assert!(
        eventually(20, || running("sleep 4242") && running("sleep 4343")),
        "the commands typed do not run"
    );
    term.control.hang_up().await.expect("hung up");
    until_ended(&mut term, Duration::from_secs(30)).await;
    assert_eq!(term.control.why_ended().await, "it was hung up");
    assert!(
        eventually(20, || !running("sleep 4242") && !running("sleep 4343")),
        "the shell's commands outlived its terminal"
    );
}

/// The portal's watcher of the lab, found by its name: all running; the
/// services of server-01 killed outside infractl (`vm`, its test host),
/// it shows stopped within the beat; started through the driver, running.
async fn live_view_on_a_beat(global: &Global, vm: &str) {
    let portal = Portal::new(global.clone(), false).expect("a portal");
    let mut rx = portal.live.watch(&portal, LAB);
    until_view(&mut rx, Duration::from_secs(60), all_running)
        .await
        .unwrap_or_else(|v| panic!("the lab never showed running: {v:#?}"));
    let killed = Instant::now();
    docker(&["exec", vm, "/etc/infractl/svc", "kill"]);
    let view = until_view(&mut rx, BEAT_AND_LOOK, |v| {
        state_of(v, "server-01") == "stopped"
    })
    .await
    .unwrap_or_else(|v| panic!("server-01 never showed stopped: {v:#?}"));
    eprintln!(
        "services killed outside infractl, shown stopped after {} ms",
        killed.elapsed().as_millis()
    );
    assert_eq!(view.down(), ["server-01"]);
    let lab = portal.lab(LAB).await.expect("the lab, by its name");
    lab.driver
        .start(&lab.plan, "server-01")
        .await
        .expect("server-01 started");
    until_view(&mut rx, BEAT_AND_LOOK, all_running)
        .await
        .unwrap_or_else(|v| panic!("the lab never showed running again: {v:#?}"));
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn the_portal_serves_an_ssh_lab_through_the_operators_link() {
    let _lab = lab_alone();
    let t = Test::new();
    let file = test_stack(&t, "task0", PORTAL_LAB, 235, false);
    let (vms, inv) = start_vms(&t, &file, "it-sshpw-vm");
    over_ssh(&t, &inv)(&["up", &file])
        .code(0)
        .stdout_has("Lab `it-sshpw` is up");
    let _down = Down(&t, PORTAL_LAB.into());
    let (_serving, addr) = serve(&t);
    let cookie = operators_cookie(&t, &addr);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let term = format!("/lab/{PORTAL_LAB}/term/server-01");
        let (mut ws, _) = socket(&addr, &term, &cookie).await;
        type_in(&mut ws, "hostname\r").await;
        read_line(&mut ws, "server-01").await;

        // The site, through the portal, at the hosts' own address.
        let (head, body) = http_get(&addr, &format!("/lab/{PORTAL_LAB}/site/"), Some(&cookie));
        assert!(head.starts_with("HTTP/1.1 200"), "{head}\n{body}");
        assert!(
            body.contains("Served by web server <code>server-01</code>"),
            "{body}"
        );

        let mut events = Events::open(&addr, &cookie).await;
        events
            .until(Duration::from_secs(60), all_running_json)
            .await;
        for (action, state) in [("stop", "stopped"), ("start", "running")] {
            post(
                &addr,
                &format!("/lab/{PORTAL_LAB}/servers/server-01/{action}"),
                &cookie,
            )
            .await;
            events
                .until(BEAT_AND_LOOK, |v| server_state(v, "server-01") == state)
                .await;
        }
        // Killed outside infractl: seen on the watcher's beat.
        events
            .until(Duration::from_secs(60), all_running_json)
            .await;
        docker(&["exec", vms.of("server-01"), "/etc/infractl/svc", "kill"]);
        events
            .until(BEAT_AND_LOOK, |v| server_state(v, "server-01") == "stopped")
            .await;
    });
}

/// The machine operator's link, as `serve` wrote it, exchanged for its
/// cookie (`name=value`).
fn operators_cookie(t: &Test, addr: &str) -> String {
    let file = t.state_dir().join(".portal/operator-link");
    let start = Instant::now();
    while !file.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "serve wrote no {}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file)
        .expect("the link's file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    let text = std::fs::read_to_string(&file).expect("the link");
    assert_eq!(text.lines().count(), 1, "{text:?}");
    let url = text.trim();
    let path = url
        .strip_prefix("http://")
        .and_then(|rest| rest.find("/join/").map(|at| &rest[at..]))
        .unwrap_or_else(|| panic!("not a link http://ADDR/join/TOKEN: {url}"));
    let (head, _) = http_get(addr, path, None);
    head.lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or(l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no cookie for the operator's link:\n{head}"))
        .to_string()
}

type Client = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    http_body_util::Full<bytes::Bytes>,
>;

fn client() -> Client {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http()
}

/// Asks for a server action of the lab's page; it must be done.
async fn post(addr: &str, path: &str, cookie: &str) {
    let request = hyper::Request::post(format!("http://{addr}{path}"))
        .header("cookie", cookie)
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .expect("a request");
    let answer = tokio::time::timeout(Duration::from_secs(60), client().request(request))
        .await
        .unwrap_or_else(|_| panic!("POST {path}: no answer in 60 s"))
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    let status = answer.status();
    let body = http_body_util::BodyExt::collect(answer.into_body())
        .await
        .expect("a body")
        .to_bytes();
    assert_eq!(
        status,
        200,
        "POST {path}: {}",
        String::from_utf8_lossy(&body)
    );
}

/// The lab page's event stream, read as the page reads it.
struct Events {
    body: hyper::body::Incoming,
    text: String,
    /// The last view it sent (a view is sent when it changes).
    last: serde_json::Value,
}

impl Events {
    async fn open(addr: &str, cookie: &str) -> Events {
        let request = hyper::Request::get(format!("http://{addr}/lab/{PORTAL_LAB}/events"))
            .header("cookie", cookie)
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .expect("a request");
        let answer = client().request(request).await.expect("the lab's events");
        assert_eq!(answer.status(), 200);
        Events {
            body: answer.into_body(),
            text: String::new(),
            last: serde_json::Value::Null,
        }
    }

    /// The last view, and those the stream sends, until one satisfies
    /// `what`, within `within`.
    async fn until(&mut self, within: Duration, what: impl Fn(&serde_json::Value) -> bool) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if what(&self.last) {
                return;
            }
            while let Some(end) = self.text.find("\n\n") {
                let event: String = self.text.drain(..end + 2).collect();
                let data = event.lines().find_map(|l| l.strip_prefix("data:"));
                let Some(data) = data.map(|d| d.strip_prefix(' ').unwrap_or(d)) else {
                    continue;
                };
                self.last = serde_json::from_str(data).expect("a view as JSON");
                if what(&self.last) {
                    return;
                }
            }
            let frame =
                tokio::time::timeout_at(deadline, http_body_util::BodyExt::frame(&mut self.body))
                    .await
                    .unwrap_or_else(|_| {
                        panic!("no such view within {within:?}; the last:\n{:#}", self.last)
                    })
                    .expect("the stream goes on")
                    .expect("a frame");
            if let Ok(data) = frame.into_data() {
                self.text.push_str(&String::from_utf8_lossy(&data));
            }
        }
    }
}

/// The state a view (as JSON) gives `server`.
fn server_state<'a>(view: &'a serde_json::Value, server: &str) -> &'a str {
    view["servers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["server"] == server)
        .and_then(|s| s["state"].as_str())
        .unwrap_or("")
}

fn all_running_json(view: &serde_json::Value) -> bool {
    view["servers"]
        .as_array()
        .is_some_and(|s| !s.is_empty() && s.iter().all(|s| s["state"] == "running"))
}
