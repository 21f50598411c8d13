//! The explanation as text for people: what `infractl explain` prints,
//! one function per section.

use super::{Explanation, Exposure, Severity};
use crate::words::and_list;

/// The explanation as text for people.
pub fn render_text(e: &Explanation) -> String {
    let mut t = format!("Stack `{}`: {}\n\n", e.stack, e.description);
    servers(&mut t, e);
    request_path(&mut t, e);
    balance_and_database(&mut t, e);
    public(&mut t, &e.public);
    findings(&mut t, e);
    t
}

/// Each server with what each of its components does there.
fn servers(t: &mut String, e: &Explanation) {
    t.push_str("Servers\n");
    for s in &e.servers {
        t.push_str(&format!("  {} ({})\n", s.server, s.addresses.join(", ")));
        for (c, what) in &s.components {
            t.push_str(&format!("    {c:<18} {what}\n"));
        }
    }
}

/// The hops of a request, numbered.
fn request_path(t: &mut String, e: &Explanation) {
    t.push_str("\nA request, from the browser to the database\n");
    for (i, h) in e.request_path.iter().enumerate() {
        t.push_str(&format!(
            "  {}. {}: {}, port {}\n     {}\n",
            i + 1,
            h.what,
            and_list(&h.servers),
            h.port,
            h.note
        ));
    }
    if !e.request_path.is_empty() {
        t.push_str("  The page goes back to the browser the same way.\n");
    }
}

/// How load is balanced and the database replicated, where they are.
fn balance_and_database(t: &mut String, e: &Explanation) {
    if let Some(lb) = &e.load_balancing {
        t.push_str(&format!(
            "\nLoad balancing: {} over {}\n  {}\n  Mode: {}. {}\n",
            lb.algorithm,
            and_list(&lb.backends),
            lb.how,
            lb.mode,
            lb.mode_explained
        ));
    }
    if let Some(r) = &e.replication {
        t.push_str(&format!("\nDatabase\n  {}\n", r.how));
    }
}

/// What each server on a public network answers anyone.
fn public(t: &mut String, public: &[Exposure]) {
    if public.is_empty() {
        return;
    }
    t.push_str("\nOpen to the public network\n");
    for x in public {
        let open: Vec<String> = x
            .open
            .iter()
            .map(|(port, what)| format!("{port} ({what})"))
            .collect();
        let open = if open.is_empty() {
            "nothing".to_string()
        } else {
            and_list(&open)
        };
        let rest = if x.firewall {
            "; its firewall refuses everything else"
        } else {
            "; no firewall: every port it listens on, to anyone"
        };
        t.push_str(&format!("  {}: {open}{rest}\n", x.server));
    }
}

/// The findings, most severe first, or `none`.
fn findings(t: &mut String, e: &Explanation) {
    t.push_str("\nFindings\n");
    if e.findings.is_empty() {
        t.push_str("  none\n");
    }
    for f in &e.findings {
        let sev = match f.severity {
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
        };
        t.push_str(&format!(
            "  [{sev}] {} ({})\n    {}.\n    fix: {}.\n",
            f.title,
            f.category.as_str(),
            f.detail,
            f.fix
        ));
    }
}
