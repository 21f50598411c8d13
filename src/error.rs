//! Errors written for the people who read them.
//!
//! Two families, each with its own exit code: the input was wrong (a stack
//! that does not parse or make sense, a bad argument: exit 2), or the lab or
//! its machinery failed (the engine is unreachable, a check failed: exit 1).
//! Stack errors point at the file, line and column, show the line with a
//! caret and, where one helps, a hint. Failures keep what caused them (an
//! I/O error naming its path, an engine's answer) and print each cause on
//! its own `Caused by:` line, as uv and cargo do.

use std::fmt;

/// Exit code for success.
pub const EXIT_OK: i32 = 0;
/// Exit code when the lab (or the machinery that drives it) failed.
pub const EXIT_FAILURE: i32 = 1;
/// Exit code when the input (stack file, arguments) was wrong.
pub const EXIT_INPUT: i32 = 2;
/// Exit code when Ctrl-C stopped the command (128 + SIGINT, as shells say).
pub const EXIT_INTERRUPTED: i32 = 130;

/// A problem in a stack file, located where the YAML says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    pub location: Option<Location>,
    pub hint: Option<String>,
}

/// A place in a source file (line and column are 1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// The text of that line, shown under the message.
    pub text: String,
    /// How many characters the caret spans (the offending key or value).
    pub width: usize,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            location: None,
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn at(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        if let Some(loc) = &self.location {
            let num = loc.line.to_string();
            let pad = " ".repeat(num.len());
            writeln!(f, "{pad}--> {}:{}:{}", loc.file, loc.line, loc.column)?;
            if !loc.text.is_empty() {
                writeln!(f, "{pad} |")?;
                writeln!(f, "{num} | {}", loc.text)?;
                let col = loc.column.saturating_sub(1);
                let indent: String = loc
                    .text
                    .chars()
                    .take(col)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                let room = loc.text.chars().count().saturating_sub(col).max(1);
                let carets = "^".repeat(loc.width.clamp(1, room));
                writeln!(f, "{pad} | {indent}{carets}")?;
            }
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "  = hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every error infractl reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The stack file is wrong; one diagnostic per problem found.
    #[error("{}", render_all(.0))]
    Stack(Vec<Diagnostic>),
    /// A wrong argument or a missing file named on the command line.
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// The lab or its machinery failed: what was being done, and why it
    /// failed (the chain of causes, shown as `Caused by:` lines).
    #[error("{message}")]
    Failure {
        message: String,
        hint: Option<String>,
        #[source]
        source: Option<Cause>,
    },
    /// A signal stopped the command (Ctrl-C: exit 130; SIGTERM: 143).
    #[error("{message}")]
    Interrupted {
        message: String,
        hint: Option<String>,
        signal: i32,
    },
}

/// What made a failure happen, kept whole (with its own causes).
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

fn render_all(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&d.to_string());
    }
    let n = diags.len();
    if n > 1 {
        out.push_str(&format!("error: {n} problems in the stack\n"));
    }
    out
}

impl Error {
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: None,
        }
    }

    pub fn failure(message: impl Into<String>) -> Self {
        Error::Failure {
            message: message.into(),
            hint: None,
            source: None,
        }
    }

    /// A failure while `doing` something, caused by `cause`:
    /// `.map_err(|e| Error::caused("saving the plan", e))`.
    pub fn caused(doing: impl Into<String>, cause: impl Into<Cause>) -> Self {
        Error::Failure {
            message: doing.into(),
            hint: None,
            source: Some(cause.into()),
        }
    }

    /// Stopped by `signal` (see [`crate::interrupt`]): `error: interrupted`.
    pub fn interrupted(signal: i32) -> Self {
        Error::Interrupted {
            message: "interrupted".into(),
            hint: None,
            signal,
        }
    }

    pub fn with_hint(self, h: impl Into<String>) -> Self {
        match self {
            Error::Usage { message, .. } => Error::Usage {
                message,
                hint: Some(h.into()),
            },
            Error::Failure {
                message, source, ..
            } => Error::Failure {
                message,
                hint: Some(h.into()),
                source,
            },
            Error::Interrupted {
                message, signal, ..
            } => Error::Interrupted {
                message,
                hint: Some(h.into()),
                signal,
            },
            other => other,
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Stack(_) | Error::Usage { .. } => EXIT_INPUT,
            Error::Failure { .. } => EXIT_FAILURE,
            Error::Interrupted { signal, .. } => 128 + signal,
        }
    }

    /// What to do about it, when the error says.
    pub fn hint_text(&self) -> Option<&str> {
        match self {
            Error::Usage { hint, .. }
            | Error::Failure { hint, .. }
            | Error::Interrupted { hint, .. } => hint.as_deref(),
            Error::Stack(_) => None,
        }
    }

    /// The report's first line without its `error: `: what one line in a
    /// table (a class's labs) says of the failure.
    pub fn headline(&self) -> String {
        let report = self.report();
        let first = report.lines().next().unwrap_or("");
        first.strip_prefix("error: ").unwrap_or(first).to_string()
    }

    /// The whole report, as printed on stderr: the message, each cause on a
    /// `Caused by:` line, then the hint.
    pub fn report(&self) -> String {
        let (message, hint) = match self {
            Error::Stack(d) => return render_all(d),
            Error::Usage { message, hint }
            | Error::Failure { message, hint, .. }
            | Error::Interrupted { message, hint, .. } => (message, hint),
        };
        let mut s = format!("error: {message}\n");
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            s.push_str(&format!("  Caused by: {c}\n"));
            cause = c.source();
        }
        if let Some(h) = hint {
            s.push_str(&format!("  = hint: {h}\n"));
        }
        s
    }
}

/// Says what was being done when an operation failed, keeping its error as
/// the cause: `fs::write(&p, x).context("cannot save the plan")?`.
pub trait Context<T> {
    fn context(self, doing: impl Into<String>) -> Result<T>;
    fn with_context(self, doing: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: Into<Cause>> Context<T> for std::result::Result<T, E> {
    fn context(self, doing: impl Into<String>) -> Result<T> {
        self.map_err(|e| Error::caused(doing, e))
    }

    fn with_context(self, doing: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::caused(doing(), e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `1 server`, `3 servers`: a count and its noun, as messages say it.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let kinds = ["nginx", "haproxy", "mariadb"];
        assert_eq!(did_you_mean("ngnix", kinds), Some("nginx"));
        assert_eq!(did_you_mean("mysql", kinds), None);
        assert_eq!(did_you_mean("haproxi", kinds), Some("haproxy"));
    }

    #[test]
    fn failures_print_each_cause_then_the_hint() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let path = blocker.join("lock");
        let e = fs_err::write(&path, "x")
            .context("cannot take the lock of lab `t`")
            .unwrap_err()
            .with_hint("check the state directory");
        assert_eq!(
            e.report(),
            format!(
                "error: cannot take the lock of lab `t`\n  Caused by: failed to create file `{}`\n  Caused by: Not a directory (os error 20)\n  = hint: check the state directory\n",
                path.display()
            )
        );
        assert_eq!(e.exit_code(), EXIT_FAILURE);
    }

    #[test]
    fn diagnostic_shows_line_and_caret() {
        let d = Diagnostic::new("unknown component `apache`")
            .at(Some(Location {
                file: "stacks/x.yaml".into(),
                line: 7,
                column: 9,
                text: "      - apache".into(),
                width: 6,
            }))
            .hint("use nginx");
        assert_eq!(
            d.to_string(),
            "error: unknown component `apache`\n --> stacks/x.yaml:7:9\n  |\n7 |       - apache\n  |         ^^^^^^\n  = hint: use nginx\n"
        );
    }
}
