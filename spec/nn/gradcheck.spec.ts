/**
 * Gradient checks of every module and nn primitive, in float64, by central differences
 * (src/autograd/gradcheck.ts): with respect to the input AND every parameter. One row per
 * case; a wrong backward rule anywhere in a module turns its row red (the last block proves the
 * check can fail).
 */
import { expect } from "chai";
import { Tensor } from "../../src/tensor/tensor.js";
import { tensor } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import { gradcheck } from "../../src/autograd/gradcheck.js";
import { OpRegistry } from "../../src/autograd/registry.js";
import type { Module } from "../../src/nn/module.js";
import { Linear } from "../../src/nn/linear.js";
import { Sequential, type TensorModule } from "../../src/nn/container.js";
import { GELU, ReLU, Sigmoid, Tanh } from "../../src/nn/activation.js";
import { Flatten, Identity } from "../../src/nn/flatten.js";
import { MLP } from "../../src/nn/mlp.js";
import { BatchNorm1d, BatchNorm2d } from "../../src/nn/batchnorm.js";
import { LayerNorm } from "../../src/nn/layernorm.js";
import { Embedding } from "../../src/nn/embedding.js";
import { Dropout } from "../../src/nn/dropout.js";
import { MultiheadAttention, maskedSoftmax } from "../../src/nn/attention.js";
import { TransformerEncoder, TransformerEncoderLayer } from "../../src/nn/transformer.js";
import { PatchEmbedding, VisionTransformer } from "../../src/nn/vit.js";
import { Conv2d, fold, unfold } from "../../src/nn/conv.js";
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from "../../src/nn/pooling.js";
import { randomLeaf } from "./helpers.js";

interface Row {
  name: string;
  /** Build the module (if any) and the inputs; `fn` maps the inputs to one tensor. */
  build: (g: Generator) => { module?: Module; inputs: Tensor[]; fn: (...inputs: Tensor[]) => Tensor };
  tolerance?: { eps?: number; atol?: number; rtol?: number };
}

const f64 = { dtype: "float64" as const };
const mask = (values: number[][]) => tensor(values, f64);

/** A module's forward as a gradcheck function of [input, ...parameters]. */
function moduleRow(name: string, make: (g: Generator) => TensorModule, inputShape: number[], scale = 1): Row {
  return {
    name,
    build: (g) => {
      const module = make(g);
      const x = randomLeaf(inputShape, g, scale);
      return { module, inputs: [x, ...module.parameters()], fn: (input) => module.forward(input) };
    },
  };
}

const table: Row[] = [
  moduleRow("Linear (3-D input, bias)", (g) => new Linear(4, 3, { ...f64, generator: g }), [2, 3, 4]),
  moduleRow("Linear (no bias)", (g) => new Linear(4, 3, { bias: false, ...f64, generator: g }), [5, 4]),
  moduleRow(
    "Sequential(Flatten, Linear, Tanh, Linear, Sigmoid, Identity, Linear, GELU, Linear, ReLU)",
    (g) =>
      new Sequential(
        new Flatten(),
        new Linear(6, 5, { ...f64, generator: g }),
        new Tanh(),
        new Linear(5, 5, { ...f64, generator: g }),
        new Sigmoid(),
        new Identity(),
        new Linear(5, 4, { ...f64, generator: g }),
        new GELU(),
        new Linear(4, 3, { ...f64, generator: g }),
        new ReLU(),
      ),
    [4, 2, 3],
  ),
  moduleRow(
    "MLP with BatchNorm1d (training) and GELU",
    (g) => new MLP([4, 6, 3], { activation: "gelu", batchNorm: true, lastBatchNorm: true, ...f64, generator: g }),
    [5, 4],
  ),
  moduleRow("BatchNorm1d training (N, C)", () => affineNoise(new BatchNorm1d(3, f64)), [5, 3], 2),
  moduleRow("BatchNorm1d training (N, C, L)", () => affineNoise(new BatchNorm1d(3, f64)), [2, 3, 4], 2),
  moduleRow("BatchNorm1d training, affine = false", () => new BatchNorm1d(3, { affine: false, ...f64 }), [4, 3], 2),
  moduleRow("BatchNorm1d eval (running statistics)", () => {
    const bn = affineNoise(new BatchNorm1d(3, f64));
    bn.forward(tensor([[1, 2, 3], [-1, 0.5, 2], [0, 4, -2]], f64)); // move the running stats off (0, 1)
    return bn.eval();
  }, [4, 3]),
  moduleRow(
    "BatchNorm1d, trackRunningStats = false, in eval (batch statistics)",
    () => affineNoise(new BatchNorm1d(3, { trackRunningStats: false, ...f64 })).eval(),
    [4, 3],
  ),
  moduleRow("BatchNorm2d training (N, C, H, W)", () => affineNoise(new BatchNorm2d(2, f64)), [2, 2, 3, 3], 2),
  moduleRow("LayerNorm(6) on (2, 3, 6)", () => affineNoise(new LayerNorm(6, f64)), [2, 3, 6], 2),
  moduleRow("LayerNorm([3, 4]) on (2, 3, 4)", () => affineNoise(new LayerNorm([3, 4], f64)), [2, 3, 4], 2),
  moduleRow("LayerNorm without affine", () => new LayerNorm(5, { elementwiseAffine: false, ...f64 }), [3, 5], 2),
  {
    name: "Embedding (repeated indices; gradient scatter-adds)",
    build: (g) => {
      const module = new Embedding(5, 3, { ...f64, generator: g });
      const indices = tensor([[1, 4, 1], [0, 4, 4]], f64);
      return { module, inputs: module.parameters(), fn: () => module.forward(indices) };
    },
  },
  {
    name: "Dropout(0.4) with a fixed mask (re-seeded per call)",
    build: (g) => {
      const x = randomLeaf([4, 5], g);
      return { inputs: [x], fn: (input) => new Dropout(0.4, new Generator(11)).forward(input) };
    },
  },
  {
    name: "maskedSoftmax (partly masked rows and a fully masked row)",
    build: (g) => {
      const x = randomLeaf([2, 3, 4], g);
      const m = tensor([[[0, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 1]], [[0, 0, 0, 0], [1, 0, 1, 0], [0, 1, 1, 1]]], f64);
      return { inputs: [x], fn: (input) => maskedSoftmax(input, [m]) };
    },
  },
  {
    name: "MultiheadAttention self-attention with a key padding mask (one batch item fully padded)",
    build: (g) => {
      const module = new MultiheadAttention(6, 2, { ...f64, generator: g });
      biasNoise(module, g);
      const x = randomLeaf([3, 4, 6], g);
      const padding = mask([[0, 0, 0, 0], [0, 0, 1, 1], [1, 1, 1, 1]]);
      return {
        module,
        inputs: [x, ...module.parameters()],
        fn: (input) => module.forward(input, input, input, { keyPaddingMask: padding })[0],
      };
    },
  },
  {
    name: "MultiheadAttention cross-attention, sequence-first, attnMask + padding (weights as output)",
    build: (g) => {
      const module = new MultiheadAttention(4, 2, { batchFirst: false, ...f64, generator: g });
      biasNoise(module, g);
      const q = randomLeaf([3, 2, 4], g), k = randomLeaf([5, 2, 4], g), v = randomLeaf([5, 2, 4], g);
      const causal = mask([[0, 1, 1, 1, 1], [0, 0, 1, 1, 1], [0, 0, 0, 1, 1]]);
      const padding = mask([[0, 0, 0, 0, 1], [0, 1, 0, 0, 0]]);
      return {
        module,
        inputs: [q, k, v, ...module.parameters()],
        fn: (query, key, value) => {
          const [out, weights] = module.forward(query, key, value, { attnMask: causal, keyPaddingMask: padding });
          return out.sum().add(weights!.mul(weights!).sum()); // both outputs carry gradient
        },
      };
    },
  },
  {
    name: "TransformerEncoderLayer pre-norm, GELU, padding mask",
    build: (g) => {
      const module = new TransformerEncoderLayer(4, 2, { dimFeedforward: 6, ...f64, generator: g });
      biasNoise(module, g);
      const x = randomLeaf([2, 3, 4], g);
      const padding = mask([[0, 0, 1], [0, 0, 0]]);
      return { module, inputs: [x, ...module.parameters()], fn: (input) => module.forward(input, { srcKeyPaddingMask: padding }) };
    },
  },
  {
    name: "TransformerEncoderLayer post-norm, ReLU, attention mask",
    build: (g) => {
      const module = new TransformerEncoderLayer(4, 1, { dimFeedforward: 5, normFirst: false, activation: "relu", ...f64, generator: g });
      biasNoise(module, g);
      const x = randomLeaf([2, 3, 4], g);
      const causal = mask([[0, 1, 1], [0, 0, 1], [0, 0, 0]]);
      return { module, inputs: [x, ...module.parameters()], fn: (input) => module.forward(input, { srcMask: causal }) };
    },
  },
  moduleRow(
    "TransformerEncoder: 2 layers + final LayerNorm",
    (g) =>
      new TransformerEncoder({ dModel: 4, nHead: 2, dimFeedforward: 4, ...f64, generator: g }, 2, {
        norm: affineNoise(new LayerNorm(4, f64)),
      }),
    [2, 3, 4],
  ),
  moduleRow(
    "PatchEmbedding 8×8, patch 4, 2 channels, class token",
    (g) => new PatchEmbedding({ imageSize: 8, patchSize: 4, inChannels: 2, embedDim: 3, ...f64, generator: g }),
    [2, 2, 8, 8],
  ),
  moduleRow(
    "VisionTransformer (cls pooling, head)",
    (g) =>
      new VisionTransformer({
        imageSize: 4,
        patchSize: 2,
        embedDim: 4,
        depth: 1,
        numHeads: 2,
        mlpRatio: 1,
        numClasses: 3,
        ...f64,
        generator: g,
      }),
    [2, 1, 4, 4],
  ),
  moduleRow(
    "VisionTransformer (mean pooling, no head)",
    (g) =>
      new VisionTransformer({
        imageSize: 4,
        patchSize: 2,
        embedDim: 4,
        depth: 1,
        numHeads: 1,
        mlpRatio: 1,
        pool: "mean",
        ...f64,
        generator: g,
      }),
    [2, 1, 4, 4],
  ),
  moduleRow("Conv2d 3×3, stride 1, padding 1", (g) => new Conv2d(2, 3, 3, { padding: 1, ...f64, generator: g }), [2, 2, 5, 4]),
  moduleRow("Conv2d 3×2, stride 2, padding (1, 0)", (g) => new Conv2d(2, 2, [3, 2], { stride: 2, padding: [1, 0], ...f64, generator: g }), [
    2,
    2,
    6,
    5,
  ]),
  moduleRow(
    "Conv2d 2×2, dilation 2, padding 1, no bias",
    (g) => new Conv2d(1, 2, 2, { dilation: 2, padding: 1, bias: false, ...f64, generator: g }),
    [1, 1, 5, 5],
  ),
  {
    name: "unfold (im2col) 3×2, stride (2, 1), padding 1",
    build: (g) => ({ inputs: [randomLeaf([2, 2, 5, 4], g)], fn: (x) => unfold(x, [3, 2], { stride: [2, 1], padding: 1 }) }),
  },
  {
    name: "fold (col2im) 3×3, stride 2, padding 1 (overlaps add up)",
    build: (g) => ({ inputs: [randomLeaf([2, 2 * 9, 9], g)], fn: (c) => fold(c, [5, 6], 3, { stride: 2, padding: 1 }) }),
  },
  moduleRow("MaxPool2d(2) (stride 2)", () => new MaxPool2d(2), [2, 2, 4, 5]),
  moduleRow("MaxPool2d(3, stride 2, padding 1)", () => new MaxPool2d(3, 2, 1), [1, 2, 5, 6]),
  moduleRow("AvgPool2d(2, stride 1)", () => new AvgPool2d(2, 1), [2, 1, 4, 3]),
  moduleRow("AvgPool2d(3, stride 2, padding 1), countIncludePad", () => new AvgPool2d(3, 2, 1, true), [1, 2, 5, 6]),
  moduleRow("AvgPool2d(3, stride 2, padding 1), excluding padding", () => new AvgPool2d(3, 2, 1, false), [1, 2, 5, 6]),
  moduleRow("AdaptiveAvgPool2d([3, 2]) on 7×5 (overlapping windows)", () => new AdaptiveAvgPool2d([3, 2]), [2, 2, 7, 5]),
  moduleRow("AdaptiveAvgPool2d(1) (global average pool)", () => new AdaptiveAvgPool2d(1), [2, 3, 3, 4]),
];

/** Move γ, β off their (1, 0) init so that a rule that ignores them cannot pass. */
function affineNoise<M extends Module>(module: M): M {
  const g = new Generator(99);
  for (const p of module.parameters()) {
    const data = p.storage.data;
    for (let i = 0; i < data.length; i++) data[i] += g.normal(0, 0.3);
  }
  return module;
}

/** Zero-initialized biases (attention, LayerNorm) get noise too. */
function biasNoise(module: Module, g: Generator): void {
  for (const [name, p] of module.namedParameters()) {
    if (!/bias|norm/i.test(name)) continue;
    const data = p.storage.data;
    for (let i = 0; i < data.length; i++) data[i] += g.normal(0, 0.3);
  }
}

describe("nn: gradient checks (float64 central differences, w.r.t. inputs and every parameter)", () => {
  for (const row of table) {
    it(row.name, () => {
      const { module, inputs, fn } = row.build(new Generator(20240501));
      if (module) {
        const parameters = module.parameters();
        expect(parameters.every((p) => inputs.includes(p)), "every parameter is checked").to.equal(true);
      }
      expect(gradcheck(fn, inputs, { eps: 1e-6, atol: 1e-6, rtol: 1e-5, ...row.tolerance })).to.equal(true);
    });
  }

  it("the check fails on a deliberately wrong rule (a factor of 2 in a BatchNorm-like primitive)", () => {
    const x = randomLeaf([4, 3], new Generator(1));
    const wrong = new OpRegistry().define("wrongBatchNorm", (input: Tensor) => {
      const out = new BatchNorm1d(3, { affine: false, ...f64 }).forward(input.detach());
      return { output: out, inputs: [input], backward: (g) => [g.mul(2)] };
    });
    expect(() => gradcheck(wrong, [x])).to.throw(/gradcheck/);
  });
});
