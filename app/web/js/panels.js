// Read-only views: tools (with where each comes from), MCP servers (status),
// skills, and the user's memories (which can be forgotten).

import * as api from "./api.js";
import { h, formatTime } from "./dom.js";

function table(headers, rows) {
  return h("div", { class: "table-wrap" },
    h("table", { class: "listing" },
      h("thead", {}, h("tr", {}, headers.map((t) => h("th", {}, t)))),
      h("tbody", {}, rows)));
}

async function tools() {
  const items = await api.get("/api/v1/tools");
  if (!items.length) return [h("p", { class: "muted" }, "No tools are registered.")];
  return [table(["Tool", "Source", "Description"], items.map((t) =>
    h("tr", {},
      h("td", {}, h("code", {}, t.name)),
      h("td", {}, t.source, t.server ? ` (${t.server})` : "",
        t.shadows.length ? h("div", { class: "muted" }, `shadows ${t.shadows.map((s) => s.server || s.source).join(", ")}`) : ""),
      h("td", {}, t.description))))];
}

async function mcp() {
  const items = await api.get("/api/v1/mcp/servers");
  if (!items.length) return [h("p", { class: "muted" }, "No MCP servers are configured.")];
  return [table(["Server", "Status", "Tools", "Last error"], items.map((s) =>
    h("tr", {},
      h("td", {}, h("strong", {}, s.name), h("div", { class: "muted" }, `${s.transport || "?"} · ${s.origin}`)),
      h("td", {}, h("span", { class: `pill status-${s.status}` }, s.status)),
      h("td", {}, s.tools.length ? s.tools.join(", ") : "none"),
      h("td", {}, s.last_error || ""))))];
}

async function skills() {
  const list = await api.get("/api/v1/skills");
  const sandbox = h("p", { class: list.sandbox.available ? "muted" : "warning" },
    `Script sandbox: ${list.sandbox.available ? "available" : "unavailable"} — ${list.sandbox.detail}`);
  if (!list.items.length) return [sandbox, h("p", { class: "muted" }, "No skills are installed.")];
  return [sandbox, table(["Skill", "Origin", "Description"], list.items.map((s) =>
    h("tr", {}, h("td", {}, h("code", {}, s.name)), h("td", {}, s.origin), h("td", {}, s.description))))];
}

async function memory(rerender, showError) {
  const items = await api.get("/api/v1/memory");
  if (!items.length) return [h("p", { class: "muted" }, "Sage remembers nothing about you yet.")];
  return [h("ul", { class: "memories" }, items.map((m) =>
    h("li", { dataset: { memoryId: m.id } },
      h("div", {}, m.text),
      h("div", { class: "muted" }, `${m.kind} · ${formatTime(m.created_at)} `,
        h("button", {
          type: "button",
          class: "forget",
          onclick: async () => {
            try {
              await api.request("DELETE", `/api/v1/memory/${encodeURIComponent(m.id)}`);
            } catch (err) {
              showError(`Could not forget it: ${err.message}`);
            }
            rerender();
          },
        }, "Forget")))))];
}

export const PANELS = {
  tools: { title: "Tools", load: tools },
  mcp: { title: "MCP servers", load: mcp },
  skills: { title: "Skills", load: skills },
  memory: { title: "Memories", load: memory },
};

/** Fill `el` with the panel `name`; a failure is shown in words inside it. */
export async function showPanel(el, name, showError) {
  const panel = PANELS[name];
  el.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  try {
    const body = await panel.load(() => showPanel(el, name, showError), showError);
    el.replaceChildren(...body);
  } catch (err) {
    el.replaceChildren(h("p", { class: "error" }, `Could not load ${panel.title.toLowerCase()}: ${err.message}`));
  }
}
