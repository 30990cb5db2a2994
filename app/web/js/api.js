// The HTTP client for Sage's API: the API key (kept in this tab's session
// storage), JSON requests, and errors as readable sentences.

const KEY_STORAGE = "sage.apiKey";

export class ApiError extends Error {
  constructor(status, type, message) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

export function getKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}

export function setKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

function headers(extra = {}) {
  const out = { Accept: "application/json", ...extra };
  const key = getKey();
  if (key) out.Authorization = `Bearer ${key}`;
  return out;
}

/** Sage's error body is {"error": {"type", "message"}}; say it in words. */
async function errorOf(response) {
  let type = "http_error";
  let message = `The server answered ${response.status} ${response.statusText}.`;
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) {
      type = body.error.type || type;
      message = body.error.message;
    }
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, type, message);
}

async function send(method, path, { body, extraHeaders, signal } = {}) {
  const init = { method, headers: headers(extraHeaders), signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new ApiError(0, "network", "Could not reach the Sage server. Is it running?");
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

/** A JSON request; resolves to the parsed body (null for 204). */
export async function request(method, path, body) {
  const response = await send(method, path, { body });
  if (response.status === 204) return null;
  return response.json();
}

export const get = (path) => request("GET", path);

/** Start a chat: POST returning the run's events as SSE. */
export function startChat(payload, signal) {
  return send("POST", "/api/v1/chat", {
    body: payload,
    extraHeaders: { Accept: "text/event-stream" },
    signal,
  });
}

/** Follow a run's events after `lastSeq` (a reload or a dropped connection). */
export function resumeRun(sessionId, runId, lastSeq, signal) {
  const path = `/api/v1/sessions/${encodeURIComponent(sessionId)}/runs/${encodeURIComponent(runId)}/events`;
  return send("GET", path, {
    extraHeaders: { Accept: "text/event-stream", "Last-Event-ID": String(lastSeq) },
    signal,
  });
}

/** Download a session file (the API key goes in a header, so a plain link cannot). */
export async function downloadFile(sessionId, path) {
  const parts = path.split("/").map(encodeURIComponent).join("/");
  const response = await send("GET", `/api/v1/sessions/${encodeURIComponent(sessionId)}/files/${parts}`, {
    extraHeaders: { Accept: "*/*" },
  });
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = path.split("/").pop();
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
