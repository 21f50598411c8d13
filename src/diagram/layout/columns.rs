//! How wide each column is (its parts, headers and blocks), and each gap
//! between two columns (its buses, its widest label, the frames and zone
//! borders on either side), and the room right of a column for the lines
//! that go round boxes.

use super::measure::{block_cells, block_text, header_lines, part_width};
use crate::diagram::geometry::{
    BODY, BUS_OFF, BUS_STEP, FRAME_PAD, INSET, LABEL, LABEL_GAP, PART, SIDE_OFF,
};
use crate::diagram::grid::{column_of, column_tier, gap_reserve, goes_round, Grid};
use crate::diagram::route::bus_count;
use crate::diagram::{EdgeKind, Model};

/// Column widths: wide enough for their parts, headers and blocks.
pub(super) fn column_widths(m: &Model, g: &Grid) -> Vec<f64> {
    let n = g.tiers.len();
    let mut fixed = vec![g.min_col; n];
    let mut blocks = vec![0.0f64; n];
    for c in &g.cells {
        let s = &m.servers[c.server];
        for p in &s.parts {
            let col = column_tier(p.tier)
                .and_then(|t| g.tiers.iter().position(|x| *x == t))
                .unwrap_or(c.a);
            fixed[col] = fixed[col].max(part_width(p) + 2.0 * INSET);
        }
        for (text, font) in header_lines(s) {
            fixed[c.a] = fixed[c.a].max(font.width(&text) + 2.0 * INSET);
        }
        for (col, idx) in block_cells(c, s) {
            for i in idx {
                for (t, f, _) in block_text(&s.blocks[i], f64::MAX) {
                    blocks[col] = blocks[col].max(f.width(&t) + 2.0 * INSET);
                }
            }
        }
    }
    for grp in &m.groups {
        let col = g
            .cells
            .iter()
            .find(|c| grp.members.contains(&m.servers[c.server].id))
            .map(|c| c.a)
            .unwrap_or(0);
        let widths = grp.lines.iter().map(|l| BODY.width(l));
        for w in widths.chain([PART.width(&grp.title)]) {
            fixed[col] = fixed[col].max(w + 16.0 - 2.0 * FRAME_PAD);
        }
    }
    (0..n)
        .map(|i| fixed[i].max(blocks[i].min(g.max_col)).ceil())
        .collect()
}

/// The widest label of the request edges entering column `col + 1`.
fn gap_label_width(m: &Model, g: &Grid, col: usize) -> f64 {
    m.edges
        .iter()
        .filter(|e| e.kind == EdgeKind::Request)
        .filter(|e| column_of(m, g, &e.to) == Some(col + 1))
        .flat_map(|e| e.label.iter())
        .map(|l| LABEL.width(l))
        .fold(0.0, f64::max)
}

/// Width of each gap between two columns.
pub(super) fn gap_widths(m: &Model, g: &Grid) -> Vec<f64> {
    (0..g.tiers.len().saturating_sub(1))
        .map(|col| {
            let label = gap_label_width(m, g, col);
            let buses = bus_count(m, g, col) as f64;
            (gap_reserve(m, g, col, true)
                + BUS_OFF
                + (buses - 1.0).max(0.0) * BUS_STEP
                + 5.0
                + label
                + 5.0
                + gap_reserve(m, g, col + 1, false))
            .max(40.0)
            .ceil()
        })
        .collect()
}

/// Room right of each column for the lines that go round boxes, and their labels.
pub(super) fn side_room(m: &Model, g: &Grid) -> Vec<f64> {
    let mut side = vec![0.0; g.tiers.len()];
    for e in m.edges.iter().filter(|e| {
        matches!(
            e.kind,
            EdgeKind::Dns | EdgeKind::Replication | EdgeKind::Vrrp
        )
    }) {
        if !goes_round(m, g, e) {
            continue;
        }
        let col = [&e.from, &e.to]
            .iter()
            .filter_map(|id| m.server_of(id))
            .filter_map(|s| g.cells.iter().find(|c| m.servers[c.server].id == s.id))
            .map(|c| c.b)
            .max()
            .unwrap_or(0);
        let label = e.label.iter().map(|l| LABEL.width(l)).fold(0.0, f64::max);
        side[col] = f64::max(side[col], SIDE_OFF + LABEL_GAP + 2.0 + label + 6.0);
    }
    side
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagram::fixture::{edge, model, site};
    use crate::diagram::layout::place::place;
    use crate::diagram::{Block, BlockKind, Tier};

    fn lb_to_web(label: &str) -> Model {
        model(
            vec![
                site("lb", &[("haproxy", Tier::Entry)]),
                site("web", &[("nginx", Tier::Web)]),
            ],
            vec![edge("lb/haproxy", "web/nginx", EdgeKind::Request, &[label])],
        )
    }

    #[test]
    fn a_gap_is_as_wide_as_its_bus_and_widest_label_needs_at_least_40() {
        let m = lb_to_web("HTTP :80");
        let mut g = place(&m);
        g.side = side_room(&m, &g);
        // 4 + 6 + 5 + 49.544 + 5 + 4, rounded up.
        assert_eq!(gap_widths(&m, &g), [74.0]);
        let m = lb_to_web("x");
        assert_eq!(gap_widths(&m, &g), [40.0]);
    }

    #[test]
    fn a_column_is_at_least_its_least_width_and_grows_for_blocks_up_to_its_most() {
        let mut m = lb_to_web("HTTP :80");
        m.servers[1].blocks = vec![Block {
            kind: BlockKind::Note,
            title: None,
            lines: vec!["a very long line of a block that would never fit a column".into()],
        }];
        let mut g = place(&m);
        (g.min_col, g.max_col) = (130.0, 160.0);
        assert_eq!(column_widths(&m, &g), [130.0, 160.0]);
        // A part wider than the least width widens its column, past the most.
        m.servers[0].parts[0].lines = vec!["backend web 10.0.0.1:80 check inter 2s".into()];
        let want = (BODY.width(&m.servers[0].parts[0].lines[0]) + 14.0 + 16.0).ceil();
        assert!(want > 160.0);
        assert_eq!(column_widths(&m, &g)[0], want);
    }

    #[test]
    fn a_line_going_round_keeps_room_right_of_its_last_column() {
        let db = |id: &str| site(id, &[("mariadb", Tier::Db)]);
        let mut m = model(
            vec![db("db-01"), db("db-02"), db("db-03")],
            vec![edge(
                "db-01/mariadb",
                "db-03/mariadb",
                EdgeKind::Replication,
                &["replication"],
            )],
        );
        let g = place(&m);
        let want = SIDE_OFF + LABEL_GAP + 2.0 + LABEL.width("replication") + 6.0;
        assert_eq!(side_room(&m, &g), [want]);
        // Between consecutive rows it goes straight down: no room.
        m.edges[0].to = "db-02/mariadb".into();
        assert_eq!(side_room(&m, &g), [0.0]);
    }
}
