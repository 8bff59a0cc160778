// The catalogue page: everything on it is read from the published files (releases.json, the
// current datapackage.json and the tables' JSON), so the page can never disagree with them.
// Charts are inline SVG drawn here: no library, no network beyond this server.
"use strict";

const SVG = "http://www.w3.org/2000/svg";

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

function both(vi, en) {
  return [vi + " ", el("span", { class: "en" }, en)];
}

async function getJSON(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

const FORMATS = [
  ["", ".csv", "CSV"],
  ["-excel", ".excel.csv", "CSV (Excel)"],
  ["-parquet", ".parquet", "Parquet"],
  ["-json", ".json", "JSON"],
];

function downloadLinks(base, table) {
  const p = el("p", { class: "downloads" });
  for (const [, suffix, label] of FORMATS) {
    p.append(el("a", { href: `${base}${table}${suffix}`, download: `${table}${suffix}` }, label));
  }
  return p;
}

function facts(pkg, release) {
  const rows = [
    [["Phiên bản", "Version"], `${pkg.version}`],
    [["Kỳ dữ liệu", "Period covered"], `${pkg.period.start} … ${pkg.period.end}`],
    [["Dữ liệu tính đến", "Data as of (sources last read)"], pkg.dataAsOf],
    [["Công bố", "Published"], pkg.published],
    [["Siêu dữ liệu cập nhật", "Metadata modified"], pkg.metadataModified],
    [["Tần suất", "Update frequency"], `hằng ngày / ${pkg.updateFrequency}`],
    [["Phiên bản tiếp theo dự kiến", "Next expected release"], release ? release.next_expected_release : pkg.nextExpectedRelease],
    [["Ngưỡng ẩn số nhỏ", "Small-cell threshold"], `< ${pkg.suppression.threshold} hồ sơ / dossiers`],
  ];
  const dl = document.getElementById("facts");
  for (const [[vi, en], value] of rows) {
    dl.append(el("dt", {}, ...both(vi, en)), el("dd", {}, value));
  }
}

function statusLegend(pkg) {
  const box = document.getElementById("status-codes");
  box.append(el("h2", {}, ...both("Ô trống và cột trạng thái", "Blank cells and status columns")));
  box.append(el("p", {}, `Mỗi cột có thể để trống có cột <tên>_status bên cạnh; ô bị ẩn khi tính từ ít hơn ${pkg.suppression.threshold} hồ sơ. `,
    el("span", { class: "en" }, `Every column that can be blank has a <name>_status column beside it; a cell is suppressed when derived from fewer than ${pkg.suppression.threshold} dossiers.`)));
  const list = el("dl", { class: "facts" });
  for (const [code, label] of Object.entries(pkg.suppression.statusCodes)) {
    list.append(el("dt", {}, el("code", {}, code)), el("dd", {}, `${label.vi} — `, el("span", { class: "en" }, label.en)));
  }
  box.append(list);
}

function dictionary(schema) {
  const table = el("table");
  table.append(el("thead", {}, el("tr", {}, el("th", {}, ...both("Cột", "Column")), el("th", {}, ...both("Kiểu", "Type")), el("th", {}, ...both("Mô tả", "Description")))));
  const body = el("tbody");
  for (const field of schema.fields) {
    let text = field.description || "";
    if (field.categories) text = `Trạng thái / status of ${field.name.replace(/_status$/, "")}: ${field.categories.map((c) => c.value).join(", ")} (xem / see “Ô trống”).`;
    const key = (schema.primaryKey || []).includes(field.name) ? " (khóa / key)" : "";
    body.append(el("tr", {}, el("td", {}, el("code", {}, field.name)), el("td", {}, field.type + key), el("td", {}, text)));
  }
  table.append(body);
  return el("details", {}, el("summary", {}, ...both("Từ điển dữ liệu", `Data dictionary (${schema.fields.length} columns)`)), table);
}

function versionLinks(table, releases) {
  const list = el("ul");
  for (const r of releases) {
    if (r.status === "withdrawn" || !(r.tables || []).includes(table)) continue;
    const item = el("li", {}, `${r.version} (${r.status}, ${r.period.start} … ${r.period.end}): `);
    item.append(downloadLinks(`/releases/${r.version}/`, table));
    list.append(item);
  }
  return el("details", {}, el("summary", {}, ...both("Mọi phiên bản", "Every version")), list);
}

// --- charts -------------------------------------------------------------------------------

function colour(rate) {
  // Sequential from pale to deep teal; rates outside [0, 1] are clamped.
  const t = Math.max(0, Math.min(1, rate));
  const from = [237, 248, 233], to = [0, 90, 80];
  const mix = from.map((f, i) => Math.round(f + (to[i] - f) * t));
  return `rgb(${mix.join(",")})`;
}

function chartRows(records) {
  // Daily rows, agencies on today's boundaries where the table has both geographies.
  const first = records[0] || {};
  let rows = records;
  if ("period" in first) rows = rows.filter((r) => r.period === "day");
  if ("geography" in first) rows = rows.filter((r) => r.geography === "as_is");
  const day = "period_start" in first ? "period_start" : "day";
  return { rows, day };
}

function heatmap(records, column, names) {
  const { rows, day } = chartRows(records);
  const days = [...new Set(rows.map((r) => r[day]))].sort();
  const byAgency = new Map();
  for (const r of rows) {
    if (!byAgency.has(r.agency_code)) byAgency.set(r.agency_code, new Map());
    byAgency.get(r.agency_code).set(r[day], r);
  }
  const agencies = [...byAgency.keys()].sort((a, b) => (a === "VN" ? -1 : b === "VN" ? 1 : a.localeCompare(b)));
  const cell = Math.max(6, Math.min(44, Math.floor(640 / Math.max(days.length, 1))));
  const rowH = 12, left = 250, top = 30;
  const width = Math.max(left + days.length * cell + 20, 820), height = top + agencies.length * rowH + 60;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": `${column} by agency and day` });
  root.append(svg("title", {}, `${column}: agencies × days`));
  days.forEach((d, i) => {
    if (cell >= 36 || i % Math.ceil(36 / cell) === 0) {
      root.append(svg("text", { x: left + i * cell + cell / 2, y: top - 8, "text-anchor": "middle" }, d.slice(5)));
    }
  });
  let published = 0, hidden = 0;
  agencies.forEach((code, j) => {
    const y = top + j * rowH;
    const label = names.get(code) || code;
    root.append(svg("text", { x: left - 6, y: y + rowH - 3, "text-anchor": "end" }, label.length > 40 ? label.slice(0, 39) + "…" : label));
    days.forEach((d, i) => {
      const r = byAgency.get(code).get(d);
      const status = r ? r[`${column}_status`] || "published" : "missing";
      const value = r ? r[column] : null;
      let fill = "#ffffff", note;
      if (value !== null && value !== undefined) {
        fill = colour(value); note = `${(value * 100).toFixed(1)}%`; published++;
      } else if (status.startsWith("suppressed")) {
        fill = "#b9bec5"; note = status; hidden++;
      } else {
        note = status === "missing" ? "no data" : status;
      }
      const rect = svg("rect", { x: left + i * cell, y, width: cell - 1, height: rowH - 1, fill, stroke: "#e3e6ea", "stroke-width": 0.5 });
      rect.append(svg("title", {}, `${label} · ${d} · ${note}`));
      root.append(rect);
    });
  });
  const legendY = top + agencies.length * rowH + 16;
  for (let k = 0; k <= 10; k++) {
    root.append(svg("rect", { x: left + k * 22, y: legendY, width: 22, height: 10, fill: colour(k / 10) }));
  }
  root.append(svg("text", { x: left - 6, y: legendY + 9, "text-anchor": "end" }, "0%"));
  root.append(svg("text", { x: left + 11 * 22 + 4, y: legendY + 9 }, "100%"));
  root.append(svg("rect", { x: left + 11 * 22 + 50, y: legendY, width: 10, height: 10, fill: "#b9bec5" }));
  root.append(svg("text", { x: left + 11 * 22 + 64, y: legendY + 9 }, "ẩn / suppressed"));
  root.append(svg("rect", { x: left + 11 * 22 + 170, y: legendY, width: 10, height: 10, fill: "#ffffff", stroke: "#b9bec5" }));
  root.append(svg("text", { x: left + 11 * 22 + 184, y: legendY + 9 }, "không áp dụng / n.a."));
  const wrapper = el("figure", { class: "chart", "data-column": column });
  wrapper.append(el("figcaption", {}, el("strong", {}, column), ` — ${published} ô công bố / cells published, ${hidden} ô ẩn / suppressed`));
  wrapper.append(root);
  return wrapper;
}

async function charts(card, table, resources, names) {
  const json = resources.find((r) => r.name === `${table}-json`);
  const schema = resources.find((r) => r.name === table).schema;
  const rates = schema.fields.filter((f) => f.name.endsWith("_rate") && f.type === "number").map((f) => f.name);
  if (!json || rates.length === 0 || !schema.fields.some((f) => f.name === "agency_code")) return;
  const records = await getJSON(`/latest/${json.path}`);
  const box = el("div");
  box.append(el("p", { class: "note" }, ...both("Tỷ lệ theo cơ quan và ngày (ranh giới hiện nay).", "Rates by agency and day (today's boundaries); hover a cell for its value.")));
  for (const column of rates) box.append(heatmap(records, column, names));
  card.append(el("details", { open: "" }, el("summary", {}, ...both("Biểu đồ", `Charts (${rates.length})`)), box));
}

// --- freshness (freshness.json, written by the pipeline into each release) -----------------

async function freshnessSection() {
  const response = await fetch("/latest/freshness.json");
  if (!response.ok) return; // a release from before the pipeline wrote one
  const report = await response.json();
  const section = document.getElementById("freshness");
  const s = report.summary;
  section.append(el("h2", {}, ...both("Độ cập nhật", "Freshness")), el("p", {}, ...both(
    `Đánh giá lúc ${report.generated_at}: ${s.on_time}/${s.agencies} cơ quan đúng hạn; đủ dữ liệu mọi cơ quan đến ${report.complete_through || "—"}.`,
    `At ${report.generated_at}: ${s.on_time} of ${s.agencies} agencies on time; every agency is in up to ${report.complete_through || "—"}.`)));
  const late = report.agencies.filter((a) => a.status !== "on_time");
  const head = ["Cơ quan / Agency", "Trạng thái / Status", "Ngày cuối nhận / Last day received", "Không có dữ liệu từ / No data since", "Trễ từ / Late since"];
  const table = el("table", { id: "freshness-agencies" }, el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))));
  const body = el("tbody");
  for (const a of late) {
    body.append(el("tr", {}, el("td", {}, `${a.agency_code} ${a.name_vi || ""}`), el("td", { class: `status-${a.status}` }, a.status),
      el("td", {}, a.last_day_received || "—"), el("td", {}, a.no_data_since || "—"), el("td", {}, a.late_since || "—")));
  }
  table.append(body);
  section.append(late.length ? table : el("p", {}, ...both("Mọi cơ quan đã gửi dữ liệu đúng hạn.", "Every agency sent its data on time.")));
  const tables = el("ul", { id: "freshness-tables" });
  for (const t of report.kpi_tables) tables.append(el("li", {}, `${t.table}: ${t.status} · cập nhật / updated ${t.last_updated || "—"} · tính đến / as of ${t.data_as_of || "—"}`));
  section.append(tables);
  section.hidden = false;
}

// --- page ---------------------------------------------------------------------------------

async function main() {
  const status = document.getElementById("status");
  const index = await getJSON("/releases.json");
  if (!index.current) {
    status.textContent = "Chưa có phiên bản nào được công bố. / No release published yet.";
    return;
  }
  const pkg = await getJSON("/latest/datapackage.json");
  const current = index.releases.find((r) => r.version === index.current);
  document.getElementById("description").textContent = pkg.description.split("\n\n").join(" — ");
  facts(pkg, current);
  statusLegend(pkg);
  await freshnessSection();
  const links = document.getElementById("package-links");
  for (const [file, label] of [["datapackage.json", "datapackage.json"], ["dcat.jsonld", "DCAT-AP (JSON-LD)"], ["CHANGELOG.md", "CHANGELOG.md"], ["SHA256SUMS", "SHA256SUMS"]]) {
    links.append(el("a", { href: `/latest/${file}` }, label));
  }

  const agencies = pkg.resources.find((r) => r.name === "agencies-json");
  const names = new Map();
  if (agencies) {
    for (const a of await getJSON(`/latest/${agencies.path}`)) names.set(a.agency_code, `${a.name_vi || a.agency_code}`);
  }
  names.set("VN", "Toàn quốc / National");

  const toc = document.getElementById("toc");
  const tables = document.getElementById("tables");
  for (const t of pkg.tables) {
    const resource = pkg.resources.find((r) => r.name === t.name);
    const card = el("article", { class: "table-card", id: t.name });
    card.append(el("h2", {}, t.name, el("span", { class: "en" }, t.kind === "kpi" ? "Bảng chỉ số / KPI table" : "Danh mục mã / Code list")));
    card.append(el("p", {}, resource.description || ""));
    card.append(el("p", {}, `${resource.rows} dòng / rows · khóa / key: `, el("code", {}, (resource.schema.primaryKey || []).join(", ")),
      ` · kỳ / period ${pkg.period.start} … ${pkg.period.end} · tính đến / as of ${pkg.dataAsOf}`));
    card.append(el("h3", {}, ...both("Tải về (phiên bản hiện hành)", `Download (current version ${pkg.version})`)));
    card.append(downloadLinks("/latest/", t.name));
    card.append(versionLinks(t.name, index.releases));
    card.append(dictionary(resource.schema));
    tables.append(card);
    toc.append(el("a", { href: `#${t.name}` }, t.name));
    if (t.kind === "kpi") await charts(card, t.name, pkg.resources, names);
  }

  const body = document.querySelector("#release-table tbody");
  for (const r of index.releases) {
    const files = el("td");
    if (r.status !== "withdrawn") {
      for (const f of ["datapackage.json", "CHANGELOG.md", "SHA256SUMS"]) files.append(el("a", { href: `/releases/${r.version}/${f}` }, f), " ");
    } else {
      files.append(r.withdrawal_reason || "");
    }
    body.append(el("tr", {},
      el("td", {}, r.version), el("td", { class: `status-${r.status}` }, r.status),
      el("td", {}, r.published), el("td", {}, `${r.period.start} … ${r.period.end}`), el("td", {}, r.data_as_of), files));
  }
  status.textContent = "";
  status.hidden = true;
  document.body.dataset.ready = "true"; // every table, chart and link is on the page
}

main().catch((error) => {
  document.getElementById("status").textContent = `Không tải được dữ liệu / Could not load: ${error.message}`;
  throw error;
});
