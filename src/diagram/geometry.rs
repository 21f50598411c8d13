//! The drawing's measures, shared by every step that places something: the
//! page it must print on, the fonts, and the spacings between boxes, lines
//! and labels. Layout, routing and the checks all read them here, so none
//! of them has to ask another for a number.

use super::text::Font;

/// The rule every layout keeps, checked by `check::problems`: the drawing has
/// A4's proportions (width:height = √2, within 2 %), and printed on the
/// 277 × 190 mm printable area of a landscape A4 page, its smallest text is
/// at least 7 pt.
pub const PAGE_RULE: &str =
    "aspect √2 (A4 landscape) ± 2 %; scaled into 277 × 190 mm, no text under 7 pt";

/// Printable area of a landscape A4 page in points (277 × 190 mm).
pub(super) const PRINT_W_PT: f64 = 277.0 / 25.4 * 72.0;
pub(super) const PRINT_H_PT: f64 = 190.0 / 25.4 * 72.0;
/// The smallest text allowed on the printed page, in points.
pub(super) const MIN_PT: f64 = 7.0;

/// Lines of parts and blocks.
pub(super) const BODY: Font = Font::regular(11.0);
/// Edge labels.
pub(super) const LABEL: Font = Font::regular(11.0);
/// Block titles, one-line firewalls, "TLS ends here".
pub(super) const BOLD_BODY: Font = Font::bold(11.0);
/// A server's name.
pub(super) const SERVER: Font = Font::bold(13.0);
/// A part's or a group's title.
pub(super) const PART: Font = Font::bold(12.0);
/// A zone's name.
pub(super) const ZONE: Font = Font::bold(12.0);
/// The drawing's title.
pub(super) const TITLE: Font = Font::bold(15.0);

/// Around the whole drawing.
pub(super) const MARGIN: f64 = 12.0;
/// Between a server's border and its parts and text.
pub(super) const INSET: f64 = 8.0;
/// Between a part's border and its title, above and below.
pub(super) const PART_PAD: f64 = 6.0;
/// Between a part's border and its text.
pub(super) const TEXT_PAD: f64 = 7.0;
/// Between a group's frame and its servers.
pub(super) const FRAME_PAD: f64 = 8.0;
/// Between a zone's border and its servers, for the innermost zone.
pub(super) const ZONE_PAD: f64 = 6.0;
/// Each further zone's border sits this much further out (or in).
pub(super) const ZONE_STEP: f64 = 5.0;
/// The height of a zone's name band.
pub(super) const ZONE_BAND: f64 = 22.0;
/// Between a box and the box under it.
pub(super) const V_GAP: f64 = 28.0;
/// Between the stacked nodes of a cluster.
pub(super) const STACK_GAP: f64 = 14.0;
/// Between a gap's reserved room and its first bus.
pub(super) const BUS_OFF: f64 = 6.0;
/// Between two buses of one gap.
pub(super) const BUS_STEP: f64 = 6.0;
/// Between a label and the line it labels.
pub(super) const LABEL_GAP: f64 = 4.0;
/// How far right of the boxes a line going round them runs.
pub(super) const SIDE_OFF: f64 = 12.0;

/// How far zone `k` of `n` reaches past its servers: the first zone
/// outermost, so where two zones cover the same servers they nest.
pub(super) fn zone_pad(k: usize, n: usize) -> f64 {
    ZONE_PAD + ZONE_STEP * (n - 1 - k) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printable_area_is_277_by_190_mm_in_points() {
        assert!((PRINT_W_PT - 785.20).abs() < 0.01, "{PRINT_W_PT}");
        assert!((PRINT_H_PT - 538.58).abs() < 0.01, "{PRINT_H_PT}");
    }

    #[test]
    fn the_first_zone_reaches_furthest_and_the_last_least() {
        assert_eq!(zone_pad(0, 3), ZONE_PAD + 2.0 * ZONE_STEP);
        assert_eq!(zone_pad(1, 3), ZONE_PAD + ZONE_STEP);
        assert_eq!(zone_pad(2, 3), ZONE_PAD);
        assert_eq!(zone_pad(0, 1), ZONE_PAD);
    }
}
