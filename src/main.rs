//! The `infractl` command line: parses arguments, draws progress, prints
//! errors, and exits with a code that means something (0 ok, 1 the lab or
//! its machinery failed, 2 the input was wrong).

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::{CommandFactory, Parser, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use infractl::commands::{self, Global};
use infractl::progress::{Progress, Silent};

const AFTER_HELP: &str = "\
Stacks: a built-in name (see `infractl list`) or a path to a YAML file.

Examples:
  infractl list                           the built-in stacks
  infractl up task1                       bring task1 up on the local Docker engine
  infractl exec task1 client -- curl -s http://www.foobar.com/
  infractl status task1                   servers and services
  infractl down task1                     remove everything task1 created
  infractl render task3 --out out/        every server's config files, and plan.json
  infractl validate task3                 check each file with nginx -t, haproxy -c, ...

Exit codes: 0 ok, 1 the lab (or the engine) failed, 2 bad input.";

/// Bring up real web infrastructures for labs, and tear them down.
///
/// infractl turns a stack (servers running nginx, an application server,
/// MariaDB primary and replicas, HAProxy, keepalived, ufw, DNS and
/// monitoring) into the config files each server needs, checks them with
/// the programs that read them, and runs them.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DriverKind {
    Docker,
    Ssh,
}

#[derive(Parser)]
#[command(name = "infractl", version, after_help = AFTER_HELP, max_term_width = 100)]
struct Cli {
    /// Root of the per-stack state (passwords, the lab CA); default
    /// $XDG_STATE_HOME/infractl or ~/.local/state/infractl.
    #[arg(long, global = true, value_name = "DIR", env = "INFRACTL_STATE_DIR")]
    state_dir: Option<PathBuf>,
    /// Print no progress.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Apply to real hosts over SSH, as this inventory file lists them
    /// (each server: host, port, user, key or agent); without it, the
    /// local Docker engine (or DOCKER_HOST).
    #[arg(long, global = true, value_name = "FILE")]
    inventory: Option<PathBuf>,
    /// Where the lab runs: `docker` (the default) or `ssh` (the default
    /// when --inventory is given, which `ssh` needs).
    #[arg(long, global = true, value_enum, value_name = "DRIVER")]
    driver: Option<DriverKind>,
    /// SSH: the known_hosts file host keys are checked against
    /// (default ~/.ssh/known_hosts).
    #[arg(long, global = true, value_name = "FILE")]
    known_hosts: Option<PathBuf>,
    /// SSH: record the key of a host not yet in known_hosts (a changed key
    /// is always refused).
    #[arg(long, global = true)]
    accept_new_host_keys: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Bring a stack up (Docker engine, or hosts over SSH), or up to date.
    ///
    /// Builds the node image if missing, creates the stack's networks and
    /// one container per server (`<stack>-<server>`, labelled
    /// io.infractl.stack=<stack>), copies in every file of the plan, starts
    /// the services under the supervisor and waits until each is ready, in
    /// the bring-up order (database primary, replicas, app, web, load
    /// balancers). Run again: only what changed is touched, and a changed
    /// config is reloaded, not rebuilt. Honours DOCKER_HOST. With
    /// --inventory, the same plan goes to those hosts over SSH: missing
    /// packages installed, files placed, services run by systemd (or runit
    /// where the host has no systemd).
    ///
    /// Example: infractl up task1
    Up {
        /// Built-in stack name or path to a stack file.
        stack: String,
        /// Seconds each server's services get to become ready.
        #[arg(long, value_name = "SECONDS", default_value_t = infractl::apply::READY_SECONDS)]
        timeout: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Take a stack down: its containers, networks and volumes.
    ///
    /// Removes exactly what carries the stack's label, nothing else. Over
    /// SSH (--inventory), stops and disables the services on each host,
    /// removes the files infractl placed and puts back what they replaced
    /// (files, the distribution's services, the firewall); packages stay
    /// unless --purge-packages. The stack's state (passwords, CA, keys)
    /// stays unless --purge.
    ///
    /// Example: infractl down task1 --purge
    Down {
        /// Built-in stack name, path to a stack file, or a stack's name.
        stack: String,
        /// Also delete the stack's state directory.
        #[arg(long)]
        purge: bool,
        /// Over SSH (--inventory): also purge the Debian packages that `up`
        /// installed on each host (by default they stay).
        #[arg(long)]
        purge_packages: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a lab's servers and services, or every lab that is up.
    ///
    /// Exit 1 when a server or service of the stack is not running.
    ///
    /// Example: infractl status task1 --json
    Status {
        /// Built-in stack name or path to a stack file; none: every lab.
        stack: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check every claim of a stack on its running lab, as an examiner would.
    ///
    /// From the user's computer (the client): every DNS record answers as
    /// declared; the site over HTTPS with a valid chain, HTTP redirecting;
    /// the page through load balancer, web, app and database; requests
    /// spread over every web server; a write reaching every replica (with
    /// the lag) and replicas refusing writes; every allowed firewall flow
    /// connecting and forbidden ones refused; every exporter up in
    /// Prometheus and a web server's QPS rising; and where there is a
    /// virtual IP, the active load balancer killed, the site answering
    /// through the other, and the killed one restored. Exit 1 if a check
    /// fails.
    ///
    /// Example: infractl verify task3
    Verify {
        /// Built-in stack name or path to a stack file.
        stack: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Kill each server of a running lab in turn; see what the site does.
    ///
    /// For each server: kill it (no clean shutdown), probe from the user's
    /// computer whether the site answers and whether reads and writes
    /// through the application work, start it again and time its
    /// recovery. Compares each result with `infractl explain`'s single
    /// points of failure; exit 1 on any disagreement. Leaves the lab as it
    /// found it.
    ///
    /// Example: infractl chaos task1
    Chaos {
        /// Built-in stack name or path to a stack file.
        stack: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run a command on a server of a running lab.
    ///
    /// The command's output and exit code pass through.
    ///
    /// Example: infractl exec task1 client -- curl -s http://www.foobar.com/
    Exec {
        /// Built-in stack name, path to a stack file, or a stack's name.
        stack: String,
        /// Server name.
        server: String,
        /// The command and its arguments (after `--`).
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Show the logs of a server's services.
    ///
    /// With a service, its log; without, every service's and the server's
    /// own start-up output.
    ///
    /// Example: infractl logs task1 server-02 mariadb
    Logs {
        /// Built-in stack name, path to a stack file, or a stack's name.
        stack: String,
        /// Server name.
        server: String,
        /// Service name (see `infractl status`).
        service: Option<String>,
        /// Lines from the end.
        #[arg(long, short = 'n', default_value_t = 50)]
        lines: u32,
    },
    /// Explain a stack: roles, the request path, load balancing,
    /// replication, and its weaknesses.
    ///
    /// Computed from the stack's topology: each server and component with
    /// its role; the path of a request from the browser to the database
    /// with ports; the load-balancing algorithm and whether the balancers
    /// are active-active or active-passive; which database takes writes and
    /// which serve reads; and findings with a severity and a fix: single
    /// points of failure, security (HTTPS, firewalls, exposed databases),
    /// monitoring, tiers sharing a server.
    ///
    /// Example: infractl explain task1
    Explain {
        /// Built-in stack name or path to a stack file.
        stack: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Draw a stack: SVG (drawn by infractl itself), Mermaid or DOT.
    ///
    /// The user, DNS, the load balancers and their virtual IP, each server
    /// with its components and addresses, firewalls, where TLS terminates,
    /// replication, monitoring flows, and ports on the edges. The format
    /// follows the file name (`.svg`, `.mmd`, `.dot`) unless --format says.
    ///
    /// Example: infractl diagram task3 -o task3.svg
    Diagram {
        /// Built-in stack name or path to a stack file.
        stack: String,
        /// svg, mermaid or dot.
        #[arg(long, short)]
        format: Option<String>,
        /// Write to this file instead of stdout.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// List the built-in stacks.
    ///
    /// Example: infractl list
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write every server's config files and the plan to a directory.
    ///
    /// Files go to DIR/<server>/<absolute path on that server> (e.g.
    /// out/web-01/etc/nginx/nginx.conf); DIR/plan.json lists per server its
    /// files (path, mode, sha256), packages, services, readiness probes and
    /// the bring-up order. Secrets come from the stack's state directory.
    ///
    /// Example: infractl render task3 --out out/
    Render {
        /// Built-in stack name or path to a stack file.
        stack: String,
        /// Directory to write into.
        #[arg(long, short, value_name = "DIR")]
        out: PathBuf,
        /// Print the plan as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Check every rendered file with the program that reads it.
    ///
    /// Runs nginx -t, haproxy -c, keepalived --config-test, named-checkconf
    /// and named-checkzone, mariadbd --help --verbose, ufw --dry-run,
    /// gunicorn --check-config and promtool check config inside a container
    /// of the node image (built on first use). Exit 1 if any check fails.
    ///
    /// Example: infractl validate task2
    Validate {
        /// Built-in stack name or path to a stack file.
        stack: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the JSON Schema of the stack file format.
    ///
    /// Point your editor at it for completion and checking, e.g. with
    /// `# yaml-language-server: $schema=stack.schema.json` atop a stack.
    ///
    /// Example: infractl schema > stack.schema.json
    Schema,
    /// Build or show the node image every server runs.
    #[command(subcommand)]
    Image(ImageCommand),
}

#[derive(Subcommand)]
enum ImageCommand {
    /// Build the node image from Debian packages (debootstrap, then import).
    ///
    /// The image is tagged with a hash of its recipe and rebuilt only when
    /// the recipe changes. Needs root and debootstrap.
    ///
    /// Example: infractl image build
    Build {
        /// Debian mirror; default: the one the host's apt uses.
        #[arg(long, value_name = "URL")]
        mirror: Option<String>,
        /// Build even if the image is present.
        #[arg(long)]
        force: bool,
    },
    /// Show the image reference for this version and whether it is present.
    ///
    /// Example: infractl image show
    Show,
}

/// Progress drawn with indicatif on stderr: a bar per task. Without a
/// terminal, one line per finished task.
struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    tty: bool,
}

impl Bars {
    fn new() -> Self {
        let tty = std::io::stderr().is_terminal();
        let multi = MultiProgress::with_draw_target(if tty {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Bars {
            multi,
            bars: Mutex::new(HashMap::new()),
            tty,
        }
    }
}

impl Progress for Bars {
    fn begin(&self, task: &str, total: Option<u64>, message: &str) {
        let bar = match total {
            Some(t) => ProgressBar::new(t).with_style(
                ProgressStyle::with_template("{prefix:>12.bold} [{bar:25}] {pos}/{len} {wide_msg}")
                    .expect("template")
                    .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{prefix:>12.bold} {spinner} {wide_msg}")
                    .expect("template"),
            ),
        };
        let bar = self.multi.add(bar);
        bar.set_prefix(task.to_string());
        bar.set_message(message.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        self.bars
            .lock()
            .expect("lock")
            .insert(task.to_string(), bar);
    }

    fn update(&self, task: &str, pos: Option<u64>, message: &str) {
        if let Some(bar) = self.bars.lock().expect("lock").get(task) {
            if let Some(p) = pos {
                bar.set_position(p);
            }
            bar.set_message(message.to_string());
        }
    }

    fn finish(&self, task: &str, ok: bool, message: &str) {
        let bar = self.bars.lock().expect("lock").remove(task);
        let mark = if ok { "ok" } else { "FAILED" };
        match bar {
            Some(bar) if self.tty => {
                bar.set_style(
                    ProgressStyle::with_template("{prefix:>12.bold} {wide_msg}").expect("template"),
                );
                bar.finish_with_message(format!("{mark}: {message}"));
            }
            _ => {
                let _ = writeln!(std::io::stderr(), "{task:>12} {mark}: {message}");
            }
        }
    }
}

fn main() {
    let cli = Cli::parse();
    match (cli.driver, &cli.inventory) {
        (Some(DriverKind::Ssh), None) => Cli::command()
            .error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "--driver ssh needs --inventory FILE: the hosts to reach and how",
            )
            .exit(),
        (Some(DriverKind::Docker), Some(_)) => Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "--inventory is for --driver ssh; the Docker driver makes its own hosts",
            )
            .exit(),
        _ => {}
    }
    let global = Global {
        state_dir: cli.state_dir.clone(),
        quiet: cli.quiet,
        inventory: cli.inventory.clone(),
        known_hosts: cli.known_hosts.clone(),
        accept_new_host_keys: cli.accept_new_host_keys,
    };
    let progress: Arc<dyn Progress> = if cli.quiet {
        Arc::new(Silent)
    } else {
        Arc::new(Bars::new())
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut stdout = std::io::stdout().lock();
    let result = runtime.block_on(async {
        match &cli.command {
            Command::List { json } => commands::list::run(*json, &mut stdout),
            Command::Render { stack, out, json } => {
                commands::render::run(stack, out, *json, &global, &mut stdout)
            }
            Command::Validate { stack, json } => {
                commands::validate::run(stack, *json, &global, progress.clone(), &mut stdout).await
            }
            Command::Schema => commands::schema::run(&mut stdout),
            Command::Up {
                stack,
                timeout,
                json,
            } => {
                commands::up::run(
                    stack,
                    *timeout,
                    *json,
                    &global,
                    progress.as_ref(),
                    &mut stdout,
                )
                .await
            }
            Command::Down {
                stack,
                purge,
                purge_packages,
                json,
            } => {
                commands::down::run(stack, *purge, *purge_packages, *json, &global, &mut stdout)
                    .await
            }
            Command::Status { stack, json } => {
                commands::status::run(stack.as_deref(), *json, &global, &mut stdout).await
            }
            Command::Verify { stack, json } => {
                commands::verify::run(stack, *json, &global, progress.as_ref(), &mut stdout).await
            }
            Command::Explain { stack, json } => commands::explain::run(stack, *json, &mut stdout),
            Command::Diagram {
                stack,
                format,
                output,
            } => {
                let format = format.clone().unwrap_or_else(|| {
                    match output
                        .as_ref()
                        .and_then(|p| p.extension())
                        .and_then(|e| e.to_str())
                    {
                        Some("mmd") | Some("mermaid") => "mermaid".into(),
                        Some("dot") | Some("gv") => "dot".into(),
                        _ => "svg".into(),
                    }
                });
                commands::diagram::run(stack, &format, output.as_deref(), &mut stdout)
            }
            Command::Chaos { stack, json } => {
                commands::chaos::run(stack, *json, &global, progress.as_ref(), &mut stdout).await
            }
            Command::Exec {
                stack,
                server,
                command,
            } => {
                let mut stderr = std::io::stderr();
                commands::exec::run(stack, server, command, &global, &mut stdout, &mut stderr).await
            }
            Command::Logs {
                stack,
                server,
                service,
                lines,
            } => {
                commands::logs::run(
                    stack,
                    server,
                    service.as_deref(),
                    *lines,
                    &global,
                    &mut stdout,
                )
                .await
            }
            Command::Image(ImageCommand::Build { mirror, force }) => {
                commands::image::build(mirror.as_deref(), *force, progress.as_ref(), &mut stdout)
                    .await
            }
            Command::Image(ImageCommand::Show) => commands::image::show(&mut stdout).await,
        }
    });
    let _ = stdout.flush();
    drop(stdout);
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            let _ = std::io::stderr().write_all(e.report().as_bytes());
            e.exit_code()
        }
    };
    std::process::exit(code);
}
