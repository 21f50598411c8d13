//! Edges and their labels. Requests between two columns run on a vertical
//! bus in the gap between them: out of each source part to the right, along
//! the bus, into each target part from the left, an arrow on each target.
//! The browser's DNS query, replication and VRRP join a box to the one
//! under it with a vertical line. Labels go last, each in the first of a
//! few places next to its line where it crosses nothing.

use super::draw::{Anchor, BoxClass, DrawEdge, DrawText, Ink, Layout, Rect};
use super::geometry::{BUS_OFF, BUS_STEP, FRAME_PAD, LABEL, LABEL_GAP, PART, SIDE_OFF};
use super::grid::{column_of, gap_reserve, goes_round, Grid};
use super::text::{ASCENT, DESCENT};
use super::{Edge, EdgeKind, Model};

/// A label waiting for a place: its lines and where it may go, best first
/// (x, first baseline, anchor).
struct Pending {
    lines: Vec<String>,
    ink: Ink,
    places: Vec<(f64, f64, Anchor)>,
}

/// Every edge of the model, on the laid-out boxes, and its label.
pub(super) fn route(l: &mut Layout, m: &Model, g: &Grid) {
    let mut labels = Vec::new();
    for gap in 0..g.tiers.len().saturating_sub(1) {
        bus(l, m, g, gap, &mut labels);
    }
    for e in &m.edges {
        if matches!(
            e.kind,
            EdgeKind::Dns | EdgeKind::Replication | EdgeKind::Vrrp
        ) {
            vertical(l, m, g, e, &mut labels);
        }
    }
    for p in labels {
        place(l, p);
    }
}

/// Where an edge leaves a part: its right side, halfway down.
fn source_point(l: &Layout, id: &str) -> Option<(f64, f64)> {
    let r = l.rect_of(id)?;
    Some((r.right(), r.mid_y()))
}

/// Where an edge enters a part (its left side, halfway down) or a group
/// (its left side, by its title).
fn target_point(l: &Layout, m: &Model, id: &str) -> Option<(f64, f64)> {
    let r = l.rect_of(id)?;
    if m.groups.iter().any(|g| g.id == id) {
        return Some((r.x, r.y + FRAME_PAD + PART.size * 0.55));
    }
    Some((r.x, r.mid_y()))
}

/// Edges of one gap in groups that share a bus: connected sources and
/// targets, when every source goes to every target; else one edge a bus.
fn bus_groups<'a>(edges: &[&'a Edge]) -> Vec<Vec<&'a Edge>> {
    let mut groups: Vec<Vec<&Edge>> = Vec::new();
    for e in edges {
        let joined: Vec<usize> = groups
            .iter()
            .enumerate()
            .filter(|(_, g)| g.iter().any(|x| x.from == e.from || x.to == e.to))
            .map(|(i, _)| i)
            .collect();
        let mut merged = vec![*e];
        for i in joined.iter().rev() {
            merged.extend(groups.remove(*i));
        }
        groups.push(merged);
    }
    let mut out = Vec::new();
    for g in groups {
        let mut froms: Vec<&str> = g.iter().map(|e| e.from.as_str()).collect();
        let mut tos: Vec<&str> = g.iter().map(|e| e.to.as_str()).collect();
        froms.sort();
        froms.dedup();
        tos.sort();
        tos.dedup();
        if froms.len() * tos.len() == g.len() {
            out.push(g);
        } else {
            out.extend(g.into_iter().map(|e| vec![e]));
        }
    }
    out
}

/// How many buses the gap after column `gap` needs, at most.
pub(super) fn bus_count(m: &Model, g: &Grid, gap: usize) -> usize {
    bus_groups(&gap_edges(m, g, gap)).len()
}

fn gap_edges<'a>(m: &'a Model, g: &Grid, gap: usize) -> Vec<&'a Edge> {
    m.edges
        .iter()
        .filter(|e| e.kind == EdgeKind::Request)
        .filter(|e| column_of(m, g, &e.from) == Some(gap))
        .filter(|e| column_of(m, g, &e.to) == Some(gap + 1))
        .collect()
}

/// The request edges from column `gap` to the next, on buses.
fn bus(l: &mut Layout, m: &Model, g: &Grid, gap: usize, labels: &mut Vec<Pending>) {
    let edges = gap_edges(m, g, gap);
    let (cx, cw) = g.cols[gap];
    let bus0 = cx + cw + gap_reserve(m, g, gap, true) + BUS_OFF;
    let label_right = g.cols[gap + 1].0 - gap_reserve(m, g, gap + 1, false) - 6.0;
    // Buses whose vertical spans overlap take different x.
    let mut spans: Vec<(f64, f64, usize)> = Vec::new();
    for group in bus_groups(&edges) {
        let ends: Vec<((f64, f64), (f64, f64))> = group
            .iter()
            .filter_map(|e| Some((source_point(l, &e.from)?, target_point(l, m, &e.to)?)))
            .collect();
        let ys = ends.iter().flat_map(|(a, b)| [a.1, b.1]);
        let lo = ys.clone().fold(f64::MAX, f64::min);
        let hi = ys.fold(f64::MIN, f64::max);
        let k = (0..)
            .find(|k| !spans.iter().any(|s| s.2 == *k && s.0 <= hi && lo <= s.1))
            .unwrap_or(0);
        spans.push((lo, hi, k));
        let x = bus0 + k as f64 * BUS_STEP;
        for (e, (a, b)) in group.iter().zip(&ends) {
            l.edges.push(DrawEdge {
                from: e.from.clone(),
                to: e.to.clone(),
                kind: e.kind,
                points: simplify(vec![*a, (x, a.1), (x, b.1), *b]),
                arrow: true,
            });
        }
        let mut done: Vec<&str> = Vec::new();
        for (e, (_, b)) in group.iter().zip(&ends) {
            if done.contains(&e.to.as_str()) {
                continue;
            }
            done.push(&e.to);
            labels.push(stub_label(e, *b, x, label_right));
        }
    }
}

/// A request label by the stub entering its target: above it, right
/// against the target, or below, or by the bus.
fn stub_label(e: &Edge, to: (f64, f64), bus_x: f64, right: f64) -> Pending {
    let n = e.label.len() as f64;
    let above = to.1 - LABEL_GAP - DESCENT * LABEL.size - (n - 1.0) * LABEL.line();
    let below = to.1 + LABEL_GAP + ASCENT * LABEL.size;
    let left = bus_x + 6.0;
    Pending {
        lines: e.label.clone(),
        ink: Ink::Body,
        places: vec![
            (right, above, Anchor::End),
            (right, below, Anchor::End),
            (left, above, Anchor::Start),
            (left, below, Anchor::Start),
        ],
    }
}

/// Drops repeated points and points in the middle of a straight run.
fn simplify(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for p in points {
        if out.last() == Some(&p) {
            continue;
        }
        if out.len() >= 2 {
            let (a, b) = (out[out.len() - 2], out[out.len() - 1]);
            let straight = (a.0 == b.0 && b.0 == p.0) || (a.1 == b.1 && b.1 == p.1);
            if straight {
                out.pop();
            }
        }
        out.push(p);
    }
    out
}

/// The server box an edge end belongs to.
fn server_rect(l: &Layout, m: &Model, id: &str) -> Option<Rect> {
    l.rect_of(&m.server_of(id)?.id)
}

/// DNS, replication, VRRP: a line from a box down to the box under it,
/// or round their right sides when something is in between.
fn vertical(l: &mut Layout, m: &Model, g: &Grid, e: &Edge, labels: &mut Vec<Pending>) {
    let (Some(a), Some(b)) = (server_rect(l, m, &e.from), server_rect(l, m, &e.to)) else {
        return;
    };
    let (lo, hi) = (a.x.max(b.x), a.right().min(b.right()));
    let x = match e.kind {
        EdgeKind::Dns => lo + 22.0,
        EdgeKind::Replication => l
            .rect_of(&e.from)
            .map(|p| p.x + p.w / 2.0)
            .unwrap_or((lo + hi) / 2.0),
        _ => (lo + hi) / 2.0,
    };
    let straight = !goes_round(m, g, e)
        && b.y > a.bottom()
        && lo < x
        && x < hi
        && !l.boxes.iter().any(|o| {
            o.class == BoxClass::Server
                && o.rect != a
                && o.rect != b
                && o.rect.hit_by((x, a.bottom()), (x, b.y))
        });
    let points = if straight {
        vec![(x, a.bottom()), (x, b.y)]
    } else {
        let side = a.right().max(b.right()) + SIDE_OFF;
        vec![
            (a.right(), a.mid_y()),
            (side, a.mid_y()),
            (side, b.mid_y()),
            (b.right(), b.mid_y()),
        ]
    };
    let (lx, mid) = if straight {
        (x, (a.bottom() + b.y) / 2.0)
    } else {
        (points[1].0, (a.mid_y() + b.mid_y()) / 2.0)
    };
    l.edges.push(DrawEdge {
        from: e.from.clone(),
        to: e.to.clone(),
        kind: e.kind,
        points,
        arrow: e.kind != EdgeKind::Vrrp,
    });
    let n = e.label.len() as f64;
    let first = mid - n * LABEL.line() / 2.0 + ASCENT * LABEL.size;
    labels.push(Pending {
        lines: e.label.clone(),
        ink: match e.kind {
            EdgeKind::Replication => Ink::Replication,
            EdgeKind::Vrrp => Ink::Vrrp,
            EdgeKind::Dns => Ink::Dns,
            _ => Ink::Body,
        },
        places: vec![
            (lx + LABEL_GAP + 2.0, first, Anchor::Start),
            (lx - LABEL_GAP - 2.0, first, Anchor::End),
        ],
    });
}

/// The label's lines set at a place.
fn set(p: &Pending, at: (f64, f64, Anchor)) -> Vec<DrawText> {
    p.lines
        .iter()
        .enumerate()
        .map(|(i, line)| DrawText {
            x: at.0,
            y: at.1 + i as f64 * LABEL.line(),
            text: line.clone(),
            font: LABEL,
            anchor: at.2,
            ink: p.ink,
            owner: None,
        })
        .collect()
}

/// Whether text at `r` is clear of every text, edge and border so far.
fn clear(l: &Layout, r: &Rect) -> bool {
    r.x >= 0.0
        && r.y >= 0.0
        && !l.texts.iter().any(|t| t.rect().intersects(r))
        && !l
            .edges
            .iter()
            .any(|e| e.segments().any(|(a, b)| r.inflate(1.5).hit_by(a, b)))
        && l.boxes
            .iter()
            .all(|b| !b.rect.intersects(r) || (b.class != BoxClass::Part && b.rect.contains(r)))
}

/// Puts a label in its first clear place (the first place if none is).
fn place(l: &mut Layout, p: Pending) {
    let chosen = p
        .places
        .iter()
        .map(|at| set(&p, *at))
        .find(|texts| texts.iter().all(|t| clear(l, &t.rect())))
        .unwrap_or_else(|| set(&p, p.places[0]));
    l.texts.extend(chosen);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagram::draw::DrawBox;
    use crate::diagram::fixture::{cell, edge, model, site};
    use crate::diagram::{BoxKind, Tier};

    fn rect(x: f64, y: f64, w: f64, h: f64) -> Rect {
        Rect { x, y, w, h }
    }

    fn boxed(id: &str, class: BoxClass, rect: Rect) -> DrawBox {
        DrawBox {
            id: id.to_string(),
            class,
            rect,
            flag: false,
            kind: BoxKind::Site,
            networks: vec![],
        }
    }

    fn near(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn simplify_drops_repeats_and_points_inside_straight_runs() {
        let pts = vec![(0.0, 0.0), (5.0, 0.0), (5.0, 0.0), (9.0, 0.0), (9.0, 4.0)];
        assert_eq!(simplify(pts), [(0.0, 0.0), (9.0, 0.0), (9.0, 4.0)]);
    }

    #[test]
    fn edges_share_a_bus_only_when_every_source_goes_to_every_target() {
        let r = EdgeKind::Request;
        let fan = [edge("a", "x", r, &[]), edge("a", "y", r, &[])];
        let fan: Vec<&Edge> = fan.iter().collect();
        assert_eq!(bus_groups(&fan).len(), 1);
        let partial = [
            edge("a", "x", r, &[]),
            edge("a", "y", r, &[]),
            edge("b", "x", r, &[]),
        ];
        let partial: Vec<&Edge> = partial.iter().collect();
        assert_eq!(bus_groups(&partial).len(), 3);
        let apart = [edge("a", "x", r, &[]), edge("b", "y", r, &[])];
        let apart: Vec<&Edge> = apart.iter().collect();
        assert_eq!(bus_groups(&apart).len(), 2);
    }

    /// A load balancer in column 0 sending to two web servers one under the
    /// other in column 1, laid out by hand.
    fn fan_out() -> (Model, Grid, Layout) {
        let label = ["HTTP :80"];
        let m = model(
            vec![
                site("lb", &[("haproxy", Tier::Entry)]),
                site("web-01", &[("nginx", Tier::Web)]),
                site("web-02", &[("nginx", Tier::Web)]),
            ],
            vec![
                edge("lb/haproxy", "web-01/nginx", EdgeKind::Request, &label),
                edge("lb/haproxy", "web-02/nginx", EdgeKind::Request, &label),
            ],
        );
        let g = Grid {
            tiers: vec![Tier::Entry, Tier::Web],
            cells: vec![cell(0, 0, 0), cell(1, 0, 1), cell(2, 1, 1)],
            rows: 2,
            cols: vec![(0.0, 100.0), (200.0, 100.0)],
            side: vec![0.0, 0.0],
            ..Grid::default()
        };
        let l = Layout {
            boxes: vec![
                boxed("lb/haproxy", BoxClass::Part, rect(10.0, 10.0, 80.0, 20.0)),
                boxed(
                    "web-01/nginx",
                    BoxClass::Part,
                    rect(210.0, 10.0, 80.0, 20.0),
                ),
                boxed(
                    "web-02/nginx",
                    BoxClass::Part,
                    rect(210.0, 110.0, 80.0, 20.0),
                ),
            ],
            ..Layout::default()
        };
        (m, g, l)
    }

    #[test]
    fn requests_run_on_one_bus_in_the_gap_and_labels_sit_by_their_targets() {
        let (m, g, mut l) = fan_out();
        assert_eq!(bus_count(&m, &g, 0), 1);
        route(&mut l, &m, &g);
        // The bus: right of column 0 by the gap's reserve (4) and BUS_OFF.
        let bus = 100.0 + 4.0 + BUS_OFF;
        let points = |to: &str| {
            let e = l.edges.iter().find(|e| e.to == to).unwrap();
            e.points.clone()
        };
        assert_eq!(points("web-01/nginx"), [(90.0, 20.0), (210.0, 20.0)]);
        assert_eq!(
            points("web-02/nginx"),
            [(90.0, 20.0), (bus, 20.0), (bus, 120.0), (210.0, 120.0)]
        );
        assert!(l.edges.iter().all(|e| e.arrow));
        // Each label above its target's stub, right-aligned against the
        // column's reserve.
        assert_eq!(l.texts.len(), 2);
        let mut texts = l.texts.clone();
        texts.sort_by(|a, b| a.y.total_cmp(&b.y));
        for (t, y) in texts.iter().zip([20.0, 120.0]) {
            assert_eq!(
                (t.x, t.anchor, t.text.as_str()),
                (190.0, Anchor::End, "HTTP :80")
            );
            assert!(near(t.y, y - LABEL_GAP - DESCENT * LABEL.size), "{}", t.y);
        }
    }

    /// Three database servers one under the other, db-01 replicating to
    /// db-02 or db-03.
    fn column_of_three(to: &str) -> (Model, Grid, Layout) {
        let db = |id: &str| site(id, &[("mariadb", Tier::Db)]);
        let m = model(
            vec![db("db-01"), db("db-02"), db("db-03")],
            vec![edge(
                "db-01/mariadb",
                to,
                EdgeKind::Replication,
                &["replication"],
            )],
        );
        let g = Grid {
            tiers: vec![Tier::Db],
            cells: vec![cell(0, 0, 0), cell(1, 1, 0), cell(2, 2, 0)],
            rows: 3,
            cols: vec![(0.0, 100.0)],
            side: vec![0.0],
            ..Grid::default()
        };
        let l = Layout {
            boxes: vec![
                boxed("db-01", BoxClass::Server, rect(0.0, 0.0, 100.0, 50.0)),
                boxed(
                    "db-01/mariadb",
                    BoxClass::Part,
                    rect(10.0, 20.0, 60.0, 20.0),
                ),
                boxed("db-02", BoxClass::Server, rect(0.0, 80.0, 100.0, 50.0)),
                boxed("db-03", BoxClass::Server, rect(0.0, 160.0, 100.0, 50.0)),
            ],
            ..Layout::default()
        };
        (m, g, l)
    }

    #[test]
    fn replication_goes_straight_down_to_the_box_under_it() {
        let (m, g, mut l) = column_of_three("db-02/mariadb");
        route(&mut l, &m, &g);
        // From under the source part's middle to the next box's top.
        assert_eq!(l.edges[0].points, [(40.0, 50.0), (40.0, 80.0)]);
        let t = &l.texts[0];
        assert_eq!(
            (t.x, t.anchor, t.ink),
            (46.0, Anchor::Start, Ink::Replication)
        );
    }

    #[test]
    fn a_line_past_a_box_in_between_goes_round_its_right_side() {
        let (m, g, mut l) = column_of_three("db-03/mariadb");
        route(&mut l, &m, &g);
        let side = 100.0 + SIDE_OFF;
        let e = &l.edges[0];
        assert_eq!(
            e.points,
            [(100.0, 25.0), (side, 25.0), (side, 185.0), (100.0, 185.0)]
        );
        let between = l.rect_of("db-02").unwrap();
        assert!(e.segments().all(|(a, b)| !between.hit_by(a, b)));
        // Its label right of the line, centred on it.
        let t = &l.texts[0];
        assert_eq!(t.x, side + LABEL_GAP + 2.0);
        assert!(near(t.y, 105.0 - LABEL.line() / 2.0 + ASCENT * LABEL.size));
    }

    #[test]
    fn a_label_takes_its_first_clear_place() {
        let mut l = Layout::default();
        let p = Pending {
            lines: vec!["one".into()],
            ink: Ink::Body,
            places: vec![(10.0, 20.0, Anchor::Start), (10.0, 60.0, Anchor::Start)],
        };
        l.texts.extend(set(&p, p.places[0]));
        assert!(!clear(&l, &l.texts[0].rect()));
        place(&mut l, p);
        assert_eq!((l.texts[1].x, l.texts[1].y), (10.0, 60.0));
        // Off the page is never clear.
        assert!(!clear(&Layout::default(), &rect(-1.0, 5.0, 10.0, 10.0)));
    }
}
