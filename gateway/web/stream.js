// Server-Sent Events read with fetch(): unlike EventSource, fetch sends the Authorization
// header, so the stream works the same through the gateway and through Envoy.

import { ApiError } from "./api.js";

/**
 * Reads the event stream at `path` until it ends, calling onEvent(name, data) per event.
 * Resolves when the server closes the stream; rejects with an ApiError when it refuses it
 * (or the network fails), with an AbortError when `signal` aborts.
 */
export async function readEvents(path, token, onEvent, signal) {
  let reply;
  try {
    reply = await fetch(path, {
      headers: { Accept: "text/event-stream", Authorization: `Bearer ${token}` },
      cache: "no-store",
      credentials: "omit",
      signal,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, { message: "network" });
  }
  if (!reply.ok) {
    let body = null;
    try {
      body = await reply.json();
    } catch {
      body = null;
    }
    throw new ApiError(reply.status, body, Number(reply.headers.get("retry-after")) || null);
  }
  const reader = reply.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += value;
      // A CR at a chunk's end may be the first half of CRLF: keep it for the next chunk.
      const complete = buffered.endsWith("\r") ? buffered.length - 1 : buffered.length;
      const text = buffered.slice(0, complete).replace(/\r\n?/g, "\n");
      const blocks = text.split("\n\n");
      buffered = blocks.pop() + buffered.slice(complete);
      for (const block of blocks) dispatch(block, onEvent);
    }
  } catch (error) {
    if (error.name === "AbortError") throw error;
    // An `event: error` frame (thrown by onEvent) or a broken connection: stop reading.
    reader.cancel().catch(() => {});
    throw error instanceof ApiError ? error : new ApiError(0, { message: "network" });
  } finally {
    reader.releaseLock();
  }
}

function dispatch(block, onEvent) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") name = value;
  }
  if (data.length) onEvent(name, data.join("\n"));
}
