/**
 * The training loop shared by the four methods (chapter 7.5, "Training loop"):
 *
 *   for each epoch:
 *     for each batch:
 *       loss = method.trainingLoss(batch)        forward, recorded on the tape
 *       optimizer.zeroGrad(); loss.backward()   gradients of the trainable parameters
 *       lr ← schedule(step); optimizer.step()   Adam, linear warmup then cosine decay
 *       method.afterOptimizerStep(step)         EMA target / key encoder, logit-scale clamp
 *     checkpoint (safetensors): weights, buffers, optimizer state, loader and RNG state
 *
 * Everything that influences the next step is in the checkpoint, so `resume` continues a run to
 * the same bits as an uninterrupted one: parameters and buffers (BatchNorm statistics, MoCo's
 * queue and pointer), the optimizer's moments and step counts, the loader's epoch order and its
 * augmentation generator, the step counter and the loss history.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { Generator } from "../tensor/random.js";
import { AdamW } from "../optim/adam.js";
import { cosineWithWarmup } from "../optim/schedules.js";
import { saveModule, loadModule } from "../io/checkpoint.js";
import { loadSafetensors } from "../io/safetensors.js";
import { loadMnist, gatherImages, type Split, IMAGE_PIXELS } from "../data/mnist.js";
import { defaultAugmentation } from "../data/augment.js";
import { TwoViewLoader, ImageCaptionLoader, type LoaderState, type TwoViewBatch, type ImageCaptionBatch } from "../data/loader.js";
import { buildCaptionTable, captionTokenizer, fitCaptionThresholds, CAPTION_MAX_LENGTH } from "../data/captions.js";
import { SimCLR } from "./simclr.js";
import { MoCo } from "./moco.js";
import { BYOL } from "./byol.js";
import { CLIP, type ClipImageTower, type ClipTextTower } from "./clip.js";
import type { ContrastiveMethod, EncoderKind, MethodName } from "./common.js";

export const METHOD_NAMES: readonly MethodName[] = ["simclr", "moco", "byol", "clip"];

export interface TrainConfig {
  method: MethodName;
  epochs: number;
  batchSize: number;
  lr: number;
  /** τ for SimCLR and MoCo; CLIP's initial τ (then learned). Defaults per method. */
  temperature?: number;
  seed: number;
  encoder: EncoderKind;
  /** CLIP only. */
  imageTower?: ClipImageTower;
  textTower?: ClipTextTower;
  weightDecay: number;
  /** Warmup as a number of epochs (may be fractional). */
  warmupEpochs: number;
  /** Train on n training images spread evenly over the classes (tiny budgets, specs); 0 = all 7,996. */
  trainLimit: number;
  /** MoCo's queue length K (a multiple of the batch size; of twice the batch size when the loss is symmetric). */
  queueSize?: number;
  /**
   * MoCo: the symmetrized loss ½[L(q₁, k₂) + L(q₂, k₁)] (default true; docs/methods.md says why), or,
   * with false, MoCo v2's one-sided L(q₁, k₂).
   */
  symmetricLoss?: boolean;
}

export const DEFAULT_TEMPERATURE: Record<MethodName, number> = { simclr: 0.5, moco: 0.2, byol: 0, clip: 0.07 };

export function defaultConfig(method: MethodName, overrides: Partial<TrainConfig> = {}): TrainConfig {
  const base: TrainConfig = {
    method,
    epochs: method === "simclr" || method === "clip" ? 20 : 50,
    // MoCo's negatives come from the queue, not the batch: a smaller batch costs it no negatives
    // and gives twice the steps an epoch (docs/methods.md).
    batchSize: method === "moco" ? 128 : 256,
    lr: method === "clip" ? 2e-3 : method === "simclr" ? 3e-3 : 1e-3,
    seed: 0,
    encoder: "mlp",
    weightDecay: method === "clip" ? 0.1 : 1e-6,
    warmupEpochs: 1,
    trainLimit: 0,
  };
  const config = { ...base, ...overrides };
  if (config.temperature === undefined && method !== "byol") config.temperature = DEFAULT_TEMPERATURE[method];
  return config;
}

export interface TrainState {
  epoch: number;
  step: number;
  lossPerEpoch: number[];
  lossPerStep: number[];
  wallSeconds: number;
}

export interface Progress {
  epoch: number;
  epochs: number;
  stepInEpoch: number;
  stepsPerEpoch: number;
  loss: number;
  lr: number;
  extra: { label: string; value: number } | null;
  samplesPerSecond: number;
  etaSeconds: number;
}

type AnyLoader = TwoViewLoader | ImageCaptionLoader;

/** Everything a run is made of, built deterministically from the config. */
export interface Run {
  config: TrainConfig;
  method: ContrastiveMethod;
  loader: AnyLoader;
  optimizer: AdamW;
  train: Split;
  stepsPerEpoch: number;
  totalSteps: number;
  state: TrainState;
}

/**
 * n images spread evenly over the split: indices ⌊i·count/n⌋, i = 0 … n − 1. The split is grouped
 * by class (all 0s, then all 1s, …), so its first n images would be n zeros; evenly spaced ones
 * keep every class in its proportion.
 */
export function limitSplit(split: Split, limit: number): Split {
  if (!(limit > 0) || limit >= split.count) return split;
  const indices = Int32Array.from({ length: limit }, (_, i) => Math.floor((i * split.count) / limit)); // (n,)
  const labels = Int32Array.from(indices, (index) => split.labels[index]);
  return { images: gatherImages(split.images, IMAGE_PIXELS, indices), labels, count: limit }; // (n, 784), (n,)
}

/** MoCo's loss is symmetrized unless the config says otherwise. */
function mocoSymmetric(config: TrainConfig): boolean {
  return config.symmetricLoss ?? true;
}

/** The keys one MoCo step enqueues: N, or 2N with the symmetrized loss. */
function mocoKeysPerStep(config: TrainConfig): number {
  return mocoSymmetric(config) ? 2 * config.batchSize : config.batchSize;
}

export function validateConfig(config: TrainConfig): void {
  const fail = (message: string): never => {
    throw new Error(`train: ${message}`);
  };
  if (!METHOD_NAMES.includes(config.method)) fail(`unknown method '${config.method}' (one of ${METHOD_NAMES.join(", ")})`);
  if (!(Number.isInteger(config.epochs) && config.epochs >= 1)) fail(`--epochs must be a positive integer, got ${config.epochs}`);
  if (!(Number.isInteger(config.batchSize) && config.batchSize >= 2)) fail(`--batch-size must be an integer ≥ 2, got ${config.batchSize}`);
  if (!(config.lr > 0 && Number.isFinite(config.lr))) fail(`--lr must be a positive number, got ${config.lr}`);
  if (config.temperature !== undefined && !(config.temperature > 0 && Number.isFinite(config.temperature))) fail(`--temperature must be a positive number, got ${config.temperature}`);
  if (!Number.isInteger(config.seed)) fail(`--seed must be an integer, got ${config.seed}`);
  if (config.encoder !== "mlp" && config.encoder !== "conv") fail(`--encoder must be mlp or conv, got ${config.encoder}`);
  // An option of another method would be silently ignored: refuse it instead.
  const onlyFor: [keyof TrainConfig, string, MethodName][] = [
    ["queueSize", "--queue-size", "moco"],
    ["symmetricLoss", "--moco-loss", "moco"],
    ["imageTower", "--image-tower", "clip"],
    ["textTower", "--text-tower", "clip"],
  ];
  for (const [key, flag, owner] of onlyFor) {
    if (config[key] !== undefined && config.method !== owner) fail(`${flag} applies to ${owner} only (this run is ${config.method})`);
  }
  if (config.queueSize !== undefined && !(Number.isInteger(config.queueSize) && config.queueSize >= 1)) fail(`--queue-size must be a positive whole number, got ${config.queueSize}`);
  if (config.method === "moco" && config.queueSize !== undefined && config.queueSize % mocoKeysPerStep(config) !== 0) {
    fail(`MoCo queue size ${config.queueSize} must be a multiple of ${mocoSymmetric(config) ? "twice " : ""}the batch size ${config.batchSize} (${mocoKeysPerStep(config)} keys a step)`);
  }
}

export function createRun(config: TrainConfig): Run {
  validateConfig(config);
  const data = loadMnist();
  const train = limitSplit(data.train, config.trainLimit);
  if (train.count < config.batchSize) throw new Error(`train: batch size ${config.batchSize} is larger than the ${train.count} training images`);
  const generator = new Generator(config.seed);
  let method: ContrastiveMethod;
  let loader: AnyLoader;
  const loaderOptions = { batchSize: config.batchSize, seed: config.seed + 1, dropLast: true };
  if (config.method === "clip") {
    const tokenizer = captionTokenizer();
    const thresholds = fitCaptionThresholds(data.train);
    const table = buildCaptionTable(train, thresholds, { tokenizer, maxLength: CAPTION_MAX_LENGTH });
    method = new CLIP({
      vocabSize: tokenizer.vocabSize,
      maxLength: CAPTION_MAX_LENGTH,
      imageTower: config.imageTower ?? config.encoder,
      textTower: config.textTower ?? "bow",
      initialTemperature: config.temperature ?? 0.07,
      generator,
    });
    loader = new ImageCaptionLoader(train, table, loaderOptions);
  } else {
    const augmentation = defaultAugmentation();
    if (config.method === "simclr") method = new SimCLR({ encoder: config.encoder, temperature: config.temperature, generator });
    else if (config.method === "moco") {
      // K defaults to the largest multiple of the keys a step enqueues that is ≤ 4096.
      const keysPerStep = mocoKeysPerStep(config);
      const queueSize = config.queueSize ?? Math.max(keysPerStep, Math.floor(4096 / keysPerStep) * keysPerStep);
      method = new MoCo({ encoder: config.encoder, temperature: config.temperature, queueSize, symmetric: mocoSymmetric(config), generator });
    } else method = new BYOL({ encoder: config.encoder, generator });
    loader = new TwoViewLoader(train, augmentation, loaderOptions);
  }
  // AdamW: decoupled weight decay on weight matrices only; none on biases, norm parameters and
  // CLIP's logit scale (as open_clip and the SimCLR/BYOL recipes exclude them).
  const named = method.trainableParameters();
  const decayed = named.filter(([, p]) => p.ndim >= 2);
  const notDecayed = named.filter(([, p]) => p.ndim < 2);
  const optimizer = new AdamW(
    [
      { params: decayed, weightDecay: config.weightDecay },
      { params: notDecayed, weightDecay: 0 },
    ].filter((group) => group.params.length > 0),
    { lr: config.lr },
  );
  const stepsPerEpoch = loader.batchesPerEpoch;
  const totalSteps = stepsPerEpoch * config.epochs;
  return {
    config,
    method,
    loader,
    optimizer,
    train,
    stepsPerEpoch,
    totalSteps,
    state: { epoch: 0, step: 0, lossPerEpoch: [], lossPerStep: [], wallSeconds: 0 },
  };
}

export const CHECKPOINT_FILE = "checkpoint.safetensors";

/** Save the run at an epoch boundary (atomic). */
export function saveCheckpoint(run: Run, directory: string): string {
  mkdirSync(directory, { recursive: true });
  const path = join(directory, CHECKPOINT_FILE);
  saveModule(path, run.method, {
    optimizer: run.optimizer,
    metadata: {
      method: run.config.method,
      config: JSON.stringify(run.config),
      seed: String(run.config.seed),
      epoch: String(run.state.epoch),
      step: String(run.state.step),
      trainState: JSON.stringify(run.state),
      loaderState: JSON.stringify(run.loader.getState()),
    },
  });
  return path;
}

/** Rebuild a run from a checkpoint: the same config, then the saved weights, optimizer, loader and history. */
export function resumeRun(directory: string, overrides: Partial<TrainConfig> = {}): Run {
  const path = join(directory, CHECKPOINT_FILE);
  if (!existsSync(path)) throw new Error(`resume: no checkpoint at ${path}`);
  const metadata = readCheckpointMetadata(path);
  const saved = JSON.parse(metadata.config) as TrainConfig;
  // Only the length of a run may change on resume; anything else would not continue the same run.
  for (const [key, value] of Object.entries(overrides) as [keyof TrainConfig, unknown][]) {
    if (key !== "epochs" && value !== undefined && value !== saved[key]) {
      throw new Error(`resume: ${path} was trained with ${key} ${String(saved[key])}, not ${String(value)} (only epochs may change on resume)`);
    }
  }
  const config = { ...saved, ...overrides };
  const run = createRun(config);
  loadModule(path, run.method, { optimizer: run.optimizer });
  run.loader.setState(JSON.parse(metadata.loaderState) as LoaderState);
  run.state = JSON.parse(metadata.trainState) as TrainState;
  if (config.epochs !== saved.epochs) {
    // A longer (or shorter) run changes the schedule's total: the schedule is recomputed from it.
    run.totalSteps = run.stepsPerEpoch * config.epochs;
  }
  return run;
}

export function readCheckpointMetadata(path: string): Record<string, string> {
  const probe = loadCheckpointMetadataOnly(path);
  for (const key of ["method", "config", "trainState", "loaderState"]) {
    if (!(key in probe)) throw new Error(`resume: ${path} is not a contrastive-ts training checkpoint (no '${key}' in its metadata)`);
  }
  return probe;
}

function loadCheckpointMetadataOnly(path: string): Record<string, string> {
  return loadSafetensors(path, { names: [] }).metadata; // the header only: no tensor is read
}

/**
 * Train until `config.epochs` (continuing from the run's state), calling `onProgress` after every
 * step and `onEpoch` after every epoch (after the checkpoint is written).
 */
export function trainRun(
  run: Run,
  options: { checkpointDirectory?: string; onProgress?: (p: Progress) => void; onEpoch?: (epoch: number, meanLoss: number) => void; stopAfterEpochs?: number } = {},
): TrainState {
  const { config, method, loader, optimizer, state } = run;
  const schedule = cosineWithWarmup({
    baseLr: config.lr,
    warmupSteps: Math.min(Math.round(config.warmupEpochs * run.stepsPerEpoch), run.totalSteps - 1),
    totalSteps: run.totalSteps,
  });
  method.train();
  let epochsThisCall = 0;
  while (state.epoch < config.epochs) {
    const started = performance.now();
    let lossSum = 0;
    let stepInEpoch = 0;
    for (const batch of loader.epochBatches() as Iterable<TwoViewBatch & ImageCaptionBatch>) {
      const loss = method.trainingLoss(batch);
      optimizer.zeroGrad();
      loss.backward();
      const lr = schedule(state.step);
      for (const group of optimizer.paramGroups) group.lr = lr;
      optimizer.step();
      state.step += 1;
      method.afterOptimizerStep(state.step, run.totalSteps);
      const value = loss.item();
      if (!Number.isFinite(value)) throw new Error(`train: the loss became ${value} at step ${state.step} (epoch ${state.epoch + 1}); try a lower --lr`);
      state.lossPerStep.push(value);
      lossSum += value;
      stepInEpoch += 1;
      const seconds = (performance.now() - started) / 1000;
      const samplesPerSecond = (stepInEpoch * config.batchSize) / Math.max(seconds, 1e-9);
      const remainingSteps = run.totalSteps - state.step;
      options.onProgress?.({
        epoch: state.epoch + 1,
        epochs: config.epochs,
        stepInEpoch,
        stepsPerEpoch: run.stepsPerEpoch,
        loss: value,
        lr,
        extra: method.progressExtra(),
        samplesPerSecond,
        etaSeconds: (remainingSteps * config.batchSize) / Math.max(samplesPerSecond, 1e-9),
      });
    }
    state.epoch += 1;
    state.lossPerEpoch.push(lossSum / Math.max(stepInEpoch, 1));
    state.wallSeconds += (performance.now() - started) / 1000;
    if (options.checkpointDirectory) saveCheckpoint(run, options.checkpointDirectory);
    options.onEpoch?.(state.epoch, state.lossPerEpoch[state.lossPerEpoch.length - 1]);
    epochsThisCall += 1;
    if (options.stopAfterEpochs !== undefined && epochsThisCall >= options.stopAfterEpochs) break;
  }
  return state;
}
