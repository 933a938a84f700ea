// The livepulse board: three views over the HTTP API, live over its SSE streams.
"use strict";

const $ = (sel) => document.querySelector(sel);
const h = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

// ---- Numbers. Money arrives as exact decimal strings ("1234.50"); the board keeps cents.
const cents = (s) => {
  if (typeof s !== "string") return 0;
  const neg = s.startsWith("-");
  const [w, f = "00"] = s.replace("-", "").split(".");
  const v = Number(w) * 100 + Number((f + "00").slice(0, 2));
  return neg ? -v : v;
};
const group = (n) => Math.trunc(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
const money = (c) => {
  const neg = c < 0, a = Math.abs(Math.round(c));
  return (neg ? "-" : "") + group(Math.floor(a / 100)) + "." + String(a % 100).padStart(2, "0");
};
const compactMoney = (c) => {
  const v = Math.abs(c / 100), sign = c < 0 ? "-" : "";
  if (v >= 1e9) return sign + (v / 1e9).toFixed(2) + "B";
  if (v >= 1e6) return sign + (v / 1e6).toFixed(2) + "M";
  if (v >= 1e4) return sign + (v / 1e3).toFixed(1) + "k";
  return sign + v.toFixed(v >= 100 ? 0 : 2);
};
const compact = (n) => (n >= 1e6 ? (n / 1e6).toFixed(2) + "M" : n >= 1e4 ? (n / 1e3).toFixed(1) + "k" : Number.isInteger(n) ? group(n) : n.toFixed(1));
const pct = (r, d = 1) => (100 * (r || 0)).toFixed(d) + "%";
const ms = (t) => (typeof t === "number" ? t : Date.parse(t));
const clock = (t) => new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
const dayOf = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
const PLATFORM_COLORS = ["#ff5c7a", "#4ea1ff", "#ffb547", "#3ddc97", "#a78bfa", "#5ce1e6", "#f472b6"];
const KIND_NAMES = { viewer_inflation: "Viewer inflation", refund_spike: "Refund spike", order_brushing: "Order brushing" };

async function getJSON(url) {
  const r = await fetch(url, { credentials: "same-origin" });
  let body = null;
  try { body = await r.json(); } catch { /* not JSON */ }
  if (!r.ok) {
    const err = new Error((body && body.error) || `${r.status} ${r.statusText}`);
    err.status = r.status;
    throw err;
  }
  return body;
}

function banner(text) {
  const b = $("#banner");
  b.textContent = text || "";
  b.hidden = !text;
}

// ---- State.
const state = { live: null, minutes: [], flags: new Map(), selectedFlag: null, view: "exec", fresh: new Set() };

// ---- Router.
function route() {
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  const view = path === "/audit" ? "audit" : path === "/trust" ? "trust" : "exec";
  state.view = view;
  for (const v of ["exec", "audit", "trust"]) $("#view-" + v).hidden = v !== view;
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.dataset.view === view));
  if (view === "exec") { renderLive(); loadMinutes(); }
  if (view === "audit") openAudit(new URLSearchParams(query || ""));
  if (view === "trust") renderTrust();
}
window.addEventListener("hashchange", route);
window.addEventListener("resize", () => { renderMinutes(); renderPlatforms(); renderFlagDetail(); });

// ---- Live figures over SSE.
function connectLive() {
  const es = new EventSource("/api/live/stream");
  es.addEventListener("live", (ev) => {
    state.live = JSON.parse(ev.data);
    $("#conn").className = "dot live";
    $("#conn-text").textContent = "live";
    banner("");
    renderLive();
  });
  es.addEventListener("error", (ev) => {
    if (ev.data) { // the server's "error" event: the store could not answer
      banner("The store could not compute the figures; showing the last ones received. Retrying every second.");
      return;
    }
    $("#conn").className = "dot down";
    $("#conn-text").textContent = "reconnecting…";
    banner("Lost the live stream from livepulse; reconnecting. Figures shown are the last received.");
  });
}

// The ticker counts up from what it shows to the newest GMV over most of a second; net GMV
// moves with it, so the two never disagree on screen.
const ticker = { shown: null, target: null, from: null, start: 0 };
function setTicker(gmv, net) {
  ticker.from = ticker.shown || { gmv, net };
  ticker.target = { gmv, net };
  ticker.start = performance.now();
  requestAnimationFrame(stepTicker);
}
function stepTicker(now) {
  const p = Math.min(1, Math.max(0, (now - ticker.start) / 900)); // a frame may start before setTicker ran
  const e = 1 - Math.pow(1 - p, 3);
  const at = (k) => Math.round(ticker.from[k] + (ticker.target[k] - ticker.from[k]) * e);
  ticker.shown = { gmv: at("gmv"), net: at("net") };
  $("#gmv-ticker").replaceChildren(h("span", "cur", "¥"), document.createTextNode(money(ticker.shown.gmv)));
  $("#net-gmv").textContent = "¥" + money(ticker.shown.net);
  if (p < 1) requestAnimationFrame(stepTicker);
}

function kpi(k, v, s, cls) {
  const d = h("div", "kpi" + (cls ? " " + cls : ""));
  d.append(h("div", "k", k), h("div", "v", v));
  if (s) d.append(h("div", "s", s));
  return d;
}

function renderLive() {
  const rep = state.live;
  if (!rep || state.view !== "exec") return;
  const g = rep.global;
  setTicker(cents(g.gmv), cents(g.net_gmv));
  $("#as-of").textContent = rep.as_of ? clock(rep.as_of) : "no data yet";
  $("#range-label").textContent = "· " + rep.from.slice(0, 10);
  $("#kpis").replaceChildren(
    kpi("Orders", group(g.orders), `AOV ¥${money(cents(g.aov))}`),
    kpi("Buyers", group(g.buyers), `${pct(g.conversion_rate, 2)} of viewers`),
    kpi("Viewers now", compact(g.concurrent_viewers), `peak ${compact(g.peak_concurrent_viewers)}`),
    kpi("Unique viewers", compact(g.unique_viewers), `GPM ¥${compactMoney(cents(g.gpm))}`),
    kpi("Refund rate", pct(g.refund_rate), `¥${compactMoney(cents(g.refund_amount))} refunded`, g.refund_rate > 0.2 ? "bad" : g.refund_rate > 0.1 ? "warn" : ""),
    kpi("Live streams", group(g.stream_count), `${rep.platforms.length} platforms`),
  );
  barList($("#top-kols"), rep.top_kols.map((k) => ({ label: k.kol_id, value: cents(k.gmv), sub: `${group(k.orders)} orders · ${pct(k.conversion_rate, 2)} conv.`, href: "#/audit?kol=" + encodeURIComponent(k.kol_id) })), "No KOL has sold anything today yet.");
  barList($("#top-streams"), rep.top_streams.map((s) => ({ label: s.stream_id, value: cents(s.gmv), sub: `${s.kol_id} · ${s.platform}`, alt: true })), "No stream has sold anything today yet.");
  renderPlatforms();
  fillDatalists(rep);
}

function barList(container, items, emptyText) {
  container.replaceChildren();
  if (!items.length) { container.append(h("div", "empty", emptyText)); return; }
  const max = Math.max(...items.map((i) => i.value), 1);
  for (const it of items) {
    const row = h("div", "row");
    const name = h(it.href || it.onClick ? "a" : "div", "name");
    if (it.href) name.href = it.href;
    if (it.onClick) { name.href = "#"; name.addEventListener("click", (ev) => { ev.preventDefault(); it.onClick(); }); }
    name.textContent = it.label;
    name.title = it.label;
    const track = h("div", "track"), fill = h("div", "fill" + (it.alt ? " alt" : ""));
    fill.style.width = ((100 * it.value) / max).toFixed(1) + "%";
    track.append(fill);
    const val = h("div", "val");
    val.append(h("div", "", "¥" + compactMoney(it.value)), h("div", "sub", it.sub || ""));
    row.append(name, track, val);
    container.append(row);
  }
}

function renderPlatforms() {
  if (!state.live || state.view !== "exec") return;
  Chart.donut($("#chart-platforms"), state.live.platforms.map((p, i) => ({ label: p.platform, value: cents(p.gmv), color: PLATFORM_COLORS[i % PLATFORM_COLORS.length] })), (v) => "¥" + money(v));
}

async function loadMinutes() {
  try {
    const r = await getJSON("/api/live/minutes");
    state.minutes = r.minutes;
    state.minutesError = null;
  } catch (e) {
    state.minutesError = e.message;
  }
  renderMinutes();
}

function renderMinutes() {
  if (state.view !== "exec") return;
  const c = $("#chart-gmv");
  if (state.minutesError) { c.replaceChildren(h("div", "error", "Cannot load the minute series: " + state.minutesError)); return; }
  const m = state.minutes;
  Chart.time(c, {
    x: m.map((p) => ms(p.minute)),
    series: [
      { label: "GMV", color: "#ffb547", type: "bar", values: m.map((p) => cents(p.gmv) / 100), fmt: (v) => "¥" + money(v * 100) },
      { label: "Orders", color: "#4ea1ff", type: "line", axis: "right", values: m.map((p) => p.orders), fmt: group },
    ],
    fmtLeft: (v) => "¥" + compactMoney(v * 100), fmtRight: compact, minSpan: 30 * 60000,
    empty: "No sales recorded today yet: the chart fills in as minutes close.",
  });
}

function fillDatalists(rep) {
  const fill = (id, values) => {
    const dl = $(id);
    if (dl.childElementCount === values.length) return;
    dl.replaceChildren(...values.map((v) => { const o = document.createElement("option"); o.value = v; return o; }));
  };
  fill("#kol-list", rep.top_kols.map((k) => k.kol_id));
  fill("#brand-list", rep.brands.map((b) => b.brand_id));
}

// ---- Flags: history, then live over SSE.
function normFlag(f) {
  return { ...f, ws: ms(f.window_start), we: ms(f.window_end), at: ms(f.detected_at), summary: (f.evidence && f.evidence.summary) || f.summary || "" };
}
async function loadFlags() {
  try {
    const r = await getJSON("/api/flags?limit=500");
    for (const f of r.flags) state.flags.set(f.flag_id, normFlag(f));
    state.flagsError = null;
  } catch (e) {
    state.flagsError = e.message;
  }
  renderFlags();
}
function connectFlags() {
  const es = new EventSource("/api/flags/stream");
  es.addEventListener("flag", (ev) => {
    const f = normFlag(JSON.parse(ev.data));
    if (!state.flags.has(f.flag_id)) state.fresh.add(f.flag_id);
    state.flags.set(f.flag_id, f);
    renderFlags();
  });
}
function sortedFlags() {
  return [...state.flags.values()].sort((a, b) => (a.state === "open") !== (b.state === "open") ? (a.state === "open" ? -1 : 1) : b.at - a.at);
}
function renderFlags() {
  const open = sortedFlags().filter((f) => f.state === "open");
  const badge = $("#nav-flags");
  badge.textContent = open.length;
  badge.hidden = open.length === 0;
  // Executive glance: counts per kind, then the newest open flags.
  const g = $("#flags-glance");
  g.replaceChildren();
  if (state.flagsError) { g.append(h("div", "error", "Cannot load flags: " + state.flagsError)); return; }
  const kinds = h("div", "glance-kinds");
  for (const k of Object.keys(KIND_NAMES)) {
    const n = open.filter((f) => f.kind === k).length;
    kinds.append(kpi(KIND_NAMES[k], String(n), "open", n ? "bad" : ""));
  }
  g.append(kinds);
  if (!open.length) g.append(h("div", "empty", "No open flags. The detectors are watching every live stream."));
  for (const f of open.slice(0, 3)) g.append(flagCard(f, false));
  if (state.view === "trust") renderTrust();
}

function flagCard(f, selectable) {
  const d = h("div", `flag ${f.severity}` + (state.selectedFlag === f.flag_id && selectable ? " selected" : "") + (state.fresh.has(f.flag_id) ? " new" : ""));
  d.dataset.flagId = f.flag_id;
  const head = h("div", "head");
  head.append(h("span", "sev " + f.severity, f.severity), h("span", "kind", KIND_NAMES[f.kind] || f.kind), h("span", "state " + f.state, f.state),
    h("span", "meta", [f.stream_id, f.kol_id, f.platform, "score " + Number(f.score).toFixed(2), clock(f.at)].filter(Boolean).join(" · ")));
  d.append(head, h("div", "summary", f.summary));
  d.addEventListener("click", () => { location.hash = "#/trust"; state.selectedFlag = f.flag_id; state.fresh.delete(f.flag_id); renderTrust(); });
  return d;
}

// ---- Trust and safety.
function renderTrust() {
  if (state.view !== "trust") return;
  const list = $("#flag-list");
  const flags = sortedFlags();
  $("#flag-count").textContent = `${flags.filter((f) => f.state === "open").length} open · ${flags.length} in 24 h`;
  list.replaceChildren();
  if (state.flagsError) list.append(h("div", "error", "Cannot load flags: " + state.flagsError));
  else if (!flags.length) list.append(h("div", "empty", "No flags in the last 24 hours. New ones appear here the moment a detector raises them."));
  if (!state.selectedFlag && flags.length) state.selectedFlag = flags[0].flag_id;
  for (const f of flags) list.append(flagCard(f, true));
  loadFlagDetail();
}

const detail = { id: null, data: null, error: null, at: 0 };
async function loadFlagDetail() {
  const f = state.flags.get(state.selectedFlag);
  if (!f) { renderFlagDetail(); return; }
  if (detail.id === f.flag_id && Date.now() - detail.at < 5000) { renderFlagDetail(); return; }
  detail.id = f.flag_id;
  detail.at = Date.now();
  const from = new Date(f.ws - 15 * 60000), to = new Date(Math.min(f.we + 15 * 60000, Date.now() + 60000));
  try {
    detail.data = await getJSON(`/api/streams/${encodeURIComponent(f.stream_id)}?from=${encodeURIComponent(from.toISOString().replace(/\.\d+Z$/, "Z"))}&to=${encodeURIComponent(to.toISOString().replace(/\.\d+Z$/, "Z"))}`);
    detail.error = null;
  } catch (e) {
    detail.data = null;
    detail.error = e.status === 404 ? "No minutes stored for this stream around the flag yet." : "Cannot load the stream: " + e.message;
  }
  renderFlagDetail();
}

function renderFlagDetail() {
  const box = $("#flag-detail");
  const f = state.flags.get(state.selectedFlag);
  if (state.view !== "trust") return;
  if (!f) { box.replaceChildren(h("div", "empty", "No flag selected.")); return; }
  box.replaceChildren();
  const head = h("div", "detail-head");
  head.append(h("h3", "", `${KIND_NAMES[f.kind] || f.kind} on ${f.stream_id}`), h("span", "sev " + f.severity, f.severity), h("span", "state " + f.state, f.state));
  const meta = h("div", "muted", `KOL ${f.kol_id || "?"} · brand ${f.brand_id || "?"} · ${f.platform || ""} · score ${Number(f.score).toFixed(2)} · evidence ${clock(f.ws)}–${clock(f.we)} · flag ${f.flag_id}`);
  box.append(head, meta, h("p", "summary", f.summary));
  const ev = f.evidence || {};
  const chips = h("div", "chips");
  const fired = ev.fired || [];
  const names = Object.keys(ev.signals || {}).sort((a, b) => (fired.includes(b) - fired.includes(a)) || a.localeCompare(b));
  for (const name of names) {
    const base = ev.baseline && ev.baseline[name] !== undefined ? ` (baseline ${fmtSignal(ev.baseline[name])})` : "";
    chips.append(h("span", "chip" + (fired.includes(name) ? " fired" : ""), `${name} ${fmtSignal(ev.signals[name])}${base}`));
  }
  box.append(chips);
  if (detail.error) { box.append(h("div", "empty", detail.error)); return; }
  if (!detail.data || detail.id !== f.flag_id) { box.append(h("div", "empty", "Loading the stream…")); return; }
  streamCharts(box, detail.data, { from: f.ws, to: Math.max(f.we, f.ws + 60000), label: "flag" });
}

// streamCharts draws a stream's minutes (a /api/streams/{id} response) into box: its viewers,
// measured against displayed, and its orders and refunds; band shades a flag's window.
function streamCharts(box, data, band) {
  const c1 = h("div", "chart"), c2 = h("div", "chart");
  const l1 = h("div", "legend"), l2 = h("div", "legend");
  box.append(h("h2", "", "Viewers: measured vs displayed"), c1, l1, h("h2", "", "Orders and refunds"), c2, l2);
  const m = data.minutes;
  const x = m.map((p) => ms(p.minute));
  // The range asked for, narrowed to the stream's minutes in it with 5 min either side (at
  // least half an hour).
  const start = Math.max(ms(data.from), (x[0] || 0) - 5 * 60000);
  const range = [start, Math.min(ms(data.to), Math.max((x[x.length - 1] || 0) + 5 * 60000, start + 30 * 60000))];
  const viewers = [
    { label: "Measured concurrent", color: "#3ddc97", type: "area", values: m.map((p) => p.concurrent_viewers), fmt: group },
    { label: "Displayed count", color: "#ff5c7a", type: "line", values: m.map((p) => p.reported_viewers || null), fmt: group },
  ];
  Chart.time(c1, { x, series: viewers, fmtLeft: compact, band, range });
  legend(l1, viewers);
  const sales = [
    { label: "Orders", color: "#4ea1ff", type: "bar", values: m.map((p) => p.orders), fmt: group },
    { label: "Refunds", color: "#ff5c5c", type: "bar", values: m.map((p) => p.refunds), fmt: group },
  ];
  Chart.time(c2, { x, series: sales, fmtLeft: compact, band, range });
  legend(l2, sales);
}
const fmtSignal = (v) => (Math.abs(v) >= 100 ? group(v) : Number(v).toFixed(Math.abs(v) < 1 ? 3 : 2));
function legend(el, series) {
  el.replaceChildren(...series.map((s) => { const sp = h("span"); const i = h("i"); i.style.background = s.color; sp.append(i, s.label); return sp; }));
}

// ---- KOL audit.
// serverToday is the business day the API counts as today (--timezone): near midnight the
// browser's own date is another one.
async function serverToday() {
  let from = state.live && state.live.from;
  if (!from) {
    try { from = (await getJSON("/api/live/minutes")).from; } catch { /* the browser's date below */ }
  }
  return from ? from.slice(0, 10) : dayOf(new Date());
}
async function openAudit(params) {
  const form = $("#audit-form");
  const today = await serverToday();
  for (const k of ["kol", "brand"]) form.elements[k].value = params.get(k) || "";
  form.elements.from.value = params.get("from") || today;
  form.elements.to.value = params.get("to") || today;
  if (params.get("kol") || params.get("brand")) runAudit();
}
$("#audit-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  location.hash = "#/audit?" + auditQuery().toString();
});
function auditQuery() {
  const f = $("#audit-form").elements;
  const q = new URLSearchParams();
  if (f.kol.value.trim()) q.set("kol", f.kol.value.trim());
  if (f.brand.value.trim()) q.set("brand", f.brand.value.trim());
  q.set("from", f.from.value);
  // The API's "to" is exclusive: the date picked is included, so ask up to the next day.
  const to = new Date(f.to.value + "T00:00:00");
  to.setDate(to.getDate() + 1);
  q.set("to", dayOf(to));
  return q;
}
async function runAudit() {
  const body = $("#audit-body");
  const q = auditQuery();
  $("#audit-csv").href = "/api/audit?" + q + "&format=csv";
  $("#audit-parquet").href = "/api/audit?" + q + "&format=parquet";
  body.replaceChildren(h("div", "empty", "Computing the audit…"));
  let rep;
  try {
    rep = await getJSON("/api/audit?" + q);
  } catch (e) {
    body.replaceChildren(h("div", e.status === 404 ? "empty" : "error", e.message));
    return;
  }
  body.replaceChildren();
  const sel = rep.kols.find((k) => k.selected);
  if (sel) body.append(scorecard(rep, sel));
  if (rep.brand_id) body.append(comparison(rep));
}

function scorecard(rep, k) {
  const wrap = h("div");
  const card = h("div", "card");
  card.append(h("h2", "", `Scorecard · ${k.kol_id}${rep.brand_id ? " on brand " + rep.brand_id : ""} · ${rep.from.slice(0, 10)} to ${rep.to.slice(0, 10)} (exclusive)`));
  const grid = h("div", "score-grid");
  const ratio = k.displayed_to_measured;
  grid.append(
    kpi("GMV", "¥" + compactMoney(cents(k.gmv)), "¥" + money(cents(k.gmv))),
    kpi("Net GMV", "¥" + compactMoney(cents(k.net_gmv)), `after ¥${money(cents(k.refund_amount))} refunds`),
    kpi("Conversion", pct(k.conversion_rate, 2), `${group(k.buyers)} buyers / ${group(k.unique_viewers)} viewers`),
    kpi("GPM", "¥" + compactMoney(cents(k.gpm)), "GMV per 1,000 viewers"),
    kpi("Refund rate", pct(k.refund_rate), `${group(k.refunded_orders)} of ${group(k.orders)} orders`, k.refund_rate > 0.2 ? "bad" : k.refund_rate > 0.1 ? "warn" : ""),
    kpi("Peak viewers", compact(k.peak_concurrent_viewers), `displayed ${compact(k.peak_displayed_viewers)} (${ratio ? ratio.toFixed(2) + "×" : "n/a"})`, ratio > 2 ? "bad" : ratio > 1.3 ? "warn" : ""),
    kpi("Flags", String(k.flag_count), k.flag_count ? [...new Set(k.flags.map((f) => KIND_NAMES[f.kind] || f.kind))].join(", ") : "none in range", k.flag_count ? "bad" : ""),
  );
  card.append(grid);
  const chart = h("div", "chart tall"), lg = h("div", "legend");
  card.append(h("h2", "", "Per minute"), chart, lg);
  wrap.append(card);
  requestAnimationFrame(() => {
    const m = rep.minutes;
    const series = [
      { label: "GMV", color: "#ffb547", type: "bar", values: m.map((p) => cents(p.gmv) / 100), fmt: (v) => "¥" + money(v * 100) },
      { label: "Measured concurrent viewers", color: "#3ddc97", type: "line", axis: "right", values: m.map((p) => p.concurrent_viewers), fmt: group },
      { label: "Displayed viewers", color: "#ff5c7a", type: "line", axis: "right", dash: "5 4", values: m.map((p) => p.reported_viewers || null), fmt: group },
    ];
    Chart.time(chart, { x: m.map((p) => ms(p.minute)), series, fmtLeft: (v) => "¥" + compactMoney(v * 100), fmtRight: compact, minSpan: 30 * 60000 });
    legend(lg, series);
  });
  const fl = h("div", "card");
  fl.append(h("h2", "", `Flags with their evidence (${k.flag_count})`));
  if (!k.flags.length) fl.append(h("div", "empty", "No flag was raised on this KOL's streams in the range."));
  for (const f of k.flags) fl.append(flagCard(normFlag({ ...f, kol_id: k.kol_id }), false));
  const st = h("div", "card streams"), stBars = h("div", "bars");
  st.append(h("h2", "", `Streams (${k.streams.length}) · links to their minute series`), stBars);
  const panel = h("div", "card");
  panel.hidden = true;
  const showStream = async (s) => {
    panel.hidden = false;
    panel.replaceChildren(h("div", "empty", "Loading " + s.stream_id + "…"));
    try {
      const data = await getJSON(s.minutes_url);
      const head = h("h2", "", `Stream ${s.stream_id} · ${s.platform} · brand ${s.brand_id} · `);
      const raw = h("a", "", "JSON");
      raw.href = s.minutes_url;
      head.append(raw);
      panel.replaceChildren(head);
      const flags = k.flags.filter((f) => f.stream_id === s.stream_id).map(normFlag);
      streamCharts(panel, data, flags.length ? { from: flags[0].ws, to: Math.max(flags[0].we, flags[0].ws + 60000), label: "flag" } : null);
    } catch (e) {
      panel.replaceChildren(h("div", "error", "Cannot load the stream: " + e.message));
    }
  };
  barList(stBars, k.streams.map((s) => ({ label: s.stream_id, value: cents(s.gmv), sub: `${s.platform} · ${group(s.orders)} orders`, onClick: () => showStream(s) })), "No streams.");
  const row = h("div", "grid exec-bottom");
  row.style.gridTemplateColumns = "minmax(0,1.4fr) minmax(0,1fr)";
  row.style.marginTop = "1.1rem";
  row.append(fl, st);
  panel.style.marginTop = "1.1rem";
  wrap.append(row, panel);
  return wrap;
}

function comparison(rep) {
  const card = h("div", "card");
  card.style.marginTop = "1.1rem";
  card.append(h("h2", "", `Brand ${rep.brand_id}: its KOLs side by side (on the brand's streams)`));
  const metrics = [
    { k: "GMV", v: (x) => cents(x.gmv), f: (v) => "¥" + compactMoney(v) },
    { k: "Net GMV", v: (x) => cents(x.net_gmv), f: (v) => "¥" + compactMoney(v) },
    { k: "Conversion", v: (x) => x.conversion_rate, f: (v) => pct(v, 2) },
    { k: "Refund rate", v: (x) => x.refund_rate, f: (v) => pct(v), alt: true },
  ];
  const list = h("div", "bars compare");
  const head = h("div", "row head");
  head.append(h("div", "", "KOL"), ...metrics.map((m) => h("div", "", m.k)));
  list.append(head);
  const max = metrics.map((m) => Math.max(...rep.kols.map(m.v), 1e-9));
  for (const k of rep.kols) {
    const row = h("div", "row" + (k.selected ? " selected" : ""));
    const name = h("a", "name", k.kol_id + (k.flag_count ? ` ⚑${k.flag_count}` : ""));
    const q = new URLSearchParams(location.hash.split("?")[1] || "");
    q.set("kol", k.kol_id);
    name.href = "#/audit?" + q;
    row.append(name);
    metrics.forEach((m, i) => {
      const cell = h("div", "cell");
      const track = h("div", "track"), fill = h("div", "fill" + (m.alt ? " alt" : ""));
      fill.style.width = Math.max(0, (100 * m.v(k)) / max[i]).toFixed(1) + "%";
      track.append(fill);
      cell.append(h("div", "num", m.f(m.v(k))), track);
      row.append(cell);
    });
    list.append(row);
  }
  card.append(list);
  return card;
}

// ---- Start.
setInterval(() => { $("#clock").textContent = clock(Date.now()); }, 1000);
setInterval(() => { if (state.view === "exec") loadMinutes(); }, 10000);
setInterval(() => { if (state.view === "trust") loadFlagDetail(); }, 5000);
connectLive();
loadFlags();
connectFlags();
route();
