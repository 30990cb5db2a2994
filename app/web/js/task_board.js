// The task board of a multi-agent run: one row per task, its status live.

import { h } from "./dom.js";

const LABELS = {
  pending: "pending",
  running: "running",
  done: "done",
  failed: "failed",
  skipped: "skipped",
};

export class TaskBoard {
  constructor() {
    this.rows = new Map();
    this.list = h("ol", { class: "task-list" });
    this.el = h("section", { class: "task-board", hidden: true }, h("h4", {}, "Tasks"), this.list);
  }

  titleOf(taskId) {
    return this.rows.get(taskId)?.title.textContent || "";
  }

  /** Add or update a task from a task.created / task.updated event or a stored task. */
  upsert(task) {
    let row = this.rows.get(task.task_id);
    if (!row) {
      row = {
        status: h("span", { class: "pill" }),
        title: h("span", { class: "task-title" }),
        result: h("div", { class: "task-result", hidden: true }),
      };
      row.el = h("li", { class: "task", dataset: { taskId: task.task_id } }, row.status, row.title, row.result);
      this.rows.set(task.task_id, row);
      this.list.append(row.el);
      this.el.hidden = false;
    }
    if (task.title) row.title.textContent = task.title;
    const status = LABELS[task.status] ? task.status : "pending";
    row.status.textContent = LABELS[status];
    row.status.className = `pill status-${status}`;
    row.el.dataset.status = status;
    if (task.result) {
      row.result.textContent = task.result;
      row.result.hidden = false;
    }
  }
}
