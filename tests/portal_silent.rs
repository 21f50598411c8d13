//! The classroom portal when a lab's engine stops answering without
//! closing anything, as an engine whose machine froze or was cut off: a
//! class of one learner (`it-pfsilent`: pf, a task0 lab) on an engine
//! reached over TCP through a relay of the test's (`Quiet`) in front of
//! the local engine, which the test silences and then lets answer again.
//!
//! Silenced: the class's event stream shows the lab unreachable, and the
//! learner's page (Chromium) says its engine does not answer, within the
//! watcher's bound on a look. Answering again: both show the lab up, the
//! page never reloaded.

use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::sync::watch;

use crate::browser::{self, until, Browser};
use crate::harness::Test;
use crate::portal::Serve;
use crate::portal_faults::{all_running, links, open_link, row_state, shown, ClassEvents};
use crate::up::lab_alone;

const LAB: &str = "it-pfsilent-pf";

/// The local engine's socket, behind the relay.
const SOCKET: &str = "/var/run/docker.sock";

/// A TCP engine in front of the local one that the test can silence: its
/// connections, open and new, go quiet (nothing passed either way,
/// nothing closed); let answer again, the quiet ones are closed and new
/// ones are passed on.
struct Quiet {
    port: u16,
    quiet: watch::Sender<bool>,
    _rt: tokio::runtime::Runtime,
}

impl Quiet {
    fn start() -> Quiet {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let listener = rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("a port for the relay");
        let port = listener.local_addr().expect("its address").port();
        let (quiet, rx) = watch::channel(false);
        rt.spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(relay(conn, rx.clone()));
            }
        });
        Quiet {
            port,
            quiet,
            _rt: rt,
        }
    }

    fn silence(&self, quiet: bool) {
        self.quiet.send_replace(quiet);
    }
}

/// Passes `conn` on to the engine until silenced; quiet then until let
/// answer again, and closed.
async fn relay(mut conn: TcpStream, mut quiet: watch::Receiver<bool>) {
    let mut engine = None;
    if !*quiet.borrow() {
        let Ok(mut to) = UnixStream::connect(SOCKET).await else {
            return;
        };
        tokio::select! {
            _ = tokio::io::copy_bidirectional(&mut conn, &mut to) => return,
            _ = quiet.wait_for(|q| *q) => {}
        }
        engine = Some(to);
    }
    let _ = quiet.wait_for(|q| !*q).await;
    drop((conn, engine));
}

/// Takes the class down when the test ends, passed or failed, its engine
/// answering.
struct ClassDown<'a>(&'a Test, &'a Quiet);

impl Drop for ClassDown<'_> {
    fn drop(&mut self) {
        self.1.silence(false);
        let _ = self
            .0
            .run_args(&["--quiet", "class", "down", "it-pfsilent.yaml"]);
    }
}

/// How soon the lab shows unreachable once its engine is silent: a look
/// begins within the services' beat (5 s), and is given up after the
/// watcher's bound on a look (15 s).
const SEEN_SILENT: Duration = Duration::from_secs(5 + 15);

/// How soon it shows up again once the engine answers: the watcher tries
/// the engine again every services' beat (5 s), each try bounded by the
/// connection's bound (10 s), and then looks (a second).
const SEEN_BACK: Duration = Duration::from_secs(10 + 5 + 1);

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn an_engine_that_stops_answering_shows_its_lab_unreachable_until_it_answers() {
    let _lab = lab_alone();
    let quiet = Quiet::start();
    let t = Test::new();
    t.file(
        "it-pfsilent.yaml",
        &format!(
            "stack: task0\nstudents: [pf]\nengines: [tcp://127.0.0.1:{}]\n",
            quiet.port
        ),
    );
    let _down = ClassDown(&t, &quiet);
    t.run_args(&["--quiet", "class", "up", "it-pfsilent.yaml"])
        .code(0);
    let serve = Serve::start(&t, &[]);
    let links = links(&t, "it-pfsilent.yaml", &serve.base, &[]);
    let browser = Browser::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let token = crate::portal_faults::join(&links["instructor"]).await;
        let mut grid = ClassEvents::open(&serve.base, "it-pfsilent", &token).await;
        let state = |want: &'static str| {
            move |labs: &std::collections::HashMap<String, serde_json::Value>| {
                labs.get(LAB)
                    .is_some_and(|r| row_state(&r["view"]) == want)
            }
        };
        let up = grid.until(Duration::from_secs(30), |_| {}, state("up")).await;
        assert!(up.is_some(), "the grid's stream: {:?}", grid.states());
        let learner = browser.session().await;
        open_link(&learner, &links["pf"], &format!("/lab/{LAB}")).await;
        until(&learner, &all_running(3), Duration::from_secs(30))
            .await
            .expect("the page shows the lab's three servers running");
        learner
            .execute("window.neverReloaded = true;", vec![])
            .await
            .expect("a script in the page");
        // Its servers unknown: none shown running, no button to press.
        let silent = "const b = document.getElementById('banner');
            const rows = Array.from(document.querySelectorAll('#servers tbody tr'));
            return document.body.dataset.reachable === 'false' && !b.hidden
                && b.textContent.startsWith(\"The lab's engine does not answer: \")
                && rows.every((r) => r.dataset.state === 'unknown'
                    && Array.from(r.querySelectorAll('button[data-act]')).every((x) => x.disabled))
                && !document.querySelector('#diagram rect.box.st-running');";
        browser::mark(&learner, "silent", silent).await;

        quiet.silence(true);
        let since = Instant::now();
        let took = grid
            .until(SEEN_SILENT, |_| {}, state("unreachable"))
            .await;
        let page = browser::marked(&learner, "silent", Duration::from_secs(5)).await;
        let path = browser::screenshot(&learner, "silent-engine").await;
        eprintln!("portal silent: screenshot {}", path.display());
        eprintln!(
            "portal silent: unreachable in the grid's stream {:.1?} after the engine fell silent ({:?}): {}",
            since.elapsed(),
            took,
            grid.labs[LAB]["view"]["message"]
        );
        assert!(took.is_some(), "the grid's stream: {:?}", grid.states());
        if page.is_none() {
            panic!("the page does not say the engine does not answer: {}", shown(&learner).await);
        }

        let back = format!(
            "{} && document.getElementById('banner').hidden && window.neverReloaded === true
                && !document.querySelector('#diagram .st-unknown');",
            all_running(3).trim_end_matches(';')
        );
        browser::mark(&learner, "back", &back).await;
        quiet.silence(false);
        let since = Instant::now();
        let took = grid.until(SEEN_BACK, |_| {}, state("up")).await;
        eprintln!(
            "portal silent: up again in the grid's stream {:.1?} after the engine answered",
            since.elapsed()
        );
        assert!(took.is_some(), "the grid's stream: {:?}", grid.states());
        if browser::marked(&learner, "back", SEEN_BACK).await.is_none() {
            panic!("the page did not come back: {}", shown(&learner).await);
        }
        let path = browser::screenshot(&learner, "silent-engine-back").await;
        eprintln!("portal silent: screenshot {}", path.display());
        learner.close().await.expect("close the learner's browser");
    });
    drop(browser);
    drop(serve);
}
