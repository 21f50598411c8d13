//! Errors written for the people who read them.
//!
//! Two families, each with its own exit code: the input was wrong (a stack
//! that does not parse or make sense, a bad argument: exit 2), or the lab or
//! its machinery failed (the engine is unreachable, a check failed: exit 1).
//! Stack errors point at the file, line and column, show the line with a
//! caret and, where one helps, a hint.

use std::fmt;

/// Exit code for success.
pub const EXIT_OK: i32 = 0;
/// Exit code when the lab (or the machinery that drives it) failed.
pub const EXIT_FAILURE: i32 = 1;
/// Exit code when the input (stack file, arguments) was wrong.
pub const EXIT_INPUT: i32 = 2;

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
                writeln!(f, "{pad} | {indent}^")?;
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
    /// The lab or its machinery failed.
    #[error("{message}")]
    Failure {
        message: String,
        hint: Option<String>,
    },
}

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
        }
    }

    pub fn with_hint(self, h: impl Into<String>) -> Self {
        match self {
            Error::Usage { message, .. } => Error::Usage {
                message,
                hint: Some(h.into()),
            },
            Error::Failure { message, .. } => Error::Failure {
                message,
                hint: Some(h.into()),
            },
            other => other,
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Stack(_) | Error::Usage { .. } => EXIT_INPUT,
            Error::Failure { .. } => EXIT_FAILURE,
        }
    }

    /// The whole report, as printed on stderr.
    pub fn report(&self) -> String {
        match self {
            Error::Stack(d) => render_all(d),
            Error::Usage { message, hint } | Error::Failure { message, hint } => {
                let mut s = format!("error: {message}\n");
                if let Some(h) = hint {
                    s.push_str(&format!("  = hint: {h}\n"));
                }
                s
            }
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::failure(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

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
    fn diagnostic_shows_line_and_caret() {
        let d = Diagnostic::new("unknown component `apache`")
            .at(Some(Location {
                file: "stacks/x.yaml".into(),
                line: 7,
                column: 9,
                text: "      - apache".into(),
            }))
            .hint("use nginx");
        assert_eq!(
            d.to_string(),
            "error: unknown component `apache`\n --> stacks/x.yaml:7:9\n  |\n7 |       - apache\n  |         ^\n  = hint: use nginx\n"
        );
    }
}
