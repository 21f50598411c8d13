//! Services: the plan's services become `/etc/infractl/sv/<name>/run`
//! scripts (the program in the foreground), logging to
//! `/var/log/infractl/<name>/current`. A helper placed with them,
//! `/etc/infractl/svc` (src/shell/svc.sh), runs them under systemd on a host booted
//! with it and under runit elsewhere; everything else speaks to the helper,
//! so the plan is the same whatever the host's init. The node image's init
//! is runit: it links the services into `/etc/service` and runs the plan's
//! before-start steps first, so `docker restart` brings everything back the
//! way systemd would on a VM.

use crate::render::plan::{sha256_hex, FileSpec, Reload, ServerPlan, Service, Step, When};
use crate::shell;

/// Where service directories live.
pub const SV_DIR: &str = "/etc/infractl/sv";
/// Where each service's log directory lives.
pub const LOG_DIR: &str = "/var/log/infractl";
/// Steps run by the init before the services start.
pub const BEFORE_START: &str = "/etc/infractl/before-start.sh";
/// The helper that speaks to the host's init (src/shell/svc.sh).
pub const SVC: &str = "/etc/infractl/svc";
/// The server's readiness probes as a script: the node's init runs it
/// once the services start and prints [`BOOT_READY`] when it passes.
pub const READY: &str = "/etc/infractl/ready";
/// The line the node's init prints on its output once every service is
/// ready (src/shell/node-init.sh)...
pub const BOOT_READY: &str = "infractl: ready";
/// ... and how the line begins when one never was (the service follows).
pub const BOOT_NOT_READY: &str = "infractl: not ready:";
/// Shell printing a line per service: `STATE NAME` (run, down, fail).
pub const STATUS: &str = "/etc/infractl/svc status";

/// One service's state, as the helper reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServiceStatus {
    pub name: String,
    /// `run`, `down`, `fail` as the supervisor says.
    pub state: String,
}

/// Parses the helper's status lines (`STATUS`): `run nginx`, `down app`.
pub fn parse_status(text: &str) -> Vec<ServiceStatus> {
    text.lines()
        .filter_map(|l| {
            let (state, name) = l.trim().split_once(' ')?;
            Some(ServiceStatus {
                name: name.trim().to_string(),
                state: state.to_string(),
            })
        })
        .collect()
}

/// A file owned by root, its content not secret.
pub fn plain_file(path: &str, mode: u32, content: String) -> FileSpec {
    file(path.to_string(), mode, content)
}

fn file(path: String, mode: u32, content: String) -> FileSpec {
    FileSpec {
        sha256: sha256_hex(content.as_bytes()),
        path,
        mode,
        owner: None,
        secret: false,
        content: content.into_bytes(),
    }
}

/// The run script of a service.
pub fn run_script(s: &Service) -> String {
    let mut context = tera::Context::new();
    context.insert("name", &s.name);
    context.insert("pre", &s.pre);
    context.insert("command", &s.command);
    if let Some(user) = &s.user {
        context.insert("user", user);
    }
    shell::render(shell::SERVICE_RUN, &context)
}

/// The files that put a server's services (and before-start steps) under runit.
pub fn files(server: &ServerPlan) -> Vec<FileSpec> {
    let mut out = Vec::new();
    for s in &server.services {
        out.push(file(
            format!("{SV_DIR}/{}/run", s.name),
            0o755,
            run_script(s),
        ));
        if !s.replaces.is_empty() {
            out.push(file(
                format!("{SV_DIR}/{}/replaces", s.name),
                0o644,
                format!("{}\n", s.replaces.join("\n")),
            ));
        }
        let mut context = tera::Context::new();
        context.insert("name", &s.name);
        context.insert("log_dir", LOG_DIR);
        out.push(file(
            format!("{SV_DIR}/{}/log/run", s.name),
            0o755,
            shell::render(shell::SERVICE_LOG_RUN, &context),
        ));
    }
    let steps: Vec<&Step> = server
        .setup
        .iter()
        .filter(|s| s.when == When::BeforeStart)
        .collect();
    let mut context = tera::Context::new();
    context.insert("steps", &steps);
    out.push(file(
        BEFORE_START.to_string(),
        0o755,
        shell::render(shell::BEFORE_START, &context),
    ));
    out.push(file(SVC.to_string(), 0o755, shell::SVC.to_string()));
    out.push(file(
        READY.to_string(),
        0o755,
        format!(
            "#!/bin/sh\n# The readiness probes, run by the node's init at boot (rendered by infractl).\n{}",
            wait_ready(server, crate::render::plan::READY_SECONDS)
        ),
    ));
    out
}

/// Shell that starts supervising `name` now and at boot.
pub fn enable(name: &str) -> String {
    format!("{SVC} enable {name}")
}

/// Shell that stops and forgets a service.
pub fn disable(name: &str) -> String {
    format!("{SVC} disable {name}")
}

/// Shell that stops a service until it is started again.
pub fn stop(name: &str) -> String {
    format!("{SVC} stop {name}")
}

/// Shell that starts a service stopped by [`stop`].
pub fn start(name: &str) -> String {
    format!("{SVC} start {name}")
}

/// Shell that restarts a service.
pub fn restart(name: &str) -> String {
    format!("{SVC} restart {name}")
}

/// Shell that applies a changed configuration to a running service.
pub fn reload(s: &Service) -> String {
    match &s.reload {
        Reload::Signal { signal } => format!("{SVC} signal {} {signal}", s.name),
        Reload::Command { command } => command.clone(),
        Reload::Restart => restart(&s.name),
    }
}

/// Shell that waits until every probe of the server passes, each for up
/// to `seconds`; prints the service of the first probe that never passed.
pub fn wait_ready(server: &ServerPlan, seconds: u32) -> String {
    let mut args = vec![seconds.to_string()];
    for p in &server.probes {
        args.push(p.service.clone());
        args.push(p.command.clone());
    }
    crate::shell::polling(crate::shell::WAIT_READY, &args)
}

/// Shell printing the last `lines` lines of a service's log.
pub fn log_tail(service: &str, lines: u32) -> String {
    format!("tail -n {lines} {LOG_DIR}/{service}/current 2>/dev/null")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_init_says_readiness_in_the_words_infractl_waits_for() {
        let init = crate::shell::NODE_INIT;
        assert!(init.contains(&format!("echo '{BOOT_READY}'")), "{init}");
        assert!(
            init.contains(&format!("echo \"{BOOT_NOT_READY} $out\"")),
            "{init}"
        );
        assert!(init.contains(&format!("[ -x {READY} ]")), "{init}");
    }

    #[test]
    fn parses_supervisor_status() {
        let s = parse_status("run nginx\ndown app\n\n");
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].name.as_str(), s[0].state.as_str()), ("nginx", "run"));
        assert_eq!((s[1].name.as_str(), s[1].state.as_str()), ("app", "down"));
    }

    #[test]
    fn run_script_drops_privileges_and_quotes() {
        let s = Service {
            name: "app".into(),
            pre: vec!["install -d /run/x".into()],
            command: vec!["gunicorn".into(), "--config".into(), "/etc/a b.py".into()],
            user: Some("www-data".into()),
            reload: Reload::Signal {
                signal: "HUP".into(),
            },
            watches: vec![],
            host_provides: false,
            replaces: vec![],
        };
        assert_eq!(
            run_script(&s),
            "#!/bin/sh\n# app: run by infractl's supervisor (rendered by infractl)\nexec 2>&1\ninstall -d /run/x\nexec chpst -u www-data gunicorn --config '/etc/a b.py'\n"
        );
        assert_eq!(reload(&s), "/etc/infractl/svc signal app HUP");
        let mut root = s.clone();
        root.user = None;
        root.pre.clear();
        assert_eq!(
            run_script(&root),
            "#!/bin/sh\n# app: run by infractl's supervisor (rendered by infractl)\nexec 2>&1\nexec gunicorn --config '/etc/a b.py'\n"
        );
    }

    #[test]
    fn log_run_and_before_start_scripts() {
        let mut server = ServerPlan::new("web-01");
        server.services.push(Service {
            name: "nginx".into(),
            pre: vec![],
            command: vec!["nginx".into()],
            user: None,
            reload: Reload::Restart,
            watches: vec![],
            host_provides: false,
            replaces: vec![],
        });
        let step = |name: &str, when, run: &str| Step {
            name: name.into(),
            when,
            run: run.into(),
            inputs: vec![],
        };
        server.setup = vec![
            step("routes", When::BeforeStart, "ip route add x || true"),
            step("later", When::AfterReady, "false"),
            step("dirs", When::BeforeStart, "mkdir -p \"$D\""),
        ];
        let files = files(&server);
        let text = |path: &str| {
            let f = files.iter().find(|f| f.path == path).expect(path);
            String::from_utf8(f.content.clone()).expect("text")
        };
        assert_eq!(
            text("/etc/infractl/sv/nginx/log/run"),
            "#!/bin/sh\n[ -d /var/log/infractl/nginx ] || mkdir -p /var/log/infractl/nginx\nexec svlogd -tt /var/log/infractl/nginx\n"
        );
        assert_eq!(
            text(BEFORE_START),
            "#!/bin/sh\n# Steps run before the services start (rendered by infractl).\necho 'infractl: routes'\nip route add x || true || echo 'infractl: step \"routes\" failed' >&2\necho 'infractl: dirs'\nmkdir -p \"$D\" || echo 'infractl: step \"dirs\" failed' >&2\n"
        );
        assert_eq!(text(SVC), crate::shell::SVC);
        // The readiness script the init runs: passes once every probe does.
        let ready = |probe: &str| {
            let mut s = server.clone();
            s.probes = vec![crate::render::plan::Probe {
                service: "nginx".into(),
                command: probe.into(),
                expect: String::new(),
            }];
            let f = super::files(&s)
                .into_iter()
                .find(|f| f.path == READY)
                .expect("ready");
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(String::from_utf8(f.content).expect("text"))
                .output()
                .expect("sh");
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).to_string(),
            )
        };
        assert_eq!(ready("test -d /"), (true, String::new()));
    }
}
