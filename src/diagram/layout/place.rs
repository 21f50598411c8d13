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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagram::fixture::{model, server, site, zone};

    /// (server id, row, first column, last column) of each cell.
    fn cells(m: &Model, g: &Grid) -> Vec<(String, usize, usize, usize)> {
        let mut v: Vec<_> = g
            .cells
            .iter()
            .map(|c| (m.servers[c.server].id.clone(), c.row, c.a, c.b))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_column_per_tier_and_a_row_per_server_in_it() {
        let m = model(
            vec![
                site("web-02", &[("nginx", Tier::Web)]),
                site("db", &[("mariadb", Tier::Db)]),
                site("web-01", &[("nginx", Tier::Web)]),
                site("lb", &[("haproxy", Tier::Entry)]),
            ],
            vec![],
        );
        let g = place(&m);
        assert_eq!(g.tiers, [Tier::Entry, Tier::Web, Tier::Db]);
        assert_eq!(g.rows, 2);
        let want = [
            ("db", 0, 2, 2),
            ("lb", 0, 0, 0),
            ("web-01", 1, 1, 1),
            ("web-02", 0, 1, 1),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(s, r, a, b)| (s.to_string(), *r, *a, *b))
            .collect();
        assert_eq!(cells(&m, &g), want);
    }

    #[test]
    fn a_server_spans_the_columns_of_its_parts_and_takes_the_first_free_row() {
        let m = model(
            vec![
                site("app-02", &[("app", Tier::App)]),
                site(
                    "server-01",
                    &[
                        ("nginx", Tier::Web),
                        ("app", Tier::App),
                        ("mariadb", Tier::Db),
                    ],
                ),
                server("client", BoxKind::User, &[("client", Tier::Outside)]),
            ],
            vec![],
        );
        let g = place(&m);
        assert_eq!(g.tiers, [Tier::Outside, Tier::Web, Tier::App, Tier::Db]);
        let got = cells(&m, &g);
        assert_eq!(got[0], ("app-02".to_string(), 1, 2, 2));
        assert_eq!(got[1], ("client".to_string(), 0, 0, 0));
        assert_eq!(got[2], ("server-01".to_string(), 0, 1, 3));
    }

    #[test]
    fn monitoring_goes_under_the_others_in_a_column_of_its_zones() {
        let mut prometheus = server(
            "mon",
            BoxKind::Monitoring,
            &[("prometheus", Tier::Monitoring)],
        );
        prometheus.networks = vec!["front".into()];
        let mut m = model(
            vec![
                prometheus,
                site("lb", &[("haproxy", Tier::Entry)]),
                site("web", &[("nginx", Tier::Web)]),
                site("db", &[("mariadb", Tier::Db)]),
            ],
            vec![],
        );
        m.zones = vec![zone("front", &["lb", "mon"]), zone("back", &["web", "db"])];
        let g = place(&m);
        // Only column 0 is inside `front` and outside `back`.
        assert!(cells(&m, &g).contains(&("mon".to_string(), 1, 0, 0)));
        assert_eq!(g.rows, 2);
        assert_eq!(g.zone_cols, [(0, 0), (1, 2)]);
        // On `back` instead, it takes the first column of that zone.
        m.servers[0].networks = vec!["back".into()];
        m.zones = vec![zone("front", &["lb"]), zone("back", &["web", "db", "mon"])];
        let g = place(&m);
        assert!(cells(&m, &g).contains(&("mon".to_string(), 1, 1, 1)));
    }

    #[test]
    fn a_model_with_no_parts_still_has_one_column() {
        let m = model(vec![server("mon", BoxKind::Monitoring, &[])], vec![]);
        let g = place(&m);
        assert_eq!(g.tiers, [Tier::Outside]);
        assert_eq!(cells(&m, &g), [("mon".to_string(), 0, 0, 0)]);
    }
}
