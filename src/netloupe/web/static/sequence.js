// Sequence page: a sentence in, coloured tokens out (POST /api/sequence/explain).
"use strict";

const $ = (id) => document.getElementById(id);

function colour(r) {
  const a = Math.min(1, Math.abs(r));
  return r >= 0 ? `rgba(214, 39, 40, ${0.1 + 0.8 * a})` : `rgba(31, 119, 180, ${0.1 + 0.8 * a})`;
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
    $("label").textContent = `${body.label} (${(100 * (body.probability || 0)).toFixed(1)}%) · ${body.method || ""}`;
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
    $("status").dataset.state = "ready";
  });
}

document.addEventListener("DOMContentLoaded", init);
