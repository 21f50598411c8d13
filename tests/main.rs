//! The integration tests: one binary, running the real `infractl` through a
//! small builder (see `harness`), comparing what users see.

mod cli;
mod engine;
mod golden;
mod harness;
mod ssh;
mod up;
mod verify;
