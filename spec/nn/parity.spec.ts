/**
 * PyTorch parity: every module against the float64 reference values in spec/fixtures/ops.json
 * (written by scripts/fixtures/make_ops_fixtures.py with torch 1.13). Outputs and gradients
 * (d(Σ output·gradOutput)/d input and every parameter) must agree to ~1e-9.
 */
import { expect } from "chai";
import type { Tensor } from "../../src/tensor/tensor.js";
import { Generator } from "../../src/tensor/random.js";
import { BatchNorm1d, BatchNorm2d } from "../../src/nn/batchnorm.js";
import { LayerNorm } from "../../src/nn/layernorm.js";
import { MultiheadAttention } from "../../src/nn/attention.js";
import { Linear } from "../../src/nn/linear.js";
import { Conv2d, fold, unfold } from "../../src/nn/conv.js";
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from "../../src/nn/pooling.js";
import { Embedding } from "../../src/nn/embedding.js";
import { TransformerEncoderLayer } from "../../src/nn/transformer.js";
import { MLP } from "../../src/nn/mlp.js";
import { fromTorchKey, fromTorchStateDict, toTorchKey } from "../../src/nn/torch-keys.js";
import { casesOf, expectClose, fromJson, type BatchNormCase, type FixtureCase, type TensorJson } from "./helpers.js";

const RTOL = 1e-9;
const ATOL = 1e-11;
const generator = () => new Generator(0);
type Pair = [number, number];

/** Run backward with the fixture's upstream gradient. */
function backwardWith(output: Tensor, gradOutput: TensorJson): void {
  output.backward(fromJson(gradOutput));
}

describe("nn: PyTorch parity (spec/fixtures/ops.json)", () => {
  describe("BatchNorm1d / BatchNorm2d: two training calls, running statistics, then eval", () => {
    for (const fixture of [...casesOf<BatchNormCase>("batchNorm1d"), ...casesOf<BatchNormCase>("batchNorm2d")]) {
      it(fixture.name, () => {
        const { numFeatures, eps, momentum } = fixture.options;
        const Norm = fixture.op === "batchNorm1d" ? BatchNorm1d : BatchNorm2d;
        const bn = new Norm(numFeatures, { eps, momentum, dtype: "float64" });
        bn.loadStateDict({
          weight: fromJson(fixture.params.weight),
          bias: fromJson(fixture.params.bias),
          runningMean: fromJson(fixture.initialState.runningMean),
          runningVar: fromJson(fixture.initialState.runningVar),
          numBatchesTracked: fromJson({ shape: [], data: [0] }),
        });
        bn.train();
        fixture.calls.forEach((call, k) => {
          bn.zeroGrad();
          const x = fromJson(call.input, "float64", true);
          const y = bn.forward(x);
          expectClose(y, call.output, `call ${k} output`, RTOL, ATOL);
          backwardWith(y, call.gradOutput);
          expectClose(x.grad, call.grads.input, `call ${k} grad input`, RTOL, ATOL);
          expectClose(bn.weight!.grad, call.grads.weight, `call ${k} grad weight`, RTOL, ATOL);
          expectClose(bn.bias!.grad, call.grads.bias, `call ${k} grad bias`, RTOL, ATOL);
          expectClose(bn.runningMean, call.runningMean, `call ${k} runningMean`, RTOL, 1e-14);
          expectClose(bn.runningVar, call.runningVar, `call ${k} runningVar`, RTOL, 1e-14);
        });
        expect(bn.numBatchesTracked!.item()).to.equal(2);
        bn.eval();
        expectClose(bn.forward(fromJson(fixture.eval.input)), fixture.eval.output, "eval output", RTOL, ATOL);
      });
    }
  });

  describe("LayerNorm", () => {
    for (const fixture of casesOf("layerNorm")) {
      it(fixture.name, () => {
        const normalizedShape = fixture.options.normalizedShape as number[];
        const ln = new LayerNorm(normalizedShape, { eps: fixture.options.eps as number, dtype: "float64" });
        ln.loadStateDict({ weight: fromJson(fixture.params!.weight), bias: fromJson(fixture.params!.bias) });
        const x = fromJson(fixture.inputs.input, "float64", true);
        const y = ln.forward(x);
        expectClose(y, fixture.outputs.output, "output", RTOL, ATOL);
        backwardWith(y, fixture.gradOutput);
        expectClose(x.grad, fixture.grads.input, "grad input", RTOL, ATOL);
        expectClose(ln.weight!.grad, fixture.grads.weight, "grad weight", RTOL, ATOL);
        expectClose(ln.bias!.grad, fixture.grads.bias, "grad bias", RTOL, ATOL);
      });
    }
  });

  describe("MultiheadAttention", () => {
    for (const fixture of casesOf("multiheadAttention")) {
      it(fixture.name, () => {
        const { embedDim, numHeads, batchFirst } = fixture.options as { embedDim: number; numHeads: number; batchFirst: boolean };
        const mha = new MultiheadAttention(embedDim, numHeads, { batchFirst, dtype: "float64", generator: generator() });
        const p = fixture.params!;
        mha.loadStateDict({
          inProjWeight: fromJson(p.inProjWeight),
          inProjBias: fromJson(p.inProjBias),
          "outProj.weight": fromJson(p.outProjWeight),
          "outProj.bias": fromJson(p.outProjBias),
        });
        const selfAttention = "input" in fixture.inputs;
        const leaves: Record<string, Tensor> = {};
        for (const name of selfAttention ? ["input"] : ["query", "key", "value"]) {
          leaves[name] = fromJson(fixture.inputs[name], "float64", true);
        }
        const [q, k, v] = selfAttention ? [leaves.input, leaves.input, leaves.input] : [leaves.query, leaves.key, leaves.value];
        const masks = {
          keyPaddingMask: fromJson(fixture.inputs.keyPaddingMask),
          attnMask: fixture.inputs.attnMask ? fromJson(fixture.inputs.attnMask) : null,
        };
        const [output, weights] = mha.forward(q, k, v, masks);
        expectClose(output, fixture.outputs.output, "output", RTOL, ATOL);
        expectClose(weights, fixture.outputs.attentionWeights, "attention weights (mean over heads)", RTOL, ATOL);
        const [, perHead] = mha.forward(q, k, v, { ...masks, averageAttnWeights: false });
        expectClose(perHead, fixture.outputs.attentionWeightsPerHead, "attention weights per head", RTOL, ATOL);
        backwardWith(output, fixture.gradOutput);
        for (const name of Object.keys(leaves)) expectClose(leaves[name].grad, fixture.grads[name], `grad ${name}`, RTOL, ATOL);
        expectClose(mha.inProjWeight.grad, fixture.grads.inProjWeight, "grad inProjWeight", RTOL, ATOL);
        expectClose(mha.inProjBias!.grad, fixture.grads.inProjBias, "grad inProjBias", RTOL, ATOL);
        expectClose(mha.outProj.weight.grad, fixture.grads.outProjWeight, "grad outProj.weight", RTOL, ATOL);
        expectClose(mha.outProj.bias!.grad, fixture.grads.outProjBias, "grad outProj.bias", RTOL, ATOL);
      });
    }
  });

  /** Cases whose params are a module's own state dict (keys equal to ours, or torch's). */
  interface Checkable {
    loadStateDict: (s: Map<string, Tensor>, strict?: boolean) => { missingKeys: string[]; unexpectedKeys: string[] };
    stateDict: () => Map<string, Tensor>;
    forward: (x: Tensor) => Tensor;
  }
  function checkModule(fixture: FixtureCase, module: Checkable): string[] {
    const params = fromTorchStateDict(Object.fromEntries(Object.entries(fixture.params ?? {}).map(([k, v]) => [k, fromJson(v)])));
    const { missingKeys, unexpectedKeys } = module.loadStateDict(params, false);
    expect(unexpectedKeys).to.deep.equal([]);
    const x = fromJson(fixture.inputs.input, "float64", true);
    const y = module.forward(x);
    expectClose(y, fixture.outputs.output, "output", RTOL, ATOL);
    backwardWith(y, fixture.gradOutput);
    expectClose(x.grad, fixture.grads.input, "grad input", RTOL, ATOL);
    const state = module.stateDict();
    for (const name of Object.keys(fixture.params ?? {})) {
      expectClose(state.get(fromTorchKey(name))!.grad, fixture.grads[name], `grad ${name}`, RTOL, ATOL);
    }
    return missingKeys;
  }

  it("Linear on a (2, 4, 5) input", () => {
    const [fixture] = casesOf("linear");
    checkModule(fixture, new Linear(5, 3, { dtype: "float64", generator: generator() }));
  });

  describe("Conv2d (stride, padding, dilation, rectangular kernels, no bias)", () => {
    for (const fixture of casesOf("conv2d")) {
      it(fixture.name, () => {
        const o = fixture.options as { kernelSize: Pair; stride: Pair; padding: Pair; dilation: Pair; bias: boolean };
        const [outChannels, inChannels] = fixture.params!.weight.shape;
        const conv = new Conv2d(inChannels, outChannels, o.kernelSize, {
          stride: o.stride,
          padding: o.padding,
          dilation: o.dilation,
          bias: o.bias,
          dtype: "float64",
          generator: generator(),
        });
        checkModule(fixture, conv);
      });
    }
  });

  it("unfold (im2col) and fold (col2im)", () => {
    for (const fixture of [...casesOf("unfold"), ...casesOf("fold")]) {
      const o = fixture.options as { kernelSize: Pair; stride: Pair; padding: Pair; dilation: Pair; outputSize?: Pair };
      const x = fromJson(fixture.inputs.input, "float64", true);
      const window = { stride: o.stride, padding: o.padding, dilation: o.dilation };
      const y = fixture.op === "unfold" ? unfold(x, o.kernelSize, window) : fold(x, o.outputSize!, o.kernelSize, window);
      expectClose(y, fixture.outputs.output, `${fixture.name} output`, RTOL, ATOL);
      backwardWith(y, fixture.gradOutput);
      expectClose(x.grad, fixture.grads.input, `${fixture.name} grad input`, RTOL, ATOL);
    }
  });

  describe("MaxPool2d, AvgPool2d, AdaptiveAvgPool2d", () => {
    const pools = [...casesOf("maxPool2d"), ...casesOf("avgPool2d"), ...casesOf("adaptiveAvgPool2d")];
    for (const fixture of pools) {
      it(fixture.name, () => {
        const o = fixture.options as { kernelSize: Pair; stride: Pair; padding: Pair; countIncludePad?: boolean; outputSize?: Pair };
        const pool = fixture.op === "maxPool2d" ?
          new MaxPool2d(o.kernelSize, o.stride, o.padding)
          : fixture.op === "avgPool2d" ?
          new AvgPool2d(o.kernelSize, o.stride, o.padding, o.countIncludePad)
          : new AdaptiveAvgPool2d(o.outputSize!);
        checkModule(fixture, pool);
      });
    }
  });

  it("Embedding with paddingIdx: rows looked up, no gradient into the padding row", () => {
    const [fixture] = casesOf("embedding");
    const o = fixture.options as { numEmbeddings: number; embeddingDim: number; paddingIdx: number };
    const embedding = new Embedding(o.numEmbeddings, o.embeddingDim, {
      paddingIdx: o.paddingIdx,
      dtype: "float64",
      generator: generator(),
    });
    embedding.loadStateDict({ weight: fromJson(fixture.params!.weight) });
    const y = embedding.forward(fromJson(fixture.inputs.indices));
    expectClose(y, fixture.outputs.output, "output", RTOL, ATOL);
    backwardWith(y, fixture.gradOutput);
    expectClose(embedding.weight.grad, fixture.grads.weight, "grad weight", RTOL, ATOL);
  });

  describe("TransformerEncoderLayer (params loaded from torch state-dict keys)", () => {
    for (const fixture of casesOf("transformerEncoderLayer")) {
      it(fixture.name, () => {
        const o = fixture.options as {
          dModel: number;
          nHead: number;
          dimFeedforward: number;
          activation: "gelu" | "relu";
          normFirst: boolean;
          layerNormEps: number;
        };
        const layer = new TransformerEncoderLayer(o.dModel, o.nHead, {
          dimFeedforward: o.dimFeedforward,
          activation: o.activation,
          normFirst: o.normFirst,
          layerNormEps: o.layerNormEps,
          dropout: 0,
          dtype: "float64",
          generator: generator(),
        });
        // Same parameter names, in the same order, as torch's module.
        expect([...layer.namedParameters()].map(([name]) => toTorchKey(name))).to.deep.equal(Object.keys(fixture.params!));
        const mask = fromJson(fixture.inputs.keyPaddingMask);
        expect(checkModule(fixture, {
          loadStateDict: (s, strict) => layer.loadStateDict(s, strict),
          stateDict: () => layer.stateDict(),
          forward: (x) => layer.forward(x, { srcKeyPaddingMask: mask }),
        })).to.deep.equal([]);
      });
    }
  });

  it("MLP([5, 6, 3], { batchNorm: true }) = torch's Sequential(Linear, BatchNorm1d, ReLU, Linear), training mode", () => {
    const [fixture] = casesOf("sequentialMlp");
    const mlp = new MLP([5, 6, 3], { activation: "relu", batchNorm: true, dtype: "float64", generator: generator() });
    expect([...mlp.stateDict().keys()].map(toTorchKey)).to.deep.equal([
      "0.weight",
      "0.bias",
      "1.weight",
      "1.bias",
      "1.running_mean",
      "1.running_var",
      "1.num_batches_tracked",
      "3.weight",
      "3.bias",
    ]);
    // The fixture's params are the initial weights; the buffers keep their fresh values (0, 1, 0).
    expect(checkModule(fixture, mlp)).to.deep.equal(["1.runningMean", "1.runningVar", "1.numBatchesTracked"]);
    for (const [name, value] of Object.entries(fixture.buffersAfter!)) {
      expectClose(mlp.stateDict().get(fromTorchKey(name))!, value, `buffer ${name}`, RTOL, 1e-14);
    }
  });
});
