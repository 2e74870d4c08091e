// Sluice console: the message browser's search progress and live tail. Rows are built with
// textContent (never HTML from records).
"use strict";
(() => {
  const rowsEl = document.getElementById("rows");
  const maxLiveRows = 1000;

  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const pad = (n, w) => String(n).padStart(w, "0");
  const millis = ms => {
    const d = new Date(ms);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)} ${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds(), 3)}Z`;
  };
  const dataCell = (cls, d) => {
    const td = el("td", cls);
    if (d.null) { td.appendChild(el("span", "muted", "null")); return td; }
    td.appendChild(el("span", "badge", d.format + (d.schemaId ? " #" + d.schemaId : "")));
    if (d.note) { td.appendChild(document.createTextNode(" ")); td.appendChild(el("span", "warn small", d.note)); }
    td.appendChild(el("pre", "", d.text));
    return td;
  };
  // messageRow builds the table row of one record (the server's messageRow JSON).
  const messageRow = m => {
    const tr = el("tr");
    tr.dataset.partition = m.partition;
    tr.dataset.offset = m.offset;
    tr.appendChild(el("td", "num", String(m.partition)));
    tr.appendChild(el("td", "num", String(m.offset)));
    const ts = el("td", "ts", millis(m.timestamp));
    ts.appendChild(el("br"));
    ts.appendChild(el("span", "muted", m.timestampType || ""));
    tr.appendChild(ts);
    tr.appendChild(dataCell("key", m.key));
    tr.appendChild(dataCell("value", m.value));
    const hs = el("td", "headers");
    for (const h of m.headers || []) {
      const div = el("div");
      div.appendChild(el("code", "", h.key));
      div.appendChild(document.createTextNode("="));
      div.appendChild(el("code", "", h.value));
      hs.appendChild(div);
    }
    tr.appendChild(hs);
    return tr;
  };

  // Search: start the job the page names, poll its progress, show its matches.
  const search = document.getElementById("search");
  if (search) {
    const progress = document.getElementById("search-progress");
    const status = document.getElementById("search-status");
    const cancel = document.getElementById("search-cancel");
    const base = location.pathname + "/search/";
    let id = null;
    const show = st => {
      progress.max = Math.max(st.total, 1);
      progress.value = Math.min(st.scanned, progress.max);
      const secs = (st.elapsedMs / 1000).toFixed(1);
      let text = `${st.state === "running" ? "Searching" : st.state}: scanned ${st.scanned} of ${st.total} records, ${st.matches} matches, ${secs} s`;
      if (st.error) text += ` (${st.error})`;
      if (st.positions && st.state !== "done") text += `; reached ${st.positions}`;
      status.textContent = text;
      search.dataset.state = st.state;
      search.dataset.matches = st.matches;
      search.dataset.scanned = st.scanned;
      search.dataset.elapsed = st.elapsedMs;
      if (st.resume && !document.getElementById("search-resume")) {
        const a = el("a", "", "Search on from there");
        a.id = "search-resume";
        a.href = st.resume;
        status.after(document.createTextNode(" "), a);
      }
    };
    const poll = async () => {
      try {
        const st = await sluice.json(base + id);
        show(st);
        if (st.state === "running") { setTimeout(poll, 250); return; }
        cancel.hidden = true;
        rowsEl.replaceChildren(...(st.rows || []).map(messageRow));
        search.dataset.done = "1";
      } catch (e) {
        status.textContent = "Search failed: " + e.message;
        search.dataset.state = "failed";
      }
    };
    cancel.addEventListener("click", async () => {
      if (id) { try { show(await sluice.json(base + id + "/cancel", {method: "POST"})); } catch (e) { status.textContent = e.message; } }
    });
    (async () => {
      try {
        const st = await sluice.json(search.dataset.search, {method: "POST"});
        id = st.id;
        show(st);
        poll();
      } catch (e) {
        status.textContent = "Search failed: " + e.message;
        search.dataset.state = "failed";
        cancel.hidden = true;
      }
    })();
  }

  // Live tail: a websocket pushing new records, appended to the table.
  const toggle = document.getElementById("live-toggle");
  if (toggle) {
    toggle.hidden = false;
    const liveStatus = document.getElementById("live-status");
    let ws = null;
    const stop = () => {
      if (ws) ws.close();
      ws = null;
      toggle.textContent = "Start live tail";
      toggle.dataset.state = "stopped";
    };
    toggle.addEventListener("click", () => {
      if (ws) { stop(); liveStatus.textContent = "Live tail stopped."; return; }
      const query = new URL(toggle.dataset.query, location.href).searchParams;
      const params = new URLSearchParams();
      for (const k of ["partition", "key", "value", "isolation"]) if (query.get(k)) params.set(k, query.get(k));
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      ws = new WebSocket(`${proto}//${location.host}${toggle.dataset.live}?${params}`);
      toggle.textContent = "Stop live tail";
      toggle.dataset.state = "connecting";
      liveStatus.textContent = "Connecting…";
      let count = 0;
      ws.addEventListener("message", ev => {
        let m;
        try { m = JSON.parse(ev.data); } catch (e) { return; }
        if (m.ready) { toggle.dataset.state = "live"; liveStatus.textContent = "Live: new records appear below."; return; }
        if (m.error) { liveStatus.textContent = "Live tail: " + m.error; return; }
        if (m.skipped) { liveStatus.textContent = `Live: skipped ${m.skipped} records of a burst.`; return; }
        const empty = document.getElementById("empty");
        if (empty) empty.remove();
        const tr = messageRow(m);
        tr.classList.add("live");
        rowsEl.appendChild(tr);
        while (rowsEl.children.length > maxLiveRows) rowsEl.firstElementChild.remove();
        count++;
        liveStatus.textContent = `Live: ${count} new records.`;
      });
      ws.addEventListener("close", () => { if (ws) { ws = null; toggle.textContent = "Start live tail"; toggle.dataset.state = "closed"; liveStatus.textContent += " (closed)"; } });
    });
    window.addEventListener("pagehide", stop);
  }
})();
