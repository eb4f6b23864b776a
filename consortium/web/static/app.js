// Hubao pages: draw the charts (Chart.js, served from its pinned npm package) and follow the
// server's /live WebSocket. A new block updates the block number at once; the page's live region
// (#content) is re-fetched as HTML when what it shows may have changed: on suite events for the
// board and the membership page, on new blocks and every few seconds for the console (a stopped
// node sends no event).
"use strict";

(() => {
  const content = document.getElementById("content");
  const refreshOn = new Set((content?.dataset.refresh || "").split(" ").filter(Boolean));
  const charts = [];
  const COLOURS = ["#00895a", "#d97706", "#2563eb", "#9333ea"];

  function utc(seconds) {
    return new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }

  function drawCharts() {
    if (typeof Chart === "undefined") return;
    while (charts.length) charts.pop().destroy();
    for (const canvas of content.querySelectorAll("canvas[data-chart]")) {
      const spec = JSON.parse(canvas.dataset.chart);
      charts.push(new Chart(canvas, {
        type: spec.type,
        data: {
          labels: spec.labels,
          datasets: spec.series.map((s, i) => ({
            label: s.label,
            data: s.data,
            backgroundColor: COLOURS[i % COLOURS.length] + (spec.type === "bar" ? "cc" : "33"),
            borderColor: COLOURS[i % COLOURS.length],
            borderWidth: 2,
            pointRadius: s.data.length > 60 ? 0 : 3,
            fill: spec.type === "line",
            tension: 0.2,
          })),
        },
        options: {
          animation: false,
          maintainAspectRatio: false,
          plugins: { legend: { display: false } },
          scales: { x: { ticks: { maxTicksLimit: 8, maxRotation: 0 } }, y: { beginAtZero: spec.type === "bar" } },
        },
      }));
    }
  }

  // ---- re-fetching the live region, at most once a second ----
  let busy = false;
  let again = false;
  let timer = null;

  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const reply = await fetch(content.dataset.fragment, { cache: "no-store" });
      if (reply.ok || reply.status >= 400) {
        content.innerHTML = await reply.text();
        drawCharts();
      }
    } catch (error) {
      // the server itself is gone: the status line says so when the socket drops
    } finally {
      busy = false;
      if (again) { again = false; schedule(); }
    }
  }

  function schedule() {
    if (timer === null) timer = setTimeout(() => { timer = null; refresh(); }, 1000);
  }

  // ---- the live connection ----
  const dot = document.getElementById("live-dot");
  const statusText = document.getElementById("live-status");

  function showStatus(ok, message) {
    dot.className = "dot " + (ok ? "on" : "off");
    statusText.textContent = message;
  }

  function onMessage(message) {
    if (message.kind === "head") {
      document.getElementById("head-number").textContent = message.number;
      document.getElementById("head-time").textContent = utc(message.timestamp);
      if (refreshOn.has("head")) schedule();
    } else if (message.kind === "event") {
      if (refreshOn.has("event")) schedule();
    } else if (message.kind === "status") {
      showStatus(message.ok, message.message);
      if (message.ok && refreshOn.size) schedule(); // back after a gap: catch up on what changed
    }
  }

  let backoff = 500;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/live");
    socket.onopen = () => { backoff = 500; };
    socket.onmessage = (event) => onMessage(JSON.parse(event.data));
    socket.onclose = () => {
      showStatus(false, "the web server is not answering: retrying");
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    };
  }

  drawCharts();
  if (content) connect();
  if (refreshOn.has("poll")) setInterval(schedule, 5000);
})();
