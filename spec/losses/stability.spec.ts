/**
 * Numerical stability: every loss the library exports stays finite and accurate where a naive
 * exp(s/τ) overflows. float32's exp overflows at 88.7 and float64's at 709.8, so a logit of
 * 1/τ = 100 (τ = 0.01) or 1000 (τ = 0.001) breaks any log-sum-exp that does not subtract a max
 * first (solo-learn's unshifted version overflows at 1/τ > 88.7; a tiled loss that merges its
 * blocks without the running max overflows in float64 at τ = 0.001).
 *
 * The table below has one row per loss (per calling form); each row runs at τ ∈ {0.01, 0.001}
 * in float32 and float64 and must give
 *   - a finite loss and finite gradients for every input (incl. a learnable τ or logit scale);
 *   - the loss and gradients of a float64 reference written in this file: the logits built from
 *     primitive ops and `referenceCrossEntropy`, a log-sum-exp shifted by the row max, whose
 *     gradient is autograd's through exp, log and sum, not crossEntropy's fused rule nor the tiled
 *     primitive's. The float32 run gets the float32-rounded inputs the reference gets, so the
 *     difference is the computation's error alone;
 *   - for a tiled loss, the dense loss it replaces (same dtype), value and gradients.
 * The inputs are built so that the logits sit near ±1/τ (beyond 88.7) and differ by O(1): the
 * softmax is neither uniform nor one-hot, so the gradients are not trivially zero. The raw metrics
 * (dot, euclidean) get embeddings ×1000: logits up to ~1e10.
 *
 * Adding a loss = adding a row. The last test fails when src/index.ts or src/losses/index.ts
 * exports a loss with no row (or a function of src/losses that is neither a row nor listed in
 * NOT_LOSSES with the reason).
 */
import { expect } from "chai";
import { Tensor, type DType } from "../../src/tensor/tensor.js";
import { tensor } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import { cat, stack } from "../../src/ops/indexing.js";
import { crossEntropy, mseLoss, normalize } from "../../src/ops/functional.js";
import {
  infoNCE,
  rawInfoNCE,
  infoNCEFromSimilarities,
  ntXent,
  clipLoss,
  mocoLoss,
  byolLoss,
  tiledInfoNCE,
  tiledClipLoss,
  distributedClipLoss,
  dataParallelClipLoss,
  vicregLoss,
  simsiamLoss,
  dinoLoss,
  swavLoss,
  sinkhornKnopp,
  supConLoss,
  dclLoss,
  dclwLoss,
  sigLipLoss,
  tiledSigLipLoss,
  barlowTwinsLoss,
} from "../../src/losses/index.js";
import * as lossesBarrel from "../../src/losses/index.js";
import { randomEmbeddings, relativeError } from "./helpers.js";

// ---- the inputs -------------------------------------------------------------------------------

const DIM = 32;
const CLUSTERS = 4;

/** The inputs of one row at one τ: float32 tensors, so that both dtypes see the same values. */
class Draw {
  private readonly generator: Generator;
  private readonly anchors: number[][]; // (CLUSTERS, DIM) unit directions

  constructor(seed: number, readonly temperature: number) {
    this.generator = new Generator(seed);
    this.anchors = Array.from({ length: CLUSTERS }, () => {
      const direction = Array.from({ length: DIM }, () => this.generator.normal());
      const length = Math.hypot(...direction);
      return direction.map((v) => v / length);
    });
  }

  /**
   * (rows, DIM) embeddings in CLUSTERS tight clusters (row i in cluster i mod CLUSTERS, for every
   * tensor of the row, so positives share their cluster), relative spread σ = √(3τ): cosines within
   * a cluster ≈ 1 − σ² = 1 − 3τ, so their logits are ≈ 1/τ − 3, O(1) apart; across clusters the
   * cosines are ≈ ±0.2 (random directions in 32-D), those logits ≈ 0.8/τ lower and negligible.
   * `scale` multiplies the whole batch (for the raw metrics).
   */
  embeddings(rows: number, scale = 1): Tensor {
    const spread = Math.sqrt(3 * this.temperature);
    const values: number[] = [];
    for (let i = 0; i < rows; i++) {
      const anchor = this.anchors[i % CLUSTERS];
      for (let d = 0; d < DIM; d++) values.push(scale * (anchor[d] + (spread * this.generator.normal()) / Math.sqrt(DIM)));
    }
    return tensor(values, { shape: [rows, DIM], dtype: "float32" });
  }

  /** (rows, cols) logits ±1/τ + 3·N(0, 1), the sign alternating by row: exp overflows and underflows. */
  logits(rows: number, cols: number): Tensor {
    const values: number[] = [];
    for (let i = 0; i < rows; i++) {
      for (let c = 0; c < cols; c++) values.push((i % 2 === 0 ? 1 : -1) / this.temperature + 3 * this.generator.normal());
    }
    return tensor(values, { shape: [rows, cols], dtype: "float32" });
  }

  /** Similarities 1 − 3τ·|N(0, 1)|, as one (1, count) row: logits ≈ 1/τ, O(1) apart. */
  similarities(count: number): Tensor {
    const values = Array.from({ length: count }, () => 1 - 3 * this.temperature * Math.abs(this.generator.normal()));
    return tensor(values, { shape: [1, count], dtype: "float32" });
  }

  /** A float32-rounded 0-d tensor (a learnable τ or logit scale). */
  scalar(value: number): Tensor {
    return tensor(value, { dtype: "float32" });
  }
}

// ---- the float64 reference ----------------------------------------------------------------------

/** A reference loss and the size of the terms whose difference it is (the value tolerance's scale). */
interface Reference {
  loss: Tensor;
  /** Largest |logit| for a log-sum-exp loss (the loss is lse − logit: its error is relative to this). */
  scale: number;
  /** True for the log-sum-exp losses: their inputs must reach the regime where an unshifted exp overflows. */
  logSumExp: boolean;
}

/** An (N, 1) index column for gather. */
const column = (indices: number[]): Tensor => tensor(indices, { shape: [indices.length, 1], dtype: "float64" });
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/**
 * mean_i −[(1 − ε) log p_i,label_i + ε · mean_c log p_ic],   log p_ic = l_ic − lse_i,
 * lse_i = m_i + log Σ_c exp(l_ic − m_i) with m_i = max_c l_ic held constant (detached: the shift
 * changes neither the value nor the gradient). logits (N, C), float64.
 */
function referenceCrossEntropy(logits: Tensor, labels: number[], smoothing = 0): Reference {
  const rowMax = logits.max(1, true).detach(); // (N, 1)
  const logNormalizer = logits.sub(rowMax).exp().sum(1, true).log().add(rowMax); // (N, 1) lse
  const logProbabilities = logits.sub(logNormalizer); // (N, C)
  const positive = logProbabilities.gather(1, column(labels)).squeeze(1); // (N)
  const perRow = smoothing === 0 ? positive.neg() : positive.mul(-(1 - smoothing)).sub(logProbabilities.mean(1).mul(smoothing));
  return { loss: perRow.mean(), scale: largestMagnitude(logits), logSumExp: true };
}

function largestMagnitude(t: Tensor): number {
  let largest = 0;
  for (const v of t.toTypedArray()) largest = Math.max(largest, Math.abs(v));
  return largest;
}

type Metric = "cosine" | "dot" | "euclidean";

/** sim(a_i, b_j), (N, M): cosine on unit rows, dot, or −‖a_i − b_j‖² on the raw rows. */
function scores(a: Tensor, b: Tensor, metric: Metric): Tensor {
  if (metric === "cosine") return normalize(a).matmul(normalize(b).t()); // (N, D) @ (D, M)
  if (metric === "dot") return a.matmul(b.t());
  return a.unsqueeze(1).sub(b.unsqueeze(0)).square().sum(2).neg(); // (N, 1, D) − (1, M, D) → (N, M)
}

/** [sim(q_i, k_i), sim(q_i, n_1), …] / τ, label 0. */
function referenceWithNegatives(query: Tensor, key: Tensor, negatives: Tensor, temperature: number, metric: Metric): Reference {
  const positive = scores(query, key, metric).gather(1, column(range(query.shape[0]))); // (N, 1): the diagonal
  const logits = cat([positive, scores(query, negatives, metric)], 1).div(temperature); // (N, 1 + M)
  return referenceCrossEntropy(logits, new Array(query.shape[0]).fill(0));
}

/** sim(Q, K) / τ, label of row i is i. */
function referenceInBatch(query: Tensor, key: Tensor, temperature: number | Tensor, metric: Metric = "cosine"): Reference {
  return referenceCrossEntropy(scores(query, key, metric).div(temperature), range(query.shape[0]));
}

/** ½ [CE(S) + CE(Sᵀ)], S = cos(I, T) · s (s = 1/τ or exp(logitScale)). */
function referenceClip(image: Tensor, text: Tensor, scaleLogits: (similarities: Tensor) => Tensor): Reference {
  const logits = scaleLogits(scores(image, text, "cosine")); // (N, N)
  const labels = range(image.shape[0]);
  const perImage = referenceCrossEntropy(logits, labels);
  const perText = referenceCrossEntropy(logits.t(), labels);
  return { loss: perImage.loss.add(perText.loss).mul(0.5), scale: perImage.scale, logSumExp: true };
}

/** NT-Xent: row i of z = [z1; z2] against every other row (the diagonal left out by a gather), positive (i + N) mod 2N. */
function referenceNtXent(z1: Tensor, z2: Tensor, temperature: number): Reference {
  const views = 2 * z1.shape[0];
  const similarities = scores(cat([z1, z2], 0), cat([z1, z2], 0), "cosine").div(temperature); // (2N, 2N)
  const others = range(views).map((i) => range(views).filter((j) => j !== i)); // (2N, 2N − 1)
  const logits = similarities.gather(1, tensor(others.flat(), { shape: [views, views - 1], dtype: "float64" }));
  const labels = range(views).map((i) => others[i].indexOf((i + views / 2) % views));
  return referenceCrossEntropy(logits, labels);
}

// ---- the table ----------------------------------------------------------------------------------

interface StabilityRow {
  name: string;
  /** The exported function this row covers (read by the coverage test). */
  covers: string;
  /** The row's inputs at this τ (float32 values; each becomes a leaf of the dtype under test). */
  inputs: (draw: Draw) => Tensor[];
  /** The library's call. */
  loss: (inputs: Tensor[], temperature: number) => Tensor;
  /** The same loss, written here in float64 ops (inputs are float64 leaves). */
  reference: (inputs: Tensor[], temperature: number) => Reference;
  /** A tiled loss: the dense call it must equal. */
  dense?: (inputs: Tensor[], temperature: number) => Tensor;
  /** Default both. */
  dtypes?: DType[];
  /** Returns numbers, not a graph: no gradients to compare. */
  valueOnly?: boolean;
}

const BATCH = 16;
const TILE = 5; // does not divide 16: full and ragged blocks, merged across 4 column tiles
const LARGE = 1000; // the raw metrics' embedding scale
const RANKS = 3; // the data-parallel rows: 16 rows in shards of 6, 5, 5

/** t's rows in RANKS shards as torch.tensor_split makes them (6, 5, 5 of 16). */
function shardRows(t: Tensor): Tensor[] {
  const sizes = Array.from({ length: RANKS }, (_, r) => Math.floor(t.shape[0] / RANKS) + (r < t.shape[0] % RANKS ? 1 : 0));
  return sizes.map((n, r) => t.narrow(0, sizes.slice(0, r).reduce((a, b) => a + b, 0), n));
}

const rows: StabilityRow[] = [
  {
    name: "infoNCE with negatives (cosine)",
    covers: "infoNCE",
    inputs: (d) => [d.embeddings(BATCH), d.embeddings(BATCH), d.embeddings(24)],
    loss: ([q, k, n], t) => infoNCE(q, k, n, { temperature: t }),
    reference: ([q, k, n], t) => referenceWithNegatives(q, k, n, t, "cosine"),
  },
  {
    name: "infoNCE in-batch (cosine)",
    covers: "infoNCE",
    inputs: (d) => [d.embeddings(BATCH), d.embeddings(BATCH)],
    loss: ([q, k], t) => infoNCE(q, k, null, { temperature: t }),
    reference: ([q, k], t) => referenceInBatch(q, k, t),
  },
  {
    name: "infoNCE with negatives (dot, embeddings ×1000)",
    covers: "infoNCE",
    inputs: (d) => [d.embeddings(BATCH, LARGE), d.embeddings(BATCH, LARGE), d.embeddings(24, LARGE)],
    loss: ([q, k, n], t) => infoNCE(q, k, n, { temperature: t, metric: "dot" }),
    reference: ([q, k, n], t) => referenceWithNegatives(q, k, n, t, "dot"),
  },
  {
    name: "infoNCE in-batch (euclidean, embeddings ×1000)",
    covers: "infoNCE",
    inputs: (d) => [d.embeddings(BATCH, LARGE), d.embeddings(BATCH, LARGE)],
    loss: ([q, k], t) => infoNCE(q, k, null, { temperature: t, metric: "euclidean" }),
    reference: ([q, k], t) => referenceInBatch(q, k, t, "euclidean"),
  },
  {
    name: "rawInfoNCE (logits ±1/τ)",
    covers: "rawInfoNCE",
    inputs: (d) => [d.logits(BATCH, 25)],
    loss: ([logits]) => rawInfoNCE(logits),
    reference: ([logits]) => referenceCrossEntropy(logits, new Array(BATCH).fill(0)),
  },
  {
    name: "infoNCEFromSimilarities (similarities ≈ 1, loss and probability)",
    covers: "infoNCEFromSimilarities",
    dtypes: ["float64"],
    valueOnly: true, // takes numbers, computes in float64
    inputs: (d) => [d.similarities(9)],
    loss: ([similarities], t) => {
      const example = infoNCEFromSimilarities(Array.from(similarities.toTypedArray()), t);
      return tensor([example.loss, example.probability], { dtype: "float64" });
    },
    reference: ([similarities], t) => {
      const ce = referenceCrossEntropy(similarities.div(t), [0]);
      return { ...ce, loss: stack([ce.loss, ce.loss.neg().exp()]) };
    },
  },
  {
    name: "crossEntropy (logits ±1/τ)",
    covers: "crossEntropy",
    inputs: (d) => [d.logits(BATCH, 10)],
    loss: ([logits]) => crossEntropy(logits, range(BATCH).map((i) => i % 10)),
    reference: ([logits]) => referenceCrossEntropy(logits, range(BATCH).map((i) => i % 10)),
  },
  {
    name: "crossEntropy with label smoothing 0.1 (logits ±1/τ)",
    covers: "crossEntropy",
    inputs: (d) => [d.logits(BATCH, 10)],
    loss: ([logits]) => crossEntropy(logits, range(BATCH).map((i) => (3 * i) % 10), { labelSmoothing: 0.1 }),
    reference: ([logits]) => referenceCrossEntropy(logits, range(BATCH).map((i) => (3 * i) % 10), 0.1),
  },
  {
    name: "ntXent",
    covers: "ntXent",
    inputs: (d) => [d.embeddings(BATCH), d.embeddings(BATCH)],
    loss: ([z1, z2], t) => ntXent(z1, z2, { temperature: t }),
    reference: ([z1, z2], t) => referenceNtXent(z1, z2, t),
  },
  {
    name: "clipLoss (temperature)",
    covers: "clipLoss",
    inputs: (d) => [d.embeddings(BATCH), d.embeddings(BATCH)],
    loss: ([i, x], t) => clipLoss(i, x, { temperature: t }),
    reference: ([i, x], t) => referenceClip(i, x, (s) => s.div(t)),
  },
  {
    name: "clipLoss (learnable temperature tensor)",
    covers: "clipLoss",
    inputs: (d) => [d.embeddings(BATCH), d.embeddings(BATCH), d.scalar(d.temperature)],
    loss: ([i, x, t]) => clipLoss(i, x, { temperature: t }),
    reference: ([i, x, t]) => referenceClip(i, x, (s) => s.div(t)),
  },
  {
    name: "clipLoss (logitScale = ln(1/τ), a number)",
    covers: "clipLoss",
    inputs: (d) => [d.embeddings(BATCH), d.embeddings(BATCH)],
    loss: ([i, x], t) => clipLoss(i, x, { logitScale: Math.log(1 / t) }),
    reference: ([i, x], t) => referenceClip(i, x, (s) => s.mul(Math.exp(Math.log(1 / t)))),
  },
  {
    name: "clipLoss (learnable logitScale = ln(1/τ))",
    covers: "clipLoss",
    inputs: (d) => [d.embeddings(BATCH), d.embeddings(BATCH), d.scalar(Math.log(1 / d.temperature))],
    loss: ([i, x, s]) => clipLoss(i, x, { logitScale: s }),
    reference: ([i, x, s]) => referenceClip(i, x, (similarities) => similarities.mul(s.exp())),
  },
  {
    name: "mocoLoss",
    covers: "mocoLoss",
    inputs: (d) => [d.embeddings(BATCH), d.embeddings(BATCH), d.embeddings(64)],
    loss: ([q, k, queue], t) => mocoLoss(q, k, queue, { temperature: t }),
    reference: ([q, k, queue], t) => referenceWithNegatives(q, k.detach(), queue.detach(), t, "cosine"), // key and queue: no gradient
  },
  {
    name: "byolLoss (cos ≈ 1 − 3τ, embeddings ×1/τ)",
    covers: "byolLoss",
    inputs: (d) => [d.embeddings(BATCH, 1 / d.temperature), d.embeddings(BATCH, 1 / d.temperature)],
    loss: ([p, z]) => byolLoss(p, z),
    reference: ([p, z]) => {
      const cosine = normalize(p).mul(normalize(z.detach())).sum(1); // (N); target: no gradient
      return { loss: cosine.mul(-2).add(2).mean(), scale: 2, logSumExp: false }; // 2 − 2cos: relative to 2
    },
  },
  {
    name: "vicregLoss (embeddings ×1/τ: variances and covariances ~1/τ²)",
    covers: "vicregLoss",
    inputs: (d) => [d.embeddings(BATCH, 1 / d.temperature), d.embeddings(BATCH, 1 / d.temperature)],
    loss: ([z1, z2]) => vicregLoss(z1, z2),
    reference: ([z1, z2]) => {
      const hinge = (z: Tensor) => z.var(0).add(1e-4).sqrt().neg().add(1).relu().mean();
      const offDiagonal = (z: Tensor) => {
        const c = z.sub(z.mean(0, true)); // (N, D)
        const covariance = c.t().matmul(c).div(z.shape[0] - 1); // (D, D)
        const mask = tensor(range(DIM * DIM).map((i) => (i % (DIM + 1) === 0 ? 0 : 1)), { shape: [DIM, DIM], dtype: "float64" });
        return covariance.square().mul(mask).sum().div(DIM);
      };
      const loss = z1.sub(z2).square().mean().mul(25).add(hinge(z1).add(hinge(z2)).mul(12.5)).add(offDiagonal(z1).add(offDiagonal(z2)));
      return { loss, scale: 0, logSumExp: false };
    },
  },
  {
    name: "simsiamLoss (embeddings ×1/τ)",
    covers: "simsiamLoss",
    inputs: (d) => [0, 1, 2, 3].map(() => d.embeddings(BATCH, 1 / d.temperature)),
    loss: ([p1, p2, z1, z2]) => simsiamLoss(p1, p2, z1, z2),
    reference: ([p1, p2, z1, z2]) => {
      const cosine = (p: Tensor, z: Tensor) => normalize(p).mul(normalize(z.detach())).sum(1).mean(); // z: no gradient
      return { loss: cosine(p1, z2).add(cosine(p2, z1)).mul(-0.5), scale: 1, logSumExp: false }; // in [−1, 1]: relative to 1
    },
  },
  {
    name: "dinoLoss (student logits s/τ_s ≈ ±1/τ, teacher τ_t = 0.4 τ_s)",
    covers: "dinoLoss",
    inputs: (d) => [d.logits(BATCH, 8).mul(d.temperature), d.logits(BATCH, 8).mul(d.temperature), d.logits(BATCH, 8).mul(d.temperature)],
    loss: ([s1, s2, t], tau) => dinoLoss([s1, s2], [t, t], zeroCenter(t.dtype), { studentTemperature: tau, teacherTemperature: 0.4 * tau }),
    reference: ([s1, s2, t], tau) => {
      const teacher = t.detach().div(0.4 * tau); // (N, K), the center is 0; no gradient
      const target = teacher.sub(teacher.max(1, true)).exp().div(teacher.sub(teacher.max(1, true)).exp().sum(1, true));
      const crossEntropy = (s: Tensor) => {
        const logits = s.div(tau);
        const rowMax = logits.max(1, true).detach();
        const logProbabilities = logits.sub(logits.sub(rowMax).exp().sum(1, true).log().add(rowMax));
        return target.mul(logProbabilities).sum(1).neg().mean();
      };
      return { loss: crossEntropy(s2).add(crossEntropy(s1)).mul(0.5), scale: largestMagnitude(s1.div(tau)), logSumExp: true };
    },
  },
  {
    name: "swavLoss (scores s/τ ≈ ±1/τ; Sinkhorn at ε = 0.05)",
    covers: "swavLoss",
    inputs: (d) => [d.logits(BATCH, 8).mul(d.temperature), d.logits(BATCH, 8).mul(d.temperature)],
    loss: ([s1, s2], tau) => swavLoss(s1, s2, { temperature: tau }),
    reference: ([s1, s2], tau) => {
      // the codes are constants of the scores (no gradient); the reference takes them from sinkhornKnopp in float64
      // (spec/losses/family-b.spec.ts checks sinkhornKnopp against a loop transliteration of the official code)
      const crossEntropy = (codes: Tensor, s: Tensor) => {
        const logits = s.div(tau);
        const rowMax = logits.max(1, true).detach();
        return codes.mul(logits.sub(logits.sub(rowMax).exp().sum(1, true).log().add(rowMax))).sum(1).neg().mean();
      };
      const loss = crossEntropy(sinkhornKnopp(s2.detach()), s1).add(crossEntropy(sinkhornKnopp(s1.detach()), s2)).mul(0.5);
      return { loss, scale: largestMagnitude(s1.div(tau)), logSumExp: true };
    },
  },
  {
    name: "mseLoss (embeddings ×1/τ)",
    covers: "mseLoss",
    inputs: (d) => [d.embeddings(BATCH, 1 / d.temperature), d.embeddings(BATCH, 1 / d.temperature)],
    loss: ([x, y]) => mseLoss(x, y),
    reference: ([x, y]) => ({ loss: x.sub(y).square().mean(), scale: 0, logSumExp: false }),
  },
  {
    name: "tiledInfoNCE (tile 5)",
    covers: "tiledInfoNCE",
    inputs: (d) => [d.embeddings(BATCH), d.embeddings(BATCH)],
    loss: ([q, k], t) => tiledInfoNCE(q, k, { temperature: t, tileSize: TILE }),
    reference: ([q, k], t) => referenceInBatch(q, k, t),
    dense: ([q, k], t) => infoNCE(q, k, null, { temperature: t }),
  },
  {
    name: "tiledInfoNCE (one tile)",
    covers: "tiledInfoNCE",
    inputs: (d) => [d.embeddings(BATCH), d.embeddings(BATCH)],
    loss: ([q, k], t) => tiledInfoNCE(q, k, { temperature: t }),
    reference: ([q, k], t) => referenceInBatch(q, k, t),
    dense: ([q, k], t) => infoNCE(q, k, null, { temperature: t }),
  },
  {
    name: "tiledClipLoss (temperature, tile 5)",
    covers: "tiledClipLoss",
    inputs: (d) => [d.embeddings(BATCH), d.embeddings(BATCH)],
    loss: ([i, x], t) => tiledClipLoss(i, x, { temperature: t, tileSize: TILE }),
    reference: ([i, x], t) => referenceClip(i, x, (s) => s.div(t)),
    dense: ([i, x], t) => clipLoss(i, x, { temperature: t }),
  },
  {
    name: "tiledClipLoss (learnable temperature tensor, tile 5)",
    covers: "tiledClipLoss",
    inputs: (d) => [d.embeddings(BATCH), d.embeddings(BATCH), d.scalar(d.temperature)],
    loss: ([i, x, t]) => tiledClipLoss(i, x, { temperature: t, tileSize: TILE }),
    reference: ([i, x, t]) => referenceClip(i, x, (s) => s.div(t)),
    dense: ([i, x, t]) => clipLoss(i, x, { temperature: t }),
  },
  {
    name: "tiledClipLoss (logitScale = ln(1/τ), a number, tile 5)",
    covers: "tiledClipLoss",
    inputs: (d) => [d.embeddings(BATCH), d.embeddings(BATCH)],
    loss: ([i, x], t) => tiledClipLoss(i, x, { logitScale: Math.log(1 / t), tileSize: TILE }),
    reference: ([i, x], t) => referenceClip(i, x, (s) => s.mul(Math.exp(Math.log(1 / t)))),
    dense: ([i, x], t) => clipLoss(i, x, { logitScale: Math.log(1 / t) }),
  },
  {
    name: "tiledClipLoss (learnable logitScale = ln(1/τ), tile 5)",
    covers: "tiledClipLoss",
    inputs: (d) => [d.embeddings(BATCH), d.embeddings(BATCH), d.scalar(Math.log(1 / d.temperature))],
    loss: ([i, x, s]) => tiledClipLoss(i, x, { logitScale: s, tileSize: TILE }),
    reference: ([i, x, s]) => referenceClip(i, x, (similarities) => similarities.mul(s.exp())),
    dense: ([i, x, s]) => clipLoss(i, x, { logitScale: s }),
  },
  {
    name: "distributedClipLoss (3 ranks, shards 6/5/5, local logits, gather with grad, mean over ranks)",
    covers: "distributedClipLoss",
    inputs: (d) => [d.embeddings(BATCH), d.embeddings(BATCH)],
    loss: ([i, x], t) => {
      const [images, texts] = [shardRows(i), shardRows(x)];
      const options = { worldSize: RANKS, localLoss: true, gatherWithGrad: true, temperature: t };
      const ranks = images.map((_, rank) => distributedClipLoss(images, texts, { ...options, rank }));
      return ranks.reduce((a, b) => a.add(b)).div(RANKS);
    },
    reference: ([i, x], t) => referenceClip(i, x, (s) => s.div(t)),
  },
  {
    name: "dataParallelClipLoss (3 ranks, shards 6/5/5, full logits, gather with grad, learnable logitScale)",
    covers: "dataParallelClipLoss",
    inputs: (d) => [d.embeddings(BATCH), d.embeddings(BATCH), d.scalar(Math.log(1 / d.temperature))],
    loss: ([i, x, s]) => dataParallelClipLoss(shardRows(i), shardRows(x), { worldSize: RANKS, gatherWithGrad: true, logitScale: s }).loss,
    reference: ([i, x, s]) => referenceClip(i, x, (similarities) => similarities.mul(s.exp())),
  },
  {
    name: "supConLoss (labels i mod 4: 7 positives per anchor)",
    covers: "supConLoss",
    inputs: (d) => [d.embeddings(BATCH), d.embeddings(BATCH)],
    loss: ([z1, z2], t) => supConLoss(stack([z1, z2], 1), range(BATCH).map((i) => i % 4), { temperature: t }),
    reference: ([z1, z2], t) => referenceSupCon(z1, z2, range(BATCH).map((i) => i % 4), t),
  },
  {
    name: "dclLoss",
    covers: "dclLoss",
    inputs: (d) => [d.embeddings(BATCH), d.embeddings(BATCH)],
    loss: ([z1, z2], t) => dclLoss(z1, z2, { temperature: t }),
    reference: ([z1, z2], t) => referenceDcl(z1, z2, t, null),
  },
  {
    name: "dclwLoss (σ = 0.5)",
    covers: "dclwLoss",
    inputs: (d) => [d.embeddings(BATCH), d.embeddings(BATCH)],
    loss: ([z1, z2], t) => dclwLoss(z1, z2, { temperature: t, sigma: 0.5 }),
    reference: ([z1, z2], t) => referenceDcl(z1, z2, t, 0.5),
  },
  {
    name: "sigLipLoss (learnable t′ = ln(1/τ), b = −1/(2τ))",
    covers: "sigLipLoss",
    inputs: (d) => [d.embeddings(BATCH), d.embeddings(BATCH), d.scalar(Math.log(1 / d.temperature)), d.scalar(-0.5 / d.temperature)],
    loss: ([i, x, s, b]) => sigLipLoss(i, x, { logitScale: s, logitBias: b }),
    reference: ([i, x, s, b]) => referenceSigLip(i, x, s, b),
  },
  {
    name: "tiledSigLipLoss (learnable t′ = ln(1/τ), b = −1/(2τ), tile 5)",
    covers: "tiledSigLipLoss",
    inputs: (d) => [d.embeddings(BATCH), d.embeddings(BATCH), d.scalar(Math.log(1 / d.temperature)), d.scalar(-0.5 / d.temperature)],
    loss: ([i, x, s, b]) => tiledSigLipLoss(i, x, { logitScale: s, logitBias: b, tileSize: TILE }),
    reference: ([i, x, s, b]) => referenceSigLip(i, x, s, b),
    dense: ([i, x, s, b]) => sigLipLoss(i, x, { logitScale: s, logitBias: b }),
  },
  {
    name: "barlowTwinsLoss (embeddings ×1/τ)",
    covers: "barlowTwinsLoss",
    inputs: (d) => [d.embeddings(BATCH, 1 / d.temperature), d.embeddings(BATCH, 1 / d.temperature)],
    loss: ([z1, z2]) => barlowTwinsLoss(z1, z2),
    reference: ([z1, z2]) => {
      const standardize = (z: Tensor) => {
        const centered = z.sub(z.mean(0, true)); // (N, D)
        return centered.div(centered.square().mean(0, true).add(1e-5).sqrt()); // biased variance, ε = 1e-5
      };
      const c = standardize(z1).t().matmul(standardize(z2)).div(z1.shape[0]); // (D, D)
      const eye = tensor(range(DIM * DIM).map((e) => (e % (DIM + 1) === 0 ? 1 : 0)), { shape: [DIM, DIM], dtype: "float64" });
      const loss = c.sub(1).mul(eye).square().sum().add(c.mul(eye.neg().add(1)).square().sum().mul(5e-3));
      return { loss, scale: 0, logSumExp: false };
    },
  },
];

/** lse over dim 1 with the row max held constant (as referenceCrossEntropy). */
function shiftedLogSumExp(logits: Tensor): Tensor {
  const rowMax = logits.max(1, true).detach(); // (R, 1)
  return logits.sub(rowMax).exp().sum(1, true).log().add(rowMax).squeeze(1); // (R)
}

/** SupCon with |P(a)| equal for every anchor: the mean of CE(row a without a, label p) over the (a, p) pairs. */
function referenceSupCon(z1: Tensor, z2: Tensor, labels: number[], temperature: number): Reference {
  const views = 2 * z1.shape[0];
  const similarities = scores(cat([z1, z2], 0), cat([z1, z2], 0), "cosine").div(temperature); // (2N, 2N)
  const others = range(views).map((a) => range(views).filter((k) => k !== a)); // (2N, 2N − 1)
  const pairs = range(views).flatMap((a) =>
    others[a].filter((k) => labels[k % z1.shape[0]] === labels[a % z1.shape[0]]).map((p) => [a, p])
  );
  const rows = similarities.indexSelect(0, pairs.map(([a]) => a)); // (pairs, 2N)
  const logits = rows.gather(1, tensor(pairs.flatMap(([a]) => others[a]), { shape: [pairs.length, views - 1], dtype: "float64" }));
  return referenceCrossEntropy(logits, pairs.map(([a, p]) => others[a].indexOf(p)));
}

/** DCL / DCLW: ½ Σ directions mean_i [lse over the 2N − 2 negatives − w_i pos_i], negatives by a gather. */
function referenceDcl(z1: Tensor, z2: Tensor, temperature: number, sigma: number | null): Reference {
  const n = z1.shape[0];
  const u = normalize(z1);
  const v = normalize(z2);
  const cosines = u.mul(v).sum(1); // (N)
  let weights: Tensor | null = null;
  if (sigma !== null) {
    const scaled = cosines.div(sigma);
    const e = scaled.sub(scaled.max().detach()).exp();
    weights = e.div(e.sum()).mul(-n).add(2); // 2 − N softmax
  }
  const positive = weights === null ? cosines.div(temperature) : cosines.div(temperature).mul(weights);
  const negativeIndex = tensor(range(n).flatMap((i) => range(2 * n).filter((k) => k % n !== i)), {
    shape: [n, 2 * n - 2],
    dtype: "float64",
  });
  let scale = 0;
  const oneWay = (a: Tensor, b: Tensor) => {
    const logits = cat([a.matmul(a.t()), a.matmul(b.t())], 1).div(temperature).gather(1, negativeIndex); // (N, 2N − 2)
    scale = Math.max(scale, largestMagnitude(logits));
    return shiftedLogSumExp(logits).sub(positive).mean();
  };
  const loss = oneWay(u, v).add(oneWay(v, u)).mul(0.5);
  return { loss, scale, logSumExp: true };
}

/** SigLIP: −(1/N) Σ log σ(y z) with log σ(x) = min(x, 0) − log(1 + e^−|x|), z = exp(t′) cos + b. */
function referenceSigLip(image: Tensor, text: Tensor, logitScale: Tensor, logitBias: Tensor): Reference {
  const n = image.shape[0];
  const logits = scores(image, text, "cosine").mul(logitScale.exp()).add(logitBias); // (N, N)
  const labels = tensor(range(n * n).map((e) => (e % (n + 1) === 0 ? 1 : -1)), { shape: [n, n], dtype: "float64" });
  const x = labels.mul(logits);
  const logSigmoid = x.minimum(tensor(0, { dtype: "float64" })).sub(x.abs().neg().exp().add(1).log());
  return { loss: logSigmoid.sum().div(-n), scale: largestMagnitude(logits), logSumExp: true };
}

/**
 * Exports of src/index.ts or src/losses/index.ts that are not losses. A function of src/losses, or
 * any export whose name says loss / NCE / Xent / entropy, must be a row above or be listed here.
 */
const NOT_LOSSES: Record<string, string> = {
  positiveIndices: "NT-Xent's label vector",
  clampLogitScale_: "an in-place clamp of a parameter",
  similarity: "a similarity matrix (the losses' rows use it through their logits)",
  pairedSimilarity: "a similarity per row pair",
  similarityStats: "a diagnostic summary",
  gradientNorms: "a diagnostic of parameter gradients",
  temperatureSweep: "evaluates a loss it is given (or ntXent, a row) at several τ ≥ 0.01",
  collapseMonitor: "a diagnostic of the embeddings",
  lossCurveSvg: "an SVG plot of a loss curve",
  chanceLine: "the value each loss takes when nothing is learned: the loss plot's reference line",
  allGather: "the simulated all_gather of the data-parallel losses (a cat)",
  vicregTerms: "vicregLoss's three terms (vicregLoss's row computes them)",
  vicregVariance: "a term of vicregLoss (its row)",
  vicregCovariance: "a term of vicregLoss (its row)",
  negativeCosine: "a term of simsiamLoss (its row)",
  dinoTeacherProbabilities: "dinoLoss's targets, a softmax off the tape (dinoLoss's row)",
  dinoCenterUpdate: "an EMA of the teacher's outputs, no gradient",
  sinkhornKnopp: "swavLoss's codes, no gradient (swavLoss's row; family-b.spec.ts checks it against the official loop)",
  swappedPrediction: "a term of swavLoss (its row)",
};

/** DINO's center for the stability row: zeros (1, 8). */
function zeroCenter(dtype: DType): Tensor {
  return tensor(new Array<number>(8).fill(0), { shape: [1, 8], dtype });
}

// ---- running a row ------------------------------------------------------------------------------

/**
 * value: error relative to |loss| + the largest |logit| (a log-sum-exp loss is lse − logit, and each
 * logit is rounded to its dtype), 16 ε in float32 and 64 ε in float64 (measured: ≤ 4e-7 and
 * ≤ 5e-17). grad: ‖Δ‖/‖grad‖ per input (measured: ≤ 1e-4 and ≤ 4e-11, the worst a learnable τ's
 * or logit scale's gradient, a sum of N² terms of size 1/τ that cancel).
 */
/** log(largest float32): an unshifted exp of a larger logit is Infinity in float32. */
const FLOAT32_EXP_OVERFLOW = Math.log(3.4028234663852886e38); // 88.72

const TOLERANCE: Record<DType, { value: number; grad: number }> = {
  float32: { value: 16 * 2 ** -23, grad: 1e-3 },
  float64: { value: 64 * 2 ** -52, grad: 1e-9 },
};

interface Run {
  values: number[];
  grads: (Float64Array | null)[];
}

/** Leaves of `dtype` with the given (float32-exact) values; output values and d(Σ output)/d(leaf). */
function run(values: Tensor[], dtype: DType, call: (inputs: Tensor[]) => Tensor): Run {
  const inputs = values.map((v) => v.to(dtype).detach().requiresGrad_());
  const output = call(inputs);
  if (output.requiresGrad) output.sum().backward();
  return {
    values: Array.from(output.toTypedArray()),
    grads: inputs.map((t) => (t.grad ? Float64Array.from(t.grad.toTypedArray()) : null)),
  };
}

function allFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

/** |actual − expected| ≤ tol·(|expected| + scale) per output, ‖Δgrad‖ ≤ tol·‖grad‖ per input. */
function expectClose(actual: Run, expected: Run, scale: number, tolerance: { value: number; grad: number }, what: string): void {
  expect(actual.values.length, `${what}: output size`).to.equal(expected.values.length);
  actual.values.forEach((v, i) => {
    const error = Math.abs(v - expected.values[i]) / (Math.abs(expected.values[i]) + scale);
    expect(error, `${what}: value ${i} (${v} vs ${expected.values[i]}), error relative to |value| + ${scale.toPrecision(3)}`).to.be.at.most(
      tolerance.value,
    );
  });
  actual.grads.forEach((grad, i) => {
    if (grad === null || expected.grads[i] === null) {
      expect(grad === null, `${what}: grad ${i} exists in one run only`).to.equal(expected.grads[i] === null);
      return;
    }
    expect(relativeError(grad, expected.grads[i]!), `${what}: grad ${i}`).to.be.at.most(tolerance.grad);
  });
}

describe("losses: numerical stability", () => {
  describe("every loss at τ = 0.01 and 0.001, float32 and float64 (one row per loss)", () => {
    rows.forEach((row, index) => {
      for (const temperature of [0.01, 0.001]) {
        for (const dtype of row.dtypes ?? (["float32", "float64"] as DType[])) {
          const against = row.dense ? "the float64 reference and the dense loss" : "the float64 reference";
          it(`${row.name} at τ = ${temperature} (${dtype}): finite, = ${against}`, () => {
            const values = row.inputs(new Draw(1000 * index + Math.round(1 / temperature), temperature));
            const actual = run(values, dtype, (inputs) => row.loss(inputs, temperature));
            let scale = 0;
            const expected = run(values, "float64", (inputs) => {
              const reference = row.reference(inputs, temperature);
              scale = reference.scale;
              if (reference.logSumExp) expect(scale, "the logits reach float32's exp overflow").to.be.above(FLOAT32_EXP_OVERFLOW);
              return reference.loss;
            });
            expect(allFinite(actual.values), `loss finite: ${actual.values}`).to.equal(true);
            actual.grads.forEach((grad, i) => expect(grad === null || allFinite(grad), `grad ${i} finite`).to.equal(true));
            if (row.valueOnly) expected.grads = actual.grads;
            else expect(actual.grads[0], "the first input receives a gradient").to.not.equal(null);
            expectClose(actual, expected, scale, TOLERANCE[dtype], "vs reference");
            if (row.dense) {
              const dense = run(values, dtype, (inputs) => row.dense!(inputs, temperature));
              expectClose(actual, dense, scale, TOLERANCE[dtype], "vs dense");
            }
          });
        }
      }
    });

    it("has a row for every loss exported by src/index.ts and src/losses/index.ts", async () => {
      const api: Record<string, unknown> = await import("../../src/index.js"); // the whole library: only here
      const losses: Record<string, unknown> = lossesBarrel;
      const functions = (m: Record<string, unknown>) => Object.keys(m).filter((name) => typeof m[name] === "function");
      const lossLike = /loss|nce|xent|entropy/i;
      const mustHaveRow = new Set([...functions(losses), ...functions(api).filter((name) => lossLike.test(name))]);
      const covered = new Set(rows.map((r) => r.covers));
      const missing = [...mustHaveRow].filter((name) => !covered.has(name) && !(name in NOT_LOSSES));
      expect(missing, "exported losses with no row in the stability table (add a row, or list a non-loss in NOT_LOSSES)").to.deep.equal([]);
      const stale = [...covered, ...Object.keys(NOT_LOSSES)].filter((name) =>
        typeof api[name] !== "function" && typeof losses[name] !== "function"
      );
      expect(stale, "rows or NOT_LOSSES entries naming no export").to.deep.equal([]);
    });
  });

  it("byolLoss in float32: accurate near alignment (2 − 2cos with cos ≈ 1)", () => {
    const generator = new Generator(5);
    const target = randomEmbeddings(generator, 16, 32, "float32");
    const prediction = target.add(randomEmbeddings(generator, 16, 32, "float32").mul(1e-2)).detach(); // cos ≈ 1 − 5e-5·D
    const single = byolLoss(prediction, target).item();
    const double = byolLoss(prediction.to("float64"), target.to("float64")).item();
    expect(Math.abs(single - double) / double).to.be.below(1e-2);
  });

  describe("batch 4096, D = 4 (float32 forward and backward against a float64 loop)", () => {
    /**
     * Streaming float64 reference: one row at a time, running-max log-sum-exp, no N×N matrix.
     * rows and keys are unit rows, flat (count, D); row i's positive is key positiveOf(i).
     */
    function loopReference(
      rows: Float64Array,
      keys: Float64Array,
      d: number,
      positiveOf: (i: number) => number,
      excludeSelf: boolean,
      temperature: number,
    ): number {
      const count = rows.length / d;
      const keyCount = keys.length / d;
      let total = 0;
      for (let i = 0; i < count; i++) {
        let max = -Infinity;
        let sum = 0;
        let positive = 0;
        for (let j = 0; j < keyCount; j++) {
          if (excludeSelf && j === i) continue;
          let similarity = 0;
          for (let k = 0; k < d; k++) similarity += rows[i * d + k] * keys[j * d + k];
          const logit = similarity / temperature;
          if (j === positiveOf(i)) positive = logit;
          if (logit > max) {
            sum = sum * Math.exp(max - logit) + 1;
            max = logit;
          } else {
            sum += Math.exp(logit - max);
          }
        }
        total += max + Math.log(sum) - positive;
      }
      return total / count;
    }
    /** The rows of t, L2-normalized in float64, flat. */
    const unitRows = (...parts: Tensor[]): Float64Array => {
      const d = parts[0].shape[1];
      const data = Float64Array.from(parts.flatMap((t) => Array.from(t.toTypedArray())));
      for (let i = 0; i < data.length / d; i++) {
        let norm = 0;
        for (let k = 0; k < d; k++) norm += data[i * d + k] ** 2;
        for (let k = 0; k < d; k++) data[i * d + k] /= Math.sqrt(norm);
      }
      return data;
    };

    it("infoNCE in-batch at N = 4096: a 4096 × 4096 logit matrix", () => {
      const generator = new Generator(4096);
      const temperature = 0.05;
      const query = randomEmbeddings(generator, 4096, 4, "float32", true);
      const key = randomEmbeddings(generator, 4096, 4, "float32", true);
      const loss = infoNCE(query, key, null, { temperature });
      loss.backward();
      const reference = loopReference(unitRows(query), unitRows(key), 4, (i) => i, false, temperature);
      expect(Math.abs(loss.item() - reference) / reference).to.be.below(1e-5);
      expect(allFinite(query.grad!.toTypedArray()) && allFinite(key.grad!.toTypedArray())).to.equal(true);
    });

    it("ntXent at 2N = 4096 views (N = 2048 images): a 4096 × 4096 masked logit matrix", () => {
      const generator = new Generator(2048);
      const temperature = 0.05;
      const z1 = randomEmbeddings(generator, 2048, 4, "float32", true);
      const z2 = randomEmbeddings(generator, 2048, 4, "float32", true);
      const loss = ntXent(z1, z2, { temperature });
      loss.backward();
      const views = unitRows(z1, z2); // (4096, 4)
      const reference = loopReference(views, views, 4, (i) => (i + 2048) % 4096, true, temperature);
      expect(Math.abs(loss.item() - reference) / reference).to.be.below(1e-5);
      expect(allFinite(z1.grad!.toTypedArray()) && allFinite(z2.grad!.toTypedArray())).to.equal(true);
    });
  });
});
