//! The stack's DNS records checked the way BIND reads the zone: names and
//! values it accepts, no CNAME beside other data (BIND refuses the zone),
//! and names that resolve (no CNAME loop, no alias or mail exchanger
//! pointing at a name the zone does not have).
//!
//! The zone always has `@` (SOA, NS) and `ns` (the DNS server's address)
//! besides the stack's records.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::Ipv4Addr;

use super::raw::{Record, RecordType, StackFile};
use super::source::Locator;
use super::Network;
use crate::error::{did_you_mean, Diagnostic};

/// Longest TXT text in one string of the zone file (RFC 1035).
const MAX_TXT: usize = 255;

/// Names the zone has whatever the stack says, with what they hold.
const BUILT_IN: [(&str, &str); 2] = [
    ("@", "SOA and NS records"),
    ("ns", "the DNS server's address"),
];

/// Where a CNAME or MX value points.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A name of the zone, relative (`www`, or `@`).
    InZone(String),
    /// A name outside the zone.
    Outside,
}

/// Where `value` points: `www` and `www.foobar.com.` are `www` of the
/// zone, `foobar.com.` is `@`, `mail.example.org.` is outside.
fn target(value: &str, domain: &str) -> Target {
    let Some(fqdn) = value.strip_suffix('.') else {
        return Target::InZone(value.to_string());
    };
    if fqdn == domain {
        return Target::InZone("@".into());
    }
    match fqdn.strip_suffix(domain).and_then(|r| r.strip_suffix('.')) {
        Some(rel) => Target::InZone(rel.to_string()),
        None => Target::Outside,
    }
}

struct ZoneChecker<'a> {
    diags: &'a mut Vec<Diagnostic>,
    locator: &'a Locator,
    domain: &'a str,
    records: &'a [Record],
    /// Record indices by owner name, in file order.
    by_name: BTreeMap<&'a str, Vec<usize>>,
}

impl ZoneChecker<'_> {
    fn err(&mut self, path: &str, message: String, hint: Option<String>) {
        let mut d = Diagnostic::new(message).at(self.locator.value(path));
        d.hint = hint;
        self.diags.push(d);
    }

    fn has_name(&self, name: &str) -> bool {
        self.by_name.contains_key(name) || BUILT_IN.iter().any(|(n, _)| *n == name)
    }

    fn kinds_at(&self, name: &str) -> Vec<RecordType> {
        self.by_name
            .get(name)
            .map(|v| v.iter().map(|&i| self.records[i].kind).collect())
            .unwrap_or_default()
    }

    /// A hint naming the zone's names, the closest first.
    fn names_hint(&self, name: &str) -> Option<String> {
        let mut names: Vec<&str> = BUILT_IN.iter().map(|(n, _)| *n).collect();
        for n in self.by_name.keys() {
            if !names.contains(n) {
                names.push(n);
            }
        }
        let all = names.join(", ");
        let rel = name
            .strip_suffix(self.domain)
            .and_then(|r| r.strip_suffix('.'));
        Some(match (rel, did_you_mean(name, names.iter().copied())) {
            (Some(rel), _) => format!(
                "without a final dot a name is relative to the domain: write `{rel}` (or `{name}.`); names of the zone: {all}"
            ),
            (None, Some(s)) => format!("did you mean `{s}`? names of the zone: {all}"),
            (None, None) => format!("names of the zone: {all}"),
        })
    }

    /// The owner name: a valid name relative to the domain, or `@`.
    fn owner(&mut self, i: usize, r: &Record) {
        let path = format!("dns.records[{i}].name");
        if let Some(rel) = r.name.strip_suffix(self.domain) {
            let rel = rel.trim_end_matches('.');
            let write = if rel.is_empty() { "@" } else { rel };
            let msg = format!("record name `{}` ends with the domain: names are relative to it, so this one is {}.{}", r.name, r.name, self.domain);
            self.err(&path, msg, Some(format!("write `{write}`")));
            return;
        }
        let Some(p) = super::names::dns_name_problem(&r.name, self.domain) else {
            return;
        };
        let hint = if r.name.trim_end_matches('.').ends_with(self.domain) {
            "names are relative to the domain: `www` is www.".to_string() + self.domain
        } else {
            "a name in the zone (`www`) or `@` for the domain itself".into()
        };
        let msg = format!("record name `{}` is not valid: {p}", r.name);
        self.err(&path, msg, Some(hint));
    }

    fn value(&mut self, i: usize, r: &Record, networks: &[Network], raw: &StackFile) {
        let vpath = format!("dns.records[{i}].value");
        match r.kind {
            RecordType::A => {
                if raw.servers.contains_key(&r.value) {
                    return;
                }
                match r.value.parse::<Ipv4Addr>() {
                    Ok(ip) if networks.iter().any(|n| n.subnet.contains(ip)) => {}
                    Ok(ip) => self.err(
                        &vpath,
                        format!(
                            "record `{}`: {ip} is in none of the stack's networks",
                            r.name
                        ),
                        Some("a lab record points at a server or a virtual IP of the lab".into()),
                    ),
                    Err(_) => {
                        let servers: Vec<String> = raw.servers.keys().cloned().collect();
                        let hint = match did_you_mean(&r.value, servers.iter().map(String::as_str))
                        {
                            Some(s) => format!(
                                "did you mean `{s}`? servers of this stack: {}",
                                servers.join(", ")
                            ),
                            None => format!("servers of this stack: {}", servers.join(", ")),
                        };
                        self.err(&vpath, format!("record `{}`: `{}` is neither a server of this stack nor an IPv4 address", r.name, r.value), Some(hint));
                    }
                }
            }
            RecordType::CNAME | RecordType::MX => {
                let v = r.value.strip_suffix('.').unwrap_or(&r.value);
                let problem = v.split('.').find_map(|l| {
                    super::names::label_problem(l).map(|p| format!("label `{l}` {p}"))
                });
                if let Some(p) = problem {
                    let msg = format!("record `{}`: `{}` is not a host name: {p}", r.name, r.value);
                    self.err(&vpath, msg, None);
                }
            }
            RecordType::TXT => {
                if r.value.len() > MAX_TXT {
                    let msg = format!(
                        "record `{}`: the text is {} bytes long: a TXT text is at most {MAX_TXT}",
                        r.name,
                        r.value.len()
                    );
                    self.err(&vpath, msg, None);
                } else if let Some(c) = r.value.chars().find(|c| c.is_control() && *c != '\t') {
                    let msg = format!("record `{}`: the text has the control character {c:?}: a TXT text is one line", r.name);
                    self.err(&vpath, msg, None);
                }
            }
        }
        if r.priority.is_some() && r.kind != RecordType::MX {
            self.err(
                &format!("dns.records[{i}].priority"),
                "only MX records have a priority".into(),
                None,
            );
        }
    }

    /// A name with a CNAME has no other record (RFC 1034; BIND refuses the
    /// zone). Reported at the later record of each clash.
    fn cname_alone(&mut self) {
        let clashes: Vec<(usize, String, &str)> = self
            .by_name
            .iter()
            .filter_map(|(name, idx)| {
                let cname = idx.iter().position(|&i| self.records[i].kind == RecordType::CNAME)?;
                if let Some((_, what)) = BUILT_IN.iter().find(|(n, _)| n == name) {
                    let msg = format!("`{name}` cannot be a CNAME: the zone gives it {what}");
                    return Some((idx[cname], msg, "give the alias another name"));
                }
                let other = *idx.iter().find(|&&i| i != idx[cname])?;
                let later = idx[cname].max(other);
                let kind = self.records[idx[cname].min(other)].kind.as_str();
                let msg = if kind == "CNAME" {
                    format!("`{name}` has two CNAME records: an alias names one target")
                } else {
                    format!("`{name}` has a CNAME record and {} {kind} record: a name with a CNAME has no other record (BIND refuses the zone)", if kind == "A" { "an" } else { "a" })
                };
                Some((later, msg, "keep the CNAME, or the other records, not both"))
            })
            .collect();
        for (i, msg, hint) in clashes {
            self.err(&format!("dns.records[{i}].name"), msg, Some(hint.into()));
        }
    }

    /// CNAME chains end at a name with other records: no target the zone
    /// does not have, no loop.
    fn cname_targets(&mut self) {
        let alias: HashMap<&str, Target> = self
            .records
            .iter()
            .filter(|r| r.kind == RecordType::CNAME)
            .map(|r| (r.name.as_str(), target(&r.value, self.domain)))
            .collect();
        let mut in_loop: HashSet<&str> = HashSet::new();
        for (i, r) in self.records.iter().enumerate() {
            if r.kind != RecordType::CNAME {
                continue;
            }
            let vpath = format!("dns.records[{i}].value");
            if let Target::InZone(t) = &alias[r.name.as_str()] {
                if !self.has_name(t) {
                    let msg = format!("record `{}`: CNAME target `{t}` has no record in the zone: the name does not resolve", r.name);
                    let hint = self.names_hint(t);
                    self.err(&vpath, msg, hint);
                    continue;
                }
            }
            if in_loop.contains(r.name.as_str()) {
                continue;
            }
            let mut chain: Vec<&str> = vec![&r.name];
            while let Some(Target::InZone(next)) = alias.get(chain[chain.len() - 1]) {
                let seen = chain.contains(&next.as_str());
                chain.push(next);
                if seen {
                    break;
                }
            }
            if chain.len() > 1 && chain.last() == chain.first() {
                in_loop.extend(chain.iter().copied());
                let msg = format!(
                    "CNAME records form a loop: {}; none of these names resolves",
                    chain.join(" -> ")
                );
                let hint = "end the chain at a name with an A record";
                self.err(&vpath, msg, Some(hint.into()));
            }
        }
    }

    /// An MX names a host of the zone with an address, not an alias.
    fn mx_targets(&mut self) {
        for (i, r) in self.records.iter().enumerate() {
            if r.kind != RecordType::MX {
                continue;
            }
            let Target::InZone(t) = target(&r.value, self.domain) else {
                continue;
            };
            let kinds = self.kinds_at(&t);
            let msg = if kinds.contains(&RecordType::CNAME) {
                format!("record `{}`: MX target `{t}` is a CNAME: a mail exchanger is a name with an A record (BIND calls it illegal)", r.name)
            } else if kinds.contains(&RecordType::A) || t == "ns" {
                continue;
            } else {
                format!(
                    "record `{}`: MX target `{t}` has no A record in the zone",
                    r.name
                )
            };
            let hint = if kinds.is_empty() && t != "@" {
                self.names_hint(&t)
            } else {
                Some(format!(
                    "give `{t}` an A record: `{{ name: {t}, type: A, value: <server> }}`"
                ))
            };
            self.err(&format!("dns.records[{i}].value"), msg, hint);
        }
    }
}

/// Checks the stack's records; appends a diagnostic per problem.
pub(super) fn check(
    diags: &mut Vec<Diagnostic>,
    raw: &StackFile,
    networks: &[Network],
    locator: &Locator,
) {
    let records = &raw.dns.records;
    let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        by_name.entry(r.name.as_str()).or_default().push(i);
    }
    let mut z = ZoneChecker {
        diags,
        locator,
        domain: &raw.domain,
        records,
        by_name,
    };
    let before = z.diags.len();
    for (i, r) in records.iter().enumerate() {
        z.owner(i, r);
        z.value(i, r, networks, raw);
    }
    if z.diags.len() > before {
        // Names and values first: what follows reads them.
        return;
    }
    z.cname_alone();
    z.cname_targets();
    z.mx_targets();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_relative_and_qualified() {
        let t = |v: &str| target(v, "foobar.com");
        assert_eq!(t("www"), Target::InZone("www".into()));
        assert_eq!(t("www.foobar.com."), Target::InZone("www".into()));
        assert_eq!(t("foobar.com."), Target::InZone("@".into()));
        assert_eq!(t("mail.example.org."), Target::Outside);
        assert_eq!(t("xfoobar.com."), Target::Outside);
        // Without the final dot, a name is relative: a likely mistake, which
        // then has no record.
        assert_eq!(t("www.foobar.com"), Target::InZone("www.foobar.com".into()));
    }
}
