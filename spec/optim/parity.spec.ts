/**
 * Parity with PyTorch (float64): every optimizer run, the gradient clipping cases and the cosine
 * warmup table of spec/fixtures/optim.json (scripts/fixtures/make_optim_fixtures.py).
 */
import { expect } from "chai";
import type { Tensor } from "../../src/tensor/tensor.js";
import { Parameter } from "../../src/nn/module.js";
import { SGD } from "../../src/optim/sgd.js";
import { Adam, AdamW } from "../../src/optim/adam.js";
import { LARS } from "../../src/optim/lars.js";
import { clipGradNorm } from "../../src/optim/clip.js";
import { LambdaLR, cosineWithWarmup } from "../../src/optim/schedules.js";
import type { Optimizer } from "../../src/optim/optimizer.js";
import { fromJson, maxRelativeError, readFixture, setValues, type TensorJson } from "./helpers.js";

type Params = { weight: TensorJson; bias: TensorJson };
interface OptimFixture {
  optimizers: {
    name: string;
    optimizer: "SGD" | "Adam" | "AdamW" | "LARS";
    options: Record<string, unknown>;
    steps: { step: number; paramsBefore: Params; grads: Params; paramsAfter: Params }[];
  }[];
  lars: { trustCoefficient: number; exclude: string[] };
  clipGradNorm: {
    name: string;
    maxNorm: number;
    normType: number;
    gradsBefore: Params;
    totalNorm: number;
    clipCoef: number;
    gradsAfter: Params;
  }[];
  cosineWarmupSchedule: { baseLr: number; warmupSteps: number; totalSteps: number; table: { t: number; lr: number }[] };
}

const fixture = readFixture<OptimFixture>("optim.json");
/** float64 rounding, accumulated over a handful of operations per step. */
const RTOL = 1e-12;

function freshParams(initial: Params): { weight: Parameter; bias: Parameter } {
  return { weight: new Parameter(fromJson(initial.weight)), bias: new Parameter(fromJson(initial.bias)) };
}

function makeOptimizer(run: OptimFixture["optimizers"][number], weight: Tensor, bias: Tensor, named: boolean): Optimizer<{ lr: number }> {
  const named_ = [["weight", weight], ["bias", bias]] as [string, Tensor][];
  const params = named ? named_ : [weight, bias];
  const o = run.options as Record<string, never>;
  switch (run.optimizer) {
    case "SGD":
      return new SGD(params, { lr: o.lr, momentum: o.momentum, dampening: o.dampening, weightDecay: o.weightDecay, nesterov: o.nesterov });
    case "Adam":
      return new Adam(params, { lr: o.lr, betas: o.betas, eps: o.eps, weightDecay: o.weightDecay, amsgrad: o.amsgrad });
    case "AdamW":
      return new AdamW(params, { lr: o.lr, betas: o.betas, eps: o.eps, weightDecay: o.weightDecay, amsgrad: o.amsgrad });
    case "LARS": {
      const exclude = (run.options.exclude as string[]) ?? [];
      return new LARS(params, {
        lr: o.lr,
        momentum: o.momentum,
        weightDecay: o.weightDecay,
        trustCoefficient: o.trustCoefficient,
        // With names: the fixture's rule (name contains "bias"). Without: the default rule (rank < 2), the same split here.
        ...(named ? { excludeFromAdaptation: (name: string | undefined) => exclude.some((token) => name!.includes(token)) } : {}),
      });
    }
  }
}

describe("optim parity with PyTorch (spec/fixtures/optim.json)", () => {
  it("covers SGD, Adam, AdamW and LARS", () => {
    const kinds = new Set(fixture.optimizers.map((run) => run.optimizer));
    expect([...kinds].sort()).to.deep.equal(["Adam", "AdamW", "LARS", "SGD"]);
  });

  for (const run of fixture.optimizers) {
    for (const named of [true, false]) {
      it(`${run.name}${named ? " (named parameters)" : ""}: paramsAfter at every step, state carried across steps`, () => {
        const { weight, bias } = freshParams(run.steps[0].paramsBefore);
        const optimizer = makeOptimizer(run, weight, bias, named);
        let worst = 0;
        for (const step of run.steps) {
          // Our own trajectory agrees with torch's before the step …
          expect(maxRelativeError(weight.toTypedArray(), step.paramsBefore.weight.data)).to.be.below(RTOL);
          // … and then starts from torch's exact values, as the fixture prescribes.
          setValues(weight, step.paramsBefore.weight.data);
          setValues(bias, step.paramsBefore.bias.data);
          weight.grad = fromJson(step.grads.weight);
          bias.grad = fromJson(step.grads.bias);
          optimizer.step();
          for (const [name, param] of [["weight", weight], ["bias", bias]] as const) {
            const error = maxRelativeError(param.toTypedArray(), step.paramsAfter[name].data);
            expect(error, `${run.name} step ${step.step} ${name}`).to.be.below(RTOL);
            worst = Math.max(worst, error);
          }
        }
      });
    }
  }

  for (const c of fixture.clipGradNorm) {
    it(`clipGradNorm ${c.name}: total norm and clipped gradients`, () => {
      const weight = new Parameter(fromJson(c.gradsBefore.weight));
      const bias = new Parameter(fromJson(c.gradsBefore.bias));
      weight.grad = fromJson(c.gradsBefore.weight);
      bias.grad = fromJson(c.gradsBefore.bias);
      const total = clipGradNorm([weight, bias], c.maxNorm, c.normType);
      expect(Math.abs(total - c.totalNorm) / c.totalNorm).to.be.below(1e-14);
      expect(maxRelativeError(weight.grad.toTypedArray(), c.gradsAfter.weight.data)).to.be.below(1e-14);
      expect(maxRelativeError(bias.grad.toTypedArray(), c.gradsAfter.bias.data)).to.be.below(1e-14);
      if (c.clipCoef === 1) expect(Array.from(weight.grad.toTypedArray())).to.deep.equal(c.gradsBefore.weight.data);
    });
  }

  it("cosineWithWarmup reproduces the fixture table (same operations: equal to the last bit or within 1 ulp)", () => {
    const { baseLr, warmupSteps, totalSteps, table } = fixture.cosineWarmupSchedule;
    const lr = cosineWithWarmup({ baseLr, warmupSteps, totalSteps });
    for (const { t, lr: expected } of table) {
      const actual = lr(t);
      // Math.cos (V8) and glibc's cos may differ in the last bit; everything else is the same operations.
      expect(Math.abs(actual - expected), `t = ${t}`).to.be.at.most(Math.abs(expected) * Number.EPSILON);
    }
    expect(lr(0)).to.equal(0);
    expect(lr(warmupSteps)).to.equal(baseLr);
    expect(lr(totalSteps)).to.equal(0);
    expect(lr(totalSteps + 7)).to.equal(0);
  });

  it("LambdaLR with the cosine factor sets the optimizer's lr to the fixture table step by step", () => {
    const { baseLr, warmupSteps, totalSteps, table } = fixture.cosineWarmupSchedule;
    const p = new Parameter(fromJson({ shape: [2], data: [1, 2] }));
    const optimizer = new SGD([p], { lr: baseLr });
    const scheduler = new LambdaLR(optimizer, cosineWithWarmup({ baseLr: 1, warmupSteps, totalSteps }));
    for (const { t, lr: expected } of table) {
      expect(scheduler.lastEpoch).to.equal(t);
      expect(Math.abs(optimizer.paramGroups[0].lr - expected), `t = ${t}`).to.be.at.most(2 * Math.abs(expected) * Number.EPSILON);
      optimizer.step();
      scheduler.step();
    }
  });
});
