/**
 * A training run in any JavaScript runtime: built from a config and the digits
 * (`createRunFromData`), trained one optimizer step at a time (`trainRunSteps`), checkpointed to
 * and resumed from bytes (`serializeCheckpoint`, `resumeRunFromBytes`). Nothing here touches a file:
 * ./trainer.ts (Node) adds run directories, `loadMnist()` and checkpoint files on top, with the
 * same metadata and the same bytes, so a checkpoint made in a browser page is a CLI checkpoint.
 *
 * The loop (chapter 7.5, "Training loop"):
 *
 *   for each epoch:
 *     for each batch:
 *       loss = method.trainingLoss(batch)        forward, recorded on the tape
 *       optimizer.zeroGrad(); loss.backward()   gradients of the trainable parameters
 *       clipGradNorm (with --grad-clip-norm)    g ← g · min(1, c / ‖g‖₂), over all gradients at once
 *       lr ← schedule(step); optimizer.step()   Adam, linear warmup then cosine decay
 *       method.afterOptimizerStep(step)         EMA target / key encoder, logit-scale clamp
 *     checkpoint (safetensors): weights, buffers, optimizer state, loader and RNG state
 *
 * Everything that influences the next step is in the checkpoint, so a resumed run continues to
 * the same bits as an uninterrupted one: parameters and buffers (BatchNorm statistics, MoCo's
 * queue and pointer), the optimizer's moments and step counts, the loader's epoch order and its
 * augmentation generator, the step counter and the loss history.
 *
 * @module
 */
import { Generator } from "../tensor/random.js";
import { AdamW } from "../optim/adam.js";
import { cosineWithWarmup } from "../optim/schedules.js";
import { clipGradNorm } from "../optim/clip.js";
import { firstNonFinite, firstNonFiniteIndex, loadModuleContents, serializeModule } from "../io/checkpoint-bytes.js";
import { parseSafetensors } from "../io/safetensors-bytes.js";
import { gatherImages, type MnistData, type Split, IMAGE_PIXELS } from "../data/mnist.js";
import { defaultAugmentation, type AugmentationOptions } from "../data/augment.js";
import { TwoViewLoader, ImageCaptionLoader, type TwoViewBatch, type ImageCaptionBatch } from "../data/loader.js";
import { buildCaptionTable, captionTokenizer, fitCaptionThresholds, CAPTION_MAX_LENGTH } from "../data/captions.js";
import { SimCLR } from "./simclr.js";
import { MoCo } from "./moco.js";
import { BYOL } from "./byol.js";
import { CLIP } from "./clip.js";
import { familyBMethod } from "./family-b.js";
import { SupCon } from "./supcon.js";
import { BarlowTwins } from "./barlow.js";
import type { ContrastiveMethod } from "./common.js";
import { parseCheckpointMetadata, type CheckpointContents } from "./checkpoint-schema.js";
import {
  DEFAULT_TEMPERATURE,
  TRAIN_CONFIG_KEYS,
  mocoKeysPerStep,
  mocoSymmetric,
  validateConfig,
  warmupStepsOf,
  type TrainConfig,
  type TrainState,
} from "./config.js";
import { checkOptions } from "../tensor/options.js";
import { NonFiniteError } from "../ops/util.js";
import type { Tensor } from "../tensor/tensor.js";

/** What `trainSteps` reports after every optimizer step (the progress line and log.jsonl are made of it). */
export interface Progress {
  /** Optimizer steps done in the whole run, this one included (1, 2, …). */
  step: number;
  /** The epoch this step belongs to, from 1. */
  epoch: number;
  /** The number of epochs of the run. */
  epochs: number;
  /** The step within the epoch, 1-based. */
  stepInEpoch: number;
  /** Steps per epoch. */
  stepsPerEpoch: number;
  /** This step's loss. */
  loss: number;
  /** The learning rate this step used. */
  lr: number;
  /** The method's own number: τ (SimCLR, MoCo), the logit scale (CLIP), the EMA momentum (BYOL). */
  extra: {
    /** Its short name. */
    label: string;
    /** Its value. */
    value: number;
  } | null;
  /** ‖g‖₂ of all gradients before clipping; only with `gradClipNorm` (computing it is the clipping's first half). */
  gradNorm?: number;
  /** Training throughput, images per second. */
  samplesPerSecond: number;
  /** Wall-clock seconds of training so far, over every session of a resumed run. */
  wallSeconds: number;
  /** Estimated seconds left. */
  etaSeconds: number;
}

/** The loader of a run: two augmented views (every method but CLIP) or image–caption pairs (CLIP). */
export type AnyLoader = TwoViewLoader | ImageCaptionLoader;

/** Everything a run is made of, built deterministically from the config. */
export interface Run {
  /** The run's configuration. */
  config: TrainConfig;
  /** The method being trained. */
  method: ContrastiveMethod;
  /** Its data loader. */
  loader: AnyLoader;
  /** The AdamW optimizer over the method's trainable parameters. */
  optimizer: AdamW;
  /** The training split (limited by `trainLimit`). */
  train: Split;
  /** Steps per epoch. */
  stepsPerEpoch: number;
  /** Steps of the whole run (epochs × stepsPerEpoch). */
  totalSteps: number;
  /** Epochs, steps and losses so far. */
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

/** Options of {@link createRunFromData}. */
export interface CreateRunOptions {
  /**
   * The augmentation pipeline's settings (src/data/augment.ts, `defaultAugmentation`); default: the
   * defaults, as the CLI trains. The config has no field for them, so a checkpoint does not record
   * them: a run resumed from it (the CLI's `--resume`) continues with the default pipeline.
   */
  augmentation?: AugmentationOptions;
}

/**
 * A fresh run from a config and the digits: the method, its loader and optimizer, at step 0
 * (validated first). In Node `createRun(config)` (./trainer.ts) calls this with `loadMnist()`; in a
 * browser the digits come from bytes (`data.mnistFromBytes`), the same bits.
 */
export function createRunFromData(config: TrainConfig, data: MnistData, options: CreateRunOptions = {}): Run {
  checkOptions("createRunFromData", config, TRAIN_CONFIG_KEYS);
  checkOptions("createRunFromData", options, { augmentation: true });
  validateConfig(config);
  const train = limitSplit(data.train, config.trainLimit);
  if (train.count < config.batchSize) {
    throw new Error(`train: batch size ${config.batchSize} is larger than the ${train.count} training images`);
  }
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
      loss: config.loss === "siglip" ? "siglip" : "clip",
      generator,
    });
    loader = new ImageCaptionLoader(train, table, loaderOptions);
  } else {
    const augmentation = defaultAugmentation(options.augmentation);
    if (config.method === "simclr") {
      const loss = config.loss === "dcl" || config.loss === "dclw" ? config.loss : "ntxent";
      method = new SimCLR({ encoder: config.encoder, temperature: config.temperature, loss, generator });
    } else if (config.method === "supcon") method = new SupCon({ encoder: config.encoder, temperature: config.temperature, generator });
    else if (config.method === "barlow") method = new BarlowTwins({ encoder: config.encoder, generator });
    else if (config.method === "moco") {
      // K defaults to the largest multiple of the keys a step enqueues that is ≤ 4096.
      const keysPerStep = mocoKeysPerStep(config);
      const queueSize = config.queueSize ?? Math.max(keysPerStep, Math.floor(4096 / keysPerStep) * keysPerStep);
      method = new MoCo({
        encoder: config.encoder,
        temperature: config.temperature,
        queueSize,
        symmetric: mocoSymmetric(config),
        generator,
      });
    } else if (config.method === "byol") method = new BYOL({ encoder: config.encoder, generator });
    else method = familyBMethod(config, generator); // vicreg, simsiam, dino, swav
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

/**
 * The metadata strings of a run's checkpoint (src/methods/checkpoint-schema.ts checks them on load):
 * method, config, seed, epoch, step, trainState, loaderState ("format" and the optimizer's JSON are
 * added by the checkpoint writer).
 */
export function checkpointMetadata(run: Run): Record<string, string> {
  return {
    method: run.config.method,
    config: JSON.stringify(run.config),
    seed: String(run.config.seed),
    epoch: String(run.state.epoch),
    step: String(run.state.step),
    trainState: JSON.stringify(run.state),
    loaderState: JSON.stringify(run.loader.getState()),
  };
}

/**
 * The run's checkpoint as safetensors bytes: weights, buffers, optimizer state and the metadata of
 * {@link checkpointMetadata}; byte for byte what `saveCheckpoint` (./trainer.ts) writes to
 * checkpoint.safetensors, so it loads in `contrastive eval`, `--resume` and PyTorch.
 */
export function serializeCheckpoint(run: Run): Uint8Array {
  return serializeModule(run.method, { optimizer: run.optimizer, metadata: checkpointMetadata(run) });
}

/**
 * A checkpoint's metadata from its bytes, every field checked (checkpoint-schema.ts); the tensors are
 * checked when they are loaded. `source` names the bytes in messages.
 */
export function readCheckpointBytes(
  bytes: Uint8Array,
  source = "<bytes>",
  op = "resume",
): CheckpointContents & {
  /** The checkpoint's metadata strings, as saved. */
  metadata: Record<string, string>;
} {
  const metadata = parseSafetensors(bytes, source, { names: [] }).metadata; // the header only: no tensor is read
  return { metadata, ...parseCheckpointMetadata(op, source, metadata) };
}

/**
 * Continue a run from a checkpoint: its checked metadata, and `readContents`, which reads its tensors
 * (from a file or from bytes) once the run is built: the same config with `overrides` (only `epochs` may change), then the saved
 * weights, optimizer, loader and history. `resumeRun` (./trainer.ts) and {@link resumeRunFromBytes}
 * share it. Throws naming `source` if anything does not fit.
 */
export function resumeRunFromContents(
  op: string,
  source: string,
  checked: CheckpointContents,
  readContents: () => ReturnType<typeof parseSafetensors>,
  data: MnistData,
  overrides: Partial<TrainConfig> = {},
  options: CreateRunOptions = {},
): Run {
  checkOptions("resumeRun", overrides, TRAIN_CONFIG_KEYS);
  const { config: saved, trainState, loaderState } = checked;
  // Only the length of a run may change on resume; anything else would not continue the same run.
  for (const [key, value] of Object.entries(overrides) as [keyof TrainConfig, unknown][]) {
    if (key !== "epochs" && value !== undefined && value !== saved[key]) {
      throw new Error(
        `${op}: ${source} was trained with ${key} ${String(saved[key])}, not ${String(value)} (only epochs may change on resume)`,
      );
    }
  }
  const config = { ...saved, ...overrides };
  const run = createRunFromData(config, data, options);
  if (trainState.step !== trainState.epoch * run.stepsPerEpoch) {
    throw new Error(
      `${op}: '${source}': metadata 'trainState.step' is ${trainState.step}, ` +
        `but ${trainState.epoch} epochs of ${run.stepsPerEpoch} steps are ${trainState.epoch * run.stepsPerEpoch}`,
    );
  }
  loadModuleContents("loadModule", source, readContents(), run.method, { optimizer: run.optimizer });
  try {
    run.loader.setState(loaderState);
  } catch (error) {
    throw new Error(`${op}: '${source}': metadata 'loaderState' does not fit this run: ${(error as Error).message}`);
  }
  run.state = trainState;
  if (config.epochs !== saved.epochs) {
    // A longer (or shorter) run changes the schedule's total: the schedule is recomputed from it.
    run.totalSteps = run.stepsPerEpoch * config.epochs;
  }
  return run;
}

/**
 * Rebuild a run from checkpoint bytes (what {@link serializeCheckpoint} or the CLI wrote) and the
 * digits: every metadata field and every tensor checked, as `contrastive eval` and `--resume` do.
 */
export function resumeRunFromBytes(
  bytes: Uint8Array,
  data: MnistData,
  options: CreateRunOptions & {
    /** The bytes' name in error messages (a file name; default "<bytes>"). */
    source?: string;
    /** Config fields to change: only `epochs` may differ from the checkpoint's. */
    overrides?: Partial<TrainConfig>;
  } = {},
): Run {
  checkOptions("resumeRunFromBytes", options, { source: true, overrides: true, augmentation: true });
  const source = options.source ?? "<bytes>";
  const checked = readCheckpointBytes(bytes, source, "resume");
  const augmentation = options.augmentation === undefined ? {} : { augmentation: options.augmentation };
  return resumeRunFromContents("resume", source, checked, () => parseSafetensors(bytes, source), data, options.overrides, augmentation);
}

const TRAIN_STEPS_OPTION_KEYS = { onProgress: true, onEpoch: true, stopAfterEpochs: true, checkpoint: true } as const;

/** Options of {@link trainRunSteps}. */
export interface TrainStepsOptions {
  /** After every optimizer step. */
  onProgress?: (p: Progress) => void;
  /** After every epoch, after its checkpoint is written. */
  onEpoch?: (epoch: number, meanLoss: number) => void;
  /** Stop after this many epochs of this call. */
  stopAfterEpochs?: number;
  /** Write the run's checkpoint at the end of every epoch and return where (a path, a name), or null for none. */
  checkpoint?: (run: Run) => string | null;
}

/** What `trainSteps` yields: after each optimizer step, and after each epoch (its checkpoint written, if any). */
export type TrainEvent = { kind: "step"; progress: Progress } | {
  kind: "epoch";
  epoch: number;
  meanLoss: number;
  checkpoint: string | null;
};

/**
 * The training loop, one optimizer step at a time (`trainSteps` and `trainRun` of ./trainer.ts in
 * Node, the playground's worker in a browser): it yields after every step and after every
 * epoch's checkpoint, where the run is consistent, so a caller may pause there (the CLI lets a
 * Ctrl-C in) or stop (`return()`): an epoch in progress is then abandoned, and the last checkpoint
 * written is the last whole epoch.
 *
 * Each step checks what it produced: the loss, every gradient, and every parameter after the
 * update must be finite, or training stops with a message naming the step, the tensor and the
 * likely cause (`nonFiniteHint`), before the bad values can reach a checkpoint.
 */
export function trainRunSteps(run: Run, options: TrainStepsOptions = {}): globalThis.Generator<TrainEvent, TrainState, void> {
  checkOptions("trainRunSteps", options, TRAIN_STEPS_OPTION_KEYS); // here, not at the first next(): a generator's body waits
  return trainingLoop(run, options);
}

/** The body of {@link trainRunSteps}, its options checked. */
function* trainingLoop(run: Run, options: TrainStepsOptions): globalThis.Generator<TrainEvent, TrainState, void> {
  const { config, method, loader, optimizer, state } = run;
  const schedule = cosineWithWarmup({
    baseLr: config.lr,
    warmupSteps: warmupStepsOf(config, run.stepsPerEpoch, run.totalSteps),
    totalSteps: run.totalSteps,
  });
  const trainable = method.trainableParameters();
  method.train();
  let epochsThisCall = 0;
  while (state.epoch < config.epochs) {
    const started = performance.now();
    let lossSum = 0;
    let stepInEpoch = 0;
    for (const batch of loader.epochBatches() as Iterable<TwoViewBatch & ImageCaptionBatch>) {
      const where = `at step ${state.step + 1} (epoch ${state.epoch + 1})`;
      for (const [field, images] of [["view1", batch.view1], ["view2", batch.view2], ["images", batch.images]] as const) {
        const index = images === undefined ? -1 : firstNonFiniteIndex(images);
        if (index >= 0) {
          throw new Error(
            `train: the batch's ${field} holds ${images![index]} at flat index ${index} ${where}: the data is broken, not the model`,
          );
        }
      }
      let loss: Tensor;
      try {
        loss = method.trainingLoss(batch);
      } catch (error) {
        // The losses refuse a NaN or an infinity in their inputs before it becomes a NaN loss.
        if (!(error instanceof NonFiniteError)) throw error;
        throw new Error(`train: the forward pass became non-finite ${where} (${error.message}); ${nonFiniteHint(run, "loss")}`);
      }
      const value = loss.item();
      if (!Number.isFinite(value)) throw new Error(`train: the loss became ${value} ${where}; ${nonFiniteHint(run, "loss")}`);
      optimizer.zeroGrad();
      loss.backward();
      for (const [name, parameter] of trainable) {
        const bad = parameter.grad === null ? null : firstNonFinite(parameter.grad);
        if (bad !== null) {
          throw new Error(
            `train: the gradient of '${name}' became ${bad.value} (flat index ${bad.index}) ${where}, the loss was ${value}; ${
              nonFiniteHint(run, "gradient")
            }`,
          );
        }
      }
      // Gradient clipping (open_clip's --grad-clip-norm): after the gradients are known finite, before the update.
      const gradNorm = config.gradClipNorm === undefined ? undefined : clipGradNorm(trainable.map(([, p]) => p), config.gradClipNorm);
      const lr = schedule(state.step);
      for (const group of optimizer.paramGroups) group.lr = lr;
      optimizer.step();
      for (const [name, parameter] of trainable) {
        const bad = firstNonFinite(parameter);
        if (bad !== null) {
          throw new Error(
            `train: parameter '${name}' became ${bad.value} (flat index ${bad.index}) in the update ${where}, its gradient was finite; ${
              nonFiniteHint(run, "update")
            }`,
          );
        }
        // Adam's second moment is g²: a finite gradient above √max overflows it (and the checkpoint would not load).
        for (const [stateKey, moment] of Object.entries(optimizer.state.get(parameter) ?? {})) {
          const badMoment = typeof moment === "number" ? null : firstNonFinite(moment);
          if (badMoment !== null) {
            throw new Error(
              `train: the optimizer's ${stateKey} of '${name}' became ${badMoment.value} (flat index ${badMoment.index}) ${where}, ` +
                `its gradient was finite; ${nonFiniteHint(run, "moment")}`,
            );
          }
        }
      }
      state.step += 1;
      method.afterOptimizerStep(state.step, run.totalSteps);
      state.lossPerStep.push(value);
      lossSum += value;
      stepInEpoch += 1;
      const seconds = (performance.now() - started) / 1000;
      const samplesPerSecond = (stepInEpoch * config.batchSize) / Math.max(seconds, 1e-9);
      const remainingSteps = run.totalSteps - state.step;
      const progress: Progress = {
        step: state.step,
        epoch: state.epoch + 1,
        epochs: config.epochs,
        stepInEpoch,
        stepsPerEpoch: run.stepsPerEpoch,
        loss: value,
        lr,
        extra: method.progressExtra(),
        ...(gradNorm === undefined ? {} : { gradNorm }),
        samplesPerSecond,
        wallSeconds: state.wallSeconds + seconds,
        etaSeconds: (remainingSteps * config.batchSize) / Math.max(samplesPerSecond, 1e-9),
      };
      options.onProgress?.(progress);
      yield { kind: "step", progress };
    }
    state.epoch += 1;
    state.lossPerEpoch.push(lossSum / Math.max(stepInEpoch, 1));
    state.wallSeconds += (performance.now() - started) / 1000;
    const checkpoint = options.checkpoint?.(run) ?? null;
    const meanLoss = state.lossPerEpoch[state.lossPerEpoch.length - 1];
    options.onEpoch?.(state.epoch, meanLoss);
    yield { kind: "epoch", epoch: state.epoch, meanLoss, checkpoint };
    epochsThisCall += 1;
    if (options.stopAfterEpochs !== undefined && epochsThisCall >= options.stopAfterEpochs) break;
  }
  return state;
}

/** The largest finite value of each dtype: a logit 1/τ above it is ±Infinity. */
const DTYPE_MAX = { float32: 3.4028234663852886e38, float64: Number.MAX_VALUE } as const;

/**
 * The likely cause of a non-finite loss, gradient, optimizer moment or update, for the message.
 * The parameters were finite before this step (checked after every update, and on load) and so
 * were the batch's images (checked before the forward pass), so:
 *  - a temperature too small for the dtype: the logits are s/τ (|s| ≤ 1, cosine similarities),
 *    the gradients scale as 1/τ and Adam's second moment as 1/τ². When 1/τ (for the loss) or
 *    1/τ² (for a gradient or a moment) exceeds the dtype's largest value, no learning rate helps;
 *  - otherwise the step itself was too large (exploding activations or gradients, or an lr so
 *    large that the update overflows): a lower --lr.
 */
export function nonFiniteHint(run: Run, what: "loss" | "gradient" | "moment" | "update"): string {
  const { config } = run;
  const dtype = run.method.trainableParameters()[0]?.[1].dtype ?? "float32";
  const max = DTYPE_MAX[dtype];
  const tau = config.temperature;
  if (tau !== undefined && what !== "update") {
    const scale = what === "loss" ? 1 / tau : 1 / (tau * tau);
    if (scale > max) {
      const term = what === "loss"
        ? `the logits scale as 1/τ = ${(1 / tau).toExponential(2)}`
        : `the gradients scale as 1/τ and Adam's second moment as 1/τ² = ${scale.toExponential(2)}`;
      return `--temperature ${tau} is too small for ${dtype}: ${term}, above its largest value ${
        max.toExponential(2)
      }; use a larger --temperature (the default is ${DEFAULT_TEMPERATURE[config.method]}), a lower --lr will not help`;
    }
  }
  if (what === "update") return `the update overflowed: try a lower --lr (this run's is ${config.lr})`;
  return `the inputs and the parameters were finite, so the ${
    what === "loss" ? "forward pass" : "backward pass"
  } overflowed (exploding activations or gradients): try a lower --lr (this run's is ${config.lr})`;
}
