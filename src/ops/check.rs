//! `check LAB`'s work: the lab's exercise graded on a verify of the lab
//! (each of its checks fixed or not), and the servers re-made since its
//! faults went in. The command line (`commands::exercise`) and the
//! portal's Exercise tab both print it.

use crate::error::{Error, Result};
use crate::exercise::grade::Graded;
use crate::exercise::record::{self, Record};
use crate::progress::Progress;

use super::Global;

/// What `check LAB` found.
pub struct Checked {
    pub record: Record,
    pub graded: Vec<Graded>,
    /// Servers re-made since the injection.
    pub remade: Vec<String>,
}

impl Checked {
    /// The attempt counts: no server re-made, or the exercise allows it.
    pub fn counts(&self) -> bool {
        self.remade.is_empty() || self.record.allow_reset
    }

    pub fn fixed(&self) -> usize {
        self.graded.iter().filter(|g| g.fixed).count()
    }

    pub fn ok(&self) -> bool {
        self.counts() && self.fixed() == self.graded.len()
    }
}

/// The lab's exercise graded: verify run, each check fixed or not, the
/// servers re-made since the injection. A lab with no exercise is a
/// usage error naming `verify`.
pub async fn checked(lab: &str, global: &Global, progress: &dyn Progress) -> Result<Checked> {
    let name = super::resolve(lab, global)?.stack.name;
    let Some(record) = record::read(&global.state(&name)) else {
        return Err(Error::usage(format!(
            "lab `{name}` has no exercise: `infractl check` grades the repair of one"
        ))
        .with_hint(format!(
            "`infractl verify {name}` proves the whole lab; `infractl up EXERCISE --lab {name}` sets an exercise on it"
        )));
    };
    let running = super::lab_to_verify(lab, "check", global).await?;
    let l = &running.loaded;
    let driver = &*running.driver;
    let progress = VerifyUntold(progress);
    let claims = crate::verify::run(driver, &l.topo, &l.plan, &l.secrets, &progress).await?;
    let graded = crate::exercise::grade::grade(&record.checks, &claims);
    let remade = record::remade(&record, &record::identities(driver, &l.plan).await);
    Ok(Checked {
        record,
        graded,
        remade,
    })
}

/// Verify's progress as it goes, but not its verdict on the whole lab
/// (`verify FAILED: 12 checks, 1 failed`): `check` grades only the
/// exercise's checks, and says so itself below.
struct VerifyUntold<'a>(&'a dyn Progress);

impl Progress for VerifyUntold<'_> {
    fn begin(&self, task: &str, total: Option<u64>, message: &str) {
        self.0.begin(task, total, message);
    }
    fn update(&self, task: &str, pos: Option<u64>, message: &str) {
        self.0.update(task, pos, message);
    }
    fn finish(&self, task: &str, ok: bool, message: &str) {
        if task == "verify" {
            self.0
                .finish(task, true, "the lab checked; the exercise's checks below");
        } else {
            self.0.finish(task, ok, message);
        }
    }
    fn note(&self, message: &str) {
        self.0.note(message);
    }
}
