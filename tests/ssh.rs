//! The SSH driver against "VM" containers that run only sshd (from the node
//! image, labelled as test hosts, not as any stack's servers): task1
//! applied over SSH serves the site, a second `up` changes nothing, verify
//! passes, `down` removes what was placed and puts back what was there;
//! and the inventory, host key, authentication and unreachable-host errors.

use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{docker, Output, Test};
use crate::up::{lab_alone, lab_lock, test_stack};

/// Test hosts with sshd at the stack's addresses; removed on drop.
pub(crate) struct Vms {
    pub(crate) containers: Vec<String>,
    networks: Vec<String>,
}

impl Vms {
    /// The test host of `server`.
    pub(crate) fn of(&self, server: &str) -> &str {
        self.containers
            .iter()
            .find(|c| c.ends_with(&format!("-{server}")))
            .unwrap_or_else(|| panic!("no test host for {server}: {:?}", self.containers))
    }
}

impl Drop for Vms {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = Command::new("docker").args(["rm", "-f", c]).output();
        }
        for n in &self.networks {
            let _ = Command::new("docker").args(["network", "rm", n]).output();
        }
    }
}

/// How a test host boots.
#[derive(Clone, Copy)]
pub(crate) struct Boot {
    /// systemd as PID 1 (the distribution's services start with it), as a
    /// VM boots; else sshd alone.
    pub(crate) systemd: bool,
    /// The inventory's user: `root`, or a user with passwordless sudo.
    pub(crate) user: &'static str,
}

const SSHD_ONLY: Boot = Boot {
    systemd: false,
    user: "root",
};

/// Starts one sshd container per server of `file`'s plan; returns them and
/// the inventory's path.
pub(crate) fn start_vms(t: &Test, file: &str, prefix: &str) -> (Vms, String) {
    start_vms_booted(t, file, prefix, SSHD_ONLY)
}

pub(crate) fn start_vms_booted(t: &Test, file: &str, prefix: &str, boot: Boot) -> (Vms, String) {
    let plan: serde_json::Value = serde_json::from_str(
        &t.run_args(&["render", file, "--out", "render", "--json"])
            .code(0)
            .stdout,
    )
    .unwrap();
    let image = plan["image"].as_str().unwrap().to_string();
    let key = t.dir().join("id");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f", key.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut vms = Vms {
        containers: vec![],
        networks: vec![],
    };
    for n in plan["networks"].as_array().unwrap() {
        let name = format!("{prefix}-{}", n["name"].as_str().unwrap());
        let _ = Command::new("docker")
            .args(["network", "rm", &name])
            .output();
        docker(&[
            "network",
            "create",
            "--label",
            "io.infractl.test=ssh",
            "--subnet",
            n["subnet"].as_str().unwrap(),
            "--gateway",
            n["gateway"].as_str().unwrap(),
            &name,
        ]);
        vms.networks.push(name);
    }
    let mut inventory = format!(
        "defaults: {{ user: {}, key: {} }}\nhosts:\n",
        boot.user,
        key.display()
    );
    for s in plan["servers"].as_array().unwrap() {
        let server = s["name"].as_str().unwrap();
        let nets = s["networks"].as_array().unwrap();
        let name = format!("{prefix}-{server}");
        let _ = Command::new("docker").args(["rm", "-f", &name]).output();
        let first = &nets[0];
        let mut args = vec![
            "create".to_string(),
            "--name".into(),
            name.clone(),
            "--hostname".into(),
            server.into(),
            "--label".into(),
            "io.infractl.test=ssh".into(),
            "--cap-add".into(),
            "NET_ADMIN".into(),
            "--cap-add".into(),
            "NET_RAW".into(),
            "--tmpfs".into(),
            "/run".into(),
            "--network".into(),
            format!("{prefix}-{}", first["network"].as_str().unwrap()),
            "--ip".into(),
            first["address"].as_str().unwrap().into(),
        ];
        // The user's computer resolves through the lab's DNS; the other
        // hosts keep the usual resolver (they fetch Debian packages).
        if server == "client" {
            for r in s["resolvers"].as_array().into_iter().flatten() {
                args.extend(["--dns".into(), r.as_str().unwrap().into()]);
            }
        }
        // The user's key authorized; a non-root user gets sudo.
        let mut script = if boot.user == "root" {
            "mkdir -p /root/.ssh && cp /key.pub /root/.ssh/authorized_keys".to_string()
        } else {
            format!(
                "(id -u {u} >/dev/null 2>&1 || useradd -m -s /bin/sh {u}) && mkdir -p /home/{u}/.ssh && cp /key.pub /home/{u}/.ssh/authorized_keys && chown -R {u}: /home/{u}/.ssh && echo '{u} ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/{u}",
                u = boot.user
            )
        };
        script.push_str(" && ssh-keygen -A -q && ");
        if boot.systemd {
            // systemd in a container: its cgroups read-only, /run/lock its own.
            args.extend(
                [
                    "--tmpfs",
                    "/run/lock",
                    "-v",
                    "/sys/fs/cgroup:/sys/fs/cgroup:ro",
                    "-e",
                    "container=docker",
                ]
                .map(String::from),
            );
            script.push_str("exec /lib/systemd/systemd");
        } else {
            script.push_str("mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e");
        }
        args.extend([image.clone(), "sh".into(), "-c".into(), script]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        docker(&args);
        vms.containers.push(name.clone());
        for n in &nets[1..] {
            docker(&[
                "network",
                "connect",
                "--ip",
                n["address"].as_str().unwrap(),
                &format!("{prefix}-{}", n["network"].as_str().unwrap()),
                &name,
            ]);
        }
        docker(&[
            "cp",
            &format!("{}.pub", key.display()),
            &format!("{name}:/key.pub"),
        ]);
        docker(&["start", &name]);
        inventory.push_str(&format!(
            "  {server}: {{ host: {} }}\n",
            first["address"].as_str().unwrap()
        ));
    }
    // Wait for every sshd.
    for s in plan["servers"].as_array().unwrap() {
        let addr = format!("{}:22", s["networks"][0]["address"].as_str().unwrap());
        let start = Instant::now();
        while TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_millis(200))
            .is_err()
        {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "sshd at {addr} did not come up"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    t.file("inventory.yaml", &inventory);
    (vms, "inventory.yaml".to_string())
}

/// `command` (the subcommand, then its arguments) with `flags` after the
/// subcommand's name, where the host flags belong.
fn with_flags<'a>(command: &[&'a str], flags: &[&'a str]) -> Vec<&'a str> {
    let mut args: Vec<&str> = command.iter().take(1).copied().collect();
    args.extend(flags);
    args.extend(command.iter().skip(1));
    args
}

/// Runs infractl over SSH against the test hosts of inventory `inv`, new
/// host keys accepted.
pub(crate) fn over_ssh<'a>(t: &'a Test, inv: &'a str) -> impl Fn(&[&str]) -> Output + 'a {
    move |extra| {
        let flags = [
            "--quiet",
            "--driver",
            "ssh",
            "--inventory",
            inv,
            "--known-hosts",
            "known_hosts",
            "--accept-new-host-keys",
        ];
        t.run_args(&with_flags(extra, &flags))
    }
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn task1_over_ssh_serves_verifies_and_cleans_up() {
    let _lab = lab_lock();
    let t = Test::new();
    let file = test_stack(&t, "task1", "it-ssh1", 220, true);
    let (vms, inv) = start_vms(&t, &file, "it-ssh1-vm");
    let run = |extra: &[&str]| {
        let flags = [
            "--quiet",
            "--inventory",
            &inv,
            "--known-hosts",
            "known_hosts",
        ];
        t.run_args(&with_flags(extra, &flags))
    };
    // One host lacks a package the stack needs: `up` installs it.
    let ns_vm = vms
        .containers
        .iter()
        .find(|c| c.ends_with("-ns"))
        .unwrap()
        .clone();
    docker(&[
        "exec",
        &ns_vm,
        "dpkg",
        "--purge",
        "--force-depends",
        "bind9",
    ]);
    let before = Command::new("docker")
        .args(["exec", &ns_vm, "dpkg", "-s", "bind9"])
        .output()
        .unwrap();
    assert!(!before.status.success(), "bind9 is still installed");
    // Unknown hosts are refused without the flag.
    run(&["up", &file])
        .code(1)
        .stderr_has("refusing an unknown host key")
        .stderr_has("--accept-new-host-keys");
    run(&["up", "--accept-new-host-keys", &file])
        .code(0)
        .stdout_has("Lab `it-ssh1` is up");
    docker(&["exec", &ns_vm, "dpkg", "-s", "bind9"]);
    let page = run(&[
        "exec",
        &file,
        "client",
        "--",
        "curl",
        "-sS",
        "http://www.foobar.com/",
    ])
    .code(0);
    assert!(
        page.stdout.contains("Served by web server"),
        "{}",
        page.stdout
    );
    run(&["up", &file])
        .code(0)
        .stdout_has("is up to date: 5 servers unchanged");
    run(&["verify", &file])
        .code(0)
        .stdout_has(" passed, 0 failed");
    run(&["status", &file]).code(0);
    // Down removes what infractl placed and puts back what it replaced.
    let vm = &vms
        .containers
        .iter()
        .find(|c| c.ends_with("-server-01"))
        .unwrap()
        .clone();
    let before = docker(&["exec", vm, "sha256sum", "/etc/nginx/mime.types"]);
    run(&["down", &file])
        .code(0)
        .stdout_has("Lab `it-ssh1` is down");
    let left = docker(&[
        "exec",
        vm,
        "sh",
        "-c",
        "ls -d /etc/infractl /var/lib/infractl 2>/dev/null || true",
    ]);
    assert_eq!(left, "", "infractl's files are still there");
    let nginx_conf = docker(&[
        "exec",
        vm,
        "sh",
        "-c",
        "grep -c infractl /etc/nginx/nginx.conf || true",
    ]);
    assert_eq!(nginx_conf, "0", "nginx.conf was not put back");
    assert_eq!(
        docker(&["exec", vm, "sha256sum", "/etc/nginx/mime.types"]),
        before
    );
    assert_eq!(
        docker(&["exec", vm, "sh", "-c", "pgrep -x nginx || echo none"]),
        "none"
    );
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn ssh_errors_name_the_host() {
    let t = Test::new();
    t.file(
        "one.yaml",
        "name: it-sshone\ndomain: foobar.com\nnetworks:\n  public: { subnet: 10.217.0.0/24, public: true }\nservers:\n  web-01:\n    networks: { public: 10 }\n    components: [nginx, app, mariadb]\n",
    );
    let (_vms, inv) = start_vms(&t, "one.yaml", "it-sshone-vm");
    let base = ["--quiet", "--known-hosts", "kh", "--accept-new-host-keys"];
    let status = |inventory: &str| {
        let mut a: Vec<&str> = vec!["status"];
        a.extend(base);
        a.extend(["--inventory", inventory, "one.yaml"]);
        t.run_args(&a)
    };
    // A working inventory records the key and connects.
    status(&inv).code(0).stdout_has("Lab `it-sshone` is not up");
    // A changed host key is always refused.
    let kh = std::fs::read_to_string(t.dir().join("kh")).unwrap();
    let other = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
    let line = kh.lines().next().unwrap();
    let forged: Vec<&str> = line.split_whitespace().collect();
    t.file("kh", &format!("{} ssh-ed25519 {other}\n", forged[0]));
    status(&inv)
        .code(1)
        .stderr_has("differs from the one recorded");
    t.file("kh", &kh);
    // A wrong key is an authentication error naming the host.
    let status2 = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-f",
            t.dir().join("wrong").to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status2.success());
    let text = std::fs::read_to_string(t.dir().join(&inv))
        .unwrap()
        .replace("/id }", "/wrong }");
    t.file("wrong.yaml", &text);
    status("wrong.yaml")
        .code(1)
        .stderr_has("authentication failed for root@10.217.0.10:22 (web-01)");
    // An unreachable host is named, within the connect timeout.
    t.file(
        "away.yaml",
        &text
            .replace("/wrong }", "/id }")
            .replace("10.217.0.10", "10.217.0.99"),
    );
    let started = Instant::now();
    status("away.yaml")
        .code(1)
        .stderr_has("cannot reach web-01 at 10.217.0.99:22");
    assert!(started.elapsed() < Duration::from_secs(15));
    // A server missing from the inventory, and an extra one, are input errors.
    t.file(
        "short.yaml",
        "defaults: { key: id }\nhosts:\n  web-02: { host: 10.217.0.10 }\n",
    );
    let out = status("short.yaml").code(2);
    assert!(
        out.stderr
            .contains("inventory: no host for server `web-01`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("inventory: `web-02` is not a server of stack `it-sshone`"),
        "{}",
        out.stderr
    );
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn task3_over_ssh_verifies_including_failover() {
    let _lab = lab_alone();
    let t = Test::new();
    let file = test_stack(&t, "task3", "it-ssh3", 222, true);
    let mut text = std::fs::read_to_string(t.dir().join(&file)).unwrap();
    text.push_str(
        "servers:
  lb-01:
    components: [haproxy, { keepalived: { vip: 10.222.0.100 } }, ufw, monitoring-client]
  lb-02:
    components: [haproxy, { keepalived: { vip: 10.222.0.100 } }, ufw, monitoring-client]
dns:
  records:
    - { name: \"@\", type: A, value: 10.222.0.100 }
    - { name: www, type: A, value: 10.222.0.100 }
",
    );
    t.file(&file, &text);
    let (_vms, inv) = start_vms(&t, &file, "it-ssh3-vm");
    let run = over_ssh(&t, &inv);
    run(&["up", &file])
        .code(0)
        .stdout_has("Lab `it-ssh3` is up");
    run(&["up", &file])
        .code(0)
        .stdout_has("is up to date: 11 servers unchanged");
    let out = run(&["verify", &file, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|_| panic!("{}\n{}", out.stdout, out.stderr));
    assert_eq!(v["ok"], true, "{}", out.stdout);
    let failover = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["group"] == "failover")
        .count();
    assert_eq!(failover, 3, "{}", out.stdout);
    run(&["down", &file])
        .code(0)
        .stdout_has("Lab `it-ssh3` is down");
}

/// What `systemctl` says of a unit on a test host: (enabled?, active?).
fn unit_state(vm: &str, unit: &str) -> (String, String) {
    let q = |what: &str| {
        let out = Command::new("docker")
            .args(["exec", vm, "systemctl", what, unit])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    (q("is-enabled"), q("is-active"))
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn systemd_host_with_a_sudo_user() {
    let _lab = lab_lock();
    let t = Test::new();
    t.file(
        "sd.yaml",
        "name: it-sshsd\ndomain: foobar.com\nnetworks:\n  public: { subnet: 10.219.0.0/24, public: true }\nservers:\n  web-01:\n    networks: { public: 10 }\n    components: [nginx, app, mariadb, ufw]\n",
    );
    let boot = Boot {
        systemd: true,
        user: "lab",
    };
    let (vms, inv) = start_vms_booted(&t, "sd.yaml", "it-sshsd-vm", boot);
    let vm = vms.containers[0].clone();
    // A VM as installed: the distribution's nginx runs; one package the
    // stack needs is missing.
    assert_eq!(
        unit_state(&vm, "nginx.service"),
        ("enabled".into(), "active".into())
    );
    docker(&[
        "exec",
        &vm,
        "dpkg",
        "--purge",
        "--force-depends",
        "gunicorn",
    ]);
    let run = over_ssh(&t, &inv);
    run(&["up", "sd.yaml"])
        .code(0)
        .stdout_has("Lab `it-sshsd` is up");
    // infractl's units run the services; the distribution's are set aside.
    for u in ["nginx", "app", "mariadb"] {
        assert_eq!(
            unit_state(&vm, &format!("infractl-{u}.service")),
            ("enabled".into(), "active".into()),
            "{u}"
        );
    }
    assert_eq!(
        unit_state(&vm, "nginx.service"),
        ("disabled".into(), "inactive".into())
    );
    assert_eq!(
        docker(&["exec", &vm, "sh", "-c", "pgrep -x runsvdir || echo none"]),
        "none",
        "runit runs on a systemd host"
    );
    let page = run(&[
        "exec",
        "sd.yaml",
        "web-01",
        "--",
        "curl",
        "-sS",
        "http://127.0.0.1/",
    ])
    .code(0);
    assert!(page.stdout.contains("Served by"), "{}", page.stdout);
    let status = run(&["status", "sd.yaml", "--json"]).code(0);
    let v: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let states: Vec<String> = v["servers"][0]["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{} {}", s["name"], s["state"]))
        .collect();
    assert_eq!(states.len(), 3, "{states:?}");
    assert!(states.iter().all(|s| s.ends_with("\"run\"")), "{states:?}");
    run(&["up", "sd.yaml"])
        .code(0)
        .stdout_has("is up to date: 1 server unchanged");
    run(&["logs", "sd.yaml", "web-01", "nginx"]).code(0);
    // A change: monitoring adds exporters (new units, in place of the
    // distribution's running node exporter) and reloads nginx.
    let nginx_pid = || {
        docker(&[
            "exec",
            &vm,
            "systemctl",
            "show",
            "-p",
            "MainPID",
            "--value",
            "infractl-nginx.service",
        ])
    };
    let before = nginx_pid();
    assert_eq!(
        unit_state(&vm, "prometheus-node-exporter.service"),
        ("enabled".into(), "active".into())
    );
    t.file(
        "sd.yaml",
        &std::fs::read_to_string(t.dir().join("sd.yaml"))
            .unwrap()
            .replace("ufw]", "ufw, monitoring-client]"),
    );
    run(&["up", "sd.yaml"]).code(0).stdout_has("updated web-01");
    assert_eq!(
        unit_state(&vm, "infractl-node-exporter.service"),
        ("enabled".into(), "active".into())
    );
    assert_eq!(
        unit_state(&vm, "prometheus-node-exporter.service"),
        ("disabled".into(), "inactive".into())
    );
    assert_eq!(nginx_pid(), before, "nginx was restarted, not reloaded");
    run(&["up", "sd.yaml"])
        .code(0)
        .stdout_has("is up to date: 1 server unchanged");
    // A reboot brings the lab back under systemd.
    docker(&["restart", &vm]);
    let start = Instant::now();
    loop {
        let st = run(&["status", "sd.yaml"]);
        if st.code == 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "not back after a reboot:\n{}\n{}",
            st.stdout,
            st.stderr
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Down: infractl's units and files gone, the distribution's nginx back
    // as it was, the package `up` installed purged.
    run(&["down", "sd.yaml", "--purge-packages"])
        .code(0)
        .stdout_has(
            "removed its services and files from 1 host (web-01), and the packages it installed",
        );
    assert_eq!(
        docker(&[
            "exec",
            &vm,
            "sh",
            "-c",
            "ls -d /etc/systemd/system/infractl-* /etc/infractl /var/lib/infractl 2>/dev/null || true"
        ]),
        ""
    );
    for unit in ["nginx.service", "prometheus-node-exporter.service"] {
        assert_eq!(
            unit_state(&vm, unit),
            ("enabled".into(), "active".into()),
            "{unit}"
        );
    }
    let gunicorn = Command::new("docker")
        .args(["exec", &vm, "dpkg", "-s", "gunicorn"])
        .output()
        .unwrap();
    assert!(!gunicorn.status.success(), "gunicorn was not purged");
}
