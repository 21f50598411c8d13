//! A lab reaches only itself: from every server of a lab, no address of
//! the engine's host answers on any port (a listener this test opens, SSH
//! and the Engine API where the host has them, whatever else it listens
//! on), nor a container outside the lab; the published site still opens;
//! and `down` leaves no rule of the lab on the host.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::harness::{docker, Test};
use crate::up::{lab_lock, test_stack, Down};

/// What answered, of `ports` at `addresses`, from where `exec` runs:
/// "address:port" for each connection that opened. A connection refused
/// or cut off is not an answer; a probe that could not run is a failure.
pub fn answered(
    exec: impl Fn(&[&str]) -> String,
    addresses: &[String],
    ports: &[u16],
) -> Vec<String> {
    let mut script = String::from("for a in");
    for a in addresses {
        script.push_str(&format!(" {a}"));
    }
    script.push_str("; do for p in");
    for p in ports {
        script.push_str(&format!(" {p}"));
    }
    // All at once (a refusal comes at once, but the host answers only so
    // many a second, and the rest wait out their second); a marker line
    // proves the probe ran to its end.
    script.push_str(
        "; do (nc -z -w1 $a $p 2>/dev/null && echo \"open $a:$p\") & done; done; wait; echo probed",
    );
    let stdout = exec(&["sh", "-c", &script]);
    assert!(
        stdout.lines().any(|l| l == "probed"),
        "the probe did not run: {stdout}"
    );
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("open "))
        .map(str::to_string)
        .collect()
}

/// This machine's IPv4 addresses but loopback: the engine's host's, when
/// the engine is local.
fn host_addresses() -> Vec<String> {
    let out = Command::new("ip")
        .args(["-o", "-4", "addr", "show"])
        .output()
        .expect("ip");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let cidr = l.split_whitespace().skip_while(|w| *w != "inet").nth(1)?;
            let addr = cidr.split('/').next()?;
            (!addr.starts_with("127.")).then(|| addr.to_string())
        })
        .collect()
}

/// The TCP ports this machine listens on, on any address.
fn host_ports() -> BTreeSet<u16> {
    let out = Command::new("ss").args(["-ltnH"]).output().expect("ss");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let local = l.split_whitespace().nth(3)?;
            let (addr, port) = local.rsplit_once(':')?;
            (!addr.starts_with("127.") && addr != "[::1]").then_some(())?;
            port.parse().ok()
        })
        .collect()
}

/// The rules on a firewall (`run` runs a script on its host) that name
/// `lab`, in either backend and family.
pub fn rules_of(lab: &str, run: impl Fn(&str) -> String) -> Vec<String> {
    // The lab, or every lab whose name begins so (a class's).
    let tag = format!("\"infractl-lab={lab}");
    [
        "iptables-nft",
        "iptables-legacy",
        "ip6tables-nft",
        "ip6tables-legacy",
    ]
    .iter()
    .flat_map(|cmd| {
        run(&format!("{cmd} -S 2>/dev/null"))
            .lines()
            .filter(|l| l.contains(&tag))
            .map(|l| format!("{cmd}: {l}"))
            .collect::<Vec<_>>()
    })
    .collect()
}

fn sh_here(script: &str) -> String {
    let out = Command::new("sh").args(["-c", script]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn a_lab_reaches_nothing_of_the_engines_host_and_down_leaves_no_rule() {
    if std::env::var("DOCKER_HOST").is_ok_and(|h| !h.starts_with("unix://")) {
        panic!(
            "this test probes the engine's host as this machine: run it on the engine's machine"
        );
    }
    let _lab = lab_lock();
    let t = Test::new();
    let file = test_stack(&t, "task1", "it-reach", 230, true);
    let _down = Down(&t, file.clone());

    // A listener of the host's, counting who connects; every address.
    let listener = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    {
        let accepted = accepted.clone();
        std::thread::spawn(move || {
            for c in listener.incoming().flatten() {
                accepted.fetch_add(1, Ordering::SeqCst);
                drop(c);
            }
        });
    }
    // A container outside the lab, on the engine's default bridge,
    // listening too.
    let outside = "it-reach-outside";
    let _ = Command::new("docker").args(["rm", "-f", outside]).output();
    let image = docker(&["images", "-q", "--filter", "reference=infractl/node"]);
    let image = image.lines().next().expect("the node image").to_string();
    docker(&[
        "run",
        "-d",
        "--name",
        outside,
        "--label",
        "io.infractl.test=reach",
        "--entrypoint",
        "nc",
        &image,
        "-lk",
        "-p",
        "8000",
    ]);
    struct Gone(&'static str);
    impl Drop for Gone {
        fn drop(&mut self) {
            let _ = Command::new("docker").args(["rm", "-f", self.0]).output();
        }
    }
    let _outside = Gone(outside);
    let outside_ip = docker(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", outside])
        .trim()
        .to_string();

    t.run_args(&["--quiet", "up", &file, "--publish", "0"])
        .code(0);
    // The published site opens from the host, through the rules.
    let url = t
        .run_args(&["open", &file])
        .code(0)
        .stdout
        .trim()
        .to_string();
    let page = Command::new("curl")
        .args(["-sfk", "-m", "5", &url])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&page.stdout).contains("Served by web server"),
        "{url}: {}",
        String::from_utf8_lossy(&page.stderr)
    );
    // The host listens on its own ports: the probe must find them closed
    // where they are open to everyone else.
    let mut ports = host_ports();
    ports.extend([port, 22, 2375, 2376]);
    let ports: Vec<u16> = ports.into_iter().collect();
    let mut addresses = host_addresses();
    assert!(addresses.len() >= 2, "{addresses:?}");
    // The lab's own gateways are among the host's addresses.
    assert!(
        addresses.contains(&"10.230.0.1".to_string()),
        "{addresses:?}"
    );
    // A machine with no lab rules answers on these: the probe can fail.
    let at: std::net::SocketAddr = format!("{}:{port}", addresses[0]).parse().unwrap();
    std::net::TcpStream::connect_timeout(&at, std::time::Duration::from_secs(1))
        .expect("the host's own listener answers");
    // (That one connection is this test's.)
    while accepted.load(Ordering::SeqCst) == 0 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    accepted.store(0, Ordering::SeqCst);

    let status = t.run_args(&["status", &file, "--json"]).code(0);
    let v: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let servers: Vec<String> = v["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["server"].as_str().unwrap().to_string())
        .collect();
    assert!(servers.len() >= 5, "{servers:?}");
    addresses.push(outside_ip.clone());
    let mut outside_ports = ports.clone();
    outside_ports.push(8000);
    for server in &servers {
        let open = answered(
            |argv| {
                let mut args = vec!["exec", file.as_str(), server.as_str(), "--"];
                args.extend(argv);
                let out = t.run_args(&args);
                out.stdout + &out.stderr
            },
            &addresses,
            &outside_ports,
        );
        assert_eq!(
            open,
            Vec::<String>::new(),
            "{server} reaches outside its lab"
        );
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "the host's listener was reached"
    );
    // Inside the lab, all still works: a server reaches another.
    let inside = answered(
        |argv| {
            let mut args = vec!["exec", file.as_str(), "client", "--"];
            args.extend(argv);
            let out = t.run_args(&args);
            out.stdout + &out.stderr
        },
        &["10.230.0.10".to_string()],
        &[80],
    );
    assert_eq!(inside, vec!["10.230.0.10:80".to_string()]);
    assert!(
        !rules_of("it-reach", sh_here).is_empty(),
        "no rule on the host"
    );

    t.run_args(&["--quiet", "down", &file]).code(0);
    assert_eq!(rules_of("it-reach", sh_here), Vec::<String>::new());
}
