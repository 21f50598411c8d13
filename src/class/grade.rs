//! Grading a class: every student's lab verified, as one report in three
//! forms — `report.json` (everything), `report.csv` (a row per student:
//! score, total, then a column per claim, `pass`, `fail` or `not checked`,
//! and last the hints of the failures) and `index.html` (opens offline,
//! readable at 1280 px: a row per student with the score and each area's
//! count, then a row listing that student's failures with what was
//! expected, what was observed, why, and where to look).
//!
//! A lab is graded claim by claim: with a server down, what the dead
//! server breaks fails (`because server-02 is not running`, from verify)
//! and what still works passes. Every student is scored out of the same
//! total, the class's claims; rows are sorted by score, highest first,
//! then by name, so the class's standing reads from the top and the labs
//! that need help are together at the end.
//!
//! Claims come in verify's order, from the foundation up (DNS, the site,
//! the tiers, replication, firewalls, monitoring, failover), and are
//! grouped by area (verify's group). A failure no dead server explains,
//! after a lab's first failing area, is marked as following from that
//! area's first failure: a DNS server that does not answer explains a
//! site that does not load.

use serde::Serialize;

use crate::diagram::esc;
use crate::verify::Claim;

/// One student's lab, verified (or not: `error` says why).
#[derive(Debug, Clone, Serialize)]
pub struct LabReport {
    pub student: String,
    pub lab: String,
    /// Every claim of the class passes.
    pub ok: bool,
    /// The class's claims this lab passes.
    pub score: usize,
    /// The class's claims: the same for every student.
    pub total: usize,
    /// The score area by area, in the report's order.
    pub areas: Vec<AreaScore>,
    pub claims: Vec<GradedClaim>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The lab's exercise, graded (a class set one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exercise: Option<crate::exercise::grade::Outcome>,
}

impl LabReport {
    /// A lab verified (`Ok`, its claims) or not (`Err`, why); scored by
    /// [`report`].
    pub fn new(student: &str, lab: &str, verified: Result<Vec<Claim>, String>) -> LabReport {
        let (claims, error) = match verified {
            Ok(c) => (c, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        LabReport {
            student: student.to_string(),
            lab: lab.to_string(),
            ok: error.is_none() && claims.iter().all(|c| c.ok),
            score: 0,
            total: 0,
            areas: Vec::new(),
            claims: grade(claims),
            error,
            exercise: None,
        }
    }

    /// The claim in `column`, if the lab has it.
    pub fn claim(&self, column: &str) -> Option<&GradedClaim> {
        self.claims.iter().find(|c| c.column == column)
    }
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

impl GradedClaim {
    /// Why it failed: the server that is not running, else the earlier
    /// failure it follows from.
    pub fn because(&self) -> Option<&str> {
        self.claim.because.as_deref().or(self.caused_by.as_deref())
    }
}

/// An area of the class's claims (verify's group: `dns`, `firewall`, …).
#[derive(Debug, Clone, Serialize)]
pub struct Area {
    pub area: String,
    /// Its claims' columns, in order.
    pub columns: Vec<String>,
}

/// A lab's count in one area.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AreaScore {
    pub area: String,
    pub passed: usize,
    pub total: usize,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub class: String,
    pub stack: String,
    /// Every claim's column, in order.
    pub columns: Vec<String>,
    /// The columns by area, in order.
    pub areas: Vec<Area>,
    /// Sorted by score, highest first, then by student.
    pub labs: Vec<LabReport>,
}

/// The report of `labs`: each scored against the class's claims, sorted
/// by score (highest first), then by student.
pub fn report(class: &str, stack: &str, mut labs: Vec<LabReport>) -> Report {
    let columns = columns(&labs);
    let mut areas: Vec<Area> = Vec::new();
    for col in &columns {
        let area = labs
            .iter()
            .find_map(|l| l.claim(col))
            .map(|c| c.claim.group)
            .unwrap_or_default();
        match areas.iter_mut().find(|a| a.area == area) {
            Some(a) => a.columns.push(col.clone()),
            None => areas.push(Area {
                area: area.to_string(),
                columns: vec![col.clone()],
            }),
        }
    }
    let passed = |l: &LabReport, cols: &[String]| {
        cols.iter()
            .filter(|c| l.claim(c).is_some_and(|c| c.claim.ok))
            .count()
    };
    for l in &mut labs {
        l.areas = areas
            .iter()
            .map(|a| AreaScore {
                area: a.area.clone(),
                passed: passed(l, &a.columns),
                total: a.columns.len(),
            })
            .collect();
        l.score = passed(l, &columns);
        l.total = columns.len();
        l.ok = l.error.is_none() && l.score == l.total;
    }
    labs.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then_with(|| a.student.cmp(&b.student))
    });
    Report {
        class: class.to_string(),
        stack: stack.to_string(),
        columns,
        areas,
        labs,
    }
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

/// A lab's claims graded: columns named, and failures that no dead server
/// explains, after the first failing group, marked as caused by that
/// group's first failure.
pub fn grade(claims: Vec<Claim>) -> Vec<GradedClaim> {
    let first_failure = claims.iter().find(|c| !c.ok).cloned();
    claims
        .into_iter()
        .map(|c| {
            let caused_by = match &first_failure {
                Some(f) if !c.ok && c.because.is_none() && c.group != f.group => {
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

/// The hints of a lab's failures, each once, in order: a line each, with
/// how many failures share it when more than one does.
pub fn hints(l: &LabReport) -> String {
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for h in l
        .claims
        .iter()
        .filter(|c| !c.claim.ok)
        .filter_map(|c| c.claim.hint.as_deref())
    {
        match seen.iter_mut().find(|(s, _)| *s == h) {
            Some((_, n)) => *n += 1,
            None => seen.push((h, 1)),
        }
    }
    seen.iter()
        .map(|(h, n)| match n {
            1 => h.to_string(),
            n => format!("{h} ({n} claims)"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `report.csv`: a header (`student`, `lab`, `score`, `total`, then the
/// columns, then `hints`), a row per student in the report's order; a
/// claim's cell is `pass`, `fail` or `not checked` (a lab that could not
/// be verified); the last cell, the [`hints`] of its failures.
pub fn csv(r: &Report) -> String {
    let set = r.labs.iter().any(|l| l.exercise.is_some());
    let head = ["student", "lab", "score", "total"]
        .into_iter()
        .map(str::to_string)
        .chain(r.columns.iter().map(|c| csv_field(c)))
        .chain(
            EXERCISE_COLUMNS
                .iter()
                .filter(|_| set)
                .map(|c| c.to_string()),
        )
        .chain(["hints".to_string()]);
    let mut out = head.collect::<Vec<_>>().join(",") + "\n";
    for l in &r.labs {
        let mut row = vec![
            csv_field(&l.student),
            csv_field(&l.lab),
            l.score.to_string(),
            l.total.to_string(),
        ];
        for col in &r.columns {
            row.push(
                match l.claim(col) {
                    Some(c) if c.claim.ok => "pass",
                    Some(_) => "fail",
                    None => "not checked",
                }
                .to_string(),
            );
        }
        if set {
            row.extend(exercise_cells(l));
        }
        row.push(csv_field(&hints(l)));
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// The columns of a class set an exercise, before the hints.
const EXERCISE_COLUMNS: [&str; 4] = [
    "exercise fixed",
    "exercise checks",
    "seconds since set",
    "counts",
];

/// A lab's cells under [`EXERCISE_COLUMNS`] (empty when it was not
/// graded).
fn exercise_cells(l: &LabReport) -> [String; 4] {
    match &l.exercise {
        Some(o) => [
            o.fixed.to_string(),
            o.total.to_string(),
            o.seconds.to_string(),
            if o.counts { "yes" } else { "no: reset" }.to_string(),
        ],
        None => Default::default(),
    }
}

/// A lab's exercise in its details: how many checks are fixed, how long
/// after it was set, whether the attempt counts, each unfixed check with
/// its hint.
fn exercise_html(o: &crate::exercise::grade::Outcome) -> String {
    let mut h = format!(
        "<p class=\"exercise\"><b>Exercise {}</b>: {} of {} checks fixed, {} s after it was set.",
        esc(&o.title),
        o.fixed,
        o.total,
        o.seconds
    );
    if !o.counts {
        h.push_str(&format!(
            " <span class=\"why\">The lab was reset (re-made: {}): this attempt does not count.</span>",
            esc(&o.remade.join(", "))
        ));
    }
    h.push_str("</p>");
    let items: Vec<Item> = o
        .checks
        .iter()
        .filter(|g| !g.fixed)
        .map(|g| (format!("not yet: {}", esc(&g.check)), g.hint.as_deref()))
        .collect();
    if !items.is_empty() {
        h.push_str(&items_html(&items));
    }
    h
}

const STYLE: &str = "\
body { font-family: system-ui, sans-serif; margin: 1.2em 1.5em; color: #222; }
h1 { font-size: 1.4em; margin: 0 0 .3em; }
p.lead { margin: 0 0 1em; color: #444; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 4px 6px; vertical-align: top; overflow-wrap: anywhere; }
thead th { background: #f2f2f2; text-align: left; font-weight: 600; }
thead th small, tfoot td small { display: block; font-weight: normal; color: #555; }
th.student { text-align: left; }
col.student { width: 9em; } col.lab { width: 11em; } col.score { width: 8em; }
tbody.learner { border-top: 2px solid #888; }
tr.summary td.area { text-align: center; }
td.all { background: #dff3df; } td.some { background: #fbecc5; } td.none { background: #f8d7d7; }
td.score b { font-size: 1.1em; }
.bar { height: 5px; background: #f8d7d7; margin-top: 3px; }
.bar span { display: block; height: 5px; background: #5cb85c; }
tr.details td { background: #fafafa; font-size: 12px; padding: 4px 10px 6px; }
tr.details ul { margin: 0 0 2px; padding-left: 1.2em; }
tr.details p.why { margin: 2px 0 1px; }
tr.details li { margin: 1px 0; }
tr.details .area { font-weight: 600; }
tr.details .why { color: #8a1f11; }
tr.details .good { color: #2d6a2d; }
tr.details .hint { color: #555; }
tr.details li .hint { display: block; }
tfoot td { background: #f2f2f2; text-align: center; }
";

/// A lab's count in an area, as a cell: green when all pass, amber when
/// some do, red when none.
fn area_cell(a: &AreaScore, verified: bool) -> String {
    if !verified {
        return "<td class=\"area none\">–</td>".into();
    }
    let class = match a.passed {
        p if p == a.total => "all",
        0 => "none",
        _ => "some",
    };
    format!("<td class=\"area {class}\">{} / {}</td>", a.passed, a.total)
}

/// A failure in a lab's details: the item, and the claim's hint.
type Item<'a> = (String, Option<&'a str>);

/// A reason's failures as a list, each with its hint; a hint they all
/// share (start the server that is not running) once, after the list.
fn items_html(items: &[Item]) -> String {
    let hint = |h: &str| format!("<span class=\"hint\">hint: {}</span>", esc(h));
    let shared = items
        .first()
        .and_then(|(_, h)| *h)
        .filter(|first| items.len() > 1 && items.iter().all(|(_, h)| *h == Some(*first)));
    let list: String = items
        .iter()
        .map(|(item, h)| match h.filter(|_| shared.is_none()) {
            Some(h) => format!("<li>{item}{}</li>", hint(h)),
            None => format!("<li>{item}</li>"),
        })
        .collect();
    let after = shared
        .map(|h| format!("<p class=\"hint\">hint: {}</p>", esc(h)))
        .unwrap_or_default();
    format!("<ul>{list}</ul>{after}")
}

/// A lab's details: its failures area by area, those a reason explains
/// together under it (`because server-02 is not running (12)`), each with
/// what was expected and what was observed, and where to look (its hint);
/// or that every claim passes; or why it could not be verified.
fn details(r: &Report, l: &LabReport) -> String {
    let exercise = l.exercise.as_ref().map(exercise_html).unwrap_or_default();
    exercise + &claims_details(r, l)
}

/// A lab's failures, as [`details`] shows them.
fn claims_details(r: &Report, l: &LabReport) -> String {
    if let Some(e) = &l.error {
        return format!("<span class=\"why\">Not verified: {}</span>", esc(e));
    }
    if l.ok {
        return format!(
            "<span class=\"good\">Every claim passes ({}).</span>",
            l.total
        );
    }
    // (reason, items): the failures no reason explains first.
    let mut groups: Vec<(Option<&str>, Vec<Item>)> = vec![(None, Vec::new())];
    for area in &r.areas {
        for col in &area.columns {
            let check = col.strip_prefix(&format!("{}: ", area.area)).unwrap_or(col);
            let (why, what, hint) = match l.claim(col) {
                Some(c) if c.claim.ok => continue,
                Some(c) => (
                    c.because(),
                    format!(
                        "{} — expected {}, observed {}",
                        esc(check),
                        esc(&c.claim.expected),
                        esc(&c.claim.observed)
                    ),
                    c.claim.hint.as_deref(),
                ),
                None => (None, format!("{} — not checked", esc(check)), None),
            };
            let item = (
                format!("<span class=\"area\">{}</span>: {what}", esc(&area.area)),
                hint,
            );
            match groups.iter_mut().find(|(w, _)| *w == why) {
                Some((_, items)) => items.push(item),
                None => groups.push((why, vec![item])),
            }
        }
    }
    let mut h = String::new();
    for (why, items) in groups.iter().filter(|(_, items)| !items.is_empty()) {
        if let Some(why) = why {
            h.push_str(&format!(
                "<p class=\"why\"><em>because</em> {} ({}):</p>",
                esc(why),
                items.len()
            ));
        }
        h.push_str(&items_html(items));
    }
    h
}

/// `index.html`, self-contained: a row per student (score, then each
/// area's count) and a row of details under it.
pub fn html(r: &Report) -> String {
    let passing = r.labs.iter().filter(|l| l.ok).count();
    let mut h = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{class}: grades</title>\n<style>\n{STYLE}</style></head>\n<body>\n\
         <h1>Class {class}: {stack}</h1>\n\
         <p class=\"lead\">{passing} of {all} labs pass every claim. {claims} claims in {areas} areas, from the foundation up; \
         students by score, highest first. A failure says <em>because</em> when a server that is not running, \
         or an earlier failure, explains it, and its <em>hint</em> where the student should look.</p>\n\
         <table>\n<colgroup><col class=\"student\"><col class=\"lab\"><col class=\"score\">{cols}</colgroup>\n\
         <thead><tr><th>student</th><th>lab</th><th>score</th>",
        class = esc(&r.class),
        stack = esc(&r.stack),
        all = r.labs.len(),
        claims = r.columns.len(),
        areas = r.areas.len(),
        cols = "<col>".repeat(r.areas.len()),
    );
    for a in &r.areas {
        h.push_str(&format!(
            "<th>{}<small>{} claim{}</small></th>",
            esc(&a.area),
            a.columns.len(),
            if a.columns.len() == 1 { "" } else { "s" }
        ));
    }
    h.push_str("</tr></thead>\n");
    let width = 3 + r.areas.len();
    for l in &r.labs {
        let percent = (l.score * 100).checked_div(l.total).unwrap_or(0);
        h.push_str(&format!(
            "<tbody class=\"learner\">\n<tr class=\"summary\"><th class=\"student\">{}</th><td>{}</td>\
             <td class=\"score\"><b>{} / {}</b><div class=\"bar\"><span style=\"width: {percent}%\"></span></div></td>",
            esc(&l.student),
            esc(&l.lab),
            l.score,
            l.total
        ));
        for a in &l.areas {
            h.push_str(&area_cell(a, l.error.is_none()));
        }
        h.push_str(&format!(
            "</tr>\n<tr class=\"details\"><td colspan=\"{width}\">{}</td></tr>\n</tbody>\n",
            details(r, l)
        ));
    }
    h.push_str("<tfoot><tr><td colspan=\"3\">labs passing the whole area</td>");
    for (i, a) in r.areas.iter().enumerate() {
        let whole = r
            .labs
            .iter()
            .filter(|l| l.error.is_none() && l.areas.get(i).is_some_and(|s| s.passed == s.total))
            .count();
        h.push_str(&format!(
            "<td>{whole} / {}<small>{}</small></td>",
            r.labs.len(),
            esc(&a.area)
        ));
    }
    h.push_str("</tr></tfoot>\n</table>\n</body></html>\n");
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
            because: None,
            hint: (!ok).then(|| format!("look at <{check}>")),
        }
    }

    /// A claim failed because server-02 is not running.
    fn down(group: &'static str, check: &str) -> Claim {
        Claim {
            observed: "dropped".into(),
            ..claim(group, check, false)
        }
        .blamed_on(&["server-02"])
    }

    const START: &str = "Start server-02 again (the start button on the lab's page in the portal, \
                         or `infractl up` on the lab), then verify again";

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
            down("firewall", "lb-01 -> server-02:80"),
        ]);
        assert_eq!(g[0].column, "dns: www answers *.10");
        assert!(
            g[1].caused_by.is_none(),
            "the first failure is its own cause"
        );
        assert_eq!(g[2].caused_by.as_deref(), Some("dns: @ answers"));
        assert_eq!(g[2].because(), Some("dns: @ answers"));
        assert!(g[3].caused_by.is_none());
        assert!(
            g[4].caused_by.is_none(),
            "a dead server is its own explanation"
        );
        assert_eq!(g[4].because(), Some("server-02 is not running"));
    }

    /// ann passes all, ben loses a firewall flow to a dead server, cy's
    /// lab could not be verified, dan passes all: listed in this order.
    fn class() -> Report {
        let lab = |student: &str, claims: Vec<Claim>| {
            LabReport::new(student, &format!("c-{student}"), Ok(claims))
        };
        let whole = || {
            vec![
                claim("dns", "www A", true),
                claim("site", "the page, \"whole\"", true),
                claim("firewall", "lb-01 -> server-02:80", true),
                claim("firewall", "ufw on 10.1.0.12", true),
            ]
        };
        let mut broken = whole();
        broken[2] = down("firewall", "lb-01 -> server-02:80");
        report(
            "c",
            "task2",
            vec![
                lab("dan", whole()),
                LabReport::new("cy", "c-cy", Err("engine gone".into())),
                lab("ben", broken),
                lab("ann", whole()),
            ],
        )
    }

    #[test]
    fn every_student_is_scored_out_of_the_class_claims_best_first() {
        let r = class();
        let order: Vec<(&str, usize, usize, bool)> = r
            .labs
            .iter()
            .map(|l| (l.student.as_str(), l.score, l.total, l.ok))
            .collect();
        assert_eq!(
            order,
            [
                ("ann", 4, 4, true),
                ("dan", 4, 4, true),
                ("ben", 3, 4, false),
                ("cy", 0, 4, false),
            ]
        );
        let areas: Vec<(&str, usize)> = r
            .areas
            .iter()
            .map(|a| (a.area.as_str(), a.columns.len()))
            .collect();
        assert_eq!(areas, [("dns", 1), ("site", 1), ("firewall", 2)]);
        assert_eq!(
            r.labs[2].areas[2],
            AreaScore {
                area: "firewall".into(),
                passed: 1,
                total: 2
            }
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["labs"][2]["score"], 3);
        assert_eq!(json["labs"][2]["total"], 4);
        assert_eq!(
            json["labs"][2]["claims"][2]["because"],
            "server-02 is not running"
        );
        assert_eq!(json["labs"][2]["claims"][2]["hint"], START);
        assert!(
            json["labs"][2]["claims"][1].get("hint").is_none(),
            "a claim that passes has no hint: {}",
            json["labs"][2]["claims"][1]
        );
    }

    #[test]
    fn the_csv_has_score_total_and_a_cell_per_claim() {
        assert_eq!(
            csv(&class()),
            format!(
                "student,lab,score,total,dns: www A,\"site: the page, \"\"whole\"\"\",firewall: lb-01 -> server-02:80,firewall: ufw on *.12,hints\n\
                 ann,c-ann,4,4,pass,pass,pass,pass,\n\
                 dan,c-dan,4,4,pass,pass,pass,pass,\n\
                 ben,c-ben,3,4,pass,pass,fail,pass,\"{START}\"\n\
                 cy,c-cy,0,4,not checked,not checked,not checked,not checked,\n"
            )
        );
    }

    #[test]
    fn the_csv_s_last_cell_has_each_hint_once() {
        let l = LabReport::new(
            "ann",
            "c-ann",
            Ok(vec![
                down("site", "lb-01 -> server-02:80"),
                claim("dns", "www A", false),
                claim("dns", "@ A", true),
                down("firewall", "ufw on server-02"),
            ]),
        );
        assert_eq!(hints(&l), format!("{START} (2 claims)\nlook at <www A>"));
        let row = csv(&report("c", "task2", vec![l]));
        assert!(
            row.ends_with(&format!(",\"{START} (2 claims)\nlook at <www A>\"\n")),
            "a cell of several lines is quoted: {row}"
        );
    }

    #[test]
    fn the_html_has_a_summary_and_a_details_row_per_student() {
        let h = html(&class());
        assert!(
            h.contains("2 of 4 labs pass every claim. 4 claims in 3 areas"),
            "{h}"
        );
        assert!(
            h.contains("<thead><tr><th>student</th><th>lab</th><th>score</th><th>dns<small>1 claim</small></th><th>site<small>1 claim</small></th><th>firewall<small>2 claims</small></th></tr></thead>"),
            "{h}"
        );
        assert!(
            h.contains("<th class=\"student\">ben</th><td>c-ben</td><td class=\"score\"><b>3 / 4</b><div class=\"bar\"><span style=\"width: 75%\"></span></div></td><td class=\"area all\">1 / 1</td><td class=\"area all\">1 / 1</td><td class=\"area some\">1 / 2</td></tr>"),
            "{h}"
        );
        assert!(
            h.contains(&format!("<tr class=\"details\"><td colspan=\"6\"><p class=\"why\"><em>because</em> server-02 is not running (1):</p><ul><li><span class=\"area\">firewall</span>: lb-01 -&gt; server-02:80 — expected e, observed dropped<span class=\"hint\">hint: {}</span></li></ul></td></tr>", esc(START))),
            "{h}"
        );
        assert!(h.contains("Every claim passes (4)."));
        assert!(h.contains("Not verified: engine gone"));
        let at = |s: &str| h.find(&format!("<th class=\"student\">{s}</th>")).unwrap();
        assert!(at("ann") < at("dan") && at("dan") < at("ben") && at("ben") < at("cy"));
        assert!(
            h.contains("<td>2 / 4<small>firewall</small></td>"),
            "the class's count of labs passing an area: {h}"
        );
        assert!(!h.contains("writing-mode"), "no rotated headers");
    }

    #[test]
    fn failures_a_reason_explains_are_listed_together_under_it() {
        let r = report(
            "c",
            "task2",
            vec![LabReport::new(
                "ann",
                "c-ann",
                Ok(vec![
                    down("site", "lb-01 -> server-02:80"),
                    claim("site", "the page", false),
                    down("firewall", "ufw on server-02"),
                ]),
            )],
        );
        assert!(
            html(&r).contains(
                &format!(
                    "<td colspan=\"5\"><ul><li><span class=\"area\">site</span>: the page — expected e, observed o\
                     <span class=\"hint\">hint: look at &lt;the page&gt;</span></li></ul>\
                     <p class=\"why\"><em>because</em> server-02 is not running (2):</p>\
                     <ul><li><span class=\"area\">site</span>: lb-01 -&gt; server-02:80 — expected e, observed dropped</li>\
                     <li><span class=\"area\">firewall</span>: ufw on server-02 — expected e, observed dropped</li></ul>\
                     <p class=\"hint\">hint: {}</p></td>",
                    esc(START)
                )
            ),
            "{}",
            html(&r)
        );
    }
}
