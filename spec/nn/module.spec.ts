/**
 * Module semantics: parameter and state-dict names and order (as the equivalent PyTorch module),
 * train/eval switching, stateDict/loadStateDict round trip and errors, seeded init.
 */
import { expect } from "chai";
import { Tensor } from "../../src/tensor/tensor.js";
import { tensor, zeros } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import { Module } from "../../src/nn/module.js";
import { Linear } from "../../src/nn/linear.js";
import { Sequential, ModuleList } from "../../src/nn/container.js";
import { ReLU } from "../../src/nn/activation.js";
import { MLP } from "../../src/nn/mlp.js";
import { BatchNorm1d, BatchNorm2d } from "../../src/nn/batchnorm.js";
import { LayerNorm } from "../../src/nn/layernorm.js";
import { Dropout } from "../../src/nn/dropout.js";
import { Embedding } from "../../src/nn/embedding.js";
import { MultiheadAttention } from "../../src/nn/attention.js";
import { TransformerEncoder, TransformerEncoderLayer } from "../../src/nn/transformer.js";
import { VisionTransformer } from "../../src/nn/vit.js";
import { Conv2d } from "../../src/nn/conv.js";
import { MaxPool2d } from "../../src/nn/pooling.js";
import { fromTorchKey, toTorchKey, toTorchStateDict, fromTorchStateDict } from "../../src/nn/torch-keys.js";
import * as nn from "../../src/nn/index.js";
import { IMAGE_PIXELS } from "../../src/data/mnist.js";

const names = (m: Module) => [...m.namedParameters()].map(([name]) => name);
const stateKeys = (m: Module) => [...m.stateDict().keys()];
const snapshot = (m: Module) => new Map([...m.stateDict()].map(([k, v]) => [k, Array.from(v.toTypedArray())]));

function smallVit(seed: number) {
  return new VisionTransformer({
    imageSize: 8,
    patchSize: 4,
    embedDim: 8,
    depth: 2,
    numHeads: 2,
    numClasses: 3,
    generator: new Generator(seed),
  });
}

describe("nn: module semantics", () => {
  describe("parameter and state-dict names match PyTorch", () => {
    it("Linear: weight (out, in), bias (out)", () => {
      const linear = new Linear(4, 3, { generator: new Generator(0) });
      expect(names(linear)).to.deep.equal(["weight", "bias"]);
      expect(linear.weight.shape).to.deep.equal([3, 4]);
      expect(linear.bias!.shape).to.deep.equal([3]);
      expect(names(new Linear(4, 3, { bias: false, generator: new Generator(0) }))).to.deep.equal(["weight"]);
    });

    it("MLP([784, 512, 256], …) = nn.Sequential: children 0, 1, 2, … and keys 0.weight, 0.bias, 2.weight …", () => {
      const plain = new MLP([IMAGE_PIXELS, 512, 256], { activation: "relu", generator: new Generator(0) });
      expect([...plain.namedChildren()].map(([n, m]) => `${n}:${m.constructor.name}`)).to.deep.equal(["0:Linear", "1:ReLU", "2:Linear"]);
      expect(names(plain)).to.deep.equal(["0.weight", "0.bias", "2.weight", "2.bias"]);
      const withNorm = new MLP([IMAGE_PIXELS, 512, 256], {
        activation: "gelu",
        batchNorm: true,
        lastActivation: true,
        lastBatchNorm: true,
        generator: new Generator(0),
      });
      expect([...withNorm.namedChildren()].map(([n, m]) => `${n}:${m.constructor.name}`)).to.deep.equal([
        "0:Linear",
        "1:BatchNorm1d",
        "2:GELU",
        "3:Linear",
        "4:BatchNorm1d",
        "5:GELU",
      ]);
      expect(stateKeys(withNorm).map(toTorchKey)).to.deep.equal([
        "0.weight",
        "0.bias",
        "1.weight",
        "1.bias",
        "1.running_mean",
        "1.running_var",
        "1.num_batches_tracked",
        "3.weight",
        "3.bias",
        "4.weight",
        "4.bias",
        "4.running_mean",
        "4.running_var",
        "4.num_batches_tracked",
      ]);
      expect(names(new MLP([4, 8, 2], { bias: false, batchNorm: true, generator: new Generator(0) }))).to.deep.equal([
        "0.weight",
        "1.weight",
        "1.bias",
        "3.weight",
      ]);
    });

    it("BatchNorm1d / BatchNorm2d: weight, bias, then the buffers runningMean, runningVar, numBatchesTracked", () => {
      for (const bn of [new BatchNorm1d(5), new BatchNorm2d(5)]) {
        expect(names(bn)).to.deep.equal(["weight", "bias"]);
        expect(stateKeys(bn)).to.deep.equal(["weight", "bias", "runningMean", "runningVar", "numBatchesTracked"]);
        expect(stateKeys(bn).map(toTorchKey)).to.deep.equal(["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]);
        expect(bn.numBatchesTracked!.shape).to.deep.equal([]);
      }
      expect(stateKeys(new BatchNorm1d(5, { affine: false }))).to.deep.equal(["runningMean", "runningVar", "numBatchesTracked"]);
      expect(stateKeys(new BatchNorm1d(5, { trackRunningStats: false }))).to.deep.equal(["weight", "bias"]);
    });

    it("MultiheadAttention: inProjWeight (3E, E), inProjBias (3E), outProj.weight, outProj.bias (torch: in_proj_weight …)", () => {
      const mha = new MultiheadAttention(8, 2, { generator: new Generator(0) });
      expect(names(mha)).to.deep.equal(["inProjWeight", "inProjBias", "outProj.weight", "outProj.bias"]);
      expect(names(mha).map(toTorchKey)).to.deep.equal(["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]);
      expect(mha.inProjWeight.shape).to.deep.equal([24, 8]);
      expect(names(new MultiheadAttention(8, 2, { bias: false, generator: new Generator(0) }))).to.deep.equal([
        "inProjWeight",
        "outProj.weight",
      ]);
    });

    it("TransformerEncoder: layers.i.selfAttn… (torch: layers.i.self_attn…) and the final norm", () => {
      const encoder = new TransformerEncoder({ dModel: 8, nHead: 2, generator: new Generator(0) }, 2, { norm: new LayerNorm(8) });
      const torchNames = names(encoder).map(toTorchKey);
      const layer = [
        "self_attn.in_proj_weight",
        "self_attn.in_proj_bias",
        "self_attn.out_proj.weight",
        "self_attn.out_proj.bias",
        "linear1.weight",
        "linear1.bias",
        "linear2.weight",
        "linear2.bias",
        "norm1.weight",
        "norm1.bias",
        "norm2.weight",
        "norm2.bias",
      ];
      expect(torchNames).to.deep.equal([
        ...layer.map((n) => `layers.0.${n}`),
        ...layer.map((n) => `layers.1.${n}`),
        "norm.weight",
        "norm.bias",
      ]);
    });

    it("Conv2d: weight (Cout, Cin, kh, kw), bias (Cout); Embedding: weight; pooling and activations: nothing", () => {
      const conv = new Conv2d(3, 8, [3, 2], { generator: new Generator(0) });
      expect(names(conv)).to.deep.equal(["weight", "bias"]);
      expect(conv.weight.shape).to.deep.equal([8, 3, 3, 2]);
      expect(names(new Embedding(10, 4, { generator: new Generator(0) }))).to.deep.equal(["weight"]);
      expect(stateKeys(new Sequential(new ReLU(), new MaxPool2d(2), new Dropout(0.5, new Generator(0))))).to.deep.equal([]);
    });

    it("VisionTransformer: patchEmbed.clsToken, posEmbed, proj, encoder.layers.i, encoder.norm, head", () => {
      const keys = stateKeys(smallVit(0));
      // A module's own parameters come before its children's, as in torch's state_dict().
      expect(keys.slice(0, 4)).to.deep.equal([
        "patchEmbed.clsToken",
        "patchEmbed.posEmbed",
        "patchEmbed.proj.weight",
        "patchEmbed.proj.bias",
      ]);
      expect(keys.slice(-4)).to.deep.equal(["encoder.norm.weight", "encoder.norm.bias", "head.weight", "head.bias"]);
      expect(keys).to.include("encoder.layers.1.selfAttn.inProjWeight");
      expect(smallVit(0).patchEmbed.posEmbed.shape).to.deep.equal([1, 5, 8]); // 4 patches + class token
    });

    it("camelCase ↔ snake_case key mapping round-trips on every key", () => {
      const model = new Sequential(
        new MLP([4, 4, 4], { batchNorm: true, generator: new Generator(0) }),
        new Linear(4, 2, { generator: new Generator(0) }),
      );
      for (const key of [...stateKeys(model), ...stateKeys(smallVit(0))]) expect(fromTorchKey(toTorchKey(key))).to.equal(key);
      expect(toTorchKey("patchEmbed.clsToken")).to.equal("patch_embed.cls_token");
      expect(fromTorchKey("layers.10.self_attn.out_proj.weight")).to.equal("layers.10.selfAttn.outProj.weight");
      const torchState = toTorchStateDict(model.stateDict());
      expect([...fromTorchStateDict(torchState).keys()]).to.deep.equal(stateKeys(model));
    });

    it("the nn barrel exports every module", () => {
      for (
        const name of [
          "Linear",
          "Sequential",
          "ModuleList",
          "ReLU",
          "GELU",
          "Tanh",
          "Sigmoid",
          "Identity",
          "Flatten",
          "MLP",
          "BatchNorm1d",
          "BatchNorm2d",
          "LayerNorm",
          "Embedding",
          "Dropout",
          "MultiheadAttention",
          "TransformerEncoderLayer",
          "TransformerEncoder",
          "PatchEmbedding",
          "VisionTransformer",
          "Conv2d",
          "MaxPool2d",
          "AvgPool2d",
          "AdaptiveAvgPool2d",
          "Module",
          "Parameter",
        ]
      ) {
        expect(typeof (nn as Record<string, unknown>)[name], name).to.equal("function");
      }
    });
  });

  describe("containers", () => {
    it("Sequential chains forwards in order; at(i) and length as nn.Sequential[i] and len()", () => {
      const g = new Generator(0);
      const first = new Linear(3, 4, { generator: g });
      const seq = new Sequential(first, new ReLU(), new Linear(4, 2, { generator: g }));
      expect(seq.length).to.equal(3);
      expect(seq.at(0)).to.equal(first);
      expect(seq.at(-1)).to.be.instanceOf(Linear);
      expect(() => seq.at(3)).to.throw(/Sequential.at: index 3 is out of range for 3/);
      const x = tensor([[1, -2, 3]]);
      const manual = seq.at(2).forward(seq.at(1).forward(first.forward(x)));
      expect(Array.from(seq.forward(x).toTypedArray())).to.deep.equal(Array.from(manual.toTypedArray()));
    });

    it("ModuleList has no forward", () => {
      expect(() => new ModuleList([new ReLU()]).forward()).to.throw(/ModuleList: has no forward/);
    });
  });

  describe("train / eval", () => {
    it("train() and eval() switch every descendant and return the module", () => {
      const vit = smallVit(0);
      expect([...vit.modules()].every((m) => m.training)).to.equal(true);
      expect(vit.eval()).to.equal(vit);
      expect([...vit.modules()].every((m) => !m.training)).to.equal(true);
      vit.train();
      expect([...vit.modules()].every((m) => m.training)).to.equal(true);
    });

    it("BatchNorm1d inside an MLP uses batch statistics in train and running statistics in eval", () => {
      const mlp = new MLP([3, 4, 2], { batchNorm: true, generator: new Generator(0) });
      const bn = mlp.at(1) as BatchNorm1d;
      const x = tensor([[1, 2, 3], [0, -1, 2], [4, 0, 1], [2, 2, 2]]);
      mlp.forward(x);
      expect(bn.numBatchesTracked!.item()).to.equal(1);
      const before = Array.from(bn.runningMean!.toTypedArray());
      mlp.eval();
      const a = mlp.forward(x).toTypedArray();
      const b = mlp.forward(x.narrow(0, 0, 1)).toTypedArray(); // a batch of one works in eval
      expect(Array.from(b)).to.deep.equal(Array.from(a.subarray(0, 2)));
      expect(Array.from(bn.runningMean!.toTypedArray())).to.deep.equal(before);
      expect(bn.numBatchesTracked!.item()).to.equal(1);
    });
  });

  describe("stateDict / loadStateDict", () => {
    it("round trip: loading A's state into B makes B compute exactly what A computes (values copied, not shared)", () => {
      const a = smallVit(1);
      const b = smallVit(2);
      const x = tensor(Array.from({ length: 2 * 64 }, (_, i) => Math.sin(i)), { shape: [2, 1, 8, 8] });
      expect(Array.from(b.forward(x).toTypedArray())).to.not.deep.equal(Array.from(a.forward(x).toTypedArray()));
      expect(b.loadStateDict(a.stateDict())).to.deep.equal({ missingKeys: [], unexpectedKeys: [] });
      expect(snapshot(b)).to.deep.equal(snapshot(a));
      expect(Array.from(b.forward(x).toTypedArray())).to.deep.equal(Array.from(a.forward(x).toTypedArray()));
      a.head.parameters()[0].storage.data[0] += 1;
      expect(b.head.parameters()[0].storage.data[0]).to.not.equal(a.head.parameters()[0].storage.data[0]);
    });

    it("buffers travel with the state dict (BatchNorm running statistics and counter)", () => {
      const a = new BatchNorm1d(3);
      a.forward(tensor([[1, 2, 3], [3, 0, 1]]));
      const b = new BatchNorm1d(3);
      b.loadStateDict(a.stateDict());
      expect(snapshot(b)).to.deep.equal(snapshot(a));
      expect(b.numBatchesTracked!.item()).to.equal(1);
    });

    function expectUnchangedOnError(model: Module, state: Map<string, Tensor>, message: RegExp): void {
      const before = snapshot(model);
      expect(() => model.loadStateDict(state)).to.throw(message);
      expect(snapshot(model)).to.deep.equal(before);
    }

    it("a missing key is an error naming it, and nothing changes", () => {
      const model = new MLP([3, 4, 2], { batchNorm: true, generator: new Generator(0) });
      const state = new MLP([3, 4, 2], { batchNorm: true, generator: new Generator(1) }).stateDict();
      state.delete("1.runningVar");
      expectUnchangedOnError(model, state, /MLP.loadStateDict: missing keys \[1\.runningVar\], unexpected keys \[\]/);
    });

    it("an unexpected key is an error naming it, and nothing changes", () => {
      const model = new Linear(3, 2, { generator: new Generator(0) });
      const state = new Linear(3, 2, { generator: new Generator(1) }).stateDict();
      state.set("scale", zeros([1]));
      expectUnchangedOnError(model, state, /Linear.loadStateDict: missing keys \[\], unexpected keys \[scale\]/);
    });

    it("a shape mismatch (on a later key) is an error naming key and shapes, and nothing changes — not even earlier keys", () => {
      const model = new MLP([3, 4, 2], { generator: new Generator(0) });
      const state = new MLP([3, 4, 5], { generator: new Generator(1) }).stateDict();
      expectUnchangedOnError(model, state, /'2\.weight' has shape \[5, 4\] in the state dict but \[2, 4\] in the model/);
    });

    it("a dtype mismatch is an error, and nothing changes", () => {
      const model = new Linear(3, 2, { generator: new Generator(0) });
      const state = new Linear(3, 2, { dtype: "float64", generator: new Generator(1) }).stateDict();
      expectUnchangedOnError(model, state, /'weight' is float64 in the state dict but float32 in the model/);
    });

    it("strict = false loads what matches and reports the rest", () => {
      const model = new Linear(3, 2, { generator: new Generator(0) });
      const other = new Linear(3, 2, { generator: new Generator(1) });
      const result = model.loadStateDict({ weight: other.weight, extra: zeros([2]) }, false);
      expect(result).to.deep.equal({ missingKeys: ["bias"], unexpectedKeys: ["extra"] });
      expect(Array.from(model.weight.toTypedArray())).to.deep.equal(Array.from(other.weight.toTypedArray()));
    });
  });

  describe("initialization", () => {
    it("the same seed gives bit-identical weights; another seed gives different ones", () => {
      expect(snapshot(smallVit(7))).to.deep.equal(snapshot(smallVit(7)));
      const a = snapshot(smallVit(7)).get("encoder.layers.0.linear1.weight");
      const b = snapshot(smallVit(8)).get("encoder.layers.0.linear1.weight");
      expect(a).to.not.deep.equal(b);
    });

    it("every random init needs a Generator (no global randomness)", () => {
      const noGenerator = {} as { generator: Generator };
      expect(() => new Linear(2, 2, noGenerator)).to.throw(/Linear: pass a seeded Generator/);
      expect(() => new Conv2d(1, 2, 3, noGenerator)).to.throw(/Conv2d: pass a seeded Generator/);
      expect(() => new Embedding(4, 2, noGenerator)).to.throw(/Embedding: pass a seeded Generator/);
      expect(() => new MultiheadAttention(4, 2, noGenerator)).to.throw(/MultiheadAttention: pass a seeded Generator/);
      expect(() => new MLP([2, 2], noGenerator)).to.throw(/MLP: pass a seeded Generator/);
      expect(() => new Dropout(0.5)).to.throw(/Dropout: pass a seeded Generator/);
    });

    it("Linear: weight and bias ~ U(−1/√in, 1/√in) (kaiming_uniform with a = √5)", () => {
      const inFeatures = 400;
      const linear = new Linear(inFeatures, 300, { dtype: "float64", generator: new Generator(3) });
      const bound = 1 / Math.sqrt(inFeatures);
      for (const values of [linear.weight.toTypedArray(), linear.bias!.toTypedArray()]) {
        let max = 0, sum = 0, sumSquares = 0;
        for (const v of values) {
          max = Math.max(max, Math.abs(v));
          sum += v;
          sumSquares += v * v;
        }
        expect(max).to.be.at.most(bound);
        expect(max).to.be.greaterThan(0.98 * bound);
        if (values.length > 1000) {
          expect(Math.abs(sum / values.length)).to.be.lessThan(0.01 * bound);
          expect(sumSquares / values.length).to.be.closeTo((bound * bound) / 3, 0.01 * bound * bound); // var of U(−b, b) = b²/3
        }
      }
    });

    it("Conv2d: U(±1/√(Cin·kh·kw)); MultiheadAttention: xavier in-projection, zero biases; Embedding N(0, 1), padding row 0", () => {
      const conv = new Conv2d(4, 16, 3, { dtype: "float64", generator: new Generator(4) });
      const convBound = 1 / Math.sqrt(4 * 9);
      expect(Math.max(...Array.from(conv.weight.toTypedArray(), Math.abs))).to.be.within(0.95 * convBound, convBound);
      expect(Math.max(...Array.from(conv.bias!.toTypedArray(), Math.abs))).to.be.at.most(convBound);

      const mha = new MultiheadAttention(16, 4, { dtype: "float64", generator: new Generator(5) });
      const xavier = Math.sqrt(6 / (16 + 48));
      expect(Math.max(...Array.from(mha.inProjWeight.toTypedArray(), Math.abs))).to.be.within(0.95 * xavier, xavier);
      expect(Array.from(mha.inProjBias!.toTypedArray()).every((v) => v === 0)).to.equal(true);
      expect(Array.from(mha.outProj.bias!.toTypedArray()).every((v) => v === 0)).to.equal(true);
      expect(Math.max(...Array.from(mha.outProj.weight.toTypedArray(), Math.abs))).to.be.at.most(1 / 4);

      const embedding = new Embedding(500, 20, { paddingIdx: 3, dtype: "float64", generator: new Generator(6) });
      const values = embedding.weight.toTypedArray();
      expect(Array.from(values.subarray(60, 80)).every((v) => v === 0)).to.equal(true);
      let sumSquares = 0;
      for (const v of values) sumSquares += v * v;
      const variance = sumSquares / (values.length - 20);
      expect(variance).to.be.closeTo(1, 0.05);
    });

    it("BatchNorm and LayerNorm start at γ = 1, β = 0, runningMean = 0, runningVar = 1", () => {
      const bn = new BatchNorm2d(3);
      expect(Array.from(bn.weight!.toTypedArray())).to.deep.equal([1, 1, 1]);
      expect(Array.from(bn.bias!.toTypedArray())).to.deep.equal([0, 0, 0]);
      expect(Array.from(bn.runningMean!.toTypedArray())).to.deep.equal([0, 0, 0]);
      expect(Array.from(bn.runningVar!.toTypedArray())).to.deep.equal([1, 1, 1]);
      const ln = new LayerNorm([2, 3]);
      expect(ln.weight!.shape).to.deep.equal([2, 3]);
      expect(Array.from(ln.weight!.toTypedArray())).to.deep.equal([1, 1, 1, 1, 1, 1]);
    });

    it("TransformerEncoder built from a config gives each layer its own init (torch deep-copies one layer)", () => {
      const encoder = new TransformerEncoder({ dModel: 8, nHead: 2, generator: new Generator(0) }, 2);
      const [first, second] = [...encoder.layers].map((l: TransformerEncoderLayer) => Array.from(l.linear1.weight.toTypedArray()));
      expect(first).to.not.deep.equal(second);
      const shared = new Generator(1);
      const fromFactory = new TransformerEncoder(() => new TransformerEncoderLayer(8, 2, { generator: shared }), 3);
      expect(fromFactory.layers.length).to.equal(3);
    });
  });

  describe("zeroGrad and requiresGrad_", () => {
    it("zeroGrad clears every .grad; requiresGrad_(false) freezes every parameter", () => {
      const mlp = new MLP([3, 4, 2], { generator: new Generator(0) });
      mlp.forward(tensor([[1, 2, 3]])).sum().backward();
      expect(mlp.parameters().every((p) => p.grad !== null)).to.equal(true);
      mlp.zeroGrad();
      expect(mlp.parameters().every((p) => p.grad === null)).to.equal(true);
      mlp.requiresGrad_(false);
      expect(mlp.forward(tensor([[1, 2, 3]])).requiresGrad).to.equal(false);
    });
  });
});
