// Renders /openapi.json as a list of endpoints (no external Swagger UI, so it works offline).
"use strict";

async function init() {
  const spec = await (await fetch("/openapi.json")).json();
  const root = document.getElementById("endpoints");
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const [verb, op] of Object.entries(ops)) {
      const div = document.createElement("div");
      div.className = "endpoint";
      const head = document.createElement("p");
      const v = document.createElement("code");
      v.className = "verb";
      v.textContent = verb.toUpperCase();
      const p = document.createElement("code");
      p.textContent = path;
      head.append(v, p);
      const desc = document.createElement("p");
      desc.textContent = op.description || op.summary || "";
      div.append(head, desc);
      const params = (op.parameters || []).map((x) => `${x.name} (${x.in})`);
      const body = op.requestBody && op.requestBody.content ? Object.keys(op.requestBody.content).join(", ") : "";
      if (params.length || body) {
        const extra = document.createElement("p");
        extra.className = "hint";
        extra.textContent = [params.length ? `parameters: ${params.join(", ")}` : "", body ? `body: ${body}` : ""]
          .filter(Boolean).join(" · ");
        div.append(extra);
      }
      root.append(div);
    }
  }
}

document.addEventListener("DOMContentLoaded", init);
