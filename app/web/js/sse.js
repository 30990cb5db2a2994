// A server-sent events reader over a fetch() response body. EventSource
// cannot POST or send an Authorization header, and Sage's chat endpoint is a
// POST, so the page parses the stream itself (the WHATWG event-stream format).

/** Yield {id, event, data} for each dispatched event of `response`. */
export async function* readEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let lastId = null;
  let type = "";
  let data = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      // A chunk may end between the CR and the LF of one line break: keep a
      // trailing CR until the next chunk says which it was.
      const holdCR = buffer.endsWith("\r");
      const lines = (holdCR ? buffer.slice(0, -1) : buffer).split(/\r\n|\r|\n/);
      buffer = lines.pop() + (holdCR ? "\r" : "");
      for (const line of lines) {
        if (line === "") {
          if (data.length) yield { id: lastId, event: type || "message", data: data.join("\n") };
          type = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue; // a comment (keep-alive)
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        let val = colon === -1 ? "" : line.slice(colon + 1);
        if (val.startsWith(" ")) val = val.slice(1);
        if (field === "data") data.push(val);
        else if (field === "event") type = val;
        else if (field === "id" && !val.includes("\0")) lastId = val;
      }
    }
  } finally {
    // Stops the download when the reader leaves early (switching sessions).
    reader.cancel().catch(() => {});
  }
}
