/**
 * The table-driven gradient check: every differentiable primitive the library registers
 * (src/autograd/registry.ts) has at least one row, each run on random float64 inputs (fast-check)
 * with shapes that exercise broadcasting. Central differences against the tape's backward.
 *
 * Every row runs in every memory layout: its inputs contiguous, then strided, transposed, sliced
 * out of a larger buffer, and broadcast (an expanded view); and with a strided, transposed and
 * broadcast gradient fed to the last op's rule. A rule or a forward that reads a view as if it
 * were contiguous turns its row red. The last describe blocks show that each of these can fail.
 */
import { expect } from "chai";
import fc from "fast-check";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import ndarray from "ndarray";
import { contiguousStrides } from "../../src/tensor/shape.js";
import * as T from "../../src/index.js";
import { Tensor, gradcheck } from "../../src/index.js";
import { OpRegistry, opRegistry } from "../../src/autograd/registry.js";
import type { OutputGradLayout } from "../../src/autograd/gradcheck.js";
import { tiledDiagonalCrossEntropy } from "../../src/losses/tiled-info-nce.js";
import { ntXentFromSimilarities } from "../../src/losses/nt-xent.js";
import { tiledSigmoidPairs } from "../../src/losses/siglip-loss.js";
import { linearRelu } from "../../src/ops/functional.js";
import { broadcastPairArb, shapeArb, tensorArb, dimSize, type ValueRange } from "../helpers/arbitraries.js";

interface Row {
  /** The registered op this row checks (its name in src/autograd/registry.ts's table). */
  op: string;
  inputs: fc.Arbitrary<Tensor[]>;
  fn: (...inputs: Tensor[]) => Tensor;
  runs?: number;
  /** Tolerances when the default (eps 1e-6, atol 1e-6, rtol 1e-5) does not fit the op. */
  tolerance?: { eps: number; atol: number; rtol: number };
}

/** Add distinct constant offsets, so that no two elements tie (max, min, std have kinks at ties). */
const spread = (x: Tensor): Tensor => x.add(T.arange(x.numel(), undefined, 1, { dtype: "float64" }).mul(0.37).reshape(x.shape));

const unary = (op: string, fn: (x: Tensor) => Tensor, range: ValueRange = {}): Row => ({
  op,
  inputs: shapeArb(0, 3).chain((shape) => tensorArb(shape, range).map((x) => [x])),
  fn,
});

const binary = (op: string, fn: (a: Tensor, b: Tensor) => Tensor, rangeA: ValueRange = {}, rangeB: ValueRange = {}): Row => ({
  op,
  inputs: broadcastPairArb(0, 3).chain(([sa, sb]) => fc.tuple(tensorArb(sa, rangeA), tensorArb(sb, rangeB))),
  fn,
});

const matrix = (rangeValues: ValueRange = {}) => fc.tuple(dimSize, dimSize).chain(([rows, cols]) => tensorArb([rows, cols], rangeValues));

/** Row-wise ops on a (rows, cols) input along a random dim. */
const alongDim = (op: string, fn: (x: Tensor, dim: number) => Tensor, range: ValueRange = {}): Row => ({
  op,
  inputs: shapeArb(1, 3).chain((shape) =>
    fc.tuple(tensorArb(shape, range), fc.integer({ min: -shape.length, max: shape.length - 1 })).map((
      [x, d],
    ) => [x, T.tensor(d, { dtype: "float64" })])
  ),
  fn: (x, d) => fn(x, d.item()),
});

const table: Row[] = [
  binary("add", (a, b) => a.add(b)),
  binary("sub", (a, b) => a.sub(b)),
  binary("mul", (a, b) => a.mul(b)),
  binary("div", (a, b) => a.div(b), {}, { awayFromZero: 0.5 }),
  binary("pow", (a, b) => a.pow(b), { min: 0.5, max: 2 }, { min: -2, max: 2 }),
  unary("pow", (x) => x.pow(3)),
  binary("maximum", (a, b) => a.maximum(b.add(0.37))),
  binary("minimum", (a, b) => a.minimum(b.add(0.37))),
  unary("neg", (x) => x.neg()),
  unary("exp", (x) => x.exp()),
  unary("log", (x) => x.log(), { min: 0.2, max: 3 }),
  unary("sqrt", (x) => x.sqrt(), { min: 0.2, max: 3 }),
  unary("abs", (x) => x.abs(), { awayFromZero: 0.05 }),
  unary("square", (x) => x.square()),
  unary("tanh", (x) => x.tanh()),
  unary("sigmoid", (x) => x.sigmoid(), { min: -6, max: 6 }),
  unary("relu", (x) => x.relu(), { awayFromZero: 0.05 }),
  unary("gelu", (x) => x.gelu(), { min: -4, max: 4 }),
  unary("clamp", (x) => x.clamp(-0.75, 0.8), { awayFromZero: 0.01 }),
  unary("clone", (x) => x.clone()),
  // The float32 round trip rounds to ~1e-7, so this row needs a large step.
  { ...unary("to", (x) => x.to("float32").mul(3).to("float64").add(x)), tolerance: { eps: 1e-2, atol: 1e-4, rtol: 1e-4 } },
  unary("sum", (x) => x.sum()),
  alongDim("sum", (x, d) => x.sum(d, true)),
  alongDim("sum", (x, d) => x.mean(d)),
  unary("max", (x) => spread(x).max()),
  alongDim("max", (x, d) => spread(x).max(d)),
  alongDim("min", (x, d) => spread(x).min(d, true)),
  alongDim("sum", (x, d) => (x.size(d) > 1 ? x.var(d) : x.sum(d))),
  alongDim("sum", (x, d) => (x.size(d) > 1 ? spread(x).std(d, { unbiased: false }) : x.sum(d))),
  unary("sqrt", (x) => (x.numel() > 0 ? x.norm() : x.sum()), { awayFromZero: 0.1 }),
  alongDim("logsumexp", (x, d) => x.logsumexp(d)),
  alongDim("softmax", (x, d) => x.softmax(d)),
  alongDim("logSoftmax", (x, d) => x.logSoftmax(d)),
  alongDim("normalize", (x, d) => T.normalize(x, { dim: d }), { awayFromZero: 0.1 }),
  alongDim("normalize", (x, d) => T.normalize(x, { dim: d, p: 3 }), { awayFromZero: 0.1 }),
  {
    op: "matmul",
    inputs: fc.tuple(dimSize, dimSize, dimSize).chain(([m, k, n]) => fc.tuple(tensorArb([m, k]), tensorArb([k, n]))),
    fn: (a, b) => a.matmul(b),
  },
  {
    op: "matmul",
    // batched with a broadcast batch dim, and a transposed (strided) right operand
    inputs: fc.tuple(dimSize, dimSize, dimSize, dimSize).chain(([batch, m, k, n]) =>
      fc.tuple(tensorArb([batch, m, k]), tensorArb([1, n, k]))
    ),
    fn: (a, b) => a.matmul(b.transpose(1, 2)),
  },
  {
    op: "matmul",
    inputs: fc.tuple(dimSize, dimSize).chain(([m, k]) => fc.tuple(tensorArb([m, k]), tensorArb([k]))),
    fn: (a, v) => a.matmul(v),
  },
  unary("permute", (x) => (x.ndim >= 2 ? x.transpose(0, -1).mul(x.transpose(0, -1)) : x.mul(2))),
  unary("permute", (x) => x.permute(x.shape.map((_, i) => x.ndim - 1 - i))),
  unary("reshape", (x) => x.reshape(-1)),
  unary("reshape", (x) => (x.ndim >= 2 ? x.transpose(0, 1).reshape(-1) : x.reshape(-1))),
  unary("reshape", (x) => x.unsqueeze(0).flatten()),
  unary("expand", (x) => x.unsqueeze(0).expand([3, ...x.shape])),
  alongDim("slice", (x, d) => x.narrow(d, 0, Math.max(1, x.size(d) - 1))),
  alongDim("slice", (x, d) => x.slice(d, 1, undefined, 2)),
  alongDim("slice", (x, d) => x.select(d, -1)),
  {
    op: "cat",
    inputs: fc.tuple(dimSize, dimSize, dimSize).chain(([r1, r2, c]) => fc.tuple(tensorArb([r1, c]), tensorArb([r2, c]))),
    fn: (a, b) => T.cat([a, b.mul(2), a], 0),
  },
  {
    op: "cat",
    inputs: fc.tuple(dimSize, dimSize).chain(([r, c]) => fc.tuple(tensorArb([r, c]), tensorArb([r, c]))),
    fn: (a, b) => T.stack([a, b], 1),
  },
  {
    op: "indexSelect",
    inputs: fc.tuple(dimSize, dimSize).chain(([r, c]) => tensorArb([r, c]).map((x) => [x])),
    fn: (x) => x.indexSelect(0, [x.shape[0] - 1, 0, x.shape[0] - 1]),
  },
  {
    op: "gather",
    inputs: fc.tuple(dimSize, dimSize).chain(([r, c]) =>
      fc.tuple(tensorArb([r, c]), fc.array(fc.integer({ min: 0, max: c - 1 }), { minLength: r * 2, maxLength: r * 2 })).map(([x, idx]) => [
        x,
        T.tensor(idx, { shape: [r, 2], dtype: "float64" }),
      ])
    ),
    fn: (x, idx) => x.gather(1, idx),
  },
  {
    op: "where",
    inputs: broadcastPairArb(1, 3).chain(([sa, sb]) => fc.tuple(tensorArb(sa), tensorArb(sb))),
    fn: (a, b) => T.where(a.detach().sub(0.1).relu(), a, b),
  },
  {
    op: "maskedFill",
    inputs: matrix().map((x) => [x]),
    fn: (x) => x.maskedFill(x.detach().sub(0.3).relu(), -5),
  },
  {
    op: "crossEntropy",
    inputs: fc.tuple(dimSize, fc.integer({ min: 2, max: 5 })).chain(([n, c]) =>
      fc.tuple(
        tensorArb([n, c], { min: -3, max: 3 }),
        fc.array(fc.integer({ min: 0, max: c - 1 }), { minLength: n, maxLength: n }),
        fc.constantFrom(0, 0.1),
      ).map(
        ([x, labels, smoothing]) => [x, T.tensor(labels, { dtype: "float64" }), T.tensor(smoothing, { dtype: "float64" })],
      )
    ),
    fn: (x, labels, smoothing) => T.crossEntropy(x, labels, { labelSmoothing: smoothing.item(), reduction: "none" }),
  },
  {
    op: "crossEntropy",
    inputs: fc.tuple(dimSize, fc.integer({ min: 2, max: 5 })).chain(([n, c]) =>
      fc.tuple(tensorArb([n, c]), fc.array(fc.integer({ min: 0, max: c - 1 }), { minLength: n, maxLength: n })).map((
        [x, labels],
      ) => [x, T.tensor(labels, { dtype: "float64" })])
    ),
    fn: (x, labels) => T.crossEntropy(x, labels),
  },
  {
    op: "linear",
    // y = x Wᵀ + b, the fused primitive of F.linear / nn.Linear
    inputs: fc.tuple(dimSize, dimSize, dimSize).chain(([m, k, n]) => fc.tuple(tensorArb([m, k]), tensorArb([n, k]), tensorArb([n]))),
    fn: (x, weight, bias) => T.linear(x, weight, bias),
  },
  {
    op: "linear",
    // no bias, leading dims folded into rows
    inputs: fc.tuple(dimSize, dimSize, dimSize).chain(([m, k, n]) => fc.tuple(tensorArb([2, m, k]), tensorArb([n, k]))),
    fn: (x, weight) => T.linear(x, weight),
  },
  {
    op: "linear",
    // relu(x Wᵀ + b) in one op (MLP's Linear + ReLU); the bias is kept away from 0 so y stays off the kink
    inputs: fc.tuple(dimSize, dimSize, dimSize).chain(([m, k, n]) =>
      fc.tuple(tensorArb([m, k], { min: -1, max: 1 }), tensorArb([n, k], { min: -1, max: 1 }), tensorArb([n], { awayFromZero: 0.3 }))
    ),
    fn: (x, weight, bias) => linearRelu(x, weight, bias),
  },
  {
    op: "ntXentFromSimilarities",
    // S/τ with the masked diagonal, log-softmax and CE at pos(i), in one op
    inputs: fc.integer({ min: 1, max: 3 }).chain((n) => tensorArb([2 * n, 2 * n]).map((s) => [s])),
    fn: (similarities) => ntXentFromSimilarities(similarities, 0.7),
  },
  {
    op: "ntXentFromSimilarities",
    // through ntXent: normalize, cat, z zᵀ, then the fused op
    inputs: fc.tuple(fc.integer({ min: 1, max: 3 }), dimSize).chain(([n, d]) =>
      fc.tuple(tensorArb([n, d], { awayFromZero: 0.2 }), tensorArb([n, d], { awayFromZero: 0.2 }))
    ),
    fn: (z1, z2) => T.ntXent(z1, z2, { temperature: 0.3 }),
  },
  {
    op: "mseLoss",
    inputs: shapeArb(1, 3).chain((shape) => fc.tuple(tensorArb(shape), tensorArb(shape))),
    fn: (a, b) => T.mseLoss(a, b),
  },
  // ---- nn primitives ------------------------------------------------------------------------
  {
    op: "batchNorm",
    // training mode: batch statistics, with γ and β; the running statistics are left out (they are not differentiable)
    inputs: fc.tuple(fc.integer({ min: 2, max: 4 }), dimSize, fc.constantFrom([], [3])).chain(([n, c, rest]) =>
      fc.tuple(tensorArb([n, c, ...rest]), tensorArb([c], { min: 0.5, max: 1.5 }), tensorArb([c]))
    ),
    fn: (x, weight, bias) => T.batchNorm(x, { weight, bias, training: true }),
  },
  {
    op: "batchNorm",
    // eval mode with fixed running statistics
    inputs: fc.tuple(dimSize, dimSize).chain(([n, c]) => fc.tuple(tensorArb([n, c]), tensorArb([c]), tensorArb([c]))),
    fn: (x, weight, bias) =>
      T.batchNorm(x, {
        weight,
        bias,
        training: false,
        runningMean: T.full([x.shape[1]], 0.3, { dtype: "float64" }),
        runningVar: T.full([x.shape[1]], 1.7, { dtype: "float64" }),
      }),
  },
  {
    op: "layerNorm",
    inputs: fc.tuple(dimSize, fc.integer({ min: 2, max: 4 }), fc.integer({ min: 2, max: 4 })).chain(([n, r, c]) =>
      fc.tuple(tensorArb([n, r, c]), tensorArb([c], { min: 0.5, max: 1.5 }), tensorArb([c]))
    ),
    fn: (x, weight, bias) => T.layerNorm(x, [x.shape[2]], weight, bias),
  },
  {
    op: "layerNorm",
    inputs: fc.tuple(dimSize, fc.integer({ min: 2, max: 3 }), fc.integer({ min: 2, max: 3 })).chain(([n, r, c]) =>
      tensorArb([n, r, c]).map((x) => [x])
    ),
    fn: (x) => T.layerNorm(x, x.shape.slice(1)),
  },
  {
    op: "embedding",
    // repeated indices: the rule scatter-adds (a padding row gets no gradient by definition, so none here)
    inputs: fc.tuple(fc.integer({ min: 2, max: 5 }), dimSize).chain(([rows, d]) => tensorArb([rows, d]).map((w) => [w])),
    fn: (weight) => T.embedding([1, weight.shape[0] - 1, 1, 0, 1, 0], weight, [2, 3]),
  },
  {
    op: "maskedSoftmax",
    inputs: fc.tuple(dimSize, fc.integer({ min: 2, max: 4 })).chain(([r, c]) =>
      fc.tuple(tensorArb([2, r, c]), fc.array(fc.boolean(), { minLength: r * c, maxLength: r * c })).map(([x, masked]) => [
        x,
        T.tensor(masked.map((m) => (m ? 1 : 0)), { shape: [r, c], dtype: "float64" }),
      ])
    ),
    fn: (x, mask) => T.maskedSoftmax(x, [mask]),
  },
  {
    op: "unfold",
    inputs: fc.tuple(dimSize, dimSize).chain(([n, c]) => tensorArb([n, c, 5, 4]).map((x) => [x])),
    fn: (x) => T.unfold(x, [3, 2], { stride: [2, 1], padding: 1 }),
  },
  {
    op: "fold",
    inputs: fc.tuple(dimSize, dimSize).chain(([n, c]) => tensorArb([n, c * 9, 9]).map((x) => [x])),
    fn: (cols) => T.fold(cols, [5, 6], 3, { stride: 2, padding: 1 }),
  },
  {
    op: "conv2d",
    inputs: fc.tuple(dimSize, dimSize, dimSize).chain(([n, c, cOut]) =>
      fc.tuple(tensorArb([n, c, 5, 4]), tensorArb([cOut, c, 3, 2]), tensorArb([cOut]))
    ),
    fn: (x, weight, bias) => T.conv2d(x, weight, bias, { stride: [2, 1], padding: 1 }),
  },
  {
    op: "conv2d",
    inputs: fc.tuple(dimSize, dimSize).chain(([c, cOut]) => fc.tuple(tensorArb([2, c, 5, 5]), tensorArb([cOut, c, 2, 2]))),
    fn: (x, weight) => T.conv2d(x, weight, null, { dilation: 2, padding: 1 }),
  },
  {
    op: "maxPool2d",
    inputs: fc.tuple(dimSize, dimSize).chain(([n, c]) => tensorArb([n, c, 5, 6]).map((x) => [x])),
    fn: (x) => T.maxPool2d(spread(x), 3, { stride: 2, padding: 1 }),
  },
  {
    op: "avgPool2d",
    inputs: fc.tuple(dimSize, dimSize, fc.boolean()).chain(([n, c, includePad]) =>
      tensorArb([n, c, 5, 6]).map((x) => [x, T.tensor(includePad ? 1 : 0, { dtype: "float64" })])
    ),
    fn: (x, includePad) => T.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: includePad.item() === 1 }),
  },
  {
    op: "adaptiveAvgPool2d",
    inputs: fc.tuple(dimSize, dimSize).chain(([n, c]) => tensorArb([n, c, 7, 5]).map((x) => [x])),
    fn: (x) => T.adaptiveAvgPool2d(x, [3, 2]),
  },
  // ---- loss primitives ----------------------------------------------------------------------
  {
    op: "tiledDiagonalCrossEntropy",
    // rows only (InfoNCE), a fixed scale, tiles that do not divide N
    inputs: fc.tuple(fc.integer({ min: 1, max: 5 }), dimSize).chain(([n, d]) => fc.tuple(tensorArb([n, d]), tensorArb([n, d]))),
    fn: (q, k) => tiledDiagonalCrossEntropy(q, k, 1.7, 2, false),
  },
  {
    op: "tiledDiagonalCrossEntropy",
    // both directions (CLIP), a learnable scale (a 0-d tensor)
    inputs: fc.tuple(fc.integer({ min: 1, max: 5 }), dimSize).chain(([n, d]) =>
      fc.tuple(tensorArb([n, d]), tensorArb([n, d]), tensorArb([], { min: 0.5, max: 2 }))
    ),
    fn: (q, k, scale) => tiledDiagonalCrossEntropy(q, k, scale, 3, true),
  },
  // ---- family B losses (composites of the ops above; each checked as a whole) ------------------
  {
    op: "vicregLoss",
    // N ≥ 2 (unbiased variance); values in ±2 so that some dims have std < 1 (hinge on) and some > 1
    inputs: fc.tuple(fc.integer({ min: 2, max: 5 }), fc.integer({ min: 2, max: 4 })).chain(([n, d]) =>
      fc.tuple(tensorArb([n, d]), tensorArb([n, d]))
    ),
    fn: (z1, z2) => T.vicregLoss(z1, z2),
  },
  {
    op: "simsiamLoss",
    // p1, p2 differentiable; z1, z2 enter as constants (stop-gradient: spec/losses/family-b.spec.ts checks they get no gradient)
    inputs: fc.tuple(dimSize, dimSize).chain(([n, d]) =>
      fc.tuple(...[0, 1, 2, 3].map(() => tensorArb([n, d], { awayFromZero: 0.2 }))).map((
        [p1, p2, z1, z2],
      ) => [p1, p2, z1.detach(), z2.detach()])
    ),
    fn: (p1, p2, z1, z2) => T.simsiamLoss(p1, p2, z1, z2),
  },
  {
    op: "dinoLoss",
    // two student views (N, K) differentiable; the teacher's outputs and the center (1, K) are constants
    inputs: fc.tuple(dimSize, fc.integer({ min: 2, max: 4 })).chain(([n, k]) =>
      fc.tuple(tensorArb([n, k]), tensorArb([n, k]), tensorArb([n, k]), tensorArb([n, k]), tensorArb([1, k])).map((
        [s1, s2, t1, t2, center],
      ) => [s1, s2, t1.detach(), t2.detach(), center.detach()])
    ),
    fn: (s1, s2, t1, t2, center) => T.dinoLoss([s1, s2], [t1, t2], center, { studentTemperature: 0.5, teacherTemperature: 0.3 }),
  },
  {
    op: "swavLoss",
    // The codes are constants (Sinkhorn runs off the tape), so central differences of swavLoss itself,
    // which recompute the codes at each perturbed input, are not its gradient. The row passes the codes of
    // the unperturbed scores as constant inputs: ½[ℓ(q₂, s₁) + ℓ(q₁, s₂)] is what swavLoss differentiates
    // (spec/losses/family-b.spec.ts checks swavLoss's backward equals this one's, bit for bit).
    inputs: fc.tuple(dimSize, fc.integer({ min: 2, max: 4 })).chain(([n, k]) =>
      fc.tuple(tensorArb([n, k], { min: -1, max: 1 }), tensorArb([n, k], { min: -1, max: 1 })).map((
        [s1, s2],
      ) => [s1, s2, T.sinkhornKnopp(s1), T.sinkhornKnopp(s2)])
    ),
    fn: (s1, s2, q1, q2) => T.swappedPrediction(q2, s1).add(T.swappedPrediction(q1, s2)).mul(0.5),
  },
  // ---- SupCon, DCL/DCLW, SigLIP, Barlow Twins -------------------------------------
  unary("logSigmoid", (x) => T.logSigmoid(x), { min: -8, max: 8 }),
  {
    op: "tiledSigmoidPairs",
    // SigLIP's pairs in tiles that do not divide N, numbers t and b
    inputs: fc.tuple(fc.integer({ min: 1, max: 5 }), dimSize).chain(([n, d]) => fc.tuple(tensorArb([n, d]), tensorArb([n, d]))),
    fn: (image, text) => tiledSigmoidPairs(image, text, 1.7, -0.8, 2),
  },
  {
    op: "tiledSigmoidPairs",
    // through tiledSigLipLoss: normalize, learnable t′ (through exp) and b as 0-d tensors
    inputs: fc.tuple(fc.integer({ min: 1, max: 5 }), dimSize).chain(([n, d]) =>
      fc.tuple(
        tensorArb([n, d], { awayFromZero: 0.2 }),
        tensorArb([n, d], { awayFromZero: 0.2 }),
        tensorArb([], { min: -1, max: 1.5 }),
        tensorArb([], { min: -3, max: 1 }),
      )
    ),
    fn: (image, text, scale, bias) => T.tiledSigLipLoss(image, text, { logitScale: scale, logitBias: bias, tileSize: 3 }),
  },
  {
    op: "sigLipLoss",
    inputs: fc.tuple(fc.integer({ min: 1, max: 4 }), dimSize).chain(([n, d]) =>
      fc.tuple(
        tensorArb([n, d], { awayFromZero: 0.2 }),
        tensorArb([n, d], { awayFromZero: 0.2 }),
        tensorArb([], { min: -1, max: 1.5 }),
        tensorArb([], { min: -3, max: 1 }),
      )
    ),
    fn: (image, text, scale, bias) => T.sigLipLoss(image, text, { logitScale: scale, logitBias: bias }),
  },
  {
    op: "supConLoss",
    // labels 0, 1, 0, 1, …: every anchor has positives of both kinds (its other view, other images)
    inputs: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), dimSize).chain(([n, v, d]) =>
      tensorArb([n, v + (n === 1 ? 1 : 0), d], { awayFromZero: 0.2 }).map((f) => [f])
    ),
    fn: (features) => T.supConLoss(features, Array.from({ length: features.shape[0] }, (_, i) => i % 2), { temperature: 0.5 }),
  },
  {
    op: "dclLoss",
    inputs: fc.tuple(fc.integer({ min: 2, max: 4 }), dimSize).chain(([n, d]) =>
      fc.tuple(tensorArb([n, d], { awayFromZero: 0.2 }), tensorArb([n, d], { awayFromZero: 0.2 }))
    ),
    fn: (z1, z2) => T.dclLoss(z1, z2, { temperature: 0.5 }),
  },
  {
    op: "dclwLoss",
    // the vMF weights depend on the features: their gradient is part of the check
    inputs: fc.tuple(fc.integer({ min: 2, max: 4 }), dimSize).chain(([n, d]) =>
      fc.tuple(tensorArb([n, d], { awayFromZero: 0.2 }), tensorArb([n, d], { awayFromZero: 0.2 }))
    ),
    fn: (z1, z2) => T.dclwLoss(z1, z2, { temperature: 0.5, sigma: 0.5 }),
  },
  {
    op: "barlowTwinsLoss",
    // spread: rows differ, so every dimension has a variance well away from 0
    inputs: fc.tuple(fc.integer({ min: 2, max: 4 }), dimSize).chain(([n, d]) => fc.tuple(tensorArb([n, d]), tensorArb([n, d]))),
    fn: (z1, z2) => T.barlowTwinsLoss(spread(z1), spread(z2), { lambda: 0.3 }),
  },
];

type InputLayout = "strided" | "transposed" | "sliced" | "broadcast";
const INPUT_LAYOUTS: InputLayout[] = ["strided", "transposed", "sliced", "broadcast"];
const OUTPUT_GRAD_LAYOUTS: OutputGradLayout[] = ["strided", "transposed", "broadcast"];

/** A leaf with the values and shape of `t`, stored in `layout` (a view into a larger buffer). */
function leafInLayout(t: Tensor, layout: Exclude<InputLayout, "broadcast">): Tensor {
  const shape = t.shape;
  const rank = shape.length;
  let strides: number[];
  let offset: number;
  let size: number;
  if (layout === "strided") {
    strides = contiguousStrides(shape).map((s) => 2 * s); // every other element
    offset = 1;
    size = 2 * t.numel() + 1;
  } else if (layout === "transposed") {
    strides = contiguousStrides(shape.slice().reverse()).reverse(); // column-major
    offset = 0;
    size = t.numel();
  } else {
    const padded = shape.map((d) => d + 2); // the view is the interior of a tensor one larger on every side
    strides = contiguousStrides(padded);
    offset = strides.reduce((p, s) => p + s, 0);
    size = padded.reduce((p, d) => p * d, 1);
  }
  const buffer = new Float64Array(size).fill(Number.NaN); // reading outside the view gives NaN
  const view = ndarray(buffer, shape, strides, offset);
  const values = t.toTypedArray();
  const index = new Array<number>(rank).fill(0);
  for (let i = 0; i < values.length; i++) {
    view.set(...index, values[i]);
    for (let axis = rank - 1; axis >= 0; axis--) {
      if (++index[axis] < shape[axis]) break;
      index[axis] = 0;
    }
  }
  return new Tensor(view, true);
}

/**
 * The row's function and inputs with every differentiable input in `layout`. For "broadcast" the
 * leaf is the first slice along the input's first axis of size > 1, and the function sees it
 * expanded back (stride 0 along that axis); an input with no such axis stays as it is.
 */
function inLayout(row: Row, inputs: Tensor[], layout: InputLayout): { fn: (...inputs: Tensor[]) => Tensor; inputs: Tensor[] } {
  if (layout !== "broadcast") {
    return { fn: row.fn, inputs: inputs.map((t) => (t.requiresGrad ? leafInLayout(t, layout) : t)) };
  }
  // the axis each input is broadcast along: its first of size > 1 (-1: the input stays as it is)
  const axes = inputs.map((t) => (t.requiresGrad ? t.shape.findIndex((size) => size > 1) : -1));
  const leaves = inputs.map((t, k) => (axes[k] < 0 ? t : T.narrow(t.detach(), axes[k], 0, 1).clone().requiresGrad_()));
  const shapes = inputs.map((t) => t.shape);
  return { fn: (...args) => row.fn(...args.map((t, k) => (axes[k] < 0 ? t : t.expand(shapes[k])))), inputs: leaves };
}

const TOLERANCE = { eps: 1e-6, atol: 1e-6, rtol: 1e-5 };
const describeRow = (row: Row) => `${row.op}: ${row.fn.toString().replace(/\s+/g, " ").slice(0, 70)}`;

describe("gradient check table (float64, central differences)", () => {
  for (const row of table) {
    it(describeRow(row), () => {
      fc.assert(
        fc.property(row.inputs, (inputs) => {
          gradcheck(row.fn, inputs, row.tolerance ?? TOLERANCE);
        }),
        { numRuns: row.runs ?? 12 },
      );
    });
  }
});

describe("gradient check table in every memory layout", () => {
  for (const row of table) {
    it(describeRow(row), () => {
      fc.assert(
        fc.property(
          row.inputs,
          fc.constantFrom(...INPUT_LAYOUTS),
          fc.constantFrom(...OUTPUT_GRAD_LAYOUTS),
          (inputs, layout, gradLayout) => {
            const variant = inLayout(row, inputs, layout);
            gradcheck(variant.fn, variant.inputs, row.tolerance ?? TOLERANCE);
            gradcheck(row.fn, inputs, { ...(row.tolerance ?? TOLERANCE), outputGradLayout: gradLayout });
          },
        ),
        {
          numRuns: 8,
          examples: INPUT_LAYOUTS.map((
            layout,
            k,
          ) => [fc.sample(row.inputs, { numRuns: 1, seed: k })[0], layout, OUTPUT_GRAD_LAYOUTS[k % 3]]),
        },
      );
    });
  }
});

/** The ops of `registry` that no row of the table checks. */
function opsWithoutRow(registry: OpRegistry): string[] {
  const checked = new Set(table.map((row) => row.op));
  return registry.names().filter((op) => !checked.has(op));
}

describe("every registered op has a gradient-check row", () => {
  it("a newly registered op without a row is reported by name", () => {
    const registry = new OpRegistry();
    registry.define("add", (x: Tensor) => ({ unchanged: x }));
    registry.define("cube", (x: Tensor) => ({ output: x.pow(3), inputs: [x], backward: (g) => [g.mul(x.square()).mul(3)] }));
    expect(opsWithoutRow(registry)).to.deep.equal(["cube"]);
  });

  it("a name can be registered once", () => {
    expect(() => opRegistry.define("add", (x: Tensor) => ({ unchanged: x }))).to.throw(/defineOp: an op named 'add' is already registered/);
  });

  it("the table names every op in the registry (src/ops, src/nn, src/losses)", () => {
    const missing = opsWithoutRow(opRegistry);
    expect(missing, `registered ops without a gradcheck row: ${missing.join(", ")}`).to.deep.equal([]);
    expect(opRegistry.names().length).to.be.greaterThan(45);
  });

  it("every row names a registered op or a composite made of them", () => {
    // rows that check a composite as a whole
    const composites = new Set([
      "mseLoss",
      "vicregLoss",
      "simsiamLoss",
      "dinoLoss",
      "swavLoss",
      "sigLipLoss",
      "supConLoss",
      "dclLoss",
      "dclwLoss",
      "barlowTwinsLoss",
    ]);
    const unknown = [...new Set(table.map((row) => row.op))].filter((op) => !opRegistry.has(op) && !composites.has(op));
    expect(unknown, `rows naming no registered op: ${unknown.join(", ")}`).to.deep.equal([]);
  });

  it("only the registry appends to the tape, so no op can record without registering", () => {
    const srcDir = new URL("../../../src/", import.meta.url).pathname;
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((
        name,
      ) => (statSync(join(dir, name)).isDirectory() ? files(join(dir, name)) : name.endsWith(".ts") ? [join(dir, name)] : []));
    const callers = files(srcDir)
      .filter((file) =>
        /import\s*\{[^}]*\brecord\b[^}]*\}\s*from\s*"[./]*autograd\/tape\.js"|import\s*\{[^}]*\brecord\b[^}]*\}\s*from\s*"\.\/tape\.js"/
          .test(readFileSync(file, "utf8"))
      )
      .map((file) => relative(srcDir, file));
    expect(callers).to.deep.equal(["autograd/registry.ts"]);
  });
});

describe("gradcheck itself", () => {
  const scratch = new OpRegistry(); // throwaway ops, kept out of the library's registry
  it("rejects a wrong rule (a gradient off by a factor of 2)", () => {
    const badSquare = scratch.define(
      "badSquare",
      (x: Tensor) => ({ output: T.noGrad(() => x.mul(x)), inputs: [x], backward: (g) => [g.mul(x)] }),
    );
    const x = T.tensor([0.3, -1.2, 2], { dtype: "float64", requiresGrad: true });
    expect(() => gradcheck(badSquare, [x])).to.throw(/gradcheck: 3 gradient element\(s\) differ/);
  });

  it("rejects a rule that mixes up elements (a transposed gradient)", () => {
    const badTranspose = scratch.define("badTranspose", (x: Tensor) => ({
      output: T.noGrad(() => x.mul(1)),
      inputs: [x],
      backward: (g) => [g.t().contiguous().reshape(x.shape)],
    }));
    const x = T.tensor([[1, 2, 3], [4, 5, 6]], { dtype: "float64", requiresGrad: true });
    expect(() => gradcheck(badTranspose, [x])).to.throw(/gradcheck/);
  });

  // relu whose rules assume contiguous memory: the kind of bug the layout rows exist for
  const reluReadingGradientLinearly = scratch.define("reluReadingGradientLinearly", (x: Tensor) => {
    const out = T.noGrad(() => x.relu());
    return {
      output: out,
      inputs: [x],
      backward: (g) => {
        const { data, offset } = g.storage; // wrong: ignores g's strides
        const mask = out.toTypedArray();
        return [T.tensor(Array.from(mask, (v, i) => (v > 0 ? data[offset + i] : 0)), { shape: x.shape, dtype: "float64" })];
      },
    };
  });
  const reluReadingInputLinearly = scratch.define("reluReadingInputLinearly", (x: Tensor) => {
    const { data, offset } = x.storage; // wrong: ignores x's strides
    const values = Array.from({ length: x.numel() }, (_, i) => Math.max(data[offset + i], 0));
    const out = T.tensor(values, { shape: x.shape, dtype: "float64" });
    return { output: out, inputs: [x], backward: (g) => [g.mul(T.sign(out))] };
  });
  const matrixInput = () => T.tensor([[0.5, -1.2, 2], [1.1, 0.7, -0.3]], { dtype: "float64", requiresGrad: true });

  it("catches a rule that reads a strided or transposed upstream gradient as contiguous", () => {
    expect(gradcheck(reluReadingGradientLinearly, [matrixInput()])).to.equal(true); // invisible with a contiguous gradient
    for (const outputGradLayout of ["strided", "transposed"] as const) {
      expect(() => gradcheck(reluReadingGradientLinearly, [matrixInput()], { outputGradLayout })).to.throw(
        /gradcheck: \d+ gradient element/,
      );
    }
  });

  it("catches a forward that reads a strided, transposed or sliced input as contiguous", () => {
    expect(gradcheck(reluReadingInputLinearly, [matrixInput()])).to.equal(true);
    const row: Row = { op: "reluReadingInputLinearly", inputs: fc.constant([matrixInput()]), fn: reluReadingInputLinearly };
    for (const layout of ["strided", "transposed", "sliced"] as const) {
      const variant = inLayout(row, [matrixInput()], layout);
      expect(variant.inputs[0].isContiguous(), layout).to.equal(false);
      expect(() => gradcheck(variant.fn, variant.inputs), layout).to.throw(/gradcheck/);
    }
  });

  it("checks a broadcast input through the tensor it was expanded from, and refuses the expanded view itself", () => {
    const row: Row = { op: "relu", inputs: fc.constant([matrixInput()]), fn: (x) => x.relu().mul(x) };
    const variant = inLayout(row, [matrixInput()], "broadcast");
    expect(variant.inputs[0].shape).to.deep.equal([1, 3]);
    expect(gradcheck(variant.fn, variant.inputs)).to.equal(true);
    const expandedLeaf = new Tensor(ndarray(new Float64Array([1, 2, 3]), [2, 3], [0, 1], 0), true);
    expect(() => gradcheck((x) => x.mul(2), [expandedLeaf])).to.throw(
      /gradcheck: input 0 \(shape \[2, 3\], strides \[0, 1\]\) has elements that share memory/,
    );
  });

  it("refuses float32 inputs", () => {
    const x = T.tensor([1, 2], { requiresGrad: true });
    expect(() => gradcheck((t) => t.mul(t), [x])).to.throw(/float64/);
  });
});
