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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagram::fixture::{cell, edge, group, model, site};
    use crate::diagram::EdgeKind;

    /// A load balancer in column 0, two web servers under each other in
    /// column 1.
    fn lb_and_two_webs() -> (Model, Grid) {
        let m = model(
            vec![
                site("lb", &[("haproxy", Tier::Entry)]),
                site("web-01", &[("nginx", Tier::Web)]),
                site("web-02", &[("nginx", Tier::Web)]),
            ],
            vec![],
        );
        let g = Grid {
            tiers: vec![Tier::Entry, Tier::Web],
            cells: vec![cell(0, 0, 0), cell(1, 0, 1), cell(2, 1, 1)],
            rows: 2,
            side: vec![10.0, 0.0],
            ..Grid::default()
        };
        (m, g)
    }

    #[test]
    fn a_part_is_in_its_tiers_column_a_group_in_its_first_members() {
        let (mut m, g) = lb_and_two_webs();
        assert_eq!(column_of(&m, &g, "lb/haproxy"), Some(0));
        assert_eq!(column_of(&m, &g, "web-02/nginx"), Some(1));
        assert_eq!(column_of(&m, &g, "web-02"), None);
        m.groups = vec![group("vip", &["web-01", "web-02"], false)];
        assert_eq!(column_of(&m, &g, "vip"), Some(1));
    }

    #[test]
    fn a_line_goes_round_unless_it_joins_consecutive_rows_of_one_column() {
        let (m, g) = lb_and_two_webs();
        let round = |from: &str, to: &str| goes_round(&m, &g, &edge(from, to, EdgeKind::Vrrp, &[]));
        assert!(!round("web-01", "web-02/nginx"));
        assert!(round("web-02", "web-01"));
        assert!(round("lb", "web-02"));
        assert!(!round("nowhere", "web-02"));
    }

    #[test]
    fn a_gap_keeps_room_for_side_lines_frames_and_zone_borders() {
        let (mut m, mut g) = lb_and_two_webs();
        assert_eq!(gap_reserve(&m, &g, 0, true), 4.0 + 10.0);
        assert_eq!(gap_reserve(&m, &g, 1, false), 4.0);
        m.groups = vec![group("vip", &["web-01", "web-02"], false)];
        assert_eq!(gap_reserve(&m, &g, 1, false), 4.0 + FRAME_PAD);
        // Two zones ending left of the gap: the outer one's border counts.
        g.zone_cols = vec![(0, 0), (0, 1)];
        assert_eq!(gap_reserve(&m, &g, 0, true), 4.0 + 10.0 + zone_pad(0, 2));
        assert_eq!(gap_reserve(&m, &g, 1, false), 4.0 + FRAME_PAD);
    }
}
