/**
 * Multi-head attention (Vaswani et al. 2017, "Attention Is All You Need", §3.2.1–3.2.2).
 * PyTorch: torch.nn.MultiheadAttention (F.multi_head_attention_forward).
 *
 *   Q = query·W_qᵀ + b_q,  K = key·W_kᵀ + b_k,  V = value·W_vᵀ + b_v        (B, T|S, E)
 *   head h uses feature columns h·d … (h+1)·d − 1 of Q, K, V (d = E/H):
 *     A_h = softmax(Q_h K_hᵀ / √d  + mask)                                  (B, T, S)
 *     O_h = A_h V_h                                                          (B, T, d)
 *   out = concat_h(O_h)·W_oᵀ + b_o                                           (B, T, E)
 *
 * [W_q; W_k; W_v] is one (3E, E) parameter, inProjWeight, and [b_q; b_k; b_v] is inProjBias (3E),
 * exactly PyTorch's packed layout; the output projection is the Linear `outProj`.
 *
 * Masks (1 = masked, as torch's boolean masks where True means "not allowed to attend"):
 *   keyPaddingMask (B, S): key s of batch item b is padding — no query attends to it;
 *   attnMask (T, S) or (B·H, T, S): query t may not attend to key s (e.g. a causal mask).
 * A masked score is −∞ in torch, so its weight is exactly 0. Here the masked entries are left out
 * of the softmax sum (maskedSoftmax below), which gives the same numbers wherever torch's are
 * defined. A query whose keys are ALL masked has no defined softmax: torch returns NaN for it
 * (0/0); here its weights are all 0, so its attention output is 0 and `out` is the bias b_o,
 * with zero gradient through that row (the convention of torch ≥ 2.5's scaled_dot_product_attention).
 *
 * Returns [output, weights] like torch: weights are A averaged over heads (B, T, S) by default,
 * or per head (B, H, T, S) with averageAttnWeights = false, or null with needWeights = false.
 * With dropout > 0 (training only), A is dropped out before A·V and the returned weights are the
 * dropped ones, as torch.
 *
 * Init (as torch's _reset_parameters): inProjWeight ~ xavier_uniform (bound √(6/(E + 3E))),
 * inProjBias = 0, outProj.weight ~ Linear's default U(±1/√E), outProj.bias = 0.
 *
 * State dict key mapping (ours → PyTorch): inProjWeight → in_proj_weight, inProjBias →
 * in_proj_bias, outProj.weight → out_proj.weight, outProj.bias → out_proj.bias
 * (toTorchKey / fromTorchKey in ./torch-keys.ts convert whole state dicts).
 *
 * batchFirst defaults to TRUE here (inputs (B, T, E)); PyTorch's default is batch_first=False,
 * so a port writes batch_first=True explicitly.
 *
 * @module
 */
import { Tensor, checkDType, type DType } from "../tensor/tensor.js";
import type { Generator } from "../tensor/random.js";
import { broadcastShapes, sameShape, shapeToString } from "../tensor/shape.js";
import { defineOp, type Recordable, type Unchanged } from "../autograd/registry.js";
import { broadcastView, contiguousData, copyStorage, emptyTensor } from "../ops/util.js";
import { div } from "../ops/elementwise.js";
import { mean } from "../ops/reduce.js";
import { softmaxBackward } from "../ops/activations.js";
import { matmul } from "../ops/matmul.js";
import { narrow, permute, reshape, transpose } from "../ops/views.js";
import { dropout as dropoutOp } from "../ops/functional.js";
import { Module, type Parameter } from "./module.js";
import { Linear, linearForward } from "./linear.js";
import { checkDtype, checkFeatures } from "./util.js";
import { emptyParameter, requireGenerator, xavierUniform_, zeros_ } from "./init.js";
import { checkOptions } from "../tensor/options.js";

/**
 * Softmax along the last dim that leaves out masked entries (mask ≠ 0):
 *
 *   s_j = exp(x_j − m) / Σ_{k unmasked} exp(x_k − m)  for unmasked j,  s_j = 0 for masked j,
 *   m = max over the unmasked entries; a row with every entry masked is all zeros.
 *   ∂L/∂x = s ⊙ (ḡ − Σ_j ḡ_j s_j)          (the softmax rule; 0 on masked entries and empty rows)
 *
 * `masks` are 0/1 tensors that broadcast to x's shape; an entry is masked if any mask says so.
 */
export const maskedSoftmax = defineOp("maskedSoftmax", (x: Tensor, masks: readonly Tensor[] = []): Recordable | Unchanged => {
  const op = "maskedSoftmax";
  if (x.ndim === 0) throw new Error(`${op}: input must have at least one dimension`);
  const shape = x.shape;
  const n = shape[shape.length - 1];
  const rows = n === 0 ? 0 : x.numel() / n;
  const masked = new Uint8Array(x.numel());
  for (const mask of masks) {
    const joint = broadcastShapes(op, mask.shape, shape);
    if (!sameShape(joint, shape)) {
      throw new Error(`${op}: mask of shape ${shapeToString(mask.shape)} does not broadcast to the scores' shape ${shapeToString(shape)}`);
    }
    const dense = copyStorage(broadcastView(mask, shape), mask.dtype).data; // the mask broadcast to x's shape
    for (let i = 0; i < dense.length; i++) if (dense[i] !== 0) masked[i] = 1;
  }
  const { data, offset } = contiguousData(x);
  const out = emptyTensor(x.dtype, shape);
  const s = out.storage.data;
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    let m = -Infinity;
    for (let j = 0; j < n; j++) if (!masked[base + j] && data[offset + base + j] > m) m = data[offset + base + j];
    if (m === -Infinity) continue; // every key masked (or all −∞): the row stays 0
    let total = 0;
    for (let j = 0; j < n; j++) {
      if (masked[base + j]) continue;
      const e = Math.exp(data[offset + base + j] - m);
      s[base + j] = e;
      total += e;
    }
    for (let j = 0; j < n; j++) s[base + j] /= total;
  }
  return { output: out, inputs: [x], backward: (g) => [softmaxBackward(out, g, -1)] };
});

/** Masks and outputs of a {@link MultiheadAttention} forward call (1 in a mask = not allowed to attend). */
export interface AttentionOptions {
  /** (B, S), 1 = padding key. */
  keyPaddingMask?: Tensor | null;
  /** (T, S) or (B·H, T, S), 1 = may not attend. */
  attnMask?: Tensor | null;
  /** Return the attention weights (default true, as torch). */
  needWeights?: boolean;
  /** Average the weights over heads (default true, as torch). */
  averageAttnWeights?: boolean;
}

/** Options of {@link MultiheadAttention}. */
export interface MultiheadAttentionOptions {
  /** Inputs are (B, T, E) (default true here; torch's default is false, i.e. (T, B, E)). */
  batchFirst?: boolean;
  /** Biases in the input and output projections (default true). */
  bias?: boolean;
  /** Dropout on the attention weights in training (default 0). */
  dropout?: number;
  /** Parameter dtype (default `"float32"`). */
  dtype?: DType;
  /** Seeded generator for the init and the dropout masks (required). */
  generator: Generator;
}

/**
 * Multi-head scaled dot-product attention: `softmax(Q Kᵀ/√d + mask) V` per head, concatenated and projected; (B, T, E) queries, (B, S, E)
 * keys and values → [(B, T, E) output, weights]. Packed `inProjWeight` (3E, E) as PyTorch. PyTorch: `torch.nn.MultiheadAttention`.
 */
export class MultiheadAttention extends Module {
  /** The model width E. */
  readonly embedDim: number;
  /** The number of heads H (E must be divisible by H). */
  readonly numHeads: number;
  /** The width of one head, d = E / H. */
  readonly headDim: number;
  /** Whether inputs are (B, T, E) (default true) rather than (T, B, E). */
  readonly batchFirst: boolean;
  /** Dropout probability on the attention weights in training (default 0). */
  readonly dropout: number;
  /** `[W_q; W_k; W_v]`, (3E, E), Xavier-uniform initialized. */
  readonly inProjWeight: Parameter;
  /** `[b_q; b_k; b_v]`, (3E), zeros; null without bias. */
  readonly inProjBias: Parameter | null;
  /** The output projection, a Linear(E, E) with zero bias. */
  readonly outProj: Linear;
  private readonly generator: Generator;

  /**
   * Multi-head attention of width `embedDim` with `numHeads` heads, initialized as PyTorch (same draw order).
   *
   * @param embedDim the model width E.
   * @param numHeads the number of heads H.
   * @param options batchFirst, bias, dropout, dtype, generator.
   */
  constructor(embedDim: number, numHeads: number, options: MultiheadAttentionOptions) {
    super();
    checkOptions("MultiheadAttention", options, { batchFirst: true, bias: true, dropout: true, dtype: true, generator: true });
    checkFeatures("MultiheadAttention", { embedDim, numHeads });
    if (numHeads < 1 || embedDim % numHeads !== 0) {
      throw new Error(`MultiheadAttention: embedDim (${embedDim}) must be divisible by numHeads (${numHeads})`);
    }
    this.generator = requireGenerator("MultiheadAttention", options?.generator);
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    this.headDim = embedDim / numHeads;
    this.batchFirst = options.batchFirst ?? true;
    this.dropout = options.dropout ?? 0;
    if (!(this.dropout >= 0 && this.dropout < 1)) throw new Error(`MultiheadAttention: dropout must be in [0, 1), got ${this.dropout}`);
    const dtype = checkDType("MultiheadAttention", options?.dtype);
    const bias = options.bias ?? true;
    // Same draw order as torch: out_proj is built (Linear init) before the packed in-projection.
    const outProj = new Linear(embedDim, embedDim, { bias, dtype, generator: this.generator });
    this.inProjWeight = emptyParameter([3 * embedDim, embedDim], dtype); // (3E, E) = [W_q; W_k; W_v]
    xavierUniform_(this.inProjWeight, 1, this.generator);
    this.registerParameter("inProjWeight", this.inProjWeight);
    this.inProjBias = bias ? emptyParameter([3 * embedDim], dtype) : null; // (3E) = [b_q; b_k; b_v], zeros
    this.registerParameter("inProjBias", this.inProjBias);
    if (outProj.bias) zeros_(outProj.bias);
    this.outProj = this.registerModule("outProj", outProj);
  }

  /**
   * query (B, T, E), key and value (B, S, E) (or sequence-first with batchFirst = false).
   * Returns [output (B, T, E), weights (B, T, S) | (B, H, T, S) | null].
   */
  forward(query: Tensor, key: Tensor, value: Tensor, options: AttentionOptions = {}): [Tensor, Tensor | null] {
    const name = "MultiheadAttention";
    const E = this.embedDim, H = this.numHeads, d = this.headDim;
    for (const [label, t] of [["query", query], ["key", key], ["value", value]] as const) {
      if (t.ndim !== 3 || t.shape[2] !== E) {
        throw new Error(
          `${name}: ${label} must be ${this.batchFirst ? "(B, L, E)" : "(L, B, E)"} with E = ${E}, got shape ${shapeToString(t.shape)}`,
        );
      }
      checkDtype(name, t, this.inProjWeight);
    }
    const q = this.batchFirst ? query : transpose(query, 0, 1); // (B, T, E)
    const k = this.batchFirst ? key : transpose(key, 0, 1); // (B, S, E)
    const v = this.batchFirst ? value : transpose(value, 0, 1); // (B, S, E)
    const [B, T] = q.shape;
    const S = k.shape[1];
    if (k.shape[0] !== B || v.shape[0] !== B || v.shape[1] !== S) {
      throw new Error(
        `${name}: query ${shapeToString(query.shape)}, key ${shapeToString(key.shape)} and value ${
          shapeToString(value.shape)
        } disagree on batch or sequence sizes`,
      );
    }
    const masks: Tensor[] = [];
    const padding = options.keyPaddingMask ?? null;
    if (padding !== null) {
      if (padding.ndim !== 2 || padding.shape[0] !== B || padding.shape[1] !== S) {
        throw new Error(`${name}: keyPaddingMask must be (B, S) = [${B}, ${S}], got ${shapeToString(padding.shape)}`);
      }
      masks.push(reshape(padding.detach(), [B, 1, 1, S])); // broadcast over heads and queries
    }
    const attnMask = options.attnMask ?? null;
    if (attnMask !== null) {
      if (attnMask.ndim === 2 && attnMask.shape[0] === T && attnMask.shape[1] === S) masks.push(attnMask.detach());
      else if (attnMask.ndim === 3 && attnMask.shape[0] === B * H && attnMask.shape[1] === T && attnMask.shape[2] === S) {
        masks.push(reshape(attnMask.detach(), [B, H, T, S]));
      } else {
        throw new Error(
          `${name}: attnMask must be (T, S) = [${T}, ${S}] or (B·H, T, S) = [${B * H}, ${T}, ${S}], got ${shapeToString(attnMask.shape)}`,
        );
      }
    }

    // Projections with the three row blocks of the packed weight (views, no copy).
    const projection = (x: Tensor, block: number): Tensor =>
      linearForward(x, narrow(this.inProjWeight, 0, block * E, E), this.inProjBias ? narrow(this.inProjBias, 0, block * E, E) : null);
    const heads = (x: Tensor, length: number): Tensor => permute(reshape(x, [B, length, H, d]), [0, 2, 1, 3]); // (B, H, L, d)
    const Q = heads(projection(q, 0), T); // (B, H, T, d)
    const K = heads(projection(k, 1), S); // (B, H, S, d)
    const V = heads(projection(v, 2), S); // (B, H, S, d)

    const scores = matmul(div(Q, Math.sqrt(d)), transpose(K, -2, -1)); // (B, H, T, S)
    let weights = maskedSoftmax(scores, masks); // (B, H, T, S)
    if (this.training && this.dropout > 0) weights = dropoutOp(weights, this.dropout, true, this.generator);
    const attended = matmul(weights, V); // (B, H, T, d)
    const merged = reshape(permute(attended, [0, 2, 1, 3]), [B, T, E]); // (B, T, E): heads side by side
    const out = this.outProj.forward(merged); // (B, T, E)
    const output = this.batchFirst ? out : transpose(out, 0, 1);

    if (!(options.needWeights ?? true)) return [output, null];
    return [output, (options.averageAttnWeights ?? true) ? mean(weights, 1) : weights]; // (B, T, S) or (B, H, T, S)
  }
}
