// Small SVG charts for the board: a time chart (bars and lines on one or two y axes, a shaded
// band, a hover read-out) and a donut. No dependencies.
"use strict";

const Chart = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const el = (name, attrs, parent) => {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (parent) parent.appendChild(e);
    return e;
  };

  // niceMax rounds v up to 1, 2, 4, 6 or 8 × 10^n, so the four grid steps are round numbers.
  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 4, 6, 8, 10]) if (v <= m * p) return m * p;
    return 10 * p;
  }

  const hhmm = (t) => new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });

  // time draws series over time into container.
  // opts: {x: [ms], series: [{label, color, values, type: "bar"|"line"|"area", axis: "left"|"right", fmt}],
  //        fmtLeft, fmtRight, band: {from, to, label}, empty: "text"}
  function time(container, opts) {
    container.replaceChildren();
    const W = Math.max(container.clientWidth, 200), H = Math.max(container.clientHeight, 120);
    const n = opts.x.length;
    if (n === 0) {
      const d = document.createElement("div");
      d.className = "empty";
      d.textContent = opts.empty || "No data in this range yet.";
      container.appendChild(d);
      return;
    }
    const hasRight = opts.series.some((s) => s.axis === "right");
    const m = { l: 64, r: hasRight ? 64 : 16, t: 10, b: 40 };
    const iw = W - m.l - m.r, ih = H - m.t - m.b;
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img" }, container);
    // The x axis spans the data, at least opts.minSpan (so a few minutes do not make bars as
    // wide as the chart), or exactly opts.range when given.
    const step = 60000;
    const x0 = opts.range ? opts.range[0] : opts.x[0];
    const x1 = opts.range ? opts.range[1] : Math.max(opts.x[n - 1] + step, x0 + (opts.minSpan || 0));
    const xs = (t) => m.l + ((t - x0) / (x1 - x0)) * iw;
    // A null value is "no reading" (a line breaks there), not zero.
    const maxOf = (axis) => niceMax(Math.max(0, ...opts.series.filter((s) => (s.axis || "left") === axis).flatMap((s) => s.values.filter((v) => v !== null))));
    const max = { left: maxOf("left"), right: maxOf("right") };
    const ys = (v, axis) => m.t + ih - (v / max[axis || "left"]) * ih;

    for (let i = 0; i <= 4; i++) {
      const y = m.t + (ih * i) / 4;
      el("line", { x1: m.l, x2: m.l + iw, y1: y, y2: y, class: "grid-line" }, svg);
      el("text", { x: m.l - 8, y: y + 4, "text-anchor": "end" }, svg).textContent = (opts.fmtLeft || String)(max.left * (1 - i / 4));
      if (hasRight) el("text", { x: m.l + iw + 8, y: y + 4 }, svg).textContent = (opts.fmtRight || String)(max.right * (1 - i / 4));
    }
    // Time ticks on round minutes, at most one per 90 px.
    const maxTicks = Math.max(2, Math.floor(iw / 90));
    const every = [1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360, 720].find((k) => (x1 - x0) / (k * step) <= maxTicks) || 1440;
    const zone = new Date(x0).getTimezoneOffset() * step; // round in local time
    for (let t = Math.ceil((x0 - zone) / (every * step)) * every * step + zone; t <= x1; t += every * step) {
      el("line", { x1: xs(t), x2: xs(t), y1: m.t + ih, y2: m.t + ih + 4, class: "grid-line" }, svg);
      el("text", { x: xs(t), y: H - m.b + 18, "text-anchor": "middle" }, svg).textContent = hhmm(t);
    }
    if (opts.band) {
      const bx0 = Math.max(m.l, xs(opts.band.from)), bx1 = Math.min(m.l + iw, xs(opts.band.to));
      if (bx1 > bx0) {
        el("rect", { x: bx0, y: m.t, width: Math.max(2, bx1 - bx0), height: ih, fill: "rgba(255,92,92,.13)", stroke: "rgba(255,92,92,.5)", "stroke-dasharray": "4 3" }, svg);
        el("text", { x: bx0 + 4, y: m.t + 14, fill: "#ff9a9a" }, svg).textContent = opts.band.label || "";
      }
    }
    const bars = opts.series.filter((s) => s.type === "bar");
    const slot = Math.min(48, (iw / ((x1 - x0) / step)) * 0.8);
    bars.forEach((s, bi) => {
      const bw = Math.max(1, slot / bars.length);
      s.values.forEach((v, i) => {
        if (!(v > 0)) return;
        const y = ys(v, s.axis);
        el("rect", { x: xs(opts.x[i]) + bi * bw + slot * 0.1, y, width: bw, height: m.t + ih - y, fill: s.color, rx: Math.min(2, bw / 3) }, svg);
      });
    });
    for (const s of opts.series.filter((s) => s.type !== "bar")) {
      // Runs of consecutive readings, each drawn as its own path.
      const runs = [[]];
      s.values.forEach((v, i) => {
        if (v === null) { if (runs[runs.length - 1].length) runs.push([]); return; }
        runs[runs.length - 1].push([xs(opts.x[i]) + slot / 2, ys(v, s.axis)]);
      });
      for (const pts of runs.filter((r) => r.length)) {
        const d = pts.map((p, i) => (i ? "L" : "M") + p[0].toFixed(1) + "," + p[1].toFixed(1)).join("");
        if (s.type === "area") {
          el("path", { d: d + `L${pts[pts.length - 1][0]},${m.t + ih}L${pts[0][0]},${m.t + ih}Z`, fill: s.color, opacity: 0.18 }, svg);
        }
        el("path", { d, fill: "none", stroke: s.color, "stroke-width": 2.2, "stroke-linejoin": "round", "stroke-dasharray": s.dash || "" }, svg);
        if (pts.length === 1) el("circle", { cx: pts[0][0], cy: pts[0][1], r: 3, fill: s.color }, svg);
      }
    }
    // Hover read-out.
    const tip = document.createElement("div");
    tip.className = "tooltip";
    tip.hidden = true;
    container.appendChild(tip);
    const cursor = el("line", { y1: m.t, y2: m.t + ih, stroke: "#8b96b5", "stroke-dasharray": "3 3", visibility: "hidden" }, svg);
    svg.addEventListener("mousemove", (ev) => {
      const r = svg.getBoundingClientRect();
      const px = ((ev.clientX - r.left) / r.width) * W;
      const t = x0 + ((px - m.l) / iw) * (x1 - x0);
      let i = opts.x.findIndex((x) => x + step > t);
      if (i < 0) i = n - 1;
      cursor.setAttribute("x1", xs(opts.x[i]) + slot / 2);
      cursor.setAttribute("x2", xs(opts.x[i]) + slot / 2);
      cursor.setAttribute("visibility", "visible");
      tip.replaceChildren();
      const head = document.createElement("b");
      head.textContent = hhmm(opts.x[i]);
      tip.appendChild(head);
      for (const s of opts.series) {
        const line = document.createElement("div");
        line.textContent = `${s.label}: ${s.values[i] === null ? "no reading" : (s.fmt || String)(s.values[i])}`;
        line.style.color = s.color;
        tip.appendChild(line);
      }
      tip.hidden = false;
      tip.style.left = Math.min(ev.clientX - r.left + 12, r.width - 160) + "px";
      tip.style.top = "4px";
    });
    svg.addEventListener("mouseleave", () => { tip.hidden = true; cursor.setAttribute("visibility", "hidden"); });
  }

  // donut draws parts [{label, value, color}] as a ring with the legend beside it.
  function donut(container, parts, fmt) {
    container.replaceChildren();
    const total = parts.reduce((a, p) => a + p.value, 0);
    if (!(total > 0)) {
      const d = document.createElement("div");
      d.className = "empty";
      d.textContent = "No sales yet today.";
      container.appendChild(d);
      return;
    }
    const wrap = document.createElement("div");
    wrap.className = "donut";
    container.appendChild(wrap);
    const size = 180, r = 70, c = 2 * Math.PI * r;
    const svg = el("svg", { viewBox: `0 0 ${size} ${size}`, role: "img" }, wrap);
    el("circle", { cx: size / 2, cy: size / 2, r, fill: "none", stroke: "#0d1427", "stroke-width": 26 }, svg);
    let off = 0;
    for (const p of parts) {
      const len = (p.value / total) * c;
      el("circle", { cx: size / 2, cy: size / 2, r, fill: "none", stroke: p.color, "stroke-width": 26,
        "stroke-dasharray": `${Math.max(0, len - 1.5)} ${c}`, "stroke-dashoffset": -off, transform: `rotate(-90 ${size / 2} ${size / 2})` }, svg);
      off += len;
    }
    const legend = document.createElement("div");
    legend.className = "donut-legend";
    for (const p of parts) {
      const row = document.createElement("div");
      const name = document.createElement("span");
      const sw = document.createElement("i");
      sw.style.background = p.color;
      name.append(sw, p.label);
      const val = document.createElement("span");
      val.className = "val";
      val.textContent = `${((100 * p.value) / total).toFixed(1)}%`;
      val.title = fmt ? fmt(p.value) : String(p.value);
      row.append(name, val);
      legend.appendChild(row);
    }
    wrap.appendChild(legend);
  }

  return { time, donut, niceMax };
})();
