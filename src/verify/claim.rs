//! A claim proved (or not) on a running lab, why a failed one failed
//! when a server it needs is not running, and where a learner looks to
//! find what is wrong (its hint): what every family of claims records,
//! and what the report and `grade` read. The words every family's hints
//! share (a service's state, its log; start a server) are here too.

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
    /// Where to look to find what is wrong, for a failed claim only: the
    /// server, the file, the command to run there (`On lb-01, ...`),
    /// never the fix. Each family of claims words its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Claim {
    /// The claim, failed because `servers` are not running: it says so,
    /// and its hint is to start them (what else it would say is moot).
    pub fn blamed_on<S: AsRef<str>>(self, servers: &[S]) -> Claim {
        Claim {
            because: Some(not_running(servers)),
            hint: Some(start(servers)),
            ..self
        }
    }
}

/// Whether a claim held and, when it did not, where to look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub ok: bool,
    pub hint: Option<String>,
}

/// `ok`, with the hint `hint` builds when it is false (a claim that
/// holds has none).
pub fn verdict(ok: bool, hint: impl FnOnce() -> String) -> Verdict {
    Verdict {
        ok,
        hint: (!ok).then(hint),
    }
}

/// The hint of a claim that fails because `servers` are not running.
pub fn start<S: AsRef<str>>(servers: &[S]) -> String {
    format!(
        "Start {} again (the start button on the lab's page in the portal, or `infractl up` on the lab), then verify again",
        crate::words::and_list(servers)
    )
}

/// Where the log of `service` is on its server: its error log for nginx,
/// what the supervisor keeps of its output for the others.
pub fn log_of(service: &str) -> String {
    match service {
        "nginx" => "/var/log/nginx/error.log".to_string(),
        s => format!("{}/{s}/current", crate::render::supervise::LOG_DIR),
    }
}

/// How a learner sees whether `service` runs on its server and what it
/// said: `` `sv status nginx`, `tail /var/log/nginx/error.log` ``.
pub fn service_state(service: &str) -> String {
    format!("`sv status {service}`, `tail {}`", log_of(service))
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

/// The servers that are not running (`down`) that explain why `claim`
/// failed: those among `down` its words name, else those verify could not
/// run its commands on (`refused`); none for a claim that passed.
pub fn culprits<'d>(claim: &Claim, down: &'d [String], refused: &[String]) -> Vec<&'d String> {
    if claim.ok {
        return Vec::new();
    }
    let words = [&claim.check, &claim.expected, &claim.observed];
    let named: Vec<&String> = down
        .iter()
        .filter(|d| words.iter().any(|w| mentions(w, d)))
        .collect();
    if named.is_empty() {
        return down.iter().filter(|d| refused.contains(d)).collect();
    }
    named
}

/// Why `claim` failed, if a server that is not running explains it (see
/// [`culprits`]).
pub fn blame(claim: &Claim, down: &[String], refused: &[String]) -> Option<String> {
    let named = culprits(claim, down, refused);
    (!named.is_empty()).then(|| not_running(&named))
}

/// `claim`, blamed on the servers that are not running that explain its
/// failure (see [`culprits`]), if any and if it is not blamed already.
pub fn blamed(claim: Claim, down: &[String], refused: &[String]) -> Claim {
    if claim.because.is_some() {
        return claim;
    }
    let named: Vec<String> = culprits(&claim, down, refused)
        .into_iter()
        .cloned()
        .collect();
    if named.is_empty() {
        claim
    } else {
        claim.blamed_on(&named)
    }
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
            hint: None,
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
    fn only_a_failed_claim_has_a_hint_a_dead_server_s_to_start_it() {
        assert_eq!(
            verdict(true, || unreachable!("a claim that holds needs no hint")),
            Verdict {
                ok: true,
                hint: None
            }
        );
        assert_eq!(
            verdict(false, || "look".into()).hint.as_deref(),
            Some("look")
        );
        let failed = Claim {
            group: "site",
            check: "lb-01 -> web-02:443 is HTTPS".into(),
            expected: "200 0".into(),
            observed: "000 0".into(),
            ok: false,
            ms: 1,
            because: None,
            hint: Some("On lb-01, ...".into()),
        };
        let down = ["web-02".to_string()];
        let dead = blamed(failed.clone(), &down, &[]);
        assert_eq!(dead.because.as_deref(), Some("web-02 is not running"));
        assert_eq!(
            dead.hint.as_deref(),
            Some("Start web-02 again (the start button on the lab's page in the portal, or `infractl up` on the lab), then verify again"),
            "what else it would say is moot"
        );
        let alive = blamed(failed.clone(), &["web-01".to_string()], &[]);
        assert_eq!(
            (alive.because, alive.hint.as_deref()),
            (None, Some("On lb-01, ..."))
        );
        let passed = blamed(
            Claim {
                ok: true,
                hint: None,
                ..failed
            },
            &down,
            &[],
        );
        assert_eq!((passed.because, passed.hint), (None, None));
        assert!(start(&["lb-01", "lb-02"]).starts_with("Start lb-01 and lb-02 again "));
    }

    #[test]
    fn a_service_s_state_and_log_are_where_the_lab_keeps_them() {
        assert_eq!(
            service_state("haproxy"),
            "`sv status haproxy`, `tail /var/log/infractl/haproxy/current`"
        );
        assert_eq!(
            service_state("nginx"),
            "`sv status nginx`, `tail /var/log/nginx/error.log`"
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
