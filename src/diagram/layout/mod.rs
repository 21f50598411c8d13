//! Where everything goes. A column per tier of the request path (the user
//! and DNS, load balancers, web, application, database), a row per server in
//! its columns: a server running nginx, the application and MySQL spans
//! three columns, its parts side by side, so the request path inside it is
//! drawn like the one between servers. Edges between two columns run along
//! one vertical bus in the gap between them; each gap is as wide as its
//! labels need, and each label is put where it crosses no edge and no box.
//! Networks are zones over the columns of their servers. The page is sized
//! to A4 landscape: see [`PAGE_RULE`](crate::diagram::PAGE_RULE).
//!
//! In the order it is done: `place` puts each server in a cell, `columns`
//! sizes the columns and the gaps between them (`measure` says how big a
//! part, a header or a block is), `rows` sizes and stacks the rows; then
//! `boxes` draws the servers, their parts and the groups' frames, `zones`
//! the networks, routing (`diagram::route`) the edges, and `page` the
//! title, the legend and the page around them.

mod boxes;
mod columns;
mod measure;
mod page;
mod place;
mod rows;
mod zones;

use self::boxes::{groups, servers};
use self::columns::{column_widths, gap_widths, side_room};
use self::page::{legend, title, to_page};
use self::place::place;
use self::rows::rows;
use self::zones::zones;
use super::check;
use super::draw::Layout;
use super::geometry::{zone_pad, FRAME_PAD, MARGIN, ZONE_BAND};
use super::grid::Grid;
use super::route::route;
use super::Model;

/// Column widths to try, widest first: (most a column grows for its
/// blocks' lines, least width).
const FITS: [(f64, f64); 4] = [
    (160.0, 130.0),
    (148.0, 124.0),
    (136.0, 118.0),
    (124.0, 112.0),
];

/// Lays the model out: with the widest columns that keep to the page rule
/// (narrower columns wrap more lines), or the narrowest if none does.
///
/// Zones share their top edge, their names side by side; where the page has
/// height to spare (it is as wide as the drawing needs), each zone starts a
/// line lower than the one before, so every name has room to be whole.
pub fn layout(m: &Model) -> Layout {
    let fits_page = |l: &Layout| {
        let mut p = Vec::new();
        check::page(l, &mut p);
        p.is_empty()
    };
    let mut last = Layout::default();
    for (max_col, min_col) in FITS {
        last = layout_with(m, max_col, min_col, false);
        if fits_page(&last) {
            let staggered = layout_with(m, max_col, min_col, true);
            if fits_page(&staggered)
                && (staggered.width, staggered.height) == (last.width, last.height)
            {
                return staggered;
            }
            break;
        }
    }
    last
}

/// One layout with columns at most `max_col` wide for their blocks and at
/// least `min_col`; zones staggered or not.
fn layout_with(m: &Model, max_col: f64, min_col: f64, stagger: bool) -> Layout {
    let mut g = place(m);
    g.max_col = max_col;
    g.min_col = min_col;
    g.stagger = stagger;
    g.side = side_room(m, &g);
    let widths = column_widths(m, &g);
    let gaps = gap_widths(m, &g);
    let left = MARGIN + zone_margin(&g, true) + frame_margin(m, &g, 0, true);
    let mut x = left;
    for (i, w) in widths.iter().enumerate() {
        g.cols.push((x, *w));
        x += w + gaps.get(i).copied().unwrap_or(0.0);
    }
    let last = g.tiers.len() - 1;
    let content_right =
        x + g.side[last] + zone_margin(&g, false) + frame_margin(m, &g, last, false) + MARGIN;
    let mut l = Layout::default();
    let title_bottom = title(&mut l, m, content_right);
    let zones_top = title_bottom + 10.0;
    let bands = if stagger { m.zones.len().max(1) } else { 1 };
    let rows_top = zones_top + bands as f64 * ZONE_BAND + 4.0;
    rows(m, &mut g, rows_top);
    servers(&mut l, m, &g);
    groups(&mut l, m);
    let bottom = zones(&mut l, m, &g, zones_top);
    route(&mut l, m, &g);
    let legend_bottom = legend(&mut l, m, bottom + 18.0, content_right);
    l.width = content_right;
    l.height = legend_bottom + MARGIN;
    to_page(&mut l);
    l
}

/// Room outside the first (`left`) or last column for the zones' borders.
fn zone_margin(g: &Grid, left: bool) -> f64 {
    let edge = if left { 0 } else { g.tiers.len() - 1 };
    g.zone_cols
        .iter()
        .enumerate()
        .filter(|(_, (a, b))| if left { *a == edge } else { *b == edge })
        .map(|(k, _)| zone_pad(k, g.zone_cols.len()))
        .fold(0.0, f64::max)
}

/// Room outside a column for a group's frame, on its left or right.
fn frame_margin(m: &Model, g: &Grid, col: usize, left: bool) -> f64 {
    let any = m.groups.iter().any(|grp| {
        g.cells.iter().any(|c| {
            grp.members.contains(&m.servers[c.server].id)
                && if left { c.a == col } else { c.b == col }
        })
    });
    if any {
        FRAME_PAD
    } else {
        0.0
    }
}
