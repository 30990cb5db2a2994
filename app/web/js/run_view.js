// One turn of the conversation: the user's message, the run's steps, its task
// board, the answer as Markdown, how it ended, usage and suggestions. `apply`
// takes Sage's events in order; a replayed stream rebuilds the same view.

import { downloadFile } from "./api.js";
import { ApprovalCard } from "./approval.js";
import { h, formatCount } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { StepList } from "./steps.js";
import { TaskBoard } from "./task_board.js";

const ANSWER_KINDS = new Set(["answer", "summary"]);

export class RunView {
  /** `onSuggestion(text)` is called when a suggestion chip is clicked. */
  constructor(input, { onSuggestion, live = true } = {}) {
    this.onSuggestion = onSuggestion;
    this.steps = new StepList();
    if (!live) this.steps.el.open = false;
    this.board = new TaskBoard();
    this.answer = h("div", { class: "answer markdown" });
    this.status = h("div", { class: "run-status", hidden: true });
    this.usage = h("div", { class: "usage muted", hidden: true });
    this.chips = h("div", { class: "chips", hidden: true });
    this.approvalList = h("div", { class: "approvals" });
    this.approvals = new Map(); // call_id → its ApprovalCard
    this.el = h(
      "article",
      { class: "turn" },
      h("div", { class: "bubble user" }, input),
      h("div", { class: "assistant" }, this.board.el, this.steps.el, this.approvalList, this.answer, this.status, this.usage, this.chips),
    );
    this.text = "";
    this.pending = false;
    this.tokens = { input: 0, output: 0 };
    this.finished = false;
    this.runId = null;
  }

  setAnswer(text) {
    this.text = text;
    this.renderAnswer();
  }

  renderAnswer() {
    if (this.pending) return;
    this.pending = true;
    // One Markdown render per frame however many deltas arrive in it.
    requestAnimationFrame(() => {
      this.pending = false;
      this.answer.replaceChildren(renderMarkdown(this.text));
    });
  }

  showStatus(kind, text) {
    this.status.hidden = false;
    this.status.className = `run-status ${kind}`;
    this.status.textContent = text;
  }

  showUsage(inputTokens, outputTokens) {
    this.usage.hidden = false;
    this.usage.textContent = `Tokens: ${formatCount(inputTokens)} in · ${formatCount(outputTokens)} out`;
  }

  showSuggestions(questions) {
    this.chips.replaceChildren(
      ...questions.map((q) => h("button", { type: "button", class: "chip", onclick: () => this.onSuggestion?.(q) }, q)),
    );
    this.chips.hidden = !questions.length;
  }

  apply(event) {
    const s = this.steps;
    switch (event.type) {
      case "run.started":
        this.runId = event.run_id;
        break;
      case "agent.started": s.agentStarted(event); break;
      case "agent.finished": s.agentFinished(event); break;
      case "route.decided": s.route(event); break;
      case "workflow.selected": s.workflow(event); break;
      case "message.delta":
        if (ANSWER_KINDS.has(event.kind)) {
          this.text += event.delta;
          this.renderAnswer();
        } else s.noteDelta(event, event.kind);
        break;
      case "message.completed":
        if (!ANSWER_KINDS.has(event.kind)) s.noteDelta(event, event.kind);
        break;
      case "reasoning.delta": s.reasoning(event); break;
      case "tool.started": s.toolStarted(event); break;
      case "tool.args.delta": s.toolArgs(event); break;
      case "tool.called": s.toolCalled(event); break;
      case "tool.result": s.toolResult(event); break;
      case "input.requested":
      case "approval.requested": {
        if (this.approvals.has(event.call_id)) break; // a resumed run asks again
        const card = new ApprovalCard(event);
        this.approvals.set(event.call_id, card);
        this.approvalList.append(card.el);
        break;
      }
      case "approval.resolved":
        this.approvals.get(event.call_id)?.resolved(event);
        break;
      case "task.created":
        this.board.upsert(event);
        s.task(event, true, this.board.titleOf(event.task_id));
        break;
      case "task.updated":
        this.board.upsert(event);
        s.task(event, false, this.board.titleOf(event.task_id));
        break;
      case "skill.selected": s.skill(event); break;
      case "context.clamped": s.clamp(event); break;
      case "memory.recalled": s.memory(event); break;
      case "agent.notice": s.notice(event); break;
      case "file.created":
        s.file(event, (e) => downloadFile(e.session_id, e.path).catch((err) => s.notice({ ...e, code: "download_failed", message: err.message })));
        break;
      case "usage":
        this.tokens.input += event.input_tokens;
        this.tokens.output += event.output_tokens;
        this.showUsage(this.tokens.input, this.tokens.output);
        break;
      case "suggestions": this.showSuggestions(event.questions); break;
      case "run.finished":
        this.finished = true;
        if (event.answer) this.setAnswer(event.answer);
        this.showUsage(event.usage.input_tokens, event.usage.output_tokens);
        break;
      case "run.cancelled":
        this.finished = true;
        this.showStatus("cancelled", `Cancelled: ${event.reason}`);
        break;
      case "run.failed":
        this.finished = true;
        this.showStatus("failed", `The run failed (${event.error_type}): ${event.message}`);
        break;
      default:
        break; // an event this page does not know yet: ignore, never break the view
    }
    if (this.finished && !this.el.classList.contains("finished")) {
      this.el.classList.add("finished");
      this.steps.el.open = false; // the answer is what matters now; the steps stay one click away
    }
  }

  /** A run read back from the store (no events): its stored messages and tasks. */
  static fromHistory(run, messages, tasks, options) {
    const view = new RunView(run.input, { ...options, live: false });
    for (const m of messages) {
      if (m.role === "assistant" && m.content && !ANSWER_KINDS.has(m.kind || "answer")) {
        view.steps.noteDelta({ message_id: m.id, agent: m.agent, content: m.content }, m.kind);
      }
      for (const call of m.tool_calls || []) {
        let args = call.function?.arguments ?? "";
        try {
          args = JSON.parse(args);
        } catch {
          // keep the raw text
        }
        view.steps.toolCalled({ call_id: call.id, tool: call.function?.name || "tool", arguments: args });
      }
      if (m.role === "tool" && m.tool_call_id) {
        view.steps.toolResult({ call_id: m.tool_call_id, tool: m.name || "tool", ok: !m.interrupted, content: m.content || "", duration_ms: 0 });
      }
    }
    for (const t of tasks) view.board.upsert({ task_id: t.id, title: t.title, status: t.status, result: t.result });
    if (run.answer) view.setAnswer(run.answer);
    if (run.status === "cancelled") view.showStatus("cancelled", "Cancelled.");
    else if (run.status === "failed") view.showStatus("failed", `The run failed: ${run.error || "unknown error"}`);
    else if (run.status === "interrupted") view.showStatus("cancelled", "Interrupted (the server stopped during this run).");
    if (run.input_tokens || run.output_tokens) view.showUsage(run.input_tokens, run.output_tokens);
    view.finished = true;
    view.el.classList.add("finished");
    return view;
  }
}
