// The instructor's grid: every lab of the class over one event stream.
"use strict";
const cls = document.body.dataset.class;
const events = new EventSource("/class/" + encodeURIComponent(cls) + "/events");
events.addEventListener("row", (e) => {
  const row = JSON.parse(e.data);
  const tr = document.querySelector('#grid tr[data-lab="' + CSS.escape(row.lab) + '"]');
  if (!tr) return;
  const v = row.view;
  const down = v.servers.filter((s) => s.state === "stopped" || s.state === "absent").map((s) => s.server);
  const unhealthy = v.servers.filter((s) => s.state === "unhealthy").map((s) => s.server);
  const state = !v.reachable ? "unreachable" : !v.up ? "down" : down.length || unhealthy.length ? "degraded" : "up";
  const cell = tr.querySelector(".state");
  cell.textContent = state;
  cell.className = "state " + (state === "up" ? "st-running" : state === "degraded" ? "st-unhealthy" : "st-stopped");
  tr.querySelector(".down").textContent = down.join(", ");
  tr.querySelector(".unhealthy").textContent = unhealthy.join(", ");
  const alerts = alertsOf(v);
  const acell = tr.querySelector(".alerts");
  acell.textContent = alerts.text;
  acell.title = alerts.title;
  acell.className = "alerts " + alerts.cls;
  tr.dataset.alerts = alerts.text;
  // When the row last changed, as this page saw it (not when it loaded).
  const now = [state, down.join(), unhealthy.join(), alerts.text].join("|");
  if (tr.dataset.shown !== undefined && tr.dataset.shown !== now) {
    tr.querySelector(".changed").textContent = new Date().toLocaleTimeString();
  }
  tr.dataset.shown = now;
  tr.dataset.down = down.join(" ");
  const conn = document.getElementById("conn");
  conn.textContent = "live";
  conn.classList.add("live");
});
function short(text) {
  return text.length > 48 ? text.slice(0, 47) + "…" : text;
}
// The alerts cell: those firing, or why none can be told. A lab that is
// down or unreachable has its state say it.
function alertsOf(v) {
  const a = v.alerts;
  if (!v.reachable || !v.up) return { text: "", title: "", cls: "" };
  if (!a) return { text: "no monitoring", title: "this stack has no monitoring server", cls: "quiet" };
  if (a.problem) return { text: short(a.problem), title: a.problem, cls: "quiet" };
  if (!a.firing) return { text: "…", title: "not read yet", cls: "quiet" };
  return { text: a.firing.join(", "), title: a.firing.join("\n"), cls: a.firing.length ? "firing" : "" };
}
events.onerror = () => {
  const conn = document.getElementById("conn");
  conn.textContent = "reconnecting…";
  conn.classList.remove("live");
};

// Scores and activity: asked for now, every 15 s, and after each action.
function ago(seconds) {
  const d = Math.max(0, Math.round(Date.now() / 1000 - seconds));
  return d < 60 ? d + " s ago" : d < 3600 ? Math.round(d / 60) + " min ago" : new Date(seconds * 1000).toLocaleString();
}
async function scores() {
  const r = await fetch("/class/" + encodeURIComponent(cls) + "/scores");
  if (!r.ok) return;
  for (const s of await r.json()) {
    const tr = document.querySelector('#grid tr[data-lab="' + CSS.escape(s.lab) + '"]');
    if (!tr) continue;
    const v = s.verify;
    tr.querySelector(".score").textContent = !v ? "" : v.error ? "not verified: " + v.error : v.passed + "/" + v.total + " (" + ago(v.time) + ")";
    tr.querySelector(".active").textContent = s.active ? ago(s.active) : "";
  }
}
scores();
setInterval(scores, 15000);

document.getElementById("grid").addEventListener("click", async (e) => {
  const button = e.target.closest("button[data-act]");
  if (!button) return;
  const lab = button.closest("tr").dataset.lab;
  const act = button.dataset.act;
  if (act === "reset" && !confirm("Reset " + lab + "? Every server is made anew; what the learner changed is lost.")) return;
  button.disabled = true;
  const cell = button.closest("tr").querySelector(".score");
  if (act === "verify") cell.textContent = "verifying…";
  try {
    const r = await fetch("/lab/" + encodeURIComponent(lab) + "/" + act, { method: "POST" });
    if (!r.ok) alert(act + " " + lab + ": " + (await r.text()));
  } finally {
    button.disabled = false;
    scores();
  }
});

document.getElementById("verify-all").addEventListener("click", async () => {
  const button = document.getElementById("verify-all");
  const sum = document.getElementById("verify-all-sum");
  button.disabled = true;
  sum.textContent = "verifying every lab…";
  try {
    const r = await fetch("/class/" + encodeURIComponent(cls) + "/verify", { method: "POST" });
    if (!r.ok) { sum.textContent = await r.text(); return; }
    const body = await r.json();
    const passing = body.labs.filter((l) => !l.error && l.score === l.total).length;
    sum.textContent = passing + " of " + body.labs.length + " labs pass every claim";
    document.getElementById("report").hidden = false;
  } finally {
    button.disabled = false;
    scores();
  }
});
