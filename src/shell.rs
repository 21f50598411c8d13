//! Shell text. Scripts run on hosts are sh (dash on Debian), and each is a
//! file in `src/shell/`, embedded here, so that the file shellcheck reads
//! is the script that runs. A script gets its values as positional
//! parameters: [`with_args`] puts a `set --` line, each value quoted, before
//! the file's text, which is never spliced into. Every value put into shell
//! text goes through [`shell_quote`]. Whatever waits for something to
//! happen polls with the one helper, `poll` (src/shell/poll.sh).

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
        let mut embedded: Vec<String> = SCRIPTS.iter().map(|(n, _)| n.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded, "src/shell/ and SCRIPTS differ");
        for (name, text) in SCRIPTS {
            if let Some(e) = syntax_error(text) {
                panic!("src/shell/{name} does not parse: {e}");
            }
        }
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
