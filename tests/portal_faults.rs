//! The classroom portal (`infractl serve`) when things fail under it, on
//! a class of one learner (`it-pf`: pf, a task0 lab), in headless
//! Chromium (`browser`); and the alerts firing in a lab that monitors
//! itself (`it-pfmon`: pf, a task2 lab).
//!
//! A terminal is open on server-01 when its container is killed (`docker
//! kill`): the terminal ends with the line saying why, and the page shows
//! the server stopped. The lab is taken down from the command line while
//! its page is open: the page says the lab is down, and the instructor's
//! grid does; the class is brought up again: the page, never reloaded,
//! shows every server running and the banner gone. Each page notes when
//! it showed the change, measured from the command's return.
//!
//! server-02 of the task2 lab stopped from the learner's page: its
//! `TargetDown` in the grid's alerts column and in the page's header
//! within the bound `verify` holds alerts to, gone once it is started
//! again; the application stopped on server-01: the Monitoring tab shows
//! its answers as errors, server-02's not; the monitoring server stopped:
//! both say no alert is seen.
//!
//! The helpers at the end (`ClassEvents`, `OnClass`) serve the
//! three-engine test (`engines`): the portal on its state, and the class's
//! event stream read as the instructor's grid reads it.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use fantoccini::{Client, Locator};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::browser::{self, until, Browser};
use crate::harness::{docker, Test};
use crate::portal::Serve;
use crate::up::lab_alone;

const CLASS: &str = "it-pf";
const LAB: &str = "it-pf-pf";
/// The server whose container is killed under its terminal.
const SERVER: &str = "it-pf-pf-server-01";

/// Takes the class down when the test ends, passed or failed.
struct ClassDown<'a>(&'a Test);

impl Drop for ClassDown<'_> {
    fn drop(&mut self) {
        let _ = self.0.run_args(&["--quiet", "class", "down", "it-pf.yaml"]);
    }
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn a_lab_killed_taken_down_and_brought_up_under_its_open_page() {
    let _lab = lab_alone();
    let t = Test::new();
    t.file("it-pf.yaml", "stack: task0\nstudents: [pf]\n");
    let _down = ClassDown(&t);
    let step = Instant::now();
    t.run_args(&["--quiet", "class", "up", "it-pf.yaml"])
        .code(0);
    eprintln!(
        "portal faults: class up of one task0 lab: {:.1?}",
        step.elapsed()
    );
    let serve = Serve::start(&t, &[]);
    let links = links(&t, "it-pf.yaml", &serve.base, &[]);
    let browser = Browser::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let learner = browser.session().await;
        let teacher = browser.session().await;
        open_link(&learner, &links["pf"], &format!("/lab/{LAB}")).await;
        open_link(&teacher, &links["instructor"], &format!("/class/{CLASS}")).await;
        until(&learner, &all_running(3), Duration::from_secs(30))
            .await
            .expect("the page shows the lab's three servers running");
        until(&teacher, &grid_state("up"), Duration::from_secs(30))
            .await
            .expect("the grid shows the lab up");
        assert_eq!(
            browser::text(
                &teacher,
                &format!(r#"#grid tr[data-lab="{LAB}"] td.alerts"#)
            )
            .await,
            "no monitoring",
            "task0 has no monitoring server"
        );
        // Set once: still there at the end if the page was never loaded
        // again.
        learner
            .execute("window.neverReloaded = true;", vec![])
            .await
            .expect("a script in the page");
        a_killed_server_ends_its_terminal(&learner).await;
        the_lab_taken_down(&t, &learner, &teacher).await;
        the_lab_up_again(&t, &learner, &teacher).await;
        learner.close().await.expect("close the learner's browser");
        teacher
            .close()
            .await
            .expect("close the instructor's browser");
    });
    drop(browser);
    drop(serve);
}

/// The alerts' bound: `verify`'s for an alert to fire or resolve (a
/// scrape and an evaluation every 5 s, `TargetDown` held 10 s), and one
/// beat of the watcher's probes (3 s).
const ALERTS_SEEN: Duration = Duration::from_secs(30 + 3);

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn the_grid_and_the_page_show_the_alerts_firing() {
    let _lab = lab_alone();
    let t = Test::new();
    t.file("it-pfmon.yaml", "stack: task2\nstudents: [pf]\n");
    struct Down<'a>(&'a Test);
    impl Drop for Down<'_> {
        fn drop(&mut self) {
            let _ = self
                .0
                .run_args(&["--quiet", "class", "down", "it-pfmon.yaml"]);
        }
    }
    let _down = Down(&t);
    let step = Instant::now();
    t.run_args(&["--quiet", "class", "up", "it-pfmon.yaml"])
        .code(0);
    eprintln!(
        "portal alerts: class up of one task2 lab: {:.1?}",
        step.elapsed()
    );
    let serve = Serve::start(&t, &[]);
    let links = links(&t, "it-pfmon.yaml", &serve.base, &[]);
    let browser = Browser::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let learner = browser.session().await;
        let teacher = browser.session().await;
        let lab = "it-pfmon-pf";
        open_link(&learner, &links["pf"], &format!("/lab/{lab}")).await;
        open_link(&teacher, &links["instructor"], "/class/it-pfmon").await;
        alerts_fire_and_resolve(&learner, &teacher, lab).await;
        a_web_server_s_errors(&t, &learner, lab).await;
        the_monitoring_server_stopped(&learner, &teacher, lab).await;
        learner.close().await.expect("close the learner's browser");
        teacher
            .close()
            .await
            .expect("close the instructor's browser");
    });
    drop(browser);
    drop(serve);
}

/// In the grid: `lab`'s alerts cell says `text`; none (``) only of a lab
/// that is up (a lab down has nothing there either).
fn grid_alerts(lab: &str, text: &str) -> String {
    format!(
        r#"const tr = document.querySelector('#grid tr[data-lab="{lab}"]');
        return tr.querySelector('td.alerts').textContent === {text:?}
            && ({text:?} !== '' || tr.querySelector('td.state').textContent === 'up');"#
    )
}

/// In the learner's page: the header's alerts say `text` (hidden: none).
fn header_alerts(text: &str) -> String {
    format!(
        "const b = document.getElementById('alerts-now');
        return {text:?} === '' ? b.hidden : !b.hidden && b.textContent === {text:?};"
    )
}

/// server-02 stopped from the learner's page: `TargetDown (server-02)`
/// in the grid's alerts cell and the page's header within
/// [`ALERTS_SEEN`]; started again: both clear within it too.
async fn alerts_fire_and_resolve(learner: &Client, teacher: &Client, lab: &str) {
    // A lab just up may still have an alert of its start: none, first.
    until(teacher, &grid_alerts(lab, ""), ALERTS_SEEN)
        .await
        .expect("the grid shows the lab up, no alert firing");
    // The page has the same view over a stream of its own: a moment later.
    until(learner, &header_alerts(""), Duration::from_secs(5))
        .await
        .expect("no alert in the page's header");
    // With the load balancer's `BackendDown (lb-01)` (its own alert: it
    // sees a backend down), in whichever order they fire.
    let fired = "TargetDown (server-02)";
    let in_grid = format!(
        r#"const tr = document.querySelector('#grid tr[data-lab="{lab}"]');
        return tr.querySelector('td.alerts').textContent.split(', ').includes({fired:?});"#
    );
    let in_header = format!(
        "const b = document.getElementById('alerts-now');
        return !b.hidden && b.classList.contains('firing') && b.title.split('\\n').includes({fired:?});"
    );
    browser::mark(teacher, "fired", &in_grid).await;
    browser::mark(learner, "fired", &in_header).await;
    let row = r#"#servers tr[data-server="server-02"]"#;
    let words =
        browser::click_and_confirm(learner, &format!("{row} button[data-act=\"stop\"]")).await;
    assert_eq!(words, "Stop server-02 cleanly?");
    let returned = "return performance.getEntriesByType('resource')
        .some((e) => e.name.endsWith('/servers/server-02/stop') && e.responseEnd > 0);";
    until(learner, returned, Duration::from_secs(60))
        .await
        .expect("the stop returns within a minute");
    let stopped = browser::answered(learner, "/servers/server-02/stop")
        .await
        .expect("the page's stop request");
    let grid = browser::marked(teacher, "fired", ALERTS_SEEN).await;
    let page = browser::marked(learner, "fired", ALERTS_SEEN).await;
    for (client, name) in [
        (teacher, "alerts-grid-firing"),
        (learner, "alerts-lab-firing"),
    ] {
        let path = browser::screenshot(client, name).await;
        eprintln!("portal alerts: screenshot {}", path.display());
    }
    let s = |at: Option<f64>| at.map(|at| (at - stopped) / 1000.0);
    let (grid, page) = (s(grid), s(page));
    eprintln!("portal alerts: {fired} shown {grid:?} s after the stop in the grid, {page:?} s in the page");
    let cell = browser::text(teacher, &format!(r#"#grid tr[data-lab="{lab}"] td.alerts"#)).await;
    eprintln!("portal alerts: the grid's cell: {cell}");
    let within = ALERTS_SEEN.as_secs_f64();
    for (what, s) in [("the grid", grid), ("the page", page)] {
        assert!(s.is_some_and(|s| s <= within), "{what}: {s:?} s");
    }

    browser::mark(teacher, "resolved", &grid_alerts(lab, "")).await;
    browser::mark(learner, "resolved", &header_alerts("")).await;
    browser::click_and_confirm(learner, &format!("{row} button[data-act=\"start\"]")).await;
    let returned = "return performance.getEntriesByType('resource')
        .some((e) => e.name.endsWith('/servers/server-02/start') && e.responseEnd > 0);";
    until(learner, returned, Duration::from_secs(60))
        .await
        .expect("the start returns within a minute");
    let started = browser::answered(learner, "/servers/server-02/start")
        .await
        .expect("the page's start request");
    let grid = browser::marked(teacher, "resolved", ALERTS_SEEN).await;
    let page = browser::marked(learner, "resolved", ALERTS_SEEN).await;
    let s = |at: Option<f64>| at.map(|at| (at - started) / 1000.0);
    let (grid, page) = (s(grid), s(page));
    eprintln!(
        "portal alerts: resolved {grid:?} s after the start in the grid, {page:?} s in the page"
    );
    for (what, s) in [("the grid", grid), ("the page", page)] {
        assert!(s.is_some_and(|s| s <= within), "{what}: {s:?} s");
    }
}

/// The application stopped on server-01 (`svc stop app`), requests sent
/// to its pages: the Monitoring tab shows server-01's answers as errors
/// (nginx's 502, counted by the load balancer) and none of server-02's,
/// within a scrape and the rate's window; the application started again.
async fn a_web_server_s_errors(t: &Test, learner: &Client, lab: &str) {
    // The application on server-01 stopped or started by the lab's helper.
    let app = |verb: &str| {
        t.run_args(&[
            "exec",
            lab,
            "server-01",
            "--",
            "/etc/infractl/svc",
            verb,
            "app",
        ])
        .code(0);
    };
    app("stop");
    learner
        .find(Locator::Css(r#"button[data-tab="monitoring"]"#))
        .await
        .expect("the Monitoring tab")
        .click()
        .await
        .expect("open it");
    // Round robin sends every other request to server-01: 502 there.
    let send =
        "for i in $(seq 40); do curl -sk -o /dev/null -m 5 https://www.foobar.com/api/info; done";
    t.run_args(&["exec", lab, "client", "--", "sh", "-c", send])
        .code(0);
    let shown = r#"const t = document.getElementById('qps-now').textContent;
        const share = (s) => { const m = t.match(new RegExp(s + ' [0-9.]+ req/s, ([0-9.]+) % 5xx')); return m ? +m[1] : null; };
        return share('server-01') > 0 && share('server-02') === 0;"#;
    let seen = until(learner, shown, Duration::from_secs(40)).await;
    let legend = browser::text(learner, "#qps-now").await;
    let path = browser::screenshot(learner, "monitoring-errors").await;
    eprintln!(
        "portal monitoring: {legend:?} after {seen:?}; screenshot {}",
        path.display()
    );
    app("start");
    assert!(
        seen.is_some(),
        "the Monitoring tab never showed server-01's errors alone: {legend}"
    );
}

/// The monitoring server stopped: the grid and the page say no alert is
/// seen, as soon as its host is seen stopped.
async fn the_monitoring_server_stopped(learner: &Client, teacher: &Client, lab: &str) {
    let blind = "admin is not running: no alert is seen";
    let cell = format!(
        r#"const tr = document.querySelector('#grid tr[data-lab="{lab}"]');
        return tr.querySelector('td.alerts').title === {blind:?};"#
    );
    browser::mark(teacher, "blind", &cell).await;
    browser::mark(learner, "blind", &header_alerts(blind)).await;
    docker(&["stop", &format!("{lab}-admin")]);
    let limit = Duration::from_secs(5);
    let grid = browser::marked(teacher, "blind", limit).await;
    let page = browser::marked(learner, "blind", limit).await;
    for (client, name) in [
        (teacher, "alerts-grid-blind"),
        (learner, "alerts-lab-blind"),
    ] {
        browser::screenshot(client, name).await;
    }
    assert!(grid.is_some(), "the grid does not say no alert is seen");
    assert!(page.is_some(), "the page does not say no alert is seen");
}

/// In a lab's page: its `n` servers all `running`, every service running.
pub fn all_running(n: usize) -> String {
    format!(
        "const rows = Array.from(document.querySelectorAll('#servers tbody tr'));
        return rows.length === {n} && rows.every((r) => r.dataset.state === 'running'
            && r.querySelectorAll('.svc').length > 0 && !r.querySelector('.svc.down'));"
    )
}

/// In the instructor's grid: the lab's state cell says `state`.
fn grid_state(state: &str) -> String {
    format!(
        r#"const tr = document.querySelector('#grid tr[data-lab="{LAB}"]');
        return tr.querySelector('td.state').textContent === '{state}';"#
    )
}

/// Milliseconds since the epoch, the clock of the pages' marks.
fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs_f64()
        * 1000.0
}

/// What the learner's page shows, for a failure's message (and a
/// screenshot of it).
pub async fn shown(client: &Client) -> String {
    let text = client
        .execute(
            "return Array.from(document.querySelectorAll('#servers tbody tr'))
                .map((r) => r.dataset.server + ': ' + r.querySelector('.state').textContent
                    + ' (' + r.querySelector('.services').textContent + ')')
                .concat(['banner: ' + (document.getElementById('banner').hidden ? '(hidden) ' : '')
                    + document.getElementById('banner').textContent,
                    'connection: ' + document.getElementById('conn').textContent]);",
            vec![],
        )
        .await
        .map_or_else(|e| e.to_string(), |v| v.to_string());
    browser::screenshot(client, "failed-faults").await;
    text
}

/// A terminal on server-01, then its container killed: the terminal's
/// last line says the shell ended and why, and the page shows server-01
/// stopped.
async fn a_killed_server_ends_its_terminal(learner: &Client) {
    let row = r#"#servers tr[data-server="server-01"]"#;
    learner
        .find(Locator::Css(&format!(
            "{row} button[data-act=\"terminal\"]"
        )))
        .await
        .expect("server-01's terminal button")
        .click()
        .await
        .expect("click");
    let opened = "return !!document.querySelector('#term-tabs button[data-session]');";
    until(learner, opened, Duration::from_secs(20))
        .await
        .expect("a terminal session opens");
    learner
        .find(Locator::Css(
            "#terms .term:last-child textarea.xterm-helper-textarea",
        ))
        .await
        .expect("the terminal's input")
        .send_keys("hostname\u{E007}")
        .await
        .expect("type into the terminal");
    until(
        learner,
        &terminal_line("server-01"),
        Duration::from_secs(10),
    )
    .await
    .expect("`hostname` prints server-01: the shell is there");
    docker(&["kill", SERVER]);
    let killed = Instant::now();
    let ended = "[the shell on server-01 ended: server-01 stopped]";
    let took = until(learner, &terminal_line(ended), Duration::from_secs(15)).await;
    let lines = learner
        .execute(
            "return Array.from(document.querySelectorAll('#terms .term:last-child .xterm-rows > div'))
                .map((d) => d.textContent.trim()).filter((l) => l);",
            vec![],
        )
        .await
        .expect("the terminal's lines");
    let path = browser::screenshot(learner, "faults-terminal-killed").await;
    eprintln!("portal faults: screenshot {}", path.display());
    let took = took.unwrap_or_else(|| panic!("the terminal's last lines: {lines}"));
    eprintln!(
        "portal faults: the terminal said why it ended within {took:.1?} of docker kill's return ({:.1?} since)",
        killed.elapsed()
    );
    let tab_ended = "return document.querySelector('#term-tabs button[data-session]').classList.contains('ended');";
    until(learner, tab_ended, Duration::from_secs(5))
        .await
        .expect("the terminal's tab marked ended");
    let stopped =
        format!("const r = document.querySelector('{row}'); return r.dataset.state === 'stopped';");
    if until(learner, &stopped, Duration::from_secs(5))
        .await
        .is_none()
    {
        panic!("server-01 not shown stopped: {}", shown(learner).await);
    }
}

/// Whether the newest terminal of the page shows a line that is `line`
/// alone.
fn terminal_line(line: &str) -> String {
    format!(
        "return Array.from(document.querySelectorAll('#terms .term:last-child .xterm-rows > div'))
            .some((d) => d.textContent.trim() === {line:?});"
    )
}

/// `infractl down` of the lab from the command line: the page says the
/// lab is down (the banner, every server absent, nothing to act on but
/// the reset), and the grid shows it down.
async fn the_lab_taken_down(t: &Test, learner: &Client, teacher: &Client) {
    let down = "const rows = Array.from(document.querySelectorAll('#servers tbody tr'));
        const banner = document.getElementById('banner');
        return document.body.dataset.up === 'false' && !banner.hidden
            && banner.textContent.startsWith('The lab is down')
            && rows.every((r) => r.dataset.state === 'absent'
                && Array.from(r.querySelectorAll('button[data-act]')).every((b) => b.disabled));";
    browser::mark(learner, "down", down).await;
    browser::mark(teacher, "down", &grid_state("down")).await;
    t.run_args(&["--quiet", "down", LAB]).code(0);
    let returned = epoch_ms();
    let limit = Duration::from_secs(10);
    let page = browser::marked(learner, "down", limit).await;
    let grid = browser::marked(teacher, "down", limit).await;
    for (client, name) in [(learner, "faults-lab-down"), (teacher, "faults-grid-down")] {
        let path = browser::screenshot(client, name).await;
        eprintln!("portal faults: screenshot {}", path.display());
    }
    let ms = |at: Option<f64>| at.map(|at| at - returned);
    let (page, grid) = (ms(page), ms(grid));
    eprintln!("portal faults: the lab shown down {page:?} ms after `down` returned, in the grid {grid:?} ms");
    if page.is_none() {
        panic!(
            "the page does not say the lab is down: {}",
            shown(learner).await
        );
    }
    // The engine tells the watcher each container's removal as `down`
    // removes it: the page knows before the command returns, and a
    // second is the bound the portal's test holds a stop to.
    for (what, ms) in [("the page", page), ("the grid", grid)] {
        assert!(ms.is_some_and(|ms| ms <= 1000.0), "{what}: {ms:?} ms");
    }
}

/// `class up` brings the lab up again: the page, never reloaded, shows
/// every server running and its banner gone; the grid shows it up.
async fn the_lab_up_again(t: &Test, learner: &Client, teacher: &Client) {
    let back = format!(
        "{} && document.getElementById('banner').hidden && document.body.dataset.up === 'true'
            && window.neverReloaded === true;",
        all_running(3).trim_end_matches(';')
    );
    browser::mark(learner, "up", &back).await;
    browser::mark(teacher, "up", &grid_state("up")).await;
    t.run_args(&["--quiet", "class", "up", "it-pf.yaml"])
        .code(0);
    let returned = epoch_ms();
    // The services are looked at a second after their host started, then
    // two, four, up to every five seconds: `class up` returns once they
    // are ready, so the page shows them within one beat (5 s) and a look
    // (1 s at most).
    let limit = Duration::from_secs(10);
    let page = browser::marked(learner, "up", limit).await;
    let grid = browser::marked(teacher, "up", limit).await;
    for (client, name) in [
        (learner, "faults-lab-up-again"),
        (teacher, "faults-grid-up-again"),
    ] {
        let path = browser::screenshot(client, name).await;
        eprintln!("portal faults: screenshot {}", path.display());
    }
    let ms = |at: Option<f64>| at.map(|at| at - returned);
    let (page, grid) = (ms(page), ms(grid));
    eprintln!("portal faults: the lab shown up again {page:?} ms after `class up` returned, in the grid {grid:?} ms");
    if page.is_none() {
        panic!("the page did not recover: {}", shown(learner).await);
    }
    for (what, ms) in [("the page", page), ("the grid", grid)] {
        assert!(ms.is_some_and(|ms| ms <= 6000.0), "{what}: {ms:?} ms");
    }
}

/// Opens `link` in `client` and waits until it has led to `path`.
pub async fn open_link(client: &Client, link: &str, path: &str) {
    client.goto(link).await.expect("open the link");
    let arrived = until(
        client,
        &format!("return location.pathname === '{path}';"),
        Duration::from_secs(10),
    )
    .await;
    let now = client.current_url().await.map(|u| u.to_string());
    assert!(arrived.is_some(), "the link led to {now:?}, not {path}");
}

/// The class's links (`class links FILE --json`), by whom they are for.
pub fn links(t: &Test, file: &str, base: &str, env: &[(&str, &str)]) -> HashMap<String, String> {
    let out = t
        .run_env_args(env, &["class", "links", file, "--json", "--url", base])
        .code(0);
    let all: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).expect("links JSON");
    all.iter()
        .map(|l| {
            let who = l["who"].as_str().expect("who").to_string();
            (who, l["url"].as_str().expect("url").to_string())
        })
        .collect()
}

type HttpClient = hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>;

fn client() -> HttpClient {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(HttpConnector::new())
}

/// GETs `url` with the portal's cookie `token`: the status, and the body
/// but for an event stream.
pub async fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let mut request = hyper::Request::builder().uri(url);
    if let Some(token) = token {
        request = request.header("cookie", format!("infractl_portal={token}"));
    }
    let request = request.body(Full::new(Bytes::new())).expect("a request");
    let answer = tokio::time::timeout(Duration::from_secs(30), client().request(request))
        .await
        .unwrap_or_else(|_| panic!("GET {url}: no answer in 30 s"))
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = answer.status().as_u16();
    let bytes = tokio::time::timeout(Duration::from_secs(30), answer.into_body().collect())
        .await
        .unwrap_or_else(|_| panic!("GET {url}: no body in 30 s"))
        .expect("a body")
        .to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// A link's token (the cookie's value), after the link was followed as a
/// browser would: the join answers 200 and sets the cookie.
pub async fn join(link: &str) -> String {
    let (status, body) = get(link, None).await;
    assert_eq!(status, 200, "{link}: {body}");
    link.rsplit('/').next().expect("a token").to_string()
}

/// A grid row's state as the grid shows it (class.js).
pub fn row_state(view: &serde_json::Value) -> &'static str {
    let servers = view["servers"].as_array().map_or(&[][..], Vec::as_slice);
    let not = |states: &[&str]| {
        servers
            .iter()
            .any(|s| states.contains(&s["state"].as_str().unwrap_or("")))
    };
    if view["reachable"] != true {
        "unreachable"
    } else if view["up"] != true {
        "down"
    } else if not(&["stopped", "absent", "unhealthy"]) {
        "degraded"
    } else {
        "up"
    }
}

/// The class's event stream (`/class/CLASS/events`), read as the
/// instructor's grid reads it: each lab's last row, by lab.
pub struct ClassEvents {
    rows: tokio::sync::mpsc::UnboundedReceiver<serde_json::Value>,
    pub labs: HashMap<String, serde_json::Value>,
}

impl ClassEvents {
    pub async fn open(base: &str, class: &str, token: &str) -> ClassEvents {
        let url = format!("{base}/class/{class}/events");
        let request = hyper::Request::builder()
            .uri(&url)
            .header("cookie", format!("infractl_portal={token}"))
            .body(Full::new(Bytes::new()))
            .expect("a request");
        let answer = tokio::time::timeout(Duration::from_secs(30), client().request(request))
            .await
            .unwrap_or_else(|_| panic!("GET {url}: no answer in 30 s"))
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        assert_eq!(answer.status().as_u16(), 200, "{url}");
        let (tx, rows) = tokio::sync::mpsc::unbounded_channel();
        let mut body = answer.into_body();
        tokio::spawn(async move {
            let mut text = String::new();
            while let Some(Ok(frame)) = body.frame().await {
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                text.push_str(&String::from_utf8_lossy(&data));
                while let Some((event, rest)) = text.split_once("\n\n") {
                    let row = event
                        .lines()
                        .find_map(|l| l.strip_prefix("data:"))
                        .and_then(|d| serde_json::from_str(d.trim()).ok());
                    text = rest.to_string();
                    if let Some(row) = row {
                        if tx.send(row).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        ClassEvents {
            rows,
            labs: HashMap::new(),
        }
    }

    /// Reads rows, `each` told of every one, until `done` holds of the
    /// labs' last rows: how long it took, or `None` past `limit` (or when
    /// the stream ended).
    pub async fn until(
        &mut self,
        limit: Duration,
        mut each: impl FnMut(&serde_json::Value),
        done: impl Fn(&HashMap<String, serde_json::Value>) -> bool,
    ) -> Option<Duration> {
        let start = Instant::now();
        while !done(&self.labs) {
            let left = limit.checked_sub(start.elapsed())?;
            let row = tokio::time::timeout(left, self.rows.recv()).await.ok()??;
            each(&row);
            let lab = row["lab"].as_str().expect("a row's lab").to_string();
            self.labs.insert(lab, row);
        }
        Some(start.elapsed())
    }

    /// Each lab's state as the grid shows it, for a failure's message.
    pub fn states(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .labs
            .iter()
            .map(|(lab, row)| {
                let view = &row["view"];
                format!("{lab}: {} {}", row_state(view), view["message"])
            })
            .collect();
        out.sort();
        out
    }
}

/// The portal on a class's state, for a test that has no runtime of its
/// own (`engines`): `serve` started, the instructor's link joined, the
/// class's event stream open.
pub struct OnClass {
    // Declared before the runtime: the stream's task ends with it.
    events: ClassEvents,
    rt: tokio::runtime::Runtime,
    token: String,
    serve: Serve,
    /// The portal's own state (its audit log), removed with it: the
    /// class's test leaves nothing in the state.
    own: std::path::PathBuf,
}

impl Drop for OnClass {
    fn drop(&mut self) {
        let _ = self.serve.child.kill();
        let _ = self.serve.child.wait();
        let _ = std::fs::remove_dir_all(&self.own);
    }
}

impl OnClass {
    /// Starts the portal on `file`'s class (`class`), and reads its
    /// stream until every one of its `labs` is up.
    pub fn start(t: &Test, env: &[(&str, &str)], file: &str, class: &str, labs: usize) -> OnClass {
        assert!(
            !t.state_dir().join(".portal").exists(),
            "the state has a portal of its own already"
        );
        let serve = Serve::start(t, env);
        let links = links(t, file, &serve.base, env);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let (token, mut events) = rt.block_on(async {
            let token = join(&links["instructor"]).await;
            let events = ClassEvents::open(&serve.base, class, &token).await;
            (token, events)
        });
        let all_up = |l: &HashMap<String, serde_json::Value>| {
            l.len() == labs && l.values().all(|r| row_state(&r["view"]) == "up")
        };
        let took = rt.block_on(events.until(Duration::from_secs(60), |_| {}, all_up));
        assert!(took.is_some(), "the grid's stream: {:#?}", events.states());
        eprintln!("portal on {class}: every lab up in the grid's stream within {took:.1?}");
        OnClass {
            events,
            rt,
            token,
            serve,
            own: t.state_dir().join(".portal"),
        }
    }

    /// The engine at `engine` was lost at `since`: the grid's stream
    /// shows its labs (`lost`) unreachable, saying which engine, within
    /// `bound`, and every other lab up all along; the page of one of those
    /// still answers. How long it took.
    pub fn engine_lost(
        &mut self,
        engine: &str,
        lost: &[String],
        since: Instant,
        bound: Duration,
    ) -> Duration {
        let mut fell = Vec::new();
        let why = format!("cannot reach the Docker engine at {engine}");
        let gone = |l: &HashMap<String, serde_json::Value>| {
            lost.iter().all(|lab| {
                l.get(lab).is_some_and(|r| {
                    row_state(&r["view"]) == "unreachable"
                        && r["view"]["message"]
                            .as_str()
                            .is_some_and(|m| m.starts_with(&why))
                })
            })
        };
        let seen = |row: &serde_json::Value| {
            let lab = row["lab"].as_str().unwrap_or("");
            let state = row_state(&row["view"]);
            if !lost.iter().any(|l| l == lab) && state != "up" {
                fell.push(format!("{lab}: {state} {}", row["view"]));
            }
        };
        let read = self.rt.block_on(self.events.until(bound * 2, seen, gone));
        let took = since.elapsed();
        assert!(
            read.is_some(),
            "the grid's stream: {:#?}",
            self.events.states()
        );
        assert_eq!(
            fell,
            Vec::<String>::new(),
            "other labs than the lost engine's"
        );
        for lab in lost {
            eprintln!(
                "portal: {lab}: {}",
                self.events.labs[lab]["view"]["message"]
            );
        }
        eprintln!("portal: the lost engine's labs unreachable in the grid's stream {took:.1?} after the engine was stopped");
        assert!(took <= bound, "{took:.1?}, over {bound:?}");
        let other = self
            .events
            .labs
            .keys()
            .find(|lab| !lost.contains(lab))
            .expect("a lab on another engine")
            .clone();
        let (status, page) = self.rt.block_on(get(
            &format!("{}/lab/{other}", self.serve.base),
            Some(&self.token),
        ));
        assert_eq!(status, 200, "{other}'s page: {page}");
        assert!(page.contains(&format!("<b>{other}</b>")), "{page}");
        took
    }

    /// Lab `lab`'s site through the portal, as its page asks it: the
    /// status and the page.
    pub fn site(&self, lab: &str) -> (u16, String) {
        self.rt.block_on(get(
            &format!("{}/lab/{lab}/site/", self.serve.base),
            Some(&self.token),
        ))
    }
}
