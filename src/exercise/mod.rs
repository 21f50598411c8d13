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
//!
//! This module stands on `topology`, `render` and `driver`; nothing under
//! them knows of it.

pub mod faults;
pub mod inject;
