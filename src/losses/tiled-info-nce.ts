/**
 * Memory-bounded exact InfoNCE and CLIP loss: the in-batch losses of info-nce.ts and clip-loss.ts,
 * computed without ever holding the N × N logit matrix.
 * Chapter 7.5 ("Choosing Hyperparameters", "Batch size": more in-batch negatives help).
 * Source: Cheng, Zhang, Li, Leng, Hu, Wu, Zhao, Li & Bing, "Breaking the Memory Barrier: Near
 * Infinite Batch Size Scaling for Contrastive Loss" (Inf-CL), arXiv:2410.17243, 2024, §3; the
 * same online log-sum-exp as FlashAttention (Dao et al. 2022) and Milakov & Gimelshein, "Online
 * normalizer calculation for softmax", 2018. Derivation and measurements: docs/large-batches.md.
 *
 * With unit rows q_i = normalize(query_i), k_j = normalize(key_j) and scale s = 1/τ:
 *
 *   l_ij  = s · q_i·k_j                               logits, never stored all at once
 *   lse_i = log Σ_j exp(l_ij)                         row log-sum-exp (over the keys)
 *   ℓ_i   = lse_i − l_ii                              in-batch InfoNCE: row i's positive is key i
 *   L     = (1/N) Σ_i ℓ_i                             reduction "mean"
 *
 * Forward, one T × T block of logits at a time (rows r, columns c), keeping per row a running
 * log-sum-exp m_i (initially −∞) and merging each block's into it:
 *
 *   blockLse_i = b + log Σ_{j∈c} exp(l_ij − b)                     (shifted by b: no overflow)
 *   m_i ← logaddexp(m_i, blockLse_i) = max + log1p(exp(−|m_i − blockLse_i|))
 *
 * The shift b may be any number near the logits: since |l_ij| ≤ |s|, b = |s| for every row and
 * column (one exp per logit serves both directions; ./tiled-blocks.ts), or, when e^(−2|s|) would
 * underflow (|s| > 300), the row's own block maximum b_i = max_{j∈c} l_ij.
 *
 * After the last block m_i = lse_i exactly (log-sum-exp is associative). Only the N numbers lse_i
 * are saved for the backward, which recomputes each block and its probabilities from them:
 *
 *   p_ij = exp(l_ij − lse_i)                                        softmax of row i, one block at a time
 *   ∂L/∂l_ij = g_i (p_ij − [i = j]),   g_i = ∂L/∂ℓ_i (= 1/N for the mean)
 *   ∂L/∂q_i = s Σ_j ∂L/∂l_ij k_j  = (1/N)(Σ_j p_ij k_j − k_i)/τ
 *   ∂L/∂k_j = s Σ_i ∂L/∂l_ij q_i  = (1/N)(Σ_i p_ij q_i − q_j)/τ
 *   ∂L/∂s   = Σ_ij ∂L/∂l_ij (q_i·k_j)                              (a learnable scale, CLIP)
 *
 * CLIP's loss adds the column direction (text → image), a second running log-sum-exp over the
 * rows of each block, lseᶜ_j = log Σ_i exp(l_ij), ℓᶜ_j = lseᶜ_j − l_jj, pᶜ_ij = exp(l_ij − lseᶜ_j):
 *
 *   L_clip = ½ [ (1/N) Σ_i ℓ_i + (1/N) Σ_j ℓᶜ_j ],   ∂L/∂l_ij = g_i (p_ij − [i = j]) + gᶜ_j (pᶜ_ij − [i = j])
 *
 * The primitive below outputs the per-row losses ℓ (N) — or [ℓ; ℓᶜ] (2, N) for CLIP — and is one
 * tape record whose rule is the three lines above; the reduction (mean) and normalize are ordinary
 * ops composed around it, so their gradients are the ones the rest of the library uses.
 *
 * Memory: besides the inputs and their gradients (N·D each), each thread holds one T × T block in
 * the input dtype, and the walk 2N running statistics; with workers, Q, K, ∂Q and ∂K are copied into
 * the pool's shared memory (4 N·D more). Peak extra memory O(N·D + T²), T = min(tileSize, N), instead
 * of the O(N²) logits, probabilities and logit gradients of infoNCE / clipLoss
 * (spec/losses/large-batch.spec.ts measures it at N = 4096; bench/clip.bench.ts up to N = 32,768).
 * The price is recomputing Q Kᵀ once more in the backward: 4 GEMMs of N·N·D in all instead of 3.
 *
 * Speed (./tiled-blocks.ts, docs/performance.md "tiledClipLoss at 32,768"): the blocks are GEMMs in
 * the input dtype (float32 GEMMs for float32 features, the GEMM's SIMD kernel), one exp per logit
 * in each walk (a shared shift S = |s| serves rows and columns), ∂Q and ∂K from the one recomputed
 * block, and the blocks of a walk on every core in rounds whose sums run in a fixed block order:
 * the same bits for any thread count.
 *
 * Precision: float64 inputs give float64 blocks and sums (the spec compares with the dense losses to
 * 1e-12). Float32 inputs give float32 similarities and gradient blocks, as torch's float32 matmul;
 * the exps, the log-sum-exps and the per-row sums are float64.
 *
 * Shapes: query, key / image, text (N, D); output a 0-d tensor (or (N) with reduction "none").
 *
 * PyTorch: the Inf-CL repository (DAMO-NLP-SG/Inf-CLIP) provides `from inf_cl import
 * cal_inf_loss; cal_inf_loss(q, k, scale=logit_scale.exp()).mean()` on normalized q, k (Triton
 * kernels, plus a ring over GPUs): image→text only; its CLIP loss averages two calls, (q, k) and
 * (k, q), each recomputing Q Kᵀ, where one walk over the blocks here serves both directions.
 * Dense equivalents: F.cross_entropy(q @ k.T / tau, torch.arange(N)) and open_clip's ClipLoss.
 *
 * @module
 */
import { Tensor, allocate } from "../tensor/tensor.js";
import { defineOp, type Recordable, type Unchanged } from "../autograd/registry.js";
import { checkReduction, normalize, type Reduction } from "../ops/functional.js";
import { type BlockWorkspace, BACKWARD, FORWARD, MAX_SHARED_SHIFT, runWalk } from "./tiled-blocks.js";
import { checkSameDtype, contiguousData } from "../ops/util.js";
import { checkEmbeddings, checkSameShape, checkTemperature } from "./checks.js";
import { resolveClipScale } from "./clip-loss.js";
import { checkOptions } from "../tensor/options.js";

/**
 * Default side of a logit block: 512 × 512 (1 MiB in float32). Measured at N = 2048 and 4096, D = 512:
 * 512 and 1024 take ~13–20% less CPU than 256 (the GEMMs' packing and copies are a smaller share of
 * bigger blocks), and 512 still gives a 32,768 batch 64 blocks per round to share between threads.
 */
export const DEFAULT_TILE_SIZE = 512;

/** Options of {@link tiledInfoNCE}. */
export interface TiledInfoNCEOptions {
  /** τ, default 0.1 (as infoNCE). */
  temperature?: number;
  /** Side T of the square blocks of logits (default 512): memory O(T² + N). */
  tileSize?: number;
  /** "mean" (default), "sum", or "none" for the N per-row losses. */
  reduction?: Reduction;
}

/**
 * In-batch InfoNCE (row i's positive is key i) on cosine similarities, = infoNCE(query, key, null,
 * { temperature, reduction }) in value and gradients, without the N × N logits.
 */
export function tiledInfoNCE(query: Tensor, key: Tensor, options: TiledInfoNCEOptions = {}): Tensor {
  checkOptions("tiledInfoNCE", options, { temperature: true, tileSize: true, reduction: true });
  const temperature = checkTemperature("tiledInfoNCE", options.temperature ?? 0.1);
  const tileSize = checkTileSize("tiledInfoNCE", options.tileSize ?? DEFAULT_TILE_SIZE);
  const reduction = checkReduction("tiledInfoNCE", options.reduction ?? "mean");
  checkEmbeddings("tiledInfoNCE", "query", query);
  checkEmbeddings("tiledInfoNCE", "key", key);
  checkSameShape("tiledInfoNCE", "query", query, "key", key);
  checkSameDtype("tiledInfoNCE", "query", query, "key", key);
  const queries = normalize(query); // (N, D) unit rows
  const keys = normalize(key); // (N, D)
  const rowLosses = tiledDiagonalCrossEntropy(queries, keys, 1 / temperature, tileSize, false); // (N)
  if (reduction === "none") return rowLosses;
  return reduction === "sum" ? rowLosses.sum() : rowLosses.mean();
}

/** Options of {@link tiledClipLoss}: as {@link ClipLossOptions}, plus the tile size. */
export interface TiledClipLossOptions {
  /** τ: a number (default 0.07) or a 0-d tensor, learnable when it has requiresGrad. */
  temperature?: number | Tensor;
  /** s = log(1/τ) (CLIP's `logit_scale`), a number or a learnable 0-d tensor: logits · exp(s). */
  logitScale?: number | Tensor;
  /** Side T of the square blocks of logits (default 512): memory O(T² + N). */
  tileSize?: number;
}

/**
 * CLIP's symmetric loss ½[CE(I Tᵀ/τ) + CE(T Iᵀ/τ)] on normalized features, = clipLoss(image, text,
 * { temperature | logitScale }) in value and in every gradient (the features' and τ's or s's),
 * without the N × N logits. The temperature works as in clipLoss: a learnable τ enters as
 * s = 1/τ (∂L/∂τ = −∂L/∂s / τ²), a learnable logit scale as s = exp(logitScale).
 */
export function tiledClipLoss(imageFeatures: Tensor, textFeatures: Tensor, options: TiledClipLossOptions = {}): Tensor {
  checkOptions("tiledClipLoss", options, { temperature: true, logitScale: true, tileSize: true });
  checkEmbeddings("tiledClipLoss", "imageFeatures", imageFeatures);
  checkEmbeddings("tiledClipLoss", "textFeatures", textFeatures);
  checkSameShape("tiledClipLoss", "imageFeatures", imageFeatures, "textFeatures", textFeatures);
  checkSameDtype("tiledClipLoss", "imageFeatures", imageFeatures, "textFeatures", textFeatures);
  const tileSize = checkTileSize("tiledClipLoss", options.tileSize ?? DEFAULT_TILE_SIZE);
  const scale = logitMultiplier(options, imageFeatures); // s: number, or a 0-d tensor in the graph
  const image = normalize(imageFeatures); // (N, D)
  const text = normalize(textFeatures); // (N, D)
  const losses = tiledDiagonalCrossEntropy(image, text, scale, tileSize, true); // (2, N): [image→text; text→image]
  return losses.mean(); // ½ (mean_i ℓ_i + mean_j ℓᶜ_j)
}

/**
 * The primitive. logits l = s · Q Kᵀ (never materialized), positives on the diagonal.
 *   bothDirections = false:  output ℓ (N),       ℓ_i = lse_i − l_ii          (rows: query → keys)
 *   bothDirections = true:   output [ℓ; ℓᶜ] (2, N), ℓᶜ_j = lseᶜ_j − l_jj       (+ columns: key → queries)
 * `scale` is a number, or a 0-d tensor that receives ∂L/∂s = Σ_ij ∂L/∂l_ij (q_i·k_j).
 */
export const tiledDiagonalCrossEntropy = defineOp("tiledDiagonalCrossEntropy", (
  queries: Tensor,
  keys: Tensor,
  scale: number | Tensor,
  tileSize: number,
  bothDirections: boolean,
): Recordable | Unchanged => {
  const [N, D] = queries.shape;
  const T = Math.min(tileSize, N);
  const s = scale instanceof Tensor ? scale.item() : scale;
  const q = contiguousData(queries); // (N, D), read in place
  const k = contiguousData(keys); // (N, D)
  // |l_ij| ≤ |s|: one shared shift S = |s| where e^(−2S) is a normal double (./tiled-blocks.ts), else per-line shifts.
  const shift = Math.abs(s) <= MAX_SHARED_SHIFT ? Math.abs(s) : NaN;
  const workspace: BlockWorkspace = {
    n: N,
    d: D,
    tile: T,
    blocks: Math.ceil(N / T),
    scale: s,
    shift,
    both: bothDirections,
    q: q.data as Float32Array | Float64Array,
    qOffset: q.offset,
    k: k.data as Float32Array | Float64Array,
    kOffset: k.offset,
    rowLse: new Float64Array(N).fill(-Infinity), // m_i → lse_i
    colLse: bothDirections ? new Float64Array(N).fill(-Infinity) : null, // → lseᶜ_j
    diagonal: new Float64Array(N), // l_ii, read from the diagonal blocks
    rowGrad: null,
    colGrad: null,
    rowWeight: null,
    colWeight: null,
    scalePartial: null,
    qGrad: null,
    kGrad: null,
  };

  // ---- forward: running log-sum-exps over the blocks (P rounds of P jobs, ./tiled-blocks.ts) ----
  runWalk(workspace, FORWARD);
  const { rowLse, colLse, diagonal } = workspace as { rowLse: Float64Array; colLse: Float64Array | null; diagonal: Float64Array };
  const out = Tensor.fromTypedArray(allocate(queries.dtype, bothDirections ? 2 * N : N), bothDirections ? [2, N] : [N]);
  const losses = out.storage.data;
  for (let i = 0; i < N; i++) losses[i] = rowLse[i] - diagonal[i]; // ℓ_i = lse_i − l_ii
  if (colLse !== null) { for (let j = 0; j < N; j++) losses[N + j] = colLse[j] - diagonal[j]; // ℓᶜ_j
   }

  // ---- backward: recompute each block, turn it into s·∂L/∂l in place, ∂Q and ∂K from the one block ----
  const inputs = scale instanceof Tensor ? [queries, keys, scale] : [queries, keys];
  return {
    output: out,
    inputs,
    backward: (gradOutput) => {
      const upstream = contiguousData(gradOutput); // g (N) or [g; gᶜ] (2, N)
      const rowGrad = new Float64Array(N); // g_i
      const colGrad = new Float64Array(N); // gᶜ_j (zeros: one direction)
      for (let i = 0; i < N; i++) rowGrad[i] = upstream.data[upstream.offset + i];
      if (bothDirections) { for (let j = 0; j < N; j++) colGrad[j] = upstream.data[upstream.offset + N + j]; }
      // w_i = g_i e^(S − lse_i), wᶜ_j = gᶜ_j e^(S − lseᶜ_j): p_ij g_i = e_ij w_i with e_ij = e^(l_ij − S)
      const rowWeight = new Float64Array(N);
      const colWeight = new Float64Array(N);
      if (!Number.isNaN(shift)) {
        for (let i = 0; i < N; i++) rowWeight[i] = rowGrad[i] * Math.exp(shift - rowLse[i]);
        if (colLse !== null) { for (let j = 0; j < N; j++) colWeight[j] = colGrad[j] * Math.exp(shift - colLse[j]); }
      }
      const gradients: BlockWorkspace = {
        ...workspace,
        rowGrad,
        colGrad,
        rowWeight,
        colWeight,
        diagonal: null,
        scalePartial: new Float64Array(workspace.blocks), // per row block, summed in round order
        qGrad: queries.requiresGrad ? allocate(queries.dtype, N * D) as Float32Array | Float64Array : null, // (N, D)
        kGrad: keys.requiresGrad ? allocate(keys.dtype, N * D) as Float32Array | Float64Array : null, // (N, D)
      };
      runWalk(gradients, BACKWARD);
      let scaleGrad = 0; // Σ_ij ∂L/∂l_ij · (q_i·k_j), row block by row block
      for (const partial of gradients.scalePartial!) scaleGrad += partial;
      const grads: (Tensor | null)[] = [
        gradients.qGrad === null ? null : Tensor.fromTypedArray(gradients.qGrad, [N, D]),
        gradients.kGrad === null ? null : Tensor.fromTypedArray(gradients.kGrad, [N, D]),
      ];
      if (scale instanceof Tensor) {
        grads.push(scale.requiresGrad ? Tensor.fromTypedArray(allocate(queries.dtype, 1).fill(scaleGrad), []) : null);
      }
      return grads;
    },
  };
});

/** CLIP's multiplier s of the similarities: 1/τ or exp(logitScale), a number or a 0-d tensor in the graph. */
function logitMultiplier(options: TiledClipLossOptions, like: Tensor): number | Tensor {
  const scale = resolveClipScale("tiledClipLoss", options, like);
  if ("logitScale" in scale) {
    const s = scale.logitScale;
    return s instanceof Tensor ? s.exp() : Math.exp(s); // s = exp(logitScale)
  }
  const temperature = scale.temperature;
  return temperature instanceof Tensor ? temperature.pow(-1) : 1 / temperature; // s = 1/τ, so that ∂L/∂τ = −∂L/∂s / τ²
}

function checkTileSize(loss: string, tileSize: unknown): number {
  if (typeof tileSize !== "number" || !Number.isInteger(tileSize) || tileSize < 1) {
    throw new Error(`${loss}: tileSize must be a whole number ≥ 1, got ${String(tileSize)}`);
  }
  return tileSize;
}
