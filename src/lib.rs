//! infractl brings up real web infrastructures for labs and tears them down.
//!
//! The code follows one pipeline, each stage a module with one job and data
//! flowing one way:
//!
//! ```text
//! stack YAML --load/validate--> Stack --topology--> Topology --render--> Plan --driver--> lab
//!  (stacks/)      (stack/)                (topology.rs)        (render.rs,   (plan.rs)
//!                                                               components/,
//!                                                               templates/)
//! ```
//!
//! - [`stack`]: the YAML format (`stack::raw`), reading with `extends` and
//!   source positions (`stack::source`), and validation: everything that
//!   can be wrong with a stack is found by `stack::load`, at its line.
//! - [`topology`]: the derived graph of a valid stack (building it cannot
//!   fail): roles, who talks to whom on which port, virtual IPs, DNS
//!   records, bring-up order.
//! - [`components`]: the registry of kinds (nginx, haproxy, mariadb, ...),
//!   each in its own file with its options, packages, templates, roles,
//!   flows, exporter and render function.
//! - [`render`] and [`plan`]: Tera templates into a plan of files,
//!   services, setup steps, readiness probes and checks per server.
//! - [`stranger`]: where on the users' network the site is reached (by
//!   verify's stranger, `up --publish` and the monitoring's probe).
//! - [`state`]: per-stack secrets (passwords, the lab CA) kept 0600.
//! - [`image`]: the one node image, built from Debian packages.
//! - [`check`]: runs each rendered file through its own program.
//! - [`driver`]: applies plans to one lab's hosts (Docker containers on
//!   one engine; SSH hosts of one [`inventory`]);
//!   [`supervise`] puts services under runit; [`apply`] walks the plan's
//!   order, skipping what has not changed.
//! - [`reconcile`]: what `up` will do to each server, decided purely
//!   (printed by `up --dry-run`, carried out by [`apply`]).
//! - [`progress`]: progress events; the binary draws them.
//! - [`interrupt`]: Ctrl-C (exit 130), and the commands that take it
//!   themselves to stop cleanly.
//! - [`cli`]: the command line's definition (clap), also the source of the
//!   completions and the man page.
//! - [`verify`], [`chaos`], [`explain`], [`diagram`]: proving, breaking,
//!   explaining and drawing a lab (verify: one file per family of claims,
//!   what a kind claims of its server given by the kind); [`alerts`]: what
//!   the lab's own monitoring says is wrong with it.
//! - [`lab`]: lab instances (`--lab`): a stack's copy under its own name,
//!   on subnets of its own where the stack's are taken.
//!
//! Words: *validation* is what `stack::load` finds wrong in a stack, at
//! its line; a *check* is a rendered file run through the program that
//! reads it ([`check`], `infractl validate`); a *claim* is what `verify`
//! proves on a running lab; a *finding* is what `explain` says of a stack
//! (and `chaos` puts to the test); a *lab* is a running copy of a stack.
//! - [`commands`]: one thin function per CLI command; their `--json`
//!   reports are typed (`commands::report`). They stand on [`ops`] (a lab
//!   resolved, loaded, brought up, its status) and [`class`] (a lab per
//!   student: placed, brought up, graded), which print nothing.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod alerts;
pub mod apply;
pub mod chaos;
pub mod class;
pub mod cli;
pub mod commands;
pub mod components;
pub mod diagram;
pub mod driver;
pub mod error;
pub mod explain;
pub mod interrupt;
pub mod lab;
pub mod ops;
pub mod progress;
pub mod reconcile;
pub mod render;
pub mod shell;
pub mod stack;
pub mod stranger;
pub mod supervise;
pub mod topology;
#[cfg(feature = "test-hooks")]
pub mod tripwire;
pub mod verify;
pub mod words;

pub use error::{Error, Result};
