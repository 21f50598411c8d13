//! The command line's definition: every command, argument and help text,
//! in one place (clap derive).
//!
//! The binary parses with it, and the same definition generates the shell
//! completions (`infractl completions`) and the man page (`infractl man`),
//! so help, completions and man page never disagree (ripgrep's rule). It
//! lives in the library so that tests can walk every command.
//!
//! Conventions, as in cargo, kubectl and docker compose: each command's
//! help ends with an example (in `-h` too); `-o/--output` is where a
//! command writes its product (a file or a directory); results go to
//! stdout, progress and status to stderr, and `-q` silences the latter;
//! the SSH flags appear only on the commands that reach hosts.

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};

const AFTER_HELP: &str = "\
Stacks: a built-in name (see `infractl list`) or a path to a YAML file.

Examples:
  infractl list                           the built-in stacks
  infractl up task1                       bring task1 up on the local Docker engine
  infractl exec task1 client -- curl -s http://www.foobar.com/
  infractl status task1                   servers and services
  infractl down task1                     remove everything task1 created
  infractl render task3 -o out/           every server's config files, and plan.json
  infractl validate task3                 check each file with nginx -t, haproxy -c, ...

Exit codes: 0 ok, 1 the lab (or the engine) failed, 2 bad input, 130 Ctrl-C.";

/// Bring up real web infrastructures for labs, and tear them down.
///
/// infractl turns a stack (servers running nginx, an application server,
/// MariaDB primary and replicas, HAProxy, keepalived, ufw, DNS and
/// monitoring) into the config files each server needs, checks them with
/// the programs that read them, and runs them.
#[derive(Debug, Parser)]
#[command(name = "infractl", version, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    /// Root of the per-stack state (passwords, the lab CA); default
    /// $XDG_STATE_HOME/infractl or ~/.local/state/infractl.
    #[arg(long, global = true, value_name = "DIR", env = "INFRACTL_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Say nothing but results and errors: no progress, no status lines.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// The clap definition, for completions, the man page and tests.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Where a lab runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DriverKind {
    Docker,
    Ssh,
}

/// How to reach the lab's hosts: the local Docker engine (the default), or
/// real machines over SSH. Only on the commands that reach hosts.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Hosts")]
pub struct Hosts {
    /// Apply to real hosts over SSH, as this inventory file lists them
    /// (each server: host, port, user, key or agent); without it, the
    /// local Docker engine (or DOCKER_HOST). The lab's record keeps it
    /// (and the host-key flags): later commands find the lab by its name
    /// alone; another inventory is refused until `down`.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Where the lab runs: `docker` (the default) or `ssh` (the default
    /// when --inventory is given, which `ssh` needs).
    #[arg(long, value_enum, value_name = "DRIVER")]
    pub driver: Option<DriverKind>,
    /// SSH: the known_hosts file host keys are checked against
    /// (default ~/.ssh/known_hosts).
    #[arg(long, value_name = "FILE")]
    pub known_hosts: Option<PathBuf>,
    /// SSH: record the key of a host not yet in known_hosts (a changed key
    /// is always refused).
    #[arg(long)]
    pub accept_new_host_keys: bool,
    /// The lab: a copy of the stack under this name, beside others on the
    /// same engine (containers `<lab>-<server>`, state of its own, subnets
    /// of its own where the stack's are taken). Default: the stack's name.
    /// A lab's name alone also names it: `infractl verify LAB`.
    #[arg(long, value_name = "NAME")]
    pub lab: Option<String>,
    /// The Docker engine: unix:///PATH, tcp://HOST:PORT (over TLS when
    /// DOCKER_TLS_VERIFY is set, with DOCKER_CERT_PATH's ca.pem, cert.pem
    /// and key.pem) or ssh://USER@HOST, as the docker CLI's -H. Default:
    /// DOCKER_HOST, DOCKER_CONTEXT, the docker config's current context,
    /// the local socket. A lab that is up stays on its engine (its record
    /// says which): naming another — with this flag, --context,
    /// DOCKER_HOST or DOCKER_CONTEXT — is refused until `down`; this flag
    /// naming the lab's engine settles it.
    #[arg(long, value_name = "URL")]
    pub engine: Option<String>,
    /// The Docker engine of this Docker context (`docker context ls`).
    #[arg(long, value_name = "NAME", conflicts_with = "engine")]
    pub context: Option<String>,
}

impl Hosts {
    /// `--driver` and `--inventory` agree; the message says how not.
    pub fn check(&self) -> Result<(), (clap::error::ErrorKind, &'static str)> {
        use clap::error::ErrorKind;
        match (self.driver, &self.inventory) {
            (Some(DriverKind::Ssh), None) => Err((
                ErrorKind::MissingRequiredArgument,
                "--driver ssh needs --inventory FILE: the hosts to reach and how",
            )),
            (Some(DriverKind::Docker), Some(_)) => Err((
                ErrorKind::ArgumentConflict,
                "--inventory is for --driver ssh; the Docker driver makes its own hosts",
            )),
            (_, Some(_)) if self.engine.is_some() || self.context.is_some() => Err((
                ErrorKind::ArgumentConflict,
                "--engine and --context name a Docker engine; --inventory's hosts are reached over SSH",
            )),
            _ => Ok(()),
        }
    }
}

/// `serve`'s arguments.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address and port to listen on.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The portal's certificate chain (PEM): serve HTTPS.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a certificate of the portal's own CA, made once
    /// and kept in the state (its path is printed: learners' browsers
    /// import it once).
    #[arg(long, conflicts_with = "tls_cert")]
    pub tls_self: bool,
}

/// `chaos`'s arguments.
#[derive(Debug, Args)]
pub struct ChaosArgs {
    /// Built-in stack name or path to a stack file.
    pub stack: String,
    /// A learner's answers to check against what chaos sees (YAML:
    /// `down:` and `spof:`).
    #[arg(long, value_name = "FILE")]
    pub answers: Option<std::path::PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub hosts: Hosts,
}

/// `inject`'s arguments.
#[derive(Debug, Args)]
pub struct InjectArgs {
    /// The lab (its name, or its stack); with --list, a stack.
    #[arg(value_name = "LAB", required_unless_present = "list")]
    pub stack: Option<String>,
    /// The fault's name (see --list).
    #[arg(required_unless_present = "list", conflicts_with = "list")]
    pub fault: Option<String>,
    /// List the catalogue, and with a stack, which servers of it each
    /// fault can hit.
    #[arg(long)]
    pub list: bool,
    /// Draws the server the fault hits.
    #[arg(long, value_name = "N", default_value_t = 0, conflicts_with = "list")]
    pub seed: u64,
    /// Print JSON: the fault, the server it hits, what broke, the
    /// claims that fail, the repair and how to see it.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub hosts: Hosts,
}

/// `up`'s arguments.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Built-in stack name or path to a stack file; or an exercise (a
    /// built-in exercise's name, or a file with `stack:`).
    pub stack: String,
    /// An exercise: draws the faults of its pool and the servers they
    /// hit (the same seed, the same draw).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// Seconds each server's services get to become ready.
    #[arg(long, value_name = "SECONDS", default_value_t = crate::apply::READY_SECONDS)]
    pub timeout: u32,
    /// Print what would be done to each server (create, recreate and
    /// why, start, update: which files, which services reloaded) and
    /// change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Publish the site on the engine's host at PORT (any free port when
    /// none is given), as the internet would reach it: https://localhost:PORT/
    /// reaches the lab's entry point (its virtual IP, through a failover
    /// too). `infractl open LAB` prints the address, `infractl ca LAB` the
    /// certificate a browser must trust. Kept by later `up`s.
    #[arg(long, value_name = "PORT", num_args = 0..=1, default_missing_value = "0")]
    pub publish: Option<u16>,
    /// Go on where the change would lose data for good: a database that
    /// is neither kept nor moved (a stage that moves the database moves
    /// its rows to the new primary on its own; one that cannot is refused
    /// without this, and `--dry-run` says what would be lost).
    #[arg(long)]
    pub discard_data: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub hosts: Hosts,
}

/// `down`'s arguments.
#[derive(Debug, Args)]
pub struct DownArgs {
    /// Built-in stack name, path to a stack file, or a stack's name.
    pub stack: String,
    /// Also delete the stack's state directory.
    #[arg(long)]
    pub purge: bool,
    /// Over SSH (--inventory): also purge the Debian packages that `up`
    /// installed on each host (by default they stay).
    #[arg(long)]
    pub purge_packages: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub hosts: Hosts,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
    /// where the host has no systemd). An `up` cut off at any point (Ctrl-C,
    /// a kill, an engine error, a timeout) is resumed by the next `up`;
    /// `--dry-run` shows what it would do first.
    ///
    /// Given an exercise (`infractl up task1-backend-out`), its stack is
    /// brought up as the lab named after it (or --lab), its faults are
    /// injected once, and its text for the learner is printed; `infractl
    /// check LAB` then says what is fixed.
    #[command(
        after_help = "Example: infractl up task1\n         infractl up task1 --dry-run\n         infractl up task1-backend-out"
    )]
    Up(UpArgs),
    /// Take a stack down: its containers, networks and volumes.
    ///
    /// Removes exactly what carries the stack's label, nothing else. Over
    /// SSH (--inventory), stops and disables the services on each host,
    /// removes the files infractl placed and puts back what they replaced
    /// (files, the distribution's services, the firewall); packages stay
    /// unless --purge-packages. The stack's state (passwords, CA, keys)
    /// stays unless --purge.
    #[command(after_help = "Example: infractl down task1 --purge")]
    Down(DownArgs),
    /// Show a lab's servers and services, or every lab that is up.
    ///
    /// With no stack: the labs on the engine in use (--engine, --context,
    /// DOCKER_HOST, DOCKER_CONTEXT, the current context, the local one),
    /// and how many labs the records say run on other engines; --all lists
    /// those too, with an ENGINE column. Exit 1 when a server or service
    /// of the stack is not running, or an engine does not answer.
    #[command(after_help = "Example: infractl status task1 --json")]
    Status {
        /// Built-in stack name or path to a stack file; none: every lab.
        stack: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// With no stack: the labs of every engine a lab's record names,
        /// not only the engine in use.
        #[arg(long, conflicts_with = "stack")]
        all: bool,
        #[command(flatten)]
        hosts: Hosts,
    },
    /// List the alerts firing in a lab, as its operator would see them.
    ///
    /// A stack with monitoring (a `prometheus` component) has alerting
    /// rules made from what its servers export: a target not answering,
    /// the site not loading or failing (5xx), a backend down, replication
    /// stopped or lagging, the site's certificate near its end. Prometheus
    /// sends what fires to the lab's Alertmanager; this lists what
    /// Alertmanager holds, with since when each fires. Exit 0 whether or
    /// not alerts fire; 1 when the monitoring server does not answer.
    #[command(after_help = "Example: infractl alerts task2 --json")]
    Alerts {
        /// A lab's name, or a stack (built-in name or path).
        stack: String,
        /// Print JSON: per alert its name, severity, server, summary,
        /// since (RFC 3339), seconds and labels.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        hosts: Hosts,
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
    /// through the other, and the killed one restored. Each failed check
    /// carries a hint: where to look (the server, the file, the command to
    /// run there), never the fix. Exit 1 if a check fails.
    #[command(after_help = "Example: infractl verify task3")]
    Verify {
        /// Built-in stack name or path to a stack file.
        stack: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        hosts: Hosts,
    },
    /// Check an exercise's lab: which of its checks are fixed, and where
    /// to look for the others.
    ///
    /// The learner's own check, on a lab brought up from an exercise
    /// (`infractl up EXERCISE`, or a class's): runs verify, and for each
    /// of the exercise's checks says fixed or not yet, each unfixed one
    /// with its claim's hint — never the fault or its answer. A lab whose
    /// servers were re-made since the faults went in (an `up` after a
    /// `down`, a reset) does not count, unless the exercise allows it.
    /// Exit 0 when every check is fixed, 1 when not yet (or reset), 2 on a
    /// usage error (a lab with no exercise).
    #[command(after_help = "Example: infractl check task1-backend-out")]
    Check {
        /// The lab (its name).
        #[arg(value_name = "LAB")]
        stack: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        hosts: Hosts,
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
    /// A design review: with --answers, a learner's answers (what stops
    /// when each server dies: `down: { lb-01: site, server-01: writes }`;
    /// the single points of failure: `spof: [lb-01]`) are checked against
    /// what chaos saw, each right or wrong; exit 1 when one is wrong. The
    /// file is read before any server is killed.
    #[command(
        after_help = "Example: infractl chaos task1\n         infractl chaos task1 --answers answers.yaml"
    )]
    Chaos(ChaosArgs),
    /// Inject a fault into a running lab, for learners to find and fix.
    ///
    /// For instructors. The fault comes from the catalogue (`--list`): a
    /// config file changed on a server and its service reloaded, the
    /// database's replication stopped, a firewall rule or a DNS record
    /// changed, as a slip on the server itself would leave it. On a
    /// monitored lab it waits until the lab's own alerts for the fault
    /// fire (within a bound read from the rules). Prints what it broke
    /// (not for learners), the claims
    /// of `infractl verify` that now fail, and the answer key: the repair
    /// a learner makes on the server, never a new `up`. Which server it
    /// hits is drawn with --seed (the same seed, the same server). A fault
    /// that does not apply to the lab's stack is refused (exit 2), naming
    /// those that do.
    #[command(
        after_help = "Example: infractl inject --list task1\n         infractl inject task1 haproxy-backend-left-out --seed 3\n         infractl verify task1"
    )]
    Inject(InjectArgs),
    /// Print where a lab's site is published on this machine.
    ///
    /// The address `up --publish` gave the site: https://localhost:PORT/,
    /// reaching the lab's entry point as the internet would. Exit 1 when
    /// the lab is not published.
    #[command(after_help = "Example: infractl open alice")]
    Open {
        /// A lab's name, or a stack (built-in name or path).
        stack: String,
        #[command(flatten)]
        hosts: Hosts,
    },
    /// A lab per student of a class: up, status, verify, down.
    ///
    /// A class file names the stack, the students and the Docker engines
    /// the labs may run on; each student gets a lab of their own
    /// (`<class>-<student>`), whole on one engine, reached from a browser
    /// through `infractl serve` (and on a port of the engine's host too
    /// when the class file says `publish: true`).
    #[command(subcommand, after_help = "Example: infractl class up monday.yaml")]
    Class(ClassCommand),
    /// Serve the classroom portal: each learner's lab, and the class, in a browser.
    ///
    /// One process serves every class this machine's state knows. Each
    /// learner opens their personal link (`infractl class links FILE`) and
    /// gets their own lab's page: its diagram coloured live (running,
    /// stopped, unhealthy), terminals into its servers, the site through
    /// the portal with which servers answered, verify and explain, and
    /// stop/start/kill for each server. The instructor's link opens the
    /// class as a live grid, and every learner's page. Anything that is not
    /// the caller's answers 404; wrong links are rate-limited; every action
    /// is written to `<state>/.portal/audit.jsonl`. Your own link, to every
    /// lab and class of this machine (a lab brought up alone, over Docker
    /// or SSH, too), is written to `<state>/.portal/operator-link` (0600).
    /// Listens on this machine only unless --listen says otherwise; HTTPS
    /// with --tls-cert and --tls-key, or --tls-self. Runs until Ctrl-C; a
    /// port in use is exit 2.
    #[command(
        after_help = "Example: infractl serve\n         infractl serve --listen 0.0.0.0:8443 --tls-cert portal.crt --tls-key portal.key"
    )]
    Serve(ServeArgs),
    /// Print a lab's CA certificate (PEM), for a browser to trust.
    ///
    /// Each lab has a CA of its own, made by `up` and kept in its state;
    /// the site's certificate is signed by it. Import it in a browser (or
    /// pass it to `curl --cacert`) and the published site opens without a
    /// warning.
    #[command(after_help = "Example: infractl ca alice > alice-ca.crt")]
    Ca {
        /// A lab's name, or a stack (built-in name or path).
        stack: String,
        /// The lab, when STACK is a stack run under another name.
        #[arg(long, value_name = "NAME")]
        lab: Option<String>,
    },
    /// Run a command on a server of a running lab.
    ///
    /// The command's output and exit code pass through.
    #[command(
        after_help = "Example: infractl exec task1 client -- curl -s http://www.foobar.com/"
    )]
    Exec {
        /// Built-in stack name, path to a stack file, or a stack's name.
        stack: String,
        /// Server name.
        server: String,
        /// The command and its arguments (after `--`).
        #[arg(last = true, required = true)]
        command: Vec<String>,
        #[command(flatten)]
        hosts: Hosts,
    },
    /// Show the logs of a server's services.
    ///
    /// With a service, its log; without, every service's and the server's
    /// own start-up output. With --follow, the logs as they grow, until
    /// Ctrl-C.
    #[command(after_help = "Example: infractl logs task1 server-02 mariadb --follow")]
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
        /// Keep printing new lines as they are written (until Ctrl-C).
        #[arg(long, short)]
        follow: bool,
        #[command(flatten)]
        hosts: Hosts,
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
    #[command(after_help = "Example: infractl explain task1")]
    Explain {
        /// Built-in stack name, path to a stack file, or a lab's name (its
        /// stack, on the subnets it was brought up on).
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
    /// follows the output file's extension (`.svg`, `.mmd`, `.dot`); any
    /// other extension (`.png`, ...) is refused rather than written with
    /// the wrong content.
    #[command(after_help = "Example: infractl diagram task3 -o task3.svg")]
    Diagram {
        /// Built-in stack name, path to a stack file, or a lab's name (its
        /// stack, on the subnets it was brought up on).
        stack: String,
        /// svg, mermaid or dot (default: from the output's extension, else svg).
        #[arg(long, short)]
        format: Option<String>,
        /// Write to this file instead of stdout.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// List the built-in stacks (or exercises).
    ///
    /// A stack is what `up STACK` brings up; an exercise (`--exercises`)
    /// is a stack with faults set for the learner to find and repair
    /// (`up EXERCISE`, then `check LAB`).
    #[command(after_help = "Example: infractl list\n         infractl list --exercises")]
    List {
        /// The built-in exercises instead: each one's stack and title.
        #[arg(long)]
        exercises: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write every server's config files and the plan to a directory.
    ///
    /// Files go to DIR/<server>/<absolute path on that server> (e.g.
    /// out/web-01/etc/nginx/nginx.conf); DIR/plan.json lists per server its
    /// files (path, mode, sha256), packages, services, readiness probes and
    /// the bring-up order. Secrets come from the stack's state directory. A
    /// directory holding an earlier render is replaced whole; any other
    /// non-empty directory is refused.
    #[command(after_help = "Example: infractl render task3 -o out/")]
    Render {
        /// Built-in stack name or path to a stack file.
        stack: String,
        /// Directory to write into (new, empty, or an earlier render).
        #[arg(long, short, alias = "out", value_name = "DIR")]
        output: PathBuf,
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
    #[command(after_help = "Example: infractl validate task2")]
    Validate {
        /// Built-in stack name or path to a stack file.
        stack: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the JSON Schema of the stack file format (or of exercises).
    ///
    /// Point your editor at it for completion and checking, e.g. with
    /// `# yaml-language-server: $schema=stack.schema.json` atop a stack.
    #[command(
        after_help = "Example: infractl schema > stack.schema.json\n         infractl schema --exercise > exercise.schema.json"
    )]
    Schema {
        /// The schema of exercise files instead.
        #[arg(long)]
        exercise: bool,
    },
    /// Build or show the node image every server runs.
    #[command(subcommand, after_help = "Example: infractl image show")]
    Image(ImageCommand),
    /// Print a shell's completion script.
    ///
    /// Generated from the same definitions as the help. Load it from your
    /// shell's start-up file, or install it where the shell looks.
    #[command(after_help = "Example: infractl completions bash > /etc/bash_completion.d/infractl")]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command to a
    /// directory.
    ///
    /// Generated from the same definitions as the help: infractl.1 for the
    /// tool, and with --output, infractl-<command>.1 for each command.
    #[command(after_help = "Example: infractl man | man -l -")]
    Man {
        /// Write infractl.1 and a page per command into this directory.
        #[arg(long, short, value_name = "DIR")]
        output: Option<PathBuf>,
    },
}

impl Command {
    /// The command's host flags, when it reaches hosts.
    pub fn hosts(&self) -> Option<&Hosts> {
        match self {
            Command::Up(UpArgs { hosts, .. })
            | Command::Down(DownArgs { hosts, .. })
            | Command::Status { hosts, .. }
            | Command::Verify { hosts, .. }
            | Command::Check { hosts, .. }
            | Command::Chaos(ChaosArgs { hosts, .. })
            | Command::Inject(InjectArgs { hosts, .. })
            | Command::Exec { hosts, .. }
            | Command::Open { hosts, .. }
            | Command::Alerts { hosts, .. }
            | Command::Logs { hosts, .. } => Some(hosts),
            _ => None,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ClassCommand {
    /// Bring up a lab per student of a class file, each published.
    ///
    /// The class file names the stack and the students:
    /// `stack: task1` and `students: [alice, bob]` (or `students: 30`, named
    /// student-01 ...); its file name (or `name:`) names the class.
    /// `engines:` lists where labs may run: engine URLs (unix://, tcp://,
    /// ssh://), Docker contexts by name, or mappings with `host:` or
    /// `context:`, `tls:` (the folder of ca.pem, cert.pem, key.pem) and
    /// `max-labs:`; default: the engine DOCKER_HOST or the current context
    /// names, or the local one.
    ///
    /// Each student's lab is `<class>-<student>`, placed whole on the
    /// engine with the most memory left (a lab's need is counted from its
    /// stack's components), on subnets free there, its site published on
    /// that engine's host for the learner's browser. Every lab is placed
    /// before any starts: a class that does not fit (memory, `max-labs`,
    /// free subnets) is refused, saying how many labs fit on which engine,
    /// and nothing is changed (exit 2); so is a class of more students than
    /// its `max-labs:` (default 200). An engine without the node image gets
    /// it copied from one that has it. Labs come up two at once per engine,
    /// engines side by side; the table gives each one's engine, state and
    /// address. Run again: students added come up, students gone are
    /// removed, the rest stay where they are. Exit 1 if a lab failed (an
    /// engine that does not answer fails its labs, one line each; the
    /// others still come up).
    #[command(after_help = "Example: infractl class up monday.yaml --dry-run")]
    Up {
        /// The class file.
        file: PathBuf,
        /// Print where each lab would go (student, lab, engine) and change
        /// nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print JSON: per lab its student, lab, engine, state and url
        /// (with --dry-run: its student, lab, engine and placement).
        #[arg(long)]
        json: bool,
    },
    /// Show each student's lab: state and address.
    ///
    /// Exit 1 when a lab is not fully up.
    #[command(after_help = "Example: infractl class status monday.yaml --json")]
    Status {
        /// The class file.
        file: PathBuf,
        /// Print JSON: per lab its student, lab, engine, state and url.
        #[arg(long)]
        json: bool,
    },
    /// Verify every student's lab, and grade the class.
    ///
    /// Runs `infractl verify` on each lab: one after another on an engine
    /// (verify times a failover), engines side by side. With --report DIR, writes DIR/report.json (everything),
    /// DIR/report.csv (a row per student, a column per claim: pass or fail,
    /// then the failures' hints) and DIR/index.html (the grid, opening
    /// offline in a browser, each failure with what was expected and
    /// observed, the earlier failure that explains it, and its hint). Claims run from the foundation up: DNS, the site,
    /// the tiers, replication, firewalls, monitoring, failover. Exit 1 if
    /// a lab fails.
    #[command(after_help = "Example: infractl class verify monday.yaml --report grades")]
    Verify {
        /// The class file.
        file: PathBuf,
        /// Write report.json, report.csv and index.html into this directory.
        #[arg(long, value_name = "DIR")]
        report: Option<PathBuf>,
    },
    /// Print each student's personal link to the portal, and the instructor's.
    ///
    /// `class up` makes the links: a random 256-bit token each, kept only
    /// as a hash where the portal (`infractl serve`) reads it. Give each
    /// student theirs (--csv or --json for an LMS); it opens their own lab
    /// and nothing else. --revoke STUDENT stops a link that leaked and
    /// prints the student's new one; --valid-for 8h makes every link of
    /// the class stop working 8 hours from now. Exit 2 for a class not up yet.
    #[command(
        after_help = "Example: infractl class links monday.yaml --url https://lab.school.example:8443 --csv"
    )]
    Links {
        /// The class file.
        file: PathBuf,
        /// Where learners reach the portal (`infractl serve --listen`).
        #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Print JSON: per link its who, role, lab and url.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print CSV: who,role,lab,url.
        #[arg(long)]
        csv: bool,
        /// Revoke this student's link (a new one is printed).
        #[arg(long, value_name = "STUDENT")]
        revoke: Option<String>,
        /// Every link of the class stops working after this long from now
        /// (90m, 8h, 7d); `never` takes the end away.
        #[arg(long, value_name = "DURATION")]
        valid_for: Option<String>,
    },
    /// Take every lab of the class down, with its state.
    ///
    /// Removes every lab of the class from every engine that answers; the
    /// labs of an engine that does not are named, and kept in the state
    /// (so a later `class down` finds them) — exit 1.
    #[command(after_help = "Example: infractl class down monday.yaml")]
    Down {
        /// The class file.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Build the node image from Debian packages (debootstrap, then import).
    ///
    /// The image is tagged with a hash of its recipe and rebuilt only when
    /// the recipe changes. Needs root and debootstrap.
    #[command(after_help = "Example: infractl image build")]
    Build {
        /// Debian mirror; default: the one the host's apt uses.
        #[arg(long, value_name = "URL")]
        mirror: Option<String>,
        /// Build even if the image is present.
        #[arg(long)]
        force: bool,
    },
    /// Show the image reference for this version and whether it is present.
    #[command(after_help = "Example: infractl image show")]
    Show,
    /// Remove the node image and the volumes shared from it.
    ///
    /// Removes this version's image, or with --old the images of other
    /// versions of infractl (each upgrade that changes the recipe builds a
    /// new one, ≈ 1 GB), and the shared /usr volumes of every image no
    /// longer on the engine. Refused, changing nothing, while a container
    /// of a lab uses an image to remove: `infractl down` its lab first.
    /// The next `up` builds the image again.
    #[command(after_help = "Example: infractl image rm\n         infractl image rm --old")]
    Rm {
        /// Remove the images of other versions, keep this version's.
        #[arg(long)]
        old: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definition_is_consistent() {
        command().debug_assert();
    }
}
