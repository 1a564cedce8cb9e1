// netloupe page: one client of the JSON API (/api/info, /api/explain, /api/results/...).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { info: null, result: null, inputId: null, rank: 1, busy: false, modelPicked: false };

function setStatus(text, s) {
  const el = $("status");
  el.textContent = text;
  el.dataset.state = s;
}

function showError(message) {
  const el = $("error");
  if (!message) { el.hidden = true; el.textContent = ""; return; }
  el.textContent = message;
  el.hidden = false;
}

async function api(path, options) {
  const response = await fetch(path, options);
  const type = response.headers.get("content-type") || "";
  const body = type.includes("application/json") ? await response.json() : null;
  if (!response.ok) {
    const message = body && body.error ? body.error : `HTTP ${response.status}`;
    throw new Error(message);
  }
  return body;
}

function option(value, text) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = text;
  return o;
}

async function init() {
  try {
    state.info = await api("/api/info");
  } catch (err) {
    showError(`cannot reach the server: ${err.message}`);
    return;
  }
  const info = state.info;
  for (const m of info.models) {
    const o = option(m.name, m.trained_on ? `${m.name} (${m.trained_on})` : m.name);
    o.dataset.inputs = (m.inputs || []).join(",");
    $("model").append(o);
  }
  $("model").value = info.default_model;
  updateModelCard();
  for (const s of info.samples) $("sample").append(option(s.id, s.description));
  for (const name of info.methods) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = name;
    box.name = "method";
    box.checked = name === "gradcam";
    box.addEventListener("change", () => rerun());
    label.append(box, document.createTextNode(" " + name));
    $("methods").append(label);
  }
  $("topk").max = String(info.limits.max_top_k);
  $("medical-note").textContent = info.medical
    ? "DICOM and NIfTI files are read on this server (type sniffed from the content)."
    : "DICOM/NIfTI reading is not installed on this server (netloupe.io.medical missing).";
  $("window").append(option("", "file's own window"));
  for (const w of info.window_presets) $("window").append(option(w, w));

  $("file").addEventListener("change", () => {
    const f = $("file").files[0];
    if (f) explain({ file: f });
  });
  $("use-sample").addEventListener("click", () => explain({ sample: $("sample").value }));
  $("model").addEventListener("change", () => { state.modelPicked = true; updateModelCard(); rerun(); });
  $("topk").addEventListener("change", () => rerun());
  $("slice").addEventListener("input", () => { $("slice-value").textContent = $("slice").value; });
  $("slice").addEventListener("change", () => rerun());
  $("window").addEventListener("change", () => rerun());
  $("opacity").addEventListener("input", applyOpacity);
  $("show-box").addEventListener("change", drawBoxes);
  applyOpacity();
  setStatus("Upload an image or pick a sample.", "idle");
}

function updateModelCard() {
  const m = state.info.models.find((x) => x.name === $("model").value);
  $("model-card").textContent = m ? m.description : "";
}

function selectedMethods() {
  return [...document.querySelectorAll("#methods input:checked")].map((b) => b.value);
}

function rerun() {
  if (state.inputId) explain({ input_id: state.inputId, keepVolume: true });
}

async function explain(source) {
  const methods = selectedMethods();
  if (methods.length === 0) { showError("methods: tick at least one method"); return; }
  const form = new FormData();
  const fresh = Boolean(source.file || source.sample);
  if (fresh) state.modelPicked = false; // a new input: the server picks a model that reads it
  if (source.file) form.append("file", source.file, source.file.name);
  if (source.sample) form.append("sample", source.sample);
  if (source.input_id) form.append("input_id", source.input_id);
  if (state.modelPicked) form.append("model", $("model").value);
  form.append("methods", methods.join(","));
  form.append("top_k", $("topk").value || "3");
  if (source.keepVolume && !$("volume-controls").hidden) {
    if (!$("slice-row").hidden) form.append("slice", $("slice").value);
    if ($("window").value) form.append("window", $("window").value);
  }
  state.busy = true;
  setStatus("explaining…", "busy");
  showError("");
  markStale(true);
  try {
    const result = await api("/api/explain", { method: "POST", body: form });
    state.result = result;
    state.inputId = result.input_id;
    if (!source.keepVolume) state.rank = 1;
    state.rank = Math.min(state.rank, result.predictions.length);
    render(result, !source.keepVolume);
    showAnswer(result);
    setStatus(`${result.model} · ${result.methods.join(", ")} · ${result.seconds.toFixed(2)} s · layer ${result.layers.join(", ")}`, "ready");
  } catch (err) {
    clearResult(); // the previous answer must not stay on screen as if it answered this request
    showError(err.message);
    setStatus("failed", "error");
  } finally {
    state.busy = false;
  }
}

function markStale(stale) {
  $("output").classList.toggle("stale", stale);
  $("panels").setAttribute("aria-busy", String(stale));
}

function clearResult() {
  state.result = null;
  markStale(false);
  $("predictions").replaceChildren();
  $("panels").replaceChildren();
  $("downloads").hidden = true;
  $("answer").hidden = true;
  $("answer").textContent = "";
  $("warning").hidden = true;
}

function showAnswer(result) {
  markStale(false);
  const category = result.input.category;
  // Offer only the models that read this kind of input.
  for (const o of $("model").options) {
    const inputs = o.dataset.inputs ? o.dataset.inputs.split(",") : [];
    const reads = !category || inputs.length === 0 || inputs.includes(category);
    o.disabled = !reads;
    o.hidden = !reads;
  }
  $("model").value = result.model;
  updateModelCard();
  $("answer").textContent = result.model_reason ? `Answered by ${result.model}: ${result.model_reason}.` : `Answered by ${result.model}.`;
  $("answer").dataset.model = result.model;
  $("answer").hidden = false;
  $("warning").textContent = result.warning ? `Warning: ${result.warning}` : "";
  $("warning").hidden = !result.warning;
}

function render(result, fresh) {
  renderVolumeControls(result.input, fresh);
  const preds = $("predictions");
  preds.replaceChildren();
  for (const p of result.predictions) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "pred";
    b.dataset.rank = String(p.rank);
    b.setAttribute("aria-pressed", String(p.rank === state.rank));
    const name = document.createElement("span");
    name.textContent = `${p.rank}. ${p.label}`;
    const prob = document.createElement("span");
    prob.className = "p";
    prob.textContent = `${(100 * p.probability).toFixed(1)}%`;
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.width = `${Math.max(1, 100 * p.probability)}%`;
    b.append(name, prob, bar);
    b.addEventListener("click", () => selectRank(p.rank));
    preds.append(b);
  }
  const panels = $("panels");
  panels.replaceChildren();
  // Tiny inputs (28x28 medical images) are scaled up by a whole factor, pixels kept sharp.
  const side = Math.max(result.width, result.height);
  const zoom = side < 256 ? Math.ceil(256 / side) : 1;
  for (const method of result.methods) {
    const fig = document.createElement("figure");
    fig.className = "panel";
    fig.dataset.method = method;
    const stack = document.createElement("div");
    stack.className = zoom > 1 ? "stack tiny" : "stack";

    const photo = document.createElement("img");
    photo.className = "photo";
    photo.alt = `input image ${result.input.name || ""}`.trim();
    photo.src = result.image_url;
    if (zoom > 1) {
      photo.style.width = `${result.width * zoom}px`;
      photo.style.height = `${result.height * zoom}px`;
    }
    const heat = document.createElement("img");
    heat.className = "heat";
    heat.alt = `${method} map`;
    const box = document.createElement("div");
    box.className = "box";
    box.hidden = true;
    stack.append(photo, heat, box);
    const cap = document.createElement("figcaption");
    fig.append(stack, cap);
    panels.append(fig);
  }
  $("dl-manifest").href = result.manifest_url;
  $("downloads").hidden = false;
  showRank();
  applyOpacity();
}

function renderVolumeControls(input, fresh) {
  const volume = input.n_slices > 1;
  const windows = input.windows || [];
  $("volume-controls").hidden = !(volume || windows.length);
  $("slice-row").hidden = !volume;
  $("window-row").hidden = windows.length === 0;
  if (volume && fresh) {
    $("slice").max = String(input.n_slices - 1);
    $("slice").value = String(input.slice);
  }
  $("slice-value").textContent = volume ? `${input.slice} / ${input.n_slices - 1}` : "";
}

function selectRank(rank) {
  state.rank = rank;
  for (const b of document.querySelectorAll(".pred")) b.setAttribute("aria-pressed", String(Number(b.dataset.rank) === rank));
  showRank();
}

function showRank() {
  const result = state.result;
  for (const fig of document.querySelectorAll("figure.panel")) {
    const method = fig.dataset.method;
    const entry = result.maps[method][state.rank - 1];
    const heat = fig.querySelector("img.heat");
    heat.src = entry.heatmap_url;
    heat.alt = `${method} map for ${entry.label}`;
    heat.dataset.rank = String(entry.rank);
    fig.dataset.rank = String(entry.rank);
    const cap = fig.querySelector("figcaption");
    cap.replaceChildren();
    const title = document.createElement("strong");
    title.textContent = `${method} — ${entry.label}`;
    const links = document.createElement("div");
    for (const [text, url] of [["overlay PNG", `${entry.overlay_url}&alpha=${opacity().toFixed(2)}`], ["map .npy", entry.npy_url]]) {
      const a = document.createElement("a");
      a.href = url;
      a.textContent = text;
      a.setAttribute("download", "");
      a.className = text.startsWith("overlay") ? "dl-overlay" : "dl-npy";
      links.append(a);
    }
    cap.append(title, links);
  }
  drawBoxes();
}

function opacity() { return Number($("opacity").value) / 100; }

function applyOpacity() {
  $("opacity-value").textContent = `${$("opacity").value}%`;
  for (const img of document.querySelectorAll("img.heat")) img.style.opacity = String(opacity());
  for (const a of document.querySelectorAll("a.dl-overlay")) a.href = a.href.replace(/alpha=[0-9.]+/, `alpha=${opacity().toFixed(2)}`);
}

function drawBoxes() {
  const result = state.result;
  if (!result) return;
  for (const fig of document.querySelectorAll("figure.panel")) {
    const entry = result.maps[fig.dataset.method][state.rank - 1];
    const box = fig.querySelector(".box");
    if (!$("show-box").checked || !entry.box) { box.hidden = true; continue; }
    const [x0, y0, x1, y1] = entry.box;
    box.style.left = `${(100 * x0) / result.width}%`;
    box.style.top = `${(100 * y0) / result.height}%`;
    box.style.width = `${(100 * (x1 - x0 + 1)) / result.width}%`;
    box.style.height = `${(100 * (y1 - y0 + 1)) / result.height}%`;
    box.hidden = false;
  }
}

document.addEventListener("DOMContentLoaded", init);
