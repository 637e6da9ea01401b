// The gateway's API as the console calls it: the bearer token (sessionStorage, never a cookie),
// JSON calls, stored bytes as blob: URLs, and a job's SSE stream read with fetch() (EventSource
// cannot send an Authorization header).

const TOKEN_KEY = "media-stream.console.token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, body) {
    const message = (body && (body.message || body.error)) || `HTTP ${status}`;
    super(message);
    this.status = status;
    this.body = body;
  }
}

function headers(extra = {}) {
  const all = { ...extra };
  const current = token();
  if (current) all.Authorization = `Bearer ${current}`;
  return all;
}

// JSON.parse, except that an integer past 2^53 (a seed written before seeds were bounded) is kept
// as its exact digits instead of being rounded to the nearest double (the reviver's source text).
export function parseJson(text) {
  return JSON.parse(text, (_key, value, context) =>
    typeof value === "number" && !Number.isSafeInteger(value) && context && /^-?\d+$/.test(context.source) ? context.source : value);
}

async function readJson(response) {
  return parseJson(await response.text());
}

async function failure(response) {
  let body = null;
  try {
    body = await readJson(response);
  } catch (_) {
    body = null;
  }
  return new ApiError(response.status, body);
}

export async function getJson(path) {
  const response = await fetch(path, { headers: headers({ Accept: "application/json" }), credentials: "omit", cache: "no-store" });
  if (!response.ok) throw await failure(response);
  return readJson(response);
}

export async function postJson(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: headers({ "Content-Type": "application/json", Accept: "application/json" }),
    body: JSON.stringify(body === undefined ? {} : body),
    credentials: "omit",
  });
  if (!response.ok) throw await failure(response);
  return readJson(response);
}

// A path segment per id, each percent-encoded: an id or key never becomes part of the URL's syntax.
export function path(...segments) {
  return segments.map((s) => encodeURIComponent(String(s))).join("/");
}

export function fileUrl(storageKey) {
  return "/api/v1/files/" + String(storageKey).split("/").map(encodeURIComponent).join("/");
}

// The stored bytes as a blob: URL (the page's CSP admits blob: images and audio, nothing remote).
export async function blobUrl(storageKey) {
  const response = await fetch(fileUrl(storageKey), { headers: headers(), credentials: "omit" });
  if (!response.ok) throw await failure(response);
  return URL.createObjectURL(await response.blob());
}

// The first of several field names that the object has (old and new names of one field).
export function pick(object, ...names) {
  if (!object) return undefined;
  for (const name of names) {
    if (object[name] !== undefined && object[name] !== null) return object[name];
  }
  return undefined;
}

// Calls onEvent(name, data) per SSE message of the job until the stream ends or signal aborts;
// resolves with the name of the last event ("end", "timeout", or "closed").
export async function followJob(jobId, { renderVersion, signal, onEvent }) {
  let url = `/api/v1/jobs/${path(jobId)}/events`;
  if (renderVersion) url += `?renderVersion=${encodeURIComponent(renderVersion)}`;
  const response = await fetch(url, { headers: headers({ Accept: "text/event-stream" }), signal, credentials: "omit", cache: "no-store" });
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let last = "closed";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return last;
    buffer += value;
    let cut;
    while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
      const message = parseBlock(block);
      if (!message) continue;
      last = message.event;
      onEvent(message.event, message.data);
      if (message.event === "end" || message.event === "timeout") {
        reader.cancel().catch(() => {});
        return last;
      }
    }
  }
}

function parseBlock(block) {
  let event = "message";
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return null;
  try {
    return { event, data: parseJson(data.join("\n")) };
  } catch (_) {
    return null;
  }
}
