//! How big each piece of a server's box is: a part, the header (name and
//! addresses), the blocks of text under the parts as wrapped to their
//! column, and so the box itself. Pure measures on the model and the grid.

use crate::diagram::draw::Ink;
use crate::diagram::geometry::{BODY, BOLD_BODY, INSET, PART, PART_PAD, SERVER, TEXT_PAD};
use crate::diagram::grid::{Cell, Grid, Own};
use crate::diagram::text::{wrap, Font};
use crate::diagram::{Block, BlockKind, Model, Part, ServerBox};

/// Lines of text in a part: its title, its lines, "TLS ends here".
fn part_lines(p: &Part) -> usize {
    1 + p.lines.len() + usize::from(p.tls_ends)
}

/// Height of a part's box.
pub(super) fn part_height(p: &Part) -> f64 {
    PART_PAD * 2.0 + PART.line() + (part_lines(p) - 1) as f64 * BODY.line()
}

/// Width of a part's box, for its widest line.
pub(super) fn part_width(p: &Part) -> f64 {
    let lines = p.lines.iter().map(|l| BODY.width(l));
    let w = lines
        .chain([PART.width(&p.title), BOLD_BODY.width("TLS ends here")])
        .fold(0.0, f64::max);
    w + 2.0 * TEXT_PAD
}

/// A server's name and its address lines, each in its font.
pub(super) fn header_lines(s: &ServerBox) -> Vec<(String, Font)> {
    let mut v = vec![(s.title.clone(), SERVER)];
    v.extend(s.addresses.iter().map(|a| (a.clone(), BODY)));
    v
}

/// Height of a server's name and addresses.
pub(super) fn header_height(s: &ServerBox) -> f64 {
    SERVER.line() + s.addresses.len() as f64 * BODY.line()
}

/// Blocks of a server by the column they are written in: one block per
/// column across a wide server, the rest stacked in its last column.
pub(super) fn block_cells(c: &Cell, s: &ServerBox) -> Vec<(usize, Vec<usize>)> {
    let n = c.b - c.a + 1;
    let mut out: Vec<(usize, Vec<usize>)> = (0..n).map(|i| (c.a + i, vec![])).collect();
    for (i, _) in s.blocks.iter().enumerate() {
        out[i.min(n - 1)].1.push(i);
    }
    out.retain(|(_, v)| !v.is_empty());
    out
}

/// The lines of a block wrapped to `width`: (text, font, ink).
pub(super) fn block_text(b: &Block, width: f64) -> Vec<(String, Font, Ink)> {
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
pub(super) fn box_height(m: &Model, g: &Grid, c: &Cell) -> f64 {
    box_height_in(m, g, c, g.header_h[c.row], g.part_h[c.row])
}

/// Natural height of a server's box with the given header and parts bands.
fn box_height_in(m: &Model, g: &Grid, c: &Cell, header: f64, part: f64) -> f64 {
    let blocks = blocks_height(m, g, c);
    INSET + header + 4.0 + part + if blocks > 0.0 { 8.0 + blocks } else { 0.0 } + INSET
}

/// The box of a cluster's node stacked in its column, from `y`: its own
/// header and parts bands.
pub(super) fn own_box(m: &Model, g: &Grid, c: &Cell, y: f64) -> Own {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagram::fixture::{model, part, site};
    use crate::diagram::Tier;

    fn block(kind: BlockKind, title: Option<&str>, lines: &[&str]) -> Block {
        Block {
            kind,
            title: title.map(str::to_string),
            lines: lines.iter().map(|l| l.to_string()).collect(),
        }
    }

    #[test]
    fn a_part_is_as_tall_as_its_lines_and_as_wide_as_the_widest() {
        let mut p = part("web-01", "nginx", Tier::Web);
        // Title alone: 6 + 16 + 6.
        assert_eq!(part_height(&p), 28.0);
        p.lines = vec!["a".into(), "b".into()];
        p.tls_ends = true;
        // Title, two lines and "TLS ends here", 15 apart.
        assert_eq!(part_height(&p), 73.0);
        // Room for "TLS ends here" is always kept.
        let tls = BOLD_BODY.width("TLS ends here");
        assert_eq!(part_width(&p), tls + 14.0);
        let long = "proxy_pass http://app-01:8000 and more";
        p.lines.push(long.into());
        assert_eq!(part_width(&p), BODY.width(long) + 14.0);
    }

    #[test]
    fn a_header_is_the_name_then_one_line_per_address() {
        let mut s = site("web-01", &[]);
        assert_eq!(header_height(&s), 17.0);
        s.addresses = vec!["10.0.0.1 (public)".into(), "10.1.0.1 (private)".into()];
        assert_eq!(header_height(&s), 47.0);
        let lines = header_lines(&s);
        assert_eq!(lines[0], ("web-01".to_string(), SERVER));
        assert_eq!(lines[2], ("10.1.0.1 (private)".to_string(), BODY));
    }

    #[test]
    fn blocks_go_one_a_column_the_rest_stacked_in_the_last() {
        let mut s = site("server-01", &[]);
        s.blocks = (0..3)
            .map(|_| block(BlockKind::Note, None, &["x"]))
            .collect();
        let wide = Cell {
            server: 0,
            row: 0,
            a: 2,
            b: 3,
            own: None,
        };
        assert_eq!(block_cells(&wide, &s), [(2, vec![0]), (3, vec![1, 2])]);
        let narrow = Cell { a: 1, b: 1, ..wide };
        assert_eq!(block_cells(&narrow, &s), [(1, vec![0, 1, 2])]);
        s.blocks.clear();
        assert!(block_cells(&narrow, &s).is_empty());
    }

    #[test]
    fn a_firewall_letting_one_thing_in_says_so_on_one_line_where_it_fits() {
        let fw = block(
            BlockKind::Firewall,
            Some("firewall lets in"),
            &["22 ← anyone"],
        );
        let one = block_text(&fw, 200.0);
        assert_eq!(
            one,
            [("firewall: 22 ← anyone".into(), BOLD_BODY, Ink::Firewall)]
        );
        let narrow = block_text(&fw, 100.0);
        assert_eq!(
            narrow,
            [
                ("firewall lets in".into(), BOLD_BODY, Ink::Firewall),
                ("22 ← anyone".into(), BODY, Ink::Body),
            ]
        );
        let mon = block(BlockKind::Monitoring, None, &["exporters :9100"]);
        assert_eq!(
            block_text(&mon, 200.0),
            [("exporters :9100".into(), BODY, Ink::Monitoring)]
        );
    }

    #[test]
    fn an_allow_line_breaks_before_its_arrow_first() {
        let line = "80, 443 ← lb-01, lb-02";
        let width = BODY.width("  ← lb-01, lb-02") + 1.0;
        assert!(BODY.width(line) > width);
        assert_eq!(wrap_allow(line, width), ["80, 443", "  ← lb-01, lb-02"]);
        assert_eq!(wrap_allow(line, 500.0), [line]);
        // Not an allow line: wrapped at spaces.
        assert_eq!(wrap_allow("one two", 1.0), ["one", "  two"]);
    }

    #[test]
    fn a_box_holds_its_header_parts_and_blocks_with_insets() {
        let mut m = model(vec![site("web-01", &[("nginx", Tier::Web)])], vec![]);
        let g = Grid {
            cols: vec![(0.0, 200.0)],
            ..Grid::default()
        };
        let c = Cell {
            server: 0,
            row: 0,
            a: 0,
            b: 0,
            own: None,
        };
        // 8 + header 17 + 4 + part 28 + 8.
        let own = own_box(&m, &g, &c, 30.0);
        assert_eq!(
            own,
            Own {
                y: 30.0,
                h: 65.0,
                header: 17.0,
                part: 28.0
            }
        );
        // Two block lines add 8 + 2 × 15.
        m.servers[0].blocks = vec![block(BlockKind::Note, None, &["a", "b"])];
        assert_eq!(own_box(&m, &g, &c, 30.0).h, 65.0 + 38.0);
    }
}
