// A tool call waiting for the person's decision (approval.requested): its
// tool, arguments and why, with Approve, Reject (an optional reason the model
// reads) and Edit (the arguments as JSON, checked by the server, whose 422
// is shown). approval.resolved closes the card, whoever decided.

import { request } from "./api.js";
import { h } from "./dom.js";

function pretty(value) {
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

export class ApprovalCard {
  constructor(event) {
    this.event = event;
    this.reason = h("input", { type: "text", class: "approval-reason", placeholder: "Reason (for Reject)", "aria-label": "Reason" });
    this.args = h("textarea", { class: "approval-args", rows: 4, "aria-label": "Arguments", spellcheck: "false" });
    const asking = event.type === "input.requested"; // an MCP server's question
    this.args.value = asking ? "{}" : pretty(event.arguments);
    this.error = h("div", { class: "approval-error", role: "alert", hidden: true });
    this.state = h("div", { class: "approval-state muted" }, "Waiting for your decision.");
    this.buttons = [
      h("button", { type: "button", class: "approve", onclick: () => this.decide({ decision: "approve" }) }, "Approve"),
      h("button", { type: "button", class: "reject danger", onclick: () => this.reject() }, "Reject"),
      h("button", { type: "button", class: "edit", onclick: () => this.edit() }, asking ? "Send this answer" : "Run with these arguments"),
    ];
    this.el = h(
      "section",
      { class: "approval", dataset: { callId: event.call_id } },
      asking
        ? h("div", { class: "approval-title" }, h("strong", {}, event.server), " asks: ", event.message)
        : h("div", { class: "approval-title" }, h("strong", {}, event.tool), " waits for your approval"),
      h("div", { class: "muted" }, asking ? `While ${event.tool} runs; answer as JSON${event.url ? ` (or go to ${event.url})` : ""}.` : event.reason),
      this.args,
      this.reason,
      h("div", { class: "approval-buttons" }, ...this.buttons),
      this.error,
      this.state,
    );
  }

  reject() {
    const reason = this.reason.value.trim();
    return this.decide({ decision: "reject", ...(reason ? { reason } : {}) });
  }

  edit() {
    let args;
    try {
      args = JSON.parse(this.args.value);
    } catch (err) {
      return this.fail(`The arguments are not JSON: ${err.message}`);
    }
    if (!args || typeof args !== "object" || Array.isArray(args)) return this.fail("The arguments must be a JSON object.");
    return this.decide({ decision: "edit", arguments: args });
  }

  async decide(body) {
    const e = this.event;
    const path = `/api/v1/sessions/${encodeURIComponent(e.session_id)}/runs/${encodeURIComponent(e.run_id)}/approvals/${encodeURIComponent(e.call_id)}`;
    this.setBusy(true);
    try {
      await request("POST", path, body);
      this.error.hidden = true;
    } catch (err) {
      this.setBusy(false);
      this.fail(err.message);
    }
  }

  fail(message) {
    this.error.hidden = false;
    this.error.textContent = message;
  }

  setBusy(busy) {
    for (const button of this.buttons) button.disabled = busy;
  }

  resolved(event) {
    this.setBusy(true);
    this.args.disabled = true;
    this.reason.disabled = true;
    const said = { approve: "Approved", reject: "Rejected", edit: "Edited" }[event.decision] || event.decision;
    this.state.textContent = `${said} by ${event.by}${event.reason ? `: ${event.reason}` : ""}.`;
    this.el.classList.add("resolved", `decision-${event.decision}`);
  }
}
