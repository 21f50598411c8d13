// A learner's page: the lab's view over one event stream, the actions
// its buttons ask for, the tabs. No framework; the terminals are in
// term.js (xterm.js).
"use strict";
const lab = document.body.dataset.lab;
const base = "/lab/" + encodeURIComponent(lab);
const $ = (sel, root) => (root || document).querySelector(sel);
const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

function banner(text, kind) {
  const b = $("#banner");
  b.textContent = text || "";
  b.hidden = !text;
  b.className = "banner" + (kind ? " " + kind : "");
}

// `text` as a sentence: capitalised, ending in a full stop.
function sentence(text) {
  const t = (text || "").trim();
  return t && t[0].toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? "" : ".");
}

// What the banner says of the lab as a whole: its engine does not answer,
// or the lab is down; the page follows it either way, and shows it again
// once it is back (no reload).
function bannerOf(view) {
  const back = " This page shows it again as soon as it is back.";
  if (!view.reachable) {
    banner("The lab's engine does not answer: " + sentence(view.message) + back, "bad");
  } else if (!view.up) {
    banner(sentence(view.message || "the lab is down") + back, "bad");
  } else {
    banner(view.message);
  }
}

// The diagram's boxes and the servers' table, coloured by state; the
// boxes holding a virtual IP marked; each replica's replication and each
// Galera node's state in its row.
function show(view) {
  document.body.dataset.reachable = view.reachable;
  document.body.dataset.up = view.up;
  bannerOf(view);
  showAlerts(view);
  if (!view.reachable) unknown();
  const holds = {};
  for (const v of view.vips || []) for (const h of v.holders) holds[h] = v.address;
  const notes = {};
  for (const r of view.replication || []) {
    notes[r.server] = r.running ? ["replicating, lag " + (r.lag_seconds ?? "?") + " s", "ok"]
      : ["replication stopped" + (r.error ? ": " + r.error : ""), "down"];
  }
  for (const g of view.galera || []) {
    notes[g.server] = g.synced ? ["Galera: " + g.state, "ok"] : ["Galera not synced: " + g.state, "down"];
  }
  for (const s of view.servers) {
    for (const rect of $$('#diagram rect.box[data-id="' + CSS.escape(s.server) + '"]')) {
      rect.classList.remove("st-running", "st-stopped", "st-absent", "st-unhealthy", "st-unknown");
      rect.classList.add("st-" + s.state);
      rect.classList.toggle("vip", s.server in holds);
    }
    const row = $('#servers tr[data-server="' + CSS.escape(s.server) + '"]');
    if (!row) continue;
    row.className = "st-" + s.state;
    row.dataset.state = s.state;
    $(".state", row).textContent = s.state;
    const services = $(".services", row);
    services.textContent = "";
    // A long note (the replica's error) shortened; all of it on hover.
    const add = (text, cls) => {
      const span = document.createElement("span");
      span.textContent = (text.length > 60 ? text.slice(0, 59) + "…" : text) + " ";
      span.title = text;
      if (cls) span.className = cls;
      services.appendChild(span);
    };
    // A service that runs is its name; one that does not says so (a
    // server that is not running has none running: its state says it).
    if (s.state === "running" || s.state === "unhealthy") {
      for (const svc of s.services) {
        add(svc.state === "run" ? svc.name : svc.name + " " + svc.state, svc.state === "run" ? "svc" : "svc down");
      }
    }
    // Only what can be done now.
    const running = s.state === "running" || s.state === "unhealthy";
    for (const b of $$("button[data-act]", row)) {
      b.disabled = b.dataset.act === "start" ? running || s.state === "absent" : !running;
    }
    if (s.server in holds) add("holds " + holds[s.server], "vip");
    if (s.server in notes) add(notes[s.server][0], "note " + notes[s.server][1]);
  }
}

// An engine that does not answer tells nothing of its servers: none is
// shown running, and nothing can be done on them until it answers.
function unknown() {
  for (const row of $$("#servers tbody tr")) {
    for (const rect of $$('#diagram rect.box[data-id="' + CSS.escape(row.dataset.server) + '"]')) {
      rect.classList.remove("st-running", "st-stopped", "st-absent", "st-unhealthy", "vip");
      rect.classList.add("st-unknown");
    }
    row.className = "st-unknown";
    row.dataset.state = "unknown";
    $(".state", row).textContent = "unknown";
    $(".services", row).textContent = "";
    for (const b of $$("button[data-act]", row)) b.disabled = true;
  }
}

// The header says which alerts fire (a stack that monitors itself), or
// that none can be seen; a click shows the Monitoring tab.
function showAlerts(view) {
  const a = view.reachable && view.up ? view.alerts : null;
  const firing = (a && a.firing) || [];
  const b = $("#alerts-now");
  b.hidden = !firing.length && !(a && a.problem);
  b.classList.toggle("firing", firing.length > 0);
  const text = firing.length ? (firing.length === 1 ? "1 alert firing: " : firing.length + " alerts firing: ") + firing.join(", ")
    : a && a.problem ? a.problem : "";
  b.textContent = text.length > 72 ? text.slice(0, 71) + "…" : text;
  b.title = firing.length ? firing.join("\n") : (a && a.problem) || "";
}
$("#alerts-now").addEventListener("click", () => selectTab("monitoring"));

function connect() {
  const events = new EventSource(base + "/events");
  events.addEventListener("lab", (e) => {
    $("#conn").textContent = "live";
    $("#conn").classList.add("live");
    show(JSON.parse(e.data));
  });
  events.onerror = () => {
    $("#conn").textContent = "reconnecting…";
    $("#conn").classList.remove("live");
  };
}

async function post(path) {
  const r = await fetch(base + path, { method: "POST" });
  const text = await r.text();
  if (!r.ok) throw new Error(text.trim() || r.statusText);
  return text ? JSON.parse(text) : {};
}

// Server buttons: stop, start, kill (each confirmed), terminal.
$("#servers").addEventListener("click", async (e) => {
  const button = e.target.closest("button[data-act]");
  if (!button) return;
  const server = button.closest("tr").dataset.server;
  const act = button.dataset.act;
  if (act === "terminal") {
    selectTab("terminals");
    if (window.openTerminal) window.openTerminal(server);
    return;
  }
  const words = { stop: "Stop " + server + " cleanly?", start: "Start " + server + "?",
    kill: "Kill " + server + "? Its power is cut: no clean shutdown." };
  if (!confirm(words[act])) return;
  button.disabled = true;
  try {
    await post("/servers/" + encodeURIComponent(server) + "/" + act);
  } catch (err) {
    alert(err.message);
  } finally {
    button.disabled = false;
  }
});

function selectTab(name) {
  for (const b of $$("#tabs button")) b.classList.toggle("on", b.dataset.tab === name);
  for (const t of $$(".tab")) t.hidden = t.id !== "tab-" + name;
  if (name === "site" && $("#site").getAttribute("src") === "about:blank") $("#site").src = base + "/site/";
  if (name === "explain" && $("#explain").textContent === "…") {
    fetch(base + "/explain").then((r) => r.text()).then((t) => { $("#explain").textContent = t; });
  }
}
$("#tabs").addEventListener("click", (e) => {
  const b = e.target.closest("button[data-tab]");
  if (b) selectTab(b.dataset.tab);
});

// Which load balancer, web and application server answered each request.
$("#site-load").addEventListener("click", async () => {
  const list = $("#served");
  for (let i = 0; i < 10; i++) {
    const li = document.createElement("li");
    try {
      const r = await fetch(base + "/site/api/info", { cache: "no-store" });
      const parts = [r.status];
      for (const [h, what] of [["x-load-balancer", "lb"], ["x-web-server", "web"], ["x-app-server", "app"]]) {
        if (r.headers.get(h)) parts.push(what + " " + r.headers.get(h));
      }
      li.textContent = parts.join(" · ");
    } catch (err) {
      li.textContent = "no answer: " + err.message;
    }
    list.prepend(li);
  }
});

$("#verify-run").addEventListener("click", async () => {
  const button = $("#verify-run");
  button.disabled = true;
  $("#verify-sum").textContent = "verifying…";
  try {
    const r = await post("/verify");
    $("#verify-sum").textContent = r.passed + " passed, " + r.failed + " failed";
    const table = $("#verify");
    table.textContent = "";
    for (const c of r.checks) {
      const tr = table.insertRow();
      const cells = [c.group + ": " + c.check, c.ok ? "pass" : "FAIL",
        c.ok ? "" : "expected " + c.expected + "; observed " + c.observed + (c.because ? " (" + c.because + ")" : "")];
      cells.forEach((text, i) => {
        const td = tr.insertCell();
        td.textContent = text;
        if (i === 1) td.className = c.ok ? "pass" : "fail";
        if (i === 2 && !c.ok && c.hint) {
          const hint = document.createElement("span");
          hint.className = "hint";
          hint.textContent = "hint: " + c.hint;
          td.appendChild(hint);
        }
      });
    }
  } catch (err) {
    $("#verify-sum").textContent = err.message;
  } finally {
    button.disabled = false;
  }
});

// The exercise's own check: each check fixed or not yet, with where to
// look for one that is not.
if ($("#check-run")) $("#check-run").addEventListener("click", async () => {
  const button = $("#check-run");
  button.disabled = true;
  $("#check-sum").textContent = "checking…";
  try {
    const r = await post("/check");
    let sum = r.fixed + " of " + r.total + " fixed";
    if (!r.counts) sum += " — the lab was reset (its servers were made anew): this attempt does not count";
    else if (r.ok) sum += ": every check is fixed, well done";
    $("#check-sum").textContent = sum;
    const table = $("#check");
    table.textContent = "";
    for (const c of r.checks) {
      const tr = table.insertRow();
      const what = tr.insertCell();
      what.textContent = c.check;
      if (c.hint) {
        const hint = document.createElement("span");
        hint.className = "hint";
        hint.textContent = "hint: " + c.hint;
        what.appendChild(hint);
      }
      const mark = tr.insertCell();
      mark.textContent = c.fixed ? "fixed" : "not yet";
      mark.className = c.fixed ? "pass" : "fail";
    }
  } catch (err) {
    $("#check-sum").textContent = err.message;
  } finally {
    button.disabled = false;
  }
});

$("#reset").addEventListener("click", async () => {
  if (!confirm("Reset the whole lab? Every server is made anew, as new: what you changed on them is lost.")) return;
  const button = $("#reset");
  button.disabled = true;
  banner("Resetting the lab: taking it down and bringing it up again…");
  try {
    await post("/reset");
    banner("");
  } catch (err) {
    banner("The reset failed: " + err.message);
  } finally {
    button.disabled = false;
  }
});

connect();
