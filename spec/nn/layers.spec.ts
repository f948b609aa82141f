/**
 * Layer behaviour beyond the gradient and PyTorch-parity checks: running statistics, masking,
 * seeded dropout, padding rows, the conv = unfold·matmul identity, error messages.
 */
import { expect } from "chai";
import fc from "fast-check";
import { Tensor } from "../../src/tensor/tensor.js";
import { tensor, zeros, randn } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import { matmul } from "../../src/ops/matmul.js";
import { BatchNorm1d, BatchNorm2d } from "../../src/nn/batchnorm.js";
import { LayerNorm } from "../../src/nn/layernorm.js";
import { Dropout } from "../../src/nn/dropout.js";
import { Embedding } from "../../src/nn/embedding.js";
import { MultiheadAttention } from "../../src/nn/attention.js";
import { TransformerEncoderLayer } from "../../src/nn/transformer.js";
import { PatchEmbedding, VisionTransformer } from "../../src/nn/vit.js";
import { Conv2d, conv2d, fold, unfold } from "../../src/nn/conv.js";
import { AdaptiveAvgPool2d, MaxPool2d, AvgPool2d, maxPool2d } from "../../src/nn/pooling.js";
import { Linear } from "../../src/nn/linear.js";
import { IMAGE_SIDE, NUM_CLASSES } from "../../src/data/mnist.js";
import { expectClose, randomLeaf } from "./helpers.js";

const f64 = { dtype: "float64" as const };
const values = (t: Tensor) => Array.from(t.toTypedArray());

describe("nn: layer behaviour", () => {
  describe("BatchNorm", () => {
    it("momentum = null: the running statistics are the cumulative average of the batch statistics", () => {
      const bn = new BatchNorm1d(2, { momentum: null, ...f64 });
      const batches = [tensor([[1, 2], [3, 6]], f64), tensor([[0, 0], [2, 4]], f64), tensor([[5, 1], [7, 1]], f64)];
      for (const batch of batches) bn.forward(batch);
      // means (2, 4), (1, 2), (6, 1) → average (3, 7/3); unbiased vars (2, 8), (2, 8), (2, 0) → (2, 16/3)
      expectClose(bn.runningMean, tensor([3, 7 / 3], f64), "runningMean", 1e-14);
      expectClose(bn.runningVar, tensor([2, 16 / 3], f64), "runningVar", 1e-14);
      expect(bn.numBatchesTracked!.item()).to.equal(3);
    });

    it("eval: y = (x − runningMean)/√(runningVar + eps)·γ + β", () => {
      const bn = new BatchNorm2d(2, { eps: 1e-3, ...f64 });
      bn.loadStateDict({
        weight: tensor([2, -1], f64),
        bias: tensor([0.5, 0], f64),
        runningMean: tensor([1, -1], f64),
        runningVar: tensor([4, 0.25], f64),
        numBatchesTracked: zeros([], f64),
      });
      bn.eval();
      const x = tensor([[[[3]], [[0]]]], f64); // (1, 2, 1, 1)
      expectClose(bn.forward(x), tensor([[[[2 * 2 / Math.sqrt(4.001) + 0.5]], [[-1 / Math.sqrt(0.251)]]]], f64), "eval", 1e-14);
    });

    it("trackRunningStats = false: no buffers, batch statistics even in eval", () => {
      const bn = new BatchNorm1d(2, { trackRunningStats: false, ...f64 }).eval();
      const y = bn.forward(tensor([[1, 10], [3, 30]], f64));
      expectClose(y, tensor([[-1, -1], [1, 1]], f64), "normalized", 1e-5);
      expect(bn.runningMean).to.equal(null);
    });

    it("(N, C, L) is normalized per channel over N and L, like (N·L, C)", () => {
      const g = new Generator(3);
      const x = randn([3, 2, 4], g, f64); // (N, C, L)
      const flat = x.permute(0, 2, 1).reshape(12, 2); // (N·L, C)
      const a = new BatchNorm1d(2, f64).forward(x).permute(0, 2, 1).reshape(12, 2);
      expectClose(a, new BatchNorm1d(2, f64).forward(flat), "same normalization", 1e-13, 1e-14);
    });

    it("training on one value per channel is refused, and nothing is updated", () => {
      const bn = new BatchNorm1d(3);
      expect(() => bn.forward(tensor([[1, 2, 3]]))).to.throw(
        /BatchNorm1d: .*expected more than 1 value per channel when training, got input of shape \[1, 3\]/,
      );
      expect(bn.numBatchesTracked!.item()).to.equal(0);
      expect(values(bn.runningMean!)).to.deep.equal([0, 0, 0]);
    });

    it("errors name the expected layout and channel count", () => {
      expect(() => new BatchNorm1d(3).forward(zeros([2, 4]))).to.throw(
        /BatchNorm1d: input of shape \[2, 4\] has 4 channels \(dim 1\), expected numFeatures = 3/,
      );
      expect(() => new BatchNorm2d(3).forward(zeros([2, 3]))).to.throw(/BatchNorm2d: expected 4D \(N, C, H, W\) input, got shape \[2, 3\]/);
      expect(() => new BatchNorm1d(3).forward(zeros([2, 3], f64))).to.throw(/BatchNorm1d: input is float64 .* parameters are float32/);
    });

    it("float32 agrees with float64 to float32 precision", () => {
      const g = new Generator(5);
      const x = randn([16, 4, 3, 3], g, f64);
      const y64 = new BatchNorm2d(4, f64).forward(x);
      expectClose(new BatchNorm2d(4).forward(x.float()), y64, "float32", 1e-5, 1e-5);
    });
  });

  describe("LayerNorm", () => {
    it("each row has mean 0 and (biased) variance 1 before the affine map", () => {
      const y = new LayerNorm(5, { eps: 0, ...f64 }).forward(tensor([[1, 2, 3, 4, 10], [-3, 0, 0, 0, 3]], f64));
      for (const row of y.toArray() as number[][]) {
        const mean = row.reduce((s, v) => s + v, 0) / 5;
        expect(mean).to.be.closeTo(0, 1e-15);
        expect(row.reduce((s, v) => s + v * v, 0) / 5).to.be.closeTo(1, 1e-14);
      }
    });

    it("the input must end in normalizedShape", () => {
      expect(() => new LayerNorm([3, 4]).forward(zeros([2, 4, 3]))).to.throw(
        /LayerNorm: .*input of shape \[2, 4, 3\] does not end in normalizedShape \[3, 4\]/,
      );
    });
  });

  describe("Dropout", () => {
    it("seeded: the same seed gives the same mask, and kept values are scaled by 1/(1 − p)", () => {
      const x = tensor(Array.from({ length: 20000 }, () => 1), f64);
      const a = values(new Dropout(0.3, new Generator(42)).forward(x));
      const b = values(new Dropout(0.3, new Generator(42)).forward(x));
      expect(a).to.deep.equal(b);
      expect(a).to.not.deep.equal(values(new Dropout(0.3, new Generator(43)).forward(x)));
      expect(new Set(a)).to.deep.equal(new Set([0, 1 / 0.7]));
      const dropped = a.filter((v) => v === 0).length / a.length;
      expect(dropped).to.be.closeTo(0.3, 0.015);
      expect(a.reduce((s, v) => s + v, 0) / a.length).to.be.closeTo(1, 0.02); // E[y] = x
    });

    it("successive calls draw new masks from the stream", () => {
      const dropout = new Dropout(0.5, new Generator(1));
      const x = tensor(Array.from({ length: 64 }, () => 1));
      expect(values(dropout.forward(x))).to.not.deep.equal(values(dropout.forward(x)));
    });

    it("eval and p = 0 return the input itself; p = 1 drops everything; the gradient is the mask", () => {
      const x = randomLeaf([3, 4], new Generator(0));
      const dropout = new Dropout(0.5, new Generator(0));
      expect(dropout.eval().forward(x)).to.equal(x);
      expect(new Dropout(0).forward(x)).to.equal(x);
      expect(values(new Dropout(1, new Generator(0)).forward(x)).every((v) => v === 0)).to.equal(true);
      const y = dropout.train().forward(x);
      y.sum().backward();
      values(y).forEach((v, i) => expect(x.grad!.toTypedArray()[i]).to.equal(v === 0 ? 0 : 2));
      expect(() => new Dropout(1.5, new Generator(0))).to.throw(/Dropout: probability p must be in \[0, 1\], got 1.5/);
    });
  });

  describe("Embedding", () => {
    it("(B, L) indices → (B, L, D): a Tensor, or an Int32Array with a shape", () => {
      const embedding = new Embedding(6, 3, { generator: new Generator(0) });
      const y = embedding.forward(tensor([[0, 5], [2, 2]]));
      expect(y.shape).to.deep.equal([2, 2, 3]);
      const w = embedding.weight.toArray() as number[][];
      expect((y.toArray() as number[][][])[0][1]).to.deep.equal(w[5]);
      expect(embedding.forward(new Int32Array([0, 5, 2, 2]), [2, 2]).toArray()).to.deep.equal(y.toArray());
      expect(embedding.forward([1, 2, 3]).shape).to.deep.equal([3, 3]);
    });

    it("the padding row gets no gradient even when it is looked up; negative paddingIdx counts from the end", () => {
      const embedding = new Embedding(5, 2, { paddingIdx: -1, ...f64, generator: new Generator(0) });
      expect(embedding.paddingIdx).to.equal(4);
      embedding.forward(tensor([[4, 1, 4, 1]])).sum().backward();
      expect(embedding.weight.grad!.toArray()).to.deep.equal([[0, 0], [2, 2], [0, 0], [0, 0], [0, 0]]);
    });

    it("out-of-range and non-integer indices are errors", () => {
      const embedding = new Embedding(5, 2, { generator: new Generator(0) });
      expect(() => embedding.forward([0, 5])).to.throw(
        /Embedding: .*index 5 at position 1 is out of range for the embedding table \(numEmbeddings\) of size 5/,
      );
      expect(() => embedding.forward(tensor([1.5]))).to.throw(/index 1.5 at position 0 is not an integer/);
    });
  });

  describe("MultiheadAttention", () => {
    const make = (options: { batchFirst?: boolean; dropout?: number } = {}) =>
      new MultiheadAttention(4, 2, { ...options, ...f64, generator: new Generator(9) });

    it("attention weights are a distribution over the unmasked keys; padded keys get exactly 0", () => {
      const mha = make();
      const x = randomLeaf([2, 3, 4], new Generator(1));
      const [, weights] = mha.forward(x, x, x, { keyPaddingMask: tensor([[0, 0, 1], [0, 0, 0]], f64) });
      const w = weights!.toArray() as number[][][];
      for (const row of [...w[0], ...w[1]]) expect(row.reduce((s, v) => s + v, 0)).to.be.closeTo(1, 1e-14);
      for (const row of w[0]) expect(row[2]).to.equal(0);
    });

    it("a fully padded batch item gives no NaN: zero weights, output = outProj.bias, zero gradient through it", () => {
      const mha = make();
      const bias = mha.outProj.bias!.storage.data;
      bias.set([0.1, -0.2, 0.3, 0.4]);
      const x = randomLeaf([2, 3, 4], new Generator(2));
      const [out, weights] = mha.forward(x, x, x, { keyPaddingMask: tensor([[1, 1, 1], [0, 1, 0]], f64) });
      expect(values(out).some(Number.isNaN)).to.equal(false);
      for (const row of (out.toArray() as number[][][])[0]) expect(row).to.deep.equal([0.1, -0.2, 0.3, 0.4]);
      expect((weights!.toArray() as number[][][])[0].flat().every((v) => v === 0)).to.equal(true);
      out.sum().backward();
      const grad = x.grad!.toArray() as number[][][];
      expect(grad[0].flat().every((v) => v === 0)).to.equal(true);
      expect(values(x.grad!).some(Number.isNaN)).to.equal(false);
    });

    it("padding: changing a padded token's values changes nothing at the other positions", () => {
      const layer = new TransformerEncoderLayer(4, 2, { dimFeedforward: 8, ...f64, generator: new Generator(3) });
      const x = randn([1, 4, 4], new Generator(4), f64);
      const padding = tensor([[0, 0, 0, 1]], f64);
      const a = layer.forward(x, { srcKeyPaddingMask: padding }).narrow(1, 0, 3);
      const changed = x.clone();
      changed.storage.data.fill(100, 12, 16);
      expectClose(layer.forward(changed, { srcKeyPaddingMask: padding }).narrow(1, 0, 3), a, "unpadded positions", 1e-13, 1e-14);
    });

    it("a causal attnMask: position t depends only on positions ≤ t", () => {
      const mha = make();
      const x = randn([1, 3, 4], new Generator(5), f64);
      const causal = tensor([[0, 1, 1], [0, 0, 1], [0, 0, 0]], f64);
      const [a] = mha.forward(x, x, x, { attnMask: causal });
      const changed = x.clone();
      changed.storage.data.fill(-7, 8, 12); // the last position
      const [b] = mha.forward(changed, changed, changed, { attnMask: causal });
      expectClose(b.narrow(1, 0, 2), a.narrow(1, 0, 2), "earlier positions", 1e-13, 1e-14);
    });

    it("batchFirst = false takes (T, B, E) and gives the same numbers transposed; weights are (B, T, S)", () => {
      const first = make();
      const second = make({ batchFirst: false });
      second.loadStateDict(first.stateDict());
      const q = randn([2, 3, 4], new Generator(6), f64), kv = randn([2, 5, 4], new Generator(7), f64);
      const [a, wa] = first.forward(q, kv, kv);
      const [b, wb] = second.forward(q.transpose(0, 1), kv.transpose(0, 1), kv.transpose(0, 1));
      expect(b.shape).to.deep.equal([3, 2, 4]);
      expectClose(b.transpose(0, 1), a, "output", 1e-14, 1e-15);
      expectClose(wb, wa!, "weights", 1e-14, 1e-15);
    });

    it("needWeights = false returns null; averageAttnWeights = false returns (B, H, T, S)", () => {
      const mha = make();
      const x = randn([2, 3, 4], new Generator(8), f64);
      expect(mha.forward(x, x, x, { needWeights: false })[1]).to.equal(null);
      expect(mha.forward(x, x, x, { averageAttnWeights: false })[1]!.shape).to.deep.equal([2, 2, 3, 3]);
    });

    it("attention dropout acts in training only", () => {
      const mha = make({ dropout: 0.5 });
      const x = randn([1, 6, 4], new Generator(9), f64);
      const [a] = mha.forward(x, x, x);
      const [b] = mha.forward(x, x, x);
      expect(values(a)).to.not.deep.equal(values(b));
      mha.eval();
      expect(values(mha.forward(x, x, x)[0])).to.deep.equal(values(mha.forward(x, x, x)[0]));
    });

    it("errors: heads must divide embedDim; shapes and masks are checked", () => {
      expect(() => new MultiheadAttention(6, 4, { generator: new Generator(0) })).to.throw(
        /embedDim \(6\) must be divisible by numHeads \(4\)/,
      );
      const mha = make();
      const x = zeros([2, 3, 4], f64);
      expect(() => mha.forward(zeros([2, 3, 5], f64), x, x)).to.throw(
        /MultiheadAttention: query must be \(B, L, E\) with E = 4, got shape \[2, 3, 5\]/,
      );
      expect(() => mha.forward(x, x, x, { keyPaddingMask: zeros([2, 4]) })).to.throw(
        /keyPaddingMask must be \(B, S\) = \[2, 3\], got \[2, 4\]/,
      );
    });
  });

  describe("Conv2d, unfold, fold", () => {
    it("conv2d = reshape(W)·unfold(x) + b, forward and gradients (random geometries)", () => {
      fc.assert(
        fc.property(
          fc.record({
            n: fc.integer({ min: 1, max: 2 }),
            c: fc.integer({ min: 1, max: 3 }),
            cout: fc.integer({ min: 1, max: 3 }),
            kh: fc.integer({ min: 1, max: 3 }),
            kw: fc.integer({ min: 1, max: 3 }),
            sh: fc.integer({ min: 1, max: 2 }),
            sw: fc.integer({ min: 1, max: 3 }),
            ph: fc.integer({ min: 0, max: 2 }),
            pw: fc.integer({ min: 0, max: 1 }),
            dh: fc.integer({ min: 1, max: 2 }),
            dw: fc.integer({ min: 1, max: 2 }),
            h: fc.integer({ min: 5, max: 7 }),
            w: fc.integer({ min: 5, max: 6 }),
            seed: fc.integer({ min: 0, max: 1000 }),
          }),
          ({ n, c, cout, kh, kw, sh, sw, ph, pw, dh, dw, h, w, seed }) => {
            const g = new Generator(seed);
            const options = {
              stride: [sh, sw] as [number, number],
              padding: [ph, pw] as [number, number],
              dilation: [dh, dw] as [number, number],
            };
            const x = randomLeaf([n, c, h, w], g), weight = randomLeaf([cout, c, kh, kw], g), bias = randomLeaf([cout], g);
            const y = conv2d(x, weight, bias, options);
            const gradOutput = randn(y.shape, g, f64);
            y.backward(gradOutput);
            const [gx, gw, gb] = [x.grad!, weight.grad!, bias.grad!];
            x.grad = weight.grad = bias.grad = null;
            const cols = unfold(x, [kh, kw], options); // (N, C·kh·kw, L)
            const reference = matmul(weight.reshape(cout, -1), cols).add(bias.reshape(cout, 1)).reshape(y.shape);
            expectClose(y, reference, "forward", 1e-12, 1e-12);
            reference.backward(gradOutput);
            expectClose(gx, x.grad!, "grad input", 1e-12, 1e-12);
            expectClose(gw, weight.grad!, "grad weight", 1e-12, 1e-12);
            expectClose(gb, bias.grad!, "grad bias", 1e-12, 1e-12);
          },
        ),
        { numRuns: 25, seed: 7 },
      );
    });

    it("fold is the adjoint of unfold: ⟨unfold(x), c⟩ = ⟨x, fold(c)⟩", () => {
      const g = new Generator(1);
      const x = randn([2, 3, 6, 5], g, f64);
      const options = { stride: 2, padding: 1, dilation: [1, 2] as [number, number] };
      const cols = unfold(x, 3, options);
      const c = randn(cols.shape, g, f64);
      expect(cols.mul(c).sum().item()).to.be.closeTo(x.mul(fold(c, [6, 5], 3, options)).sum().item(), 1e-12);
    });

    it("output size ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1; float32 agrees with float64", () => {
      const conv = new Conv2d(2, 3, [3, 5], { stride: [2, 3], padding: [1, 2], dilation: [1, 2], generator: new Generator(0) });
      const x = randn([2, 2, 11, 13], new Generator(1));
      const y = conv.forward(x);
      expect(y.shape).to.deep.equal([2, 3, Math.floor((11 + 2 - 2 - 1) / 2) + 1, Math.floor((13 + 4 - 8 - 1) / 3) + 1]);
      expect(y.dtype).to.equal("float32");
      const y64 = conv2d(x.double(), conv.weight.double(), conv.bias!.double(), { stride: [2, 3], padding: [1, 2], dilation: [1, 2] });
      expectClose(y, y64, "float32 vs float64", 1e-5, 1e-5);
    });

    it("errors name the shapes", () => {
      const conv = new Conv2d(3, 4, 3, { generator: new Generator(0) });
      expect(() => conv.forward(zeros([1, 2, 5, 5]))).to.throw(
        /^Conv2d: input of shape \[1, 2, 5, 5\] has 2 channels but weight \[4, 3, 3, 3\] expects 3$/,
      );
      expect(() => conv.forward(zeros([1, 3, 2, 5]))).to.throw(/a 3×3 kernel .* does not fit a 2×5 input/);
      expect(() => conv.forward(zeros([3, 5, 5]))).to.throw(/input must be \(N, C, H, W\), got shape \[3, 5, 5\]/);
      expect(() => new Conv2d(1, 1, 0, { generator: new Generator(0) })).to.throw(/Conv2d: kernelSize must be an integer ≥ 1/);
    });
  });

  describe("pooling", () => {
    it("MaxPool2d sends the gradient of a tie to the first maximum in the window (as torch)", () => {
      const x = tensor([[[[1, 3], [3, 2]]]], { ...f64, requiresGrad: true });
      const y = maxPool2d(x, 2);
      expect(values(y)).to.deep.equal([3]);
      y.sum().backward();
      expect(values(x.grad!)).to.deep.equal([0, 1, 0, 0]);
    });

    it("AdaptiveAvgPool2d(1) is the mean over H and W; shapes of the other pools", () => {
      const x = randn([2, 3, 5, 4], new Generator(0), f64);
      expectClose(new AdaptiveAvgPool2d(1).forward(x), x.mean([2, 3], true), "global average", 1e-14, 1e-15);
      expect(new MaxPool2d(2).forward(x).shape).to.deep.equal([2, 3, 2, 2]);
      expect(new AvgPool2d(3, 1, 1).forward(x).shape).to.deep.equal([2, 3, 5, 4]);
    });

    it("padding above half the kernel is refused, as in torch", () => {
      expect(() => new MaxPool2d(2, 2, 2).forward(zeros([1, 1, 4, 4]))).to.throw(
        /^MaxPool2d: padding 2×2 should be at most half of the kernel size 2×2$/,
      );
    });
  });

  describe("PatchEmbedding and VisionTransformer", () => {
    it("the patch projection equals Conv2d(kernel = stride = p) with weight proj.weight viewed as (D, C, p, p)", () => {
      const embed = new PatchEmbedding({
        imageSize: 8,
        patchSize: 4,
        inChannels: 2,
        embedDim: 5,
        classToken: false,
        ...f64,
        generator: new Generator(0),
      });
      const x = randn([3, 2, 8, 8], new Generator(1), f64);
      const tokens = embed.forward(x).sub(embed.posEmbed); // (B, P, D)
      const convolved = conv2d(x, embed.proj.weight.reshape(5, 2, 4, 4), embed.proj.bias, { stride: 4 }); // (B, D, 2, 2)
      expectClose(tokens, convolved.flatten(2).transpose(1, 2), "patch tokens", 1e-13, 1e-14);
    });

    it("the class token is prepended; MNIST 28×28 with 7×7 patches gives 16 (+1) tokens", () => {
      const embed = new PatchEmbedding({ embedDim: 6, generator: new Generator(0) });
      expect(embed.numPatches).to.equal(16);
      const tokens = embed.forward(zeros([2, 1, IMAGE_SIDE, IMAGE_SIDE]));
      expect(tokens.shape).to.deep.equal([2, 17, 6]);
      const first = (tokens.toArray() as number[][][])[1][0];
      const expected = values(embed.clsToken!.add(embed.posEmbed.narrow(1, 0, 1)));
      first.forEach((v, i) => expect(v).to.be.closeTo(expected[i], 1e-7));
    });

    it("VisionTransformer: (B, 1, 28, 28) → (B, numClasses), or pooled (B, D) features without a head", () => {
      const withHead = new VisionTransformer({ embedDim: 8, depth: 1, numHeads: 2, numClasses: NUM_CLASSES, generator: new Generator(0) });
      const x = randn([2, 1, IMAGE_SIDE, IMAGE_SIDE], new Generator(1));
      expect(withHead.forward(x).shape).to.deep.equal([2, NUM_CLASSES]);
      const features = new VisionTransformer({ embedDim: 8, depth: 1, numHeads: 2, pool: "mean", generator: new Generator(0) });
      expect(features.forward(x).shape).to.deep.equal([2, 8]);
      expect(features.patchEmbed.clsToken).to.equal(null);
    });
  });

  describe("Linear", () => {
    it("any number of leading dims; the last must be inFeatures", () => {
      const linear = new Linear(3, 2, { generator: new Generator(0) });
      expect(linear.forward(zeros([4, 5, 3])).shape).to.deep.equal([4, 5, 2]);
      expect(linear.forward(zeros([3])).shape).to.deep.equal([2]);
      expect(() => linear.forward(zeros([2, 4]))).to.throw(/Linear: input of shape \[2, 4\] does not end in inFeatures = 3/);
    });
  });

  describe("a module's error names the module, once", () => {
    // The module forwards to its functional op (LayerNorm → layerNorm); the op's own name is taken
    // off the message, so that it opens with exactly one name: the one the user called.
    const generator = new Generator(0);
    const cases: [string, () => unknown, string][] = [
      ["LayerNorm", () => new LayerNorm(4).forward(zeros([2, 3])), "LayerNorm: input of shape [2, 3] does not end in normalizedShape [4]"],
      [
        "BatchNorm1d",
        () => new BatchNorm1d(3).forward(zeros([1, 3])),
        "BatchNorm1d: expected more than 1 value per channel when training, got input of shape [1, 3]",
      ],
      [
        "Embedding",
        () => new Embedding(3, 2, { generator }).forward([0, 5]),
        "Embedding: index 5 at position 1 is out of range for the embedding table (numEmbeddings) of size 3 (valid: 0 to 2)",
      ],
      [
        "Conv2d",
        () => new Conv2d(3, 4, 3, { generator }).forward(zeros([1, 3, 2, 2])),
        "Conv2d: a 3×3 kernel (dilation 1×1, padding 0×0) does not fit a 2×2 input: output would be 0×0",
      ],
      ["AvgPool2d", () => new AvgPool2d(2).forward(zeros([1, 4, 4])), "AvgPool2d: input must be (N, C, H, W), got shape [1, 4, 4]"],
      [
        "AdaptiveAvgPool2d",
        () => new AdaptiveAvgPool2d(2).forward(zeros([1, 1, 0, 4])),
        "AdaptiveAvgPool2d: input of shape [1, 1, 0, 4] has an empty spatial dim",
      ],
      [
        "TransformerEncoderLayer (its LayerNorm)",
        () => new TransformerEncoderLayer(4, 2, { generator }).forward(zeros([1, 2, 3])),
        "LayerNorm: input of shape [1, 2, 3] does not end in normalizedShape [4]",
      ],
    ];
    for (const [name, run, message] of cases) {
      it(`${name}: "${message.slice(0, message.indexOf(":"))}: …", the op's error as the cause`, () => {
        let thrown: unknown;
        try {
          run();
        } catch (error) {
          thrown = error;
        }
        expect(thrown).to.be.instanceOf(Error);
        expect((thrown as Error).message).to.equal(message);
        expect((thrown as Error).cause).to.be.instanceOf(Error); // the functional op's own error, e.g. "layerNorm: …"
      });
    }
  });
});
