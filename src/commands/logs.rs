//! `infractl logs STACK SERVER [SERVICE]`: a service's log (or every
//! service's, and the server's init output); with `--follow`, the logs as
//! they grow, streamed until Ctrl-C.

use std::io::Write;

use futures_util::StreamExt;

use super::{emit, Global};
use crate::driver::{Chunk, Driver};
use crate::error::{Context, Error, Result};

/// What `logs` shows, and how.
pub struct LogsOptions<'a> {
    pub service: Option<&'a str>,
    /// Lines from the end (of each log).
    pub lines: u32,
    /// Keep printing new lines until Ctrl-C.
    pub follow: bool,
}

pub async fn run(
    stack: &str,
    server: &str,
    opts: &LogsOptions<'_>,
    global: &Global,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32> {
    let driver = super::lab_driver(stack, global).await?;
    let services = services(&*driver, server, opts.service).await?;
    let mut text = String::new();
    if opts.service.is_none() {
        if let Some(boot) = driver.boot_log(server, opts.lines).await? {
            text.push_str(&format!("==> {server} (init) <==\n"));
            text.push_str(&boot);
        }
    }
    if opts.follow {
        emit(out, &text)?;
        let script = follow_script(&services, opts.lines);
        return follow(&*driver, server, &script, out, err).await;
    }
    for s in &services {
        let o = driver
            .exec(server, &crate::render::supervise::log_tail(s, opts.lines))
            .await?;
        if opts.service.is_none() {
            text.push_str(&format!("\n==> {server} {s} <==\n"));
        }
        text.push_str(&o.stdout);
    }
    emit(out, &text)?;
    Ok(0)
}

/// The services to show: `service` if the server has it, else all of them.
async fn services(driver: &dyn Driver, server: &str, service: Option<&str>) -> Result<Vec<String>> {
    let known = driver
        .exec(
            server,
            &format!("ls {} 2>/dev/null", crate::render::supervise::SV_DIR),
        )
        .await?;
    let known: Vec<String> = known
        .stdout
        .split_whitespace()
        .map(str::to_string)
        .collect();
    match service {
        Some(s) if !known.iter().any(|k| k == s) => Err(Error::usage(format!(
            "server `{server}` has no service `{s}`"
        ))
        .with_hint(format!("its services: {}", known.join(", ")))),
        Some(s) => Ok(vec![s.to_string()]),
        None => Ok(known),
    }
}

/// The script `logs --follow` runs: first its process id on a line of its
/// own (a command run in a container outlives the client that started it,
/// so Ctrl-C stops it by that id), then `tail -F` of each service's log
/// from its last `lines` lines.
pub fn follow_script(services: &[String], lines: u32) -> String {
    let files: Vec<String> = services
        .iter()
        .map(|s| {
            crate::shell::shell_quote(&format!(
                "{}/{s}/current",
                crate::render::supervise::LOG_DIR
            ))
        })
        .collect();
    format!("echo $$; exec tail -n {lines} -F {}", files.join(" "))
}

/// Streams the script's output to `out` and `err` as it comes, until it
/// ends or Ctrl-C (then the script is stopped on the server).
async fn follow(
    driver: &dyn Driver,
    server: &str,
    script: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32> {
    let mut stream = driver.exec_stream(server, script).await?;
    let mut first = FirstLine::default();
    // Ctrl-C is ours until the `tail` on the server is stopped.
    let _ctrl_c = crate::interrupt::handle();
    let signalled = crate::interrupt::signalled();
    tokio::pin!(signalled);
    let result = loop {
        let chunk = tokio::select! {
            c = stream.next() => c,
            signal = &mut signalled => break Err(Error::interrupted(signal)),
        };
        let written = match chunk {
            None => break Ok(0),
            Some(Err(e)) => break Err(e),
            Some(Ok(Chunk::Stdout(data))) => {
                out.write_all(&first.feed(&data)).and_then(|()| out.flush())
            }
            Some(Ok(Chunk::Stderr(data))) => err.write_all(&data).and_then(|()| err.flush()),
        };
        if let Err(e) = written {
            break Err(Error::caused(super::WRITE_OUTPUT, e));
        }
    };
    drop(stream);
    if let Some(pid) = first.pid.flatten().filter(|p| *p > 1) {
        driver
            .exec(server, &format!("kill {pid} 2>/dev/null"))
            .await
            .context("cannot stop following the logs")?;
    }
    result
}

/// Splits the script's first line (its process id) off its output.
#[derive(Debug, Default)]
struct FirstLine {
    pending: Vec<u8>,
    /// `Some` once the first line is read: the id, if it was one.
    pid: Option<Option<u32>>,
}

impl FirstLine {
    /// The longest first line taken for an id; longer, it is output.
    const MAX: usize = 32;

    /// Takes a chunk of output; returns what is output proper.
    fn feed(&mut self, chunk: &[u8]) -> Vec<u8> {
        if self.pid.is_some() {
            return chunk.to_vec();
        }
        self.pending.extend_from_slice(chunk);
        let Some(nl) = self.pending.iter().position(|&b| b == b'\n') else {
            if self.pending.len() > Self::MAX {
                self.pid = Some(None);
                return std::mem::take(&mut self.pending);
            }
            return Vec::new();
        };
        let rest = self.pending.split_off(nl + 1);
        let line = std::mem::take(&mut self.pending);
        let pid = std::str::from_utf8(&line)
            .ok()
            .and_then(|l| l.trim().parse::<u32>().ok());
        self.pid = Some(pid);
        match pid {
            Some(_) => rest,
            None => [line, rest].concat(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_runs_tail_f_on_each_log_after_saying_its_pid() {
        let script = follow_script(&["nginx".into(), "app".into()], 20);
        assert_eq!(
            script,
            "echo $$; exec tail -n 20 -F /var/log/infractl/nginx/current /var/log/infractl/app/current"
        );
        assert!(follow_script(&["a b".into()], 1).ends_with("'/var/log/infractl/a b/current'"));
    }

    #[test]
    fn the_first_line_is_the_pid_whatever_the_chunks() {
        let mut f = FirstLine::default();
        assert_eq!(f.feed(b"12"), b"");
        assert_eq!(f.feed(b"34\nfirst log line\nsec"), b"first log line\nsec");
        assert_eq!(f.feed(b"ond\n"), b"ond\n");
        assert_eq!(f.pid, Some(Some(1234)));
        // Odd output: no id on the first line, or no line at all; all of it
        // is output, and nothing is killed.
        let mut f = FirstLine::default();
        assert_eq!(f.feed(b"tail: oops\nx"), b"tail: oops\nx");
        assert_eq!(f.pid, Some(None));
        let mut f = FirstLine::default();
        let long = vec![b'7'; 40];
        assert_eq!(f.feed(&long), long);
        assert_eq!(f.pid, Some(None));
    }
}
