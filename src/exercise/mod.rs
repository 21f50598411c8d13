//! Exercises: faults injected into a running lab for learners to find and
//! fix, graded by `verify`'s claims.
//!
//! - `faults/`: the catalogue, a file per family — each fault's name,
//!   what it breaks (for the instructor), which servers of a stack it can
//!   hit, the server a seed picks, the change it makes, the claims it
//!   makes fail, the lab's alerts it fires and within what bound, and the
//!   repair a learner would make on the server itself (the answer key);
//!   pure, decided from the topology.
//! - `inject.rs`: a fault made real on a running lab through the driver —
//!   a config file changed and its service reloaded the way the lab's
//!   supervisor does it, the database told to stop, or a script run (a
//!   firewall rule, a zone reloaded) — and waited for until it shows, and
//!   on a monitored lab until its alerts fire.
//! - `file.rs`: exercise files — a stack, a text for the learner, the
//!   faults (or a pool each learner draws from), the checks that grade —
//!   read with positions; the exercises shipped in `exercises/`.
//! - `record.rs`: an exercise started on a lab (its faults injected in
//!   order) and recorded in the lab's state, with each server's host as
//!   it was, so that a lab re-made since is told from one repaired.
//! - `grade.rs`: the exercise's checks graded from verify's claims, each
//!   unfixed one with its claim's hint.
//!
//! This module stands on `stack`, `topology`, `render`, `driver`, `lab`
//! and `verify`; nothing under them knows of it, and `class` stands on it.

pub mod faults;
pub mod file;
pub mod grade;
pub mod inject;
pub mod record;
