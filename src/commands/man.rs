//! `infractl man [-o DIR]`: the man page in roff, generated from the same
//! clap definition as the help (`crate::cli`): infractl.1 on stdout, or
//! infractl.1 and `infractl-<command>.1` for every command written to DIR.

use std::io::Write;
use std::path::Path;

use crate::error::{Context, Result};
use crate::progress::Progress;

/// Every page: (file name, roff), the tool's first, then each command's.
pub fn pages() -> Vec<(String, Vec<u8>)> {
    fn walk(cmd: clap::Command, out: &mut Vec<(String, Vec<u8>)>) {
        let man = clap_mangen::Man::new(cmd.clone());
        let mut roff = Vec::new();
        man.render(&mut roff).expect("rendering into memory");
        out.push((man.get_filename(), roff));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub.clone(), out);
        }
    }
    let mut cmd = crate::cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut out = Vec::new();
    walk(cmd, &mut out);
    out
}

pub fn run(dir: Option<&Path>, progress: &dyn Progress, out: &mut dyn Write) -> Result<i32> {
    let pages = pages();
    let Some(dir) = dir else {
        out.write_all(&pages[0].1).context(super::WRITE_OUTPUT)?;
        return Ok(0);
    };
    let doing = || format!("cannot write the man pages into {}", dir.display());
    fs_err::create_dir_all(dir).with_context(doing)?;
    for (name, roff) in &pages {
        fs_err::write(dir.join(name), roff).with_context(doing)?;
    }
    progress.note(&format!(
        "wrote {} man pages into {} (infractl.1, infractl-up.1, ...)",
        pages.len(),
        dir.display()
    ));
    Ok(0)
}
