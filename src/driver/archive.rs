//! Files as they travel to a host: one tar archive with each file's mode,
//! and its owner by name (`www-data`, `root:bind`), so that a file lands
//! with its owner in the same step that places it. A file placed as root
//! and given its owner afterwards is unreadable to its service in between,
//! and stays so if whatever was to chown it is interrupted.
//!
//! The names are in every archive: `tar` unpacking as root gives each file
//! the ids those names have on the host, as it does anywhere. A receiver
//! that goes by the numbers alone (the Engine API's archive upload) gets
//! them resolved here first, from the host's `/etc/passwd` and
//! `/etc/group` ([`Owners`]).

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::render::plan::FileSpec;

/// Users and groups of one host (or of one image: every node of a lab
/// runs the same image).
#[derive(Debug, Clone, Default)]
pub struct Owners {
    users: HashMap<String, (u32, u32)>,
    groups: HashMap<String, u32>,
}

impl Owners {
    /// Reads the text of `/etc/passwd` and `/etc/group`.
    pub fn parse(passwd: &str, group: &str) -> Owners {
        let fields = |line: &str| -> Vec<String> { line.split(':').map(str::to_string).collect() };
        let users = passwd
            .lines()
            .filter_map(|l| {
                let f = fields(l);
                Some((
                    f.first()?.clone(),
                    (f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?),
                ))
            })
            .collect();
        let groups = group
            .lines()
            .filter_map(|l| {
                let f = fields(l);
                Some((f.first()?.clone(), f.get(2)?.parse().ok()?))
            })
            .collect();
        Owners { users, groups }
    }

    /// `user` or `user:group` (as chown takes it) to (uid, gid); a user
    /// alone gets its primary group. `None` when either is unknown.
    pub fn resolve(&self, owner: &str) -> Option<(u32, u32)> {
        let (user, group) = match owner.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (owner, None),
        };
        let (uid, primary) = *self.users.get(user)?;
        let gid = match group {
            Some(g) => *self.groups.get(g)?,
            None => primary,
        };
        Some((uid, gid))
    }
}

/// A tar archive of `files`, paths relative to `/`, with their modes and
/// their owners' names; with `owners`, their owners' ids too (else root's,
/// for a receiver that goes by the names or sets owners itself).
pub fn tar_of(files: &[FileSpec], owners: Option<&Owners>) -> Result<Vec<u8>> {
    tar_with_dirs(&[], files, owners)
}

/// As `tar_of`, the directories `dirs` (root's, 0700) first.
pub fn tar_with_dirs(
    dirs: &[String],
    files: &[FileSpec],
    owners: Option<&Owners>,
) -> Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for d in dirs {
        let mut header = tar::Header::new_gnu();
        header.set_size(0);
        header.set_mode(0o700);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Directory);
        builder
            .append_data(&mut header, d.trim_start_matches('/'), std::io::empty())
            .map_err(|e| Error::failure(format!("cannot pack {d}: {e}")))?;
    }
    for f in files {
        let mut header = tar::Header::new_gnu();
        if let Some(owner) = f.owner.as_deref() {
            // A user alone: the group of its name, as Debian makes a
            // system user's (`tar` would otherwise leave root's).
            let (user, group) = owner.split_once(':').unwrap_or((owner, owner));
            let named = header
                .set_username(user)
                .and_then(|()| header.set_groupname(group));
            named.map_err(|e| {
                Error::failure(format!("cannot pack {}: owner `{owner}`: {e}", f.path))
            })?;
        }
        let (uid, gid) = match (f.owner.as_deref(), owners) {
            (Some(o), Some(known)) => known.resolve(o).ok_or_else(|| {
                Error::failure(format!(
                    "cannot place {}: its owner `{o}` is unknown there",
                    f.path
                ))
            })?,
            _ => (0, 0),
        };
        header.set_size(f.content.len() as u64);
        header.set_mode(f.mode);
        // Placed now: a program that reloads only what changed since it
        // last read it (BIND's zones) goes by this time.
        header.set_mtime(now);
        header.set_uid(uid.into());
        header.set_gid(gid.into());
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(
                &mut header,
                f.path.trim_start_matches('/'),
                f.content.as_slice(),
            )
            .map_err(|e| Error::failure(format!("cannot pack {}: {e}", f.path)))?;
    }
    builder
        .into_inner()
        .map_err(|e| Error::failure(format!("cannot pack files: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_users_groups_and_primary_groups() {
        let o = Owners::parse(
            "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\nmysql:x:101:104::/nonexistent:/bin/false\n",
            "root:x:0:\nwww-data:x:33:\nmysql:x:104:\nbind:x:105:\n",
        );
        assert_eq!(o.resolve("root:www-data"), Some((0, 33)));
        assert_eq!(o.resolve("mysql"), Some((101, 104)));
        assert_eq!(o.resolve("root:bind"), Some((0, 105)));
        assert_eq!(o.resolve("nobody"), None);
        assert_eq!(o.resolve("root:nogroup"), None);
    }

    /// The names travel in every archive, the ids only when resolved
    /// here; a user alone names the group of its name.
    #[test]
    fn archives_carry_owners_by_name() {
        let file = |path: &str, owner: Option<&str>| FileSpec {
            path: path.into(),
            mode: 0o640,
            owner: owner.map(str::to_string),
            sha256: String::new(),
            content: b"x".to_vec(),
            secret: false,
        };
        let files = [
            file("/etc/app.conf", Some("root:www-data")),
            file("/etc/db.conf", Some("mysql")),
            file("/etc/plain", None),
        ];
        let read = |tar: Vec<u8>| -> Vec<(String, String, u64, u64)> {
            let mut archive = tar::Archive::new(tar.as_slice());
            let entries = archive.entries().expect("entries");
            entries
                .map(|e| {
                    let h = e.expect("entry").header().clone();
                    let name = |n: Option<&str>| n.unwrap_or_default().to_string();
                    (
                        name(h.username().expect("utf-8")),
                        name(h.groupname().expect("utf-8")),
                        h.uid().expect("uid"),
                        h.gid().expect("gid"),
                    )
                })
                .collect()
        };
        let by_name = read(tar_of(&files, None).expect("tar"));
        assert_eq!(
            by_name,
            [
                ("root".into(), "www-data".into(), 0, 0),
                ("mysql".into(), "mysql".into(), 0, 0),
                (String::new(), String::new(), 0, 0),
            ]
        );
        let o = Owners::parse(
            "root:x:0:0::/root:/bin/sh\nmysql:x:101:104::/:/bin/false\n",
            "root:x:0:\nwww-data:x:33:\nmysql:x:104:\n",
        );
        let by_id = read(tar_of(&files, Some(&o)).expect("tar"));
        assert_eq!((by_id[0].2, by_id[0].3), (0, 33));
        assert_eq!((by_id[1].2, by_id[1].3), (101, 104));
    }

    #[test]
    fn directories_come_first_and_files_keep_their_modes_relative_to_root() {
        let file = |path: &str, mode: u32, content: &[u8]| FileSpec {
            path: path.into(),
            mode,
            owner: None,
            sha256: String::new(),
            content: content.to_vec(),
            secret: false,
        };
        let files = [
            file("/var/tmp/s/0/named.conf", 0o640, b"options {};\n"),
            file("/var/tmp/s/1/run", 0o755, b"#!/bin/sh\n"),
        ];
        let dirs = ["/var/tmp/s".to_string(), "/var/tmp/s/0".to_string()];
        let tar = tar_with_dirs(&dirs, &files, None).expect("tar");
        let mut archive = tar::Archive::new(tar.as_slice());
        let entries: Vec<(String, tar::EntryType, u32, u64, u64, String)> = archive
            .entries()
            .expect("entries")
            .map(|e| {
                use std::io::Read;
                let mut e = e.expect("entry");
                let h = e.header().clone();
                let mut text = String::new();
                e.read_to_string(&mut text).expect("text");
                (
                    e.path().expect("path").display().to_string(),
                    h.entry_type(),
                    h.mode().expect("mode"),
                    h.size().expect("size"),
                    h.mtime().expect("mtime"),
                    text,
                )
            })
            .collect();
        let kinds: Vec<(&str, tar::EntryType, u32)> = entries
            .iter()
            .map(|(p, t, m, ..)| (p.as_str(), *t, *m))
            .collect();
        assert_eq!(
            kinds,
            [
                ("var/tmp/s", tar::EntryType::Directory, 0o700),
                ("var/tmp/s/0", tar::EntryType::Directory, 0o700),
                ("var/tmp/s/0/named.conf", tar::EntryType::Regular, 0o640),
                ("var/tmp/s/1/run", tar::EntryType::Regular, 0o755),
            ]
        );
        assert_eq!(entries[2].3, 12);
        assert_eq!(entries[3].5, "#!/bin/sh\n");
        // Directories bear no time; files the time they are placed.
        assert_eq!(entries[0].4, 0);
        assert!(entries[2].4 > 1_600_000_000, "{}", entries[2].4);
        assert_eq!(tar_of(&files, None).expect("tar").len() % 512, 0);
    }

    #[test]
    fn an_owner_unknown_on_the_host_is_refused_by_name() {
        let f = FileSpec {
            path: "/etc/x".into(),
            mode: 0o600,
            owner: Some("ghost:root".into()),
            sha256: String::new(),
            content: vec![],
            secret: false,
        };
        let o = Owners::parse("root:x:0:0::/root:/bin/sh\n", "root:x:0:\n");
        let e = tar_of(std::slice::from_ref(&f), Some(&o)).unwrap_err();
        assert_eq!(
            e.headline(),
            "cannot place /etc/x: its owner `ghost:root` is unknown there"
        );
        // Without the host's users, the name alone travels.
        assert!(tar_of(&[f], None).is_ok());
        // Lines that are not users or groups are passed over.
        let o = Owners::parse(
            "# comment\nbad\nann:x:1000:1000::/home/ann:/bin/sh\n",
            "ann:x:1000:\n:x\n",
        );
        assert_eq!(o.resolve("ann"), Some((1000, 1000)));
    }
}
