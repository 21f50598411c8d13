//! The layout written as SVG, by hand (the drawing needs rectangles, lines
//! and text, nothing a library would add). Elements carry what a checker
//! needs to measure them in a browser: `class="box zone|group|server|part"`
//! with `data-id`, `class="edge"` with `data-from`/`data-to`, and each text's
//! `data-owner` (the box it is written in).

use std::fmt::Write as _;

use super::draw::{Anchor, BoxClass, DrawBox, DrawEdge, DrawText, Ink, Layout};
use super::layout::layout;
use super::{BoxKind, EdgeKind, Model};

/// `s` as text in XML or HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The diagram as SVG.
pub fn svg(m: &Model) -> String {
    write(&layout(m))
}

/// A laid-out drawing as SVG.
pub fn write(l: &Layout) -> String {
    let mut s = String::new();
    let (w, h) = (l.width, l.height);
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">"#
    );
    s.push_str(&markers());
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    for class in [
        BoxClass::Zone,
        BoxClass::Group,
        BoxClass::Server,
        BoxClass::Part,
    ] {
        for b in l.boxes.iter().filter(|b| b.class == class) {
            draw_box(&mut s, b);
        }
    }
    for e in &l.edges {
        draw_edge(&mut s, e);
    }
    for t in &l.texts {
        draw_text(&mut s, l, t);
    }
    s.push_str("</svg>\n");
    s
}

fn markers() -> String {
    let mut s = String::from("<defs>");
    for (id, color) in [
        ("arrow", "#444c56"),
        ("arrow-g", "#1a7f37"),
        ("arrow-b", "#0969da"),
    ] {
        let _ = write!(
            s,
            r#"<marker id="{id}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>"#
        );
    }
    s.push_str("</defs>\n");
    s
}

/// Fill, stroke, stroke width, dashes, corner radius.
fn box_style(b: &DrawBox) -> (&'static str, &'static str, f64, &'static str, f64) {
    match b.class {
        BoxClass::Zone if b.flag => ("#eef7ff", "#54aeff", 1.2, "", 14.0),
        BoxClass::Zone => ("#effaf1", "#4ac26b", 1.2, "", 14.0),
        // A database cluster, in replication's green; a virtual IP's pair.
        BoxClass::Group if b.flag => ("#f4fcf6", "#1a7f37", 1.4, "5 3", 12.0),
        BoxClass::Group => ("#faf0ff", "#8250df", 1.4, "5 3", 12.0),
        BoxClass::Part if b.flag => ("#ffffff", "#1a7f37", 2.4, "", 5.0),
        BoxClass::Part => ("#ffffff", "#8c959f", 1.0, "", 5.0),
        BoxClass::Server => {
            let fill = match b.kind {
                BoxKind::User => "#ddf4ff",
                BoxKind::Dns | BoxKind::Monitoring => "#fff8e5",
                BoxKind::Site => "#f6f8fa",
            };
            if b.flag {
                (fill, "#cf222e", 2.2, "7 3", 7.0)
            } else {
                (fill, "#57606a", 1.2, "", 7.0)
            }
        }
    }
}

fn draw_box(s: &mut String, b: &DrawBox) {
    let (fill, stroke, width, dash, rx) = box_style(b);
    let class = match b.class {
        BoxClass::Zone => "zone",
        BoxClass::Group => "group",
        BoxClass::Server => "server",
        BoxClass::Part => "part",
    };
    let dash = if dash.is_empty() {
        String::new()
    } else {
        format!(r#" stroke-dasharray="{dash}""#)
    };
    let r = b.rect;
    let rect = format!(
        r#"<rect class="box {class}" data-id="{}" data-networks="{}" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="{rx}" fill="{fill}" stroke="{stroke}" stroke-width="{width}"{dash}/>"#,
        esc(&b.id),
        esc(&b.networks.join(" ")),
        r.x,
        r.y,
        r.w,
        r.h
    );
    // Servers keep the `node` group with their name as id, for scripts
    // that look a server up in the drawing.
    if b.class == BoxClass::Server {
        let _ = writeln!(s, r#"<g class="node" id="{}">{rect}</g>"#, esc(&b.id));
    } else {
        let _ = writeln!(s, "{rect}");
    }
}

fn draw_edge(s: &mut String, e: &DrawEdge) {
    let (color, dash, marker) = match e.kind {
        EdgeKind::Request | EdgeKind::Metrics => ("#444c56", "", "arrow"),
        EdgeKind::Dns => ("#0969da", "5 3", "arrow-b"),
        EdgeKind::Replication => ("#1a7f37", "6 4", "arrow-g"),
        EdgeKind::Vrrp => ("#8250df", "3 3", ""),
    };
    let d: Vec<String> = e
        .points
        .iter()
        .enumerate()
        .map(|(i, (x, y))| format!("{}{x:.1},{y:.1}", if i == 0 { "M" } else { " L" }))
        .collect();
    let dash = if dash.is_empty() {
        String::new()
    } else {
        format!(r#" stroke-dasharray="{dash}""#)
    };
    let marker = if e.arrow && !marker.is_empty() {
        format!(r#" marker-end="url(#{marker})""#)
    } else {
        String::new()
    };
    let _ = writeln!(
        s,
        r#"<path class="edge" data-from="{}" data-to="{}" d="{}" fill="none" stroke="{color}" stroke-width="1.4"{dash}{marker}/>"#,
        esc(&e.from),
        esc(&e.to),
        d.concat()
    );
}

fn ink(l: &Layout, t: &DrawText) -> &'static str {
    match t.ink {
        Ink::Title => "#1b1f24",
        Ink::Body => "#24292f",
        Ink::Muted => "#57606a",
        Ink::Zone => {
            let public = t
                .owner
                .as_deref()
                .and_then(|o| l.boxes.iter().find(|b| b.id == o))
                .is_some_and(|b| b.flag);
            if public {
                "#0550ae"
            } else {
                "#116329"
            }
        }
        Ink::Firewall => "#cf222e",
        Ink::Monitoring => "#9a6700",
        Ink::Vrrp => "#8250df",
        Ink::Tls | Ink::Replication => "#1a7f37",
        Ink::Dns => "#0969da",
    }
}

fn draw_text(s: &mut String, l: &Layout, t: &DrawText) {
    let anchor = match t.anchor {
        Anchor::Start => "",
        Anchor::End => r#" text-anchor="end""#,
    };
    let weight = if t.font.bold {
        r#" font-weight="bold""#
    } else {
        ""
    };
    let owner = match &t.owner {
        Some(o) => format!(r#" data-owner="{}""#, esc(o)),
        None => String::new(),
    };
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" font-size="{}"{weight}{anchor} fill="{}"{owner} xml:space="preserve">{}</text>"#,
        t.x,
        t.y,
        t.font.size,
        ink(l, t),
        esc(&t.text)
    );
}
