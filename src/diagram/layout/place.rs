//! Which cell each server takes: the columns are the tiers its parts stand
//! on, the row the first one free over those columns; a monitoring server
//! goes under the others, in a column inside exactly its networks' zones.

use crate::diagram::grid::{column_tier, Cell, Grid};
use crate::diagram::{BoxKind, Model, ServerBox, Tier};

/// Columns of a server's parts, or None for a monitoring server.
fn span(tiers: &[Tier], s: &ServerBox) -> Option<(usize, usize)> {
    let cols: Vec<usize> = s
        .parts
        .iter()
        .filter_map(|p| column_tier(p.tier))
        .filter_map(|t| tiers.iter().position(|x| *x == t))
        .collect();
    Some((*cols.iter().min()?, *cols.iter().max()?))
}

fn kind_order(k: BoxKind) -> u8 {
    match k {
        BoxKind::User => 0,
        BoxKind::Dns => 1,
        BoxKind::Site => 2,
        BoxKind::Monitoring => 3,
    }
}

/// Columns and rows: each server in the first row free over its columns.
pub(super) fn place(m: &Model) -> Grid {
    let mut tiers: Vec<Tier> = m
        .servers
        .iter()
        .flat_map(|s| s.parts.iter().filter_map(|p| column_tier(p.tier)))
        .collect();
    tiers.sort();
    tiers.dedup();
    if tiers.is_empty() {
        tiers.push(Tier::Outside);
    }
    let mut order: Vec<(usize, Option<(usize, usize)>)> = m
        .servers
        .iter()
        .enumerate()
        .map(|(i, s)| (i, span(&tiers, s)))
        .collect();
    order.sort_by_key(|(i, sp)| {
        let s = &m.servers[*i];
        (sp.is_none(), sp.map(|x| x.0), kind_order(s.kind), *i)
    });
    let mut taken: Vec<Vec<bool>> = Vec::new();
    let mut cells = Vec::new();
    let mut later = Vec::new();
    for (i, sp) in order {
        let Some((a, b)) = sp else {
            later.push(i);
            continue;
        };
        let row = (0..)
            .find(|r| {
                taken
                    .get(*r)
                    .is_none_or(|t: &Vec<bool>| !t[a..=b].iter().any(|x| *x))
            })
            .expect("a free row");
        while taken.len() <= row {
            taken.push(vec![false; tiers.len()]);
        }
        taken[row][a..=b].iter_mut().for_each(|x| *x = true);
        cells.push(Cell {
            server: i,
            row,
            a,
            b,
            own: None,
        });
    }
    let mut grid = Grid {
        zone_cols: zone_columns(m, &cells),
        tiers,
        cells,
        rows: taken.len(),
        ..Grid::default()
    };
    for i in later {
        place_monitoring(m, &mut grid, i);
    }
    grid.zone_cols = zone_columns(m, &grid.cells);
    grid
}

/// Columns each zone covers, from its servers' cells.
fn zone_columns(m: &Model, cells: &[Cell]) -> Vec<(usize, usize)> {
    m.zones
        .iter()
        .map(|z| {
            let cols: Vec<(usize, usize)> = cells
                .iter()
                .filter(|c| z.members.contains(&m.servers[c.server].id))
                .map(|c| (c.a, c.b))
                .collect();
            let a = cols.iter().map(|c| c.0).min().unwrap_or(0);
            let b = cols.iter().map(|c| c.1).max().unwrap_or(0);
            (a, b)
        })
        .collect()
}

/// A server outside the request path (Prometheus) goes under the others,
/// in a column inside exactly the zones of its networks.
fn place_monitoring(m: &Model, g: &mut Grid, i: usize) {
    let s = &m.servers[i];
    let fits = |c: usize| {
        m.zones.iter().zip(&g.zone_cols).all(|(z, (a, b))| {
            let member = s.networks.contains(&z.network);
            let inside = (*a..=*b).contains(&c);
            member == inside || (member && z.members.len() == 1)
        })
    };
    let n = g.tiers.len();
    let col = (1..n).chain([0]).find(|c| fits(*c)).unwrap_or(0);
    let row = g
        .cells
        .iter()
        .filter(|c| (c.a..=c.b).contains(&col) || c.row >= g.rows)
        .map(|c| c.row + 1)
        .max()
        .unwrap_or(0)
        .max(g.rows);
    g.cells.push(Cell {
        server: i,
        row,
        a: col,
        b: col,
        own: None,
    });
    g.rows = g.rows.max(row + 1);
}
