//! The findings of validation as they are made: each at its place in the
//! stack file, with its hint.

use super::raw::StackFile;
use super::source::Locator;
use crate::error::{did_you_mean, Diagnostic};

/// `did you mean` one of `names`, and what they are.
pub(super) fn list_hint(what: &str, name: &str, names: &[String]) -> Option<String> {
    Some(match did_you_mean(name, names.iter().map(String::as_str)) {
        Some(s) => format!("did you mean `{s}`? {what}: {}", names.join(", ")),
        None => format!("{what}: {}", names.join(", ")),
    })
}

/// What validation has found so far, and what it needs to say where.
pub(super) struct Checker<'a> {
    pub(super) locator: &'a Locator,
    pub(super) raw: &'a StackFile,
    pub(super) diags: Vec<Diagnostic>,
    pub(super) server_names: Vec<String>,
}

impl Checker<'_> {
    pub(super) fn err(&mut self, path: &str, message: impl Into<String>, hint: Option<String>) {
        let mut d = Diagnostic::new(message).at(self.locator.value(path));
        d.hint = hint;
        self.diags.push(d);
    }

    pub(super) fn key_err(&mut self, path: &str, message: impl Into<String>, hint: Option<String>) {
        let mut d = Diagnostic::new(message).at(self.locator.key(path));
        d.hint = hint;
        self.diags.push(d);
    }

    pub(super) fn unknown_server_hint(&self, name: &str) -> Option<String> {
        list_hint("servers of this stack", name, &self.server_names)
    }
}
