//! The boxes: each server with its header, its parts side by side and its
//! blocks of text under them, and the frames of the groups around their
//! servers.

use super::measure::{block_cells, block_text, box_height, header_lines};
use super::rows::group_band;
use crate::diagram::draw::{BoxClass, DrawBox, Ink, Layout, Rect};
use crate::diagram::geometry::{
    BODY, BOLD_BODY, FRAME_PAD, INSET, PART, PART_PAD, SERVER, TEXT_PAD,
};
use crate::diagram::grid::{column_tier, Cell, Grid};
use crate::diagram::text::ASCENT;
use crate::diagram::{BoxKind, Model, Part};

/// The rectangle of a server's box.
fn server_rect(m: &Model, g: &Grid, c: &Cell) -> Rect {
    let (x, _) = g.cols[c.a];
    let (bx, bw) = g.cols[c.b];
    let (y, row_h) = g.row_y[c.row];
    let (y, h) = match (c.own, m.servers[c.server].kind) {
        (Some(own), _) => (own.y, own.h),
        (None, BoxKind::Site) => (y, row_h),
        (None, _) => (y, box_height(m, g, c)),
    };
    Rect {
        x,
        y,
        w: bx + bw - x,
        h,
    }
}

/// Each server's box, header, parts and blocks.
pub(super) fn servers(l: &mut Layout, m: &Model, g: &Grid) {
    for c in &g.cells {
        let s = &m.servers[c.server];
        let r = server_rect(m, g, c);
        l.boxes.push(DrawBox {
            id: s.id.clone(),
            class: BoxClass::Server,
            rect: r,
            flag: s.firewall,
            kind: s.kind,
            networks: s.networks.clone(),
        });
        let mut y = r.y + INSET + SERVER.size * ASCENT;
        for (i, (text, font)) in header_lines(s).into_iter().enumerate() {
            let ink = if i == 0 { Ink::Title } else { Ink::Muted };
            l.text(r.x + INSET, y, &text, font, ink, Some(&s.id));
            y += BODY.line();
        }
        let (header_h, part_h) = match c.own {
            Some(own) => (own.header, own.part),
            None => (g.header_h[c.row], g.part_h[c.row]),
        };
        let parts_top = r.y + INSET + header_h + 4.0;
        for p in &s.parts {
            part(l, g, c, p, parts_top, part_h);
        }
        blocks(l, m, g, c, parts_top + part_h + 8.0);
    }
}

/// A part's box and text, in its column of the server.
fn part(l: &mut Layout, g: &Grid, c: &Cell, p: &Part, top: f64, h: f64) {
    let col = column_tier(p.tier)
        .and_then(|t| g.tiers.iter().position(|x| *x == t))
        .unwrap_or(c.a);
    let (x, w) = g.cols[col];
    let r = Rect {
        x: x + INSET,
        y: top,
        w: w - 2.0 * INSET,
        h,
    };
    l.boxes.push(DrawBox {
        id: p.id.clone(),
        class: BoxClass::Part,
        rect: r,
        flag: p.tls_ends,
        kind: BoxKind::Site,
        networks: vec![],
    });
    let mut y = r.y + PART_PAD + PART.size * ASCENT;
    let x = r.x + TEXT_PAD;
    l.text(x, y, &p.title, PART, Ink::Title, Some(&p.id));
    for line in &p.lines {
        y += BODY.line();
        l.text(x, y, line, BODY, Ink::Body, Some(&p.id));
    }
    if p.tls_ends {
        y += BODY.line();
        l.text(x, y, "TLS ends here", BOLD_BODY, Ink::Tls, Some(&p.id));
    }
}

/// A server's blocks of text, under its parts.
fn blocks(l: &mut Layout, m: &Model, g: &Grid, c: &Cell, top: f64) {
    let s = &m.servers[c.server];
    for (col, idx) in block_cells(c, s) {
        let (x, w) = g.cols[col];
        let mut y = top + BODY.size * ASCENT;
        for i in idx {
            for (text, font, ink) in block_text(&s.blocks[i], w - 2.0 * INSET) {
                l.text(x + INSET, y, &text, font, ink, Some(&s.id));
                y += BODY.line();
            }
        }
    }
}

/// The frame of each group round its servers, with its title and lines.
pub(super) fn groups(l: &mut Layout, m: &Model) {
    let band = group_band(m);
    for grp in &m.groups {
        let members: Vec<Rect> = grp.members.iter().filter_map(|id| l.rect_of(id)).collect();
        let Some(first) = members.first() else {
            continue;
        };
        let x0 = members.iter().map(|r| r.x).fold(first.x, f64::min) - FRAME_PAD;
        let x1 = members.iter().map(|r| r.right()).fold(0.0, f64::max) + FRAME_PAD;
        let y0 = members.iter().map(|r| r.y).fold(first.y, f64::min) - band;
        let y1 = members.iter().map(|r| r.bottom()).fold(0.0, f64::max) + FRAME_PAD;
        let r = Rect {
            x: x0,
            y: y0,
            w: x1 - x0,
            h: y1 - y0,
        };
        l.boxes.push(DrawBox {
            id: grp.id.clone(),
            class: BoxClass::Group,
            rect: r,
            flag: grp.cluster,
            kind: BoxKind::Site,
            networks: vec![],
        });
        let ink = if grp.cluster {
            Ink::Replication
        } else {
            Ink::Vrrp
        };
        let mut y = r.y + FRAME_PAD + PART.size * ASCENT;
        l.text(r.x + 8.0, y, &grp.title, PART, ink, Some(&grp.id));
        y += PART.line() - BODY.line();
        for line in &grp.lines {
            y += BODY.line();
            l.text(r.x + 8.0, y, line, BODY, ink, Some(&grp.id));
        }
    }
}
