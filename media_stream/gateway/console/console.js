// The console: pick a project, see its storyboards as contact sheets that fill in live from the
// job's SSE stream, listen to its narration and music, rate and rerender assets, publish a
// storyboard, cancel a running job. Every value from the API reaches the page through
// textContent, a property or setAttribute, never as markup.

import { ApiError, blobUrl, followJob, getJson, path, pick, postJson, setToken, token } from "./api.js";

const PROJECT_KEY = "media-stream.console.project";
const TERMINAL = new Set(["completed", "failed", "cancelled"]);
const CATALOG_RETRIES = 10;
const WATCH_MS = 4000; // how often an open project's job list is read for jobs published elsewhere

const state = { project: null, jobs: new Map(), streams: new Set(), generation: 0 };
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function say(text, kind = "info") {
  const message = $("message");
  message.textContent = text || "";
  message.dataset.kind = kind;
}

function explain(error) {
  if (error instanceof ApiError) {
    if (error.status === 401) return `${error.message} — type a token above`;
    return `${error.status}: ${error.message}`;
  }
  return String((error && error.message) || error);
}

// -- token ------------------------------------------------------------------------------------
function showToken() {
  $("token-state").textContent = token() ? "token set (this tab only)" : "no token";
  $("token").value = "";
}

// -- projects ---------------------------------------------------------------------------------
async function loadProjects() {
  if (!token()) return;
  try {
    const projects = await getJson("/api/v1/projects");
    const list = $("projects");
    list.replaceChildren(...projects.map((p) => {
      const option = document.createElement("option");
      option.value = pick(p, "projectId", "id") || "";
      option.label = `${option.value} (${pick(p, "assets") || 0} assets)`;
      return option;
    }));
  } catch (error) {
    say(`projects: ${explain(error)}`, "error");
  }
}

async function loadStyles() {
  if (!token()) return;
  try {
    const styles = await getJson("/api/v1/styles/");
    const select = $("style");
    select.replaceChildren(...styles.map((s) => {
      const option = document.createElement("option");
      option.value = pick(s, "id", "styleId") || "";
      option.textContent = pick(s, "name", "label") || option.value;
      return option;
    }));
  } catch (error) {
    say(`styles: ${explain(error)}`, "error");
  }
}

function closeStreams() {
  for (const controller of state.streams) controller.abort();
  state.streams.clear();
}

async function openProject(projectId) {
  closeStreams();
  state.generation += 1;
  const generation = state.generation;
  state.project = projectId;
  state.jobs.clear();
  $("jobs").replaceChildren();
  $("publish").hidden = false;
  sessionStorage.setItem(PROJECT_KEY, projectId);
  document.title = `${projectId} — media-stream console`;
  say(`opening ${projectId}…`);
  let rows = [];
  let assets = [];
  try {
    [rows, assets] = await Promise.all([getJson(`/api/v1/projects/${path(projectId)}/jobs`), getJson(`/api/v1/projects/${path(projectId)}/assets`)]);
  } catch (error) {
    say(`project ${projectId}: ${explain(error)}`, "error");
    return;
  }
  if (generation !== state.generation) return;
  for (const row of [...rows].reverse()) showStatus(job(pick(row, "jobId")), row);
  for (const entry of assets) showCataloged(entry);
  const running = [...state.jobs.values()].filter((j) => !TERMINAL.has(j.status));
  for (const j of running) follow(j.jobId);
  say(`${projectId}: ${state.jobs.size} jobs, ${assets.length} assets${running.length ? `, ${running.length} running` : ""}`);
  watchProject(projectId, generation);
}

// Jobs that another client publishes into the open project appear and fill in live too.
function watchProject(projectId, generation) {
  const timer = setInterval(async () => {
    if (generation !== state.generation || !token()) {
      clearInterval(timer);
      return;
    }
    let rows;
    try {
      rows = await getJson(`/api/v1/projects/${path(projectId)}/jobs`);
    } catch (_) {
      return;
    }
    if (generation !== state.generation) return;
    for (const row of [...rows].reverse()) {
      const jobId = pick(row, "jobId");
      const known = state.jobs.get(jobId);
      if (!known) {
        showStatus(job(jobId), row);
        follow(jobId, pick(row, "renderVersion"));
      } else if (!known.root.dataset.live && !TERMINAL.has(pick(row, "status"))) {
        follow(jobId, pick(row, "renderVersion"));
      }
    }
  }, WATCH_MS);
}

// -- one job: a contact sheet -----------------------------------------------------------------
function job(jobId) {
  let found = state.jobs.get(jobId);
  if (found) return found;
  const fragment = $("job-template").content.cloneNode(true);
  const root = fragment.querySelector("article");
  root.dataset.jobId = jobId;
  root.querySelector(".job-title").textContent = jobId;
  found = { jobId, root, status: null, progress: 0, total: 0, tiles: new Map(), scenes: new Map(), audio: new Map(), failures: new Set() };
  root.querySelector(".job-cancel").addEventListener("click", () => cancel(found));
  state.jobs.set(jobId, found);
  $("jobs").prepend(root);
  paint(found);
  return found;
}

function paint(j) {
  const badge = j.root.querySelector(".job-status");
  const status = j.status || "unknown";
  badge.textContent = status;
  badge.dataset.status = status;
  j.root.dataset.status = status;
  const shown = new Set([...j.tiles.values()].map((t) => t.dataset.scene)).size; // scenes, whatever their versions
  const fraction = j.total ? Math.min(1, shown / j.total) : 0;
  const progress = j.root.querySelector(".job-progress");
  progress.value = status === "completed" ? 1 : Math.max(j.progress || 0, fraction);
  progress.hidden = TERMINAL.has(status) && status !== "completed";
  j.root.querySelector(".job-count").textContent = j.total ? `${shown} / ${j.total} images` : shown ? `${shown} images` : "";
  j.root.querySelector(".job-cancel").hidden = TERMINAL.has(status);
}

function showStatus(j, event) {
  const status = pick(event, "status");
  if (status) j.status = status;
  const progress = pick(event, "progress");
  if (typeof progress === "number") j.progress = progress;
  const error = pick(event, "error");
  if (error && error !== status && (status === "failed" || status === "cancelled")) failure(j, error);
  paint(j);
}

function failure(j, reason) {
  const text = String(reason);
  if (j.failures.has(text)) return;
  j.failures.add(text);
  j.root.querySelector(".failures").append(el("li", { "data-testid": "failure" }, text));
}

function imageFromEvent(event) {
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

function showImage(j, info) {
  // A rerender is a one-scene storyboard (its scene index is 0): a scene keeps the place of its
  // lowest version, and its versions follow one another.
  const known = j.scenes.get(info.sceneId);
  if (!known || info.version < known.version) j.scenes.set(info.sceneId, { version: info.version, index: info.sceneIndex });
  let tile = j.tiles.get(info.assetId);
  if (!tile) {
    tile = tileFor(j, info);
    j.tiles.set(info.assetId, tile);
  }
  const tiles = j.root.querySelector(".tiles");
  const place = (t) => [j.scenes.get(t.dataset.scene).index, Number(t.dataset.version)];
  const sorted = [...j.tiles.values()].sort((a, b) => {
    const [ia, va] = place(a);
    const [ib, vb] = place(b);
    return ia - ib || (a.dataset.scene < b.dataset.scene ? -1 : a.dataset.scene > b.dataset.scene ? 1 : 0) || va - vb;
  });
  if (sorted.some((t, i) => tiles.children[i] !== t)) tiles.replaceChildren(...sorted);
  const consistency = tile.querySelector(".consistency");
  if (typeof info.consistency === "number") consistency.textContent = `${(info.consistency * 100).toFixed(1)}%`;
  paint(j);
}

function tileFor(j, info) {
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
  caption.append(facts, ratingControls(info.assetId), rerenderButton(info.assetId));
  tile.append(caption);
  return tile;
}

function ratingControls(assetId) {
  const box = el("div", { class: "rating", role: "group", "aria-label": "rating" });
  const stateText = el("span", { class: "rating-state muted", "data-testid": "rating-state" });
  for (let n = 1; n <= 5; n += 1) {
    const button = el("button", { type: "button", class: "star", "data-rating": n, "aria-pressed": "false", title: `rate ${n} of 5` }, "★");
    button.addEventListener("click", () => rate(assetId, n, box, stateText));
    box.append(button);
  }
  box.append(stateText);
  return box;
}

// An asset just shown may not be cataloged yet: its rating or rerender answers 404 meanwhile.
async function whenCataloged(call, onWait) {
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

async function rate(assetId, rating, box, stateText) {
  stateText.textContent = "rating…";
  try {
    const answer = await whenCataloged(
      () => postJson(`/api/v1/projects/${path(state.project)}/assets/${path(assetId)}/rating`, { rating }),
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

function rerenderButton(assetId) {
  const button = el("button", { type: "button", class: "secondary rerender", "data-testid": "rerender" }, "Rerender");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const answer = await whenCataloged(
        () => postJson(`/api/v1/projects/${path(state.project)}/assets/${path(assetId)}/rerender`, {}),
        () => say(`rerender of ${assetId}: waiting for the catalog…`),
      );
      const j = job(pick(answer, "jobId"));
      j.status = "queued";
      paint(j);
      say(`rerender of ${assetId}: version ${pick(answer, "renderVersion")} queued`);
      follow(j.jobId, pick(answer, "renderVersion"));
    } catch (error) {
      say(`rerender of ${assetId}: ${explain(error)}`, "error");
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

function showAudio(j, event) {
  const assetId = pick(event, "assetId") || `${j.jobId}:audio:v${pick(event, "renderVersion") || 1}`;
  if (j.audio.has(assetId)) return;
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
  box.append(caption, player, ratingControls(assetId), rerenderButton(assetId));
  const key = pick(event, "storageKey", "key");
  if (key) blobUrl(key).then((url) => { player.src = url; }).catch((error) => box.append(el("p", { class: "error" }, `audio: ${explain(error)}`)));
  j.audio.set(assetId, box);
  j.root.querySelector(".audio").append(box);
}

function showCataloged(entry) {
  const j = job(pick(entry, "jobId"));
  if (pick(entry, "kind") === "image") showImage(j, imageFromEvent(entry));
  else showAudio(j, entry);
  if (!j.status) {
    j.status = "completed";
    paint(j);
  }
}

// -- live: a job's SSE stream -------------------------------------------------------------------
function onEvent(j, name, data) {
  switch (name) {
    case "JobStatusChanged":
      showStatus(j, data);
      break;
    case "ImageReady":
      showImage(j, imageFromEvent(data));
      break;
    case "AudioReady":
      showAudio(j, data);
      break;
    case "BatchCompleted": {
      const total = pick(data, "totalImages");
      if (typeof total === "number") j.total = Math.max(j.total, total);
      for (const f of pick(data, "failures") || []) failure(j, `${pick(f, "sceneId") || "scene"}: ${pick(f, "reason") || "failed"}`);
      paint(j);
      break;
    }
    case "JobFailed":
      j.status = "failed";
      failure(j, `${pick(data, "errorClass") ? `${pick(data, "errorClass")}: ` : ""}${pick(data, "reason") || "failed"}`);
      paint(j);
      break;
    case "end":
      if (pick(data, "status")) j.status = pick(data, "status");
      paint(j);
      break;
    default:
      break;
  }
}

async function follow(jobId, renderVersion) {
  const j = job(jobId);
  const project = state.project;
  const controller = new AbortController();
  state.streams.add(controller);
  j.root.dataset.live = "true";
  try {
    for (let attempt = 0; attempt < 20 && !controller.signal.aborted; attempt += 1) {
      try {
        const last = await followJob(jobId, { renderVersion, signal: controller.signal, onEvent: (name, data) => onEvent(j, name, data) });
        if (last === "end" || TERMINAL.has(j.status)) break;
      } catch (error) {
        if (controller.signal.aborted) return;
        say(`events of ${jobId}: ${explain(error)}`, "error");
        if (error instanceof ApiError && error.status < 500) return;
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }
  } finally {
    state.streams.delete(controller);
    delete j.root.dataset.live;
  }
  if (!controller.signal.aborted && project === state.project) refreshCatalog(jobId);
}

// After a job has ended, the catalog adds what the events lack (asset ids, consistency).
async function refreshCatalog(jobId) {
  const project = state.project;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    if (project !== state.project) return;
    try {
      const assets = await getJson(`/api/v1/projects/${path(project)}/assets`);
      const mine = assets.filter((a) => pick(a, "jobId") === jobId);
      for (const entry of mine) showCataloged(entry);
      const j = state.jobs.get(jobId);
      if (!j || mine.length >= j.tiles.size + j.audio.size) return;
    } catch (_) {
      return;
    }
  }
}

// -- actions ------------------------------------------------------------------------------------
async function publishStoryboard(event) {
  event.preventDefault();
  if (!state.project) return;
  const prompts = $("scenes").value.split("\n").map((line) => line.trim()).filter(Boolean);
  if (!prompts.length) {
    say("type one prompt a line", "error");
    return;
  }
  const side = Number($("size").value);
  const body = {
    projectId: state.project,
    scenes: prompts.map((prompt, index) => ({ sceneId: `s${index}`, prompt })),
    styleConfig: { style: $("style").value || "default", width: side, height: side, steps: Number($("steps").value) || 20 },
  };
  const button = $("publish-button");
  button.disabled = true;
  try {
    const answer = await postJson("/api/v1/images/batch-generate", body);
    const j = job(pick(answer, "jobId"));
    j.total = prompts.length;
    j.status = pick(answer, "status") || "queued";
    paint(j);
    say(`storyboard ${j.jobId} published (${prompts.length} scenes)`);
    follow(j.jobId);
  } catch (error) {
    say(`publish: ${explain(error)}${error && error.body && error.body.field ? ` (${error.body.field})` : ""}`, "error");
  } finally {
    button.disabled = false;
  }
}

async function cancel(j) {
  const button = j.root.querySelector(".job-cancel");
  button.disabled = true;
  try {
    await postJson(`/api/v1/images/cancel/${path(j.jobId)}`, { projectId: state.project, reason: "cancelled from the console" });
    say(`cancel of ${j.jobId} requested`);
    if (!j.root.dataset.live) follow(j.jobId);
  } catch (error) {
    say(`cancel of ${j.jobId}: ${explain(error)}`, "error");
  } finally {
    button.disabled = false;
  }
}

function start() {
  showToken();
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setToken($("token").value.trim());
    showToken();
    loadProjects();
    loadStyles();
    if (state.project) openProject(state.project);
  });
  $("token-forget").addEventListener("click", () => {
    setToken("");
    closeStreams();
    showToken();
    say("token forgotten");
  });
  $("project-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const projectId = $("project").value.trim();
    if (projectId) openProject(projectId);
  });
  $("project-refresh").addEventListener("click", () => {
    loadProjects();
    if (state.project) openProject(state.project);
  });
  $("publish-form").addEventListener("submit", publishStoryboard);
  loadProjects();
  loadStyles();
  const remembered = sessionStorage.getItem(PROJECT_KEY);
  if (remembered && token()) {
    $("project").value = remembered;
    openProject(remembered);
  }
}

start();
