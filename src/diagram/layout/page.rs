//! Around the drawing: its title, the legend of what its colours and lines
//! mean, and the padding that gives it A4's proportions.

use crate::diagram::draw::{Ink, Layout};
use crate::diagram::geometry::{BODY, MARGIN, TITLE};
use crate::diagram::text::{wrap, ASCENT, DESCENT};
use crate::diagram::{BlockKind, EdgeKind, Model};

/// The title, wrapped; returns its bottom.
pub(super) fn title(l: &mut Layout, m: &Model, right: f64) -> f64 {
    let mut y = MARGIN + TITLE.size * ASCENT;
    let lines = wrap(&m.title, TITLE, right - 2.0 * MARGIN);
    for line in &lines {
        l.text(MARGIN, y, line.trim_start(), TITLE, Ink::Title, None);
        y += TITLE.line();
    }
    y - TITLE.line() + TITLE.size * DESCENT
}

/// What the colours and lines mean, for what the drawing has.
pub(super) fn legend(l: &mut Layout, m: &Model, top: f64, right: f64) -> f64 {
    let has = |k: EdgeKind| m.edges.iter().any(|e| e.kind == k);
    let block = |k: BlockKind| {
        m.servers
            .iter()
            .any(|s| s.blocks.iter().any(|b| b.kind == k))
    };
    let mut items: Vec<(&str, Ink)> = vec![("→ request, protocol :port", Ink::Body)];
    if has(EdgeKind::Dns) {
        items.push(("blue dashed: DNS query", Ink::Dns));
    }
    if m.servers.iter().any(|s| s.parts.iter().any(|p| p.tls_ends)) {
        items.push(("green border: TLS ends here", Ink::Tls));
    }
    if has(EdgeKind::Replication) {
        items.push(("green dashed: replication", Ink::Replication));
    }
    if has(EdgeKind::Vrrp) {
        items.push(("purple: virtual IP, VRRP", Ink::Vrrp));
    }
    if block(BlockKind::Firewall) {
        items.push(("red dashed border: firewall (ufw)", Ink::Firewall));
    }
    if block(BlockKind::Monitoring) {
        items.push(("amber: monitoring", Ink::Monitoring));
    }
    let mut x = MARGIN;
    let mut y = top + BODY.size * ASCENT;
    for (text, ink) in items {
        let w = BODY.width(text);
        if x > MARGIN && x + w > right - MARGIN {
            x = MARGIN;
            y += BODY.line();
        }
        l.text(x, y, text, BODY, ink, None);
        x += w + 18.0;
    }
    y + BODY.size * DESCENT
}

/// Pads the drawing to A4's proportions, centred.
pub(super) fn to_page(l: &mut Layout) {
    let ratio = std::f64::consts::SQRT_2;
    let (w, h) = (l.width, l.height);
    let (nw, nh) = if w / h > ratio {
        (w, w / ratio)
    } else {
        (h * ratio, h)
    };
    let (dx, dy) = (((nw - w) / 2.0).floor(), ((nh - h) / 2.0).floor());
    for b in &mut l.boxes {
        b.rect.x += dx;
        b.rect.y += dy;
    }
    for t in &mut l.texts {
        t.x += dx;
        t.y += dy;
    }
    for e in &mut l.edges {
        for p in &mut e.points {
            p.0 += dx;
            p.1 += dy;
        }
    }
    l.width = nw.ceil();
    l.height = nh.ceil();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagram::fixture::{edge, model};

    #[test]
    fn the_page_gets_a4s_proportions_with_the_drawing_centred() {
        let mut l = Layout {
            width: 100.0,
            height: 100.0,
            ..Layout::default()
        };
        l.text(10.0, 20.0, "x", BODY, Ink::Body, None);
        to_page(&mut l);
        // 100 × √2 = 141.42: 20 added left, the rest right.
        assert_eq!((l.width, l.height), (142.0, 100.0));
        assert_eq!((l.texts[0].x, l.texts[0].y), (30.0, 20.0));
        let mut wide = Layout {
            width: 300.0,
            height: 100.0,
            ..Layout::default()
        };
        to_page(&mut wide);
        assert_eq!((wide.width, wide.height), (300.0, 213.0));
    }

    #[test]
    fn the_legend_explains_only_what_the_drawing_has() {
        let texts = |m: &Model| {
            let mut l = Layout::default();
            legend(&mut l, m, 0.0, 1000.0);
            l.texts.into_iter().map(|t| t.text).collect::<Vec<_>>()
        };
        let mut m = model(vec![], vec![]);
        assert_eq!(texts(&m), ["→ request, protocol :port"]);
        m.edges = vec![edge("a", "b", EdgeKind::Vrrp, &[])];
        assert_eq!(
            texts(&m),
            ["→ request, protocol :port", "purple: virtual IP, VRRP"]
        );
    }

    #[test]
    fn a_long_title_wraps_and_its_bottom_is_under_the_last_line() {
        let mut m = model(vec![], vec![]);
        m.title = "task3: two load balancers sharing a virtual IP in front".into();
        let mut l = Layout::default();
        let bottom = title(&mut l, &m, 300.0);
        assert!(l.texts.len() > 1);
        let last = l.texts.last().unwrap();
        assert_eq!(bottom, last.y + TITLE.size * DESCENT);
        assert!(l
            .texts
            .iter()
            .all(|t| TITLE.width(&t.text) <= 300.0 - 2.0 * MARGIN));
    }
}
