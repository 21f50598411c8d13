//! Text metrics: how wide a line is in DejaVu Sans, the first font the SVG
//! asks for (Debian's Chromium and most Linux desktops have it), so boxes
//! fit their text and labels can be kept clear of edges without a browser.
//! The widths were measured in Chromium from the font itself; the fonts
//! further down the SVG's list (Helvetica, Arial) are narrower, so a box
//! sized here is never too small for them.

/// Advance widths of ASCII 32..=126, in thousandths of an em.
const REGULAR: [u16; 95] = [
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, //
    636, 636, 636, 636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, //
    1000, 684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787, //
    603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390, 337, 390, 838, 500, //
    500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612, //
    635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838,
];

const BOLD: [u16; 95] = [
    348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, //
    696, 696, 696, 696, 696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 580, //
    1000, 774, 762, 734, 830, 683, 683, 821, 837, 372, 372, 775, 637, 995, 837, 850, //
    733, 850, 770, 720, 682, 812, 774, 1103, 771, 724, 725, 457, 365, 457, 838, 500, //
    500, 675, 716, 593, 716, 678, 435, 716, 712, 343, 343, 665, 343, 1042, 712, 687, //
    716, 716, 493, 595, 478, 712, 652, 924, 645, 652, 582, 712, 365, 712, 838,
];

/// Height above the baseline of a line's box, in ems (DejaVu's ascent).
pub const ASCENT: f64 = 0.93;
/// Depth below the baseline, in ems.
pub const DESCENT: f64 = 0.24;

/// A text style: size in SVG units, and weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Font {
    pub size: f64,
    pub bold: bool,
}

impl Font {
    pub const fn regular(size: f64) -> Font {
        Font { size, bold: false }
    }

    pub const fn bold(size: f64) -> Font {
        Font { size, bold: true }
    }

    /// The width of `s` set in this font.
    pub fn width(self, s: &str) -> f64 {
        let table = if self.bold { &BOLD } else { &REGULAR };
        let milli: u32 = s
            .chars()
            .map(|c| match c as u32 {
                32..=126 => u32::from(table[c as usize - 32]),
                // Arrows and the like (←, →): DejaVu draws them 0.838 em.
                _ => 838,
            })
            .sum();
        f64::from(milli) * self.size / 1000.0
    }

    /// Distance from one baseline to the next.
    pub fn line(self) -> f64 {
        (self.size * 1.3).ceil()
    }
}

/// `s` broken into lines no wider than `max`, at spaces; a line after the
/// first is indented by two spaces. A word wider than `max` stays whole.
pub fn wrap(s: &str, font: Font, max: f64) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in s.split(' ') {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if !line.is_empty() && font.width(&candidate) > max {
            out.push(std::mem::take(&mut line));
            line = format!("  {word}");
        } else {
            line = candidate;
        }
    }
    out.push(line);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_add_up_per_character() {
        let f = Font::regular(10.0);
        assert_eq!(f.width("a"), 6.13);
        assert!(
            (f.width("HTTP :80") - 45.04).abs() < 0.01,
            "{}",
            f.width("HTTP :80")
        );
        assert!(Font::bold(10.0).width("a") > f.width("a"));
    }

    #[test]
    fn wrap_breaks_at_spaces_and_indents() {
        let f = Font::regular(10.0);
        let lines = wrap("3306/tcp ← app-01, app-02, db-02", f, 110.0);
        assert_eq!(lines, ["3306/tcp ← app-01,", "  app-02, db-02"]);
        assert!(lines.iter().all(|l| f.width(l) <= 110.0));
        assert_eq!(wrap("short", f, 100.0), ["short"]);
    }

    #[test]
    fn characters_outside_ascii_measure_as_an_arrow() {
        let f = Font::regular(10.0);
        assert_eq!(f.width("←"), 8.38);
        assert_eq!(f.width("é"), 8.38);
        assert_eq!(Font::bold(10.0).width("→"), 8.38);
        assert_eq!(f.width(""), 0.0);
    }

    #[test]
    fn a_line_is_130_percent_of_the_size_rounded_up() {
        assert_eq!(Font::regular(11.0).line(), 15.0);
        assert_eq!(Font::bold(13.0).line(), 17.0);
        assert_eq!(Font::regular(10.0).line(), 13.0);
    }

    #[test]
    fn a_word_wider_than_the_line_stays_whole() {
        let f = Font::regular(10.0);
        let lines = wrap("a www.a-very-long-domain.example b", f, 30.0);
        assert_eq!(lines, ["a", "  www.a-very-long-domain.example", "  b"]);
    }
}
