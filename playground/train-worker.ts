/**
 * The playground's training worker: the whole run lives here, so the page stays responsive.
 *
 *   threads                installWebThreads: the pool on Web Workers when the page is cross-origin isolated, else one
 *   load the digits        fetch("./mnist-digits.bin") → data.mnistFromBytes (the same bits as loadMnist())
 *   start                  createRunFromData(config, digits, { augmentation }) → trainRunSteps, the CLI's loop
 *   every ~40 ms           post the new losses, then yield to the message queue (pause, caption, download …)
 *   every 25 steps         the similarity matrix of a fixed batch ordered by digit (similaritySample)
 *   every 200 steps        the fixed test digits' encoder features → PCA, kNN accuracy, health, collapse verdict
 *   every epoch            the CLI's checkpoint as bytes (serializeCheckpoint): what "download" gives
 *
 * The run's config is a TrainConfig, so a downloaded checkpoint is the CLI's checkpoint.safetensors
 * (it loads in `contrastive eval` and PyTorch); the augmentation settings are not part of it.
 *
 * @module
 */
import "../src/ops/tensor-methods.js";
import { Tensor } from "../src/tensor/tensor.js";
import { Generator } from "../src/tensor/random.js";
import { getGemmKernel } from "../src/ops/gemm.js";
import { getNumThreads, installWebThreads, webThreadsAvailable } from "../src/parallel/index.js";
import { noGrad } from "../src/autograd/tape.js";
import { mnistFromBytes, gatherImages, IMAGE_PIXELS, type MnistData, type Split } from "../src/data/mnist.js";
import { augmentationPreview, augmentBatch, defaultAugmentation, DEFAULT_AUGMENTATION } from "../src/data/augment.js";
import { captionTokenizer, splitWords, CAPTION_MAX_LENGTH } from "../src/data/captions.js";
import type { TrainConfig } from "../src/methods/config.js";
import {
  createRunFromData,
  limitSplit,
  resumeRunFromBytes,
  serializeCheckpoint,
  trainRunSteps,
  type Progress,
  type Run,
  type TrainEvent,
} from "../src/methods/run.js";
import { encoderFeatures, oneOfEachClass, similaritySample } from "../src/methods/evaluate.js";
import { CLIP } from "../src/methods/clip.js";
import { principalComponents } from "../src/report/pca.js";
import { knnAccuracy } from "../src/eval/knn.js";
import { alignment, representationHealth } from "../src/eval/health.js";
import { embedImages } from "../src/eval/features.js";
import { collapseMonitor } from "../src/losses/diagnostics.js";
import { configOf, type FromWorker, type HealthNumbers, type PlaygroundSettings, type ToWorker } from "./protocol.js";
import type { TrainState } from "../src/methods/config.js";

/** The worker's global scope, typed by what we use (the DOM lib types `self` as a Window). */
const scope = self as unknown as {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
};

/** Fixed sizes of the live panels (small enough to redraw every few hundred steps on one thread). */
export const PANEL = {
  /** Test digits of the PCA scatter, the kNN queries and the health numbers (evenly spread over the digits). */
  testDigits: 500,
  /** Training digits of the kNN bank. */
  knnBank: 1000,
  /** Images of the similarity matrix (3 of each digit). */
  similarityImages: 30,
  /** Steps between two similarity matrices. */
  similarityEvery: 25,
  /** Steps between two evaluations (PCA, kNN, health). */
  evaluateEvery: 200,
  /** Augmented views of one digit. */
  views: 11,
  /** Nearest digits of a CLIP caption. */
  captionNeighbours: 12,
} as const;

let digits: MnistData | null = null;
let testSet: Split | null = null;
let knnBank: Split | null = null;
let run: Run | null = null;
let runSettings: PlaygroundSettings | null = null;
let steps: globalThis.Generator<TrainEvent, TrainState, void> | null = null;
let running = false;
let finished = false;
/** The last epoch's checkpoint (bytes) and a copy of its weights (module keys), for "download" and the browser spec. */
let snapshot: { bytes: Uint8Array; epoch: number; step: number; weights: Record<string, Float32Array> } | null = null;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

function postState(message?: string): void {
  const status = run === null ? "idle" : running ? "running" : finished ? "finished" : "paused";
  post({ kind: "state", status, settings: runSettings, checkpointEpoch: snapshot?.epoch ?? 0, ...(message ? { message } : {}) });
}

/** The settings a checkpoint's config stands for (the augmentation is not saved: the defaults). */
function settingsOf(config: TrainConfig): PlaygroundSettings {
  return {
    method: config.method,
    batchSize: config.batchSize,
    temperature: config.temperature,
    lr: config.lr,
    epochs: config.epochs,
    trainLimit: config.trainLimit,
    seed: config.seed,
    augmentation: { ...DEFAULT_AUGMENTATION },
  };
}

/** Wait for the message queue: a macrotask, so that pause, caption and download get in between steps. */
function yieldToMessages(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });
}

/** The augmented views of one test digit (the first "3"), as the run's pipeline makes them. */
function postViews(augmentation: PlaygroundSettings["augmentation"], seed: number): void {
  if (digits === null) return;
  const index = oneOfEachClass(digits.test.labels, 4)[3];
  const image = gatherImages(digits.test.images, IMAGE_PIXELS, [index]);
  const preview = augmentationPreview(image, 1, defaultAugmentation(augmentation), new Generator(seed), PANEL.views);
  post({ kind: "views", images: preview.images, count: preview.cols, label: digits.test.labels[index] }, [preview.images.buffer]);
}

/** The similarity matrix of the fixed batch (30 test digits by digit, fixed augmentations). */
function postSimilarity(): void {
  if (run === null || digits === null) return;
  const sample = similaritySample(run.method, digits, { count: PANEL.similarityImages, seed: 0 });
  const method = run.method;
  const temperature = method instanceof CLIP ? 1 / Math.exp(method.logitScale.item()) : (run.config.temperature ?? null);
  post({ kind: "similarity", step: run.state.step, values: sample.values, size: sample.size, labels: sample.labels, temperature }, [
    sample.values.buffer,
  ]);
}

/**
 * Evaluate the encoder features h = f(x) of the fixed test digits: their 2-D PCA, kNN accuracy
 * against the bank's features, and the health numbers (alignment of two augmented views, uniformity,
 * normalized std, effective rank) with the collapse monitor's verdict.
 */
function postEmbedding(): void {
  if (run === null || testSet === null || knnBank === null) return;
  const method = run.method;
  const test = encoderFeatures(method, testSet.images, testSet.count); // (m, D)
  const bank = encoderFeatures(method, knnBank.images, knnBank.count); // (n, D)
  const pca = principalComponents(test.data, test.rows, test.dim, { components: 2 });
  const knn = knnAccuracy(bank, knnBank.labels, test, testSet.labels, { k: 20 });
  const health = representationHealth(test);
  // Alignment: two augmented views of the same test digits, fixed augmentations (as evaluateEncoder does).
  const generator = new Generator(0);
  const pipeline = defaultAugmentation();
  const wasTraining = method.training;
  method.eval();
  let align: number;
  try {
    const embed = (images: Tensor) => noGrad(() => method.encoder.forward(images));
    const view1 = embedImages(embed, augmentBatch(testSet.images, testSet.count, pipeline, generator), testSet.count);
    const view2 = embedImages(embed, augmentBatch(testSet.images, testSet.count, pipeline, generator), testSet.count);
    align = alignment(view1, view2);
  } finally {
    method.train(wasTraining);
  }
  const collapse = collapseMonitor(Tensor.fromTypedArray(test.data, [test.rows, test.dim]));
  const numbers: HealthNumbers = {
    alignment: align,
    uniformity: health.uniformity,
    normalizedStdRatio: health.normalizedStd.ratio,
    effectiveRank: health.effectiveRank,
    maxRank: collapse.maxRank,
    collapsed: collapse.collapsed,
    reasons: collapse.reasons,
  };
  post({
    kind: "embedding",
    step: run.state.step,
    coordinates: pca.coordinates,
    labels: testSet.labels,
    explainedRatio: [pca.explainedRatio[0], pca.explainedRatio[1]],
    knnAccuracy: knn.accuracy,
    health: numbers,
  });
}

/** The CLI's checkpoint of the run as it is now (an epoch boundary), and a copy of its weights. */
function takeSnapshot(): void {
  if (run === null) return;
  const weights: Record<string, Float32Array> = {};
  for (const [key, value] of run.method.stateDict()) weights[key] = Float32Array.from(value.toTypedArray());
  snapshot = { bytes: serializeCheckpoint(run), epoch: run.state.epoch, step: run.state.step, weights };
}

/** Which trainLoop may run: a pause followed at once by a start must not leave two loops stepping. */
let currentLoop = 0;

/** Train until paused or finished, posting the losses every ~40 ms and the panels on their schedules. */
async function trainLoop(): Promise<void> {
  const loop = ++currentLoop;
  while (loop === currentLoop && running && run !== null && steps !== null) {
    const losses: number[] = [];
    let last: Progress | null = null; // the last step's progress (an epoch event carries none)
    const until = performance.now() + 40;
    while (performance.now() < until) {
      const next = steps.next();
      if (next.done) {
        finished = true;
        running = false;
        break;
      }
      if (next.value.kind === "epoch") {
        takeSnapshot();
        postState();
        continue;
      }
      last = next.value.progress;
      losses.push(next.value.progress.loss);
      const step = next.value.progress.step;
      if (step % PANEL.similarityEvery === 0) postSimilarity();
      if (step % PANEL.evaluateEvery === 0) postEmbedding();
      if (step % PANEL.similarityEvery === 0) break; // a drawing is due: let the page have the losses too
    }
    if (losses.length > 0 && last !== null) {
      post({
        kind: "steps",
        losses,
        step: run.state.step,
        epoch: last.epoch,
        epochs: run.config.epochs,
        stepsPerEpoch: run.stepsPerEpoch,
        lr: last.lr,
        extra: last.extra,
        samplesPerSecond: last.samplesPerSecond,
      });
    }
    if (finished) {
      postSimilarity();
      postEmbedding();
      postState("finished: every epoch trained (raise the epochs and reset to train longer)");
    }
    await yieldToMessages();
  }
}

/** Show the panels of a fresh or loaded run before it trains. */
function postAllPanels(): void {
  postSimilarity();
  postEmbedding();
}

function handle(message: ToWorker): void {
  switch (message.kind) {
    case "start": {
      if (digits === null) throw new Error("start: the digits are still loading");
      if (run === null) {
        run = createRunFromData(configOf(message.settings), digits, { augmentation: message.settings.augmentation });
        runSettings = message.settings;
        steps = trainRunSteps(run);
        finished = false;
        snapshot = null;
        postAllPanels();
        postViews(message.settings.augmentation, message.settings.seed);
      }
      if (finished) {
        postState("finished: every epoch trained (raise the epochs and reset to train longer)");
        return;
      }
      if (!running) {
        running = true;
        postState();
        void trainLoop().catch(reportError);
      }
      return;
    }
    case "pause":
      running = false;
      postState();
      return;
    case "reset":
      running = false;
      run = null;
      steps = null;
      runSettings = null;
      snapshot = null;
      finished = false;
      postState();
      return;
    case "views":
      postViews(message.augmentation, message.seed);
      return;
    case "caption":
      answerCaption(message.text);
      return;
    case "download": {
      if (snapshot === null) {
        throw new Error("download: no epoch has finished yet, so there is no checkpoint (the CLI writes one each epoch)");
      }
      const bytes = snapshot.bytes.slice();
      post({ kind: "checkpoint", bytes, epoch: snapshot.epoch, step: snapshot.step, method: run!.config.method }, [bytes.buffer]);
      return;
    }
    case "weights":
      if (snapshot === null) throw new Error("weights: no checkpoint yet");
      post({ kind: "weights", epoch: snapshot.epoch, tensors: snapshot.weights });
      return;
    case "load": {
      if (digits === null) throw new Error("load: the digits are still loading");
      running = false;
      const loaded = resumeRunFromBytes(message.bytes, digits, { source: message.name });
      run = loaded;
      runSettings = settingsOf(loaded.config);
      steps = trainRunSteps(loaded);
      finished = loaded.state.epoch >= loaded.config.epochs;
      takeSnapshot();
      postAllPanels();
      postViews(runSettings.augmentation, runSettings.seed);
      post({
        kind: "steps",
        losses: loaded.state.lossPerStep.slice(),
        step: loaded.state.step,
        epoch: loaded.state.epoch,
        epochs: loaded.config.epochs,
        stepsPerEpoch: loaded.stepsPerEpoch,
        lr: 0,
        extra: loaded.method.progressExtra(),
        samplesPerSecond: 0,
      });
      postState(`loaded ${message.name}: ${loaded.config.method}, epoch ${loaded.state.epoch} of ${loaded.config.epochs}`);
      return;
    }
  }
}

/**
 * CLIP zero-shot: the caption through the text tower, its cosine with the joint embeddings of the
 * fixed test digits, the nearest ones. Words outside the caption vocabulary are reported (they
 * become <unk>).
 */
function answerCaption(text: string): void {
  if (run === null || testSet === null) throw new Error("caption: start or load a CLIP run first");
  const method = run.method;
  if (!(method instanceof CLIP)) throw new Error(`caption: zero-shot needs a CLIP run (this one is ${run.config.method})`);
  const tokenizer = captionTokenizer();
  const unknownWords = splitWords(text).filter((word) => !tokenizer.vocabulary.includes(word));
  const caption = method.embedTexts(tokenizer.encode(text, CAPTION_MAX_LENGTH), 1); // (1, E)
  const images = method.embedImagesJoint(testSet.images, testSet.count); //          (m, E)
  const scores = new Float32Array(testSet.count);
  for (let i = 0; i < testSet.count; i++) {
    let dot = 0;
    for (let e = 0; e < images.dim; e++) dot += images.features[i * images.dim + e] * caption.features[e];
    scores[i] = dot;
  }
  const order = Int32Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a]).subarray(0, PANEL.captionNeighbours);
  post({ kind: "captionResult", text, indices: order.slice(), similarities: Float32Array.from(order, (i) => scores[i]), unknownWords });
}

function reportError(error: unknown): void {
  running = false;
  post({ kind: "error", message: error instanceof Error ? error.message : String(error) });
  postState();
}

scope.onmessage = (event) => {
  try {
    handle(event.data);
  } catch (error) {
    reportError(error);
  }
};

/**
 * The products' threads: when this worker may share memory with workers of its own (the page is
 * cross-origin isolated: COOP/COEP), the pool's Web Workers (src/parallel/web-platform.ts, the bundle
 * contrastive-ts-worker.js next to this file), else one thread; either way the same bits. Returns what
 * the page shows.
 */
async function installThreads(): Promise<{ threads: number; note: string }> {
  if (!webThreadsAvailable()) {
    await installWebThreads({ workerUrl: new URL("./contrastive-ts-worker.js", self.location.href) }); // installs one thread
    return { threads: 1, note: "one thread: the page is not cross-origin isolated (serve it with COOP/COEP)" };
  }
  const status = await installWebThreads({ workerUrl: new URL("./contrastive-ts-worker.js", self.location.href) });
  const threads = getNumThreads();
  if (status.state === "one thread") return { threads: 1, note: `one thread: ${status.reason ?? "no worker could start"}` };
  return { threads, note: `the pool's Web Workers: ${status.workers} worker${status.workers === 1 ? "" : "s"} beside this one` };
}

/** Load the digits from the page's own origin, fix the panels' test and bank digits, and say ready. */
async function loadDigits(): Promise<void> {
  const threads = await installThreads();
  const response = await fetch(new URL("./mnist-digits.bin", self.location.href));
  if (!response.ok) throw new Error(`the digits: ${response.url} answered ${response.status} (npm run playground copies them)`);
  digits = mnistFromBytes(new Uint8Array(await response.arrayBuffer()));
  testSet = limitSplit(digits.test, PANEL.testDigits);
  knnBank = limitSplit(digits.train, PANEL.knnBank);
  const images = testSet.images.slice();
  post({
    kind: "ready",
    trainCount: digits.train.count,
    testCount: digits.test.count,
    testImages: images,
    testLabels: testSet.labels.slice(),
    kernel: getGemmKernel(),
    threads: threads.threads,
    threadNote: threads.note,
  }, [images.buffer]);
  postViews({ ...DEFAULT_AUGMENTATION }, 0);
  postState();
}

void loadDigits().catch(reportError);
