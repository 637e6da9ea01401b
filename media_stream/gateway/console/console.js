// The console: pick a project, see its storyboards as contact sheets that fill in live from the
// job's SSE stream, listen to its narration and music, rate and rerender assets, publish a
// storyboard, cancel a running job. Every value from the API reaches the page through
// textContent, a property or setAttribute, never as markup.

import { ApiError, followJob, getJson, path, pick, postJson, setToken, token } from "./api.js";
import { audioClip, el, explain, imageFromEvent, imageTile, whenCataloged } from "./assets.js";

const PROJECT_KEY = "media-stream.console.project";
const TERMINAL = new Set(["completed", "failed", "cancelled"]);
const WATCH_MS = 4000; // how often an open project's job list is read for jobs published elsewhere

const state = { project: null, jobs: new Map(), streams: new Set(), generation: 0 };
const $ = (id) => document.getElementById(id);

function say(text, kind = "info") {
  const message = $("message");
  message.textContent = text || "";
  message.dataset.kind = kind;
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

function showImage(j, info) {
  // A rerender is a one-scene storyboard (its scene index is 0): a scene keeps the place of its
  // lowest version, and its versions follow one another.
  const known = j.scenes.get(info.sceneId);
  if (!known || info.version < known.version) j.scenes.set(info.sceneId, { version: info.version, index: info.sceneIndex });
  let tile = j.tiles.get(info.assetId);
  if (!tile) {
    tile = imageTile(info, actions);
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

function showAudio(j, event) {
  const assetId = pick(event, "assetId") || `${j.jobId}:audio:v${pick(event, "renderVersion") || 1}`;
  if (j.audio.has(assetId)) return;
  const clip = audioClip(event, assetId, actions);
  j.audio.set(assetId, clip);
  j.root.querySelector(".audio").append(clip);
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

async function rerender(assetId) {
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
  }
}

const actions = { project: () => state.project, rerender };

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
