// Sluice console: the consumer group page's lag chart. It polls /api/groups/{id}/lag and
// draws the total or one partition's lag over the time the page has been open.
"use strict";
(function () {
  const svg = document.getElementById("lag-chart");
  if (!svg) return;
  const group = svg.dataset.group, select = document.getElementById("lag-series");
  const status = document.getElementById("lag-status");
  const samples = []; // {t, total, parts: {"topic/partition": lag}}
  const maxSamples = 720; // an hour at one sample every five seconds
  function draw() {
    const key = select.value;
    const points = [];
    for (const s of samples) {
      const y = key ? s.parts[key] : s.total;
      if (y !== undefined && y >= 0) points.push([s.t, y]);
    }
    sluice.chart(svg, points, key ? "lag of " + key : "total lag of " + group);
  }
  async function poll() {
    try {
      const lag = await sluice.json("/api/groups/" + encodeURIComponent(group) + "/lag");
      const parts = {};
      for (const p of lag.partitions || []) {
        parts[p.topic + "/" + p.partition] = p.lag;
        const row = document.querySelector(`#lag tr[data-topic="${CSS.escape(p.topic)}"][data-partition="${p.partition}"]`);
        if (row) {
          row.querySelector(".lag").firstChild.textContent = p.lag < 0 ? "-" : String(p.lag);
        }
      }
      samples.push({t: lag.time, total: lag.total, parts});
      if (samples.length > maxSamples) samples.shift();
      document.getElementById("total-lag").textContent = String(lag.total);
      document.getElementById("group-state").textContent = lag.state;
      document.getElementById("group-members").textContent = String(lag.members);
      status.textContent = "Updated " + new Date(lag.time).toLocaleTimeString() + "; every 5 seconds.";
      draw();
    } catch (e) {
      status.textContent = "Could not update: " + e.message;
    }
  }
  select.addEventListener("change", draw);
  poll();
  setInterval(poll, 5000);
})();
