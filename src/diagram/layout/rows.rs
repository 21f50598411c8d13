//! Where each row starts and how tall it is. Boxes in a row share their
//! header and parts bands, and a row starts under the boxes above it in its
//! own columns; a cluster's nodes, and the user's and DNS servers below the
//! first row, stand apart, each straight under the box above it.

use super::measure::{box_height, header_height, own_box, part_height};
use crate::diagram::geometry::{BODY, FRAME_PAD, LABEL, PART, STACK_GAP, V_GAP};
use crate::diagram::grid::{Cell, Grid};
use crate::diagram::{BoxKind, EdgeKind, Model};

/// Whether a server is a node of a cluster (stacked, not in a row).
fn in_cluster(m: &Model, id: &str) -> bool {
    m.groups
        .iter()
        .any(|grp| grp.cluster && grp.members.iter().any(|x| x == id))
}

/// The group header's height: title and lines.
pub(super) fn group_band(m: &Model) -> f64 {
    m.groups
        .iter()
        .map(|grp| FRAME_PAD + PART.line() + grp.lines.len() as f64 * BODY.line() + 4.0)
        .fold(0.0, f64::max)
}

/// Row heights and tops; boxes in a row share their header and parts bands.
/// A row starts under the boxes above it in its own columns. A cluster's
/// nodes stand apart from the rows: stacked from the row of the first, one
/// under the other, each as tall as it needs.
pub(super) fn rows(m: &Model, g: &mut Grid, top: f64) {
    let apart: Vec<bool> = g
        .cells
        .iter()
        .map(|c| in_cluster(m, &m.servers[c.server].id) || outside(m, c))
        .collect();
    bands(m, g, &apart);
    let mut rows = Rows {
        top,
        band: group_band(m),
        spans: group_rows(m, g),
        apart,
        floor: vec![top; g.tiers.len()],
    };
    for r in 0..g.rows {
        rows.row(m, g, r);
    }
}

/// Whether a cell is the user's or a DNS server under the first row:
/// laid out apart from its row, straight under the box above it.
fn outside(m: &Model, c: &Cell) -> bool {
    c.row > 0 && matches!(m.servers[c.server].kind, BoxKind::User | BoxKind::Dns)
}

/// Per row, the header and parts bands its boxes share: as tall as the
/// tallest of the boxes laid out in the row (not those `apart`).
fn bands(m: &Model, g: &mut Grid, apart: &[bool]) {
    g.header_h = vec![0.0; g.rows];
    g.part_h = vec![0.0; g.rows];
    for c in g
        .cells
        .iter()
        .zip(apart)
        .filter(|(_, s)| !**s)
        .map(|(c, _)| c)
    {
        let s = &m.servers[c.server];
        g.header_h[c.row] = g.header_h[c.row].max(header_height(s));
        for p in &s.parts {
            g.part_h[c.row] = g.part_h[c.row].max(part_height(p));
        }
    }
}

/// The rows laid out so far, top to bottom.
struct Rows {
    /// Top of the first row.
    top: f64,
    /// Height of a group's header, above the first row of its servers.
    band: f64,
    /// First and last row of each group.
    spans: Vec<(usize, usize)>,
    /// Per cell: laid out apart from its row (a cluster's node, the user or
    /// DNS under the first row).
    apart: Vec<bool>,
    /// Bottom of what is drawn so far, per column.
    floor: Vec<f64>,
}

impl Rows {
    /// Lays out row `r`: its top and height, the clusters that start in
    /// it and the boxes apart from it; then raises the floor under them.
    fn row(&mut self, m: &Model, g: &mut Grid, r: usize) {
        let stack = cluster_cells(m, g, &self.spans, r);
        // The row's own cells (by index: the stacked ones are written to
        // below).
        let here: Vec<usize> = (0..g.cells.len())
            .filter(|i| g.cells[*i].row == r && !self.apart[*i])
            .collect();
        let y = self.row_top(g, r, &here, &stack);
        // Servers of the site fill their row; the user, DNS and monitoring
        // keep their own height.
        let site_h = here
            .iter()
            .map(|i| &g.cells[*i])
            .filter(|c| m.servers[c.server].kind == BoxKind::Site)
            .map(|c| box_height(m, g, c))
            .fold(0.0, f64::max);
        g.row_y.push((y, site_h));
        let mut below_of = stack_cluster(m, g, &stack, y);
        below_of.extend(self.outside_boxes(m, g, r));
        for (a, b, below) in below_of {
            raise(&mut self.floor, a, b, below);
        }
        let ends_group = m
            .groups
            .iter()
            .zip(&self.spans)
            .any(|(grp, (_, last))| !grp.cluster && *last == r);
        for c in here.iter().map(|i| &g.cells[*i]) {
            let h = match m.servers[c.server].kind {
                BoxKind::Site => site_h,
                _ => box_height(m, g, c),
            };
            let gap = V_GAP.max(vertical_label_room(m, &m.servers[c.server].id));
            let below = y + h + gap + if ends_group { FRAME_PAD } else { 0.0 };
            raise(&mut self.floor, c.a, c.b, below);
        }
    }

    /// The top of row `r`: under everything above its cells and the
    /// clusters starting in it, and under a group's header if a group
    /// starts in it.
    fn row_top(&self, g: &Grid, r: usize, here: &[usize], stack: &[usize]) -> f64 {
        let y = here
            .iter()
            .chain(stack)
            .map(|i| &g.cells[*i])
            .flat_map(|c| self.floor[c.a..=c.b].iter().copied())
            .fold(self.top, f64::max);
        if self.spans.iter().any(|(first, _)| *first == r) {
            y + self.band
        } else {
            y
        }
    }

    /// The user's and DNS boxes of row `r` laid out apart from it, each
    /// under what is above it in its columns; returns the floor under each.
    fn outside_boxes(&self, m: &Model, g: &mut Grid, r: usize) -> Vec<(usize, usize, f64)> {
        let mut below_of = Vec::new();
        for i in 0..g.cells.len() {
            let c = &g.cells[i];
            if c.row != r || !outside(m, c) {
                continue;
            }
            let oy = self.floor[c.a..=c.b]
                .iter()
                .copied()
                .fold(self.top, f64::max);
            let own = own_box(m, g, c, oy);
            let gap = V_GAP.max(vertical_label_room(m, &m.servers[c.server].id));
            below_of.push((c.a, c.b, own.y + own.h + gap));
            g.cells[i].own = Some(own);
        }
        below_of
    }
}

/// The cells of the clusters whose first node is in row `r`, each
/// cluster's in row order.
fn cluster_cells(m: &Model, g: &Grid, spans: &[(usize, usize)], r: usize) -> Vec<usize> {
    m.groups
        .iter()
        .zip(spans)
        .filter(|(grp, (first, _))| grp.cluster && *first == r)
        .flat_map(|(grp, _)| {
            let mut v: Vec<usize> = (0..g.cells.len())
                .filter(|i| grp.members.contains(&m.servers[g.cells[*i].server].id))
                .collect();
            v.sort_by_key(|i| g.cells[*i].row);
            v
        })
        .collect()
}

/// A cluster's nodes stacked one under the other from `y`, each as tall
/// as it needs; returns the floor under each.
fn stack_cluster(m: &Model, g: &mut Grid, stack: &[usize], y: f64) -> Vec<(usize, usize, f64)> {
    let mut below_of = Vec::new();
    let mut sy = y;
    for &i in stack {
        let own = own_box(m, g, &g.cells[i], sy);
        sy += own.h + STACK_GAP;
        let c = &g.cells[i];
        below_of.push((c.a, c.b, own.y + own.h + V_GAP + FRAME_PAD));
        g.cells[i].own = Some(own);
    }
    below_of
}

/// Raises the floor of columns `a..=b` to `below`.
fn raise(floor: &mut [f64], a: usize, b: usize, below: f64) {
    floor[a..=b].iter_mut().for_each(|f| *f = f.max(below));
}

/// Room under a box for the label of a line going down from it (DNS,
/// replication, VRRP).
fn vertical_label_room(m: &Model, server: &str) -> f64 {
    m.edges
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EdgeKind::Dns | EdgeKind::Replication | EdgeKind::Vrrp
            )
        })
        .filter(|e| m.server_of(&e.from).is_some_and(|s| s.id == server))
        .map(|e| e.label.len() as f64 * LABEL.line() + 12.0)
        .fold(0.0, f64::max)
}

/// First and last row of each group's members.
fn group_rows(m: &Model, g: &Grid) -> Vec<(usize, usize)> {
    m.groups
        .iter()
        .filter_map(|grp| {
            let rows = g
                .cells
                .iter()
                .filter(|c| grp.members.contains(&m.servers[c.server].id))
                .map(|c| c.row);
            Some((rows.clone().min()?, rows.max()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagram::fixture::{edge, group, model, site};
    use crate::diagram::layout::place::place;
    use crate::diagram::{EdgeKind, Tier};

    fn web(id: &str) -> crate::diagram::ServerBox {
        site(id, &[("nginx", Tier::Web)])
    }

    #[test]
    fn a_row_starts_under_the_one_above_with_room_for_its_labels() {
        let mut m = model(vec![web("web-01"), web("web-02")], vec![]);
        let mut g = place(&m);
        g.cols = vec![(0.0, 200.0)];
        rows(&m, &mut g, 50.0);
        // Each box: 8 + 17 + 4 + 28 + 8 = 65 tall.
        assert_eq!(g.row_y, [(50.0, 65.0), (143.0, 65.0)]);
        assert_eq!((g.header_h[0], g.part_h[0]), (17.0, 28.0));
        // A two-line label on a line down from web-01 needs 2 × 15 + 12.
        m.edges = vec![edge("web-01", "web-02", EdgeKind::Vrrp, &["a", "b"])];
        let mut g = place(&m);
        g.cols = vec![(0.0, 200.0)];
        rows(&m, &mut g, 50.0);
        assert_eq!(g.row_y[1].0, 50.0 + 65.0 + 42.0);
    }

    #[test]
    fn a_clusters_nodes_stack_under_its_header_each_as_tall_as_it_needs() {
        let db = |id: &str| site(id, &[("mariadb", Tier::Db)]);
        let mut m = model(vec![db("db-01"), db("db-02")], vec![]);
        m.groups = vec![group("galera", &["db-01", "db-02"], true)];
        let mut g = place(&m);
        g.cols = vec![(0.0, 200.0)];
        rows(&m, &mut g, 50.0);
        let band = group_band(&m);
        assert_eq!(band, FRAME_PAD + 16.0 + 4.0);
        let own: Vec<(f64, f64)> = g
            .cells
            .iter()
            .map(|c| c.own.map(|o| (o.y, o.h)).unwrap())
            .collect();
        assert_eq!(
            own,
            [(50.0 + band, 65.0), (50.0 + band + 65.0 + STACK_GAP, 65.0)]
        );
        // Stacked nodes share no row's bands.
        assert_eq!(g.header_h, [0.0, 0.0]);
    }
}
