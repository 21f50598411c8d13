//! Classes across Docker engines. The test starts its own engines: dockerd
//! in containers of an image made from the node image and Debian's
//! `docker.io` (no `--privileged`: the capabilities dockerd needs, one by
//! one), each at a fixed address of a test network so that an engine
//! stopped and started again is where it was; one speaks TLS with
//! certificates the test makes. A class of six task1 labs spreads over the
//! three, every lab verifies, a learner's page loads from a remote engine;
//! one engine stopped fails only its labs; `class down` leaves nothing on
//! any engine.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::Test;
use crate::up::lab_lock;

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("docker cli");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn quietly(args: &[&str]) {
    let _ = Command::new("docker").args(args).output();
}

const LABEL: &str = "io.infractl.test=engine";
const NETWORK: &str = "it-engines";
/// Clear of the shipped stacks' subnets, of the lab pool (10.128.0.0/9)
/// and of Docker's own pools.
const SUBNET: &str = "10.99.0.0/24";

/// The node image with Debian's docker.io: what the engines run. Made once
/// per node image (its tag is the node image's).
fn engine_image(t: &Test) -> String {
    let show = t.run_args(&["image", "show"]).code(0).stdout;
    let node = show
        .lines()
        .find_map(|l| l.strip_prefix("image:"))
        .expect("image: line")
        .trim()
        .to_string();
    let tag = node.rsplit(':').next().unwrap();
    let image = format!("infractl-test/engine:{tag}");
    let have = Command::new("docker")
        .args(["image", "inspect", &image])
        .output()
        .unwrap();
    if have.status.success() {
        return image;
    }
    let builder = "it-engine-build";
    quietly(&["rm", "-f", builder]);
    docker(&[
        "run",
        "--name",
        builder,
        "--label",
        LABEL,
        &node,
        "sh",
        "-c",
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null && apt-get clean && rm -rf /var/lib/apt/lists/*",
    ]);
    docker(&["commit", "--change", "CMD []", builder, &image]);
    docker(&["rm", builder]);
    image
}

/// The test's engines; removed with their storage on drop.
struct Engines {
    names: Vec<String>,
}

impl Drop for Engines {
    fn drop(&mut self) {
        for n in &self.names {
            quietly(&["rm", "-f", "-v", n]);
            quietly(&["volume", "rm", n]);
        }
        quietly(&["network", "rm", NETWORK]);
    }
}

/// The certificates of a TLS engine at `ip`: the CA, the engine's
/// (naming its address) and the client's, in `dir` as the docker CLI
/// names them (ca.pem, cert.pem, key.pem for the client).
fn certificates(dir: &Path, ip: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let run = |script: &str| {
        let out = Command::new("sh")
            .args(["-ec", script])
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    run(&format!(
        "openssl req -x509 {ec} -keyout ca-key.pem -out ca.pem -days 2 -subj /CN=it-engines-ca 2>/dev/null"
    ));
    for (name, usage, san) in [
        ("server", "serverAuth", format!("subjectAltName=IP:{ip}\n")),
        ("client", "clientAuth", String::new()),
    ] {
        std::fs::write(
            dir.join(format!("{name}.ext")),
            format!("{san}extendedKeyUsage={usage}\n"),
        )
        .unwrap();
        run(&format!(
            "openssl req {ec} -keyout {name}-key.pem -out {name}.csr -subj /CN=it-{name} 2>/dev/null\n\
             openssl x509 -req -in {name}.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
             -extfile {name}.ext -out {name}.pem 2>/dev/null"
        ));
    }
    std::fs::rename(dir.join("client.pem"), dir.join("cert.pem")).unwrap();
    std::fs::rename(dir.join("client-key.pem"), dir.join("key.pem")).unwrap();
}

/// Starts `n` engines at 10.99.0.11, .12, ...; the last speaks TLS on
/// 2376 with the certificates in `certs`. Returns them and their URLs.
fn start_engines(t: &Test, n: usize, certs: &Path) -> (Engines, Vec<String>) {
    let image = engine_image(t);
    let mut engines = Engines { names: vec![] };
    quietly(&["network", "rm", NETWORK]);
    docker(&[
        "network", "create", "--label", LABEL, "--subnet", SUBNET, NETWORK,
    ]);
    let mut urls = Vec::new();
    for i in 0..n {
        let name = format!("it-engine-{}", i + 1);
        let ip = format!("10.99.0.{}", 11 + i);
        let tls = i + 1 == n;
        quietly(&["rm", "-f", "-v", &name]);
        quietly(&["volume", "rm", &name]);
        docker(&["volume", "create", "--label", LABEL, &name]);
        engines.names.push(name.clone());
        let listen = if tls {
            "--tlsverify --tlscacert /etc/engine/ca.pem --tlscert /etc/engine/server.pem \
             --tlskey /etc/engine/server-key.pem -H tcp://0.0.0.0:2376"
        } else {
            "-H tcp://0.0.0.0:2375"
        };
        // dockerd starts once its certificates are in (they name the
        // address, known only now).
        let command = format!(
            "while [ ! -e /etc/engine/ready ]; do sleep 0.1; done; \
             exec dockerd --cgroup-parent=/{name} -H unix:///var/run/docker.sock {listen} \
             >/var/log/dockerd.log 2>&1"
        );
        let mut args = vec![
            "run",
            "-d",
            "--name",
            &name,
            "--hostname",
            &name,
            "--label",
            LABEL,
            "--network",
            NETWORK,
            "--ip",
            &ip,
        ];
        for cap in [
            "SYS_ADMIN",
            "NET_ADMIN",
            "NET_RAW",
            "SYS_PTRACE",
            "SYS_MODULE",
            "MKNOD",
            "DAC_READ_SEARCH",
            "SYS_CHROOT",
            "SETFCAP",
            "AUDIT_WRITE",
            "IPC_LOCK",
            "SYS_NICE",
        ] {
            args.extend(["--cap-add", cap]);
        }
        let volume = format!("{name}:/var/lib/docker");
        args.extend([
            "--security-opt",
            "seccomp=unconfined",
            "--security-opt",
            "apparmor=unconfined",
            "-v",
            "/sys/fs/cgroup:/sys/fs/cgroup:rw",
            "-v",
            &volume,
            "--tmpfs",
            "/run",
            &image,
            "sh",
            "-c",
            &command,
        ]);
        docker(&args);
        docker(&["exec", &name, "mkdir", "-p", "/etc/engine"]);
        if tls {
            certificates(certs, &ip);
            for f in ["ca.pem", "server.pem", "server-key.pem"] {
                docker(&[
                    "cp",
                    certs.join(f).to_str().unwrap(),
                    &format!("{name}:/etc/engine/{f}"),
                ]);
            }
            urls.push(format!("tcp://{ip}:2376"));
        } else {
            urls.push(format!("tcp://{ip}:2375"));
        }
        docker(&["exec", &name, "touch", "/etc/engine/ready"]);
    }
    for (i, url) in urls.iter().enumerate() {
        wait_engine(url, (i + 1 == n).then_some(certs));
    }
    (engines, urls)
}

/// The docker CLI's arguments for the engine at `url`.
fn cli_for(url: &str, certs: Option<&Path>) -> Vec<String> {
    let mut args = vec!["-H".to_string(), url.to_string()];
    if let Some(c) = certs {
        args.push("--tlsverify".into());
        for (flag, file) in [
            ("--tlscacert", "ca.pem"),
            ("--tlscert", "cert.pem"),
            ("--tlskey", "key.pem"),
        ] {
            args.push(flag.into());
            args.push(c.join(file).display().to_string());
        }
    }
    args
}

fn on_engine(url: &str, certs: Option<&Path>, args: &[&str]) -> std::process::Output {
    Command::new("docker")
        .args(cli_for(url, certs))
        .args(args)
        .output()
        .expect("docker cli")
}

fn wait_engine(url: &str, certs: Option<&Path>) {
    let start = Instant::now();
    loop {
        let out = on_engine(url, certs, &["version", "--format", "{{.Server.Version}}"]);
        if out.status.success() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "engine {url} did not answer: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What an engine holds of labs: containers, networks and volumes
/// labelled as a lab's.
fn lab_objects(url: &str, certs: Option<&Path>) -> Vec<String> {
    let mut found = Vec::new();
    for kind in ["container", "network", "volume"] {
        let mut args = vec![kind, "ls", "-q", "--filter", "label=io.infractl.lab"];
        if kind == "container" {
            args.push("-a");
        }
        let out = on_engine(url, certs, &args);
        assert!(out.status.success(), "{url}: {kind} ls");
        found.extend(
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .map(|id| format!("{kind} {id}")),
        );
    }
    found
}

fn status(t: &Test) -> (i32, Vec<serde_json::Value>) {
    let out = t.run_args(&["class", "status", "it-multi.yaml", "--json"]);
    (out.code, serde_json::from_str(&out.stdout).unwrap())
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn a_class_spreads_over_three_engines_and_survives_losing_one() {
    let _lab = lab_lock();
    let t = Test::new();
    let certs = t.dir().join("engine-3");
    let (_engines, urls) = start_engines(&t, 3, &certs);
    let tls_certs = |url: &str| (url == urls[2]).then_some(certs.as_path());
    t.file(
        "it-multi.yaml",
        &format!(
            "stack: task1\nstudents: 6\nengines:\n  - {}\n  - {}\n  - {{ host: {}, tls: engine-3 }}\n",
            urls[0], urls[1], urls[2]
        ),
    );
    struct ClassDown<'a>(&'a Test);
    impl Drop for ClassDown<'_> {
        fn drop(&mut self) {
            let _ = self
                .0
                .run_args(&["--quiet", "class", "down", "it-multi.yaml"]);
        }
    }
    let _down = ClassDown(&t);

    // Up: the node image copied into each engine, two labs on each.
    let up = t.run_args(&["class", "up", "it-multi.yaml"]);
    assert_eq!(up.code, 0, "{}\n{}", up.stdout, up.stderr);
    assert!(
        up.stdout
            .contains("Class `it-multi`: 6 of 6 labs up, on 3 engines."),
        "{}",
        up.stdout
    );
    assert!(up.stderr.contains("node image copied"), "{}", up.stderr);
    let (code, labs) = status(&t);
    assert_eq!(code, 0, "{labs:?}");
    for url in &urls {
        let on: Vec<&serde_json::Value> = labs
            .iter()
            .filter(|l| l["engine"].as_str() == Some(url.as_str()))
            .collect();
        assert_eq!(on.len(), 2, "two labs on {url}: {labs:?}");
        assert!(on.iter().all(|l| l["state"] == "up"), "{on:?}");
    }

    // A learner opens their lab on the TLS engine: the URL is that
    // engine's address, and the page comes through its load balancer.
    let remote = labs
        .iter()
        .find(|l| l["engine"].as_str() == Some(urls[2].as_str()))
        .unwrap();
    let url = remote["url"].as_str().unwrap();
    assert!(url.starts_with("http://10.99.0.13:"), "{url}");
    let page = Command::new("curl")
        .args(["-sf", "-m", "5", url])
        .output()
        .unwrap();
    let page = String::from_utf8_lossy(&page.stdout);
    assert!(page.contains("Served by web server"), "{url}: {page}");
    // `open` finds it by the lab's name alone, on its engine.
    let lab = remote["lab"].as_str().unwrap();
    let open = t.run_args(&["open", lab]).code(0);
    assert_eq!(open.stdout.trim(), url);

    // Every lab verifies; the report has a row per student.
    let graded = t.run_args(&[
        "--quiet",
        "class",
        "verify",
        "it-multi.yaml",
        "--report",
        "grades",
    ]);
    assert_eq!(graded.code, 0, "{}", graded.stdout);
    let csv = std::fs::read_to_string(t.dir().join("grades/report.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 7, "{csv}");
    assert!(rows[0].starts_with("student,"), "{}", rows[0]);
    assert!(rows[1..].iter().all(|r| !r.contains("fail")), "{csv}");

    // The second engine goes away: its two labs fail, one line each; the
    // other four stay up.
    docker(&["stop", "-t", "2", "it-engine-2"]);
    let lost: Vec<String> = labs
        .iter()
        .filter(|l| l["engine"].as_str() == Some(urls[1].as_str()))
        .map(|l| l["lab"].as_str().unwrap().to_string())
        .collect();
    let (code, now) = status(&t);
    assert_eq!(code, 1);
    for l in &now {
        let want = if lost.contains(&l["lab"].as_str().unwrap().to_string()) {
            "unreachable"
        } else {
            "up"
        };
        assert_eq!(l["state"], want, "{l}");
    }
    let again = t.run_args(&["--quiet", "class", "up", "it-multi.yaml"]);
    assert_eq!(again.code, 1, "{}", again.stdout);
    assert!(
        again.stdout.contains("Class `it-multi`: 4 of 6 labs up"),
        "{}",
        again.stdout
    );
    for lab in &lost {
        let line = again
            .stdout
            .lines()
            .find(|l| l.contains(lab.as_str()))
            .unwrap();
        assert!(
            line.contains(&format!(
                "failed: cannot reach the Docker engine at {}",
                urls[1]
            )),
            "{line}"
        );
    }
    let graded = t.run_args(&["--quiet", "class", "verify", "it-multi.yaml"]);
    assert_eq!(graded.code, 1);
    assert!(
        graded.stdout.contains("4 of 6 labs pass every claim"),
        "{}",
        graded.stdout
    );

    // Down: everything on the engines that answer; the lost engine's labs
    // are reported and kept in the state until it is back.
    let down = t.run_args(&["--quiet", "class", "down", "it-multi.yaml"]);
    assert_eq!(down.code, 1, "{}", down.stdout);
    assert!(
        down.stdout.contains("4 labs removed")
            && down.stdout.contains(&format!(
                "Engine {} did not answer: 2 labs left there",
                urls[1]
            )),
        "{}",
        down.stdout
    );
    for url in [&urls[0], &urls[2]] {
        assert_eq!(
            lab_objects(url, tls_certs(url)),
            Vec::<String>::new(),
            "{url}"
        );
    }
    docker(&["start", "it-engine-2"]);
    wait_engine(&urls[1], None);
    let down = t.run_args(&["--quiet", "class", "down", "it-multi.yaml"]);
    assert_eq!(down.code, 0, "{}", down.stdout);
    assert!(down.stdout.contains("2 labs removed"), "{}", down.stdout);
    for url in &urls {
        assert_eq!(
            lab_objects(url, tls_certs(url)),
            Vec::<String>::new(),
            "{url}"
        );
    }
    let left: Vec<_> = std::fs::read_dir(t.state_dir())
        .map(|d| d.filter_map(|e| e.ok()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "state left: {left:?}");
}
