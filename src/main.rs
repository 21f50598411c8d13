//! The `infractl` command line: parses arguments, draws progress, prints
//! errors, and exits with a code that means something (0 ok, 1 the lab or
//! its machinery failed, 2 the input was wrong, 130 Ctrl-C stopped it).

#![deny(clippy::too_many_lines)]

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use clap::{CommandFactory, Parser};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use infractl::cli::{ClassCommand, Cli, Command, ImageCommand};
use infractl::commands::{self, Global};
use infractl::progress::{Progress, Silent};

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

    fn note(&self, message: &str) {
        let line = || {
            let _ = writeln!(std::io::stderr(), "{message}");
        };
        if self.tty {
            self.multi.suspend(line);
        } else {
            line();
        }
    }
}

fn main() {
    let cli = Cli::parse();
    let hosts = cli.command.hosts().cloned().unwrap_or_default();
    if let Err((kind, message)) = hosts.check() {
        Cli::command().error(kind, message).exit();
    }
    // Resolved once: the state's root, and what names where labs run.
    let global = Global {
        state_dir: Some(infractl::lab::state::root(cli.state_dir.as_deref())),
        lab: hosts.lab.clone(),
        quiet: cli.quiet,
        choice: infractl::driver::Choice {
            engine: hosts.engine,
            context: hosts.context,
            inventory: hosts.inventory,
            known_hosts: hosts.known_hosts,
            accept_new_host_keys: hosts.accept_new_host_keys,
            pinned: None,
        },
    };
    let progress: Arc<dyn Progress> = if cli.quiet {
        Arc::new(Silent)
    } else {
        Arc::new(Bars::new())
    };
    #[cfg(feature = "test-hooks")]
    let progress = infractl::tripwire::arm(progress);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut stdout = std::io::stdout().lock();
    let result = runtime.block_on(until_interrupted(run(
        cli.command,
        &global,
        progress,
        &mut stdout,
    )));
    let _ = stdout.flush();
    drop(stdout);
    let code = match result {
        Ok(code) => code,
        // The reader went away (`infractl ... | head`): nothing to say.
        Err(e) if broken_pipe(&e) => 0,
        Err(e) => {
            let _ = std::io::stderr().write_all(e.report().as_bytes());
            e.exit_code()
        }
    };
    std::process::exit(code);
}

/// `work`, unless Ctrl-C stops it first (exit 130). A command that takes
/// Ctrl-C itself (see `infractl::interrupt`) is waited for while it stops;
/// a second Ctrl-C does not wait.
async fn until_interrupted(
    work: impl std::future::Future<Output = infractl::Result<i32>>,
) -> infractl::Result<i32> {
    use tokio::signal::unix::{signal, SignalKind};
    // Listening from now on: from here Ctrl-C is ours, not the default
    // that ends the process with no word.
    let Ok(mut sigint) = signal(SignalKind::interrupt()) else {
        return work.await;
    };
    tokio::pin!(work);
    let stopped = || infractl::Error::interrupted(libc::SIGINT);
    tokio::select! {
        biased;
        r = &mut work => return r,
        _ = sigint.recv() => {}
    }
    if !infractl::interrupt::handled() {
        return Err(stopped());
    }
    tokio::select! {
        biased;
        r = &mut work => r,
        _ = sigint.recv() => Err(stopped()),
    }
}

/// Whether `e` is writing our output to a pipe whose reader has gone (not
/// a broken pipe to a host).
fn broken_pipe(e: &infractl::Error) -> bool {
    let infractl::Error::Failure {
        message,
        source: Some(cause),
        ..
    } = e
    else {
        return false;
    };
    message == commands::WRITE_OUTPUT
        && cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Runs one command: results to `stdout`, progress and status through
/// `progress` (stderr).
async fn run(
    command: Command,
    global: &Global,
    progress: Arc<dyn Progress>,
    stdout: &mut dyn Write,
) -> infractl::Result<i32> {
    let p = progress.as_ref();
    match command {
        Command::List { exercises, json } => commands::list::run(exercises, json, stdout),
        Command::Render {
            stack,
            output,
            json,
        } => commands::render::run(&stack, &output, json, global, p, stdout),
        Command::Validate { stack, json } => {
            commands::validate::run(&stack, json, global, progress.clone(), stdout).await
        }
        Command::Schema { exercise } => commands::schema::run(exercise, stdout),
        Command::Up(args) => commands::exercise::up_any(&args, global, p, stdout).await,
        Command::Down(args) => commands::down::run(&args, global, stdout).await,
        Command::Status {
            stack, json, all, ..
        } => commands::status::run(stack.as_deref(), json, all, global, stdout).await,
        Command::Verify { stack, json, .. } => {
            commands::verify::run(&stack, json, global, p, stdout).await
        }
        Command::Check { stack, json, .. } => {
            commands::exercise::check(&stack, json, global, p, stdout).await
        }
        Command::Chaos(args) => commands::chaos::run(&args, global, p, stdout).await,
        Command::Inject(args) => commands::inject::dispatch(&args, global, p, stdout).await,
        Command::Class(class) => run_class(class, global, p, stdout).await,
        Command::Serve(args) => commands::serve::run(args, global, p).await,
        Command::Open { stack, .. } => commands::open::open(&stack, global, stdout).await,
        Command::Alerts { stack, json, .. } => {
            commands::alerts::run(&stack, json, global, stdout).await
        }
        Command::Ca { stack, lab } => commands::open::ca(&stack, &global.for_lab(lab), stdout),
        Command::Explain { stack, json } => commands::explain::run(&stack, json, global, stdout),
        Command::Diagram {
            stack,
            format,
            output,
        } => commands::diagram::run(
            &stack,
            format.as_deref(),
            output.as_deref(),
            global,
            p,
            stdout,
        ),
        Command::Exec {
            stack,
            server,
            command,
            ..
        } => {
            let mut stderr = std::io::stderr();
            commands::exec::run(&stack, &server, &command, global, stdout, &mut stderr).await
        }
        Command::Logs {
            stack,
            server,
            service,
            lines,
            follow,
            ..
        } => {
            let opts = commands::logs::LogsOptions {
                service: service.as_deref(),
                lines,
                follow,
            };
            let mut stderr = std::io::stderr();
            commands::logs::run(&stack, &server, &opts, global, stdout, &mut stderr).await
        }
        Command::Image(image) => run_image(image, global, p, stdout).await,
        Command::Completions { shell } => commands::completions::run(shell, stdout),
        Command::Man { output } => commands::man::run(output.as_deref(), p, stdout),
    }
}

/// `infractl class ...`.
async fn run_class(
    command: ClassCommand,
    global: &Global,
    p: &dyn Progress,
    stdout: &mut dyn Write,
) -> infractl::Result<i32> {
    match command {
        ClassCommand::Up {
            file,
            dry_run,
            json,
        } => commands::class::up(&file, dry_run, json, global, p, stdout).await,
        ClassCommand::Status { file, json } => {
            commands::class::status(&file, json, global, stdout).await
        }
        ClassCommand::Verify { file, report } => {
            commands::class::verify(&file, report.as_deref(), global, p, stdout).await
        }
        ClassCommand::Links {
            file,
            url,
            json,
            csv,
            revoke,
            valid_for,
        } => {
            let how = commands::class::LinksOptions {
                url: &url,
                json,
                csv,
                revoke: revoke.as_deref(),
                valid_for: valid_for.as_deref(),
            };
            commands::class::links(&file, &how, global, stdout)
        }
        ClassCommand::Down { file } => commands::class::down(&file, global, p, stdout).await,
    }
}

/// `infractl image ...`.
async fn run_image(
    command: ImageCommand,
    global: &Global,
    p: &dyn Progress,
    stdout: &mut dyn Write,
) -> infractl::Result<i32> {
    match command {
        ImageCommand::Build { mirror, force } => {
            commands::image::build(mirror.as_deref(), force, global, p, stdout).await
        }
        ImageCommand::Show => commands::image::show(global, stdout).await,
        ImageCommand::Rm { old } => commands::image::rm(old, global, stdout).await,
    }
}
