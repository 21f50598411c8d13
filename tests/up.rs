//! `up`, `status`, `exec`, `down` against the real engine: the site answers
//! through every tier, load balancing reaches both backends, a write
//! through the application shows on the replica, a second `up` changes
//! nothing, and `down` leaves nothing behind.
//!
//! The labs here are the seed stacks under their own names and subnets
//! (`it-task0`, ...), so a lab of yours stays untouched.

use std::process::Command;

use crate::harness::Test;

/// Writes `<name>.yaml`: `base` under another name and subnets.
pub fn test_stack(t: &Test, base: &str, name: &str, octet: u8, private: bool) -> String {
    let mut text = format!(
        "extends: {base}\nname: {name}\nnetworks:\n  public: {{ subnet: 10.{octet}.0.0/24 }}\n"
    );
    if private {
        text.push_str(&format!("  private: {{ subnet: 10.{octet}.1.0/24 }}\n"));
    }
    let file = format!("{name}.yaml");
    t.file(&file, &text);
    file
}

/// Every test lab takes its own second octet (10.N.0.0/16), so a lab left
/// behind by a failing test cannot fail another with "Pool overlaps". The
/// octets are read from the test sources: a `test_stack(.., "it-x", N, ..)`
/// call, or a stack written inline with `name: it-x` and `10.N.` subnets.
#[test]
fn every_test_lab_has_its_own_subnets() {
    let mut seen: std::collections::BTreeMap<u32, String> = Default::default();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        for (at, _) in src
            .match_indices("\"it-")
            .chain(src.match_indices("name: it-"))
        {
            let rest = &src[at..];
            let start = rest.find("it-").unwrap();
            let name: String = rest[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            // The octet follows the name: as the next argument, or in the
            // first subnet of the inline stack.
            let after = &rest[start + name.len()..];
            let octet = if let Some(args) = after.strip_prefix("\", ") {
                args.split(',').next().and_then(|n| n.trim().parse().ok())
            } else if rest.starts_with("name:") {
                after
                    .find("subnet: 10.")
                    .filter(|i| *i < 200)
                    .and_then(|i| after[i + 11..].split('.').next()?.parse().ok())
            } else {
                None
            };
            let Some(octet) = octet else { continue };
            if let Some(other) = seen.insert(octet, name.clone()) {
                assert_eq!(other, name, "10.{octet}. is taken by two test labs");
            }
        }
    }
    assert!(seen.len() >= 10, "too few test labs found: {seen:?}");
}

/// A turn with the engine, shared: labs mostly wait (on MariaDB, on a
/// scrape, on a timeout), and two of the longest tests together kept two
/// cores 34 % busy. Tests that measure time in the hundreds of
/// milliseconds take [`lab_alone`] instead.
pub fn lab_lock() -> LabTurn {
    LabTurn {
        held: Held::Shared(ENGINE.read().unwrap_or_else(|e| e.into_inner())),
        since: std::time::Instant::now(),
    }
}

/// The engine alone: for a test that measures in the hundreds of
/// milliseconds (a failover within 1 s, a view updated within 1 s, a
/// browser's pages), so that another lab's load is not in the figure.
pub fn lab_alone() -> LabTurn {
    LabTurn {
        held: Held::Alone(ENGINE.write().unwrap_or_else(|e| e.into_inner())),
        since: std::time::Instant::now(),
    }
}

static ENGINE: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// A test's turn with the engine. When it ends, how long it was held
/// goes on a line of `<target tmp>/lab-times.tsv` (seconds, the test,
/// and whether alone): where CI's time goes (`.ci/run` prints the
/// longest).
pub struct LabTurn {
    held: Held,
    since: std::time::Instant,
}

/// The guard held: dropped with the turn.
enum Held {
    Shared(#[allow(dead_code)] std::sync::RwLockReadGuard<'static, ()>),
    Alone(#[allow(dead_code)] std::sync::RwLockWriteGuard<'static, ()>),
    /// Between one turn given up and the next taken.
    Between,
}

/// The file [`LabTurn`]s are written to.
pub const LAB_TIMES: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/lab-times.tsv");

impl LabTurn {
    /// The rest of the test with the engine alone: the shared turn given
    /// up (its time written), then the engine taken alone.
    pub fn alone(&mut self) {
        self.record();
        self.held = Held::Between;
        self.held = Held::Alone(ENGINE.write().unwrap_or_else(|e| e.into_inner()));
        self.since = std::time::Instant::now();
    }

    /// Back to sharing the engine, for a part of a test that measures
    /// nothing in the hundreds of milliseconds: the engine alone given up
    /// (its time written), then a shared turn taken.
    pub fn shared(&mut self) {
        self.record();
        self.held = Held::Between;
        self.held = Held::Shared(ENGINE.read().unwrap_or_else(|e| e.into_inner()));
        self.since = std::time::Instant::now();
    }

    fn record(&self) {
        use std::io::Write;
        let test = std::thread::current().name().unwrap_or("?").to_string();
        let how = match self.held {
            Held::Shared(_) => "shared",
            Held::Alone(_) => "alone",
            Held::Between => return,
        };
        let line = format!("{:.0}\t{how}\t{test}\n", self.since.elapsed().as_secs_f64());
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(LAB_TIMES)
        {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

impl Drop for LabTurn {
    fn drop(&mut self) {
        self.record();
    }
}

/// Takes the lab down when the test ends, passed or failed.
pub struct Down<'a>(pub &'a Test, pub String);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = self.0.run_args(&["--quiet", "down", &self.1]);
    }
}

pub fn labelled(kind: &str, stack: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args([
            kind,
            "ls",
            "-q",
            "--filter",
            &format!("label=io.infractl.lab={stack}"),
        ])
        .args(if kind == "container" {
            vec!["-a"]
        } else {
            vec![]
        })
        .output()
        .expect("docker cli");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn task0_serves_the_site_through_every_tier() {
    let _lab = lab_lock();
    let t = Test::new();
    let file = test_stack(&t, "task0", "it-task0", 210, false);
    let _down = Down(&t, file.clone());
    t.run_args(&["--quiet", "up", &file])
        .code(0)
        .stdout_has("Lab `it-task0` is up");
    // Every check of verify passes on the fresh lab.
    t.run_args(&["--quiet", "verify", &file])
        .code(0)
        .stdout_has(" passed, 0 failed");
    let page = t
        .run_args(&[
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
        page.stdout
            .contains("Served by web server <code>server-01</code>, application server <code>server-01</code>, database <code>server-01</code>"),
        "{}",
        page.stdout
    );
    // The name resolves through the lab's DNS server, not a hosts file.
    let dig = t
        .run_args(&[
            "exec",
            &file,
            "client",
            "--",
            "dig",
            "+short",
            "www.foobar.com",
        ])
        .code(0);
    assert_eq!(dig.stdout.trim(), "10.210.0.10");
    let hosts = t
        .run_args(&["exec", &file, "client", "--", "cat", "/etc/hosts"])
        .code(0);
    assert!(!hosts.stdout.contains("www.foobar.com"), "{}", hosts.stdout);
    // The supervisor restarts a killed service, and `docker restart` brings
    // every service back, as systemd would on a VM.
    let site_answers = |t: &Test| {
        (0..50).any(|_| {
            let ok = t
                .run_args(&[
                    "exec",
                    &file,
                    "client",
                    "--",
                    "curl",
                    "-sf",
                    "-o",
                    "/dev/null",
                    "http://www.foobar.com/",
                ])
                .code
                == 0;
            if !ok {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            ok
        })
    };
    let before = t
        .run_args(&[
            "exec",
            &file,
            "server-01",
            "--",
            "pgrep",
            "-o",
            "-x",
            "nginx",
        ])
        .code(0)
        .stdout;
    t.run_args(&[
        "exec",
        &file,
        "server-01",
        "--",
        "pkill",
        "-9",
        "-o",
        "-x",
        "nginx",
    ])
    .code(0);
    assert!(
        site_answers(&t),
        "the site did not come back after nginx was killed"
    );
    let after = t
        .run_args(&[
            "exec",
            &file,
            "server-01",
            "--",
            "pgrep",
            "-o",
            "-x",
            "nginx",
        ])
        .code(0)
        .stdout;
    assert_ne!(before, after, "nginx was not restarted");
    let restart = Command::new("docker")
        .args(["restart", "-t", "5", "it-task0-server-01"])
        .output()
        .unwrap();
    assert!(restart.status.success());
    assert!(
        site_answers(&t),
        "the site did not come back after docker restart"
    );
    let status = t.run_args(&["status", &file, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(v["healthy"], true, "{}", status.stdout);

    // Exit codes pass through.
    t.run_args(&["exec", &file, "client", "--", "sh", "-c", "exit 7"])
        .code(7);
    t.run_args(&["--quiet", "down", &file])
        .code(0)
        .stdout_has("Lab `it-task0` is down");
    assert!(labelled("container", "it-task0").is_empty());
    assert!(labelled("network", "it-task0").is_empty());
    t.run_args(&["--quiet", "down", &file])
        .code(0)
        .stdout_has("Lab `it-task0` is not up");
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn task1_balances_replicates_and_is_idempotent() {
    let _lab = lab_lock();
    let t = Test::new();
    let file = test_stack(&t, "task1", "it-task1", 211, true);
    let _down = Down(&t, file.clone());
    t.run_args(&["--quiet", "up", &file])
        .code(0)
        .stdout_has("Lab `it-task1` is up");
    // Every check of verify passes on the fresh lab.
    t.run_args(&["--quiet", "verify", &file])
        .code(0)
        .stdout_has(" passed, 0 failed");

    // The image's programs come from its shared volumes, read-only: a
    // server cannot change them under another lab; /usr/local is its own.
    let usr = t
        .run_args(&[
            "exec",
            &file,
            "server-01",
            "--",
            "sh",
            "-c",
            "touch /usr/lib/x 2>&1; touch /usr/local/x && echo local ok; \
             grep -c ' /usr/s\\?bin \\| /usr/lib ' /proc/mounts",
        ])
        .code(0);
    assert!(
        usr.stdout.contains("Read-only file system")
            && usr.stdout.contains("local ok")
            && usr.stdout.trim_end().ends_with('3'),
        "{}",
        usr.stdout
    );
    let shown = t.run_args(&["image", "show"]).code(0).stdout;
    assert!(
        shown.contains("-sbin:/usr/sbin:ro"),
        "image show names the shared volumes:\n{shown}"
    );

    // 20 requests through the load balancer reach both web servers.
    let out = t
        .run_args(&[
            "exec",
            &file,
            "client",
            "--",
            "sh",
            "-c",
            "for i in $(seq 20); do curl -sS http://www.foobar.com/api/info; done",
        ])
        .code(0);
    let one = out.stdout.matches("\"web\": \"server-01\"").count();
    let two = out.stdout.matches("\"web\": \"server-02\"").count();
    assert_eq!(one + two, 20, "{}", out.stdout);
    assert!(one >= 5 && two >= 5, "round robin split {one}/{two}");

    // A note written through the application appears on the replica.
    let note = format!("note-{}", std::process::id());
    t.run_args(&[
        "exec",
        &file,
        "client",
        "--",
        "curl",
        "-sS",
        "-f",
        "-H",
        "Content-Type: application/json",
        "-d",
        &format!("{{\"text\": \"{note}\"}}"),
        "http://www.foobar.com/api/notes",
    ])
    .code(0)
    .stdout_has("\"db\": \"server-01\"");
    let mut seen = String::new();
    for _ in 0..50 {
        seen = t
            .run_args(&[
                "exec",
                &file,
                "server-02",
                "--",
                "mariadb",
                "-N",
                "-e",
                "SELECT text FROM site.notes",
            ])
            .code(0)
            .stdout;
        if seen.contains(&note) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(seen.contains(&note), "the replica lacks the note: {seen}");
    // The replica refuses writes from the application's user.
    let refused = t
        .run_args(&[
            "exec",
            &file,
            "server-02",
            "--",
            "sh",
            "-c",
            "mariadb -uapp -p\"$(python3 -c 'import json;print(json.load(open(\"/etc/infractl/app/config.json\"))[\"password\"])')\" -h 127.0.0.1 site -e \"INSERT INTO notes (text, written_by) VALUES ('x','y')\"",
        ]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("read-only"), "{}", refused.stderr);

    // Status: every service of every server runs.
    let status = t.run_args(&["status", &file, "--json"]).code(0);
    let v: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(v["healthy"], true, "{}", status.stdout);

    // A second up touches nothing.
    t.run_args(&["--quiet", "up", &file])
        .code(0)
        .stdout_has("is up to date: 5 servers unchanged");

    // A third web server: only the servers it concerns change, and the
    // load balancer reloads rather than restarts.
    let id = |server: &str| {
        let out = Command::new("docker")
            .args(["inspect", "-f", "{{.Id}}", &format!("it-task1-{server}")])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let (ns, lb) = (id("ns"), id("lb-01"));
    let grown = std::fs::read_to_string(t.dir().join(&file)).unwrap()
        + "servers:\n  server-03:\n    networks: { public: 13, private: 13 }\n    components: [nginx, app, { mariadb: { role: replica } }]\n";
    t.file(&file, &grown);
    let out = t.run_args(&["--quiet", "up", &file]).code(0);
    assert!(out.stdout.contains("created server-03"), "{}", out.stdout);
    assert!(
        out.stdout.contains("lb-01: reloaded haproxy"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("ns,") && !out.stdout.contains("client,"),
        "{}",
        out.stdout
    );
    assert_eq!(id("ns"), ns, "ns was recreated");
    assert_eq!(id("lb-01"), lb, "lb-01 was recreated");
    let out = t
        .run_args(&[
            "exec",
            &file,
            "client",
            "--",
            "sh",
            "-c",
            "for i in $(seq 30); do curl -sS http://www.foobar.com/api/info; done",
        ])
        .code(0);
    for web in ["server-01", "server-02", "server-03"] {
        assert!(
            out.stdout.contains(&format!("\"web\": \"{web}\"")),
            "{web} got no request"
        );
    }

    t.run_args(&["--quiet", "down", &file]).code(0);
    assert!(labelled("container", "it-task1").is_empty());
    assert!(labelled("network", "it-task1").is_empty());
    assert!(labelled("volume", "it-task1").is_empty());
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn a_dead_service_stops_up_and_up_resumes() {
    let _lab = lab_lock();
    let t = Test::new();
    let file = test_stack(&t, "task0", "it-fault", 212, false);
    let _down = Down(&t, file.clone());
    t.run_args(&["--quiet", "up", &file]).code(0);
    // nginx can no longer start on server-01 (a broken nginx ahead of the
    // image's on the PATH: the image's programs are read-only) ...
    t.run_args(&[
        "exec",
        &file,
        "server-01",
        "--",
        "sh",
        "-c",
        "printf '#!/bin/sh\\necho \"nginx: [emerg] broken on purpose\" >&2\\nexit 1\\n' \
         > /usr/local/sbin/nginx && chmod +x /usr/local/sbin/nginx && sv restart nginx; true",
    ])
    .code(0);
    // ... and the next `up` has work to do there: a changed page style.
    let state = t.state_dir().join("it-fault/applied.json");
    let applied = std::fs::read_to_string(&state).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&applied).unwrap();
    v["server-01"]["hash"] = serde_json::json!("stale");
    v["server-01"]["files"]["/var/www/site/static/style.css"] = serde_json::json!("stale");
    std::fs::write(&state, v.to_string()).unwrap();

    let failed = t
        .run_args(&["--quiet", "up", &file, "--timeout", "3"])
        .code(1);
    assert!(
        failed
            .stderr
            .contains("error: server `server-01`: service `nginx` is not ready after 3 s"),
        "{}",
        failed.stderr
    );
    assert!(
        failed.stderr.contains("last lines of its log"),
        "{}",
        failed.stderr
    );
    assert!(
        failed
            .stderr
            .contains("infractl logs it-fault server-01 nginx"),
        "{}",
        failed.stderr
    );
    // The lab is left for inspection: the other servers still run.
    t.run_args(&["exec", &file, "ns", "--", "true"]).code(0);

    // Fixed, `up` resumes and finishes the job.
    t.run_args(&[
        "exec",
        &file,
        "server-01",
        "--",
        "rm",
        "/usr/local/sbin/nginx",
    ])
    .code(0);
    t.run_args(&["--quiet", "up", &file])
        .code(0)
        .stdout_has("updated server-01");
    t.run_args(&[
        "exec",
        &file,
        "client",
        "--",
        "curl",
        "-sSf",
        "-o",
        "/dev/null",
        "http://www.foobar.com/",
    ])
    .code(0);
}

/// An engine that cannot be reached is one line naming it, and a hint:
/// never the HTTP client's words, whichever command meets it.
#[test]
fn the_engine_unreachable_is_one_clear_line() {
    let t = Test::new();
    t.file("c.yaml", "stack: task0\nstudents: [ann]\n");
    let cases = [
        (
            "tcp://127.0.0.1:1",
            "error: cannot reach the Docker engine at tcp://127.0.0.1:1: connection refused
  = hint: is the engine at tcp://127.0.0.1:1 running, and its port open to this machine? or name another engine (--engine, --context, DOCKER_HOST)
",
        ),
        (
            "unix:///nonexistent/docker.sock",
            "error: cannot reach the Docker engine at unix:///nonexistent/docker.sock: no socket at /nonexistent/docker.sock
  = hint: is the engine running? start it (`sudo systemctl start docker`), or name another engine (--engine, --context, DOCKER_HOST)
",
        ),
    ];
    let commands: [&[&str]; 7] = [
        &["status"],
        &["status", "task1"],
        &["up", "task0"],
        &["down", "task0"],
        &["verify", "task0"],
        &["class", "up", "c.yaml"],
        &["class", "up", "c.yaml", "--dry-run"],
    ];
    for (host, want) in cases {
        for args in commands {
            let out = t.run_env_args(&[("DOCKER_HOST", host)], args);
            assert_eq!(
                (out.code, out.stderr.as_str()),
                (1, want),
                "DOCKER_HOST={host} infractl {}",
                args.join(" ")
            );
        }
    }
}

#[test]
fn two_ups_of_one_stack_at_once_the_second_refuses() {
    let t = Test::new();
    // Hold the stack's lock the way a running `up` does.
    let dir = t.state_dir().join("task0");
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::File::create(dir.join("lock")).unwrap();
    lock.lock().unwrap();
    std::fs::write(dir.join("lock"), "`infractl up` (pid 4242)\n").unwrap();
    t.run_args(&["--quiet", "up", "task0"])
        .code(1)
        .stderr("error: lab `task0` is busy: `infractl up` (pid 4242) is working on it\n  = hint: wait for it to finish, then run this again\n");
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn a_dry_run_lists_what_up_would_do_and_does_nothing() {
    let t = Test::new();
    let file = test_stack(&t, "task1", "it-dry", 218, true);
    let out = t.run_args(&["up", &file, "--dry-run"]).code(0);
    for server in ["ns", "lb-01", "server-01", "server-02", "client"] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with(server) && l.contains(" created ")),
            "{server} not to be created:\n{}",
            out.stdout
        );
    }
    assert!(
        out.stdout
            .contains("Dry run: 5 servers of lab `it-dry` would change; nothing was done."),
        "{}",
        out.stdout
    );
    assert!(labelled("container", "it-dry").is_empty());
    assert!(labelled("network", "it-dry").is_empty());
    assert!(!t.state_dir().join("it-dry").join("applied.json").exists());
}

/// A class: a lab per student, each on subnets of its own and published;
/// students added and removed on a second `class up`; `class down` leaves
/// nothing, state included.
#[test]
#[ignore = "needs the Docker engine and the node image"]
fn a_class_brings_up_a_published_lab_per_student_and_takes_them_down() {
    let _lab = lab_lock();
    let t = Test::new();
    t.file(
        "it-class.yaml",
        "stack: task0\nstudents: [ann, ben, cy]\npublish: true\n",
    );
    struct ClassDown<'a>(&'a Test);
    impl Drop for ClassDown<'_> {
        fn drop(&mut self) {
            let _ = self
                .0
                .run_args(&["--quiet", "class", "down", "it-class.yaml"]);
        }
    }
    let _down = ClassDown(&t);
    let up = t
        .run_args(&["--quiet", "class", "up", "it-class.yaml"])
        .code(0);
    assert!(
        up.stdout.contains("Class `it-class`: 3 of 3 labs up."),
        "{}",
        up.stdout
    );
    let status = |t: &Test| -> Vec<serde_json::Value> {
        let out = t.run_args(&["class", "status", "it-class.yaml", "--json"]);
        serde_json::from_str(&out.stdout).unwrap()
    };
    let labs = status(&t);
    let mut urls = Vec::new();
    for (l, student) in labs.iter().zip(["ann", "ben", "cy"]) {
        assert_eq!(l["student"], student);
        assert_eq!(l["lab"], format!("it-class-{student}"));
        assert_eq!(l["state"], "up", "{l}");
        let url = l["url"].as_str().unwrap().to_string();
        // Each learner's site answers at its own address on this machine.
        let got = Command::new("curl")
            .args(["-sSf", "-m", "5", &url])
            .output()
            .unwrap();
        let page = String::from_utf8_lossy(&got.stdout);
        assert!(
            page.contains("Served by web server"),
            "{url}: {page}{}",
            String::from_utf8_lossy(&got.stderr)
        );
        urls.push(url);
    }
    urls.dedup();
    assert_eq!(urls.len(), 3, "one address per lab");
    // One learner's lab tells nothing of another's: own passwords.
    let secret = |lab: &str| {
        std::fs::read_to_string(t.state_dir().join(lab).join("secrets/db-app.password")).unwrap()
    };
    assert_ne!(secret("it-class-ann"), secret("it-class-ben"));
    // Grading: every lab passes, a row per student.
    let grade = || {
        t.run_args(&[
            "--quiet",
            "class",
            "verify",
            "it-class.yaml",
            "--report",
            "grades",
        ])
    };
    grade().code(0);
    let csv = std::fs::read_to_string(t.dir().join("grades/report.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 4, "{csv}");
    assert!(
        rows[0].starts_with("student,lab,score,total,dns: "),
        "{}",
        rows[0]
    );
    // All pass: by name (the claims' columns, between the totals and the
    // hints).
    assert!(rows[0].ends_with(",hints"), "{}", rows[0]);
    let total = rows[0].split(',').count() - 5;
    assert!(
        rows[2].starts_with(&format!("ben,it-class-ben,{total},{total},pass,"))
            && !rows[2].contains("fail"),
        "{csv}"
    );
    // Ben's web server stops: his row fails, the others pass; the page says
    // what was expected and observed.
    t.run_args(&[
        "exec",
        "it-class-ben",
        "server-01",
        "--",
        "/etc/infractl/svc",
        "disable",
        "nginx",
    ])
    .code(0);
    let graded = grade().code(1);
    assert!(
        graded.stdout.contains("2 of 3 labs pass every claim"),
        "{}",
        graded.stdout
    );
    // Best first: ben, with the lower score, last.
    let csv = std::fs::read_to_string(t.dir().join("grades/report.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert!(
        rows[3].starts_with("ben,") && rows[3].contains(",fail"),
        "{csv}"
    );
    assert!(
        rows[1].starts_with("ann,")
            && rows[2].starts_with("cy,")
            && !rows[1].contains("fail")
            && !rows[2].contains("fail"),
        "{csv}"
    );
    let html = std::fs::read_to_string(t.dir().join("grades/index.html")).unwrap();
    assert!(
        html.contains("<th class=\"student\">ben</th>") && html.contains(" — expected "),
        "{html}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(t.dir().join("grades/report.json")).unwrap())
            .unwrap();
    assert_eq!(json["labs"][2]["student"], "ben");
    assert_eq!(json["labs"][2]["ok"], false);
    assert!(json["labs"][2]["score"].as_u64() < json["labs"][2]["total"].as_u64());
    // Ben leaves, dee joins.
    t.file("it-class.yaml", "stack: task0\nstudents: [ann, cy, dee]\n");
    t.run_args(&["--quiet", "class", "up", "it-class.yaml"])
        .code(0);
    let labs: Vec<String> = status(&t)
        .iter()
        .map(|l| l["lab"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(labs, ["it-class-ann", "it-class-cy", "it-class-dee"]);
    assert!(
        labelled("container", "it-class-ben").is_empty(),
        "ben's lab is gone"
    );
    t.run_args(&["--quiet", "class", "down", "it-class.yaml"])
        .code(0);
    for lab in ["it-class-ann", "it-class-cy", "it-class-dee"] {
        assert!(
            labelled("container", lab).is_empty(),
            "{lab} left containers"
        );
        assert!(labelled("network", lab).is_empty(), "{lab} left networks");
        assert!(!t.state_dir().join(lab).exists(), "{lab} left its state");
    }
}

/// Ctrl-C in the middle of `up`: exit 130, one line saying the lab is
/// partly up and how to go on; the next `up` brings it up.
#[test]
#[ignore = "needs the Docker engine and the node image"]
fn ctrl_c_stops_up_with_130_and_up_resumes() {
    use std::io::{BufRead, Read};
    let _lab = lab_lock();
    let t = Test::new();
    let file = test_stack(&t, "task0", "it-msg-int", 246, false);
    let _down = Down(&t, file.clone());
    let mut child = Command::new(env!("CARGO_BIN_EXE_infractl"))
        .args(["up", &file])
        .env("INFRACTL_STATE_DIR", t.state_dir())
        .current_dir(t.dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The first task of the bring-up done (without a terminal, one line each).
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "up ended before a task was done:\n{seen}"
        );
        seen.push_str(&line);
        if line.contains(" ok: ") {
            break;
        }
    }
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = child.wait().unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert_eq!(status.code(), Some(130), "{seen}{rest}");
    assert!(
        rest.contains(
            "error: interrupted: lab `it-msg-int` is partly up\n  = hint: `infractl up it-msg-int` resumes where this stopped; `infractl down it-msg-int` removes it\n"
        ),
        "{rest}"
    );
    t.run_args(&["--quiet", "up", &file])
        .code(0)
        .stdout_has("Lab `it-msg-int` is up");
}
