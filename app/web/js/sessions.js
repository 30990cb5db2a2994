// The sidebar's list of the user's sessions: title, status, time; open, delete.

import * as api from "./api.js";
import { h, formatTime } from "./dom.js";

export class SessionList {
  /** `hooks`: onDeleted(id), showError(text). */
  constructor(el, hooks) {
    this.el = el;
    this.hooks = hooks;
    this.current = null;
  }

  async refresh() {
    const page = await api.get("/api/v1/sessions?limit=100");
    this.el.replaceChildren(...page.items.map((s) => this.item(s)));
    if (!page.items.length) this.el.append(h("li", { class: "muted empty" }, "No sessions yet."));
    this.highlight(this.current);
  }

  highlight(sessionId) {
    this.current = sessionId;
    for (const li of this.el.querySelectorAll("li[data-session-id]")) {
      li.classList.toggle("current", li.dataset.sessionId === sessionId);
    }
  }

  item(session) {
    const status = session.active_run_id ? "running" : session.status;
    const remove = h("button", { type: "button", class: "delete", title: "Delete this session", "aria-label": "Delete" }, "×");
    remove.addEventListener("click", (e) => {
      e.preventDefault();
      // Two clicks: the first asks, the second deletes (no blocking dialog).
      if (!remove.classList.contains("confirm")) {
        remove.classList.add("confirm");
        remove.textContent = "Delete?";
        setTimeout(() => {
          remove.classList.remove("confirm");
          remove.textContent = "×";
        }, 4000);
        return;
      }
      this.remove(session.id);
    });
    return h(
      "li",
      { dataset: { sessionId: session.id } },
      h(
        "a",
        { href: `#/chat/${encodeURIComponent(session.id)}`, class: "session-link" },
        h("span", { class: "session-title" }, session.title || "(untitled)"),
        h("span", { class: "session-meta" },
          h("span", { class: `pill status-${status}` }, status), " ",
          h("time", { datetime: new Date(session.updated_at * 1000).toISOString() }, formatTime(session.updated_at))),
      ),
      remove,
    );
  }

  async remove(sessionId) {
    try {
      await api.request("DELETE", `/api/v1/sessions/${encodeURIComponent(sessionId)}`);
    } catch (err) {
      this.hooks.showError(`Could not delete the session: ${err.message}`);
      return;
    }
    this.hooks.onDeleted(sessionId);
    await this.refresh();
  }
}
