//! The diagrams as a browser lays them out. Each seed stack's SVG goes into
//! one HTML page with a script that measures, in headless Chromium, every
//! box (`getBBox`), every text and every edge (sampled each pixel along the
//! path with `getPointAtLength`), and writes the numbers into the page; the
//! test reads them back (`--dump-dom`) and checks, strictly:
//!
//! - no text crosses an edge, another text, or the border of a box; no
//!   text sits inside a component box that is not its own; a box's text
//!   stays inside it;
//! - no edge runs through a component box;
//! - each server lies inside the zone of every network it is on, and
//!   outside the others;
//! - the page rule (`infractl::diagram::PAGE_RULE`): A4's proportions, and
//!   printed on the 277 × 190 mm printable area of a landscape A4 page, no
//!   text smaller than 7 pt.
//!
//! Needs no Docker engine, only Chromium (Debian's `chromium`, which
//! `scripts/setup.sh` installs): `#[ignore]`d with that reason, and run by
//! `cargo test -- --include-ignored` (CI), where a missing Chromium fails it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::Test;

const STACKS: [&str; 5] = ["task0", "task1", "task2", "task3", "task4"];

/// Printable area of a landscape A4 page, in points.
const PRINT_W_PT: f64 = 277.0 / 25.4 * 72.0;
const PRINT_H_PT: f64 = 190.0 / 25.4 * 72.0;

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

/// The script that measures each drawing and writes the numbers as JSON
/// into `<pre id="result">`.
const MEASURE: &str = r#"
const out = {};
for (const div of document.querySelectorAll('div[data-stack]')) {
  const svg = div.querySelector('svg');
  const r = { width: +svg.getAttribute('width'), height: +svg.getAttribute('height'),
              boxes: [], texts: [], edges: [] };
  const bbox = (e) => { const b = e.getBBox(); return [b.x, b.y, b.width, b.height]; };
  for (const b of svg.querySelectorAll('rect.box')) {
    r.boxes.push({ id: b.dataset.id, class: b.classList[1],
                   networks: (b.dataset.networks || '').split(' ').filter(x => x),
                   rect: bbox(b) });
  }
  for (const t of svg.querySelectorAll('text')) {
    r.texts.push({ text: t.textContent, owner: t.dataset.owner || null,
                   size: parseFloat(getComputedStyle(t).fontSize), rect: bbox(t) });
  }
  for (const p of svg.querySelectorAll('path.edge')) {
    const n = p.getTotalLength(), pts = [];
    for (let i = 0; i < n; i += 1) { const q = p.getPointAtLength(i); pts.push([q.x, q.y]); }
    const q = p.getPointAtLength(n); pts.push([q.x, q.y]);
    r.edges.push({ from: p.dataset.from, to: p.dataset.to, points: pts });
  }
  out[div.dataset.stack] = r;
}
document.getElementById('result').textContent = JSON.stringify(out);
"#;

/// Runs Chromium on the page and returns the JSON the script wrote.
fn measure(bin: &Path, dir: &Path, svgs: &[(&str, String)]) -> serde_json::Value {
    let mut html =
        String::from("<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>\n");
    for (stack, svg) in svgs {
        html.push_str(&format!("<div data-stack=\"{stack}\">\n{svg}</div>\n"));
    }
    html.push_str(&format!(
        "<pre id=\"result\"></pre>\n<script>{MEASURE}</script></body></html>\n"
    ));
    let page = dir.join("page.html");
    std::fs::write(&page, html).unwrap();
    // The page comes back large (every sampled point): to a file, not a
    // pipe that would fill up while we wait.
    let dump = dir.join("dom.html");
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdout(std::fs::File::create(&dump).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let dom = std::fs::read_to_string(&dump).unwrap();
    let json = dom
        .split("<pre id=\"result\">")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .unwrap_or_else(|| panic!("no measurements in Chromium's page:\n{dom}"));
    let json = json
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("bad JSON from the page: {e}\n{json}"))
}

#[derive(Debug, Clone, Copy)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Rect {
    fn of(v: &serde_json::Value) -> Rect {
        let n = |i: usize| v[i].as_f64().unwrap();
        Rect {
            x: n(0),
            y: n(1),
            w: n(2),
            h: n(3),
        }
    }

    fn intersects(&self, o: &Rect) -> bool {
        self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
    }

    fn contains(&self, o: &Rect) -> bool {
        o.x >= self.x - 0.01
            && o.y >= self.y - 0.01
            && o.x + o.w <= self.x + self.w + 0.01
            && o.y + o.h <= self.y + self.h + 0.01
    }

    fn has_point(&self, p: (f64, f64)) -> bool {
        p.0 > self.x && p.0 < self.x + self.w && p.1 > self.y && p.1 < self.y + self.h
    }

    fn inflate(&self, d: f64) -> Rect {
        Rect {
            x: self.x - d,
            y: self.y - d,
            w: self.w + 2.0 * d,
            h: self.h + 2.0 * d,
        }
    }
}

struct Text {
    text: String,
    owner: Option<String>,
    size: f64,
    rect: Rect,
}

struct BoxOf {
    id: String,
    class: String,
    networks: Vec<String>,
    rect: Rect,
}

struct EdgeOf {
    name: String,
    points: Vec<(f64, f64)>,
}

struct Drawing {
    width: f64,
    height: f64,
    boxes: Vec<BoxOf>,
    texts: Vec<Text>,
    edges: Vec<EdgeOf>,
}

fn drawing(v: &serde_json::Value) -> Drawing {
    let list = |k: &str| v[k].as_array().unwrap().clone();
    Drawing {
        width: v["width"].as_f64().unwrap(),
        height: v["height"].as_f64().unwrap(),
        boxes: list("boxes")
            .iter()
            .map(|b| BoxOf {
                id: b["id"].as_str().unwrap().into(),
                class: b["class"].as_str().unwrap().into(),
                networks: b["networks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n.as_str().unwrap().to_string())
                    .collect(),
                rect: Rect::of(&b["rect"]),
            })
            .collect(),
        texts: list("texts")
            .iter()
            .map(|t| Text {
                text: t["text"].as_str().unwrap().into(),
                owner: t["owner"].as_str().map(str::to_string),
                size: t["size"].as_f64().unwrap(),
                rect: Rect::of(&t["rect"]),
            })
            .collect(),
        edges: list("edges")
            .iter()
            .map(|e| EdgeOf {
                name: format!(
                    "{} -> {}",
                    e["from"].as_str().unwrap(),
                    e["to"].as_str().unwrap()
                ),
                points: e["points"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
                    .collect(),
            })
            .collect(),
    }
}

/// The page rule: A4's proportions; the smallest text at least 7 pt when
/// the drawing is fitted to a landscape A4 page's printable area.
fn page_problems(d: &Drawing) -> Vec<String> {
    let mut out = Vec::new();
    let aspect = d.width / d.height;
    if (aspect / std::f64::consts::SQRT_2 - 1.0).abs() > 0.02 {
        out.push(format!("aspect {aspect:.3}, not A4's 1.414"));
    }
    let scale = (PRINT_W_PT / d.width).min(PRINT_H_PT / d.height);
    for t in &d.texts {
        if t.size * scale < 7.0 {
            out.push(format!("`{}` prints at {:.2} pt", t.text, t.size * scale));
        }
        let page = Rect {
            x: 0.0,
            y: 0.0,
            w: d.width,
            h: d.height,
        };
        if !page.contains(&t.rect) {
            out.push(format!("`{}` is off the page", t.text));
        }
    }
    out
}

fn text_problems(d: &Drawing) -> Vec<String> {
    let mut out = Vec::new();
    for (i, t) in d.texts.iter().enumerate() {
        for u in &d.texts[i + 1..] {
            if t.rect.intersects(&u.rect) {
                out.push(format!("`{}` overlaps `{}`", t.text, u.text));
            }
        }
        let near = t.rect.inflate(1.0);
        for e in &d.edges {
            if e.points.iter().any(|p| near.has_point(*p)) {
                out.push(format!("`{}` is crossed by the edge {}", t.text, e.name));
            }
        }
        for b in &d.boxes {
            let own = t.owner.as_deref() == Some(b.id.as_str());
            if own && !b.rect.contains(&t.rect) {
                out.push(format!("`{}` sticks out of its box {}", t.text, b.id));
            }
            if !own && b.rect.intersects(&t.rect) {
                if !b.rect.contains(&t.rect) {
                    out.push(format!("`{}` crosses the border of {}", t.text, b.id));
                } else if b.class == "part" {
                    out.push(format!("`{}` lies on the component {}", t.text, b.id));
                }
            }
        }
    }
    out
}

fn box_problems(d: &Drawing) -> Vec<String> {
    let mut out = Vec::new();
    for e in &d.edges {
        for b in d.boxes.iter().filter(|b| b.class == "part") {
            let inner = b.rect.inflate(-1.5);
            if e.points.iter().any(|p| inner.has_point(*p)) {
                out.push(format!(
                    "the edge {} runs through the component {}",
                    e.name, b.id
                ));
            }
        }
    }
    for z in d.boxes.iter().filter(|b| b.class == "zone") {
        for s in d.boxes.iter().filter(|b| b.class == "server") {
            let member = s.networks.contains(&z.networks[0]);
            if member != z.rect.contains(&s.rect) {
                out.push(format!(
                    "server {} is {} zone {}",
                    s.id,
                    if member { "outside its" } else { "inside" },
                    z.id
                ));
            }
        }
    }
    out
}

#[test]
#[ignore = "needs Chromium (scripts/setup.sh installs Debian's `chromium`)"]
fn no_label_crosses_an_edge_or_a_box_in_chromium() {
    let bin = chromium().expect(
        "chromium is not installed: the diagram check needs it (scripts/setup.sh installs Debian's `chromium`)",
    );
    // A browser's CPU must not share the cores with a lab's timing checks.
    let _lab = crate::up::lab_lock();
    let t = Test::new();
    let svgs: Vec<(&str, String)> = STACKS
        .iter()
        .map(|s| {
            let file = format!("{s}.svg");
            t.run_args(&["diagram", s, "-o", &file]).code(0);
            (*s, std::fs::read_to_string(t.dir().join(&file)).unwrap())
        })
        .collect();
    let measured = measure(&bin, t.dir(), &svgs);
    let mut all = Vec::new();
    for s in STACKS {
        let d = drawing(&measured[s]);
        assert!(
            !d.texts.is_empty() && !d.edges.is_empty(),
            "{s}: nothing measured"
        );
        for p in page_problems(&d)
            .into_iter()
            .chain(text_problems(&d))
            .chain(box_problems(&d))
        {
            all.push(format!("{s}: {p}"));
        }
    }
    assert!(all.is_empty(), "{}", all.join("\n"));
}

#[test]
fn the_svg_parses_and_names_every_server() {
    for stack in STACKS {
        let t = Test::new();
        t.run_args(&["diagram", stack, "-o", "d.svg"]).code(0);
        let text = std::fs::read_to_string(t.dir().join("d.svg")).unwrap();
        let doc = roxmltree::Document::parse(&text)
            .unwrap_or_else(|e| panic!("{stack}: SVG does not parse: {e}"));
        let ids: Vec<&str> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("node"))
            .filter_map(|n| n.attribute("id"))
            .collect();
        let list = Test::new()
            .args(&["render", stack, "--out", "o", "--json"])
            .run()
            .code(0);
        let plan: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
        for s in plan["servers"].as_array().unwrap() {
            let name = s["name"].as_str().unwrap();
            assert!(
                ids.contains(&name),
                "{stack}: the diagram has no box for {name}"
            );
        }
    }
}

#[test]
fn mermaid_and_dot_carry_the_same_graph() {
    let dot = Test::new()
        .args(&["diagram", "task1", "--format", "dot"])
        .run()
        .code(0);
    for want in [
        "\"lb-01/haproxy\" -> \"server-01/nginx\" [label=\"HTTP :80\"];",
        "\"server-01/nginx\" -> \"server-01/app\" [label=\"HTTP :8000\"];",
        "\"server-02/app\" -> \"server-01/mariadb\" [label=\"SQL :3306\\nwrites\"];",
        "subgraph \"cluster_zone_public\" { label=\"the Internet: public network 10.101.0.0/24\";",
    ] {
        assert!(
            dot.stdout.contains(want),
            "dot lacks {want}:\n{}",
            dot.stdout
        );
    }
    let mmd = Test::new()
        .args(&["diagram", "task3", "--format", "mermaid"])
        .run()
        .code(0);
    for want in [
        "flowchart LR",
        "subgraph vip_10_103_0_100[\"<b>virtual IP</b><br/>10.103.0.100<br/>VRRP, active-passive\"]",
        "lb_01_haproxy -->|\"HTTP :80\"| web_01_nginx",
        "80 ← lb-01, lb-02",
        "style lb_01_haproxy stroke:#1a7f37",
    ] {
        assert!(
            mmd.stdout.contains(want),
            "mermaid lacks {want}:\n{}",
            mmd.stdout
        );
    }
}
