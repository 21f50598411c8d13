//! Shell text. Every script a host runs is sh (dash on Debian) and lives
//! as a file in `src/shell/`, beside this module, which embeds it: the file
//! shellcheck reads is the script that runs. A script gets its values as
//! positional parameters: [`with_args`] puts a `set --` line, each value
//! quoted, before the file's text, which nothing splices into. A script
//! that must be generated (a file a host runs as it is, with no arguments)
//! is a Tera template there, rendered by [`render`]. Whatever waits for
//! something polls with the one helper, `poll` (src/shell/poll.sh, see
//! [`polling`]). Every value put into shell text goes through
//! [`shell_quote`].

/// Declares the embedded script files: a constant each, and [`SCRIPTS`].
macro_rules! scripts {
    ($($(#[$doc:meta])* $name:ident = $file:literal;)*) => {
        $($(#[$doc])* pub const $name: &str = include_str!(concat!("shell/", $file));)*
        /// Every script file of `src/shell/`, by file name.
        pub const SCRIPTS: &[(&str, &str)] = &[$(($file, $name)),*];
    };
}

scripts! {
    /// PID 1 of a node (see `image`): the before-start steps, then runit
    /// over the services; stops them cleanly on TERM.
    NODE_INIT = "node-init.sh";
    /// Run in the node image's new root filesystem before it is imported.
    IMAGE_FINISH = "image-finish.sh";
    /// The helper placed on every host as `/etc/infractl/svc` (see
    /// `supervise`).
    SVC = "svc.sh";
    /// The SSH driver's (see `driver::ssh`): a host's missing packages.
    INSTALL_PACKAGES = "install-packages.sh";
    /// The SSH driver's: the files of the archive on stdin, into place.
    PLACE = "place.sh";
    /// The SSH driver's: what the host is set up with.
    PREPARE_HOST = "prepare-host.sh";
    /// The SSH driver's: the services started.
    START = "start.sh";
    /// The SSH driver's: everything infractl placed removed.
    REMOVE = "remove.sh";
    /// The SSH driver's: what a host was set up with and how its services are.
    HOST_STATE = "host-state.sh";
    /// The SSH driver's: parts of scripts run as one, in one round trip.
    BATCH = "batch.sh";
    /// The one poll loop: a function the scripts below use (see
    /// [`polling`]).
    POLL = "poll.sh";
    /// Waits for a server's readiness probes (see `supervise::wait_ready`).
    WAIT_READY = "wait-ready.sh";
    /// `chaos`: what works of the site while a server is down.
    CHAOS_PROBE = "chaos-probe.sh";
    /// `verify`: how long a note takes to reach a replica.
    REPLICA_LAG = "replica-lag.sh";
    /// `verify`: how long the site is gone when a load balancer dies.
    FAILOVER_GAP = "failover-gap.sh";
    /// A published lab's forwarder: until it takes connections.
    LISTENING = "listening.sh";
    /// A Galera node's service: found the cluster or join it.
    GALERA_START = "galera-start.sh";
    /// `chaos`: until a Galera node has left the primary component.
    QUORUM_LOST = "quorum-lost.sh";
    /// A lab's networks cut off from the engine's host and beyond (see
    /// `driver::docker::isolate`).
    ISOLATE = "isolate.sh";
    /// Whether a lab's server finds the engine's host refusing it, as
    /// `ISOLATE`'s rules make it.
    CUT_OFF = "cut-off.sh";
    /// A stage that moves the database: the learners' databases dumped.
    DUMP_DATABASES = "dump-databases.sh";
    /// ... and loaded into the server they move to.
    LOAD_DATABASES = "load-databases.sh";
}

/// Declares the templates: a constant each (its name), and [`TEMPLATES`].
macro_rules! templates {
    ($($(#[$doc:meta])* $name:ident = $file:literal;)*) => {
        $($(#[$doc])* pub const $name: &str = $file;)*
        /// Every template of `src/shell/`: (file name, text).
        pub const TEMPLATES: &[(&str, &str)] =
            &[$(($file, include_str!(concat!("shell/", $file)))),*];
    };
}

templates! {
    /// A service's `run` script: its pre-start commands, then the program
    /// in the foreground (see `supervise`).
    SERVICE_RUN = "service-run.sh.tera";
    /// A service's `log/run` script: svlogd into its log directory.
    SERVICE_LOG_RUN = "service-log-run.sh.tera";
    /// The steps the init runs before the services start.
    BEFORE_START = "before-start.sh.tera";
}

/// Renders `template` (one of [`TEMPLATES`]): for a script that must be
/// generated, as a file a host runs without arguments must be. A value is
/// put in as it is, or quoted with the `q` filter.
pub fn render(template: &str, context: &tera::Context) -> String {
    static TERA: std::sync::OnceLock<tera::Tera> = std::sync::OnceLock::new();
    let tera = TERA.get_or_init(|| {
        let mut tera = tera::Tera::default();
        tera.autoescape_on(vec![]);
        tera.register_filter("q", quote_filter);
        tera.add_raw_templates(TEMPLATES.iter().copied())
            .expect("the shell templates parse");
        tera
    });
    tera.render(template, context)
        .unwrap_or_else(|e| panic!("rendering {template}: {e:?}"))
}

/// The `q` filter: a string single-quoted for sh.
fn quote_filter(
    value: &tera::Value,
    _: &std::collections::HashMap<String, tera::Value>,
) -> tera::Result<tera::Value> {
    let s = value
        .as_str()
        .ok_or_else(|| tera::Error::msg("q quotes strings only"))?;
    Ok(tera::Value::String(shell_quote(s)))
}

/// Single-quotes `s` for sh.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-:=@,".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `script` (one of [`SCRIPTS`]) run with `args` as its positional
/// parameters.
pub fn with_args<S: AsRef<str>>(script: &str, args: &[S]) -> String {
    let mut out = String::from("set --");
    for a in args {
        out.push(' ');
        out.push_str(&shell_quote(a.as_ref()));
    }
    out.push('\n');
    out.push_str(script);
    out
}

/// Like [`with_args`], for a script that polls: [`POLL`] comes first.
pub fn polling<S: AsRef<str>>(script: &str, args: &[S]) -> String {
    with_args(&format!("{POLL}{script}"), args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(
            shell_quote("/etc/nginx/nginx.conf"),
            "/etc/nginx/nginx.conf"
        );
        assert_eq!(shell_quote("root:www-data"), "root:www-data");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    /// `sh -n`'s complaint about `text`, if any.
    fn syntax_error(text: &str) -> Option<String> {
        let mut sh = Command::new("sh")
            .arg("-n")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sh runs");
        sh.stdin
            .take()
            .expect("piped")
            .write_all(text.as_bytes())
            .expect("sh reads the script");
        let out = sh.wait_with_output().expect("sh finishes");
        (!out.status.success()).then(|| String::from_utf8_lossy(&out.stderr).into_owned())
    }

    #[test]
    fn every_script_file_is_embedded_and_parses() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/shell");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .expect("src/shell")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n != ".shellcheckrc")
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = SCRIPTS
            .iter()
            .chain(TEMPLATES)
            .map(|(n, _)| n.to_string())
            .collect();
        embedded.sort();
        assert_eq!(
            on_disk, embedded,
            "src/shell/ and SCRIPTS, TEMPLATES differ"
        );
        for (name, text) in SCRIPTS {
            if let Some(e) = syntax_error(text) {
                panic!("src/shell/{name} does not parse: {e}");
            }
        }
    }

    /// A batch stops at the first part that fails, even halfway through a
    /// part under `set -e`, and names it; a part that reads no archive
    /// gets no stdin.
    #[test]
    fn a_batch_stops_where_a_part_fails() {
        let run = |parts: &[&str]| {
            let out = Command::new("sh")
                .args(["-c", &with_args(BATCH, parts)])
                .stdin(Stdio::null())
                .output()
                .expect("sh runs");
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        let (code, out, err) = run(&[
            "-",
            "echo one",
            "-",
            "set -e; false; echo two",
            "-",
            "echo three",
        ]);
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (Some(1), "one\n", "infractl-failed-part:1\n")
        );
        let (code, out, _) = run(&["-", "echo one", "-", "cat; echo two"]);
        assert_eq!((code, out.as_str()), (Some(0), "one\ntwo\n"));
    }

    /// Contexts that between them take every branch of the templates.
    fn sample_contexts() -> [tera::Context; 2] {
        let mut full = tera::Context::new();
        full.insert("name", "app");
        full.insert("log_dir", "/var/log/infractl");
        full.insert("pre", &["install -d -o www-data /run/app", "echo 'a b'"]);
        full.insert("command", &["gunicorn", "--bind", "it's here"]);
        full.insert("user", "www-data");
        full.insert(
            "steps",
            &[
                serde_json::json!({"name": "one", "run": "mkdir -p /run/a && true"}),
                serde_json::json!({"name": "two", "run": "echo \"$HOME\""}),
            ],
        );
        let mut bare = tera::Context::new();
        bare.insert("name", "app");
        bare.insert("log_dir", "/var/log/infractl");
        bare.insert("pre", &Vec::<String>::new());
        bare.insert("command", &["nginx"]);
        bare.insert("steps", &Vec::<String>::new());
        [full, bare]
    }

    #[test]
    fn every_template_renders_a_script_that_parses() {
        let [full, bare] = sample_contexts();
        for (name, _) in TEMPLATES {
            for context in [&full, &bare] {
                let text = render(name, context);
                if let Some(e) = syntax_error(&text) {
                    panic!("src/shell/{name} renders a script that does not parse: {e}\n{text}");
                }
            }
        }
        assert_eq!(
            render(SERVICE_RUN, &full),
            "#!/bin/sh\n# app: run by infractl's supervisor (rendered by infractl)\nexec 2>&1\ninstall -d -o www-data /run/app\necho 'a b'\nexec chpst -u www-data gunicorn --bind 'it'\\''s here'\n"
        );
        assert_eq!(
            render(BEFORE_START, &bare),
            "#!/bin/sh\n# Steps run before the services start (rendered by infractl).\n"
        );
    }

    #[test]
    #[ignore = "needs shellcheck (scripts/setup.sh installs it); CI runs it"]
    fn every_template_renders_a_script_shellcheck_passes() {
        let mut failures = String::new();
        for (name, _) in TEMPLATES {
            for context in &sample_contexts() {
                let text = render(name, context);
                let mut sc = Command::new("shellcheck")
                    .args(["--shell=sh", "-"])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .expect("shellcheck runs (scripts/setup.sh installs it)");
                sc.stdin
                    .take()
                    .expect("piped")
                    .write_all(text.as_bytes())
                    .expect("shellcheck reads the script");
                let out = sc.wait_with_output().expect("shellcheck finishes");
                if !out.status.success() {
                    failures.push_str(&format!(
                        "src/shell/{name}, rendered:\n{text}\n{}\n",
                        String::from_utf8_lossy(&out.stdout)
                    ));
                }
            }
        }
        assert!(failures.is_empty(), "{failures}");
    }

    #[test]
    fn the_syntax_check_catches_errors() {
        assert!(syntax_error("if true; then echo\n").is_some());
        assert!(syntax_error("echo ok\n").is_none());
    }

    #[test]
    fn arguments_reach_the_script_as_they_are() {
        let args = ["-o", "a b", "it's", "", "$HOME", "\\n"];
        let script = with_args("printf '%s|' \"$@\"\n", &args);
        let out = Command::new("sh")
            .args(["-c", &script])
            .output()
            .expect("sh runs");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "-o|a b|it's||$HOME|\\n|"
        );
    }
}
