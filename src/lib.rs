//! infractl brings up real web infrastructures for labs and tears them down.
//!
//! The code follows one pipeline, each stage a module with one job and data
//! flowing one way; the modules below are declared in that order.
//!
//! ```text
//! stack YAML --load--> Stack --build--> Topology --render--> Plan --reconcile/apply--> Driver --> lab
//!  (stacks/)  (stack/)           (topology/)      (render/,    (render/plan.rs)  (apply/)  (driver/)
//!                                                  components/,
//!                                                  templates/)
//! then, on a lab: verify/ · explain/ · chaos · alerts · diagram/ · exercise/;   many labs: class/
//! front ends: commands/ (the CLI) and serve/ (the classroom portal), both on ops/
//! ```
//!
//! 1. [`stack`]: the YAML format (`stack::raw`), reading with `extends` and
//!    source positions (`stack::source`), and validation: everything that
//!    can be wrong with a stack is found by `stack::load`, at its line.
//! 2. [`topology`]: the derived graph of a valid stack (building it cannot
//!    fail): roles and their bring-up stages, who talks to whom on which
//!    port, virtual IPs, DNS records, the users' network (`public`).
//! 3. [`components`]: the registry of kinds (nginx, haproxy, mariadb, ...),
//!    each in its own file with its options, packages, templates, roles,
//!    flows, exporter, render function, its step of explain's request path
//!    and what verify proves of it. A new kind is its file, its templates
//!    and one line of `kinds!`.
//! 4. [`render`]: Tera templates into a [`render::plan`](mod@render::plan)
//!    of files, services, setup steps, readiness probes and checks per
//!    server;
//!    `render::supervise` is the node's side of it (runit services).
//! 5. [`apply`]: `apply::reconcile` decides purely what `up` does to each
//!    server (printed by `up --dry-run`); the executor walks the plan's
//!    order with the servers of a stage side by side.
//! 6. [`driver`]: the boundary to the machines — an object-safe core trait,
//!    capabilities a backend opts into, engines and their placements; one
//!    folder per backend (`docker/`, `ssh/`), listed in one place.
//! 7. [`lab`]: lab instances (`--lab`, a stack's copy on subnets of its
//!    own), their record and their state (secrets, the lab CA, 0600).
//! 8. [`verify`], [`explain`], [`chaos`], [`alerts`], [`diagram`]: proving,
//!    explaining, breaking, watching and drawing a lab.
//! 9. [`exercise`]: faults injected into a running lab for learners to
//!    find and fix (the catalogue, and injecting one through the driver),
//!    graded by verify's claims.
//! 10. [`class`]: many labs, one per learner, placed on engines (a pure
//!     placement), brought up, graded.
//! 11. [`ops`] and [`commands`]: the operations on labs the front ends
//!     share, and one thin function per CLI command (typed `--json`
//!     reports in `commands::report`); [`cli`] is the command line's
//!     definition (clap), also the source of the completions, the man page
//!     and the book's command pages. [`serve`] is the other front end:
//!     the classroom portal (`infractl serve`), a learner's lab and an
//!     instructor's class in a browser, over the same operations.
//!
//! Beside the pipeline: [`error`] (errors for people: carets, causes,
//! hints, exit codes), [`progress`] (events the binary draws),
//! [`interrupt`] (Ctrl-C), [`shell`] (the scripts run on the hosts),
//! [`words`] (English lists and agreement).
//!
//! Words: *validation* is what `stack::load` finds wrong in a stack, at
//! its line; a *check* is a rendered file run through the program that
//! reads it (`infractl validate`); a *claim* is what `verify` proves on a
//! running lab; a *finding* is what `explain` says of a stack (and `chaos`
//! puts to the test); a *lab* is a running copy of a stack.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::too_many_lines)]

pub mod stack;

pub mod topology;

pub mod components;

pub mod render;

pub mod apply;

pub mod driver;

pub mod lab;

pub mod alerts;
pub mod chaos;
pub mod diagram;
pub mod explain;
pub mod review;
pub mod verify;

pub mod exercise;

pub mod class;

pub mod cli;
pub mod commands;
pub mod ops;
pub mod serve;

pub mod error;
pub mod interrupt;
pub mod progress;
pub mod shell;
#[cfg(feature = "test-hooks")]
pub mod tripwire;
pub mod words;

pub use error::{Error, Result};
