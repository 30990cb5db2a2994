// Boot and routing. Routes live in the URL hash so a reload lands on the same
// view: #/chat (new chat), #/chat/<session id>, #/tools, #/mcp, #/skills, #/memory.

import * as api from "./api.js";
import { Chat } from "./chat.js";
import { PANELS, showPanel } from "./panels.js";
import { SessionList } from "./sessions.js";

const $ = (id) => document.getElementById(id);

function showError(text) {
  $("banner-text").textContent = text;
  $("banner").hidden = false;
}

function closeMenu() {
  document.body.classList.remove("menu-open");
}

/** Does the server take us as we are (local mode, or a stored key)? */
async function signedIn() {
  try {
    await api.get("/api/v1/sessions?limit=1");
    return true;
  } catch (err) {
    if (err.status === 401) return false;
    throw err;
  }
}

function askForKey() {
  $("app").hidden = true;
  $("signin").hidden = false;
  $("signin-key").focus();
  return new Promise((resolve) => {
    $("signin-form").onsubmit = async (e) => {
      e.preventDefault();
      api.setKey($("signin-key").value.trim());
      const error = $("signin-error");
      try {
        if (await signedIn()) {
          $("signin").hidden = true;
          resolve();
          return;
        }
        error.textContent = "That key was not accepted.";
      } catch (err) {
        error.textContent = err.message;
      }
      api.setKey("");
      error.hidden = false;
    };
  });
}

async function start() {
  $("banner-close").addEventListener("click", () => ($("banner").hidden = true));
  $("menu").addEventListener("click", () => document.body.classList.toggle("menu-open"));
  if (!(await signedIn())) await askForKey();
  const signout = $("signout");
  signout.hidden = !api.getKey();
  signout.addEventListener("click", () => {
    api.setKey("");
    location.hash = "";
    location.reload();
  });

  const health = await api.get("/healthz").catch(() => null);
  if (health && !health.llm_configured) {
    showError("No LLM is configured on this server, so chats will fail. See the README: 'Pointing Sage at an LLM'.");
  }

  const sessions = new SessionList($("sessions"), {
    showError,
    onDeleted: (id) => {
      if (chat.sessionId === id) location.hash = "#/chat";
    },
  });
  const chat = new Chat(
    {
      turns: $("turns"),
      composer: $("composer"),
      message: $("message"),
      send: $("send"),
      cancel: $("cancel"),
      deep: $("opt-deep"),
      multi: $("opt-multi"),
      tools: $("opt-tools"),
      suggest: $("opt-suggest"),
    },
    {
      showError,
      onSession: (id) => {
        history.replaceState(null, "", `#/chat/${encodeURIComponent(id)}`);
        $("view-title").textContent = "Chat";
        sessions.highlight(id);
        sessions.refresh().catch((err) => showError(err.message));
      },
      onRunEnded: () => sessions.refresh().catch((err) => showError(err.message)),
    },
  );

  async function route() {
    closeMenu();
    const [, view = "chat", arg = ""] = location.hash.split("/");
    const panel = PANELS[view];
    $("chat-view").hidden = Boolean(panel);
    $("panel-view").hidden = !panel;
    if (panel) {
      $("view-title").textContent = panel.title;
      sessions.highlight(null);
      await showPanel($("panel-view"), view, showError);
      return;
    }
    const sessionId = decodeURIComponent(arg) || null;
    $("view-title").textContent = sessionId ? "Chat" : "New chat";
    sessions.highlight(sessionId);
    if (sessionId && sessionId === chat.sessionId && chat.els.turns.childElementCount) return;
    try {
      await chat.open(sessionId);
    } catch (err) {
      chat.els.turns.replaceChildren();
      showError(`Could not open the session: ${err.message}`);
    }
    $("message").focus();
  }

  window.addEventListener("hashchange", () => route().catch((err) => showError(err.message)));
  $("app").hidden = false;
  $("boot").remove();
  window.sageReady = true;
  await Promise.all([sessions.refresh(), route()]);
}

start().catch((err) => {
  const boot = $("boot");
  if (boot) boot.textContent = `Sage's page could not start: ${err.message}`;
  showError(err.message);
});
