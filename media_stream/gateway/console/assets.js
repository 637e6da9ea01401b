// One asset's card: an image tile (scene, prompt, seed, model, consistency) or an audio clip with
// a player, each with a 1-5 rating and a Rerender button. Values reach the DOM only as text,
// properties or attributes. `actions`: `project()` (the open project) and `rerender(assetId)`.

import { ApiError, blobUrl, path, pick, postJson } from "./api.js";

const CATALOG_RETRIES = 10;

export function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function explain(error) {
  if (error instanceof ApiError) {
    if (error.status === 401) return `${error.message} — type a token above`;
    return `${error.status}: ${error.message}`;
  }
  return String((error && error.message) || error);
}

export function imageFromEvent(event) {
  const jobId = pick(event, "jobId");
  const sceneId = pick(event, "sceneId", "part");
  const version = pick(event, "renderVersion") || 1;
  return {
    assetId: pick(event, "assetId") || `${jobId}:${sceneId}:v${version}`,
    jobId,
    sceneId,
    sceneIndex: pick(event, "sceneIndex") || 0,
    version,
    prompt: pick(event, "prompt") || "",
    seed: pick(event, "seed"),
    model: pick(event, "model") || "",
    consistency: pick(event, "consistencyScore", "consistency"),
    storageKey: pick(event, "storageKey", "key") || "",
  };
}

export function imageTile(info, actions) {
  const tile = el("figure", { class: "tile", "data-testid": "image-tile", "data-asset-id": info.assetId, "data-scene": info.sceneId, "data-version": info.version });
  const frame = el("div", { class: "frame" });
  const image = el("img", { "data-testid": "image", alt: `${info.sceneId}: ${info.prompt}`.slice(0, 200) });
  image.decoding = "async";
  frame.append(image);
  tile.append(frame);
  if (info.storageKey) {
    blobUrl(info.storageKey)
      .then((url) => {
        image.addEventListener("load", () => { tile.dataset.loaded = "true"; }, { once: true });
        image.src = url;
      })
      .catch((error) => { frame.append(el("p", { class: "error" }, `image: ${explain(error)}`)); });
  }
  const caption = el("figcaption");
  const title = el("div", { class: "scene" });
  title.append(el("strong", { "data-testid": "scene" }, `scene ${info.sceneId}`), el("span", { class: "version" }, `v${info.version}`));
  caption.append(title, el("p", { class: "prompt", "data-testid": "prompt" }, info.prompt));
  const facts = el("dl", { class: "facts" });
  const fact = (name, value, cls) => { facts.append(el("dt", {}, name), el("dd", { class: cls, "data-testid": cls }, value)); };
  fact("seed", info.seed === undefined ? "—" : String(info.seed), "seed");
  fact("model", info.model || "—", "model");
  fact("consistency", typeof info.consistency === "number" ? `${(info.consistency * 100).toFixed(1)}%` : "—", "consistency");
  caption.append(facts, ratingControls(info.assetId, actions), rerenderButton(info.assetId, actions));
  tile.append(caption);
  return tile;
}

function ratingControls(assetId, actions) {
  const box = el("div", { class: "rating", role: "group", "aria-label": "rating" });
  const stateText = el("span", { class: "rating-state muted", "data-testid": "rating-state" });
  for (let n = 1; n <= 5; n += 1) {
    const button = el("button", { type: "button", class: "star", "data-rating": n, "aria-pressed": "false", title: `rate ${n} of 5` }, "★");
    button.addEventListener("click", () => rate(assetId, n, box, stateText, actions));
    box.append(button);
  }
  box.append(stateText);
  return box;
}

// An asset just shown may not be cataloged yet: its rating or rerender answers 404 meanwhile.
export async function whenCataloged(call, onWait) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404 && attempt < CATALOG_RETRIES)) throw error;
      onWait();
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

async function rate(assetId, rating, box, stateText, actions) {
  stateText.textContent = "rating…";
  try {
    const answer = await whenCataloged(
      () => postJson(`/api/v1/projects/${path(actions.project())}/assets/${path(assetId)}/rating`, { rating }),
      () => { stateText.textContent = "waiting for the catalog…"; },
    );
    for (const button of box.querySelectorAll(".star")) {
      button.classList.toggle("on", Number(button.dataset.rating) <= answer.rating);
      button.setAttribute("aria-pressed", String(Number(button.dataset.rating) === answer.rating));
    }
    stateText.textContent = `rated ${answer.rating}`;
  } catch (error) {
    stateText.textContent = `not rated: ${explain(error)}`;
  }
}

function rerenderButton(assetId, actions) {
  const button = el("button", { type: "button", class: "secondary rerender", "data-testid": "rerender" }, "Rerender");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await actions.rerender(assetId);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

export function audioClip(event, assetId, actions) {
  const kind = pick(event, "kind") || "audio";
  const box = el("figure", { class: "clip", "data-testid": "audio", "data-asset-id": assetId });
  const player = el("audio", { controls: "", preload: "metadata", "data-testid": "player" });
  const duration = pick(event, "durationSeconds", "duration");
  const caption = el("figcaption");
  caption.append(
    el("strong", {}, kind),
    el("span", { class: "muted" }, ` ${pick(event, "model") || ""}${typeof duration === "number" ? ` · ${duration.toFixed(1)} s` : ""} · v${pick(event, "renderVersion") || 1}`),
  );
  const text = pick(event, "prompt") || pick(pick(event, "narration", "narrationRequest") || {}, "text");
  if (text) caption.append(el("p", { class: "prompt" }, text));
  box.append(caption, player, ratingControls(assetId, actions), rerenderButton(assetId, actions));
  const key = pick(event, "storageKey", "key");
  if (key) blobUrl(key).then((url) => { player.src = url; }).catch((error) => box.append(el("p", { class: "error" }, `audio: ${explain(error)}`)));
  return box;
}
