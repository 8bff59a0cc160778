// The catalogue page's additions to the server-rendered HTML: the first rows of each table (from
// the query API), the charts (charts.json) and the province map (map.json). Each file is small
// whatever the history; nothing is drawn by a library and nothing leaves this server.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const body = document.body;
const VERSION = body.dataset.version;
const API = `${body.dataset.api}${body.dataset.database}`;
const PREVIEW_ROWS = 5;
const PREVIEW_COLUMNS = 8;
const number = new Intl.NumberFormat("vi-VN");
const percent = new Intl.NumberFormat("vi-VN", { style: "percent", maximumFractionDigits: 1 });

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

const en = (text) => el("span", { class: "en" }, text);

async function getJSON(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

function dayLabel(iso) {
  const [y, m, d] = iso.split("-");
  return d ? `${d}/${m}/${y}` : iso;
}

function cell(column, value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return column.endsWith("_rate") ? percent.format(value) : number.format(value);
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return dayLabel(value);
  return String(value);
}

// --- preview: the first rows of each table, through the API ---------------------------------

async function preview(box) {
  const table = box.dataset.table;
  const url = `${API}/${table}.json?_size=${PREVIEW_ROWS}&_shape=objects`;
  const data = await getJSON(url);
  const rows = data.rows || [];
  // The key and the first few figures: every column is in the downloads and the API.
  const figures = (data.columns || []).filter((c) => !(data.primary_keys || []).includes(c) && !c.endsWith("_status") && !c.startsWith("revised"));
  const columns = [...(data.primary_keys || []), ...figures].slice(0, PREVIEW_COLUMNS);
  const head = el("tr", {}, ...columns.map((c) => el("th", {}, c)));
  const lines = rows.map((r) => el("tr", {}, ...columns.map((c) => el("td", {}, cell(c, r[c])))));
  const total = data.filtered_table_rows_count ?? data.table_rows_count;
  box.append(
    el("p", { class: "note" }, `${PREVIEW_ROWS} dòng đầu, ${columns.length}/${(data.columns || []).length} cột / first rows, columns`, total !== undefined ? ` · ${number.format(total)} dòng / rows · ` : " · ",
      el("a", { href: `${API}/${table}` }, "xem thêm / see more"), " · ", el("a", { href: url.replace("_shape=objects", "_shape=array") }, "JSON")),
    el("div", { class: "scroll" }, el("table", { class: "preview-table" }, el("thead", {}, head), el("tbody", {}, ...lines))),
  );
}

// --- charts: national rate per day (last 90 days) and per month ----------------------------

function lineChart(points, column) {
  const width = 340, height = 150, left = 38, right = 10, top = 12, bottom = 26;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": column });
  const shown = points.filter((p) => p[1] !== null);
  root.append(svg("title", {}, `${column}: ${shown.length} / ${points.length}`));
  const x = (i) => left + (points.length > 1 ? (i * (width - left - right)) / (points.length - 1) : (width - left - right) / 2);
  const y = (v) => top + (1 - v) * (height - top - bottom);
  for (const v of [0, 0.5, 1]) {
    root.append(svg("line", { x1: left, x2: width - right, y1: y(v), y2: y(v), class: "grid" }));
    root.append(svg("text", { x: left - 4, y: y(v) + 4, "text-anchor": "end" }, percent.format(v)));
  }
  let path = "";
  points.forEach((p, i) => {
    if (p[1] === null) return;
    path += `${path && points[i - 1] && points[i - 1][1] !== null ? "L" : "M"}${x(i).toFixed(1)} ${y(p[1]).toFixed(1)}`;
  });
  root.append(svg("path", { d: path, class: "line" }));
  points.forEach((p, i) => {
    if (p[1] !== null) {
      const dot = svg("circle", { cx: x(i), cy: y(p[1]), r: points.length > 40 ? 1.5 : 3, class: "dot" });
      dot.append(svg("title", {}, `${dayLabel(p[0])}: ${percent.format(p[1])}`));
      root.append(dot);
    }
  });
  if (points.length) {
    root.append(svg("text", { x: left, y: height - 8 }, dayLabel(points[0][0])));
    root.append(svg("text", { x: width - right, y: height - 8, "text-anchor": "end" }, dayLabel(points[points.length - 1][0])));
  }
  return root;
}

function chartFigure(column, series) {
  const daily = series.daily, monthly = series.monthly;
  const last = [...daily].reverse().find((p) => p[1] !== null);
  const figure = el("figure", { class: "chart", "data-column": column });
  figure.append(el("figcaption", {}, el("strong", {}, column), last ? ` — toàn quốc ${dayLabel(last[0])}: ${percent.format(last[1])} ` : " ",
    en(last ? `national, ${dayLabel(last[0])}: ${percent.format(last[1])}` : "no published value")));
  figure.append(lineChart(daily, column));
  const notes = [];
  if (monthly.length) notes.push(`Theo tháng / monthly: ${monthly.map((p) => `${p[0].slice(0, 7)} ${p[1] === null ? "—" : percent.format(p[1])}`).join(" · ")}`);
  for (const [level, s] of Object.entries(series.levels)) {
    if (s.median !== null) notes.push(`${level} (${s.month.slice(0, 7)}): trung vị / median ${percent.format(s.median)}, ${percent.format(s.min)} – ${percent.format(s.max)}, ${s.published}/${s.agencies}`);
  }
  for (const n of notes) figure.append(el("p", { class: "note" }, n));
  return figure;
}

async function charts(data, box) {
  const tables = data.tables[box.dataset.table] || {};
  const columns = Object.keys(tables);
  if (!columns.length) return;
  const inner = el("div", { class: "chart-grid" });
  for (const column of columns) inner.append(chartFigure(column, tables[column]));
  box.append(el("details", { open: "" }, el("summary", {}, `Biểu đồ / Charts (${columns.length}): tỷ lệ toàn quốc theo ngày, ${data.days} ngày gần nhất / national rate per day, last ${data.days} days`), inner));
}

// --- map: a choropleth of the 34 provinces, or the 63 before the merger ---------------------

function colour(rate) {
  const t = Math.max(0, Math.min(1, rate));
  const from = [237, 248, 233], to = [0, 90, 80];
  return `rgb(${from.map((f, i) => Math.round(f + (to[i] - f) * t)).join(",")})`;
}

const MAP_LABELS = {
  "34": ["34 tỉnh, thành phố (từ 01/07/2025)", "34 provinces (since 1 July 2025)"],
  "63": ["63 tỉnh (trước 01/07/2025)", "63 provinces (before 1 July 2025)"],
  online_dossier_rate: ["Tỷ lệ hồ sơ trực tuyến", "Online-dossier rate"],
  on_time_rate: ["Tỷ lệ đúng hạn", "On-time rate"],
};

function drawMap(data, view, which, measure) {
  const map = data.maps[which];
  const values = map.values[measure];
  const figure = el("figure", { id: "map-figure", "data-map": which, "data-measure": measure });
  const root = svg("svg", { viewBox: `0 0 ${data.width} ${data.height}`, role: "img", "aria-label": `${MAP_LABELS[which][1]}: ${MAP_LABELS[measure][1]}` });
  let shown = 0;
  for (const area of map.areas) {
    const value = values[area.code];
    const path = svg("path", { d: area.path, fill: value === null || value === undefined ? "#d5d9de" : colour(value), "data-code": area.code });
    path.append(svg("title", {}, `${area.name}: ${value === null || value === undefined ? "không có số liệu / no data" : percent.format(value)}`));
    if (value !== null && value !== undefined) shown++;
    root.append(path);
  }
  const month = map.month ? `tháng / month ${map.month.slice(5, 7)}/${map.month.slice(0, 4)}` : "không có tháng nào trong phiên bản này / no month in this release";
  figure.append(el("figcaption", {}, el("strong", {}, `${MAP_LABELS[measure][0]} — ${MAP_LABELS[which][0]}`), " ", en(`${MAP_LABELS[measure][1]} — ${MAP_LABELS[which][1]}`), ` · ${month} · ${shown}/${map.areas.length}`));
  figure.append(root);
  const legend = el("div", { class: "legend" }, "0%");
  for (let k = 0; k <= 10; k++) legend.append(el("span", { class: "swatch", style: `background:${colour(k / 10)}` }));
  legend.append("100%", el("span", { class: "swatch", style: "background:#d5d9de" }), "không có / none");
  figure.append(legend);
  view.querySelector("#map-figure")?.remove();
  view.append(figure);
}

async function provinceMap(view) {
  const data = await getJSON(view.dataset.src);
  const state = { which: "34", measure: data.measures[0] };
  const controls = el("div", { class: "controls", role: "group" });
  const choose = (key, value) => { state[key] = value; drawMap(data, view, state.which, state.measure); };
  for (const which of ["34", "63"]) {
    const button = el("button", { type: "button", "data-map": which }, MAP_LABELS[which][0]);
    button.addEventListener("click", () => choose("which", which));
    controls.append(button);
  }
  const select = el("select", { "aria-label": "Chỉ số / Measure" }, ...data.measures.map((m) => el("option", { value: m }, `${MAP_LABELS[m][0]} / ${MAP_LABELS[m][1]}`)));
  select.addEventListener("change", () => choose("measure", select.value));
  controls.append(select);
  view.append(controls);
  drawMap(data, view, state.which, state.measure);
}

// --- page ------------------------------------------------------------------------------------

async function main() {
  if (!VERSION) return;
  const work = [...document.querySelectorAll(".preview[data-table]")].map(preview);
  const chartBoxes = document.querySelectorAll(".charts[data-table]");
  if (chartBoxes.length) {
    const data = await getJSON(`/releases/${VERSION}/charts.json`);
    for (const box of chartBoxes) work.push(charts(data, box));
  }
  const view = document.getElementById("map-view");
  if (view) work.push(provinceMap(view));
  await Promise.all(work);
  body.dataset.ready = "true"; // every preview, chart and the map are drawn
}

main().catch((error) => {
  document.querySelector("header").append(el("p", { class: "error" }, `Không tải được / Could not load: ${error.message}`));
  throw error;
});
