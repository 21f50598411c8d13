//! The machine operator's link: the one who runs `infractl serve` reaches
//! every lab of this machine's state (a class's, or one brought up alone
//! with `up`, over Docker or SSH) and every class's grid, from an index
//! page of them all — as a notebook server prints its own link.
//!
//! The token is 256 random bits made once, kept 0600 in
//! `<state>/.portal/operator-token`; each `serve` writes the link with its
//! own address to `<state>/.portal/operator-link` (0600) and prints only
//! that file's path, so the token is never in a terminal's scrollback or
//! a service's log. Removing the token file revokes the link: the next
//! `serve` makes another.

use std::path::{Path, PathBuf};

use fs_err as fs;

use crate::class::links;
use crate::error::{Context, Error, Result};

/// The operator's name in the audit log and on pages.
pub const OPERATOR: &str = "operator";

fn dir(root: &Path) -> PathBuf {
    root.join(".portal")
}

/// Where the token is kept.
fn token_path(root: &Path) -> PathBuf {
    dir(root).join("operator-token")
}

/// Where each `serve` writes the link.
pub fn link_path(root: &Path) -> PathBuf {
    dir(root).join("operator-link")
}

/// The operator's token, made (0600) on first use.
fn token(root: &Path) -> Result<String> {
    let path = token_path(root);
    match fs::read_to_string(&path) {
        Ok(t) if is_token(t.trim()) => Ok(t.trim().to_string()),
        Ok(_) => Err(Error::failure(format!(
            "the operator's token {} is damaged",
            path.display()
        ))
        .with_hint("remove it: the next `infractl serve` makes another")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            private_dir(&dir(root))?;
            let t = hex::encode(rand::random::<[u8; 32]>());
            crate::lab::state::write_private(&path, t.as_bytes())
                .with_context(|| format!("cannot save {}", path.display()))?;
            Ok(t)
        }
        Err(e) => Err(Error::caused(format!("cannot read {}", path.display()), e)),
    }
}

fn private_dir(d: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    fs::set_permissions(d, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot make {} private", d.display()))
}

/// A link's token shape: 64 hex digits.
pub fn is_token(t: &str) -> bool {
    t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Writes the operator's link at `base` (`http://127.0.0.1:8080`); the
/// file's path.
pub fn write_link(root: &Path, base: &str) -> Result<PathBuf> {
    let t = token(root)?;
    let path = link_path(root);
    let text = format!("{}/join/{t}\n", base.trim_end_matches('/'));
    crate::lab::state::write_private(&path, text.as_bytes())
        .with_context(|| format!("cannot save {}", path.display()))?;
    Ok(path)
}

/// Whether `token` is the operator's (a token made, and the same).
pub fn holds(root: &Path, token: &str) -> bool {
    let Ok(mine) = fs::read_to_string(token_path(root)) else {
        return false;
    };
    // Compared by their hashes: no early exit on the token's own bytes.
    is_token(mine.trim()) && links::hash(mine.trim()) == links::hash(token)
}

/// Every lab of the state, by name.
pub fn labs(root: &Path) -> Vec<String> {
    crate::lab::records(root)
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_holds_the_token_kept_private_and_made_once() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().expect("tmp");
        let path = write_link(root.path(), "http://127.0.0.1:8080/").expect("link");
        let link = std::fs::read_to_string(&path).expect("read");
        let t = link
            .trim()
            .strip_prefix("http://127.0.0.1:8080/join/")
            .expect("the link's shape");
        assert!(is_token(t), "{link}");
        assert!(holds(root.path(), t));
        assert!(!holds(root.path(), &"0".repeat(64)));
        for f in [path, token_path(root.path())] {
            let mode = std::fs::metadata(&f).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", f.display());
        }
        // Another start, another address: the same token.
        let again = write_link(root.path(), "https://lab.example:8443").expect("link");
        let link = std::fs::read_to_string(again).expect("read");
        assert_eq!(link.trim(), format!("https://lab.example:8443/join/{t}"));
        // Revoked by removing the token: the old one is nobody's.
        std::fs::remove_file(token_path(root.path())).expect("rm");
        assert!(!holds(root.path(), t));
        write_link(root.path(), "http://x").expect("link");
        assert!(!holds(root.path(), t));
    }

    #[test]
    fn no_token_made_is_nobodys() {
        let root = tempfile::tempdir().expect("tmp");
        assert!(!holds(root.path(), &"a".repeat(64)));
    }
}
