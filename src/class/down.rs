//! `class down`: every lab of the class removed from its engine, with its
//! state; a lab that cannot be (its engine did not answer, or failed) is
//! kept, its record saying where it is for a later `class down`.

use std::fmt;
use std::path::Path;

use super::engines::{self, locate, Site, Where};
use crate::error::{count, Result};
use crate::ops::Global;
use crate::progress::Progress;

/// What `class down` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Down {
    pub class: String,
    /// How many labs were removed.
    pub removed: usize,
    /// The labs kept, grouped by why, in the order first met.
    pub left: Vec<Left>,
}

/// Labs kept for one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Left {
    /// Why (`Engine URL did not answer`, `Failed (...)`).
    pub why: String,
    /// What to do then (`` `class down` again once it is back ``).
    pub then: String,
    pub labs: Vec<String>,
}

impl Down {
    /// Whether every lab of the class is gone.
    pub fn done(&self) -> bool {
        self.left.is_empty()
    }

    /// Counts `lab` as kept for `why`, with the labs kept for the same.
    fn keep(&mut self, lab: String, why: String, then: String) {
        match self
            .left
            .iter_mut()
            .find(|l| l.why == why && l.then == then)
        {
            Some(l) => l.labs.push(lab),
            None => self.left.push(Left {
                why,
                then,
                labs: vec![lab],
            }),
        }
    }
}

impl fmt::Display for Down {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Class `{}` is down: {} removed, with their state.",
            self.class,
            count(self.removed, "lab")
        )?;
        for Left { why, then, labs } in &self.left {
            writeln!(
                f,
                "{why}: {} left there ({}); {then}.",
                count(labs.len(), "lab"),
                labs.join(", ")
            )?;
        }
        Ok(())
    }
}

/// What became of one lab.
enum Fate {
    Removed,
    /// Nothing was there, nothing to say.
    Nothing,
    /// Kept: why.
    Kept(String),
}

/// Removes every lab of the class of `file` (each a note).
pub async fn down(file: &Path, global: &Global, progress: &dyn Progress) -> Result<Down> {
    let class = super::load(file)?;
    let sites = engines::reach(&class, global).await;
    let mut down = Down {
        class: class.name.clone(),
        removed: 0,
        left: Vec::new(),
    };
    let again = "`class down` again once it is back".to_string();
    for lab in engines::class_labs(&class, global) {
        match remove(&lab, &sites, global).await {
            Ok(Fate::Removed) => {
                down.removed += 1;
                progress.note(&format!("{lab}: removed"));
            }
            Ok(Fate::Nothing) => {}
            Ok(Fate::Kept(why)) => down.keep(lab, why, again.clone()),
            Err(e) => {
                let then = e
                    .hint_text()
                    .map_or_else(|| "`class down` again".to_string(), str::to_string);
                down.keep(lab, format!("Failed ({})", e.headline()), then);
            }
        }
    }
    if down.done() {
        super::links::remove(&global.root(), &class.name)?;
    }
    Ok(down)
}

/// Removes lab `lab` from its engine among `sites`, and its state; kept
/// where its engine did not answer, or it may be on one that did not.
async fn remove(lab: &str, sites: &[Site], global: &Global) -> Result<Fate> {
    // Counted when it had anything: state, or objects on an engine.
    let had = global.state(lab).path.exists();
    let _lock = global.state(lab).lock("class down")?;
    let gone = match locate(lab, sites, global) {
        Where::On(i) => match &sites[i].reached {
            Ok(r) => engines::destroy(&*r.engine, lab).await?,
            Err(_) => {
                return Ok(Fate::Kept(format!(
                    "Engine {} did not answer",
                    sites[i].endpoint
                )))
            }
        },
        Where::Unknown(engines) => {
            return Ok(Fate::Kept(format!(
                "Not found on the engines that answered; perhaps on {engines}"
            )))
        }
        Where::Nowhere => Default::default(),
    };
    engines::remove_state(lab, global)?;
    let had =
        had || !(gone.hosts.is_empty() && gone.networks.is_empty() && gone.volumes.is_empty());
    Ok(if had { Fate::Removed } else { Fate::Nothing })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labs_kept_are_grouped_by_why_and_said_after_those_removed() {
        let mut down = Down {
            class: "c".into(),
            removed: 1,
            left: vec![],
        };
        assert!(down.done());
        assert_eq!(
            down.to_string(),
            "Class `c` is down: 1 lab removed, with their state.\n"
        );
        let again = || "`class down` again once it is back".to_string();
        down.keep("c-ann".into(), "Engine e1 did not answer".into(), again());
        down.keep("c-ben".into(), "Failed (busy)".into(), "wait".into());
        down.keep("c-cat".into(), "Engine e1 did not answer".into(), again());
        assert!(!down.done());
        assert_eq!(
            down.to_string(),
            "Class `c` is down: 1 lab removed, with their state.\n\
             Engine e1 did not answer: 2 labs left there (c-ann, c-cat); `class down` again once it is back.\n\
             Failed (busy): 1 lab left there (c-ben); wait.\n"
        );
    }
}
