//! An exercise graded from `verify`'s claims: each of its checks is a
//! claim group, or one claim a drawn fault breaks; it is fixed when every
//! claim it names passes. An unfixed check carries its failing claim's
//! hint (where to look, from verify), never the fault or its repair.

use serde::{Deserialize, Serialize};

use super::faults::ClaimRef;
use crate::verify::Claim;

/// What grades a repair: a claim group of verify (`load balancing`), or
/// the one claim of the group whose check contains `words`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub group: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<String>,
}

impl Check {
    /// Every claim of `group`.
    pub fn group(group: &str) -> Check {
        Check {
            group: group.to_string(),
            words: None,
        }
    }

    /// Whether `c` is one of the claims this check names.
    pub fn matches(&self, c: &Claim) -> bool {
        c.group == self.group && self.words.as_ref().is_none_or(|w| c.check.contains(w))
    }
}

/// The checks of a lab whose exercise names none: the claims its faults
/// surely break, each once. (A claim broken only sometimes — a request
/// that round robin sends to the broken server — could pass before the
/// repair and grade nothing.)
pub fn of_breaks(breaks: &[ClaimRef]) -> Vec<Check> {
    let mut out: Vec<Check> = Vec::new();
    for b in breaks.iter().filter(|b| b.surely) {
        let c = Check {
            group: b.group.to_string(),
            words: Some(b.words.clone()),
        };
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// A check, graded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Graded {
    /// The check in verify's words: `group: the claim`, or the group.
    pub check: String,
    pub fixed: bool,
    /// Where to look, for a check not fixed (the failing claim's hint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// A lab's exercise graded, as a class's report keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub exercise: String,
    pub title: String,
    pub checks: Vec<Graded>,
    pub fixed: usize,
    pub total: usize,
    /// Seconds from the injection to this verify.
    pub seconds: u64,
    /// Servers re-made since the injection.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remade: Vec<String>,
    /// The attempt counts: no server re-made, or the exercise allows it.
    pub counts: bool,
}

impl Outcome {
    /// Every check fixed, and the attempt counts.
    pub fn ok(&self) -> bool {
        self.counts && self.fixed == self.total
    }
}

/// Each check graded from `claims` (a lab's verify): fixed when the
/// claims it names are there and all pass.
pub fn grade(checks: &[Check], claims: &[Claim]) -> Vec<Graded> {
    checks
        .iter()
        .map(|check| {
            let mine: Vec<&Claim> = claims.iter().filter(|c| check.matches(c)).collect();
            let name = match (&check.words, mine.first()) {
                (Some(_), Some(c)) => format!("{}: {}", c.group, c.check),
                (Some(w), None) => format!("{}: …{w}…", check.group),
                (None, _) => check.group.clone(),
            };
            let failing = mine.iter().find(|c| !c.ok);
            Graded {
                check: name,
                fixed: !mine.is_empty() && failing.is_none(),
                hint: match (mine.is_empty(), failing) {
                    (true, _) => Some(
                        "verify did not get to prove it: `infractl verify` on the lab says what stopped it".into(),
                    ),
                    (false, Some(c)) => Some(c.hint.clone().unwrap_or_else(|| {
                        format!("expected {}, observed {}", c.expected, c.observed)
                    })),
                    (false, None) => None,
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(group: &'static str, check: &str, ok: bool) -> Claim {
        Claim {
            group,
            check: check.into(),
            expected: "x".into(),
            observed: "y".into(),
            ok,
            ms: 0,
            because: None,
            hint: (!ok).then(|| format!("look at {check}")),
        }
    }

    #[test]
    fn a_check_is_fixed_when_its_claims_pass() {
        let claims = [
            claim(
                "load balancing",
                "requests spread over the web servers",
                false,
            ),
            claim("site", "the page comes through every tier", true),
            claim("replication", "a note reaches replica server-02", true),
            claim("replication", "replica server-02 refuses writes", false),
        ];
        let checks = [
            Check {
                group: "load balancing".into(),
                words: Some("spread over the web servers".into()),
            },
            Check::group("site"),
            Check::group("replication"),
            Check::group("dns"),
        ];
        let g = grade(&checks, &claims);
        let fixed: Vec<bool> = g.iter().map(|g| g.fixed).collect();
        assert_eq!(fixed, [false, true, false, false]);
        assert_eq!(
            g[0].check,
            "load balancing: requests spread over the web servers"
        );
        assert_eq!(
            g[0].hint.as_deref(),
            Some("look at requests spread over the web servers")
        );
        assert_eq!(
            g[2].hint.as_deref(),
            Some("look at replica server-02 refuses writes")
        );
        assert!(g[1].hint.is_none());
        assert!(g[3]
            .hint
            .as_deref()
            .unwrap()
            .contains("did not get to prove it"));
    }

    #[test]
    fn the_default_checks_are_the_claims_surely_broken_once_each() {
        let sure = ClaimRef {
            group: "load balancing",
            words: "spread".into(),
            surely: true,
            when: None,
        };
        let maybe = ClaimRef {
            group: "site",
            words: "tier".into(),
            surely: false,
            when: Some("sometimes".into()),
        };
        let checks = of_breaks(&[sure.clone(), maybe, sure]);
        assert_eq!(
            checks,
            [Check {
                group: "load balancing".into(),
                words: Some("spread".into())
            }]
        );
    }
}
