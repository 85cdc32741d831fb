// calibd dashboard: the CSRF header for htmx requests and the drift chart.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  document.addEventListener("htmx:configRequest", function (e) {
    if (meta) { e.detail.headers["X-CSRF-Token"] = meta.content; }
  });

  function drawChart(el, d) {
    var width = Math.max(280, el.clientWidth || 600);
    var n = d.t.length;
    // x: the checks, plus the forecast date so the axis reaches it.
    var xs = d.t.slice();
    var end = n ? d.t[n - 1] : Math.floor(Date.now() / 1000);
    if (d.forecast && d.forecast > end) { xs.push(d.forecast); }
    if (!xs.length) { xs.push(end); }
    var pad = function (arr) { var out = arr.slice(); while (out.length < xs.length) { out.push(null); } return out; };
    var hi = xs.map(function () { return d.mpe_c; });
    var lo = xs.map(function () { return -d.mpe_c; });
    var marks = xs.map(function () { return null; });
    (d.alerts || []).forEach(function (a) {
      var best = -1, dist = Infinity;
      xs.forEach(function (x, i) { var dd = Math.abs(x - a.t); if (dd < dist && i < n) { dist = dd; best = i; } });
      if (best >= 0) { marks[best] = d.e[best]; }
    });
    var forecastLine = {
      hooks: {
        draw: [function (u) {
          if (!d.forecast) { return; }
          var x = u.valToPos(d.forecast, "x", true);
          var ctx = u.ctx;
          ctx.save();
          ctx.setLineDash([6, 4]);
          ctx.strokeStyle = "#6941c6";
          ctx.lineWidth = 2;
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          ctx.restore();
        }]
      }
    };
    var opts = {
      width: width,
      height: 300,
      plugins: [forecastLine],
      scales: { x: { time: true } },
      series: [
        {},
        { label: "check error °C", stroke: "#0b5cad", width: 0, points: { show: true, size: 5, fill: "#0b5cad" } },
        { label: "EWMA", stroke: "#1a7f37", width: 2, points: { show: false } },
        { label: "+MPE", stroke: "#b42318", width: 1, dash: [4, 4], points: { show: false } },
        { label: "−MPE", stroke: "#b42318", width: 1, dash: [4, 4], points: { show: false } },
        { label: "alert", stroke: "#b54708", width: 0, points: { show: true, size: 11, stroke: "#b54708", fill: "#fff" } }
      ],
      axes: [{}, { label: "°C" }]
    };
    var data = [xs, pad(d.e), pad(d.ewma), hi, lo, marks];
    el.textContent = "";
    new window.uPlot(opts, data, el);
    el.dataset.points = String(n);
    el.dataset.drawn = "true";
  }

  function loadChart() {
    var el = document.getElementById("drift-chart");
    if (!el || !window.uPlot) { return; }
    fetch(el.dataset.src, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (d) { drawChart(el, d); })
      .catch(function (err) { el.textContent = "The chart could not be loaded (" + err.message + ")."; el.dataset.drawn = "error"; });
  }
  // Deferred scripts run in order before DOMContentLoaded, and uPlot's
  // comes after this one: draw once they all have.
  if (document.readyState === "complete") {
    loadChart();
  } else {
    document.addEventListener("DOMContentLoaded", loadChart);
  }
})();
