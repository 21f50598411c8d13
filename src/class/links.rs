//! Personal links to the portal (`infractl serve`): one per student, to
//! their own lab's page, and one for the instructor, to the class's.
//!
//! A link carries a token of 256 bits, an HMAC-SHA256 of who it is for
//! (class, person, generation) under the class's link key: 32 random
//! bytes made by `class up`, kept 0600 in `<state>/.classes/<class>/key`
//! and read only by the command line, which prints the links again at
//! any time (`class links`). The portal never reads the key: it reads
//! `access.json` (0600), which holds each link's SHA-256 only, and finds
//! who a presented token is by its hash. Revoking a student's link moves
//! them to the next generation: the old token stops working, a new one
//! is printed.

use std::path::{Path, PathBuf};

use fs_err as fs;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Context, Error, Result};

/// Who a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A student: their own lab.
    Learner,
    /// The class's instructor: every lab of the class.
    Instructor,
    /// The machine's operator (`serve`'s own link, not a class's): every
    /// lab and class of the state.
    Operator,
}

/// The name the instructor's link is made for (no student has it: a
/// student's name has no `@`).
pub const INSTRUCTOR: &str = "@instructor";

/// One link, as the portal knows it: its token's hash, never the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub who: String,
    pub role: Role,
    /// The student's lab; none for the instructor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lab: Option<String>,
    /// Bumped by each revocation.
    pub generation: u32,
    /// SHA-256 of the token, hex.
    pub hash: String,
    /// When the link stops working (seconds since the epoch); none: when
    /// it is revoked, or the class goes down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<u64>,
}

impl Entry {
    /// Whether the link still works at `now` (seconds since the epoch).
    pub fn valid_at(&self, now: u64) -> bool {
        self.expires.is_none_or(|t| now < t)
    }
}

/// A class's links, as the portal reads them (`access.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    pub class: String,
    /// The class file (absolute), for the portal's class operations.
    pub file: PathBuf,
    pub entries: Vec<Entry>,
}

/// A link as `class links` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub who: String,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lab: Option<String>,
    pub url: String,
    /// When it stops working (seconds since the epoch), if it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<u64>,
}

/// Seconds since the epoch: the clock links' ends are kept in.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Where a class's links are kept under the state root (a dot folder: no
/// lab has such a name).
pub fn dir(root: &Path, class: &str) -> PathBuf {
    root.join(".classes").join(class)
}

/// The class's link key, made (0600) on first use.
fn key(root: &Path, class: &str) -> Result<Vec<u8>> {
    let dir = dir(root, class);
    let path = dir.join("key");
    match fs::read_to_string(&path) {
        Ok(hex_key) => hex::decode(hex_key.trim())
            .map_err(|_| Error::failure(format!("the link key {} is damaged", path.display())))
            .map_err(|e| e.with_hint("remove it: every link of the class is then made anew")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            private_dir(&dir)?;
            let key: [u8; 32] = rand::random();
            crate::lab::state::write_private(&path, hex::encode(key).as_bytes())
                .with_context(|| format!("cannot save {}", path.display()))?;
            Ok(key.to_vec())
        }
        Err(e) => Err(Error::caused(format!("cannot read {}", path.display()), e)),
    }
}

fn private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for d in [dir.parent().unwrap_or(dir), dir] {
        fs::set_permissions(d, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make {} private", d.display()))?;
    }
    Ok(())
}

/// The token of `who`'s link at `generation`.
fn token(key: &[u8], class: &str, who: &str, generation: u32) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(format!("infractl-portal\0{class}\0{who}\0{generation}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The hash the portal keeps of a token.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The class's links as the portal reads them; none before `class up`.
pub fn read(root: &Path, class: &str) -> Result<Option<Access>> {
    let path = dir(root, class).join("access.json");
    match fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::caused(format!("cannot read {}", path.display()), e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::caused(format!("cannot read {}", path.display()), e)),
    }
}

/// Every class's links under `root`.
pub fn all(root: &Path) -> Vec<Access> {
    let Ok(dirs) = std::fs::read_dir(root.join(".classes")) else {
        return vec![];
    };
    let mut out: Vec<Access> = dirs
        .filter_map(|d| d.ok()?.file_name().into_string().ok())
        .filter_map(|class| read(root, &class).ok().flatten())
        .collect();
    out.sort_by(|a, b| a.class.cmp(&b.class));
    out
}

/// Makes sure every student of `class` and its instructor have a link
/// (students gone lose theirs; generations kept), recording the class
/// file for the portal. Made by `class up`.
pub fn ensure(root: &Path, class: &super::Class, file: &Path) -> Result<Access> {
    let key = key(root, &class.name)?;
    let before = read(root, &class.name)?;
    let generation = |who: &str| {
        before
            .as_ref()
            .and_then(|a| a.entries.iter().find(|e| e.who == who))
            .map_or(0, |e| e.generation)
    };
    let expires = |who: &str| {
        before
            .as_ref()
            .and_then(|a| a.entries.iter().find(|e| e.who == who))
            .and_then(|e| e.expires)
    };
    let entry = |who: &str, role: Role, lab: Option<String>| {
        let g = generation(who);
        Entry {
            who: who.to_string(),
            role,
            lab,
            generation: g,
            hash: hash(&token(&key, &class.name, who, g)),
            expires: expires(who),
        }
    };
    let mut entries = vec![entry(INSTRUCTOR, Role::Instructor, None)];
    for s in &class.students {
        entries.push(entry(s, Role::Learner, Some(class.lab(s))));
    }
    let access = Access {
        class: class.name.clone(),
        file: fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf()),
        entries,
    };
    write(root, &access)?;
    Ok(access)
}

fn write(root: &Path, access: &Access) -> Result<()> {
    let dir = dir(root, &access.class);
    private_dir(&dir)?;
    let path = dir.join("access.json");
    let text = serde_json::to_string_pretty(access).expect("links serialise");
    crate::lab::state::write_private(&path, text.as_bytes())
        .with_context(|| format!("cannot save {}", path.display()))
}

/// Revokes `student`'s link: the one they have stops working, and the
/// next `links` prints a new one. An unknown student is an error naming
/// those of the class.
pub fn revoke(root: &Path, class: &str, student: &str) -> Result<()> {
    let key = key(root, class)?;
    let mut access = read(root, class)?.ok_or_else(|| not_up(class))?;
    let known: Vec<&str> = access.entries.iter().map(|e| e.who.as_str()).collect();
    let Some(i) = access.entries.iter().position(|e| e.who == student) else {
        let mut e = Error::usage(format!(
            "class `{class}` has no student `{student}` to revoke"
        ));
        if let Some(m) = crate::error::did_you_mean(student, known.iter().copied()) {
            e = e.with_hint(format!("did you mean `{m}`?"));
        }
        return Err(e);
    };
    let entry = &mut access.entries[i];
    entry.generation += 1;
    entry.hash = hash(&token(&key, class, &entry.who, entry.generation));
    write(root, &access)
}

/// Forgets the class's links (`class down`): every one stops working;
/// the classes' folder goes with the last class.
pub fn remove(root: &Path, class: &str) -> Result<()> {
    let dir = dir(root, class);
    match fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::caused(
            format!("cannot delete the links of class `{class}`"),
            e,
        )),
        _ => {
            // Refused while another class has links: that is as meant.
            let _ = std::fs::remove_dir(root.join(".classes"));
            Ok(())
        }
    }
}

/// Makes every link of the class stop working at `expires` (seconds
/// since the epoch), or work until revoked (`None`).
pub fn expire(root: &Path, class: &str, expires: Option<u64>) -> Result<()> {
    let mut access = read(root, class)?.ok_or_else(|| not_up(class))?;
    for e in &mut access.entries {
        e.expires = expires;
    }
    write(root, &access)
}

/// A duration as people write it: `90m`, `8h`, `7d` (or seconds, `3600`).
pub fn parse_duration(text: &str) -> std::result::Result<u64, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number.parse().map_err(|_| {
        format!("`{text}` is not a duration: a number and a unit, as 90m, 8h or 7d")
    })?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{unit}` in `{text}` is not a unit: s, m, h or d")),
    };
    match n.checked_mul(scale) {
        Some(0) | None => Err(format!("`{text}` is no time a link could work for")),
        Some(s) => Ok(s),
    }
}

fn not_up(class: &str) -> Error {
    Error::usage(format!("class `{class}` has no links yet"))
        .with_hint("`infractl class up FILE` makes them with the labs")
}

/// Every link of the class, to the portal at `base` (`http://host:8080`).
pub fn links(root: &Path, class: &str, base: &str) -> Result<Vec<Link>> {
    let access = read(root, class)?.ok_or_else(|| not_up(class))?;
    let key = key(root, class)?;
    let base = base.trim_end_matches('/');
    Ok(access
        .entries
        .iter()
        .map(|e| Link {
            who: e.who.trim_start_matches('@').to_string(),
            role: e.role,
            lab: e.lab.clone(),
            url: format!("{base}/join/{}", token(&key, class, &e.who, e.generation)),
            expires: e.expires,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(students: &[&str]) -> super::super::Class {
        super::super::parse(
            &format!("stack: task0\nstudents: [{}]\n", students.join(", ")),
            "c.yaml",
            "mon",
            Path::new("."),
        )
        .expect("class")
    }

    #[test]
    fn links_are_kept_hashed_and_printed_again_the_same() {
        let root = tempfile::tempdir().expect("tmp");
        let access = ensure(root.path(), &class(&["ann", "ben"]), Path::new("c.yaml")).expect("ok");
        assert_eq!(access.entries.len(), 3);
        let first = links(root.path(), "mon", "http://h:1/").expect("links");
        let again = links(root.path(), "mon", "http://h:1").expect("links");
        assert_eq!(
            first.iter().map(|l| &l.url).collect::<Vec<_>>(),
            again.iter().map(|l| &l.url).collect::<Vec<_>>()
        );
        let ann = first.iter().find(|l| l.who == "ann").expect("ann");
        let token = ann.url.rsplit('/').next().expect("token");
        assert_eq!(token.len(), 64, "256 bits in hex");
        assert!(ann.url.starts_with("http://h:1/join/"));
        let text = fs::read_to_string(dir(root.path(), "mon").join("access.json")).expect("read");
        assert!(!text.contains(token), "the portal's file holds no token");
        assert!(text.contains(&hash(token)));
        use std::os::unix::fs::PermissionsExt;
        for f in ["access.json", "key"] {
            let mode = std::fs::metadata(dir(root.path(), "mon").join(f))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
    }

    #[test]
    fn a_revoked_link_stops_working_and_the_others_stay() {
        let root = tempfile::tempdir().expect("tmp");
        ensure(root.path(), &class(&["ann", "ben"]), Path::new("c.yaml")).expect("ok");
        let before = links(root.path(), "mon", "x").expect("links");
        revoke(root.path(), "mon", "ann").expect("revoke");
        let after = links(root.path(), "mon", "x").expect("links");
        assert_ne!(before[1].url, after[1].url, "ann's link changed");
        assert_eq!(before[2].url, after[2].url, "ben's did not");
        // A later `class up` keeps the generation: the old link stays dead.
        ensure(root.path(), &class(&["ann", "ben"]), Path::new("c.yaml")).expect("ok");
        let again = links(root.path(), "mon", "x").expect("links");
        assert_eq!(after[1].url, again[1].url);
        let e = revoke(root.path(), "mon", "anne").expect_err("unknown");
        assert!(e.report().contains("did you mean `ann`"), "{}", e.report());
    }

    #[test]
    fn the_last_class_down_leaves_no_folder_of_links() {
        let root = tempfile::tempdir().expect("tmp");
        ensure(root.path(), &class(&["ann"]), Path::new("c.yaml")).expect("ok");
        let other = super::super::parse(
            "stack: task0\nstudents: [ben]\n",
            "d.yaml",
            "tue",
            Path::new("."),
        )
        .expect("class");
        ensure(root.path(), &other, Path::new("d.yaml")).expect("ok");
        remove(root.path(), "mon").expect("mon down");
        assert!(
            dir(root.path(), "tue").is_dir(),
            "the other class keeps its links"
        );
        remove(root.path(), "tue").expect("tue down");
        assert!(!root.path().join(".classes").exists());
        remove(root.path(), "tue").expect("down again: nothing to do");
    }

    #[test]
    fn links_expire_when_told_and_a_later_class_up_keeps_it() {
        let root = tempfile::tempdir().expect("tmp");
        ensure(root.path(), &class(&["ann"]), Path::new("c.yaml")).expect("ok");
        let valid = |at: u64| {
            let a = read(root.path(), "mon").expect("read").expect("there");
            a.entries.iter().all(|e| e.valid_at(at))
        };
        assert!(valid(u64::MAX - 1), "no end until told");
        expire(root.path(), "mon", Some(1000)).expect("expire");
        assert!(valid(999));
        assert!(!valid(1000));
        ensure(root.path(), &class(&["ann"]), Path::new("c.yaml")).expect("again");
        assert!(!valid(1000), "class up again keeps the end");
        assert_eq!(parse_duration("90m"), Ok(5400));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("3600"), Ok(3600));
        assert!(parse_duration("0h").is_err());
        assert!(parse_duration("2w")
            .expect_err("no weeks")
            .contains("`w` in `2w` is not a unit"));
        assert!(parse_duration("soon").is_err());
    }
}
