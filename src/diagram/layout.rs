//! Where everything goes. A column per tier of the request path (the user
//! and DNS, load balancers, web, application, database), a row per server in
//! its columns: a server running nginx, the application and MySQL spans
//! three columns, its parts side by side, so the request path inside it is
//! drawn like the one between servers. Edges between two columns run along
//! one vertical bus in the gap between them; each gap is as wide as its
//! labels need, and each label is put where it crosses no edge and no box.
//! Networks are zones over the columns of their servers. The page is sized
//! to A4 landscape: see [`PAGE_RULE`].

use super::draw::{Anchor, BoxClass, DrawBox, DrawText, Ink, Layout, Rect};
use super::text::{wrap, Font, ASCENT, DESCENT};
use super::{BlockKind, BoxKind, EdgeKind, Model, Part, ServerBox, Tier};

/// The rule every layout keeps, checked by `check::problems`: the drawing has
/// A4's proportions (width:height = √2, within 2 %), and printed on the
/// 277 × 190 mm printable area of a landscape A4 page, its smallest text is
/// at least 7 pt.
pub const PAGE_RULE: &str =
    "aspect √2 (A4 landscape) ± 2 %; scaled into 277 × 190 mm, no text under 7 pt";

/// Printable area of a landscape A4 page in points (277 × 190 mm).
pub const PRINT_W_PT: f64 = 277.0 / 25.4 * 72.0;
pub const PRINT_H_PT: f64 = 190.0 / 25.4 * 72.0;
pub const MIN_PT: f64 = 7.0;

pub const BODY: Font = Font::regular(11.0);
pub const LABEL: Font = Font::regular(11.0);
const BOLD_BODY: Font = Font::bold(11.0);
const SERVER: Font = Font::bold(13.0);
pub(super) const PART: Font = Font::bold(12.0);
const ZONE: Font = Font::bold(12.0);
const TITLE: Font = Font::bold(15.0);

const MARGIN: f64 = 12.0;
/// Between a server's border and its parts and text.
const INSET: f64 = 8.0;
const PART_PAD: f64 = 6.0;
/// Between a part's border and its text.
const TEXT_PAD: f64 = 7.0;
pub(super) const FRAME_PAD: f64 = 8.0;
const ZONE_PAD: f64 = 6.0;
/// Each further zone's border sits this much further out (or in).
const ZONE_STEP: f64 = 5.0;
const ZONE_BAND: f64 = 22.0;
const V_GAP: f64 = 28.0;
/// Between the stacked nodes of a cluster.
const STACK_GAP: f64 = 14.0;
pub(super) const BUS_OFF: f64 = 6.0;
pub(super) const BUS_STEP: f64 = 6.0;
/// Between a label and the line it labels.
pub(super) const LABEL_GAP: f64 = 4.0;
/// How far right of the boxes a line going round them runs.
pub(super) const SIDE_OFF: f64 = 12.0;

// ---------------------------------------------------------------------------
// The grid: columns, rows, sizes.

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

#[derive(Debug, Clone, Copy)]
pub(super) struct Own {
    y: f64,
    h: f64,
    header: f64,
    part: f64,
}

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
    max_col: f64,
    min_col: f64,
    /// Zones start one under the other, each name on a line of its own.
    stagger: bool,
}

fn column_tier(t: Tier) -> Option<Tier> {
    match t {
        Tier::Monitoring => None,
        other => Some(other),
    }
}

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
fn place(m: &Model) -> Grid {
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

fn part_lines(p: &Part) -> usize {
    1 + p.lines.len() + usize::from(p.tls_ends)
}

fn part_height(p: &Part) -> f64 {
    PART_PAD * 2.0 + PART.line() + (part_lines(p) - 1) as f64 * BODY.line()
}

fn part_width(p: &Part) -> f64 {
    let lines = p.lines.iter().map(|l| BODY.width(l));
    let w = lines
        .chain([PART.width(&p.title), BOLD_BODY.width("TLS ends here")])
        .fold(0.0, f64::max);
    w + 2.0 * TEXT_PAD
}

fn header_lines(s: &ServerBox) -> Vec<(String, Font)> {
    let mut v = vec![(s.title.clone(), SERVER)];
    v.extend(s.addresses.iter().map(|a| (a.clone(), BODY)));
    v
}

fn header_height(s: &ServerBox) -> f64 {
    SERVER.line() + s.addresses.len() as f64 * BODY.line()
}

/// Blocks of a server by the column they are written in: one block per
/// column across a wide server, the rest stacked in its last column.
fn block_cells(c: &Cell, s: &ServerBox) -> Vec<(usize, Vec<usize>)> {
    let n = c.b - c.a + 1;
    let mut out: Vec<(usize, Vec<usize>)> = (0..n).map(|i| (c.a + i, vec![])).collect();
    for (i, _) in s.blocks.iter().enumerate() {
        out[i.min(n - 1)].1.push(i);
    }
    out.retain(|(_, v)| !v.is_empty());
    out
}

/// The lines of a block wrapped to `width`: (text, font, ink).
fn block_text(b: &super::Block, width: f64) -> Vec<(String, Font, Ink)> {
    let ink = match b.kind {
        BlockKind::Firewall => Ink::Firewall,
        BlockKind::Monitoring => Ink::Monitoring,
        BlockKind::Records | BlockKind::Note => Ink::Body,
    };
    let mut out = Vec::new();
    // A firewall that lets one thing in says so on one line, where it fits
    // (`firewall: 22 ← anyone`).
    if let (BlockKind::Firewall, [one]) = (b.kind, b.lines.as_slice()) {
        let line = format!("firewall: {one}");
        if BOLD_BODY.width(&line) <= width {
            return vec![(line, BOLD_BODY, ink)];
        }
    }
    if let Some(t) = &b.title {
        out.push((t.clone(), BOLD_BODY, ink));
    }
    let body_ink = if b.kind == BlockKind::Firewall {
        Ink::Body
    } else {
        ink
    };
    for l in &b.lines {
        for w in wrap_allow(l, width) {
            out.push((w, BODY, body_ink));
        }
    }
    out
}

/// A line wrapped to `width`; a firewall's `ports ← sources` breaks before
/// the arrow first.
fn wrap_allow(line: &str, width: f64) -> Vec<String> {
    match line.split_once(" ← ") {
        Some((ports, from)) if BODY.width(line) > width => {
            let mut out = wrap(ports, BODY, width);
            let tail = wrap(&format!("← {from}"), BODY, width - BODY.width("  "));
            out.extend(tail.into_iter().map(|t| format!("  {}", t.trim_start())));
            out
        }
        _ => wrap(line, BODY, width),
    }
}

/// Column widths: wide enough for their parts, headers and blocks.
fn column_widths(m: &Model, g: &Grid) -> Vec<f64> {
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

/// Height of a server's blocks, as wrapped in its columns.
fn blocks_height(m: &Model, g: &Grid, c: &Cell) -> f64 {
    let s = &m.servers[c.server];
    block_cells(c, s)
        .into_iter()
        .map(|(col, idx)| {
            let width = g.cols[col].1 - 2.0 * INSET;
            let lines: usize = idx
                .into_iter()
                .map(|i| block_text(&s.blocks[i], width).len())
                .sum();
            lines as f64 * BODY.line()
        })
        .fold(0.0, f64::max)
}

/// Natural height of a server's box in its row.
fn box_height(m: &Model, g: &Grid, c: &Cell) -> f64 {
    box_height_in(m, g, c, g.header_h[c.row], g.part_h[c.row])
}

/// Natural height of a server's box with the given header and parts bands.
fn box_height_in(m: &Model, g: &Grid, c: &Cell, header: f64, part: f64) -> f64 {
    let blocks = blocks_height(m, g, c);
    INSET + header + 4.0 + part + if blocks > 0.0 { 8.0 + blocks } else { 0.0 } + INSET
}

/// The box of a cluster's node stacked in its column, from `y`: its own
/// header and parts bands.
fn own_box(m: &Model, g: &Grid, c: &Cell, y: f64) -> Own {
    let s = &m.servers[c.server];
    let header = header_height(s);
    let part = s.parts.iter().map(part_height).fold(0.0, f64::max);
    Own {
        y,
        h: box_height_in(m, g, c, header, part),
        header,
        part,
    }
}

/// Whether a server is a node of a cluster (stacked, not in a row).
fn in_cluster(m: &Model, id: &str) -> bool {
    m.groups
        .iter()
        .any(|grp| grp.cluster && grp.members.iter().any(|x| x == id))
}

// ---------------------------------------------------------------------------
// Gaps between columns.

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

fn gap_widths(m: &Model, g: &Grid) -> Vec<f64> {
    (0..g.tiers.len().saturating_sub(1))
        .map(|col| {
            let label = gap_label_width(m, g, col);
            let buses = super::route::bus_count(m, g, col) as f64;
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

// ---------------------------------------------------------------------------
// The whole layout.

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
        super::check::page(l, &mut p);
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
    super::route::route(&mut l, m, &g);
    let legend_bottom = legend(&mut l, m, bottom + 18.0, content_right);
    l.width = content_right;
    l.height = legend_bottom + MARGIN;
    to_page(&mut l);
    l
}

fn zone_margin(g: &Grid, left: bool) -> f64 {
    let edge = if left { 0 } else { g.tiers.len() - 1 };
    g.zone_cols
        .iter()
        .enumerate()
        .filter(|(_, (a, b))| if left { *a == edge } else { *b == edge })
        .map(|(k, _)| zone_pad(k, g.zone_cols.len()))
        .fold(0.0, f64::max)
}

/// How far zone `k` of `n` reaches past its servers: the first zone
/// outermost, so where two zones cover the same servers they nest.
fn zone_pad(k: usize, n: usize) -> f64 {
    ZONE_PAD + ZONE_STEP * (n - 1 - k) as f64
}

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

/// The group header's height: title and lines.
fn group_band(m: &Model) -> f64 {
    m.groups
        .iter()
        .map(|grp| FRAME_PAD + PART.line() + grp.lines.len() as f64 * BODY.line() + 4.0)
        .fold(0.0, f64::max)
}

/// Row heights and tops; boxes in a row share their header and parts bands.
/// A row starts under the boxes above it in its own columns. A cluster's
/// nodes stand apart from the rows: stacked from the row of the first, one
/// under the other, each as tall as it needs.
fn rows(m: &Model, g: &mut Grid, top: f64) {
    g.header_h = vec![0.0; g.rows];
    g.part_h = vec![0.0; g.rows];
    // Apart from the rows: a cluster's nodes, and the user's and DNS
    // servers under the first row, each straight under the box above it.
    let outside =
        |c: &Cell| c.row > 0 && matches!(m.servers[c.server].kind, BoxKind::User | BoxKind::Dns);
    let stacked: Vec<bool> = g
        .cells
        .iter()
        .map(|c| in_cluster(m, &m.servers[c.server].id) || outside(c))
        .collect();
    for c in g
        .cells
        .iter()
        .zip(&stacked)
        .filter(|(_, s)| !**s)
        .map(|(c, _)| c)
    {
        let s = &m.servers[c.server];
        g.header_h[c.row] = g.header_h[c.row].max(header_height(s));
        for p in &s.parts {
            g.part_h[c.row] = g.part_h[c.row].max(part_height(p));
        }
    }
    let band = group_band(m);
    let spans = group_rows(m, g);
    // Bottom of what is drawn so far, per column.
    let mut floor = vec![top; g.tiers.len()];
    for r in 0..g.rows {
        // The cells of clusters whose first node is in this row.
        let stack: Vec<usize> = m
            .groups
            .iter()
            .zip(&spans)
            .filter(|(grp, (first, _))| grp.cluster && *first == r)
            .flat_map(|(grp, _)| {
                let mut v: Vec<usize> = (0..g.cells.len())
                    .filter(|i| grp.members.contains(&m.servers[g.cells[*i].server].id))
                    .collect();
                v.sort_by_key(|i| g.cells[*i].row);
                v
            })
            .collect();
        // The row's own cells (by index: the stacked ones are written to
        // below).
        let here: Vec<usize> = (0..g.cells.len())
            .filter(|i| g.cells[*i].row == r && !stacked[*i])
            .collect();
        let cells: Vec<&Cell> = here.iter().map(|i| &g.cells[*i]).collect();
        let mut y = cells
            .iter()
            .copied()
            .chain(stack.iter().map(|i| &g.cells[*i]))
            .flat_map(|c| floor[c.a..=c.b].iter().copied())
            .fold(top, f64::max);
        if spans.iter().any(|(first, _)| *first == r) {
            y += band;
        }
        // Servers of the site fill their row; the user, DNS and monitoring
        // keep their own height.
        let site_h = cells
            .iter()
            .filter(|c| m.servers[c.server].kind == BoxKind::Site)
            .map(|c| box_height(m, g, c))
            .fold(0.0, f64::max);
        g.row_y.push((y, site_h));
        let ends_group = m
            .groups
            .iter()
            .zip(&spans)
            .any(|(grp, (_, last))| !grp.cluster && *last == r);
        let mut below_of: Vec<(usize, usize, f64)> = Vec::new();
        let mut sy = y;
        for i in stack {
            let own = own_box(m, g, &g.cells[i], sy);
            sy += own.h + STACK_GAP;
            let c = &g.cells[i];
            below_of.push((c.a, c.b, own.y + own.h + V_GAP + FRAME_PAD));
            g.cells[i].own = Some(own);
        }
        for i in 0..g.cells.len() {
            let c = &g.cells[i];
            if c.row != r || !outside(c) {
                continue;
            }
            let oy = floor[c.a..=c.b].iter().copied().fold(top, f64::max);
            let own = own_box(m, g, c, oy);
            let gap = V_GAP.max(vertical_label_room(m, &m.servers[c.server].id));
            below_of.push((c.a, c.b, own.y + own.h + gap));
            g.cells[i].own = Some(own);
        }
        for (a, b, below) in below_of {
            floor[a..=b].iter_mut().for_each(|f| *f = f.max(below));
        }
        for c in here.iter().map(|i| &g.cells[*i]) {
            let h = match m.servers[c.server].kind {
                BoxKind::Site => site_h,
                _ => box_height(m, g, c),
            };
            let gap = V_GAP.max(vertical_label_room(m, &m.servers[c.server].id));
            let below = y + h + gap + if ends_group { FRAME_PAD } else { 0.0 };
            floor[c.a..=c.b].iter_mut().for_each(|f| *f = f.max(below));
        }
    }
}

/// Whether a DNS, replication or VRRP line goes round the boxes (its ends
/// are not in consecutive rows of the same columns) rather than straight
/// down.
pub(super) fn goes_round(m: &Model, g: &Grid, e: &super::Edge) -> bool {
    let cell = |id: &str| {
        let s = m.server_of(id)?;
        g.cells.iter().find(|c| m.servers[c.server].id == s.id)
    };
    match (cell(&e.from), cell(&e.to)) {
        (Some(a), Some(b)) => b.row != a.row + 1 || b.a > a.b || a.a > b.b,
        _ => false,
    }
}

fn side_room(m: &Model, g: &Grid) -> Vec<f64> {
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

fn servers(l: &mut Layout, m: &Model, g: &Grid) {
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

fn groups(l: &mut Layout, m: &Model) {
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

/// Zones over their servers' columns; returns the bottom of the lowest.
fn zones(l: &mut Layout, m: &Model, g: &Grid, top: f64) -> f64 {
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
fn zone_label(l: &mut Layout, z: &super::Zone, k: usize) {
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

/// The title, wrapped; returns its bottom.
fn title(l: &mut Layout, m: &Model, right: f64) -> f64 {
    let mut y = MARGIN + TITLE.size * ASCENT;
    let lines = wrap(&m.title, TITLE, right - 2.0 * MARGIN);
    for line in &lines {
        l.text(MARGIN, y, line.trim_start(), TITLE, Ink::Title, None);
        y += TITLE.line();
    }
    y - TITLE.line() + TITLE.size * DESCENT
}

/// What the colours and lines mean, for what the drawing has.
fn legend(l: &mut Layout, m: &Model, top: f64, right: f64) -> f64 {
    let has = |k: EdgeKind| m.edges.iter().any(|e| e.kind == k);
    let block = |k: BlockKind| {
        m.servers
            .iter()
            .any(|s| s.blocks.iter().any(|b| b.kind == k))
    };
    let mut items: Vec<(&str, Ink)> = vec![("→ request, protocol :port", Ink::Body)];
    if has(EdgeKind::Dns) {
        items.push(("blue dashed: DNS query", Ink::Dns));
    }
    if m.servers.iter().any(|s| s.parts.iter().any(|p| p.tls_ends)) {
        items.push(("green border: TLS ends here", Ink::Tls));
    }
    if has(EdgeKind::Replication) {
        items.push(("green dashed: replication", Ink::Replication));
    }
    if has(EdgeKind::Vrrp) {
        items.push(("purple: virtual IP, VRRP", Ink::Vrrp));
    }
    if block(BlockKind::Firewall) {
        items.push(("red dashed border: firewall (ufw)", Ink::Firewall));
    }
    if block(BlockKind::Monitoring) {
        items.push(("amber: monitoring", Ink::Monitoring));
    }
    let mut x = MARGIN;
    let mut y = top + BODY.size * ASCENT;
    for (text, ink) in items {
        let w = BODY.width(text);
        if x > MARGIN && x + w > right - MARGIN {
            x = MARGIN;
            y += BODY.line();
        }
        l.text(x, y, text, BODY, ink, None);
        x += w + 18.0;
    }
    y + BODY.size * DESCENT
}

/// Pads the drawing to A4's proportions, centred.
fn to_page(l: &mut Layout) {
    let ratio = std::f64::consts::SQRT_2;
    let (w, h) = (l.width, l.height);
    let (nw, nh) = if w / h > ratio {
        (w, w / ratio)
    } else {
        (h * ratio, h)
    };
    let (dx, dy) = (((nw - w) / 2.0).floor(), ((nh - h) / 2.0).floor());
    for b in &mut l.boxes {
        b.rect.x += dx;
        b.rect.y += dy;
    }
    for t in &mut l.texts {
        t.x += dx;
        t.y += dy;
    }
    for e in &mut l.edges {
        for p in &mut e.points {
            p.0 += dx;
            p.1 += dy;
        }
    }
    l.width = nw.ceil();
    l.height = nh.ceil();
}
