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
  tr.querySelector(".changed").textContent = new Date().toLocaleTimeString();
  tr.dataset.down = down.join(" ");
  const conn = document.getElementById("conn");
  conn.textContent = "live";
  conn.classList.add("live");
});
events.onerror = () => {
  const conn = document.getElementById("conn");
  conn.textContent = "reconnecting…";
  conn.classList.remove("live");
};
