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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagram::draw::{Anchor, DrawBox, DrawEdge, DrawText, Ink, Rect};
    use crate::diagram::text::Font;
    use crate::diagram::{BoxKind, EdgeKind};

    fn page_of(width: f64, height: f64) -> Layout {
        Layout {
            width,
            height,
            ..Layout::default()
        }
    }

    fn text(x: f64, y: f64, size: f64) -> DrawText {
        DrawText {
            x,
            y,
            text: "t".into(),
            font: Font::regular(size),
            anchor: Anchor::Start,
            ink: Ink::Body,
            owner: None,
        }
    }

    fn boxed(id: &str, class: BoxClass, rect: Rect, networks: &[&str]) -> DrawBox {
        DrawBox {
            id: id.into(),
            class,
            rect,
            flag: false,
            kind: BoxKind::Site,
            networks: networks.iter().map(|n| n.to_string()).collect(),
        }
    }

    fn page_problems(l: &Layout) -> Vec<String> {
        let mut out = Vec::new();
        page(l, &mut out);
        out
    }

    #[test]
    fn the_page_must_have_a4s_proportions() {
        assert!(page_problems(&page_of(1414.0, 1000.0)).is_empty());
        assert_eq!(
            page_problems(&page_of(100.0, 100.0)),
            ["aspect 1.000 is not A4's (1.414)"]
        );
    }

    #[test]
    fn text_printed_under_7_pt_or_off_the_page_is_a_problem() {
        // 1414 wide: scaled by 538.58 / 1000 into the printable height.
        let mut l = page_of(1414.0, 1000.0);
        l.texts = vec![text(10.0, 30.0, 13.0), text(10.0, 60.0, 11.0)];
        assert_eq!(
            page_problems(&l),
            ["text `t` prints at 5.9 pt (under 7 pt)"]
        );
        let mut l = page_of(283.0, 200.0);
        l.texts = vec![text(-1.0, 30.0, 11.0), text(10.0, 30.0, 11.0)];
        assert_eq!(page_problems(&l), ["text `t` is off the page"]);
    }

    #[test]
    fn an_edge_through_a_part_is_a_problem_one_along_its_border_is_not() {
        let mut l = page_of(283.0, 200.0);
        let part = Rect {
            x: 10.0,
            y: 10.0,
            w: 50.0,
            h: 20.0,
        };
        l.boxes = vec![boxed("s/p", BoxClass::Part, part, &[])];
        let line = |y: f64| DrawEdge {
            from: "a".into(),
            to: "b".into(),
            kind: EdgeKind::Request,
            points: vec![(0.0, y), (100.0, y)],
            arrow: true,
        };
        l.edges = vec![line(10.0), line(30.0)];
        assert!(problems(&l).is_empty(), "{:?}", problems(&l));
        l.edges.push(line(20.0));
        assert_eq!(problems(&l), ["edge a -> b runs through part s/p"]);
    }

    #[test]
    fn a_server_is_inside_the_zones_of_its_networks_only() {
        let mut l = page_of(283.0, 200.0);
        let r = |x: f64, w: f64| Rect {
            x,
            y: 10.0,
            w,
            h: 100.0,
        };
        l.boxes = vec![
            boxed("zone-private", BoxClass::Zone, r(0.0, 100.0), &["private"]),
            boxed("a", BoxClass::Server, r(10.0, 20.0), &["private"]),
            boxed("b", BoxClass::Server, r(150.0, 20.0), &["public"]),
        ];
        assert!(problems(&l).is_empty(), "{:?}", problems(&l));
        l.boxes[2].networks = vec!["private".into()];
        l.boxes[1].networks = vec!["public".into()];
        assert_eq!(
            problems(&l),
            [
                "server a is inside zone zone-private",
                "server b is outside zone zone-private"
            ]
        );
        l.boxes[2].rect.x = 90.0;
        assert!(problems(&l).contains(&"server b crosses the border of zone zone-private".into()));
    }

    #[test]
    fn text_over_text_or_across_a_border_is_a_problem() {
        let mut l = page_of(283.0, 200.0);
        l.texts = vec![text(10.0, 30.0, 11.0), text(12.0, 31.0, 11.0)];
        assert_eq!(problems(&l), ["text `t` overlaps text `t`"]);
        l.texts.pop();
        let across = Rect {
            x: 12.0,
            y: 0.0,
            w: 50.0,
            h: 50.0,
        };
        l.boxes = vec![boxed("s", BoxClass::Server, across, &[])];
        assert_eq!(problems(&l), ["text `t` crosses the border of s"]);
        l.texts[0].owner = Some("s".into());
        assert_eq!(problems(&l), ["text `t` sticks out of its box s"]);
    }
}
