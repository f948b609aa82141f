/**
 * The messages between the playground page (main.ts) and its training worker (train-worker.ts).
 * The worker owns the run (the model, the optimizer, the data) and does every computation; the page
 * only draws what it is sent, so it stays responsive while the worker trains.
 *
 *   page → worker   start (settings) · pause · reset · caption (CLIP zero-shot query) · download · load (bytes)
 *   worker → page   ready · steps (the losses since the last message) · panels (similarity, PCA, health, …)
 *                   · views (augmented views of one digit) · captionResult · checkpoint (bytes) · state · error
 *
 * @module
 */
import type { MethodName } from "../src/methods/common.js";
import type { AugmentationConfig } from "../src/data/augment.js";
import { defaultConfig, type TrainConfig } from "../src/methods/config.js";

/** What the controls set: the CLI's `train` flags (a TrainConfig) plus the augmentation, which the CLI has no flag for. */
export interface PlaygroundSettings {
  /** The method (every method `contrastive train` trains). */
  method: MethodName;
  /** Images (or image–caption pairs) per step. */
  batchSize: number;
  /** τ (the methods with a temperature; CLIP's initial τ); undefined for the others. */
  temperature?: number;
  /** AdamW's peak learning rate. */
  lr: number;
  /** Passes over the training images (the cosine schedule decays to 0 at the end). */
  epochs: number;
  /** Training images, spread evenly over the digits (0: all 7,996). */
  trainLimit: number;
  /** The seed of every generator of the run. */
  seed: number;
  /** The augmentation pipeline's parameters (src/data/augment.ts). */
  augmentation: AugmentationConfig;
}

/** Page → worker. */
export type ToWorker =
  | { kind: "start"; settings: PlaygroundSettings }
  | { kind: "pause" }
  | { kind: "reset" }
  | { kind: "views"; augmentation: AugmentationConfig; seed: number }
  | { kind: "caption"; text: string }
  | { kind: "download" }
  | { kind: "load"; bytes: Uint8Array; name: string }
  | { kind: "weights" };

/** The health of the encoder features of the fixed test digits (src/eval/health.ts, src/losses/diagnostics.ts). */
export interface HealthNumbers {
  /** ℓ_align of two augmented views (lower: views closer). */
  alignment: number;
  /** ℓ_uniform (lower: more uniform on the sphere). */
  uniformity: number;
  /** σ̄ of the normalized features × √D (≈ 1 healthy, → 0 collapsed). */
  normalizedStdRatio: number;
  /** exp(entropy of the normalized singular values). */
  effectiveRank: number;
  /** min(N − 1, D), the largest effective rank possible. */
  maxRank: number;
  /** The collapse monitor's verdict. */
  collapsed: boolean;
  /** The thresholds crossed (empty when healthy). */
  reasons: string[];
}

/** Worker → page. */
export type FromWorker =
  | {
    kind: "ready";
    /** Training and test digits available. */
    trainCount: number;
    testCount: number;
    /** The fixed test digits of the PCA and kNN panels, (count, 784), and their labels. */
    testImages: Float32Array;
    testLabels: Int32Array;
    /** The float32 product kernel in use ("wasm" or "scalar") and the thread count. */
    kernel: string;
    threads: number;
    threadNote: string;
  }
  | {
    kind: "steps";
    /** The loss of every step since the last message. */
    losses: number[];
    step: number;
    epoch: number;
    epochs: number;
    stepsPerEpoch: number;
    lr: number;
    extra: { label: string; value: number } | null;
    samplesPerSecond: number;
  }
  | {
    kind: "similarity";
    step: number;
    /** (size, size) cosine similarities of view 1 of image i and view 2 of image j (CLIP: image i, caption j). */
    values: Float64Array;
    size: number;
    labels: Int32Array;
    /** The τ of the loss (CLIP: 1 / its logit scale), for the temperature panel's starting value. */
    temperature: number | null;
  }
  | {
    kind: "embedding";
    step: number;
    /** (count, 2) coordinates on the first two principal components of the encoder features. */
    coordinates: Float64Array;
    labels: Int32Array;
    explainedRatio: [number, number];
    knnAccuracy: number;
    health: HealthNumbers;
  }
  | { kind: "views"; images: Float32Array; count: number; label: number }
  | { kind: "captionResult"; text: string; indices: Int32Array; similarities: Float32Array; unknownWords: string[] }
  | { kind: "checkpoint"; bytes: Uint8Array; epoch: number; step: number; method: MethodName }
  | { kind: "weights"; epoch: number; tensors: Record<string, Float32Array> }
  | {
    kind: "state";
    /** idle: no run; running; paused; finished: every epoch done. */
    status: "idle" | "running" | "paused" | "finished";
    /** The settings of the current run (after a load: the checkpoint's). */
    settings: PlaygroundSettings | null;
    /** The epoch of the checkpoint a download gives (0: none yet). */
    checkpointEpoch: number;
    message?: string;
  }
  | { kind: "error"; message: string };

/**
 * The TrainConfig of the settings: `defaultConfig(method)` with the controls' values, so that the
 * run is the CLI's `contrastive train METHOD --batch-size … --lr … --epochs … --limit … --seed …`
 * (validated by createRunFromData). τ is kept only for the methods that have one.
 */
export function configOf(settings: PlaygroundSettings): TrainConfig {
  const base = defaultConfig(settings.method);
  return defaultConfig(settings.method, {
    batchSize: settings.batchSize,
    lr: settings.lr,
    epochs: settings.epochs,
    trainLimit: settings.trainLimit,
    seed: settings.seed,
    ...(base.temperature !== undefined && settings.temperature !== undefined ? { temperature: settings.temperature } : {}),
  });
}
