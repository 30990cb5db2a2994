// The chat: opens a session (its stored turns, then the live run if one is
// going), sends a message with its options, follows the run's events, resumes
// them after a dropped connection or a reload (Last-Event-ID), and cancels.

import * as api from "./api.js";
import { h } from "./dom.js";
import { readEvents } from "./sse.js";
import { RunView } from "./run_view.js";

const RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000];

function tristate(value) {
  return value === "on" ? true : value === "off" ? false : null;
}

export class Chat {
  /** `hooks`: onSession(id, {created}), onRunEnded(), showError(text). */
  constructor(els, hooks) {
    this.els = els;
    this.hooks = hooks;
    this.sessionId = null;
    this.view = null; // the RunView being streamed into
    this.reader = null; // AbortController of the open stream
    this.lastSeq = 0;
    this.generation = 0; // bumped on every open(): a stale stream stops itself
    els.composer.addEventListener("submit", (e) => {
      e.preventDefault();
      this.send(els.message.value);
    });
    els.message.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.send(els.message.value);
      }
    });
    els.cancel.addEventListener("click", () => this.cancel());
  }

  get running() {
    return this.view !== null && !this.view.finished;
  }

  setRunning(running) {
    this.els.cancel.hidden = !running;
    this.els.send.disabled = running;
  }

  stopReading() {
    this.generation += 1;
    if (this.reader) this.reader.abort();
    this.reader = null;
    this.view = null;
    this.setRunning(false);
  }

  /** Show a session (null: a new chat). Resumes its run if one is going. */
  async open(sessionId) {
    this.stopReading();
    const generation = this.generation;
    this.sessionId = sessionId;
    this.els.turns.replaceChildren();
    if (!sessionId) {
      this.els.turns.append(h("p", { class: "empty muted" }, "Ask anything. The agents' steps show up as they work."));
      return;
    }
    const path = `/api/v1/sessions/${encodeURIComponent(sessionId)}`;
    const [detail, messages, tasks] = await Promise.all([
      api.get(path),
      api.get(`${path}/messages`),
      api.get(`${path}/tasks`),
    ]);
    if (generation !== this.generation) return; // the user moved on meanwhile
    for (const run of detail.runs) {
      if (run.id === detail.active_run_id) continue;
      const own = (list) => list.filter((x) => x.run_id === run.id);
      const view = RunView.fromHistory(run, own(messages), own(tasks), { onSuggestion: (q) => this.send(q) });
      this.els.turns.append(view.el);
    }
    const active = detail.runs.find((r) => r.id === detail.active_run_id);
    if (active) {
      this.begin(new RunView(active.input, { onSuggestion: (q) => this.send(q) }));
      this.view.runId = active.id;
      this.resume(generation);
    }
    this.els.turns.scrollTop = this.els.turns.scrollHeight;
  }

  begin(view) {
    this.els.turns.querySelector(".empty")?.remove();
    this.view = view;
    this.lastSeq = 0;
    this.els.turns.append(view.el);
    this.setRunning(true);
  }

  options() {
    const body = {};
    const deep = tristate(this.els.deep.value);
    const multi = tristate(this.els.multi.value);
    if (deep !== null) body.deep_thinking = deep;
    if (multi !== null) body.multi_agent = multi;
    if (!this.els.tools.checked) body.available_tools = [];
    body.more_suggest = this.els.suggest.checked;
    return body;
  }

  async send(text) {
    const message = (text || "").trim();
    if (!message || this.running) return;
    this.els.message.value = "";
    this.stopReading();
    const generation = this.generation;
    this.begin(new RunView(message, { onSuggestion: (q) => this.send(q) }));
    const payload = { message, ...this.options(), on_disconnect: "continue" };
    if (this.sessionId) payload.session_id = this.sessionId;
    this.reader = new AbortController();
    let response;
    try {
      response = await api.startChat(payload, this.reader.signal);
    } catch (err) {
      if (err.name === "AbortError") return;
      this.view.showStatus("failed", `Not sent: ${err.message}`);
      this.view.finished = true;
      this.setRunning(false);
      return;
    }
    await this.consume(response, generation);
  }

  /** Read a stream into the current view; on a drop, resume where it stopped. */
  async consume(response, generation) {
    const view = this.view;
    try {
      for await (const frame of readEvents(response)) {
        if (generation !== this.generation) return;
        const event = JSON.parse(frame.data);
        if (frame.id) this.lastSeq = Number(frame.id);
        if (event.type === "run.started" && event.session_id !== this.sessionId) {
          this.sessionId = event.session_id;
          this.hooks.onSession(event.session_id, { created: true });
        }
        view.apply(event);
        this.scrollToEnd();
      }
    } catch (err) {
      if (err.name === "AbortError" || generation !== this.generation) return;
    }
    if (generation !== this.generation) return;
    if (!view.finished) {
      this.resume(generation);
      return;
    }
    this.setRunning(false);
    this.hooks.onRunEnded();
  }

  async resume(generation) {
    const view = this.view;
    for (const delay of [0, ...RETRY_DELAYS_MS]) {
      if (delay) {
        view.showStatus("reconnecting", "Connection lost; reconnecting…");
        await new Promise((r) => setTimeout(r, delay));
      }
      if (generation !== this.generation) return;
      this.reader = new AbortController();
      try {
        const response = await api.resumeRun(this.sessionId, view.runId, this.lastSeq, this.reader.signal);
        view.status.hidden = true;
        await this.consume(response, generation);
        return;
      } catch (err) {
        if (err.name === "AbortError" || generation !== this.generation) return;
        if (err.status === 410 || err.status === 404) {
          // The run's events are gone (finished long ago, or a restart): show what was stored.
          await this.open(this.sessionId);
          return;
        }
      }
    }
    view.showStatus("failed", "Lost the connection to the server. Reload the page to try again.");
    this.setRunning(false);
  }

  async cancel() {
    if (!this.sessionId || !this.running) return;
    this.els.cancel.disabled = true;
    try {
      await api.request("POST", `/api/v1/sessions/${encodeURIComponent(this.sessionId)}/cancel`);
    } catch (err) {
      this.hooks.showError(`Could not cancel: ${err.message}`);
    } finally {
      this.els.cancel.disabled = false;
    }
  }

  scrollToEnd() {
    const t = this.els.turns;
    if (t.scrollHeight - t.scrollTop - t.clientHeight < 200) t.scrollTop = t.scrollHeight;
  }
}
