//! A claim proved (or not) on a running lab, and why a failed one failed
//! when a server it needs is not running: what every family of claims
//! records, and what the report and `grade` read.

use serde::Serialize;

/// One claim of the stack proved (or not) on the running lab: what was
/// expected and what was observed. (A *check* is a rendered file run
/// through its program, `infractl validate`'s; the JSON keeps the name
/// `check` for the claim's words, as scripts read it.)
#[derive(Debug, Clone, Serialize)]
pub struct Claim {
    pub group: &'static str,
    pub check: String,
    pub expected: String,
    pub observed: String,
    pub ok: bool,
    pub ms: u64,
    /// Why a failed claim failed, when a server it needs is not running
    /// (`server-02 is not running`): what the dead server breaks, told
    /// apart from what the lab gets wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub because: Option<String>,
}

/// `server-02 is not running`, `lb-01 and server-02 are not running`.
pub fn not_running<S: AsRef<str>>(servers: &[S]) -> String {
    let verb = if servers.len() == 1 { "is" } else { "are" };
    format!("{} {verb} not running", crate::words::and_list(servers))
}

/// Whether `text` names the server `name` as a word of its own
/// (`server-02` in `lb-01 -> server-02:80`, not in `server-021`).
pub fn mentions(text: &str, name: &str) -> bool {
    let part = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(name).any(|(at, _)| {
        !text[..at].chars().next_back().is_some_and(part)
            && !text[at + name.len()..].chars().next().is_some_and(part)
    })
}

/// Why `claim` failed, if a server that is not running (`down`) explains
/// it: the servers among `down` its words name, else those verify could
/// not run its commands on (`refused`). None for a claim that passed.
pub fn blame(claim: &Claim, down: &[String], refused: &[String]) -> Option<String> {
    if claim.ok {
        return None;
    }
    let words = [&claim.check, &claim.expected, &claim.observed];
    let mut named: Vec<&String> = down
        .iter()
        .filter(|d| words.iter().any(|w| mentions(w, d)))
        .collect();
    if named.is_empty() {
        named = down.iter().filter(|d| refused.contains(d)).collect();
    }
    (!named.is_empty()).then(|| not_running(&named))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_is_named_as_a_word_of_its_own() {
        assert!(mentions("lb-01 -> server-02:80 (web)", "server-02"));
        assert!(mentions("server-02", "server-02"));
        assert!(mentions("TargetDown (server-02: node)", "server-02"));
        assert!(!mentions("server-021 answers", "server-02"));
        assert!(!mentions("my-server-02", "server-02"));
        assert!(!mentions("", "server-02"));
    }

    #[test]
    fn a_failure_is_blamed_on_the_dead_server_it_needs() {
        let claim = |check: &str, observed: &str, ok: bool| Claim {
            group: "firewall",
            check: check.into(),
            expected: "connects".into(),
            observed: observed.into(),
            ok,
            ms: 1,
            because: None,
        };
        let down = vec!["server-02".to_string(), "lb-02".to_string()];
        assert_eq!(
            blame(
                &claim("lb-01 -> server-02:80", "dropped", false),
                &down,
                &[]
            )
            .as_deref(),
            Some("server-02 is not running")
        );
        assert_eq!(
            blame(
                &claim("lb-02 -> server-02:80", "dropped", false),
                &down,
                &[]
            )
            .as_deref(),
            Some("server-02 and lb-02 are not running")
        );
        assert_eq!(
            blame(
                &claim("lb-01 -> server-02:80", "connected", true),
                &down,
                &[]
            ),
            None,
            "a claim that passes needs no reason"
        );
        assert_eq!(
            blame(
                &claim("lb-01 -> server-01:80", "dropped", false),
                &down,
                &[]
            ),
            None,
            "not every failure is the dead server's"
        );
        assert_eq!(
            blame(
                &claim("www.foobar.com. A", "no answer", false),
                &["ns".to_string()],
                &["ns".to_string()]
            )
            .as_deref(),
            Some("ns is not running"),
            "a command meant for a dead server"
        );
    }

    #[test]
    fn not_running_agrees_with_how_many() {
        assert_eq!(not_running(&["ns"]), "ns is not running");
        assert_eq!(
            not_running(&["lb-01", "server-02"]),
            "lb-01 and server-02 are not running"
        );
    }
}
