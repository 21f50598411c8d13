// Terminals on the lab's servers (xterm.js): one tab per terminal in
// #term-tabs (the server's name, a close ×), the terminal itself in
// #terms, several open at once, each fitted to its box. Each talks to
// the portal over a WebSocket: binary frames are the terminal's bytes
// both ways, text frames JSON ({"resize":[cols,rows]} from here;
// {"session":..}, {"refused":..} from the portal).
"use strict";
(function () {
  const labName = document.body.dataset.lab;
  const labBase = "/lab/" + encodeURIComponent(labName);
  const tabs = document.getElementById("term-tabs");
  const box = document.getElementById("terms");
  const open = [];
  let current = null;
  let count = 0;

  function socketUrl(server, query) {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + location.host + labBase + "/term/" + encodeURIComponent(server) + "?" + query;
  }

  // Fits the shown terminal to its box and tells the shell its size.
  function fit(t) {
    if (!t || t.pane.hidden || t.pane.clientWidth === 0 || t.pane.clientHeight === 0) return;
    t.fitter.fit();
    if (t.ws.readyState === WebSocket.OPEN) {
      t.ws.send(JSON.stringify({ resize: [t.term.cols, t.term.rows] }));
    }
  }

  function show(t) {
    current = t;
    for (const o of open) {
      o.pane.hidden = o !== t;
      o.tab.classList.toggle("on", o === t);
    }
    if (t) {
      fit(t);
      t.term.focus();
    }
  }

  function close(t) {
    const i = open.indexOf(t);
    if (i < 0) return;
    open.splice(i, 1);
    t.closing = true;
    try { t.ws.close(1000, "closed by the page"); } catch (e) { /* already closed */ }
    t.term.dispose();
    t.pane.remove();
    t.tab.remove();
    if (current === t) show(open[open.length - 1] || null);
    const hint = box.querySelector(".hint");
    if (hint) hint.hidden = open.length > 0;
  }

  function say(t, text) {
    t.term.write("\r\n\x1b[2m[" + text + "]\x1b[0m\r\n");
  }

  // A terminal on `server`, over a new session or (`join`) an open one.
  function start(server, join) {
    count += 1;
    const pane = document.createElement("div");
    pane.className = "term";
    pane.style.height = "100%";
    pane.style.padding = "4px";
    pane.style.boxSizing = "border-box";
    box.appendChild(pane);
    const hint = box.querySelector(".hint");
    if (hint) hint.hidden = true;

    const term = new window.Terminal({
      cursorBlink: true,
      fontSize: 13,
      scrollback: 5000,
      // Text in the page (not a canvas): readable by screen readers and
      // by the page's own tests.
      rendererType: "dom",
    });
    const fitter = new window.FitAddon.FitAddon();
    term.loadAddon(fitter);
    term.open(pane);
    fitter.fit();

    const tab = document.createElement("button");
    tab.type = "button";
    tab.title = (join ? "Joined: " : "A shell on ") + server;
    const label = document.createElement("span");
    label.textContent = server + (join ? " (joined)" : "");
    const x = document.createElement("span");
    x.textContent = " ×";
    x.title = "Close this terminal";
    x.setAttribute("role", "button");
    tab.append(label, x);
    tabs.appendChild(tab);

    const query = join
      ? "join=" + encodeURIComponent(join)
      : "cols=" + term.cols + "&rows=" + term.rows;
    const ws = new WebSocket(socketUrl(server, query));
    ws.binaryType = "arraybuffer";
    const t = { server, term, fitter, pane, tab, ws, id: count, session: join, closing: false };
    open.push(t);

    const encoder = new TextEncoder();
    term.onData((data) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(encoder.encode(data));
    });
    // Mouse reports that are not UTF-8 (xterm.js 4.1 and later).
    if (term.onBinary) term.onBinary((data) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      const bytes = new Uint8Array(data.length);
      for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 255;
      ws.send(bytes);
    });
    ws.onopen = () => fit(t);
    ws.onmessage = (e) => {
      if (typeof e.data !== "string") {
        term.write(new Uint8Array(e.data));
        return;
      }
      const m = JSON.parse(e.data);
      if (m.session) {
        t.session = m.session;
        tab.dataset.session = m.session;
      }
      if (m.refused) say(t, "the portal ignored a message: " + m.refused);
    };
    ws.onclose = (e) => {
      if (t.closing) return;
      tab.classList.add("ended");
      if (e.code !== 1000) {
        say(t, "the connection closed" + (e.reason ? ": " + e.reason : ""));
      }
    };
    tab.addEventListener("click", (e) => {
      if (e.target === x) close(t);
      else show(t);
    });
    show(t);
    return t;
  }

  window.openTerminal = (server) => start(server, null);
  window.joinTerminal = (server, id) => start(server, id);
  // The lab's open sessions, for a "join" list.
  window.listTerminals = async () => {
    const r = await fetch(labBase + "/terms");
    return r.ok ? r.json() : [];
  };

  // The instructor's view of a learner's lab: the learner's open
  // terminals, each to join (the same shell, seen by both).
  const joins = document.getElementById("term-joins");
  if (joins && document.body.dataset.instructor === "true") {
    const refresh = async () => {
      const mine = new Set(open.map((t) => t.session));
      const theirs = (await window.listTerminals()).filter((s) => !mine.has(s.id));
      joins.hidden = theirs.length === 0;
      joins.textContent = theirs.length ? "Open terminals: " : "";
      for (const s of theirs) {
        const b = document.createElement("button");
        b.type = "button";
        b.dataset.session = s.id;
        b.textContent = "join " + s.server + " (" + s.by + ")";
        b.title = "The same shell as " + s.by + "'s: both of you see it and can type";
        b.addEventListener("click", () => { window.joinTerminal(s.server, s.id); refresh(); });
        joins.appendChild(b);
      }
    };
    refresh();
    setInterval(refresh, 3000);
  }

  if (window.ResizeObserver) {
    new ResizeObserver(() => fit(current)).observe(box);
  }
  window.addEventListener("resize", () => fit(current));
  // Shown again after another tab: fit to the box it has now.
  const termsTab = document.querySelector('#tabs button[data-tab="terminals"]');
  if (termsTab) termsTab.addEventListener("click", () => setTimeout(() => fit(current), 0));
})();
