//! DNS claims: every record of the zone answers as declared through the
//! lab's DNS, and where there are several DNS servers, each answers with
//! the zone's serial (a secondary has the primary's zone as it is now).
//! A failed one's hint points at the zone's file and named on the DNS
//! server, and at `dig` from the user's computer.

use std::time::{Duration, Instant};

use super::claim::{blamed, service_state, verdict, Claim};
use super::verifier::Verifier;
use crate::components::dns::{zone_file, CONF};
use crate::components::ToProve;

use crate::error::Result;
use crate::shell::shell_quote;
use crate::topology::{Topology, ZoneRecord};

/// `name` in `domain` as a fully qualified name (`www.foobar.com.`; `@`
/// is the domain itself, a name ending in `.` is already one).
fn fqdn(domain: &str, name: &str) -> String {
    match name {
        "@" => format!("{domain}."),
        n if n.ends_with('.') => n.to_string(),
        n => format!("{n}.{domain}."),
    }
}

/// Shell asking every record of the zone at once, each answer after a
/// `#<i>` line.
fn records_script(topo: &Topology) -> String {
    let domain = &topo.stack.domain;
    let mut script = String::new();
    for (i, r) in topo.records.iter().enumerate() {
        script.push_str(&format!(
            "echo '#{i}'; dig +short +time=2 +tries=2 {} {}\n",
            shell_quote(fqdn(domain, &r.name).trim_end_matches('.')),
            r.kind
        ));
    }
    script
}

/// The answers to `records_script`, record by record (`count` of them);
/// a line before any `#<i>`, or after one naming no record, is ignored.
fn read_answers(stdout: &str, count: usize) -> Vec<Vec<String>> {
    let mut answers: Vec<Vec<String>> = vec![Vec::new(); count];
    let mut cur = None;
    for line in stdout.lines() {
        if let Some(i) = line.strip_prefix('#').and_then(|n| n.parse::<usize>().ok()) {
            cur = Some(i);
        } else if let Some(a) = cur.and_then(|i| answers.get_mut(i)) {
            a.push(line.trim().to_string());
        }
    }
    answers
}

/// What `dig +short` answers for `r` when it is served as declared.
fn expected_answer(domain: &str, r: &ZoneRecord) -> String {
    match r.kind {
        "CNAME" => fqdn(domain, &r.value),
        "MX" => format!("{} {}", r.priority.unwrap_or(10), fqdn(domain, &r.value)),
        "TXT" => format!("\"{}\"", r.value),
        _ => r.value.clone(),
    }
}

/// Where to look when the record `name` of type `kind` does not answer
/// as declared: the primary's zone file and named, and the question asked
/// by hand from the user's computer (`client`).
fn record_hint(topo: &Topology, client: &str, name: &str, kind: &str) -> String {
    let ask = format!(
        "`dig {} {kind}` asks it as verify does",
        name.trim_end_matches('.')
    );
    match crate::components::dns::servers(topo).first() {
        Some(primary) => format!(
            "On {primary}, `{}` holds the zone's records and named serves them ({}); from {client}, {ask}",
            zone_file(&topo.stack.domain, false),
            service_state("named")
        ),
        None => format!("From {client}, {ask}"),
    }
}

/// Where to look when DNS server `s` does not answer with the zone's
/// serial: named on it, and for a secondary, the transfer from the primary
/// (each one's `named.conf`), compared with what the primary answers.
fn serial_hint(topo: &Topology, client: &str, s: &str) -> String {
    let domain = &topo.stack.domain;
    let servers = crate::components::dns::servers(topo);
    let primary = servers.first().copied().unwrap_or(s);
    let ask = |at: &str| format!("`dig @{at} {domain} SOA`");
    if s == primary {
        return format!(
            "On {s}, named serves the zone from `{}` ({}); from {client}, {} shows the serial it answers with",
            zone_file(domain, false),
            service_state("named"),
            ask(s)
        );
    }
    format!(
        "On {s}, named takes the zone from {primary} by transfer ({} says whether it did); compare `{CONF}` on {primary} (who may transfer it, who is notified) and on {s} (where it takes it from); from {client}, compare {} with {}",
        service_state("named"),
        ask(s),
        ask(primary)
    )
}

/// The claim that `r` answers as declared, from what was answered (`got`)
/// on the user's computer (`client`).
fn record_claim(topo: &Topology, client: &str, r: &ZoneRecord, got: Vec<String>, ms: u64) -> Claim {
    let domain = &topo.stack.domain;
    let expected = expected_answer(domain, r);
    let name = fqdn(domain, &r.name);
    let judged = verdict(got.contains(&expected), || {
        record_hint(topo, client, &name, r.kind)
    });
    Claim {
        group: "dns",
        check: format!("{name} {}", r.kind),
        ok: judged.ok,
        expected,
        observed: if got.is_empty() {
            "no answer".into()
        } else {
            got.join(", ")
        },
        ms,
        because: None,
        hint: judged.hint,
    }
}

/// The serial of the SOA answer in `dig +noall +comments +answer`'s
/// output, or why there is none: the answer's status when it is not
/// NOERROR, dig's first complaint when no server answered.
fn soa_serial(dig: &str) -> std::result::Result<String, String> {
    let mut status = None;
    let mut complaint = None;
    for line in dig.lines().map(str::trim) {
        if let Some(rest) = line.split_once("status: ").map(|(_, r)| r) {
            status = rest.split(',').next().map(str::to_string);
        } else if let Some(c) = line.strip_prefix(";; ") {
            complaint.get_or_insert_with(|| c.to_string());
        } else if !line.starts_with(';') {
            // `foobar.com. 300 IN SOA ns.foobar.com. hostmaster.foobar.com. SERIAL ...`
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.get(3) == Some(&"SOA") {
                if let Some(serial) = f.get(6) {
                    return Ok(serial.to_string());
                }
            }
        }
    }
    Err(match (status, complaint) {
        (Some(s), _) if s != "NOERROR" => format!("status {s}"),
        (Some(_), _) => "no SOA in the answer".into(),
        (None, Some(c)) => c,
        (None, None) => "no answer".into(),
    })
}

impl Verifier<'_> {
    /// Every record of the zone answers as declared, through the lab's DNS.
    pub(super) async fn dns(&mut self) -> Result<()> {
        let t = Instant::now();
        let out = self.sh(&self.client, &records_script(self.topo)).await?;
        // Every record is asked in one command: one refusal for them all.
        let refused = self.take_refused();
        let records = &self.topo.records;
        let answers = read_answers(&out.stdout, records.len());
        let elapsed_each = t.elapsed() / records.len().max(1) as u32;
        let claims: Vec<Claim> = records
            .iter()
            .zip(answers)
            .map(|(r, got)| {
                let ms = elapsed_each.as_millis() as u64;
                record_claim(self.topo, &self.client, r, got, ms)
            })
            .collect();
        for claim in claims {
            let claim = blamed(claim, &self.down, &refused);
            self.push(claim);
        }
        Ok(())
    }

    /// Every DNS server answers for the domain with the zone's serial: a
    /// secondary has the primary's zone, as it is now.
    pub(super) async fn dns_servers(&mut self) -> Result<()> {
        let servers = self.claimed(|c| match c {
            ToProve::ZoneSerial { servers } => Some(servers.clone()),
            _ => None,
        });
        let Some((_, servers)) = servers.into_iter().next() else {
            return Ok(());
        };
        let serial = crate::components::dns::serial(self.topo, self.secrets).to_string();
        let domain = self.topo.stack.domain.clone();
        for s in &servers {
            let t = Instant::now();
            let got = self.serial_of(s, &domain, &serial).await?;
            let ok = got.as_deref() == Ok(serial.as_str());
            self.record(
                "dns",
                format!("{s} answers for {domain} with the zone's serial"),
                format!("{serial} within 5 s"),
                got.unwrap_or_else(|e| e),
                verdict(ok, || serial_hint(self.topo, &self.client, s)),
                t,
            );
        }
        Ok(())
    }

    /// The serial DNS server `s` answers for `domain` with, asked from the
    /// user's computer until it is `serial` (5 s at most); or why there is
    /// none.
    async fn serial_of(
        &self,
        s: &str,
        domain: &str,
        serial: &str,
    ) -> Result<std::result::Result<String, String>> {
        let t = Instant::now();
        let addr = self.topo.addr(&self.client, s);
        // The header too: a missing answer says why (REFUSED,
        // SERVFAIL, a timeout) rather than only that it is missing.
        let ask = format!(
            "dig +time=1 +tries=1 +noall +comments +answer @{addr} {} SOA",
            shell_quote(domain)
        );
        // A secondary is told of a change by NOTIFY and transfers the
        // zone at once: give it a few seconds after an `up`.
        let mut got = Err("no answer".to_string());
        while t.elapsed().as_secs() < 5 {
            let out = self.sh(&self.client, &ask).await?;
            got = soa_serial(&out.stdout);
            if got.as_deref() == Ok(serial) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Ok(got)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soa_serial_reads_the_answer_or_says_why_there_is_none() {
        let answered = ";; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 4242
;; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1

foobar.com.\t\t300\tIN\tSOA\tns.foobar.com. hostmaster.foobar.com. 56576375 3600 600 86400 300
";
        assert_eq!(soa_serial(answered), Ok("56576375".into()));
        let refused = ";; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: REFUSED, id: 4243
;; flags: qr rd; QUERY: 1, ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 1
";
        assert_eq!(soa_serial(refused), Err("status REFUSED".into()));
        let empty = ";; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 4244\n";
        assert_eq!(soa_serial(empty), Err("no SOA in the answer".into()));
        let silent = ";; communications error to 10.226.0.3#53: timed out
;; no servers could be reached
";
        assert_eq!(
            soa_serial(silent),
            Err("communications error to 10.226.0.3#53: timed out".into())
        );
        assert_eq!(soa_serial(""), Err("no answer".into()));
    }

    #[test]
    fn names_are_made_fully_qualified_in_the_domain() {
        assert_eq!(fqdn("foobar.com", "@"), "foobar.com.");
        assert_eq!(fqdn("foobar.com", "www"), "www.foobar.com.");
        assert_eq!(fqdn("foobar.com", "mail.example.org."), "mail.example.org.");
    }

    #[test]
    fn answers_are_read_record_by_record() {
        let out = "stray\n#0\n10.0.0.1\n#2\n 10 mail.foobar.com. \n#9\nlost\n#1\n";
        assert_eq!(
            read_answers(out, 3),
            vec![
                vec!["10.0.0.1".to_string()],
                vec![],
                vec!["10 mail.foobar.com.".to_string()]
            ]
        );
    }

    #[test]
    fn each_record_kind_answers_in_dig_s_words() {
        let r = |kind, value: &str, priority| ZoneRecord {
            name: "x".into(),
            kind,
            value: value.into(),
            priority,
        };
        let d = "foobar.com";
        assert_eq!(expected_answer(d, &r("A", "10.0.0.1", None)), "10.0.0.1");
        assert_eq!(
            expected_answer(d, &r("CNAME", "www", None)),
            "www.foobar.com."
        );
        assert_eq!(
            expected_answer(d, &r("MX", "mail", None)),
            "10 mail.foobar.com."
        );
        assert_eq!(
            expected_answer(d, &r("MX", "mail", Some(5))),
            "5 mail.foobar.com."
        );
        assert_eq!(expected_answer(d, &r("TXT", "v=spf1", None)), "\"v=spf1\"");
    }

    #[test]
    fn a_record_that_does_not_answer_points_at_the_zone_file_on_the_primary() {
        let topo = Topology::load("task4").unwrap();
        let www = topo.records.iter().find(|r| r.name == "www").unwrap();
        let claim = record_claim(&topo, "client", www, vec![], 3);
        assert_eq!(
            (claim.check.as_str(), claim.observed.as_str()),
            ("www.foobar.com. A", "no answer")
        );
        assert!(!claim.ok);
        let hint = claim.hint.expect("a failed claim has a hint");
        assert!(
            hint.starts_with("On ns, `/var/lib/bind/db.foobar.com` "),
            "{hint}"
        );
        assert!(hint.contains("`sv status named`"), "{hint}");
        assert!(
            hint.contains("from client, `dig www.foobar.com A`"),
            "{hint}"
        );
        assert!(
            !hint.contains(&www.value),
            "the hint does not give the answer: {hint}"
        );
        let answered = record_claim(&topo, "client", www, vec![www.value.clone()], 3);
        assert!(answered.ok);
        assert_eq!(answered.hint, None, "a claim that holds has no hint");
    }

    #[test]
    fn a_secondary_without_the_serial_points_at_the_transfer() {
        let topo = Topology::load("task4").unwrap();
        let primary = serial_hint(&topo, "client", "ns");
        assert!(
            primary.starts_with("On ns, named serves the zone from `/var/lib/bind/db.foobar.com`"),
            "{primary}"
        );
        assert!(primary.contains("`dig @ns foobar.com SOA`"), "{primary}");
        let secondary = serial_hint(&topo, "client", "ns-02");
        assert!(
            secondary.starts_with("On ns-02, named takes the zone from ns by transfer"),
            "{secondary}"
        );
        assert!(
            secondary.contains("compare `/etc/bind/named.conf` on ns"),
            "{secondary}"
        );
        assert!(
            secondary.contains("`dig @ns-02 foobar.com SOA` with `dig @ns foobar.com SOA`"),
            "{secondary}"
        );
    }

    #[test]
    fn several_dns_servers_claim_one_serial_the_primary_first() {
        for stack in ["task0", "task1", "task2", "task3", "task4"] {
            let topo = Topology::load(stack).unwrap();
            let claimed: Vec<Vec<String>> = super::super::verifier::kinds_claims(&topo)
                .into_iter()
                .filter_map(|(_, c)| match c {
                    ToProve::ZoneSerial { servers } => Some(servers),
                    _ => None,
                })
                .collect();
            let servers = crate::components::dns::servers(&topo);
            if servers.len() < 2 {
                assert!(claimed.is_empty(), "{stack}");
            } else {
                assert_eq!(claimed, vec![servers], "{stack}");
            }
        }
    }
}
