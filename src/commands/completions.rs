//! `infractl completions SHELL`: the shell's completion script, generated
//! from the same clap definition as the help (`crate::cli`).

use std::io::Write;

use crate::error::{Context, Result};

pub fn run(shell: clap_complete::Shell, out: &mut dyn Write) -> Result<i32> {
    let mut text = Vec::new();
    clap_complete::generate(shell, &mut crate::cli::command(), "infractl", &mut text);
    out.write_all(&text).context(super::WRITE_OUTPUT)?;
    Ok(0)
}
