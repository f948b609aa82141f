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
 *   b_i = max_{j∈c} l_ij,   blockLse_i = b_i + log Σ_{j∈c} exp(l_ij − b_i)      (shifted: no overflow)
 *   m_i ← logaddexp(m_i, blockLse_i) = max + log1p(exp(−|m_i − blockLse_i|))
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
 * Memory: besides the inputs and their gradients (N·D each), the forward holds one T × T block of
 * float64 logits and 2N running statistics; the backward the same block again. Peak extra memory
 * O(T² + N) ⊂ O(N·T + N), T = min(tileSize, N), instead of the O(N²) logits, probabilities and
 * logit gradients of infoNCE / clipLoss (spec/losses/large-batch.spec.ts measures it at N = 4096).
 * The price is recomputing Q Kᵀ once more in the backward: 3 GEMMs of N·N·D instead of 2…3.
 *
 * Precision: the blocks are computed and reduced in float64 whatever the input dtype (the GEMM
 * widens float32 when it packs), so the float32 loss is at least as accurate as infoNCE's.
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
import { gemm } from "../ops/gemm.js";
import { logSumExpOf } from "../ops/activations.js";
import { checkSameDtype, contiguousData } from "../ops/util.js";
import { checkEmbeddings, checkSameShape, checkTemperature } from "./checks.js";
import { resolveClipScale } from "./clip-loss.js";
import { checkOptions } from "../tensor/options.js";

/** Default side of a logit block: 256 × 256 float64 = 512 KiB, the size of the GEMM's B panel. */
export const DEFAULT_TILE_SIZE = 256;

/** Options of {@link tiledInfoNCE}. */
export interface TiledInfoNCEOptions {
  /** τ, default 0.1 (as infoNCE). */
  temperature?: number;
  /** Side T of the square blocks of logits (default 256): memory O(T² + N). */
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
  /** Side T of the square blocks of logits (default 256): memory O(T² + N). */
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
  const block = new Float64Array(T * T); // the only O(T²) buffer: similarities (then logits) of one block

  // q_r · k_cᵀ for rows r0…r0+rows, columns c0…c0+cols, into block (rows × cols, row-major).
  const similarityBlock = (r0: number, rows: number, c0: number, cols: number): void => {
    gemm(
      rows,
      cols,
      D,
      { data: q.data, offset: q.offset + r0 * D, rowStride: D, colStride: 1 }, // Q[r0:r0+rows]      (rows, D)
      { data: k.data, offset: k.offset + c0 * D, rowStride: 1, colStride: D }, // K[c0:c0+cols]ᵀ     (D, cols)
      block,
      0,
      false,
    );
  };

  // ---- forward: running log-sum-exp over the blocks ----------------------------------------
  const rowLse = new Float64Array(N).fill(-Infinity); // m_i → lse_i
  const colLse = bothDirections ? new Float64Array(N).fill(-Infinity) : null; // → lseᶜ_j
  const diagonal = new Float64Array(N); // l_ii, read from the block that holds it
  for (let r0 = 0; r0 < N; r0 += T) {
    const rows = Math.min(T, N - r0);
    for (let c0 = 0; c0 < N; c0 += T) {
      const cols = Math.min(T, N - c0);
      similarityBlock(r0, rows, c0, cols); // (rows, cols) similarities q_i·k_j
      for (let e = 0; e < rows * cols; e++) block[e] *= s; // (rows, cols) logits l_ij
      // blockLse_i over row i (stride 1), blockLseᶜ_j over column j (stride cols)
      for (let i = 0; i < rows; i++) rowLse[r0 + i] = logAddExp(rowLse[r0 + i], logSumExpOf(block, i * cols, cols, 1));
      if (colLse !== null) {
        for (let j = 0; j < cols; j++) colLse[c0 + j] = logAddExp(colLse[c0 + j], logSumExpOf(block, j, rows, cols));
      }
      if (r0 === c0) { for (let i = 0; i < rows; i++) diagonal[r0 + i] = block[i * cols + i]; // row and column tiles align
       }
    }
  }
  const out = Tensor.fromTypedArray(allocate(queries.dtype, bothDirections ? 2 * N : N), bothDirections ? [2, N] : [N]);
  const losses = out.storage.data;
  for (let i = 0; i < N; i++) losses[i] = rowLse[i] - diagonal[i]; // ℓ_i = lse_i − l_ii
  if (colLse !== null) { for (let j = 0; j < N; j++) losses[N + j] = colLse[j] - diagonal[j]; // ℓᶜ_j
   }

  // ---- backward: recompute each block, turn it into s·∂L/∂l in place, two accumulating GEMMs ----
  const inputs = scale instanceof Tensor ? [queries, keys, scale] : [queries, keys];
  return {
    output: out,
    inputs,
    backward: (gradOutput) => {
      const upstream = contiguousData(gradOutput); // g (N) or [g; gᶜ] (2, N)
      const g = upstream.data;
      const gOffset = upstream.offset;
      const queryGrad = queries.requiresGrad ? new Float64Array(N * D) : null; // (N, D)
      const keyGrad = keys.requiresGrad ? new Float64Array(N * D) : null; // (N, D)
      let scaleGrad = 0; // Σ_ij ∂L/∂l_ij · (q_i·k_j)
      for (let r0 = 0; r0 < N; r0 += T) {
        const rows = Math.min(T, N - r0);
        for (let c0 = 0; c0 < N; c0 += T) {
          const cols = Math.min(T, N - c0);
          similarityBlock(r0, rows, c0, cols); // (rows, cols) similarities q_i·k_j
          for (let i = 0; i < rows; i++) {
            const row = r0 + i;
            const gRow = g[gOffset + row];
            const lse = rowLse[row];
            for (let j = 0; j < cols; j++) {
              const column = c0 + j;
              const similarity = block[i * cols + j];
              const logit = s * similarity;
              const positive = row === column ? 1 : 0;
              let gradLogit = gRow * (Math.exp(logit - lse) - positive); // g_i (p_ij − [i = j])
              // + gᶜ_j (pᶜ_ij − [i = j])
              if (colLse !== null) gradLogit += g[gOffset + N + column] * (Math.exp(logit - colLse[column]) - positive);
              scaleGrad += gradLogit * similarity;
              block[i * cols + j] = s * gradLogit; // ∂L/∂(q_i·k_j)
            }
          }
          if (queryGrad !== null) {
            // ∂L/∂Q[r] += B K[c]        (rows, cols) @ (cols, D)
            gemm(
              rows,
              D,
              cols,
              { data: block, offset: 0, rowStride: cols, colStride: 1 },
              { data: k.data, offset: k.offset + c0 * D, rowStride: D, colStride: 1 },
              queryGrad,
              r0 * D,
              true,
            );
          }
          if (keyGrad !== null) {
            // ∂L/∂K[c] += Bᵀ Q[r]       (cols, rows) @ (rows, D)
            gemm(
              cols,
              D,
              rows,
              { data: block, offset: 0, rowStride: 1, colStride: cols },
              { data: q.data, offset: q.offset + r0 * D, rowStride: D, colStride: 1 },
              keyGrad,
              c0 * D,
              true,
            );
          }
        }
      }
      const asInputDtype = (values: Float64Array, shape: number[]): Tensor => {
        const typed = allocate(queries.dtype, values.length);
        typed.set(values);
        return Tensor.fromTypedArray(typed, shape);
      };
      const grads: (Tensor | null)[] = [
        queryGrad === null ? null : asInputDtype(queryGrad, [N, D]),
        keyGrad === null ? null : asInputDtype(keyGrad, [N, D]),
      ];
      if (scale instanceof Tensor) grads.push(scale.requiresGrad ? asInputDtype(Float64Array.of(scaleGrad), []) : null);
      return grads;
    },
  };
});

/** log(eᵃ + eᵇ) without overflow; −∞ is the identity (the empty running sum). */
function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b)));
}

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
