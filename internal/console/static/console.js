// Sluice console: the little script the pages need. No framework, no external requests.
"use strict";
const sluice = {
  // json fetches a console API path and returns its parsed JSON body, throwing the server's
  // error message when the answer is not 2xx.
  async json(path, init) {
    init = init || {};
    init.headers = Object.assign({"Accept": "application/json"}, init.headers || {});
    if (init.body && typeof init.body !== "string") {
      init.body = JSON.stringify(init.body);
      init.headers["Content-Type"] = "application/json";
    }
    const resp = await fetch(path, init);
    const text = await resp.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = {error: text}; }
    if (!resp.ok) throw new Error((body && body.error) || resp.statusText);
    return body;
  },
  // chart draws a line chart of points [[x, y], ...] (x: unix milliseconds) into an <svg>.
  chart(svg, points, label) {
    const NS = "http://www.w3.org/2000/svg";
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const w = 700, h = 160, pad = 28;
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    svg.setAttribute("role", "img");
    if (label) svg.setAttribute("aria-label", label);
    const el = (name, attrs, text) => {
      const e = document.createElementNS(NS, name);
      for (const k in attrs) e.setAttribute(k, attrs[k]);
      if (text !== undefined) e.textContent = text;
      svg.appendChild(e);
      return e;
    };
    el("line", {class: "axis", x1: pad, y1: h - pad, x2: w - 4, y2: h - pad});
    el("line", {class: "axis", x1: pad, y1: 4, x2: pad, y2: h - pad});
    if (!points || points.length === 0) { el("text", {x: pad + 8, y: h / 2}, "no data yet"); return; }
    const xs = points.map(p => p[0]), ys = points.map(p => p[1]);
    const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1), y1 = Math.max(...ys, 1);
    const px = x => pad + (x - x0) / (x1 - x0) * (w - pad - 8), py = y => h - pad - y / y1 * (h - pad - 8);
    el("polyline", {class: "line", points: points.map(p => `${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(" ")});
    el("text", {x: 2, y: 12}, String(Math.round(y1 * 100) / 100));
    el("text", {x: 2, y: h - pad}, "0");
    el("text", {x: pad, y: h - 8}, new Date(x0).toLocaleTimeString());
    el("text", {x: w - 70, y: h - 8}, new Date(x1).toLocaleTimeString());
  },
};
