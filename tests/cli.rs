//! What a user sees from the commands that need no engine: help (an
//! example for every command), completions and the man page, list, schema,
//! render and diagram outputs, `-q`, and I/O errors that name their file.
//! Bad stacks have their own table (`stack_errors`, tests/errors/).

use crate::harness::{docker, Test};

#[test]
fn list_shows_the_five_shipped_stacks() {
    let out = Test::new().args(&["list"]).run().code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "STACK  DESCRIPTION");
    assert_eq!(lines.len(), 6);
    for (i, t) in ["task0", "task1", "task2", "task3", "task4"]
        .iter()
        .enumerate()
    {
        assert!(
            lines[i + 1].starts_with(&format!("{t}  ")),
            "{}",
            lines[i + 1]
        );
    }
    let json = Test::new().args(&["list", "--json"]).run().code(0);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 5);
}

#[test]
fn list_exercises_shows_each_shipped_exercise_with_its_stack() {
    let out = Test::new().args(&["list", "--exercises"]).run().code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("EXERCISE") && lines[0].ends_with("STACK  TITLE"),
        "{}",
        lines[0]
    );
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/exercises"))
        .unwrap()
        .count();
    assert_eq!(lines.len(), shipped + 1, "{}", out.stdout);
    assert!(
        lines.iter().any(|l| l.starts_with("task1-backend-out ")
            && l.contains(" task1 ")
            && l.ends_with("A web server nobody visits")),
        "{}",
        out.stdout
    );
    let json = Test::new()
        .args(&["list", "--exercises", "--json"])
        .run()
        .code(0);
    let v: Vec<serde_json::Value> = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v.len(), shipped);
    assert!(
        v.iter()
            .all(|e| e["stack"].as_str().is_some_and(|s| s.starts_with("task"))),
        "{v:?}"
    );
}

/// Every command of the definition, as the words that name it
/// (`["up"]`, `["image", "build"]`), groups included.
fn commands() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, path: &[String], out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let mut p = path.to_vec();
            p.push(sub.get_name().to_string());
            out.push(p.clone());
            walk(sub, &p, out);
        }
    }
    let mut out = Vec::new();
    walk(&infractl::cli::command(), &[], &mut out);
    out
}

#[test]
fn every_command_has_help_with_an_example() {
    let all = commands();
    assert!(all.len() >= 18, "{all:?}");
    for path in &all {
        let words: Vec<&str> = path.iter().map(String::as_str).collect();
        let example = format!("Example: infractl {}", words.join(" "));
        for flag in ["-h", "--help"] {
            let mut args = words.clone();
            args.push(flag);
            Test::new().args(&args).run().code(0).stdout_has(&example);
        }
    }
    Test::new()
        .args(&["--help"])
        .run()
        .code(0)
        .stdout_has("Exit codes: 0 ok, 1 the lab");
}

#[test]
fn host_flags_are_only_on_the_commands_that_reach_hosts() {
    let reach = [
        "up", "down", "status", "verify", "check", "chaos", "inject", "exec", "logs", "open",
        "alerts",
    ];
    for path in commands() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let help = Test::new().args(&args).run().code(0).stdout;
        let has = reach.contains(&args[0]) && path.len() == 1;
        for flag in [
            "--inventory",
            "--driver",
            "--known-hosts",
            "--accept-new-host-keys",
        ] {
            assert_eq!(help.contains(flag), has, "{path:?} and {flag}:\n{help}");
        }
        assert_eq!(help.contains("--purge-packages"), args[0] == "down");
    }
    Test::new()
        .args(&["list", "--inventory", "hosts.yaml"])
        .run()
        .code(2)
        .stderr("error: unexpected argument '--inventory' found\n\nUsage: infractl list [OPTIONS]\n\nFor more information, try '--help'.\n");
}

#[test]
fn dash_o_is_the_output_wherever_it_appears() {
    fn walk(cmd: &clap::Command, seen: &mut Vec<String>) {
        for a in cmd.get_arguments() {
            if a.get_short() == Some('o') {
                assert_eq!(a.get_long(), Some("output"), "{}", cmd.get_name());
                seen.push(cmd.get_name().to_string());
            }
            if a.get_long() == Some("output") {
                assert_eq!(a.get_short(), Some('o'), "{}", cmd.get_name());
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, seen);
        }
    }
    let mut seen = Vec::new();
    walk(&infractl::cli::command(), &mut seen);
    assert_eq!(seen, ["diagram", "render", "man"]);
    // `--out`, its old name, still works for render.
    let t = Test::new();
    t.run_args(&["-q", "render", "task0", "--out", "o"]).code(0);
    assert!(t.dir().join("o/plan.json").is_file());
}

#[test]
fn completions_and_man_page_name_every_command() {
    let top: Vec<String> = commands()
        .into_iter()
        .filter(|p| p.len() == 1)
        .map(|p| p[0].clone())
        .collect();
    for shell in ["bash", "zsh", "fish"] {
        let out = Test::new()
            .args(&["completions", shell])
            .run()
            .code(0)
            .stdout;
        for name in top
            .iter()
            .chain(["build", "show", "rm"].map(String::from).iter())
        {
            assert!(
                out.contains(name.as_str()),
                "{shell} completions lack {name}"
            );
        }
        assert!(out.contains("accept-new-host-keys"), "{shell}");
    }
    let man = Test::new().args(&["man"]).run().code(0).stdout;
    assert!(man.contains(".TH infractl 1"), "{man}");
    for name in &top {
        assert!(
            man.contains(&format!("infractl\\-{name}(1)")),
            "man lacks {name}"
        );
    }
    // One page per command, each with its example.
    let t = Test::new();
    t.run_args(&["man", "-o", "man"])
        .code(0)
        .stderr("wrote 32 man pages into man (infractl.1, infractl-up.1, ...)\n");
    for path in commands() {
        let page = t
            .dir()
            .join("man")
            .join(format!("infractl-{}.1", path.join("-")));
        let text = std::fs::read_to_string(&page).unwrap_or_else(|_| panic!("{page:?}"));
        assert!(text.contains("Example: infractl"), "{page:?}");
    }
}

#[test]
fn quiet_leaves_results_and_errors_only() {
    let t = Test::new();
    // render's product is the directory: what it wrote is status, on stderr.
    let out = t.run_args(&["render", "task0", "-o", "a"]).code(0);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.starts_with("Rendered stack `task0`: 3 servers"));
    let out = t.run_args(&["-q", "render", "task0", "-o", "a"]).code(0);
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
    // Results stay on stdout.
    let out = t
        .run_args(&["render", "task0", "-o", "a", "--json", "--quiet"])
        .code(0);
    assert_eq!(out.stderr, "");
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(plan["stack"], "task0");
    let out = t.run_args(&["-q", "list"]).code(0);
    assert!(out.stdout.starts_with("STACK"));
    let out = t.run_args(&["diagram", "task0", "-o", "d.svg"]).code(0);
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, "wrote d.svg (svg, 3 servers)\n");
    let out = t
        .run_args(&["diagram", "-q", "task0", "-o", "d.svg"])
        .code(0);
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
    // Errors are never silenced.
    t.run_args(&["-q", "render", "nope.yaml", "-o", "b"])
        .code(2)
        .stderr("error: cannot read stack file `nope.yaml`: No such file or directory (os error 2)\n  = hint: built-in stacks: task0, task1, task2, task3, task4 (see `infractl list`); or give a path to a YAML file\n");
}

#[test]
fn render_replaces_an_earlier_render_whole_and_nothing_else() {
    let t = Test::new();
    t.run_args(&["-q", "render", "task3", "-o", "out"]).code(0);
    assert!(t.dir().join("out/lb-02").is_dir());
    t.run_args(&["-q", "render", "task0", "-o", "out"]).code(0);
    let mut names: Vec<String> = std::fs::read_dir(t.dir().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["client", "ns", "plan.json", "server-01"]);
    // Nothing left beside it.
    let mut beside: Vec<String> = std::fs::read_dir(t.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    beside.sort();
    assert_eq!(beside, ["out"]);
    // An empty directory is filled.
    std::fs::create_dir(t.dir().join("empty")).unwrap();
    t.run_args(&["-q", "render", "task0", "-o", "empty"])
        .code(0);
    assert!(t.dir().join("empty/plan.json").is_file());
    // Someone else's files: refused, untouched.
    t.file("notes.txt", "mine\n");
    std::fs::create_dir(t.dir().join("mine")).unwrap();
    std::fs::write(t.dir().join("mine/notes.txt"), "mine\n").unwrap();
    for dir in ["mine", "."] {
        t.run_args(&["render", "task0", "-o", dir]).code(2).stderr(&format!(
            "error: `{dir}` is not empty and holds no render of infractl\n  = hint: render into a new or empty directory, or into an earlier render (which is replaced whole)\n"
        ));
    }
    // A render with a stranger inside is not a render any more.
    t.file("out/notes.txt", "mine\n");
    t.run_args(&["render", "task0", "-o", "out"])
        .code(2)
        .stderr("error: `out` is not empty and holds no render of infractl\n  = hint: render into a new or empty directory, or into an earlier render (which is replaced whole)\n");
    assert_eq!(
        std::fs::read_to_string(t.dir().join("out/notes.txt")).unwrap(),
        "mine\n"
    );
    t.run_args(&["render", "task0", "-o", "notes.txt"])
        .code(2)
        .stderr("error: `notes.txt` exists and is not a directory\n");
}

#[test]
fn diagram_format_follows_the_extension_and_refuses_others() {
    let t = Test::new();
    t.run_args(&["diagram", "task1", "-o", "d.png"])
        .code(2)
        .stderr("error: cannot write `d.png`: infractl draws SVG, Mermaid and DOT, not .png\n  = hint: write SVG and convert it (e.g. `-o x.svg`, then `rsvg-convert -o x.png x.svg`), or DOT and `dot -Tpng`\n");
    t.run_args(&["diagram", "task1", "--format", "svg", "-o", "d.png"])
        .code(2);
    assert!(!t.dir().join("d.png").exists(), "wrote a .png");
    t.run_args(&["-q", "diagram", "task1", "-o", "d.mmd"])
        .code(0);
    let mmd = std::fs::read_to_string(t.dir().join("d.mmd")).unwrap();
    assert!(mmd.contains("\nflowchart LR\n"), "{mmd}");
    t.run_args(&["-q", "diagram", "task1", "-o", "d.gv"])
        .code(0);
    let dot = std::fs::read_to_string(t.dir().join("d.gv")).unwrap();
    assert!(dot.starts_with("digraph"), "{dot}");
}

#[test]
fn a_state_directory_that_cannot_be_written_is_named() {
    let t = Test::new();
    // Under a regular file nothing can be created, even by root (who
    // ignores permission bits).
    t.file("blocker", "");
    t.run_args(&[
        "render",
        "task0",
        "-o",
        "out",
        "--state-dir",
        "blocker/state",
    ])
    .code(1)
    .stderr(
        "error: cannot create the state directory of lab `task0`
  Caused by: failed to create directory `blocker/state/task0/secrets`
  Caused by: Not a directory (os error 20)
",
    );
    t.run_args(&["down", "task0", "--state-dir", "blocker/state"])
        .code(1)
        .stderr(
            "error: cannot create the state directory of lab `task0`
  Caused by: failed to create directory `blocker/state/task0`
  Caused by: Not a directory (os error 20)
",
        );
    assert!(!t.dir().join("out").exists());
    // A file that cannot be written: here the lock, a directory in its way.
    std::fs::create_dir_all(t.dir().join("state/task0/lock")).unwrap();
    t.run_args(&["down", "task0", "--state-dir", "state"])
        .code(1)
        .stderr(
            "error: cannot take the lock of lab `task0`
  Caused by: failed to open file `state/task0/lock`
  Caused by: Is a directory (os error 21)
",
        );
}

#[test]
fn schema_describes_the_stack_format() {
    let out = Test::new().args(&["schema"]).run().code(0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    // A complete stack (`else`); one that `extends` another is an overlay.
    let props = v["else"]["properties"].as_object().unwrap();
    for key in [
        "domain", "networks", "servers", "dns", "tls", "firewall", "extends",
    ] {
        assert!(props.contains_key(key), "schema lacks {key}");
    }
    let text = out.stdout;
    for kind in ["nginx", "haproxy", "keepalived", "monitoring-client"] {
        assert!(
            text.contains(&format!("\"{kind}\"")),
            "schema lacks component {kind}"
        );
    }
}

#[test]
fn render_writes_every_config_of_task3() {
    let t = Test::new();
    let done = t.run_args(&["render", "task3", "-o", "out"]).code(0);
    assert!(
        done.stderr
            .starts_with("Rendered stack `task3`: 11 servers"),
        "{}",
        done.stderr
    );
    let out = t.dir().join("out");
    for f in [
        "lb-01/etc/haproxy/haproxy.cfg",
        "lb-02/etc/haproxy/haproxy.cfg",
        "lb-01/etc/keepalived/keepalived.conf",
        "lb-02/etc/keepalived/keepalived.conf",
        "db-01/etc/mysql/mariadb.conf.d/60-infractl.cnf",
        "db-02/etc/mysql/mariadb.conf.d/60-infractl.cnf",
        "db-01/etc/infractl/mariadb/primary.sql",
        "db-02/etc/infractl/mariadb/replica.sql",
        "ns/var/lib/bind/db.foobar.com",
        "web-01/etc/nginx/nginx.conf",
        "app-01/srv/app/app.py",
        "admin/etc/prometheus/prometheus.yml",
        "plan.json",
    ] {
        assert!(out.join(f).is_file(), "{f} not rendered");
    }
    for s in [
        "lb-01", "lb-02", "web-01", "web-02", "app-01", "app-02", "db-01", "db-02",
    ] {
        assert!(
            out.join(s).join("etc/infractl/ufw/rules").is_file(),
            "{s} has no ufw rules"
        );
    }
    // Secrets are written 0600, and never appear in the plan.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(out.join("db-02/etc/infractl/mariadb/replica.sql"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let plan = std::fs::read_to_string(out.join("plan.json")).unwrap();
    let password =
        std::fs::read_to_string(t.state_dir().join("task3/secrets/db-replication.password"))
            .unwrap();
    assert!(!plan.contains(&password));
    let v: serde_json::Value = serde_json::from_str(&plan).unwrap();
    assert_eq!(v["order"][0], serde_json::json!(["ns"]));
    let lb = v["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "lb-01")
        .unwrap();
    let f = &lb["files"][0];
    for key in ["path", "mode", "sha256"] {
        assert!(f.get(key).is_some(), "plan file entry lacks {key}");
    }
    for key in ["packages", "services", "probes", "checks"] {
        assert!(
            !lb[key].as_array().unwrap().is_empty(),
            "lb-01 has no {key}"
        );
    }
}

#[test]
fn render_is_deterministic() {
    let t = Test::new();
    t.run_args(&["render", "task2", "--out", "a"]).code(0);
    t.run_args(&["render", "task2", "--out", "b"]).code(0);
    let read = |d: &str| std::fs::read_to_string(t.dir().join(d).join("plan.json")).unwrap();
    assert_eq!(read("a"), read("b"));
}

// Bad stacks: one table, tests/errors/<case>.yaml and its exact
// <case>.stderr, run by tests/stack_errors.rs.

#[test]
fn missing_stack_file() {
    Test::new()
        .args(&["render", "nope.yaml", "--out", "out"])
        .run()
        .code(2)
        .stderr(
            "error: cannot read stack file `nope.yaml`: No such file or directory (os error 2)
  = hint: built-in stacks: task0, task1, task2, task3, task4 (see `infractl list`); or give a path to a YAML file
",
        );
}

/// A design review's answers are read before anything is killed: a bad
/// file is refused at its place, with no lab needed.
#[test]
fn chaos_refuses_bad_answers_before_it_reaches_a_lab() {
    let t = Test::new();
    let answers = t.file("answers.yaml", "down:\n  lb-01: site\n  server-1: writes\n");
    t.run_args(&["chaos", "task1", "--answers", answers.to_str().unwrap()])
        .code(2)
        .stderr(&format!(
            "error: stack `task1` has no server `server-1`
 --> {}:3:3
  |
3 |   server-1: writes
  |   ^^^^^^^^
  = hint: did you mean `server-01`?
",
            answers.display()
        ));
    let answers = t.file("wrong.yaml", "down: { lb-01: everything }\n");
    t.run_args(&["chaos", "task1", "--answers", answers.to_str().unwrap()])
        .code(2)
        .stderr_has("`site`, `reads`, `writes`, `reads and writes`");
}

#[test]
fn driver_and_inventory_must_agree() {
    let t = Test::new();
    t.run_args(&["status", "task1", "--driver", "ssh"])
        .code(2)
        .stderr("error: --driver ssh needs --inventory FILE: the hosts to reach and how\n\nUsage: infractl [OPTIONS] <COMMAND>\n\nFor more information, try '--help'.\n");
    t.file("hosts.yaml", "hosts: {}\n");
    t.run_args(&[
        "status",
        "--driver",
        "docker",
        "--inventory",
        "hosts.yaml",
        "task1",
    ])
    .code(2)
    .stderr("error: --inventory is for --driver ssh; the Docker driver makes its own hosts\n\nUsage: infractl [OPTIONS] <COMMAND>\n\nFor more information, try '--help'.\n");
    t.run_args(&["down", "task1", "--purge-packages"])
        .code(2)
        .stderr("error: --purge-packages is for hosts reached over SSH (with --inventory): a container's packages go with it\n");
}

/// Removes a container when the test ends, passed or failed.
struct Container(&'static str);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", self.0])
            .output();
    }
}

/// This version's node image, built if it is not there yet.
fn node_image() -> String {
    Test::new().args(&["-q", "image", "build"]).run().code(0);
    let show = Test::new().args(&["image", "show"]).run().code(0).stdout;
    show.lines()
        .find_map(|l| l.strip_prefix("image:"))
        .expect("image line")
        .trim()
        .to_string()
}

/// `logs --follow` against one real container of the node image (no lab):
/// new lines show as they are written, and Ctrl-C ends the command with
/// exit 130 (as every command) and stops the `tail` it started in the container.
#[test]
#[ignore = "needs the Docker engine and the node image"]
fn logs_follow_streams_until_ctrl_c() {
    use std::io::BufRead;
    use std::time::Duration;
    let image = node_image();
    let name = "h-cli-follow-web";
    let _c = Container(name);
    let _ = std::process::Command::new("docker")
        .args(["rm", "-f", name])
        .output();
    docker(&[
        "run",
        "-d",
        "--name",
        name,
        "--label",
        "io.infractl.lab=h-cli-follow",
        "--network",
        "none",
        &image,
        "sleep",
        "300",
    ]);
    let log = "/var/log/infractl/nginx/current";
    docker(&[
        "exec",
        name,
        "sh",
        "-c",
        &format!("mkdir -p /etc/infractl/sv/nginx /var/log/infractl/nginx && printf 'old 1\\nold 2\\n' > {log}"),
    ]);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_infractl"))
        .args([
            "logs",
            "h-cli-follow",
            "web",
            "nginx",
            "--follow",
            "-n",
            "1",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run infractl");
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let next = || {
        rx.recv_timeout(Duration::from_secs(10))
            .expect("a line in time")
    };
    assert_eq!(next(), "old 2");
    docker(&["exec", name, "sh", "-c", &format!("echo new 3 >> {log}")]);
    assert_eq!(next(), "new 3");
    let tails = || {
        docker(&["exec", name, "ps", "-eo", "comm"])
            .matches("tail")
            .count()
    };
    assert_eq!(tails(), 1);
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    let status = child.wait().expect("wait");
    // Stopped by Ctrl-C, as every command: 130.
    assert_eq!(status.code(), Some(130));
    assert_eq!(tails(), 0, "the tail in the container outlived the command");
}

/// `image rm --old` removes what an earlier version left (an image of
/// another tag, its own id) and keeps this version's; while a container
/// uses that image, it is refused, names the container, and changes
/// nothing.
#[test]
#[ignore = "needs the Docker engine and the node image"]
fn image_rm_old_keeps_this_version_and_what_is_in_use() {
    let image = node_image();
    // An earlier version's image: this one with a label more (an id of its
    // own), made from a one-line Dockerfile on the input.
    let old = format!("infractl/node:0ld{}", std::process::id());
    let built = std::process::Command::new("sh")
        .args([
            "-c",
            &format!("printf 'FROM {image}\\nLABEL io.infractl.test=old\\n' | docker build -q -t {old} -"),
        ])
        .output()
        .expect("docker build");
    assert!(built.status.success(), "{built:?}");
    let name = "h-cli-image-user";
    let _c = Container(name);
    docker(&["run", "-d", "--name", name, &old, "sleep", "120"]);
    Test::new()
        .args(&["image", "rm", "--old"])
        .run()
        .code(1)
        .stderr_has(&format!("{old} is in use by 1 container: {name}"));
    let present = |r: &str| {
        std::process::Command::new("docker")
            .args(["image", "inspect", r])
            .output()
            .expect("docker cli")
            .status
            .success()
    };
    assert!(present(&old), "a refused rm removed {old}");
    docker(&["rm", "-f", name]);
    Test::new()
        .args(&["image", "rm", "--old"])
        .run()
        .code(0)
        .stdout_has(&format!("removed image {old}"));
    assert!(!present(&old), "{old} is still there");
    assert!(present(&image), "this version's image {image} went too");
}

/// Ctrl-C stops a command with exit 130 and one line, whatever it was
/// doing: here waiting for an engine that takes the connection and never
/// answers.
#[test]
fn ctrl_c_exits_130_with_one_line() {
    use std::io::Read;
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let t = Test::new();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_infractl"))
        .args(["status", "task0"])
        .env("DOCKER_HOST", format!("tcp://127.0.0.1:{port}"))
        .env("INFRACTL_STATE_DIR", t.state_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // It is waiting once it has connected.
    let (_held, _) = silent.accept().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(
        (status.code(), stderr.as_str()),
        (Some(130), "error: interrupted\n")
    );
}

/// The README's command table names every command, and every subcommand
/// of those that have them (`class verify`, `image rm`), as the help does.
#[test]
fn the_readme_lists_every_command() {
    use clap::CommandFactory;
    let readme = include_str!("../README.md");
    let table = readme
        .split("\n## Commands\n")
        .nth(1)
        .and_then(|s| s.split("```").nth(1))
        .expect("README's command table");
    let lines: Vec<&str> = table.lines().collect();
    let listed = |words: &[&str]| {
        let head = format!("infractl {} ", words[0]);
        lines.iter().any(|l| {
            l.starts_with(&head)
                && words[1..]
                    .iter()
                    .all(|w| l.split([' ', '|']).any(|x| x == *w))
        })
    };
    for c in infractl::cli::Cli::command().get_subcommands() {
        let name = c.get_name();
        if c.is_hide_set() || name == "help" {
            continue;
        }
        assert!(listed(&[name]), "README's command table lacks `{name}`");
        for sub in c.get_subcommands() {
            assert!(
                listed(&[name, sub.get_name()]),
                "README's command table lacks `{name} {}`",
                sub.get_name()
            );
        }
    }
}

#[test]
fn serve_refuses_a_port_in_use_and_links_need_a_class_that_is_up() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = taken.local_addr().expect("its address").port();
    let at = format!("127.0.0.1:{port}");
    Test::new()
        .args(&["serve", "--listen", &at])
        .run()
        .code(2)
        .stderr(&format!(
            "error: cannot listen on {at}: the port is in use (another `infractl serve`?)\n  \
             = hint: choose another with --listen ADDR:PORT\n"
        ));
    Test::new()
        .args(&["serve", "--listen", "localhost"])
        .run()
        .code(2)
        .stderr_has("--listen `localhost` is not an address");
    let t = Test::new();
    t.file("mon.yaml", "stack: task1\nstudents: [ann]\n");
    t.run_args(&["class", "links", "mon.yaml"]).code(2).stderr(
        "error: class `mon` has no links yet\n  \
             = hint: `infractl class up FILE` makes them with the labs\n",
    );
    t.run_args(&["class", "links", "mon.yaml", "--csv", "--json"])
        .code(2)
        .stderr_has("cannot be used with");
}
