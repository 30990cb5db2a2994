// The run's steps as a live timeline: agents with their durations, the route
// decision, tool calls (arguments streamed, result, duration; collapsed),
// skills, context clamps, recalled memories, notices, and the intermediate
// messages and reasoning of each agent (collapsed).

import { h, formatDuration, formatCount } from "./dom.js";
import { renderMarkdown } from "./markdown.js";

function prettyJson(value) {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

export class StepList {
  constructor() {
    this.list = h("ol", { class: "steps-list" });
    this.counts = h("span", { class: "steps-counts" });
    this.el = h(
      "details",
      { class: "steps", open: true },
      h("summary", {}, "Steps ", this.counts),
      this.list,
    );
    this.agents = new Map(); // "agent/node" → the open agent row
    this.openByAgent = new Map(); // agent name → its open row (children go under it)
    this.tools = new Map(); // call_id → {el, summary, args, result}
    this.notes = new Map(); // message_id → {body, text}
    this.stats = { agents: 0, tools: 0 };
  }

  /** Append a row under the agent that produced `event` while it runs, else under the
   * tool call it belongs to (an agent called as a tool), else at the top level. */
  add(el, event) {
    const agent = event && event.agent ? this.openByAgent.get(event.agent) : null;
    const call = !agent && event && event.parent_call_id ? this.tools.get(event.parent_call_id) : null;
    (agent || call ? (agent || call).sub : this.list).append(el);
    return el;
  }

  refreshCounts() {
    const { agents, tools } = this.stats;
    this.counts.textContent = `· ${agents} agent${agents === 1 ? "" : "s"} · ${tools} tool call${tools === 1 ? "" : "s"}`;
  }

  agentStarted(event) {
    this.stats.agents += 1;
    this.refreshCounts();
    const state = h("span", { class: "state" }, "running…");
    const sub = h("ol", { class: "steps-list sub" });
    const row = this.add(
      h("li", { class: "step agent running", dataset: { agent: event.agent || "" } },
        h("span", { class: "icon" }, "▶"), " ",
        h("strong", {}, event.agent || event.node), " ",
        h("span", { class: "muted" }, event.model ? `(${event.model})` : ""), " ",
        state, sub),
      // An agent called as a tool goes under that call; the flow's agents at the top.
      event.parent_call_id ? { parent_call_id: event.parent_call_id } : null,
    );
    const open = { row, state, sub };
    this.agents.set(`${event.agent}/${event.node}`, open);
    if (event.agent) this.openByAgent.set(event.agent, open);
  }

  agentFinished(event) {
    const key = `${event.agent}/${event.node}`;
    const open = this.agents.get(key);
    this.agents.delete(key);
    if (open && this.openByAgent.get(event.agent) === open) this.openByAgent.delete(event.agent);
    const text = `${event.status === "ok" ? "done" : event.status} in ${formatDuration(event.duration_ms)}`;
    if (open) {
      open.state.textContent = text;
      open.row.classList.remove("running");
      open.row.classList.add(`status-${event.status}`);
      open.row.querySelector(".icon").textContent = event.status === "ok" ? "✓" : "✗";
    } else {
      this.add(h("li", { class: `step agent status-${event.status}` }, `${event.agent}: ${text}`), event);
    }
  }

  line(kind, event, ...children) {
    return this.add(h("li", { class: `step ${kind}` }, ...children), event);
  }

  route(event) {
    const paths = [];
    if (event.deep_thinking) paths.push("deep thinking");
    paths.push(event.multi_agent ? "multi-agent" : "single agent");
    const by = event.source === "options" ? "as requested" : "decided by the router";
    this.line("route", event, h("span", { class: "icon" }, "⤷"), ` Route: ${paths.join(" + ")} (${by})`,
      event.reason ? h("span", { class: "muted" }, ` — ${event.reason}`) : "");
  }

  toolStarted(event) {
    if (this.tools.has(event.call_id)) return;
    this.stats.tools += 1;
    this.refreshCounts();
    const state = h("span", { class: "state" }, "running…");
    const args = h("pre", { class: "tool-args" });
    const result = h("pre", { class: "tool-result" });
    const sub = h("ol", { class: "steps-list sub" }); // an agent called as this tool
    const el = this.add(
      h("li", { class: "step tool running", dataset: { callId: event.call_id } },
        h("details", {},
          h("summary", {}, h("span", { class: "icon" }, "⚙"), " ",
            h("strong", { class: "tool-name" }, event.tool), " ", state),
          h("div", { class: "label" }, "Arguments"), args,
          h("div", { class: "label" }, "Result"), result),
        sub),
      event,
    );
    this.tools.set(event.call_id, { el, state, args, result, sub });
  }

  toolArgs(event) {
    const call = this.tools.get(event.call_id);
    if (call) call.args.append(event.delta);
  }

  toolCalled(event) {
    if (!this.tools.has(event.call_id)) this.toolStarted(event);
    this.tools.get(event.call_id).args.textContent = prettyJson(event.arguments);
  }

  toolResult(event) {
    if (!this.tools.has(event.call_id)) this.toolStarted(event);
    const call = this.tools.get(event.call_id);
    call.result.textContent = event.content;
    const took = event.duration_ms ? ` · ${formatDuration(event.duration_ms)}` : "";
    call.state.textContent = `${event.ok ? "ok" : "failed"}${took}`;
    call.el.classList.remove("running");
    call.el.classList.add(event.ok ? "status-ok" : "status-error");
  }

  /** An intermediate message (analysis, plan, observation…), collapsed. */
  noteDelta(event, kind) {
    let note = this.notes.get(event.message_id);
    if (!note) {
      const body = h("div", { class: "markdown note-body" });
      this.line("note", event, h("details", {}, h("summary", {}, `${kind.replace("_", " ")} · ${event.agent || ""}`), body));
      note = { body, text: "", pending: false };
      this.notes.set(event.message_id, note);
    }
    if (event.content !== undefined) note.text = event.content;
    else note.text += event.delta || "";
    if (!note.pending) {
      note.pending = true;
      requestAnimationFrame(() => {
        note.pending = false;
        note.body.replaceChildren(renderMarkdown(note.text));
      });
    }
  }

  reasoning(event) {
    const key = `r:${event.message_id}`;
    let note = this.notes.get(key);
    if (!note) {
      const body = h("pre", { class: "reasoning-body" });
      this.line("reasoning", event, h("details", {}, h("summary", {}, `reasoning · ${event.agent || ""}`), body));
      note = { body };
      this.notes.set(key, note);
    }
    note.body.append(event.delta);
  }

  skill(event) {
    this.line("skill", event, h("span", { class: "icon" }, "✦"), ` Skill loaded: `, h("strong", {}, event.skill), ` (level ${event.level})`);
  }

  clamp(event) {
    this.line("clamp", event, h("span", { class: "icon" }, "✂"),
      ` Context clamped: kept ${event.kept}, dropped ${event.dropped} (${formatCount(event.tokens)} of ${formatCount(event.token_budget)} tokens)`);
  }

  memory(event) {
    this.line("memory", event, h("span", { class: "icon" }, "◆"), ` Recalled ${event.count} memor${event.count === 1 ? "y" : "ies"}`);
  }

  workflow(event) {
    this.line("workflow", event, h("span", { class: "icon" }, "☰"), ` Workflow: ${event.workflow}`);
  }

  /** A file a tool made in the session's workspace, with a download button. */
  file(event, download) {
    const button = h("button", { type: "button", class: "link", onclick: () => download(event) }, "Download");
    this.line("file", event, h("span", { class: "icon" }, "⇩"), " ", h("strong", {}, event.path),
      h("span", { class: "muted" }, ` (${formatCount(event.size)} bytes, ${event.media_type}) `), button);
  }

  notice(event) {
    this.line("notice", event, h("span", { class: "icon" }, "⚠"), ` ${event.message}`, h("span", { class: "muted" }, ` (${event.code})`));
  }

  task(event, created, title) {
    const what = created ? "created" : `→ ${event.status}`;
    this.line("task-log", event, h("span", { class: "icon" }, "▣"), ` Task “${title || event.task_id}” ${what}`);
  }
}
