//! The grid a drawing is laid out on: a column per tier of the request
//! path, a row per server, and where each server's cell is. Layout fills it
//! in; routing reads it to know which column a part is in and how much room
//! each gap between columns keeps for frames and zone borders.

use super::geometry::{zone_pad, FRAME_PAD};
use super::{Edge, Model, Tier};

/// Where each server goes.
#[derive(Debug, Clone)]
pub(super) struct Cell {
    pub(super) server: usize,
    pub(super) row: usize,
    /// First and last column.
    pub(super) a: usize,
    pub(super) b: usize,
    /// A cluster's node, stacked in its column: its own top, height and
    /// header and parts bands, rather than its row's.
    pub(super) own: Option<Own>,
}

/// The box of a server laid out apart from its row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Own {
    pub(super) y: f64,
    pub(super) h: f64,
    pub(super) header: f64,
    pub(super) part: f64,
}

/// Columns, rows and cells, with their sizes once laid out.
#[derive(Debug, Clone, Default)]
pub(super) struct Grid {
    pub(super) tiers: Vec<Tier>,
    pub(super) cells: Vec<Cell>,
    pub(super) rows: usize,
    /// Left edge and width of each column.
    pub(super) cols: Vec<(f64, f64)>,
    /// Top of each row and its height.
    pub(super) row_y: Vec<(f64, f64)>,
    /// Per row: height of the header band and of the parts band.
    pub(super) header_h: Vec<f64>,
    pub(super) part_h: Vec<f64>,
    /// Column ranges of each zone.
    pub(super) zone_cols: Vec<(usize, usize)>,
    /// Room right of each column for lines that go round boxes (a replica
    /// two rows under its primary), with their labels.
    pub(super) side: Vec<f64>,
    /// How wide a column may grow for its blocks, and its least width.
    pub(super) max_col: f64,
    pub(super) min_col: f64,
    /// Zones start one under the other, each name on a line of its own.
    pub(super) stagger: bool,
}

/// The tier a part's column stands for; none for monitoring, drawn under
/// the others.
pub(super) fn column_tier(t: Tier) -> Option<Tier> {
    match t {
        Tier::Monitoring => None,
        other => Some(other),
    }
}

/// Reserved room at a gap's left and right: frames and zone borders.
pub(super) fn gap_reserve(m: &Model, g: &Grid, col: usize, left_side: bool) -> f64 {
    let mut r: f64 = 4.0 + if left_side { g.side[col] } else { 0.0 };
    let group_here = m.groups.iter().any(|grp| {
        g.cells.iter().any(|c| {
            grp.members.contains(&m.servers[c.server].id)
                && if left_side { c.b == col } else { c.a == col }
        })
    });
    if group_here {
        r += FRAME_PAD;
    }
    let zone = g
        .zone_cols
        .iter()
        .enumerate()
        .filter(|(_, (a, b))| if left_side { *b == col } else { *a == col })
        .map(|(k, _)| zone_pad(k, g.zone_cols.len()))
        .fold(0.0, f64::max);
    r + zone
}

/// The column a part (or group) is drawn in.
pub(super) fn column_of(m: &Model, g: &Grid, id: &str) -> Option<usize> {
    if let Some(grp) = m.groups.iter().find(|grp| grp.id == id) {
        return g
            .cells
            .iter()
            .find(|c| grp.members.contains(&m.servers[c.server].id))
            .map(|c| c.a);
    }
    let (si, s) = m
        .servers
        .iter()
        .enumerate()
        .find(|(_, s)| s.parts.iter().any(|p| p.id == id))?;
    let p = s.parts.iter().find(|p| p.id == id)?;
    let cell = g.cells.iter().find(|c| c.server == si)?;
    Some(
        column_tier(p.tier)
            .and_then(|t| g.tiers.iter().position(|x| *x == t))
            .unwrap_or(cell.a),
    )
}

/// Whether a DNS, replication or VRRP line goes round the boxes (its ends
/// are not in consecutive rows of the same columns) rather than straight
/// down.
pub(super) fn goes_round(m: &Model, g: &Grid, e: &Edge) -> bool {
    let cell = |id: &str| {
        let s = m.server_of(id)?;
        g.cells.iter().find(|c| m.servers[c.server].id == s.id)
    };
    match (cell(&e.from), cell(&e.to)) {
        (Some(a), Some(b)) => b.row != a.row + 1 || b.a > a.b || a.a > b.b,
        _ => false,
    }
}
