// The monitoring tab: the lab's Prometheus asked every 2 s while the tab
// is open; requests per second of each web server drawn as lines over the
// last two minutes, each one's share of errors (5xx, as the load balancers
// count its answers), the site's, and the alerts firing beside them.
"use strict";
(function () {
  const chart = document.getElementById("qps");
  if (!chart) return; // a stage without monitoring
  const url = "/lab/" + encodeURIComponent(document.body.dataset.lab) + "/monitoring";
  const colours = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989"];
  const keep = 60;
  const series = {};
  const svg = (tag, attrs) => {
    const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  };

  function draw() {
    const names = Object.keys(series).sort();
    const top = Math.max(1, ...names.flatMap((n) => series[n]));
    chart.textContent = "";
    const [w, h, left, bottom] = [600, 220, 40, 200];
    for (const f of [0, 0.5, 1]) {
      const y = bottom - f * (bottom - 10);
      chart.appendChild(svg("line", { x1: left, x2: w, y1: y, y2: y, stroke: "#d0d5dd" }));
      const label = svg("text", { x: left - 4, y: y + 4, "text-anchor": "end", "font-size": 11, fill: "#667085" });
      label.textContent = (top * f).toFixed(top < 10 ? 1 : 0);
      chart.appendChild(label);
    }
    names.forEach((n, i) => {
      const pts = series[n].map((v, j) => [left + (w - left) * (j + keep - series[n].length) / (keep - 1), bottom - (v / top) * (bottom - 10)]);
      chart.appendChild(svg("polyline", { points: pts.map((p) => p.join(",")).join(" "), fill: "none", stroke: colours[i % colours.length], "stroke-width": 2 }));
    });
    void h;
  }

  async function look() {
    if (document.getElementById("tab-monitoring").hidden) return;
    let body;
    try {
      const r = await fetch(url, { cache: "no-store" });
      if (!r.ok) throw new Error((await r.text()).trim());
      body = await r.json();
    } catch (err) {
      document.getElementById("qps-now").textContent = "the monitoring does not answer: " + err.message;
      return;
    }
    const seen = new Set();
    for (const [server, qps] of body.qps) {
      seen.add(server);
      (series[server] = series[server] || []).push(qps);
    }
    for (const n of Object.keys(series)) {
      if (!seen.has(n)) series[n].push(0);
      if (series[n].length > keep) series[n].shift();
    }
    draw();
    const names = Object.keys(series).sort();
    const now = document.getElementById("qps-now");
    now.textContent = "";
    names.forEach((n, i) => {
      const span = document.createElement("span");
      span.style.color = colours[i % colours.length];
      const failed = body.server_errors.find(([server]) => server === n);
      const share = failed ? ", " + (failed[1] * 100).toFixed(1) + " % 5xx" : "";
      span.textContent = "■ " + n + " " + series[n][series[n].length - 1].toFixed(1) + " req/s" + share + "   ";
      now.appendChild(span);
    });
    const errors = document.createElement("span");
    errors.textContent = body.errors === null ? "the site: no traffic" : "the site: " + (body.errors * 100).toFixed(1) + " % 5xx";
    now.appendChild(errors);
    if (body.problem) now.appendChild(document.createTextNode(" · " + body.problem));
    const list = document.getElementById("alerts");
    list.textContent = "";
    for (const a of body.alerts) {
      const li = document.createElement("li");
      li.className = a.severity;
      li.textContent = a.alert + " (" + a.severity + ") on " + a.server + " for " + a.seconds + " s: " + a.summary;
      list.appendChild(li);
    }
    if (!body.alerts.length) list.innerHTML = '<li class="hint">none</li>';
  }
  setInterval(look, 2000);
  document.getElementById("tabs").addEventListener("click", () => setTimeout(look, 0));
})();
