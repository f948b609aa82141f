/**
 * The playground page: the controls, and the panels drawn from what the training worker sends
 * (./train-worker.ts does every computation; ./protocol.ts lists the messages). The plots are the
 * CLI's own pictures (src/report: lossCurveSvg, heatmapSvg, pcaScatterSvg), the rest is drawn on
 * canvases. No inline script, no eval: the page runs under `Content-Security-Policy: script-src 'self'`.
 *
 * Chapter 7.2's temperature panel is computed here, on the page, from one row s of the similarity
 * matrix (view 1 of the first digit against view 2 of each digit of the batch; the positive is j = 0):
 *
 *   p_j = exp(s_j / τ) / Σ_k exp(s_k / τ)        the softmax: sharper as τ falls
 *   ℓ   = −log p_0                               the InfoNCE loss of that row (crossEntropy)
 *
 * @module
 */
import "../src/ops/tensor-methods.js";
import { tensor } from "../src/tensor/creation.js";
import { crossEntropy } from "../src/ops/functional.js";
import { softmax } from "../src/ops/activations.js";
import { METHOD_NAMES, DEFAULT_TEMPERATURE, defaultConfig, mocoKeysPerStep } from "../src/methods/config.js";
import type { MethodName } from "../src/methods/common.js";
import { resolveAugmentationConfig, DEFAULT_AUGMENTATION, type AugmentationConfig } from "../src/data/augment.js";
import { lossCurveSvg, heatmapSvg } from "../src/report/svg.js";
import { pcaScatterSvg } from "../src/report/embedding-svg.js";
import { chanceLine } from "../src/report/chance.js";
import { classColor } from "../src/report/svg-common.js";
import { configOf, type FromWorker, type HealthNumbers, type PlaygroundSettings, type ToWorker } from "./protocol.js";

/** What a browser spec (spec/browser/playground.browser.ts) reads from the page. */
export interface PlaygroundProbe {
  /** The worker's last reported status. */
  status: string;
  /** Every step's loss so far. */
  losses: number[];
  /** How many times each panel has been drawn. */
  drawn: Record<string, number>;
  /** The last kNN accuracy (NaN before the first evaluation). */
  knnAccuracy: number;
  /** The last download: its epoch, step and size in bytes. */
  lastDownload: { epoch: number; step: number; bytes: number } | null;
  /** The weights of the checkpoint a download gives, by module key (the spec compares them with the file). */
  checkpointWeights(): Promise<{ epoch: number; tensors: Record<string, number[]> }>;
  /** Errors shown on the page. */
  errors: string[];
}

const element = <T extends HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`playground: the page has no #${id}`);
  return found as T;
};

const probe: PlaygroundProbe = {
  status: "loading",
  losses: [],
  drawn: { loss: 0, similarity: 0, pca: 0, health: 0, views: 0, softmax: 0, caption: 0 },
  knnAccuracy: Number.NaN,
  lastDownload: null,
  checkpointWeights: () =>
    new Promise((resolve) => {
      weightsWaiters.push(resolve);
      send({ kind: "weights" });
    }),
  errors: [],
};
(window as unknown as { playground: PlaygroundProbe }).playground = probe;
const weightsWaiters: ((value: { epoch: number; tensors: Record<string, number[]> }) => void)[] = [];

const worker = new Worker(new URL("./train-worker.js", import.meta.url), { type: "module" });
function send(message: ToWorker, transfer: Transferable[] = []): void {
  worker.postMessage(message, transfer);
}

// ── Controls ────────────────────────────────────────────────────────────────────────────────────

const methodSelect = element<HTMLSelectElement>("method");
for (const method of METHOD_NAMES) methodSelect.add(new Option(method, method));
const numberInput = (id: string) => element<HTMLInputElement>(id);
const inputs = {
  batchSize: numberInput("batchSize"),
  temperature: numberInput("temperature"),
  lr: numberInput("lr"),
  epochs: numberInput("epochs"),
  trainLimit: numberInput("trainLimit"),
  seed: numberInput("seed"),
};
const sliders = {
  strength: numberInput("strength"),
  rotationDegrees: numberInput("rotationDegrees"),
  cropScale: numberInput("cropScale"),
  jitter: numberInput("jitter"),
  blurSigma: numberInput("blurSigma"),
  noiseStd: numberInput("noiseStd"),
};
const sliderOutputs: Record<keyof typeof sliders, HTMLOutputElement> = {
  strength: element("strengthValue"),
  rotationDegrees: element("rotationValue"),
  cropScale: element("cropValue"),
  jitter: element("jitterValue"),
  blurSigma: element("blurValue"),
  noiseStd: element("noiseValue"),
};
const buttons = {
  start: element<HTMLButtonElement>("start"),
  pause: element<HTMLButtonElement>("pause"),
  reset: element<HTMLButtonElement>("reset"),
  download: element<HTMLButtonElement>("download"),
  caption: element<HTMLButtonElement>("captionButton"),
};
const loadInput = element<HTMLInputElement>("load");

/** A method's defaults on the controls (the CLI's, but a batch of 64: one thread in a page). */
function showMethodDefaults(method: MethodName): void {
  const config = defaultConfig(method);
  inputs.lr.value = String(config.lr);
  const tau = DEFAULT_TEMPERATURE[method];
  inputs.temperature.disabled = config.temperature === undefined;
  inputs.temperature.value = config.temperature === undefined ? "" : String(tau);
}

/** The augmentation the sliders describe (src/data/augment.ts, AugmentationConfig). */
function augmentationOfSliders(): AugmentationConfig {
  const strength = Number(sliders.strength.value);
  const scaled = resolveAugmentationConfig({ strength });
  const jitter = Number(sliders.jitter.value);
  const blur = Number(sliders.blurSigma.value);
  return {
    ...scaled,
    cropScale: [Number(sliders.cropScale.value), 1],
    rotationDegrees: Number(sliders.rotationDegrees.value),
    brightness: jitter,
    contrast: jitter,
    blurSigma: [Math.min(DEFAULT_AUGMENTATION.blurSigma[0], blur), blur],
    noiseStd: Number(sliders.noiseStd.value),
  };
}

/** Put an augmentation on the sliders. */
function showAugmentation(config: AugmentationConfig): void {
  sliders.cropScale.value = String(config.cropScale[0]);
  sliders.rotationDegrees.value = String(config.rotationDegrees);
  sliders.jitter.value = String(config.brightness);
  sliders.blurSigma.value = String(config.blurSigma[1]);
  sliders.noiseStd.value = String(config.noiseStd);
  showSliderValues();
}

function showSliderValues(): void {
  for (const key of Object.keys(sliders) as (keyof typeof sliders)[]) sliderOutputs[key].value = sliders[key].value;
}

/** The settings the controls describe. */
function settingsOfControls(): PlaygroundSettings {
  const method = methodSelect.value as MethodName;
  const temperature = inputs.temperature.disabled ? undefined : Number(inputs.temperature.value);
  return {
    method,
    batchSize: Number(inputs.batchSize.value),
    temperature,
    lr: Number(inputs.lr.value),
    epochs: Number(inputs.epochs.value),
    trainLimit: Number(inputs.trainLimit.value),
    seed: Number(inputs.seed.value),
    augmentation: augmentationOfSliders(),
  };
}

/** Put a run's settings on the controls (after a load: the checkpoint's). */
function showSettings(settings: PlaygroundSettings): void {
  methodSelect.value = settings.method;
  inputs.batchSize.value = String(settings.batchSize);
  inputs.temperature.disabled = settings.temperature === undefined;
  inputs.temperature.value = settings.temperature === undefined ? "" : String(settings.temperature);
  inputs.lr.value = String(settings.lr);
  inputs.epochs.value = String(settings.epochs);
  inputs.trainLimit.value = String(settings.trainLimit);
  inputs.seed.value = String(settings.seed);
  showAugmentation(settings.augmentation);
}

methodSelect.addEventListener("change", () => showMethodDefaults(methodSelect.value as MethodName));
sliders.strength.addEventListener("input", () => {
  showAugmentation(resolveAugmentationConfig({ strength: Number(sliders.strength.value) }));
  requestViews();
});
for (const key of ["rotationDegrees", "cropScale", "jitter", "blurSigma", "noiseStd"] as const) {
  sliders[key].addEventListener("input", () => {
    showSliderValues();
    requestViews();
  });
}
function requestViews(): void {
  send({ kind: "views", augmentation: augmentationOfSliders(), seed: Number(inputs.seed.value) || 0 });
}

buttons.start.addEventListener("click", () => {
  showError("");
  const settings = settingsOfControls();
  try {
    configOf(settings); // the defaults filled in; createRunFromData validates it (and says which value is wrong)
  } catch (error) {
    showError((error as Error).message);
    return;
  }
  send({ kind: "start", settings });
});
buttons.pause.addEventListener("click", () => send({ kind: "pause" }));
buttons.reset.addEventListener("click", () => {
  resetPanels();
  send({ kind: "reset" });
});
buttons.download.addEventListener("click", () => send({ kind: "download" }));
buttons.caption.addEventListener("click", () => send({ kind: "caption", text: element<HTMLInputElement>("caption").value }));
element<HTMLInputElement>("caption").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !buttons.caption.disabled) buttons.caption.click();
});
loadInput.addEventListener("change", async () => {
  const file = loadInput.files?.[0];
  if (file === undefined) return;
  showError("");
  resetPanels();
  const bytes = new Uint8Array(await file.arrayBuffer());
  send({ kind: "load", bytes, name: file.name }, [bytes.buffer]);
  loadInput.value = "";
});

// ── State and status ───────────────────────────────────────────────────────────────────────────

let status: "loading" | "idle" | "running" | "paused" | "finished" = "loading";
let currentSettings: PlaygroundSettings | null = null;
let stepsPerEpoch = 0;
let lastSteps: Extract<FromWorker, { kind: "steps" }> | null = null;
let engine = "";

function applyState(message: Extract<FromWorker, { kind: "state" }>): void {
  status = message.status;
  probe.status = status;
  document.body.dataset.status = status;
  currentSettings = message.settings;
  if (message.settings !== null) showSettings(message.settings);
  const hasRun = status !== "idle";
  for (const control of [methodSelect, ...Object.values(inputs), ...Object.values(sliders)]) control.disabled = hasRun;
  if (!hasRun) showMethodDefaults(methodSelect.value as MethodName);
  if (hasRun && currentSettings?.temperature === undefined) inputs.temperature.disabled = true;
  buttons.start.disabled = status === "running" || status === "finished";
  buttons.start.textContent = status === "paused" ? "Resume" : "Start";
  buttons.pause.disabled = status !== "running";
  buttons.reset.disabled = !hasRun;
  buttons.download.disabled = message.checkpointEpoch === 0;
  buttons.download.textContent = message.checkpointEpoch === 0
    ? "Download checkpoint (after epoch 1)"
    : `Download checkpoint (epoch ${message.checkpointEpoch})`;
  const clip = currentSettings?.method === "clip";
  buttons.caption.disabled = !(hasRun && clip);
  element("captionNote").textContent = hasRun && clip
    ? 'Type a caption (e.g. "a thick, right-slanted 4") and find the nearest test digits in the joint space.'
    : "Train or load a CLIP run to query it.";
  if (message.message) showStatusNote(message.message);
  showStatus();
}

let statusNote = "";
function showStatusNote(note: string): void {
  statusNote = note;
}

function showStatus(): void {
  const parts: string[] = [status];
  if (lastSteps !== null && status !== "idle") {
    const loss = lastSteps.losses[lastSteps.losses.length - 1];
    parts.push(`step ${lastSteps.step}`, `epoch ${lastSteps.epoch}/${lastSteps.epochs}`);
    if (loss !== undefined) parts.push(`loss ${loss.toFixed(4)}`);
    if (lastSteps.samplesPerSecond > 0) parts.push(`${Math.round(lastSteps.samplesPerSecond)} images/s`);
    if (lastSteps.lr > 0) parts.push(`lr ${lastSteps.lr.toExponential(2)}`);
    if (lastSteps.extra) parts.push(`${lastSteps.extra.label} ${lastSteps.extra.value.toFixed(3)}`);
  }
  parts.push(engine);
  element("status").textContent = parts.join(" · ") + (statusNote ? ` — ${statusNote}` : "");
}

function showError(message: string): void {
  element("error").textContent = message;
  if (message) probe.errors.push(message);
}

// ── Panels ─────────────────────────────────────────────────────────────────────────────────────

let testImages: Float32Array | null = null;
let similarityRow: { values: Float64Array; labels: Int32Array } | null = null;
const knnHistory: { step: number; accuracy: number }[] = [];
let lossDrawPending = false;
let lastLossDraw = 0;

function resetPanels(): void {
  probe.losses = [];
  lastSteps = null;
  knnHistory.length = 0;
  similarityRow = null;
  statusNote = "";
  for (const id of ["loss", "similarity", "pca"]) element(id).textContent = "";
  element("health").textContent = "";
  element("verdict").textContent = "";
  element("tauLoss").textContent = "";
  for (const id of ["knn", "softmax", "captionDigits"]) {
    const canvas = element<HTMLCanvasElement>(id);
    canvas.getContext("2d")!.clearRect(0, 0, canvas.width, canvas.height);
  }
}

/** The chance value of the loss, as the CLI's loss.svg draws it (MoCo: with its default queue). */
function referenceLine() {
  if (currentSettings === null) return undefined;
  const config = configOf(currentSettings);
  const keys = mocoKeysPerStep(config);
  const queueSize = Math.max(keys, Math.floor(4096 / keys) * keys);
  return chanceLine(config.method, { batchSize: config.batchSize, queueSize });
}

/** Redraw the loss curve at most every 300 ms (an SVG of every step). */
function scheduleLossDraw(): void {
  if (lossDrawPending) return;
  lossDrawPending = true;
  const wait = Math.max(0, 300 - (performance.now() - lastLossDraw));
  setTimeout(() =>
    requestAnimationFrame(() => {
      lossDrawPending = false;
      lastLossDraw = performance.now();
      if (probe.losses.length === 0) return;
      element("loss").innerHTML = lossCurveSvg(probe.losses, {
        title: `${currentSettings?.method ?? ""}: training loss`,
        stepsPerEpoch,
        reference: referenceLine(),
        width: 640,
        height: 300,
      });
      probe.drawn.loss += 1;
    }), wait);
}

function drawSimilarity(message: Extract<FromWorker, { kind: "similarity" }>): void {
  const clip = currentSettings?.method === "clip";
  element("similarity").innerHTML = heatmapSvg(message.values, message.size, message.size, {
    title: `step ${message.step}: ${clip ? "image i vs caption j (joint space)" : "view 1 of digit i vs view 2 of digit j"}`,
    rowLabels: message.labels,
    colLabels: message.labels,
    rowTitle: clip ? "image i, by digit" : "view 1 of test digit i",
    colTitle: clip ? "caption j, by digit" : "view 2 of test digit j",
    cell: 12,
  });
  probe.drawn.similarity += 1;
  const first = similarityRow === null;
  similarityRow = { values: message.values.slice(0, message.size), labels: message.labels };
  if (first && message.temperature !== null) {
    const tau = element<HTMLInputElement>("tau");
    tau.value = String(Math.log(Math.min(2, Math.max(0.1, message.temperature))));
  }
  drawSoftmax();
}

function drawEmbedding(message: Extract<FromWorker, { kind: "embedding" }>): void {
  const percent = (ratio: number) => `${(100 * ratio).toFixed(1)}% of the variance`;
  element("pca").innerHTML = pcaScatterSvg(message.coordinates, message.labels, {
    title: `step ${message.step}: encoder features of ${message.labels.length} test digits`,
    xLabel: `PC 1 (${percent(message.explainedRatio[0])})`,
    yLabel: `PC 2 (${percent(message.explainedRatio[1])})`,
    numClasses: 10,
  });
  probe.drawn.pca += 1;
  if (knnHistory.length === 0 || knnHistory[knnHistory.length - 1].step !== message.step) {
    knnHistory.push({ step: message.step, accuracy: message.knnAccuracy });
  }
  probe.knnAccuracy = message.knnAccuracy;
  drawKnn();
  drawHealth(message.health, message.knnAccuracy);
}

function drawKnn(): void {
  const canvas = element<HTMLCanvasElement>("knn");
  const context = canvas.getContext("2d")!;
  const { width, height } = canvas;
  const left = 44;
  const right = 12;
  const top = 14;
  const bottom = 26;
  context.clearRect(0, 0, width, height);
  context.fillStyle = "#fff";
  context.fillRect(0, 0, width, height);
  context.font = "11px sans-serif";
  context.fillStyle = "#444";
  context.strokeStyle = "#ccc";
  const y = (accuracy: number) => top + (1 - accuracy) * (height - top - bottom);
  for (const tick of [0, 0.5, 1]) {
    context.beginPath();
    context.moveTo(left, y(tick));
    context.lineTo(width - right, y(tick));
    context.stroke();
    context.fillText(tick.toFixed(1), 14, y(tick) + 4);
  }
  context.setLineDash([4, 3]); // chance: one digit in ten
  context.beginPath();
  context.moveTo(left, y(0.1));
  context.lineTo(width - right, y(0.1));
  context.stroke();
  context.setLineDash([]);
  context.fillText("chance", width - right - 40, y(0.1) - 3);
  const lastStep = Math.max(1, ...knnHistory.map((point) => point.step));
  const x = (step: number) => left + (step / lastStep) * (width - left - right);
  context.fillText(`kNN accuracy (k = 20) of 500 test digits, by step (last: ${lastStep})`, left, height - 8);
  context.strokeStyle = "#1f77b4";
  context.fillStyle = "#1f77b4";
  context.lineWidth = 2;
  context.beginPath();
  knnHistory.forEach((
    point,
    i,
  ) => (i === 0 ? context.moveTo(x(point.step), y(point.accuracy)) : context.lineTo(x(point.step), y(point.accuracy))));
  context.stroke();
  for (const point of knnHistory) context.fillRect(x(point.step) - 2, y(point.accuracy) - 2, 4, 4);
  context.lineWidth = 1;
  probe.drawn.health += 1;
}

function drawHealth(health: HealthNumbers, knn: number): void {
  const rows: [string, string, string][] = [
    ["kNN accuracy", `${(100 * knn).toFixed(1)}%`, "chance 10%"],
    ["alignment ℓ_align", health.alignment.toFixed(3), "lower: views closer"],
    ["uniformity ℓ_uniform", health.uniformity.toFixed(3), "lower: more uniform"],
    ["normalized std × √D", health.normalizedStdRatio.toFixed(3), "≈ 1 healthy, → 0 collapsed"],
    ["effective rank", health.effectiveRank.toFixed(1), `of at most ${health.maxRank}`],
  ];
  const table = element("health");
  table.textContent = "";
  for (const [name, value, note] of rows) {
    const row = document.createElement("tr");
    for (const [tag, text] of [["th", name], ["td", value], ["td", note]] as const) {
      const cell = document.createElement(tag);
      cell.textContent = text;
      row.append(cell);
    }
    table.append(row);
  }
  const verdict = element("verdict");
  verdict.className = `verdict ${health.collapsed ? "collapsed" : "healthy"}`;
  verdict.textContent = health.collapsed
    ? `collapse monitor: collapsing (${health.reasons.join("; ")})`
    : "collapse monitor: not collapsing";
}

/** 28×28 grayscale images (values in [0, 1]) drawn as tiles of `side` pixels, row after row of the canvas's width. */
function drawDigits(canvas: HTMLCanvasElement, images: Float32Array, indices: ArrayLike<number>, side: number, captions?: string[]): void {
  const context = canvas.getContext("2d")!;
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  const tile = new ImageData(28, 28);
  const small = document.createElement("canvas");
  small.width = 28;
  small.height = 28;
  const smallContext = small.getContext("2d")!;
  context.imageSmoothingEnabled = false;
  for (let t = 0; t < indices.length; t++) {
    const offset = indices[t] * 784;
    for (let p = 0; p < 784; p++) {
      const value = Math.round(255 * (1 - Math.min(1, Math.max(0, images[offset + p])))); // ink dark on white
      tile.data[4 * p] = value;
      tile.data[4 * p + 1] = value;
      tile.data[4 * p + 2] = value;
      tile.data[4 * p + 3] = 255;
    }
    smallContext.putImageData(tile, 0, 0);
    const perRow = Math.max(1, Math.floor(canvas.width / side));
    const x = (t % perRow) * side;
    const y = Math.floor(t / perRow) * side;
    context.drawImage(small, x, y, side - 2, side - 2);
    if (captions) {
      context.fillStyle = "#333";
      context.font = "13px sans-serif";
      context.fillText(captions[t], x + 4, y + side + 14);
      context.fillStyle = "#fff";
    }
  }
}

function drawViews(message: Extract<FromWorker, { kind: "views" }>): void {
  const canvas = element<HTMLCanvasElement>("views");
  drawDigits(canvas, message.images, Array.from({ length: message.count }, (_, i) => i), 56);
  const context = canvas.getContext("2d")!;
  context.strokeStyle = "#d62728";
  context.strokeRect(0.5, 0.5, 53, 53); // the original, then its views
  probe.drawn.views += 1;
}

/** Chapter 7.2: the softmax of one similarity row at the slider's τ, and the row's loss (see the file header). */
function drawSoftmax(): void {
  const tau = Math.exp(Number(element<HTMLInputElement>("tau").value));
  element("tauValue").textContent = tau.toFixed(3);
  const canvas = element<HTMLCanvasElement>("softmax");
  const context = canvas.getContext("2d")!;
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  if (similarityRow === null) {
    context.fillStyle = "#666";
    context.font = "12px sans-serif";
    context.fillText("Start or load a run: its similarity row appears here.", 10, 20);
    element("tauLoss").textContent = "";
    probe.drawn.softmax += 1;
    return;
  }
  const { values, labels } = similarityRow;
  const logits = tensor([Array.from(values)], { dtype: "float64" }).div(tau); // (1, n)
  const p = softmax(logits, 1).toTypedArray(); //                                (1, n)
  const loss = crossEntropy(logits, [0]).item(); //                                     −log p_0
  const n = values.length;
  const width = canvas.width;
  const height = canvas.height - 22;
  const barWidth = width / n;
  const largest = Math.max(...p);
  for (let j = 0; j < n; j++) {
    const barHeight = (p[j] / Math.max(largest, 1e-12)) * (height - 14);
    context.fillStyle = classColor(labels[j]);
    context.fillRect(j * barWidth + 1, height - barHeight, barWidth - 2, barHeight);
    if (j === 0) {
      context.strokeStyle = "#000";
      context.lineWidth = 2;
      context.strokeRect(j * barWidth + 1, height - barHeight, barWidth - 2, barHeight);
      context.lineWidth = 1;
    }
  }
  context.fillStyle = "#333";
  context.font = "11px sans-serif";
  context.fillText(
    `p_j over the ${n} view-2 candidates of digit 0's view 1 (outlined: the positive), coloured by digit`,
    2,
    canvas.height - 6,
  );
  context.fillText(`max p = ${largest.toFixed(3)}`, 2, 11);
  element("tauLoss").textContent = `τ = ${tau.toFixed(3)}: p₊ = ${p[0].toFixed(3)}, ℓ = −log p₊ = ${loss.toFixed(3)} ` +
    `(all equal: log ${n} = ${Math.log(n).toFixed(3)})`;
  probe.drawn.softmax += 1;
}
element<HTMLInputElement>("tau").addEventListener("input", drawSoftmax);

function drawCaption(message: Extract<FromWorker, { kind: "captionResult" }>): void {
  if (testImages === null) return;
  const captions = Array.from(message.similarities, (s) => s.toFixed(2));
  drawDigits(element<HTMLCanvasElement>("captionDigits"), testImages, message.indices, 56, captions);
  element("captionNote").textContent =
    `"${message.text}": the ${message.indices.length} nearest of 500 test digits (cosine in the joint space)` +
    (message.unknownWords.length > 0 ? `; not in the caption vocabulary (read as <unk>): ${message.unknownWords.join(", ")}` : "");
  probe.drawn.caption += 1;
}

/** Save bytes as a file the browser downloads (checkpoint.safetensors: the CLI's name, so `contrastive eval DIR` finds it). */
function downloadBytes(bytes: Uint8Array, name: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: "application/octet-stream" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const message = event.data;
  switch (message.kind) {
    case "ready":
      testImages = message.testImages;
      engine = `kernel ${message.kernel}, ${message.threads} thread${message.threads === 1 ? "" : "s"}`;
      element("threads").textContent = `Products: the ${message.kernel} kernel on ${message.threads} thread${
        message.threads === 1 ? "" : "s"
      } (${message.threadNote}). Digits: ${message.trainCount} training, ${message.testCount} test.`;
      break;
    case "state":
      applyState(message);
      break;
    case "steps":
      for (const loss of message.losses) probe.losses.push(loss);
      stepsPerEpoch = message.stepsPerEpoch;
      lastSteps = message;
      scheduleLossDraw();
      showStatus();
      break;
    case "similarity":
      drawSimilarity(message);
      break;
    case "embedding":
      drawEmbedding(message);
      break;
    case "views":
      drawViews(message);
      break;
    case "captionResult":
      drawCaption(message);
      break;
    case "checkpoint":
      downloadBytes(message.bytes, "checkpoint.safetensors");
      probe.lastDownload = { epoch: message.epoch, step: message.step, bytes: message.bytes.length };
      break;
    case "weights": {
      const tensors = Object.fromEntries(Object.entries(message.tensors).map(([key, values]) => [key, Array.from(values)]));
      for (const resolve of weightsWaiters.splice(0)) resolve({ epoch: message.epoch, tensors });
      break;
    }
    case "error":
      showError(message.message);
      break;
  }
};
worker.onerror = (event) => showError(`the training worker failed: ${event.message}`);

showMethodDefaults(methodSelect.value as MethodName);
showSliderValues();
drawSoftmax();
