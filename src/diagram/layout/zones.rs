//! The networks, as zones round their servers: each zone over its
//! servers' columns, nested where two cover the same servers, and its name
//! where it crosses no other zone.

use crate::diagram::draw::{Anchor, BoxClass, DrawBox, DrawText, Ink, Layout, Rect};
use crate::diagram::geometry::{zone_pad, ZONE, ZONE_BAND};
use crate::diagram::grid::Grid;
use crate::diagram::text::ASCENT;
use crate::diagram::{BoxKind, Model, Zone};

/// Zones over their servers' columns; returns the bottom of the lowest.
pub(super) fn zones(l: &mut Layout, m: &Model, g: &Grid, top: f64) -> f64 {
    let content_bottom = l.boxes.iter().map(|b| b.rect.bottom()).fold(top, f64::max);
    let n = m.zones.len();
    let mut bottom = content_bottom;
    for (k, z) in m.zones.iter().enumerate() {
        let members: Vec<Rect> =
            l.boxes
                .iter()
                .filter(|b| match b.class {
                    BoxClass::Server => z.members.contains(&b.id),
                    BoxClass::Group => m.groups.iter().any(|grp| {
                        grp.id == b.id && grp.members.iter().all(|s| z.members.contains(s))
                    }),
                    _ => false,
                })
                .map(|b| b.rect)
                .collect();
        let pad = zone_pad(k, n);
        let side = g
            .cells
            .iter()
            .filter(|c| z.members.contains(&m.servers[c.server].id))
            .map(|c| (c.b, g.side[c.b]))
            .max_by(|x, y| x.0.cmp(&y.0))
            .map(|x| x.1)
            .unwrap_or(0.0);
        let x0 = members.iter().map(|r| r.x).fold(f64::MAX, f64::min) - pad;
        let x1 = members.iter().map(|r| r.right()).fold(0.0, f64::max) + pad + side;
        let y1 = content_bottom + pad;
        bottom = bottom.max(y1);
        let y0 = top + if g.stagger { k as f64 * ZONE_BAND } else { 0.0 };
        l.boxes.push(DrawBox {
            id: format!("zone-{}", z.network),
            class: BoxClass::Zone,
            rect: Rect {
                x: x0,
                y: y0,
                w: x1 - x0,
                h: y1 - y0,
            },
            flag: z.public,
            kind: BoxKind::Site,
            networks: vec![z.network.clone()],
        });
    }
    for (k, z) in m.zones.iter().enumerate() {
        zone_label(l, z, k);
    }
    bottom
}

/// A zone's name at its top left, or its top right, in full or shorter:
/// the first of these that crosses no other zone's border or name.
fn zone_label(l: &mut Layout, z: &Zone, k: usize) {
    let id = format!("zone-{}", z.network);
    let Some(r) = l.rect_of(&id) else {
        return;
    };
    let y = r.y + 6.0 + ZONE.size * ASCENT;
    let texts: Vec<&String> = std::iter::once(&z.label).chain(&z.short).collect();
    // The first zone's name reads best at the left, the others' at the
    // right, away from it.
    let mut sides = [(r.x + 8.0, Anchor::Start), (r.right() - 8.0, Anchor::End)];
    if k > 0 {
        sides.reverse();
    }
    let candidates: Vec<DrawText> = texts
        .iter()
        .flat_map(|t| sides.iter().map(move |(x, anchor)| (t, *x, *anchor)))
        .map(|(t, x, anchor)| DrawText {
            x,
            y,
            text: t.to_string(),
            font: ZONE,
            anchor,
            ink: Ink::Zone,
            owner: Some(id.clone()),
        })
        .collect();
    let clear = |t: &DrawText| {
        let tr = t.rect();
        r.contains(&tr)
            && l.boxes
                .iter()
                .filter(|b| b.class == BoxClass::Zone && b.id != id)
                .all(|b| !b.rect.intersects(&tr) || b.rect.contains(&tr))
            && !l.texts.iter().any(|o| o.rect().intersects(&tr))
    };
    let chosen = candidates
        .iter()
        .find(|t| clear(t))
        .unwrap_or(&candidates[0])
        .clone();
    l.texts.push(chosen);
}
