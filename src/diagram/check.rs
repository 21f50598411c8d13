//! Checks of a layout, without a browser: text crossing text, an edge or a
//! box's border; an edge through a component; a server outside its
//! networks' zones; the page rule. The layout uses them to choose column
//! widths, the unit tests to hold every seed stack to them, and
//! tests/diagram.rs checks the same in Chromium with the real fonts.

use super::draw::{BoxClass, Layout};
use super::geometry::{MIN_PT, PRINT_H_PT, PRINT_W_PT};

/// Everything wrong with a layout: text crossing text, an edge or a box's
/// border, an edge through a part, a server outside its networks' zones,
/// the page rule broken. Empty when the drawing is clean.
pub fn problems(l: &Layout) -> Vec<String> {
    let mut out = Vec::new();
    page(l, &mut out);
    for (i, t) in l.texts.iter().enumerate() {
        let r = t.rect();
        for u in &l.texts[i + 1..] {
            if r.intersects(&u.rect()) {
                out.push(format!("text `{}` overlaps text `{}`", t.text, u.text));
            }
        }
        for e in &l.edges {
            if e.segments().any(|(a, b)| r.inflate(1.0).hit_by(a, b)) {
                out.push(format!(
                    "text `{}` is crossed by edge {} -> {}",
                    t.text, e.from, e.to
                ));
            }
        }
        for b in &l.boxes {
            let own = t.owner.as_deref() == Some(&b.id);
            if own && !b.rect.contains(&r) {
                out.push(format!("text `{}` sticks out of its box {}", t.text, b.id));
            } else if !own && b.rect.intersects(&r) && !b.rect.contains(&r) {
                out.push(format!("text `{}` crosses the border of {}", t.text, b.id));
            } else if !own && b.class == BoxClass::Part && b.rect.intersects(&r) {
                out.push(format!("text `{}` is inside part {}", t.text, b.id));
            }
        }
    }
    edges_through_parts(l, &mut out);
    zone_membership(l, &mut out);
    out
}

/// The page rule: A4's proportions, no text printed under [`MIN_PT`], no
/// text off the page.
pub(super) fn page(l: &Layout, out: &mut Vec<String>) {
    let aspect = l.width / l.height;
    if (aspect / std::f64::consts::SQRT_2 - 1.0).abs() > 0.02 {
        out.push(format!("aspect {aspect:.3} is not A4's (1.414)"));
    }
    let scale = (PRINT_W_PT / l.width).min(PRINT_H_PT / l.height);
    for t in &l.texts {
        if t.font.size * scale < MIN_PT - 1e-9 {
            out.push(format!(
                "text `{}` prints at {:.1} pt (under {MIN_PT} pt)",
                t.text,
                t.font.size * scale
            ));
        }
        let r = t.rect();
        if r.x < 0.0 || r.y < 0.0 || r.right() > l.width || r.bottom() > l.height {
            out.push(format!("text `{}` is off the page", t.text));
        }
    }
}

fn edges_through_parts(l: &Layout, out: &mut Vec<String>) {
    for e in &l.edges {
        for b in l.boxes.iter().filter(|b| b.class == BoxClass::Part) {
            let inner = b.rect.inflate(-1.5);
            if e.segments().any(|(p, q)| inner.hit_by(p, q)) {
                out.push(format!(
                    "edge {} -> {} runs through part {}",
                    e.from, e.to, b.id
                ));
            }
        }
    }
}

/// Every server inside the zone of each network it is on, and outside the
/// others.
fn zone_membership(l: &Layout, out: &mut Vec<String>) {
    for z in l.boxes.iter().filter(|b| b.class == BoxClass::Zone) {
        for s in l.boxes.iter().filter(|b| b.class == BoxClass::Server) {
            let member = s.networks.contains(&z.networks[0]);
            let inside = z.rect.contains(&s.rect);
            if member != inside {
                out.push(format!(
                    "server {} is {} zone {}",
                    s.id,
                    if inside { "inside" } else { "outside" },
                    z.id
                ));
            }
            if !inside && z.rect.intersects(&s.rect) {
                out.push(format!(
                    "server {} crosses the border of zone {}",
                    s.id, z.id
                ));
            }
        }
    }
}
