//! Grading a class: every student's lab verified, as one report in three
//! forms — `report.json` (everything), `report.csv` (a row per student, a
//! column per claim: `pass` or `fail`) and `index.html` (a student × claim
//! grid that opens offline, each failure with what was expected and what
//! was observed).
//!
//! Claims come in verify's order, from the foundation up (DNS, the site,
//! the tiers, replication, firewalls, monitoring, failover). A lab's first
//! failing group is marked as the likely cause of its failures further up:
//! a DNS server that does not answer explains a site that does not load.

use serde::Serialize;

use crate::diagram::esc;
use crate::verify::Claim;

/// One student's lab, verified (or not: `error` says why).
#[derive(Debug, Clone, Serialize)]
pub struct LabReport {
    pub student: String,
    pub lab: String,
    pub ok: bool,
    pub claims: Vec<GradedClaim>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A claim with the column it goes in and, when it failed because a
/// claim further down failed, that claim.
#[derive(Debug, Clone, Serialize)]
pub struct GradedClaim {
    /// The claim's words with the lab's own addresses masked (`*.100`),
    /// the same for every lab of the stack.
    pub column: String,
    #[serde(flatten)]
    pub claim: Claim,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caused_by: Option<String>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub class: String,
    pub stack: String,
    /// Every claim's column, in order.
    pub columns: Vec<String>,
    pub labs: Vec<LabReport>,
}

/// `text` with every IPv4 address's network part masked: labs of one
/// stack differ in their subnets, not in their host numbers.
pub fn mask_addresses(text: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        match run.parse::<std::net::Ipv4Addr>() {
            Ok(a) => out.push_str(&format!("*.{}", a.octets()[3])),
            Err(_) => out.push_str(run),
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() || c == '.' {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// A lab's claims graded: columns named, and failures after the first
/// failing group marked as caused by that group's first failure.
pub fn grade(claims: Vec<Claim>) -> Vec<GradedClaim> {
    let first_failure = claims.iter().find(|c| !c.ok).cloned();
    claims
        .into_iter()
        .map(|c| {
            let caused_by = match &first_failure {
                Some(f) if !c.ok && c.group != f.group => {
                    Some(format!("{}: {}", f.group, mask_addresses(&f.check)))
                }
                _ => None,
            };
            GradedClaim {
                column: format!("{}: {}", c.group, mask_addresses(&c.check)),
                claim: c,
                caused_by,
            }
        })
        .collect()
}

/// The columns of all labs, in order of first appearance.
pub fn columns(labs: &[LabReport]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in labs {
        for c in &l.claims {
            if !out.contains(&c.column) {
                out.push(c.column.clone());
            }
        }
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `report.csv`: a header (`student`, then the columns), a row per student.
pub fn csv(r: &Report) -> String {
    let mut out = std::iter::once("student".to_string())
        .chain(r.columns.iter().map(|c| csv_field(c)))
        .collect::<Vec<_>>()
        .join(",")
        + "\n";
    for l in &r.labs {
        let mut row = vec![csv_field(&l.student)];
        for col in &r.columns {
            row.push(
                match l.claims.iter().find(|c| &c.column == col) {
                    Some(c) if c.claim.ok => "pass",
                    _ => "fail",
                }
                .to_string(),
            );
        }
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// `index.html`: the grid, self-contained.
pub fn html(r: &Report) -> String {
    let mut h = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{class}: grades</title>\n<style>\n\
         body {{ font-family: sans-serif; margin: 1.5em; }}\n\
         table {{ border-collapse: collapse; font-size: 13px; }}\n\
         th, td {{ border: 1px solid #bbb; padding: 4px 6px; vertical-align: top; }}\n\
         th.claim {{ writing-mode: vertical-rl; transform: rotate(180deg); max-height: 22em; font-weight: normal; text-align: left; }}\n\
         td.pass {{ background: #dff3df; }} td.fail {{ background: #f8d7d7; }}\n\
         td.fail small {{ display: block; max-width: 18em; }}\n\
         </style></head>\n<body>\n<h1>Class {class}: {stack}</h1>\n<p>{passed} of {all} labs pass every claim. \
         Claims are in order from the foundation up; a failure marked <em>because</em> follows from an earlier one.</p>\n\
         <table>\n<tr><th>student</th><th>lab</th>",
        class = esc(&r.class),
        stack = esc(&r.stack),
        passed = r.labs.iter().filter(|l| l.ok).count(),
        all = r.labs.len(),
    );
    for c in &r.columns {
        h.push_str(&format!("<th class=\"claim\">{}</th>", esc(c)));
    }
    h.push_str("</tr>\n");
    for l in &r.labs {
        h.push_str(&format!(
            "<tr><th>{}</th><td>{}</td>",
            esc(&l.student),
            esc(&l.lab)
        ));
        if let Some(e) = &l.error {
            h.push_str(&format!(
                "<td class=\"fail\" colspan=\"{}\">{}</td></tr>\n",
                r.columns.len().max(1),
                esc(e)
            ));
            continue;
        }
        for col in &r.columns {
            match l.claims.iter().find(|c| &c.column == col) {
                Some(c) if c.claim.ok => h.push_str("<td class=\"pass\">pass</td>"),
                Some(c) => {
                    let because = c
                        .caused_by
                        .as_ref()
                        .map(|b| format!("<small><em>because</em> {}</small>", esc(b)))
                        .unwrap_or_default();
                    h.push_str(&format!(
                        "<td class=\"fail\">FAIL<small>expected: {}</small><small>observed: {}</small>{because}</td>",
                        esc(&c.claim.expected),
                        esc(&c.claim.observed)
                    ));
                }
                None => h.push_str("<td class=\"fail\">not checked</td>"),
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(group: &'static str, check: &str, ok: bool) -> Claim {
        Claim {
            group,
            check: check.into(),
            expected: "e".into(),
            observed: "o".into(),
            ok,
            ms: 1,
        }
    }

    #[test]
    fn addresses_are_masked_to_their_host_number() {
        assert_eq!(
            mask_addresses("virtual IP 10.128.4.100 held; client -> db-01:3306 (10.1.2.3:22)"),
            "virtual IP *.100 held; client -> db-01:3306 (*.3:22)"
        );
        assert_eq!(
            mask_addresses("a stranger (10.9.0.254) loads"),
            "a stranger (*.254) loads"
        );
        assert_eq!(
            mask_addresses("version 1.2 of 3.4.5"),
            "version 1.2 of 3.4.5"
        );
    }

    #[test]
    fn a_failure_further_down_is_marked_as_the_cause() {
        let g = grade(vec![
            claim("dns", "www answers 10.9.0.10", true),
            claim("dns", "@ answers", false),
            claim("site", "the page loads", false),
            claim("monitoring", "targets up", true),
        ]);
        assert_eq!(g[0].column, "dns: www answers *.10");
        assert!(
            g[1].caused_by.is_none(),
            "the first failure is its own cause"
        );
        assert_eq!(g[2].caused_by.as_deref(), Some("dns: @ answers"));
        assert!(g[3].caused_by.is_none());
    }

    #[test]
    fn the_csv_has_a_row_per_student_and_the_html_shows_each_failure() {
        let lab = |student: &str, ok: bool| LabReport {
            student: student.into(),
            lab: format!("c-{student}"),
            ok,
            claims: grade(vec![
                claim("site", "the page, \"whole\"", true),
                claim("failover", "VIP 10.1.0.100", ok),
            ]),
            error: None,
        };
        let mut r = Report {
            class: "c".into(),
            stack: "task3".into(),
            columns: vec![],
            labs: vec![lab("ann", true), lab("ben", false)],
        };
        r.columns = columns(&r.labs);
        assert_eq!(
            csv(&r),
            "student,\"site: the page, \"\"whole\"\"\",failover: VIP *.100\nann,pass,pass\nben,pass,fail\n"
        );
        let h = html(&r);
        assert!(h.contains("<tr><th>ben</th><td>c-ben</td><td class=\"pass\">pass</td><td class=\"fail\">FAIL<small>expected: e</small><small>observed: o</small></td></tr>"), "{h}");
        assert!(h.contains("1 of 2 labs pass every claim"));
    }
}
