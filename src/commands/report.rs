//! What the commands print with `--json`: one typed report each, so a
//! script reads the same fields every time. Fields are in alphabetical
//! order, as the keys are printed.

use serde::Serialize;

/// `up`: what was done to each server, and how the lab stands after.
#[derive(Serialize)]
pub struct Up<'a> {
    pub changes: &'a [crate::apply::Outcome],
    pub seconds: f64,
    pub servers: &'a [crate::ops::status::ServerStatus],
    pub stack: &'a str,
    /// Where the site is published on the engine's host (`--publish`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<&'a str>,
}

/// `up --dry-run`: what `up` would do to each server.
#[derive(Serialize)]
pub struct DryRun<'a> {
    pub decisions: &'a [crate::apply::reconcile::Decision],
    pub dry_run: bool,
    pub stack: &'a str,
}

/// `down`: what was removed.
#[derive(Serialize)]
pub struct Down<'a> {
    pub purged: bool,
    pub purged_packages: bool,
    pub removed: &'a crate::driver::Destroyed,
    pub stack: &'a str,
}

/// `verify` and `validate`: each check, and whether all passed.
#[derive(Serialize)]
pub struct Checks<'a, T> {
    pub checks: &'a [T],
    pub ok: bool,
    pub stack: &'a str,
}

/// `chaos`: each server killed, and whether every result agrees with
/// `explain`.
#[derive(Serialize)]
pub struct Chaos<'a> {
    pub agrees: bool,
    /// With monitoring: whether the alerts chaos raised resolved once every
    /// server was back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerts_after: Option<&'a crate::chaos::Settled>,
    /// With `--answers`: each answer of the design review, graded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answers: Option<&'a [crate::review::Graded]>,
    pub servers: &'a [crate::chaos::ServerChaos],
    pub stack: &'a str,
}

/// `status STACK`.
#[derive(Serialize)]
pub struct Status<'a> {
    pub healthy: bool,
    pub servers: &'a [crate::ops::status::ServerStatus],
    pub stack: &'a str,
    pub up: bool,
    /// The alerts firing, for a lab with monitoring whose Alertmanager
    /// answered (see `infractl alerts`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerts: Option<&'a [crate::alerts::Firing]>,
}

/// `status` with no stack: the labs on the engine in use (every engine
/// a record names, with `--all`).
#[derive(Serialize)]
pub struct Labs<'a> {
    /// Labs the records say run on other engines, not listed (`--all`
    /// lists them).
    pub elsewhere: usize,
    /// The engine in use: the options', else the environment's.
    pub engine: String,
    pub labs: &'a [Lab],
    /// Engines that did not answer, one line each (with `--all`).
    pub unreachable: &'a [String],
}

/// `status` with no stack: one line a lab on the engine.
#[derive(Serialize)]
pub struct Lab {
    /// Where the engine is reached.
    pub engine: String,
    pub lab: String,
    pub running: usize,
    pub servers: usize,
    /// The stack the lab runs.
    pub stack: String,
}

/// `class up --dry-run`: where each lab of the class would go.
#[derive(Serialize)]
pub struct ClassPlacement<'a> {
    pub class: &'a str,
    pub dry_run: bool,
    pub labs: &'a [PlacedLab],
    /// The labs of students gone from the class, which `class up` removes.
    pub removed: &'a [String],
}

/// One lab of a class's placement.
#[derive(Serialize)]
pub struct PlacedLab {
    /// Where it goes; none when it may be on an engine that did not answer.
    pub engine: Option<String>,
    pub lab: String,
    /// `kept` (already there), `new`, or `unknown`.
    pub placed: &'static str,
    pub student: String,
}

/// `list`: a built-in stack.
#[derive(Serialize)]
pub struct Builtin<'a> {
    pub description: &'a str,
    pub name: &'a str,
}
