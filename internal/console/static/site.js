// Sluice console: the overview's throughput charts (consite). No inline code: the page
// names the series' path in a data-* attribute.
"use strict";
(function () {
  const charts = document.getElementById("charts");
  if (charts) {
    const draw = async () => {
      let s;
      try { s = await sluice.json(charts.dataset.series); } catch (e) { return; }
      const pts = key => s.points.map(p => [p.t, p[key]]);
      const put = (id, key, label) => {
        const svg = document.getElementById(id);
        if (svg) sluice.chart(svg, pts(key), label);
      };
      put("chart-messages-in", "messages_in", "Messages in per second");
      put("chart-bytes-in", "bytes_in", "Bytes in per second");
      put("chart-bytes-out", "bytes_out", "Bytes out per second");
      charts.dataset.points = String(s.points.length);
    };
    const start = () => { draw(); setInterval(draw, 10000); };
    if (typeof sluice === "undefined") window.addEventListener("load", start); else start();
  }
})();
