//! A lab's exercise on its page: the text the learner reads (a small,
//! safe part of Markdown rendered on the server: paragraphs, `code`,
//! **bold**, *emphasis*; everything else escaped), and `check` on demand
//! — each of the exercise's checks fixed or not yet, with the failing
//! claim's hint, never the fault's name or its answer.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};

use super::auth::LabAccess;
use super::{Portal, PortalError};
use crate::exercise::record;

pub fn router() -> Router<Portal> {
    Router::new().route("/lab/{lab}/check", post(check))
}

/// What the page shows of the lab's exercise, if it has one.
#[derive(serde::Serialize)]
pub struct Shown {
    pub title: String,
    /// The text as HTML (see [`markdown`]).
    pub html: String,
}

/// The exercise of `lab`, as its page shows it.
pub fn shown(portal: &Portal, lab: &str) -> Option<Shown> {
    let r = record::read(&portal.global.state(lab))?;
    Some(Shown {
        title: r.title,
        html: markdown(&r.text),
    })
}

/// The lab's exercise graded, as `infractl check --json` says it.
async fn check(
    access: LabAccess,
    State(portal): State<Portal>,
) -> Result<Json<serde_json::Value>, PortalError> {
    // A lab without an exercise is not there for this route.
    record::read(&portal.global.state(&access.lab)).ok_or(PortalError::NotFound)?;
    let graded =
        crate::ops::check::checked(&access.lab, &portal.global, &crate::progress::Silent).await;
    portal.audit.log(
        &access.who,
        "check",
        Some(&access.lab),
        None,
        graded.is_ok(),
    );
    let c = graded?;
    Ok(Json(serde_json::json!({
        "title": c.record.title,
        "ok": c.ok(),
        "fixed": c.fixed(),
        "total": c.graded.len(),
        "checks": c.graded,
        "remade": c.remade,
        "counts": c.counts(),
        "seconds_since_injection": record::now().saturating_sub(c.record.injected_at),
    })))
}

/// `text` (Markdown) as HTML: blank lines part paragraphs; `code`,
/// **bold** and *emphasis* inside them; every other character escaped,
/// so nothing of the text can be markup of its own.
pub fn markdown(text: &str) -> String {
    text.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| format!("<p>{}</p>", inline(p)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One paragraph's inline marks, the rest escaped.
fn inline(p: &str) -> String {
    let mut out = String::new();
    let mut rest = p;
    while !rest.is_empty() {
        let next = ["`", "**", "*"]
            .iter()
            .filter_map(|m| {
                let at = rest.find(m)?;
                let close = rest[at + m.len()..].find(m)?;
                Some((at, *m, close))
            })
            .min_by_key(|(at, m, _)| (*at, std::cmp::Reverse(m.len())));
        let Some((at, mark, close)) = next else {
            out.push_str(&escape(rest));
            break;
        };
        out.push_str(&escape(&rest[..at]));
        let inner = &rest[at + mark.len()..at + mark.len() + close];
        let tag = match mark {
            "`" => "code",
            "**" => "b",
            _ => "em",
        };
        out.push_str(&format!("<{tag}>{}</{tag}>", escape(inner)));
        rest = &rest[at + mark.len() + close + mark.len()..];
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_paragraphs_with_code_bold_and_emphasis() {
        let html = markdown(
            "The site at **www.foobar.com** answers.\nOne server gets *no request*.\n\nRun `infractl check` on your lab.\n",
        );
        assert_eq!(
            html,
            "<p>The site at <b>www.foobar.com</b> answers.\nOne server gets <em>no request</em>.</p>\n\
             <p>Run <code>infractl check</code> on your lab.</p>"
        );
    }

    #[test]
    fn nothing_of_the_text_is_markup_of_its_own() {
        let html = markdown("<script>alert(1)</script> **<img src=x onerror=y>** `a<b` 5 * 3");
        assert!(
            !html.contains("<script") && !html.contains("<img"),
            "{html}"
        );
        assert_eq!(
            html,
            "<p>&lt;script&gt;alert(1)&lt;/script&gt; <b>&lt;img src=x onerror=y&gt;</b> <code>a&lt;b</code> 5 * 3</p>"
        );
    }
}
