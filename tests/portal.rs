//! The classroom portal (`infractl serve`) as its people and strangers
//! meet it, on one class of two learners (`it-portal`: ann and ben, each a
//! task1 lab) brought up once for every step.
//!
//! Strangers, over plain HTTP: every route of a lab and of the class,
//! asked with no cookie, a cookie nobody was given, and another person's
//! (ben's on ann's lab, a learner's on the class), answers 404 and changes
//! nothing; the right people get their pages. The link is exchanged for
//! an HttpOnly, SameSite=Strict cookie; the audit log is private and
//! holds no token; the 21st wrong link from an address within a minute is
//! refused (429), while good cookies from that address still pass.
//!
//! People, in headless Chromium over WebDriver (`browser`): ann opens
//! her link, sees her lab's diagram and servers, stops server-01 and sees
//! it stopped within a second of the action returning, as the instructor
//! does on the class's grid at the same time; the site still answers,
//! from server-02 alone; she starts it again. Ben sees his lab and
//! nothing of ann's. Screenshots of the three pages are kept under
//! `target/portal-screens/`.

use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use fantoccini::{Client, Locator};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::browser::{self, until, Browser};
use crate::harness::{docker, Test};
use crate::up::lab_alone;

const CLASS: &str = "it-portal";
const ANN: &str = "it-portal-ann";
const BEN: &str = "it-portal-ben";
/// The server ann stops and starts, as a container.
const SERVER: &str = "it-portal-ann-server-01";

/// Takes the class down when the test ends, passed or failed.
struct ClassDown<'a>(&'a Test);

impl Drop for ClassDown<'_> {
    fn drop(&mut self) {
        let _ = self
            .0
            .run_args(&["--quiet", "class", "down", "it-portal.yaml"]);
    }
}

/// `infractl serve` on a loopback port it chose itself, with `env` (an
/// SSH engine's agent), killed when dropped; what it said is shown if
/// the test failed.
pub(crate) struct Serve {
    pub(crate) child: Child,
    pub(crate) base: String,
    said: Arc<Mutex<String>>,
}

impl Serve {
    pub(crate) fn start(t: &Test, env: &[(&str, &str)]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_infractl"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .envs(env.iter().copied())
            .env("INFRACTL_STATE_DIR", t.state_dir())
            .current_dir(t.dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run infractl serve");
        let mut lines = BufReader::new(child.stderr.take().expect("piped"));
        let said = Arc::new(Mutex::new(String::new()));
        let mut base = None;
        let mut line = String::new();
        while base.is_none() && lines.read_line(&mut line).unwrap_or(0) > 0 {
            // "serving 2 labs (1 class) on http://127.0.0.1:PORT/ (audit log: …)"
            base = line
                .split_once(" on http://")
                .and_then(|(_, rest)| rest.split_once("/ "))
                .map(|(addr, _)| format!("http://{addr}"));
            said.lock().expect("said").push_str(&line);
            line.clear();
        }
        let keep = said.clone();
        std::thread::spawn(move || {
            for line in lines.lines().map_while(Result::ok) {
                keep.lock().expect("said").push_str(&(line + "\n"));
            }
        });
        let Some(base) = base else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "serve did not say where it listens:\n{}",
                said.lock().expect("said")
            );
        };
        Serve { child, base, said }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("infractl serve said:\n{}", self.said.lock().expect("said"));
        }
    }
}

/// A personal link, and the token it carries (the cookie's value).
struct Link {
    url: String,
    token: String,
}

struct People {
    ann: Link,
    ben: Link,
    instructor: Link,
}

/// The class's links as `class links --json` prints them.
fn people(t: &Test, base: &str) -> People {
    let out = t
        .run_args(&["class", "links", "it-portal.yaml", "--json", "--url", base])
        .code(0);
    let all: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).expect("links JSON");
    let link = |who: &str, role: &str, lab: Option<&str>| {
        let l = all
            .iter()
            .find(|l| l["who"] == who)
            .unwrap_or_else(|| panic!("no link for {who}:\n{}", out.stdout));
        assert_eq!(l["role"], role, "{l}");
        assert_eq!(l["lab"].as_str(), lab, "{l}");
        let url = l["url"].as_str().expect("url").to_string();
        let token = url
            .strip_prefix(&format!("{base}/join/"))
            .unwrap_or_else(|| panic!("a link not to {base}/join/: {url}"))
            .to_string();
        Link { url, token }
    };
    People {
        ann: link("ann", "learner", Some(ANN)),
        ben: link("ben", "learner", Some(BEN)),
        instructor: link("instructor", "instructor", None),
    }
}

/// Plain HTTP to the portal, from a chosen loopback address.
struct Http {
    client: hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>,
    base: String,
}

/// An answer: its status, headers and (but for an event stream) body.
struct Reply {
    status: u16,
    headers: hyper::HeaderMap,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

impl Http {
    fn new(base: &str, from: IpAddr) -> Http {
        let mut connector = HttpConnector::new();
        connector.set_local_address(Some(from));
        Http {
            client: hyper_util::client::legacy::Client::builder(
                hyper_util::rt::TokioExecutor::new(),
            )
            .build(connector),
            base: base.to_string(),
        }
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        self.send(&Route::get(path), cookie).await
    }

    async fn send(&self, route: &Route, cookie: Option<&str>) -> Reply {
        let mut request = hyper::Request::builder()
            .method(route.method)
            .uri(format!("{}{}", self.base, route.path));
        if let Some(c) = cookie {
            request = request.header("cookie", format!("infractl_portal={c}"));
        }
        if route.websocket {
            request = request
                .header("connection", "upgrade")
                .header("upgrade", "websocket")
                .header("sec-websocket-version", "13")
                .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
        }
        let request = request.body(Full::new(Bytes::new())).expect("a request");
        let answer = tokio::time::timeout(Duration::from_secs(60), self.client.request(request))
            .await
            .unwrap_or_else(|_| panic!("{} {}: no answer in 60 s", route.method, route.path))
            .unwrap_or_else(|e| panic!("{} {}: {e}", route.method, route.path));
        let (parts, body) = answer.into_parts();
        let stream = parts
            .headers
            .get("content-type")
            .is_some_and(|c| c.as_bytes().starts_with(b"text/event-stream"));
        let body = if stream {
            String::new()
        } else {
            let bytes = tokio::time::timeout(Duration::from_secs(30), body.collect())
                .await
                .expect("a body within 30 s")
                .expect("a body")
                .to_bytes();
            String::from_utf8_lossy(&bytes).into_owned()
        };
        Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    }
}

/// One route of the portal, as a stranger would ask it.
struct Route {
    method: &'static str,
    path: String,
    websocket: bool,
}

impl Route {
    fn get(path: &str) -> Route {
        Route {
            method: "GET",
            path: path.to_string(),
            websocket: false,
        }
    }
    fn post(path: &str) -> Route {
        Route {
            method: "POST",
            ..Route::get(path)
        }
    }
}

/// Every route of a lab (ann's) and of the class. The terminal's are
/// asked too before `term.rs` serves them: they must answer strangers 404
/// from the first day they exist.
fn lab_routes() -> Vec<Route> {
    let lab = format!("/lab/{ANN}");
    let mut routes: Vec<Route> = [
        "",
        "/diagram.svg",
        "/events",
        "/explain",
        "/site",
        "/site/",
        "/site/api/info",
        "/terms",
    ]
    .iter()
    .map(|p| Route::get(&format!("{lab}{p}")))
    .collect();
    routes.push(Route::post(&format!("{lab}/verify")));
    routes.push(Route::post(&format!("{lab}/reset")));
    for action in ["stop", "start", "kill"] {
        routes.push(Route::post(&format!("{lab}/servers/server-01/{action}")));
    }
    routes.push(Route {
        websocket: true,
        ..Route::get(&format!("{lab}/term/server-01"))
    });
    routes
}

fn class_routes() -> Vec<Route> {
    let class = format!("/class/{CLASS}");
    let mut routes: Vec<Route> = [
        "",
        "/events",
        "/scores",
        "/report/index.html",
        "/report/report.csv",
        "/report/report.json",
    ]
    .iter()
    .map(|p| Route::get(&format!("{class}{p}")))
    .collect();
    routes.push(Route::post(&format!("{class}/verify")));
    routes
}

/// When server-01 was last started, and whether it runs.
fn server_01() -> String {
    docker(&[
        "inspect",
        "-f",
        "{{.State.Running}} {{.State.StartedAt}}",
        SERVER,
    ])
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn the_portal_to_its_people_in_chromium_and_to_strangers_over_http() {
    let _lab = lab_alone();
    let whole = Instant::now();
    let t = Test::new();
    t.file("it-portal.yaml", "stack: task1\nstudents: [ann, ben]\n");
    let _down = ClassDown(&t);
    let step = Instant::now();
    t.run_args(&["--quiet", "class", "up", "it-portal.yaml"])
        .code(0);
    eprintln!("portal: class up of two task1 labs: {:.1?}", step.elapsed());
    let serve = Serve::start(&t, &[]);
    let people = people(&t, &serve.base);
    let browser = Browser::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(scenario(&t, &serve.base, &people, &browser));
    drop(browser);
    drop(serve);
    eprintln!(
        "portal: the whole test but the class's down: {:.1?}",
        whole.elapsed()
    );
}

async fn scenario(t: &Test, base: &str, people: &People, browser: &Browser) {
    let http = Http::new(base, IpAddr::from([127, 0, 0, 1]));
    let start = Instant::now();
    while http.get("/", None).await.status != 200 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "serve does not answer"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let step = Instant::now();
    joins(&http, people).await;
    // From an address of their own: the browsers' is never held back.
    strangers(&Http::new(base, IpAddr::from([127, 0, 0, 2])), people).await;
    the_right_people(&http, people).await;
    the_operator(t, &http, people).await;
    eprintln!("portal: HTTP checks: {:.1?}", step.elapsed());
    let step = Instant::now();
    in_chromium(base, people, browser).await;
    eprintln!("portal: in Chromium: {:.1?}", step.elapsed());
    audit_log(t, people);
    // Last: it blocks an address (another one than the browser's).
    wrong_links_are_limited(base, people).await;
    links_expire(t, base, people).await;
}

/// `class links --valid-for` ends every link of the class at a time,
/// `never` takes the end away, and a duration that is none changes
/// nothing.
async fn links_expire(t: &Test, base: &str, people: &People) {
    let http = Http::new(base, IpAddr::from([127, 0, 0, 5]));
    let page = format!("/lab/{ANN}");
    let ann = Some(people.ann.token.as_str());
    t.run_args(&["class", "links", "it-portal.yaml", "--valid-for", "2w"])
        .code(2)
        .stderr_has("--valid-for: `w` in `2w` is not a unit");
    assert_eq!(
        http.get(&page, ann).await.status,
        200,
        "a wrong duration ends nothing"
    );
    t.run_args(&["class", "links", "it-portal.yaml", "--valid-for", "1s"])
        .code(0);
    let start = Instant::now();
    while http.get(&page, ann).await.status != 404 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "ann's link never ended"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = http.get(&format!("/join/{}", people.ben.token), None).await;
    assert_eq!(r.status, 404, "ben's link ended too");
    t.run_args(&["class", "links", "it-portal.yaml", "--valid-for", "never"])
        .code(0);
    assert_eq!(http.get(&page, ann).await.status, 200, "no end any more");
}

/// A link sets the cookie, HttpOnly and SameSite=Strict, and moves on to
/// its holder's page.
async fn joins(http: &Http, people: &People) {
    for (link, home) in [
        (&people.ann, format!("/lab/{ANN}")),
        (&people.instructor, format!("/class/{CLASS}")),
    ] {
        let r = http.get(&format!("/join/{}", link.token), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let cookie = r.header("set-cookie");
        let attrs: Vec<&str> = cookie.split(';').map(str::trim).collect();
        assert_eq!(attrs[0], format!("infractl_portal={}", link.token));
        for want in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(attrs.contains(&want), "{want} missing: {cookie}");
        }
        assert!(
            r.body.contains(&format!("url={home}\"")),
            "the join page does not move on to {home}:\n{}",
            r.body
        );
    }
}

/// Every route, asked by no one, by a cookie nobody was given, and by
/// someone else: 404 (429 for a wrong cookie once the address has used
/// its tries), with nothing of the lab in it, and nothing done.
async fn strangers(http: &Http, people: &People) {
    let before = server_01();
    assert!(before.starts_with("true "), "server-01: {before}");
    let wrong = hex::encode(rand::random::<[u8; 32]>());
    let mut seen = Vec::new();
    let mut asks: Vec<(Route, &str, Option<&str>)> = Vec::new();
    for route in lab_routes() {
        asks.push((route, "ben's cookie", Some(people.ben.token.as_str())));
    }
    for route in class_routes() {
        asks.push((route, "ann's cookie", Some(people.ann.token.as_str())));
    }
    for route in lab_routes().into_iter().chain(class_routes()) {
        asks.push((route, "no cookie", None));
    }
    // Last: past 20 a minute, the address is refused anything but a good
    // cookie.
    for route in lab_routes().into_iter().chain(class_routes()) {
        asks.push((route, "a wrong cookie", Some(wrong.as_str())));
    }
    for (route, who, cookie) in &asks {
        let r = http.send(route, *cookie).await;
        // The wrong cookies count towards the address's limit.
        let allowed: &[u16] = if *who == "a wrong cookie" {
            &[404, 429]
        } else {
            &[404]
        };
        if !allowed.contains(&r.status) || r.body.contains(ANN) || r.body.contains("server-01") {
            seen.push(format!(
                "{} {} with {who}: {} {}",
                route.method,
                route.path,
                r.status,
                r.body.chars().take(200).collect::<String>()
            ));
        }
    }
    assert!(
        seen.is_empty(),
        "strangers got through:\n{}",
        seen.join("\n")
    );
    eprintln!("portal: {} stranger requests, none let through", asks.len());
    // Neither stopped, killed, nor stopped and started again.
    assert_eq!(server_01(), before, "a stranger's POST changed server-01");
}

/// Ann reaches her lab, the instructor the class and every lab of it;
/// a lab that is not there and a lab that is not yours look the same.
async fn the_right_people(http: &Http, people: &People) {
    let ann = Some(&*people.ann.token);
    let lab = format!("/lab/{ANN}");
    for (path, kind) in [
        (lab.clone(), "text/html"),
        (format!("{lab}/diagram.svg"), "image/svg+xml"),
        (format!("{lab}/explain"), "text/plain"),
        (format!("{lab}/events"), "text/event-stream"),
        (format!("{lab}/site/"), "text/html"),
    ] {
        let r = http.get(&path, ann).await;
        assert_eq!(r.status, 200, "ann on {path}: {}", r.body);
        assert!(
            r.header("content-type").starts_with(kind),
            "{path}: {:?}",
            r.headers
        );
    }
    let page = http.get(&lab, ann).await.body;
    assert!(
        page.contains(&format!("<b>{ANN}</b>")) && !page.contains(BEN),
        "{page}"
    );
    let r = http.get(&format!("{lab}/site"), ann).await;
    assert_eq!(
        (r.status / 100, r.header("location")),
        (3, &*format!("{lab}/site/"))
    );

    let teacher = Some(&*people.instructor.token);
    let class = http.get(&format!("/class/{CLASS}"), teacher).await;
    assert_eq!(class.status, 200, "{}", class.body);
    assert!(
        class.body.contains(ANN) && class.body.contains(BEN),
        "{}",
        class.body
    );
    let events = http.get(&format!("/class/{CLASS}/events"), teacher).await;
    assert_eq!(events.status, 200);
    let scores = http.get(&format!("/class/{CLASS}/scores"), teacher).await;
    assert_eq!(scores.status, 200, "{}", scores.body);
    for lab in [ANN, BEN] {
        assert_eq!(
            http.get(&format!("/lab/{lab}"), teacher).await.status,
            200,
            "{lab}"
        );
    }

    let not_yours = http.get(&format!("/lab/{BEN}"), ann).await;
    let not_there = http.get("/lab/it-portal-nobody", ann).await;
    assert_eq!((not_yours.status, not_there.status), (404, 404));
    assert_eq!(not_yours.body, not_there.body);
}

/// The machine's operator: `serve` wrote their link to a private file
/// (and printed its path, not the token); it opens an index of every
/// lab and class, and any of them. A learner's cookie gets no index.
/// The class's labs publish nothing on the engine's host: the site that
/// answered through the portal came through the engine.
async fn the_operator(t: &Test, http: &Http, people: &People) {
    use std::os::unix::fs::PermissionsExt;
    let path = t.state_dir().join(".portal/operator-link");
    let mode = std::fs::metadata(&path)
        .expect("the operator's link")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    let link = std::fs::read_to_string(&path).expect("read");
    let token = link
        .trim()
        .rsplit_once("/join/")
        .map(|(_, t)| t.to_string())
        .unwrap_or_else(|| panic!("not a link: {link}"));
    assert_eq!(http.get(&format!("/join/{token}"), None).await.status, 200);
    let index = http.get("/", Some(&token)).await;
    assert_eq!(index.status, 200, "{}", index.body);
    for name in [ANN, BEN, CLASS] {
        assert!(
            index.body.contains(&format!(
                "href=\"/{}/{name}\"",
                if name == CLASS { "class" } else { "lab" }
            )),
            "{name} not on the index:\n{}",
            index.body
        );
    }
    let page = http.get(&format!("/lab/{BEN}"), Some(&token)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("viewed by this machine's operator"),
        "{}",
        page.body
    );
    assert_eq!(
        http.get(&format!("/class/{CLASS}"), Some(&token))
            .await
            .status,
        200
    );
    let site = http.get(&format!("/lab/{BEN}/site/"), Some(&token)).await;
    assert_eq!(site.status, 200, "{}", site.body);
    // A learner's `/` is her lab, never the index.
    let home = http.get("/", Some(&people.ann.token)).await;
    assert_eq!(
        (home.status / 100, home.header("location")),
        (3, &*format!("/lab/{ANN}"))
    );
    // Nothing of a class's lab is published on the engine's host.
    let status = t
        .run_args(&["class", "status", "it-portal.yaml", "--json"])
        .code(0);
    let labs: Vec<serde_json::Value> = serde_json::from_str(&status.stdout).expect("status JSON");
    assert!(labs.iter().all(|l| l["url"].is_null()), "{labs:?}");
    for lab in [ANN, BEN] {
        let ports = docker(&["port", &format!("{lab}-_publish")]);
        assert_eq!(ports.trim(), "", "{lab}'s forwarder publishes {ports}");
    }
}

/// The audit log: private, a JSON object a line, ann's actions in it,
/// and no token anywhere.
fn audit_log(t: &Test, people: &People) {
    use std::os::unix::fs::PermissionsExt;
    let path = t.state_dir().join(".portal/audit.jsonl");
    let mode = std::fs::metadata(&path)
        .expect("the audit log")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    let text = std::fs::read_to_string(&path).expect("the audit log");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for action in ["join", "stop", "start"] {
        assert!(
            lines.iter().any(|l| l["who"] == "ann"
                && l["action"] == action
                && l["lab"] == ANN
                && l["ok"] == true
                && (action == "join" || l["server"] == "server-01")),
            "no {action} of ann's in the audit log:\n{text}"
        );
    }
    for link in [&people.ann, &people.ben, &people.instructor] {
        assert!(
            !text.contains(&link.token),
            "a token in the audit log:\n{text}"
        );
    }
}

/// Twenty wrong links a minute from one address are answered 404, the
/// 21st 429; good cookies and links still pass from there, and other
/// addresses are not held back.
async fn wrong_links_are_limited(base: &str, people: &People) {
    let from = Http::new(base, IpAddr::from([127, 0, 0, 3]));
    for i in 1..=21 {
        let wrong = hex::encode(rand::random::<[u8; 32]>());
        let r = from.get(&format!("/join/{wrong}"), None).await;
        let want = if i <= 20 { 404 } else { 429 };
        assert_eq!(r.status, want, "wrong link {i}: {}", r.body);
        if i == 21 {
            assert_eq!(r.header("retry-after"), "60");
        }
    }
    let wrong = hex::encode(rand::random::<[u8; 32]>());
    let lab = format!("/lab/{ANN}");
    assert_eq!(from.get(&lab, Some(&wrong)).await.status, 429);
    assert_eq!(from.get(&lab, Some(&people.ann.token)).await.status, 200);
    let join = from.get(&format!("/join/{}", people.ben.token), None).await;
    assert_eq!(join.status, 200, "{}", join.body);
    let other = Http::new(base, IpAddr::from([127, 0, 0, 4]));
    assert_eq!(other.get(&format!("/join/{wrong}"), None).await.status, 404);
}

/// server-01's row of ann's servers' table.
const ROW: &str = r#"#servers tr[data-server="server-01"]"#;

/// In a lab's page: the table's five servers all say `running`.
const ALL_RUNNING: &str = "const rows = Array.from(document.querySelectorAll('#servers tbody tr'));
    return rows.length === 5 && rows.every((r) => r.dataset.state === 'running');";

/// In ann's page: server-01's row and diagram box say `state`.
fn shown_as(state: &str) -> String {
    format!(
        r#"const row = document.querySelector('{ROW}');
        const box = document.querySelector('#diagram rect.box[data-id="server-01"]');
        return row.dataset.state === '{state}' && row.querySelector('.state').textContent === '{state}'
            && box.classList.contains('st-{state}');"#
    )
}

/// In the instructor's grid: ann's lab's "servers down" cell is `down`.
fn grid_down(down: &str) -> String {
    format!(
        r#"const tr = document.querySelector('#grid tr[data-lab="{ANN}"]');
        return tr.querySelector('td.down').textContent === '{down}';"#
    )
}

/// Opens `link` in `client` and waits until it has led to `path`.
async fn open_link(client: &Client, link: &Link, path: &str) {
    client.goto(&link.url).await.expect("open the link");
    let arrived = until(
        client,
        &format!("return location.pathname === '{path}';"),
        Duration::from_secs(10),
    )
    .await;
    let now = client.current_url().await.map(|u| u.to_string());
    assert!(arrived.is_some(), "the link led to {now:?}, not {path}");
}

async fn in_chromium(base: &str, people: &People, browser: &Browser) {
    let ann = browser.session().await;
    let teacher = browser.session().await;
    ann_opens_her_lab(&ann, &people.ann).await;
    ann_types_in_a_terminal(&ann).await;
    open_link(&teacher, &people.instructor, &format!("/class/{CLASS}")).await;
    the_instructor_joins_anns_terminal(&ann, &teacher).await;
    teacher
        .goto(&format!("{base}/class/{CLASS}"))
        .await
        .expect("back to the grid");
    let up = format!(
        "{} && document.querySelector('#grid tr[data-lab=\"{ANN}\"] td.state').textContent === 'up';",
        grid_down("").trim_end_matches(';')
    );
    until(&teacher, &up, Duration::from_secs(30))
        .await
        .expect("the grid shows ann's lab up");

    stop_is_seen(&ann, &teacher).await;
    the_site_still_answers(&ann).await;
    for (client, name) in [
        (&ann, "ann-server-01-stopped"),
        (&teacher, "instructor-grid"),
    ] {
        let path = browser::screenshot(client, name).await;
        eprintln!("portal: screenshot {}", path.display());
    }
    start_again(&ann, &teacher).await;
    ben_sees_his_lab_only(browser, base, &people.ben).await;
    ann.close().await.expect("close ann's browser");
    teacher
        .close()
        .await
        .expect("close the instructor's browser");
}

/// Ann's link: her lab's page, its diagram, its servers all running.
async fn ann_opens_her_lab(ann: &Client, link: &Link) {
    open_link(ann, link, &format!("/lab/{ANN}")).await;
    assert_eq!(
        ann.title().await.expect("title"),
        format!("{ANN} · infractl")
    );
    assert_eq!(browser::text(ann, "header .where b").await, ANN);
    ann.find(Locator::Css(
        r#"#diagram svg rect.box[data-id="server-01"]"#,
    ))
    .await
    .expect("server-01's box in the diagram");
    let cookie = ann
        .get_named_cookie("infractl_portal")
        .await
        .expect("the portal's cookie");
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(format!("{:?}", cookie.same_site()), "Some(Strict)");
    if until(ann, ALL_RUNNING, Duration::from_secs(30))
        .await
        .is_none()
    {
        panic!(
            "ann's table does not show her five servers running: {}",
            table(ann).await
        );
    }
    until(ann, &shown_as("running"), Duration::ZERO)
        .await
        .expect("server-01 running in the table and the diagram");
}

/// Whether the newest terminal of the page shows a line that is `line`
/// alone (not a prompt that has it in it).
fn terminal_line(line: &str) -> String {
    format!(
        "return Array.from(document.querySelectorAll('#terms .term:last-child .xterm-rows > div'))
            .some((d) => d.textContent.trim() === '{line}');"
    )
}

/// Types `keys` and Enter into the newest terminal of the page.
async fn type_line(client: &Client, keys: &str) {
    client
        .find(Locator::Css(
            "#terms .term:last-child textarea.xterm-helper-textarea",
        ))
        .await
        .expect("the terminal's input")
        .send_keys(&format!("{keys}\u{E007}"))
        .await
        .expect("type into the terminal");
}

/// Ann opens a terminal on server-01 with its button, types `hostname`
/// and reads `server-01` back.
async fn ann_types_in_a_terminal(ann: &Client) {
    ann.find(Locator::Css(&format!(
        "{ROW} button[data-act=\"terminal\"]"
    )))
    .await
    .expect("server-01's terminal button")
    .click()
    .await
    .expect("click");
    let opened = "return !!document.querySelector('#term-tabs button[data-session]');";
    until(ann, opened, Duration::from_secs(20))
        .await
        .expect("a terminal session opens");
    type_line(ann, "hostname").await;
    if until(ann, &terminal_line("server-01"), Duration::from_secs(10))
        .await
        .is_none()
    {
        browser::screenshot(ann, "failed-terminal").await;
        panic!("`hostname` in server-01's terminal did not print server-01");
    }
}

/// The instructor, on ann's page, joins her open terminal: sees what it
/// showed, and what each types shows on both.
async fn the_instructor_joins_anns_terminal(ann: &Client, teacher: &Client) {
    teacher
        .find(Locator::Css(&format!(
            "#grid tr[data-lab=\"{ANN}\"] a.button"
        )))
        .await
        .expect("the grid's link to ann's page")
        .click()
        .await
        .expect("open ann's page");
    let join = "#term-joins button[data-session]";
    let listed = format!("return !!document.querySelector('{join}');");
    until(teacher, &listed, Duration::from_secs(10))
        .await
        .expect("ann's open terminal is listed to join");
    teacher
        .find(Locator::Css(join))
        .await
        .expect("the join button")
        .click()
        .await
        .expect("join");
    until(
        teacher,
        &terminal_line("server-01"),
        Duration::from_secs(10),
    )
    .await
    .expect("the joined terminal shows what ann's showed");
    type_line(teacher, "echo help-from-the-instructor").await;
    until(
        ann,
        &terminal_line("help-from-the-instructor"),
        Duration::from_secs(10),
    )
    .await
    .expect("what the instructor typed shows in ann's terminal");
    until(
        teacher,
        &terminal_line("help-from-the-instructor"),
        Duration::from_secs(10),
    )
    .await
    .expect("and in the instructor's");
    browser::screenshot(teacher, "instructor-joined-terminal").await;
}

/// What a lab page's table and banner say, for a failure's message.
async fn table(client: &Client) -> String {
    let shown = client
        .execute(
            "return Array.from(document.querySelectorAll('#servers tbody tr'))
                .map((r) => r.dataset.server + ': ' + r.querySelector('.state').textContent
                    + ' (' + r.querySelector('.services').textContent + ')')
                .concat(['banner: ' + document.getElementById('banner').textContent,
                    'connection: ' + document.getElementById('conn').textContent]);",
            vec![],
        )
        .await
        .map_or_else(|e| e.to_string(), |v| v.to_string());
    browser::screenshot(client, "failed").await;
    shown
}

/// Ann stops server-01: within a second of the action returning, her
/// table and diagram and the instructor's grid say so. Each page notes
/// the moment itself, so the measure does not depend on how often the
/// test asks.
async fn stop_is_seen(ann: &Client, teacher: &Client) {
    browser::mark(ann, "stopped", &shown_as("stopped")).await;
    browser::mark(teacher, "down", &grid_down("server-01")).await;
    let stop = format!("{ROW} button[data-act=\"stop\"]");
    let words = browser::click_and_confirm(ann, &stop).await;
    assert_eq!(words, "Stop server-01 cleanly?");
    // Answered: the page's request has ended (its button is then
    // disabled, for a stopped server cannot be stopped).
    let returned = "return performance.getEntriesByType('resource')
        .some((e) => e.name.endsWith('/servers/server-01/stop') && e.responseEnd > 0);";
    let took = until(ann, returned, Duration::from_secs(60))
        .await
        .expect("the stop returns within a minute");
    let returned = browser::answered(ann, "/servers/server-01/stop")
        .await
        .expect("the page's stop request");
    let limit = Duration::from_secs(10);
    let mine = browser::marked(ann, "stopped", limit)
        .await
        .map(|t| t - returned);
    let theirs = browser::marked(teacher, "down", limit)
        .await
        .map(|t| t - returned);
    let ms = |d: Option<f64>| d.map_or("never".into(), |d| format!("{d:.0} ms"));
    eprintln!(
        "portal: stop of server-01 returned in about {took:.1?}; seen stopped {} after by ann, {} by the instructor",
        ms(mine),
        ms(theirs)
    );
    assert!(
        mine.is_some_and(|ms| ms <= 1000.0),
        "ann's page: {mine:?} ms"
    );
    assert!(
        theirs.is_some_and(|ms| ms <= 1000.0),
        "the instructor's grid: {theirs:?} ms"
    );
    assert!(server_01().starts_with("false "), "{}", server_01());
}

/// The site's tab sends ten requests: every one answered, by server-02.
async fn the_site_still_answers(ann: &Client) {
    for css in [r#"#tabs button[data-tab="site"]"#, "#site-load"] {
        ann.find(Locator::Css(css))
            .await
            .expect(css)
            .click()
            .await
            .expect("click");
    }
    let ten = "return document.querySelectorAll('#served li').length === 10;";
    until(ann, ten, Duration::from_secs(30))
        .await
        .expect("ten answers listed");
    let answers = ann
        .execute(
            "return Array.from(document.querySelectorAll('#served li')).map((li) => li.textContent);",
            vec![],
        )
        .await
        .expect("the answers");
    let answers: Vec<String> = serde_json::from_value(answers).expect("texts");
    for a in &answers {
        assert!(
            a.starts_with("200 · ") && a.contains("web server-02") && !a.contains("server-01"),
            "an answer not from server-02 alone: {a}\n{answers:#?}"
        );
    }
}

/// Ann starts server-01 again: it runs, and the grid has nothing down.
async fn start_again(ann: &Client, teacher: &Client) {
    let start = format!("{ROW} button[data-act=\"start\"]");
    assert_eq!(
        browser::click_and_confirm(ann, &start).await,
        "Start server-01?"
    );
    until(ann, &shown_as("running"), Duration::from_secs(60))
        .await
        .expect("server-01 running again in ann's page");
    until(teacher, &grid_down(""), Duration::from_secs(10))
        .await
        .expect("nothing down in the grid");
    assert!(server_01().starts_with("true "), "{}", server_01());
}

/// Ben's link: his lab, nothing of ann's; ann's lab is Not found to him.
async fn ben_sees_his_lab_only(browser: &Browser, base: &str, link: &Link) {
    let ben = browser.session().await;
    open_link(&ben, link, &format!("/lab/{BEN}")).await;
    assert_eq!(browser::text(&ben, "header .where b").await, BEN);
    until(&ben, ALL_RUNNING, Duration::from_secs(30))
        .await
        .expect("ben's servers running");
    let source = ben.source().await.expect("ben's page");
    assert!(!source.contains(ANN), "ann's lab in ben's page");
    browser::screenshot(&ben, "ben-lab").await;
    ben.goto(&format!("{base}/lab/{ANN}"))
        .await
        .expect("ann's lab");
    assert_eq!(ben.title().await.expect("title"), "Not found · infractl");
    assert_eq!(browser::text(&ben, "h1").await, "Not found");
    assert!(!ben.source().await.expect("page").contains("server-01"));
    browser::screenshot(&ben, "ben-on-anns-lab").await;
    ben.close().await.expect("close ben's browser");
}
