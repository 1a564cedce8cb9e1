// Sequence page: a sentence in, coloured tokens out (POST /api/sequence/explain).
"use strict";

const $ = (id) => document.getElementById(id);

function colour(r) {
  const a = Math.min(1, Math.abs(r));
  return r >= 0 ? `rgba(214, 39, 40, ${0.1 + 0.8 * a})` : `rgba(31, 119, 180, ${0.1 + 0.8 * a})`;
}

// Translation models: one line per output character, its attention row and its attribution row.
function renderRows(source, rows) {
  const holder = $("rows");
  holder.replaceChildren();
  holder.hidden = !rows;
  if (!rows) return;
  const table = document.createElement("table");
  table.className = "rows";
  const head = document.createElement("tr");
  const cells = ["out", ...source, "", ...source];
  for (const c of cells) {
    const th = document.createElement("th");
    th.textContent = c === " " ? "\u2423" : c;
    head.append(th);
  }
  table.append(head);
  for (const row of rows) {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = row.output;
    tr.append(th);
    const peak = Math.max(1e-12, ...row.attribution.map(Math.abs));
    const values = [...row.attention.slice(0, source.length), null,
      ...row.attribution.slice(0, source.length).map((v) => Math.abs(v) / peak)];
    for (const v of values) {
      const td = document.createElement("td");
      if (v !== null) {
        td.style.backgroundColor = `rgba(214, 39, 40, ${v.toFixed(3)})`;
        td.title = v.toFixed(3);
      }
      tr.append(td);
    }
    table.append(tr);
  }
  holder.append(table);
}

async function init() {
  const info = await (await fetch("/api/sequence/models")).json();
  if (!info.installed) {
    $("status").textContent = "No sequence (text) model is installed in this server.";
    $("status").dataset.state = "missing";
    return;
  }
  for (const m of info.models) {
    const o = document.createElement("option");
    o.value = m;
    o.textContent = m;
    $("model").append(o);
  }
  $("form").hidden = false;
  $("status").textContent = "Type a sentence.";
  $("form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("error").hidden = true;
    const response = await fetch("/api/sequence/explain", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: $("model").value, text: $("text").value }),
    });
    const body = await response.json();
    if (!response.ok) {
      $("error").textContent = body.error || `HTTP ${response.status}`;
      $("error").hidden = false;
      return;
    }
    const prob = body.probability === null ? "" : ` (${(100 * (body.probability || 0)).toFixed(1)}%)`;
    $("label").textContent = `${body.label}${prob} · ${body.method || ""}`;
    const box = $("tokens");
    box.replaceChildren();
    for (const t of body.tokens) {
      const span = document.createElement("span");
      span.className = t.unknown ? "tok unk" : "tok";
      span.textContent = t.token;
      span.title = `${t.score.toFixed(4)}${t.unknown ? " (unknown word)" : ""}`;
      span.style.backgroundColor = colour(t.relative);
      box.append(span, document.createTextNode(" "));
    }
    box.hidden = false;
    renderRows(body.tokens.map((t) => t.token), body.rows);
    $("status").dataset.state = "ready";
  });
}

document.addEventListener("DOMContentLoaded", init);
