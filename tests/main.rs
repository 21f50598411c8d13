//! The integration tests: one binary, running the real `infractl` through a
//! small builder (see `harness`), comparing what users see.

mod browser;
mod class_errors;
mod cli;
mod diagram;
mod docs;
mod engine;
mod engines;
mod exercise_errors;
mod exercises;
mod explain;
mod faults;
mod golden;
mod grade;
mod harness;
mod isolation;
mod live;
mod place;
mod portal;
mod portal_faults;
mod portal_silent;
mod resume;
mod ssh;
mod ssh_portal;
mod stack_errors;
mod stack_mutants;
mod stack_schema;
mod stages;
mod terminal;
mod up;
mod verify;
