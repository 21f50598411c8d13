//! Classes across Docker engines. The test starts its own engines: dockerd
//! in containers of an image made from the node image and Debian's
//! `docker.io` (no `--privileged`: the capabilities dockerd needs, one by
//! one), each at a fixed address of a test network so that an engine
//! stopped and started again is where it was: one reached over SSH (the
//! test's key in an agent), one over plain TCP, one over TLS with
//! certificates the test makes. A class of six task1 labs spreads over the
//! three, every lab verifies, a learner's page loads from a remote engine;
//! one engine stopped fails only its labs; `class down` leaves nothing on
//! any engine.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{docker, Test};
use crate::up::lab_lock;

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

/// The test's engines; removed with their storage on drop, the user's
/// known_hosts put back as it was (ssh recorded the SSH engine's key in
/// it), and the agent that held the test's key stopped.
struct Engines {
    names: Vec<String>,
    known_hosts: Option<KnownHosts>,
    agent: Option<std::process::Child>,
}

impl Drop for Engines {
    fn drop(&mut self) {
        for n in &self.names {
            quietly(&["rm", "-f", "-v", n]);
            quietly(&["volume", "rm", n]);
        }
        quietly(&["network", "rm", NETWORK]);
        if let Some(k) = &self.known_hosts {
            k.put_back();
        }
        if let Some(a) = &mut self.agent {
            let _ = a.kill();
            let _ = a.wait();
        }
    }
}

/// The user's `~/.ssh` as it was before the test: ssh records the SSH
/// engine's key in known_hosts (in the home directory of the user's
/// passwd entry: ssh does not read $HOME), and `ssh-keygen -R` keeps a
/// known_hosts.old.
struct KnownHosts {
    dir: std::path::PathBuf,
    dir_was: bool,
    files: Vec<(std::path::PathBuf, Option<Vec<u8>>)>,
}

impl KnownHosts {
    fn now() -> KnownHosts {
        let out = Command::new("sh")
            .args(["-c", "getent passwd \"$(id -un)\" | cut -d: -f6"])
            .output()
            .unwrap();
        let home = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let dir = Path::new(&home).join(".ssh");
        let files = ["known_hosts", "known_hosts.old"]
            .iter()
            .map(|f| (dir.join(f), std::fs::read(dir.join(f)).ok()))
            .collect();
        KnownHosts {
            dir_was: dir.is_dir(),
            dir,
            files,
        }
    }

    fn path(&self) -> &Path {
        &self.files[0].0
    }

    fn put_back(&self) {
        for (path, was) in &self.files {
            let _ = match was {
                Some(bytes) => std::fs::write(path, bytes),
                None => std::fs::remove_file(path),
            };
        }
        if !self.dir_was {
            // Only if empty: anything else in it is not the test's.
            let _ = std::fs::remove_dir(&self.dir);
        }
    }
}

/// An ssh-agent holding a new key, at `sock`; the key's public half.
fn agent_with_key(dir: &Path, sock: &Path) -> (std::process::Child, String) {
    let key = dir.join("id_engine");
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f", key.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(ok.success());
    let agent = Command::new("ssh-agent")
        .args(["-D", "-a", sock.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !sock.exists() {
        assert!(start.elapsed() < Duration::from_secs(10), "no ssh-agent");
        std::thread::sleep(Duration::from_millis(20));
    }
    let ok = Command::new("ssh-add")
        .arg(&key)
        .env("SSH_AUTH_SOCK", sock)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    (agent, public)
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

/// How the test reaches an engine.
#[derive(Clone, Copy, PartialEq)]
enum Reach {
    Ssh,
    Tcp,
    Tls,
}

/// Starts an engine per entry of `reach` at 10.99.0.11, .12, ...; a TLS
/// one with the certificates in `certs`, an SSH one with the key of an
/// agent at `sock`. Returns them and their URLs.
fn start_engines(t: &Test, reach: &[Reach], certs: &Path, sock: &Path) -> (Engines, Vec<String>) {
    let image = engine_image(t);
    let mut engines = Engines {
        names: vec![],
        known_hosts: None,
        agent: None,
    };
    quietly(&["network", "rm", NETWORK]);
    docker(&[
        "network", "create", "--label", LABEL, "--subnet", SUBNET, NETWORK,
    ]);
    let mut urls = Vec::new();
    for (i, how) in reach.iter().enumerate() {
        let name = format!("it-engine-{}", i + 1);
        let ip = format!("10.99.0.{}", 11 + i);
        quietly(&["rm", "-f", "-v", &name]);
        quietly(&["volume", "rm", &name]);
        docker(&["volume", "create", "--label", LABEL, &name]);
        engines.names.push(name.clone());
        let (listen, before) = match how {
            Reach::Tls => (
                "--tlsverify --tlscacert /etc/engine/ca.pem --tlscert /etc/engine/server.pem \
                 --tlskey /etc/engine/server-key.pem -H tcp://0.0.0.0:2376",
                "",
            ),
            Reach::Tcp => ("-H tcp://0.0.0.0:2375", ""),
            Reach::Ssh => (
                "",
                "mkdir -p /run/sshd && ssh-keygen -A >/dev/null && /usr/sbin/sshd && ",
            ),
        };
        // dockerd starts once its certificates or keys are in (they name
        // the address, known only now).
        let command = format!(
            "while [ ! -e /etc/engine/ready ]; do sleep 0.1; done; {before}\
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
        docker(&["exec", &name, "mkdir", "-p", "/etc/engine", "/root/.ssh"]);
        match how {
            Reach::Tls => {
                certificates(certs, &ip);
                for f in ["ca.pem", "server.pem", "server-key.pem"] {
                    docker(&[
                        "cp",
                        certs.join(f).to_str().unwrap(),
                        &format!("{name}:/etc/engine/{f}"),
                    ]);
                }
                urls.push(format!("tcp://{ip}:2376"));
            }
            Reach::Tcp => urls.push(format!("tcp://{ip}:2375")),
            Reach::Ssh => {
                let (agent, public) = agent_with_key(t.dir(), sock);
                engines.agent = Some(agent);
                let keys = t.file("authorized_keys", &public);
                docker(&[
                    "cp",
                    keys.to_str().unwrap(),
                    &format!("{name}:/root/.ssh/authorized_keys"),
                ]);
                // ssh records the engine's new key: a stale one of an
                // earlier run would be refused as changed.
                let known = KnownHosts::now();
                let _ = Command::new("ssh-keygen")
                    .args(["-R", &ip, "-f", known.path().to_str().unwrap()])
                    .output();
                engines.known_hosts = Some(known);
                urls.push(format!("ssh://root@{ip}"));
            }
        }
        docker(&["exec", &name, "touch", "/etc/engine/ready"]);
    }
    for (name, url) in engines.names.iter().zip(&urls) {
        wait_engine(name, url);
    }
    (engines, urls)
}

/// The docker CLI inside engine `name`, on its own socket.
fn on_engine(name: &str, args: &[&str]) -> std::process::Output {
    Command::new("docker")
        .args(["exec", name, "docker"])
        .args(args)
        .output()
        .expect("docker cli")
}

/// Until engine `name` answers on its socket and its listener at `url`
/// takes connections from this machine.
fn wait_engine(name: &str, url: &str) {
    let authority = url.split("://").nth(1).unwrap();
    let authority = authority.rsplit('@').next().unwrap();
    let address = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:22")
    };
    let start = Instant::now();
    loop {
        let out = on_engine(name, &["version", "--format", "{{.Server.Version}}"]);
        let listening = std::net::TcpStream::connect_timeout(
            &address.parse().unwrap(),
            Duration::from_millis(500),
        )
        .is_ok();
        if out.status.success() && listening {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "engine {name} did not answer at {url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What an engine holds of labs: containers, networks and volumes
/// labelled as a lab's.
fn lab_objects(name: &str) -> Vec<String> {
    let mut found = Vec::new();
    for kind in ["container", "network", "volume"] {
        let mut args = vec![kind, "ls", "-q", "--filter", "label=io.infractl.lab"];
        if kind == "container" {
            args.push("-a");
        }
        let out = on_engine(name, &args);
        assert!(out.status.success(), "{name}: {kind} ls");
        found.extend(
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .map(|id| format!("{kind} {id}")),
        );
    }
    found
}

fn status(t: &Test, env: &[(&str, &str)]) -> (i32, Vec<serde_json::Value>) {
    let out = t.run_env_args(env, &["class", "status", "it-multi.yaml", "--json"]);
    (out.code, serde_json::from_str(&out.stdout).unwrap())
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn a_class_spreads_over_three_engines_and_survives_losing_one() {
    let _lab = lab_lock();
    let t = Test::new();
    let certs = t.dir().join("engine-3");
    let sock = t.dir().join("agent.sock");
    let (_engines, urls) = start_engines(&t, &[Reach::Ssh, Reach::Tcp, Reach::Tls], &certs, &sock);
    let names = ["it-engine-1", "it-engine-2", "it-engine-3"];
    // The SSH engine's key is in the agent, as a user's would be.
    let sock_text = sock.display().to_string();
    let env = [("SSH_AUTH_SOCK", sock_text.as_str())];
    let run = |args: &[&str]| t.run_env_args(&env, args);
    t.file(
        "it-multi.yaml",
        &format!(
            "stack: task1\nstudents: 6\npublish: true\nengines:\n  - {}\n  - {}\n  - {{ host: {}, tls: engine-3 }}\n",
            urls[0], urls[1], urls[2]
        ),
    );
    struct ClassDown<'a>(&'a Test, &'a str);
    impl Drop for ClassDown<'_> {
        fn drop(&mut self) {
            let _ = self.0.run_env_args(
                &[("SSH_AUTH_SOCK", self.1)],
                &["--quiet", "class", "down", "it-multi.yaml"],
            );
        }
    }
    let _down = ClassDown(&t, &sock_text);

    // Up: the node image copied into each engine, two labs on each.
    let up = run(&["class", "up", "it-multi.yaml"]);
    assert_eq!(up.code, 0, "{}\n{}", up.stdout, up.stderr);
    assert!(
        up.stdout
            .contains("Class `it-multi`: 6 of 6 labs up, on 3 engines."),
        "{}",
        up.stdout
    );
    assert_eq!(
        up.stderr.matches("node image copied").count(),
        3,
        "{}",
        up.stderr
    );
    let (code, labs) = status(&t, &env);
    assert_eq!(code, 0, "{labs:?}");
    for url in &urls {
        let on: Vec<&serde_json::Value> = labs
            .iter()
            .filter(|l| l["engine"].as_str() == Some(url.as_str()))
            .collect();
        assert_eq!(on.len(), 2, "two labs on {url}: {labs:?}");
        assert!(on.iter().all(|l| l["state"] == "up"), "{on:?}");
    }

    // A lab reaches nothing of its engine's host: not the Engine API, not
    // SSH, on the engine's address nor on the lab's gateway there.
    for (url, host) in urls.iter().zip(["10.99.0.11", "10.99.0.12", "10.99.0.13"]) {
        let lab = labs
            .iter()
            .find(|l| l["engine"].as_str() == Some(url.as_str()))
            .unwrap()["lab"]
            .as_str()
            .unwrap()
            .to_string();
        let shown = run(&["status", &lab, "--json"]);
        let v: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
        for server in v["servers"].as_array().unwrap() {
            let server = server["server"].as_str().unwrap();
            let open = crate::isolation::answered(
                |argv| {
                    let mut args = vec!["exec", lab.as_str(), server, "--"];
                    args.extend(argv);
                    let out = run(&args);
                    out.stdout + &out.stderr
                },
                // The gateway, as the server finds it (the probe's shell
                // expands it).
                &[
                    host.to_string(),
                    "$(ip route | awk '/default/{print $3}')".to_string(),
                ],
                &[22, 2375, 2376],
            );
            assert_eq!(open, Vec::<String>::new(), "{lab}'s {server} on {url}");
        }
    }

    // A learner opens their lab on a remote engine: the URL is that
    // engine's address, and the page comes through its load balancer.
    for (url, host) in [(&urls[0], "10.99.0.11"), (&urls[2], "10.99.0.13")] {
        let remote = labs
            .iter()
            .find(|l| l["engine"].as_str() == Some(url.as_str()))
            .unwrap();
        let site = remote["url"].as_str().unwrap();
        assert!(site.starts_with(&format!("http://{host}:")), "{site}");
        let page = Command::new("curl")
            .args(["-sf", "-m", "5", site])
            .output()
            .unwrap();
        let page = String::from_utf8_lossy(&page.stdout);
        assert!(page.contains("Served by web server"), "{site}: {page}");
        // `open` finds it by the lab's name alone, on its engine, from
        // any folder (the TLS engine's certificates are named whole).
        let lab = remote["lab"].as_str().unwrap();
        let open = Command::new(env!("CARGO_BIN_EXE_infractl"))
            .args(["open", lab])
            .env("INFRACTL_STATE_DIR", t.state_dir())
            .env("SSH_AUTH_SOCK", &sock)
            .current_dir("/")
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&open.stdout).trim(), site);
        // Another engine named for it is refused: the lab is not there.
        let other = run(&["exec", lab, "client", "--engine", &urls[1], "--", "true"]).code(2);
        assert!(
            other.stderr.contains(&format!(
                "lab `{lab}` runs on the engine {url}, not {}",
                urls[1]
            )),
            "{}",
            other.stderr
        );
    }

    // Every lab verifies; the report has a row per student.
    let graded = run(&[
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

    // The portal on the same state: the instructor's grid follows the
    // class, every lab up.
    let mut portal = crate::portal_faults::OnClass::start(&t, &env, "it-multi.yaml", "it-multi", 6);
    // Each lab's site through the portal, over its own engine's API (SSH,
    // TCP, TLS), as a learner's page asks it.
    for l in &labs {
        let lab = l["lab"].as_str().unwrap();
        let (code, page) = portal.site(lab);
        assert!(
            code == 200 && page.contains("Served by web server"),
            "{lab}'s site through the portal: {code} {page}"
        );
    }

    // The second engine goes away: its two labs fail, one line each; the
    // other four stay up.
    let stopped = Instant::now();
    docker(&["stop", "-t", "2", names[1]]);
    let lost: Vec<String> = labs
        .iter()
        .filter(|l| l["engine"].as_str() == Some(urls[1].as_str()))
        .map(|l| l["lab"].as_str().unwrap().to_string())
        .collect();
    // In the grid, too: the lost engine's labs unreachable, the others
    // up all along, their pages served. Within the stop's 2 s of grace,
    // one beat of the watcher's services (5 s; a second when the engine
    // told it the labs' containers stopped), and the engine's address
    // refusing a connection (at once) or gone (a connection fails within
    // 4 s, for the look and again for the engine opened anew): 15 s.
    // Measured: 2.3 s.
    portal.engine_lost(&urls[1], &lost, stopped, Duration::from_secs(15));
    drop(portal);
    let (code, now) = status(&t, &env);
    assert_eq!(code, 1);
    for l in &now {
        let want = if lost.contains(&l["lab"].as_str().unwrap().to_string()) {
            "unreachable"
        } else {
            "up"
        };
        assert_eq!(l["state"], want, "{l}");
    }
    let again = run(&["--quiet", "class", "up", "it-multi.yaml"]);
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
    let graded = run(&["--quiet", "class", "verify", "it-multi.yaml"]);
    assert_eq!(graded.code, 1);
    assert!(
        graded.stdout.contains("4 of 6 labs pass every claim"),
        "{}",
        graded.stdout
    );

    // Down: everything on the engines that answer; the lost engine's labs
    // are reported and kept in the state until it is back.
    let down = run(&["--quiet", "class", "down", "it-multi.yaml"]);
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
    for name in [names[0], names[2]] {
        assert_eq!(lab_objects(name), Vec::<String>::new(), "{name}");
    }
    docker(&["start", names[1]]);
    wait_engine(names[1], &urls[1]);
    let down = run(&["--quiet", "class", "down", "it-multi.yaml"]);
    assert_eq!(down.code, 0, "{}", down.stdout);
    assert!(down.stdout.contains("2 labs removed"), "{}", down.stdout);
    for name in names {
        assert_eq!(lab_objects(name), Vec::<String>::new(), "{name}");
        // Nor a rule of a lab on the engine's host.
        let rules = crate::isolation::rules_of("it-multi", |script| {
            let out = Command::new("docker")
                .args(["exec", name, "sh", "-c", script])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        });
        assert_eq!(rules, Vec::<String>::new(), "{name}");
    }
    let left: Vec<_> = std::fs::read_dir(t.state_dir())
        .map(|d| d.filter_map(|e| e.ok()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "state left: {left:?}");
}
