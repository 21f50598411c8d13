//! A stage that moves the database (see `reconcile::plan_moves`): the
//! databases learners wrote are dumped from the server that holds them
//! before `up` changes anything, kept in the lab's state (0600) and loaded
//! into the server they move to once the lab is up. An `up` cut off in
//! between finds the dump there, and the next one loads it.

use crate::apply::reconcile::Decision;
use crate::driver::{Driver, Host};
use crate::error::{Error, Result};
use crate::lab::state::StateDir;
use crate::progress::Progress;
use crate::render::plan::{FileSpec, Plan};

/// The state's folder of dumps, one per server to fill (`db-01.sql`).
const DIR: &str = "moving";

/// Where a dump waits on the server it is loaded into.
const ON_SERVER: &str = "/root/infractl-moved.sql";

/// Seconds MariaDB gets to answer on a server to dump.
const ANSWER_SECONDS: u32 = 60;

/// Dumps the databases of each server `decisions` move from into the
/// lab's state, before anything changes. A stopped server is started to
/// be dumped; one that is gone (its data alone left) cannot be.
pub async fn dump(
    driver: &dyn Driver,
    plan: &Plan,
    hosts: &[Host],
    decisions: &[Decision],
    state: &StateDir,
    progress: &dyn Progress,
) -> Result<()> {
    for d in decisions {
        let Some(from) = &d.fill_from else { continue };
        match hosts.iter().find(|h| h.server == *from) {
            None => {
                return Err(Error::usage(format!(
                    "the database of {from} is to move to {}, but {from} is gone (only its data is left): it cannot be dumped",
                    d.server
                ))
                .with_hint(format!(
                    "bring the lab up with its earlier stack to make {from} again, or pass --discard-data to go on without its data"
                )))
            }
            Some(h) if !h.running => driver.start(plan, from).await?,
            Some(_) => {}
        }
        let script =
            crate::shell::polling(crate::shell::DUMP_DATABASES, &[ANSWER_SECONDS.to_string()]);
        let out = driver.exec_env(from, &script, &[]).await?;
        if out.code != 0 {
            return Err(Error::failure(format!(
                "dumping the databases of {from} to move them to {}: {}",
                d.server,
                out.message()
            )));
        }
        let dir = state.ensure_dir(DIR)?;
        crate::lab::state::write_private(&dir.join(dump_name(&d.server)), out.stdout.as_bytes())
            .map_err(|e| Error::caused(format!("cannot keep the dump of {from}"), e))?;
        progress.note(&format!(
            "{from}: {} dumped ({}), to be loaded into {}",
            databases(&out.stdout),
            size(out.stdout.len()),
            d.server
        ));
    }
    Ok(())
}

/// Loads every dump waiting in the lab's state into its server (up by
/// now), then forgets it.
pub async fn load(
    driver: &dyn Driver,
    plan: &Plan,
    state: &StateDir,
    progress: &dyn Progress,
) -> Result<()> {
    for (server, path) in waiting(state) {
        if plan.server(&server).is_none() {
            return Err(Error::failure(format!(
                "a dump waits for {server} in {}, but the stack has no {server}",
                path.display()
            ))
            .with_hint("load it by hand (`mariadb < FILE` on the new primary), then remove it"));
        }
        let dump = fs_err::read(&path)
            .map_err(|e| Error::caused(format!("cannot read the dump for {server}"), e))?;
        let loaded = format!(
            "{server}: {} loaded ({})",
            databases(&String::from_utf8_lossy(&dump)),
            size(dump.len())
        );
        let file = FileSpec {
            path: ON_SERVER.into(),
            mode: 0o600,
            owner: None,
            sha256: String::new(),
            secret: true,
            content: dump,
        };
        driver.put_files(plan, &server, &[file]).await?;
        let script = crate::shell::with_args(crate::shell::LOAD_DATABASES, &[ON_SERVER]);
        let out = driver.exec_env(&server, &script, &[]).await?;
        if out.code != 0 {
            return Err(Error::failure(format!(
                "loading the moved databases into {server}: {}",
                out.message()
            ))
            .with_hint(format!(
                "the dump stays in {}: `infractl up` tries again",
                path.display()
            )));
        }
        fs_err::remove_file(&path)
            .map_err(|e| Error::caused(format!("cannot remove {}", path.display()), e))?;
        progress.note(&loaded);
    }
    Ok(())
}

/// The dumps waiting in the lab's state: (server, file), by server.
fn waiting(state: &StateDir) -> Vec<(String, std::path::PathBuf)> {
    let Ok(entries) = std::fs::read_dir(state.path.join(DIR)) else {
        return Vec::new();
    };
    let mut out: Vec<(String, std::path::PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            Some((name.strip_suffix(".sql")?.to_string(), e.path()))
        })
        .collect();
    out.sort();
    out
}

fn dump_name(server: &str) -> String {
    format!("{server}.sql")
}

/// `databases site, shop` (or `no database`): what a dump holds.
fn databases(dump: &str) -> String {
    let names: Vec<&str> = dump
        .lines()
        .filter_map(|l| l.strip_prefix("CREATE DATABASE /*!32312 IF NOT EXISTS*/ `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    match names.len() {
        0 => "no database".into(),
        1 => format!("database {}", names[0]),
        _ => format!("databases {}", names.join(", ")),
    }
}

/// `12 KB`.
fn size(bytes: usize) -> String {
    format!("{} KB", bytes.div_ceil(1024))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dump_says_which_databases_it_holds() {
        let dump = "-- MariaDB dump\nCREATE DATABASE /*!32312 IF NOT EXISTS*/ `site` /*!40100 DEFAULT CHARACTER SET latin1 */;\nUSE `site`;\nCREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop`;\n";
        assert_eq!(databases(dump), "databases site, shop");
        assert_eq!(databases(&dump[..90]), "database site");
        assert_eq!(databases(""), "no database");
        assert_eq!(size(1), "1 KB");
        assert_eq!(size(2049), "3 KB");
    }

    #[test]
    fn dumps_wait_in_the_state_by_server() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let state = StateDir::new(dir.path(), "alice");
        assert!(waiting(&state).is_empty());
        let moving = state.ensure_dir(DIR).expect("made");
        for f in ["db-01.sql", "notes.txt"] {
            std::fs::write(moving.join(f), "x").expect("written");
        }
        let w = waiting(&state);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].0, "db-01");
    }
}
