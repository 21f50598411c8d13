//! What a layout is made of: rectangles, boxes, texts with their fonts and
//! colours' meaning, edges as polylines. The SVG writer draws these; the
//! checks measure them.

use super::text::{Font, ASCENT, DESCENT};
use super::{BoxKind, EdgeKind};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn right(&self) -> f64 {
        self.x + self.w
    }

    pub fn bottom(&self) -> f64 {
        self.y + self.h
    }

    pub fn mid_y(&self) -> f64 {
        self.y + self.h / 2.0
    }

    pub fn intersects(&self, o: &Rect) -> bool {
        self.x < o.right() && o.x < self.right() && self.y < o.bottom() && o.y < self.bottom()
    }

    /// `o` lies wholly inside.
    pub fn contains(&self, o: &Rect) -> bool {
        o.x >= self.x && o.y >= self.y && o.right() <= self.right() && o.bottom() <= self.bottom()
    }

    pub fn inflate(&self, d: f64) -> Rect {
        Rect {
            x: self.x - d,
            y: self.y - d,
            w: self.w + 2.0 * d,
            h: self.h + 2.0 * d,
        }
    }

    /// Whether the segment from `a` to `b` passes through the rectangle.
    pub fn hit_by(&self, a: (f64, f64), b: (f64, f64)) -> bool {
        // Liang–Barsky clipping.
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let mut t = (0.0f64, 1.0f64);
        for (p, q) in [
            (-dx, a.0 - self.x),
            (dx, self.right() - a.0),
            (-dy, a.1 - self.y),
            (dy, self.bottom() - a.1),
        ] {
            if p == 0.0 {
                if q <= 0.0 {
                    return false;
                }
            } else {
                let r = q / p;
                if p < 0.0 {
                    t.0 = t.0.max(r);
                } else {
                    t.1 = t.1.min(r);
                }
                if t.0 >= t.1 {
                    return false;
                }
            }
        }
        true
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoxClass {
    Zone,
    /// Servers sharing a virtual IP.
    Group,
    Server,
    /// A component inside a server.
    Part,
}

#[derive(Debug, Clone)]
pub struct DrawBox {
    pub id: String,
    pub class: BoxClass,
    pub rect: Rect,
    /// For zones: public or private; for servers: firewalled; for parts:
    /// TLS ends there.
    pub flag: bool,
    /// Server boxes: the kind; others: `Site`.
    pub kind: BoxKind,
    /// The networks a server is on; a zone's network.
    pub networks: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    End,
}

/// What a piece of text is, which says its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ink {
    Title,
    Body,
    Muted,
    Zone,
    Firewall,
    Monitoring,
    Vrrp,
    Tls,
    Replication,
    Dns,
}

#[derive(Debug, Clone)]
pub struct DrawText {
    pub x: f64,
    /// Baseline.
    pub y: f64,
    pub text: String,
    pub font: Font,
    pub anchor: Anchor,
    pub ink: Ink,
    /// The box it is written in; none for edge labels, the title and the
    /// legend.
    pub owner: Option<String>,
}

impl DrawText {
    pub fn rect(&self) -> Rect {
        let w = self.font.width(&self.text);
        let x = match self.anchor {
            Anchor::Start => self.x,
            Anchor::End => self.x - w,
        };
        Rect {
            x,
            y: self.y - ASCENT * self.font.size,
            w,
            h: (ASCENT + DESCENT) * self.font.size,
        }
    }
}

#[derive(Debug, Clone)]
pub struct DrawEdge {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
    pub points: Vec<(f64, f64)>,
    pub arrow: bool,
}

impl DrawEdge {
    pub fn segments(&self) -> impl Iterator<Item = ((f64, f64), (f64, f64))> + '_ {
        self.points.windows(2).map(|w| (w[0], w[1]))
    }
}

/// The laid-out drawing.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    pub boxes: Vec<DrawBox>,
    pub texts: Vec<DrawText>,
    pub edges: Vec<DrawEdge>,
}

impl Layout {
    pub fn rect_of(&self, id: &str) -> Option<Rect> {
        self.boxes.iter().find(|b| b.id == id).map(|b| b.rect)
    }

    pub(super) fn text(
        &mut self,
        x: f64,
        y: f64,
        text: &str,
        font: Font,
        ink: Ink,
        owner: Option<&str>,
    ) {
        self.texts.push(DrawText {
            x,
            y,
            text: text.to_string(),
            font,
            anchor: Anchor::Start,
            ink,
            owner: owner.map(str::to_string),
        });
    }
}
