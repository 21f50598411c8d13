//! The portal's live view of a lab against the real engine: a server
//! killed shows `stopped` well within a second (told by the engine's
//! events, not found by a poll), started again it shows `running` with
//! its services up, and the replica's replication shows with its lag.
//! The view is read as the portal's pages read it: the lab's watcher
//! (`infractl::serve::live`), driven from here.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use infractl::ops::Global;
use infractl::serve::live::LabView;
use infractl::serve::Portal;
use tokio::sync::watch;

use crate::harness::Test;
use crate::up::{lab_alone, Down};

/// The lab of this test.
const LAB: &str = "it-live";

/// How many times server-01 is killed and started.
const ROUNDS: usize = 5;

/// How long a death may take to show, at most: the page must not lag
/// behind the learner's own `docker kill`.
const SHOWN_WITHIN: Duration = Duration::from_secs(1);

/// Waits up to `within` for the view to satisfy `what`: the view that
/// did, or the last one seen.
async fn until(
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
fn state<'a>(view: &'a LabView, server: &str) -> &'a str {
    view.servers
        .iter()
        .find(|s| s.server == server)
        .map_or("", |s| s.state.as_str())
}

/// Every server runs with every service up, and the replica replicates.
fn healthy(view: &LabView) -> bool {
    !view.servers.is_empty()
        && view.servers.iter().all(|s| s.state == "running")
        && view
            .replication
            .iter()
            .any(|r| r.server == "server-02" && r.running)
}

async fn docker(args: Vec<String>) {
    let out = tokio::process::Command::new("docker")
        .args(&args)
        .output()
        .await
        .expect("docker cli");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One round's delays until the view showed the server stopped.
#[derive(Debug)]
struct Figure {
    /// From the container's death, as the engine dated it.
    from_death: Duration,
    /// From the moment `docker kill` was run.
    from_kill: Duration,
}

/// When `container` last died since `since`, as the engine dated it.
async fn died_at(container: &str, since: SystemTime) -> SystemTime {
    let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let out = tokio::process::Command::new("docker")
        .args([
            "events",
            "--since",
            &(secs(since) - 1).to_string(),
            "--until",
            &(secs(SystemTime::now()) + 1).to_string(),
            "--filter",
            &format!("container={container}"),
            "--filter",
            "event=die",
            "--format",
            "{{.TimeNano}}",
        ])
        .output()
        .await
        .expect("docker cli");
    let nanos = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse::<u64>().ok())
        .max()
        .unwrap_or_else(|| panic!("no death of {container} told: {out:?}"));
    UNIX_EPOCH + Duration::from_nanos(nanos)
}

/// The lab's servers that run.
fn view_servers(rx: &watch::Receiver<Arc<LabView>>) -> usize {
    rx.borrow()
        .servers
        .iter()
        .filter(|s| s.state == "running")
        .count()
}

/// Counts the commands the watcher runs in the lab's servers over a
/// quiet while (nothing changes): fewer than polling every server every
/// 0.7 s, as the portal did, would run.
async fn steady_cost(servers: usize) {
    let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_secs();
    // The beat after the last start settles first.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let since = secs(SystemTime::now());
    let window = 20;
    tokio::time::sleep(Duration::from_secs(window + 1)).await;
    let out = tokio::process::Command::new("docker")
        .args([
            "events",
            "--since",
            &since.to_string(),
            "--until",
            &(since + window).to_string(),
            "--filter",
            &format!("label=io.infractl.lab={LAB}"),
            "--filter",
            "event=exec_create",
            "--format",
            "{{.Action}}",
        ])
        .output()
        .await
        .expect("docker cli");
    let execs = String::from_utf8_lossy(&out.stdout).lines().count();
    let polled = (window as f64 / 0.7) as usize * servers;
    eprintln!("{execs} commands in the lab's {servers} servers in {window} s (a poll every 0.7 s: {polled})");
    assert!(
        execs > 0 && execs < polled / 3,
        "{execs} commands in {window} s"
    );
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").unwrap_or_default()
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn the_live_view_shows_a_killed_server_stopped_at_once_and_its_return() {
    let _lab = lab_alone();
    let t = Test::new();
    let _down = Down(&t, LAB.into());
    t.run_args(&["--quiet", "up", "task1", "--lab", LAB])
        .code(0);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let global = Global {
            state_dir: Some(t.state_dir().to_path_buf()),
            ..Default::default()
        };
        let portal = Portal::new(global, false).expect("a portal");
        let mut rx = portal.live.watch(&portal, LAB);
        let view = until(&mut rx, Duration::from_secs(60), healthy)
            .await
            .unwrap_or_else(|v| panic!("the lab never showed healthy: {v:#?}"));
        let replica = view
            .replication
            .iter()
            .find(|r| r.server == "server-02")
            .expect("the replica's replication");
        assert_eq!(replica.lag_seconds, Some(0), "{replica:?}");
        assert!(view.vips.is_empty(), "task1 has no virtual IP");

        let container = format!("{LAB}-server-01");
        let mut figures = Vec::new();
        for round in 0..ROUNDS {
            let asked = SystemTime::now();
            // The view is watched while the command runs: it may show the
            // death before the command returns.
            let kill = tokio::spawn(docker(vec!["kill".into(), container.clone()]));
            let view = until(&mut rx, Duration::from_secs(10), |v| {
                state(v, "server-01") == "stopped"
            })
            .await
            .unwrap_or_else(|v| panic!("round {round}: server-01 never showed stopped: {v:#?}"));
            let shown = SystemTime::now();
            kill.await.expect("docker kill ran");
            let died = died_at(&container, asked).await;
            figures.push(Figure {
                from_death: shown.duration_since(died).unwrap_or_default(),
                from_kill: shown.duration_since(asked).unwrap_or_default(),
            });
            assert_eq!(view.down(), ["server-01"]);
            assert!(view.replication.iter().all(|r| r.server != "server-01"));

            docker(vec!["start".into(), container.clone()]).await;
            until(&mut rx, Duration::from_secs(60), healthy)
                .await
                .unwrap_or_else(|v| panic!("round {round}: the lab never came back: {v:#?}"));
        }
        steady_cost(view_servers(&rx)).await;
        for (round, f) in figures.iter().enumerate() {
            eprintln!(
                "round {round}: shown stopped {} ms after the container died, {} ms after `docker kill` was run",
                f.from_death.as_millis(),
                f.from_kill.as_millis()
            );
        }
        eprintln!("load: {}", load().trim());
        for f in &figures {
            assert!(f.from_death < SHOWN_WITHIN, "{figures:?}");
        }
    });
    the_operator_opens_the_site(&t);
}

/// A lab brought up alone, published nowhere, opened by the machine's
/// operator in the portal: its site answers through the engine, from a
/// forwarder the portal made for it (a later `down` removes it with the
/// lab; CI checks that nothing of `it-*` is left).
fn the_operator_opens_the_site(t: &Test) {
    let serve = crate::portal::Serve::start(t, &[]);
    let link = std::fs::read_to_string(t.state_dir().join(".portal/operator-link"))
        .expect("the operator's link");
    let token = link.trim().rsplit('/').next().expect("a token").to_string();
    let page = std::process::Command::new("curl")
        .args(["-sf", "-m", "30", "-b", &format!("infractl_portal={token}")])
        .arg(format!("{}/lab/{LAB}/site/", serve.base))
        .output()
        .expect("curl");
    let body = String::from_utf8_lossy(&page.stdout);
    assert!(
        page.status.success() && body.contains("Served by web server"),
        "the site through the portal: {}\n{body}",
        String::from_utf8_lossy(&page.stderr)
    );
    let forwarder = format!("{LAB}-_publish");
    let ports = crate::harness::docker(&["port", &forwarder]);
    assert_eq!(ports, "", "{forwarder} publishes {ports}");
}
