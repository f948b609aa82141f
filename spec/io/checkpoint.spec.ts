/**
 * saveModule / loadModule: a module's weights and buffers plus its optimizer's state in one
 * safetensors file; resuming is bit-identical; a mismatched file changes nothing.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Tensor } from "../../src/tensor/tensor.js";
import { tensor } from "../../src/tensor/creation.js";
import type { Module } from "../../src/nn/module.js";
import { Adam } from "../../src/optim/adam.js";
import { SGD } from "../../src/optim/sgd.js";
import { LARS } from "../../src/optim/lars.js";
import type { Optimizer } from "../../src/optim/optimizer.js";
import { loadSafetensors } from "../../src/io/safetensors.js";
import { loadModule, saveModule } from "../../src/io/checkpoint.js";
import { TinyModule, bytesOf } from "../optim/helpers.js";

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "contrastive-ts-checkpoint-"));
});
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const f64 = (values: number[], shape: number[]): Tensor => tensor(values, { dtype: "float64", shape });

/** encoder.{weight (3, 4), bias (3,)}, encoder.runningMean buffer, head.weight (2, 3) float32. */
function makeModel(seed = 0): TinyModule {
  const values = (n: number, k: number): number[] => Array.from({ length: n }, (_, i) => Math.sin(seed + 1.3 * i + k) * (k + 1));
  const encoder = new TinyModule({ weight: f64(values(12, 0), [3, 4]), bias: f64(values(3, 1), [3]) }, {
    runningMean: f64(values(3, 2), [3]),
  });
  const head = new TinyModule({ weight: tensor(values(6, 3), { shape: [2, 3], dtype: "float32" }) });
  return new TinyModule({}, {}, { encoder, head });
}

function gradientsFor(module: Module, step: number): void {
  for (const [k, p] of module.parameters().entries()) {
    const w = p.toTypedArray();
    p.grad = Tensor.fromTypedArray(w.map((v, i) => Math.cos(2 * v + i + k) + 0.05 * step), p.shape);
  }
}

function snapshot(module: Module): Buffer[] {
  return [...module.stateDict().values()].map(bytesOf);
}

function expectUnchanged(module: Module, before: Buffer[]): void {
  snapshot(module).forEach((bytes, i) => expect(bytes.equals(before[i]), `entry ${i}`).to.equal(true));
}

describe("checkpoints: saveModule / loadModule", () => {
  it("round-trips parameters and buffers bit-exactly, with the metadata, under PyTorch's state_dict names", () => {
    const file = path.join(tmp, "model.safetensors");
    const source = makeModel(1);
    saveModule(file, source, { metadata: { method: "simclr", step: "10", seed: "7", hyperparameters: JSON.stringify({ lr: 0.3 }) } });
    const { tensors, metadata } = loadSafetensors(file);
    // PyTorch's names: camelCase segments become snake_case (src/nn/torch-keys.ts).
    expect([...tensors.keys()].sort()).to.deep.equal(["encoder.bias", "encoder.running_mean", "encoder.weight", "head.weight"]);
    expect(metadata).to.deep.equal({ format: "pt", method: "simclr", step: "10", seed: "7", hyperparameters: '{"lr":0.3}' });
    const target = makeModel(2);
    const loaded = loadModule(file, target);
    expect(loaded.metadata.step).to.equal("10");
    expectUnchanged(target, snapshot(source));
  });

  for (
    const [label, factory] of [
      ["Adam (amsgrad)", (m: Module) => new Adam(m.namedParameters(), { lr: 0.01, amsgrad: true })],
      ["SGD (momentum)", (m: Module) => new SGD(m.parameters(), { lr: 0.05, momentum: 0.9 })],
      ["LARS (two groups)", (m: Module) => {
        const named = [...m.namedParameters()];
        return new LARS([{ params: named.filter(([n]) => n.startsWith("encoder")) }, {
          params: named.filter(([n]) => n.startsWith("head")),
          lr: 0.01,
        }], { lr: 0.1, weightDecay: 1e-4 });
      }],
    ] as [string, (m: Module) => Optimizer<{ lr: number }>][]
  ) {
    it(`${label}: 3 steps, save, load into a fresh model and optimizer, 2 steps = 5 steps straight, bit for bit`, () => {
      const straight = makeModel(3);
      const straightOptimizer = factory(straight);
      for (let step = 0; step < 5; step++) {
        gradientsFor(straight, step);
        straightOptimizer.step();
      }

      const first = makeModel(3);
      const firstOptimizer = factory(first);
      for (let step = 0; step < 3; step++) {
        gradientsFor(first, step);
        firstOptimizer.step();
      }
      const file = path.join(tmp, `resume-${label.split(" ")[0]}.safetensors`);
      saveModule(file, first, { optimizer: firstOptimizer, metadata: { step: "3" } });

      const resumed = makeModel(99);
      const resumedOptimizer = factory(resumed);
      const { metadata } = loadModule(file, resumed, { optimizer: resumedOptimizer });
      expect(metadata.step).to.equal("3");
      expect(JSON.parse(metadata["optimizer.state"]).type).to.equal(firstOptimizer.constructor.name);
      for (let step = 3; step < 5; step++) {
        gradientsFor(resumed, step);
        resumedOptimizer.step();
      }
      expectUnchanged(resumed, snapshot(straight));
    });
  }

  it("stores optimizer state under PyTorch's names: 'optimizer.state.<key>.exp_avg' tensors plus JSON in the metadata", () => {
    const file = path.join(tmp, "layout.safetensors");
    const model = makeModel();
    const optimizer = new Adam(model.parameters(), { lr: 0.01 });
    gradientsFor(model, 0);
    optimizer.step();
    saveModule(file, model, { optimizer });
    const { tensors, metadata } = loadSafetensors(file);
    expect([...tensors.keys()].filter((k) => k.startsWith("optimizer.")).sort()).to.deep.equal([
      "optimizer.state.encoder.bias.exp_avg",
      "optimizer.state.encoder.bias.exp_avg_sq",
      "optimizer.state.encoder.weight.exp_avg",
      "optimizer.state.encoder.weight.exp_avg_sq",
      "optimizer.state.head.weight.exp_avg",
      "optimizer.state.head.weight.exp_avg_sq",
    ]);
    const saved = JSON.parse(metadata["optimizer.state"]);
    expect(saved.type).to.equal("Adam");
    expect(saved.param_groups).to.deep.equal([{
      lr: 0.01,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weight_decay: 0,
      amsgrad: false,
      params: ["encoder.weight", "encoder.bias", "head.weight"],
    }]);
    expect(saved.state["encoder.weight"]).to.deep.equal({
      step: 1,
      exp_avg: { tensor: "optimizer.state.encoder.weight.exp_avg" },
      exp_avg_sq: { tensor: "optimizer.state.encoder.weight.exp_avg_sq" },
    });
    expect(tensors.get("optimizer.state.head.weight.exp_avg")!.dtype).to.equal("float32");
  });

  it("a module whose names, shapes or dtypes differ from the file: error naming the file and the entry, weights unchanged", () => {
    const file = path.join(tmp, "mismatch.safetensors");
    saveModule(file, makeModel(1));
    const variants: [string, () => TinyModule, RegExp][] = [
      [
        "missing",
        () =>
          new TinyModule({}, {}, {
            encoder: new TinyModule({ weight: f64(Array(12).fill(0), [3, 4]), bias: f64([0, 0, 0], [3]) }, {
              runningMean: f64([0, 0, 0], [3]),
            }),
          }),
        /in the file but not in the module \[head\.weight\]/,
      ],
      ["extra", () => {
        const m = makeModel(5);
        m.registerParameter("temperature", new TinyModule({ t: f64([1], [1]) }).parameters()[0]);
        return m;
      }, /missing from the file \[temperature\]/],
      ["shape", () =>
        new TinyModule({}, {}, {
          encoder: new TinyModule({ weight: f64(Array(12).fill(0), [4, 3]), bias: f64([0, 0, 0], [3]) }, {
            runningMean: f64([0, 0, 0], [3]),
          }),
          head: new TinyModule({ weight: tensor(Array(6).fill(0), { shape: [2, 3] }) }),
        }), /'encoder\.weight' is \[3, 4\] float64 in the file but \[4, 3\] float64 in the module/],
      ["dtype", () =>
        new TinyModule({}, {}, {
          encoder: new TinyModule({ weight: f64(Array(12).fill(0), [3, 4]), bias: f64([0, 0, 0], [3]) }, {
            runningMean: f64([0, 0, 0], [3]),
          }),
          head: new TinyModule({ weight: f64(Array(6).fill(0), [2, 3]) }),
        }), /'head\.weight' is \[2, 3\] float32 in the file but \[2, 3\] float64 in the module/],
    ];
    for (const [label, make, message] of variants) {
      const target = make();
      const before = snapshot(target);
      expect(() => loadModule(file, target), label).to.throw(
        new RegExp(`loadModule: '.*mismatch\\.safetensors' does not match the module TinyModule: .*` + message.source),
      );
      expectUnchanged(target, before);
    }
  });

  it("an optimizer that does not match the file: error, and neither the module nor the optimizer changes", () => {
    const file = path.join(tmp, "optimizer-mismatch.safetensors");
    const source = makeModel(1);
    const sourceOptimizer = new Adam(source.parameters(), { lr: 0.01 });
    gradientsFor(source, 0);
    sourceOptimizer.step();
    saveModule(file, source, { optimizer: sourceOptimizer });

    const target = makeModel(2);
    const initial = snapshot(target);
    const sgd = new SGD(target.parameters(), { lr: 0.1, momentum: 0.9 });
    expect(() => loadModule(file, target, { optimizer: sgd })).to.throw(
      /does not match the optimizer: the file holds the state of a Adam, the optimizer is a SGD/,
    );
    expectUnchanged(target, initial);
    const twoGroups = new Adam([{ params: [target.parameters()[0]] }, { params: target.parameters().slice(1) }], { lr: 0.5 });
    gradientsFor(target, 0);
    twoGroups.step();
    const before = snapshot(target);
    const optimizerBefore = JSON.stringify(
      Object.values(twoGroups.stateDict().state).map((s) => Object.values(s).map((v) => (v instanceof Tensor ? [...bytesOf(v)] : v))),
    );
    expect(() => loadModule(file, target, { optimizer: twoGroups })).to.throw(
      /does not match the optimizer: the file has 1 parameter groups, the optimizer has 2/,
    );
    const [w, b, h] = target.parameters();
    expect(() => loadModule(file, target, { optimizer: new Adam([b, w, h]) })).to.throw(
      "parameter group 0 holds [encoder.weight, encoder.bias, head.weight] in the file " +
        "but [encoder.bias, encoder.weight, head.weight] in the optimizer",
    );
    expect(
      JSON.stringify(
        Object.values(twoGroups.stateDict().state).map((s) => Object.values(s).map((v) => (v instanceof Tensor ? [...bytesOf(v)] : v))),
      ),
    ).to.equal(optimizerBefore);
    expect(twoGroups.paramGroups[0].lr).to.equal(0.5);
    expectUnchanged(target, before);

    const plain = path.join(tmp, "no-optimizer.safetensors");
    saveModule(plain, source);
    expect(() => loadModule(plain, target, { optimizer: new Adam(target.parameters()) })).to.throw(/holds no optimizer state/);
    expectUnchanged(target, before);
    // The file with optimizer state still loads into a module alone.
    loadModule(file, target);
    expectUnchanged(target, snapshot(source));
  });

  it("refuses, before writing anything, an optimizer over tensors the module does not own and a reserved metadata key", () => {
    const file = path.join(tmp, "refused.safetensors");
    const model = makeModel();
    const stranger = new TinyModule({ w: f64([1], [1]) });
    const optimizer = new SGD([...model.parameters(), ...stranger.parameters()], { lr: 0.1, momentum: 0.9 });
    gradientsFor(model, 0);
    gradientsFor(stranger, 0);
    optimizer.step();
    expect(() => saveModule(file, model, { optimizer })).to.throw(
      new RegExp(
        /saveModule: '.*refused\.safetensors': /.source +
          /the optimizer has a parameter of shape \[1\] \(index 3\) that is not a parameter of the module/.source,
      ),
    );
    expect(() => saveModule(file, model, { optimizer: new SGD(model.parameters(), { lr: 1 }), metadata: { "optimizer.state": "{}" } })).to
      .throw(/metadata key 'optimizer\.state' is reserved/);
    const clash = new TinyModule({ runningMean: f64([1], [1]), running_mean: f64([2], [1]) });
    expect(() => saveModule(file, clash)).to.throw(/module keys 'runningMean' and 'running_mean' both become 'running_mean'/);
    expect(fs.existsSync(file)).to.equal(false);
  });

  it("a damaged checkpoint: the loader's error names the file, the module is unchanged", () => {
    const file = path.join(tmp, "damaged.safetensors");
    saveModule(file, makeModel(1));
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 3));
    const target = makeModel(2);
    const before = snapshot(target);
    expect(() => loadModule(file, target)).to.throw(/loadSafetensors: '.*damaged\.safetensors' is not a valid safetensors file/);
    expectUnchanged(target, before);
  });
});
