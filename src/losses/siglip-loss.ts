/**
 * SigLIP's pairwise sigmoid loss between N matched image–text pairs: every pair (i, j) is its own
 * binary classification, matched or not, with no softmax over the batch. Source: Zhai, Mustafa,
 * Kolesnikov & Beyer, "Sigmoid Loss for Language Image Pre-Training" (SigLIP), ICCV 2023, eq. 1
 * and Algorithm 1; open_clip, src/open_clip/loss.py, `SigLipLoss`.
 *
 *   I = normalize(imageFeatures), T = normalize(textFeatures)       (N, D) each
 *   z_ij = t · I_i·T_j + b                                          (N, N) logits; t = exp(t′)
 *   y_ij = +1 if i = j, −1 otherwise                                 labels
 *   L    = −(1/N) Σ_i Σ_j log σ(y_ij z_ij)                            sum over the N² pairs, / N
 *
 * t′ (logitScale) and b (logitBias) are learned; the paper initializes t′ = log 10 and b = −10, so
 * that at the start every pair looks "not matched" (σ(−10) ≈ 4.5·10⁻⁵): with N − 1 negatives per
 * positive, a start at b = 0 would spend its first steps just learning the imbalance.
 *
 * Gradient: ∂(−log σ(y z))/∂z = −y σ(−y z), so with G_ij = −(1/N) y_ij σ(−y_ij z_ij)
 *   ∂L/∂(I_i·T_j) = t G_ij,   ∂L/∂t = Σ_ij G_ij I_i·T_j,   ∂L/∂t′ = t ∂L/∂t,   ∂L/∂b = Σ_ij G_ij
 * Each pair's gradient depends on that pair only (no normalizer couples the row), which is why
 * the loss splits into tiles with nothing carried between them (tiledSigLipLoss below).
 *
 * Symmetric in the towers: swapping image and text transposes z and y; the sum is unchanged.
 * With every embedding identical (cos = 1) L = −log σ(t + b) − (N − 1) log σ(−t − b).
 *
 * Shapes: imageFeatures (N, D), textFeatures (N, D); logitScale, logitBias numbers or 0-d tensors.
 *
 * Conventions: open_clip divides the sum by N (the batch), not by N² (the pairs): the loss grows
 * with the batch (N − 1 negative terms per row), as the paper's Algorithm 1 (`/ n`). Its
 * `logit_scale` argument is the exponentiated t (the model passes logit_scale.exp()); here
 * `logitScale` is the stored t′ itself, as in clipLoss. docs/porting.md.
 *
 * PyTorch (open_clip.loss.SigLipLoss()(I, T, logit_scale.exp(), logit_bias) on normalized I, T):
 *   logits = logit_scale.exp() * I @ T.T + logit_bias                    # (N, N)
 *   labels = 2 * torch.eye(N) - 1                                        # +1 diagonal, −1 elsewhere
 *   loss = -F.logsigmoid(labels * logits).sum() / N
 *
 * @module
 */
import { Tensor, allocate } from "../tensor/tensor.js";
import { eye } from "../tensor/creation.js";
import { shapeToString } from "../tensor/shape.js";
import { normalize } from "../ops/functional.js";
import { logSigmoid } from "../ops/activations.js";
import { gemm } from "../ops/gemm.js";
import { checkSameDtype, contiguousData, requireTensor } from "../ops/util.js";
import { defineOp, type Recordable } from "../autograd/registry.js";
import { FLOAT32_MAX, checkEmbeddings, checkSameShape } from "./checks.js";
import { checkOptions } from "../tensor/options.js";

/** SigLIP's initial t′ = log 10 (t = 10). */
export const SIGLIP_INITIAL_LOGIT_SCALE = Math.log(10);
/** SigLIP's initial bias b = −10. */
export const SIGLIP_INITIAL_LOGIT_BIAS = -10;

/** Options of `sigLipLoss` and `tiledSigLipLoss`. */
export interface SigLipLossOptions {
  /** t′ = log t, a number or a learnable 0-d tensor (default log 10): logits = exp(t′)·cos + b. */
  logitScale?: number | Tensor;
  /** b, a number or a learnable 0-d tensor (default −10). */
  logitBias?: number | Tensor;
}

/** Options of `tiledSigLipLoss`. */
export interface TiledSigLipLossOptions extends SigLipLossOptions {
  /** Side T of the square blocks of logits (default 256): extra memory O(T²). */
  tileSize?: number;
}

/**
 * SigLIP's loss, composed from the plain ops (the (N, N) logits and labels on the tape):
 * −(1/N) Σ_ij log σ(y_ij (exp(t′) I_i·T_j + b)).
 */
export function sigLipLoss(imageFeatures: Tensor, textFeatures: Tensor, options: SigLipLossOptions = {}): Tensor {
  checkOptions("sigLipLoss", options, { logitScale: true, logitBias: true });
  const { logitScale, logitBias } = checkSigLipArguments("sigLipLoss", imageFeatures, textFeatures, options);
  const batchSize = imageFeatures.shape[0];
  const image = normalize(imageFeatures); // (N, D)
  const text = normalize(textFeatures); // (N, D)
  const scale = logitScale instanceof Tensor ? logitScale.exp() : Math.exp(logitScale); // t = exp(t′)
  const logits = image.matmul(text.t()).mul(scale).add(logitBias); // (N, N), z_ij
  const labels = eye(batchSize, batchSize, { dtype: image.dtype }).mul(2).sub(1); // (N, N), y_ij = ±1
  return logSigmoid(labels.mul(logits)).sum().div(-batchSize);
}

/**
 * SigLIP's loss without the N × N matrix: the same value and gradients as sigLipLoss, computed one
 * T × T block of pairs at a time by `tiledSigmoidPairs`, with only the block in memory. Nothing
 * is merged between blocks but a running sum: the sigmoid loss decomposes over pairs, where the
 * softmax one (tiled-info-nce.ts) must carry a running log-sum-exp per row.
 */
export function tiledSigLipLoss(imageFeatures: Tensor, textFeatures: Tensor, options: TiledSigLipLossOptions = {}): Tensor {
  checkOptions("tiledSigLipLoss", options, { logitScale: true, logitBias: true, tileSize: true });
  const { logitScale, logitBias } = checkSigLipArguments("tiledSigLipLoss", imageFeatures, textFeatures, options);
  const tileSize = options.tileSize ?? 256;
  if (typeof tileSize !== "number" || !Number.isInteger(tileSize) || tileSize < 1) {
    throw new Error(`tiledSigLipLoss: tileSize must be a whole number ≥ 1, got ${String(tileSize)}`);
  }
  const image = normalize(imageFeatures); // (N, D)
  const text = normalize(textFeatures); // (N, D)
  const scale = logitScale instanceof Tensor ? logitScale.exp() : Math.exp(logitScale); // t, a number or a 0-d tensor in the graph
  return tiledSigmoidPairs(image, text, scale, logitBias, tileSize);
}

/**
 * The tiled primitive on unit rows I, T (N, D): L = −(1/N) Σ_ij log σ(y_ij (t I_i·T_j + b)) as a
 * 0-d tensor. `scale` t and `bias` b are numbers or 0-d tensors (then they get ∂L/∂t, ∂L/∂b).
 *
 * Forward, block (rows r, columns c): C = I_r T_cᵀ (one GEMM), then Σ −log σ(y (t C + b)) into a
 * float64 running sum. Backward: recompute C, overwrite it with t·G (G_ij = −(1/N) y σ(−y z)),
 * accumulate ∂I_r += (tG) T_c and ∂T_c += (tG)ᵀ I_r (two GEMMs), and Σ G·C, Σ G for t and b.
 * Extra memory: one T × T float64 block. Cost: the forward GEMM once more in the backward.
 */
export const tiledSigmoidPairs = defineOp("tiledSigmoidPairs", (
  image: Tensor,
  text: Tensor,
  scale: number | Tensor,
  bias: number | Tensor,
  tileSize: number,
): Recordable => {
  const [N, D] = image.shape;
  const T = Math.min(tileSize, N);
  const t = scale instanceof Tensor ? scale.item() : scale;
  const b = bias instanceof Tensor ? bias.item() : bias;
  const a = contiguousData(image); // (N, D)
  const c = contiguousData(text); // (N, D)
  const block = new Float64Array(T * T); // similarities of one block, then t·G in the backward

  // I[r0:r0+rows] · T[c0:c0+cols]ᵀ into block (rows × cols, row-major)
  const similarityBlock = (r0: number, rows: number, c0: number, cols: number): void => {
    gemm(
      rows,
      cols,
      D,
      { data: a.data, offset: a.offset + r0 * D, rowStride: D, colStride: 1 }, // (rows, D)
      { data: c.data, offset: c.offset + c0 * D, rowStride: 1, colStride: D }, // (D, cols)
      block,
      0,
      false,
    );
  };

  let total = 0; // Σ_ij −log σ(y_ij z_ij), float64
  for (let r0 = 0; r0 < N; r0 += T) {
    const rows = Math.min(T, N - r0);
    for (let c0 = 0; c0 < N; c0 += T) {
      const cols = Math.min(T, N - c0);
      similarityBlock(r0, rows, c0, cols);
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          const yz = (r0 + i === c0 + j ? 1 : -1) * (t * block[i * cols + j] + b); // y_ij z_ij
          total -= Math.min(yz, 0) - Math.log1p(Math.exp(-Math.abs(yz))); // −log σ(yz)
        }
      }
    }
  }
  const out = Tensor.fromTypedArray(allocate(image.dtype, 1), []);
  out.storage.data[0] = total / N;

  const inputs = [image, text, ...(scale instanceof Tensor ? [scale] : []), ...(bias instanceof Tensor ? [bias] : [])];
  return {
    output: out,
    inputs,
    backward: (gradOutput) => {
      const upstream = contiguousData(gradOutput);
      const g = upstream.data[upstream.offset] / N; // ḡ / N
      const imageGrad = image.requiresGrad ? new Float64Array(N * D) : null;
      const textGrad = text.requiresGrad ? new Float64Array(N * D) : null;
      let scaleGrad = 0; // Σ G_ij C_ij
      let biasGrad = 0; // Σ G_ij
      for (let r0 = 0; r0 < N; r0 += T) {
        const rows = Math.min(T, N - r0);
        for (let c0 = 0; c0 < N; c0 += T) {
          const cols = Math.min(T, N - c0);
          similarityBlock(r0, rows, c0, cols);
          for (let i = 0; i < rows; i++) {
            for (let j = 0; j < cols; j++) {
              const e = i * cols + j;
              const y = r0 + i === c0 + j ? 1 : -1;
              const yz = y * (t * block[e] + b);
              const sigmoidMinus = yz >= 0 ? Math.exp(-yz) / (1 + Math.exp(-yz)) : 1 / (1 + Math.exp(yz)); // σ(−yz)
              const G = -g * y * sigmoidMinus; // ∂L/∂z_ij
              scaleGrad += G * block[e];
              biasGrad += G;
              block[e] = t * G; // ∂L/∂(I_i·T_j)
            }
          }
          if (imageGrad !== null) {
            gemm(
              rows,
              D,
              cols,
              { data: block, offset: 0, rowStride: cols, colStride: 1 },
              { data: c.data, offset: c.offset + c0 * D, rowStride: D, colStride: 1 },
              imageGrad,
              r0 * D,
              true,
            ); // ∂I[r] += (tG) T[c]      (rows, cols) @ (cols, D)
          }
          if (textGrad !== null) {
            gemm(
              cols,
              D,
              rows,
              { data: block, offset: 0, rowStride: 1, colStride: cols },
              { data: a.data, offset: a.offset + r0 * D, rowStride: D, colStride: 1 },
              textGrad,
              c0 * D,
              true,
            ); // ∂T[c] += (tG)ᵀ I[r]     (cols, rows) @ (rows, D)
          }
        }
      }
      const asInputDtype = (values: Float64Array, shape: number[]): Tensor => {
        const typed = allocate(image.dtype, values.length);
        typed.set(values);
        return Tensor.fromTypedArray(typed, shape);
      };
      const grads: (Tensor | null)[] = [
        imageGrad === null ? null : asInputDtype(imageGrad, [N, D]),
        textGrad === null ? null : asInputDtype(textGrad, [N, D]),
      ];
      if (scale instanceof Tensor) grads.push(scale.requiresGrad ? asInputDtype(Float64Array.of(scaleGrad), []) : null);
      if (bias instanceof Tensor) grads.push(bias.requiresGrad ? asInputDtype(Float64Array.of(biasGrad), []) : null);
      return grads;
    },
  };
});

/** The checks shared by both forms; returns t′ and b (numbers or 0-d tensors of the features' dtype). */
function checkSigLipArguments(
  loss: string,
  imageFeatures: Tensor,
  textFeatures: Tensor,
  options: SigLipLossOptions,
): { logitScale: number | Tensor; logitBias: number | Tensor } {
  checkEmbeddings(loss, "imageFeatures", imageFeatures);
  checkEmbeddings(loss, "textFeatures", textFeatures);
  checkSameShape(loss, "imageFeatures", imageFeatures, "textFeatures", textFeatures);
  checkSameDtype(loss, "imageFeatures", imageFeatures, "textFeatures", textFeatures);
  const logitScale = options.logitScale ?? SIGLIP_INITIAL_LOGIT_SCALE;
  const logitBias = options.logitBias ?? SIGLIP_INITIAL_LOGIT_BIAS;
  const scaleValue = scalarValue(loss, "logitScale", logitScale, imageFeatures);
  const biasValue = scalarValue(loss, "logitBias", logitBias, imageFeatures);
  if (!Number.isFinite(scaleValue) || !(Math.exp(scaleValue) <= FLOAT32_MAX)) {
    throw new Error(`${loss}: logitScale must be finite with exp(logitScale) ≤ ${FLOAT32_MAX} (float32), got ${scaleValue}`);
  }
  if (!Number.isFinite(biasValue)) throw new Error(`${loss}: logitBias must be a finite number, got ${biasValue}`);
  return { logitScale, logitBias };
}

/** A number, or a 0-d tensor of the features' dtype; its value. */
function scalarValue(loss: string, name: string, value: unknown, like: Tensor): number {
  if (typeof value === "number") return value;
  const t = requireTensor(loss, value, name);
  if (t.ndim !== 0) throw new Error(`${loss}: ${name} must be a number or a 0-d tensor, got shape ${shapeToString(t.shape)}`);
  if (t.dtype !== like.dtype) throw new Error(`${loss}: ${name} is ${t.dtype} but imageFeatures is ${like.dtype}`);
  return t.item();
}
