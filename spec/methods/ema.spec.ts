/**
 * The slow networks of MoCo (key encoder) and BYOL (target):
 *  - after n EMA steps towards a frozen online network, target = Mₙ θ₀ + (1 − Mₙ) θ_online, with
 *    Mₙ = mⁿ for MoCo's constant m and Mₙ = Π_{k=1..n} τ_k for BYOL's cosine schedule
 *    τ_k = 1 − (1 − τ₀)(cos(πk/K) + 1)/2;
 *  - no gradient reaches them: their parameters have requiresGrad false and grad null after
 *    backward, the optimizer does not hold them, and their values change only in
 *    afterOptimizerStep, by exactly one EMA step.
 */
import { expect } from "chai";
import { Generator } from "../../src/tensor/random.js";
import type { Module } from "../../src/nn/module.js";
import { MoCo } from "../../src/methods/moco.js";
import { BYOL } from "../../src/methods/byol.js";
import { createRun } from "../../src/methods/trainer.js";
import type { TwoViewBatch } from "../../src/data/loader.js";
import { tinyConfig } from "./helpers.js";

/** Every parameter's values as float64, by name. */
function snapshot(module: Module): Map<string, Float64Array> {
  return new Map([...module.namedParameters()].map(([name, p]) => [name, Float64Array.from(p.toTypedArray())]));
}

/** Move the online network away from its copy: θ ← θ + 0.05·ε, ε ~ N(0, 1). */
function perturb(module: Module, seed: number): void {
  const g = new Generator(seed);
  for (const p of module.parameters()) {
    const { data, offset } = p.storage;
    for (let i = 0; i < p.numel(); i++) data[offset + i] += 0.05 * g.normal();
  }
}

/** Compare target values with M·θ₀ + (1 − M)·θ_online, to float32 accumulation error. */
function expectClosedForm(target: Module, initial: Map<string, Float64Array>, online: Map<string, Float64Array>, M: number): void {
  for (const [name, p] of target.namedParameters()) {
    const actual = p.toTypedArray();
    const theta0 = initial.get(name)!;
    const thetaOnline = online.get(name)!;
    let worst = 0;
    for (let i = 0; i < actual.length; i++) {
      const expected = M * theta0[i] + (1 - M) * thetaOnline[i];
      worst = Math.max(worst, Math.abs(actual[i] - expected) / (Math.abs(theta0[i]) + Math.abs(thetaOnline[i]) + 1e-6));
    }
    expect(worst, name).to.be.below(2e-6);
  }
}

/** τ_k of BYOL's schedule, written out independently of src/optim/schedules.ts. */
function byolTau(base: number, k: number, total: number): number {
  return 1 - ((1 - base) * (Math.cos((Math.PI * k) / total) + 1)) / 2;
}

describe("methods: EMA targets", () => {
  it("MoCo: after n steps the key encoder is mⁿ θ₀ + (1 − mⁿ) θ_q (m constant)", () => {
    const moco = new MoCo({ generator: new Generator(3), queueSize: 64 });
    expect(moco.momentum).to.equal(0.99);
    perturb(moco.encoder, 10);
    perturb(moco.projector, 11);
    const keyStart = [snapshot(moco.keyEncoder), snapshot(moco.keyProjector)];
    const online = [snapshot(moco.encoder), snapshot(moco.projector)];
    const n = 40;
    for (let step = 1; step <= n; step++) moco.afterOptimizerStep();
    expectClosedForm(moco.keyEncoder, keyStart[0], online[0], 0.99 ** n);
    expectClosedForm(moco.keyProjector, keyStart[1], online[1], 0.99 ** n);
    // The online network is frozen: EMA reads it and never writes it.
    expectClosedForm(moco.encoder, online[0], online[0], 1);
  });

  it("BYOL: after n steps the target is (Π τ_k) θ₀ + (1 − Π τ_k) θ_online, τ_k on the cosine schedule", () => {
    const byol = new BYOL({ generator: new Generator(4), baseMomentum: 0.9 });
    perturb(byol.encoder, 12);
    perturb(byol.projector, 13);
    const targetStart = [snapshot(byol.targetEncoder), snapshot(byol.targetProjector)];
    const online = [snapshot(byol.encoder), snapshot(byol.projector)];
    const buffersBefore = [...byol.targetProjector.namedBuffers()].map(([name, b]) => [name, b.toArray()]);
    const total = 10;
    const n = 6;
    let product = 1;
    for (let step = 1; step <= n; step++) {
      byol.afterOptimizerStep(step, total);
      product *= byolTau(0.9, step, total);
      expect(byol.currentMomentum).to.be.closeTo(byolTau(0.9, step, total), 1e-15);
    }
    expect(product).to.be.within(0.5, 0.99); // the schedule matters here: 0.9⁶ = 0.53 would be wrong
    expectClosedForm(byol.targetEncoder, targetStart[0], online[0], product);
    expectClosedForm(byol.targetProjector, targetStart[1], online[1], product);
    // Batch-norm statistics are the target's own (MoCo and BYOL average parameters only).
    expect([...byol.targetProjector.namedBuffers()].map(([name, b]) => [name, b.toArray()])).to.deep.equal(buffersBefore);
    // At the last step τ_K = 1: the target stops moving.
    const before = snapshot(byol.targetEncoder);
    byol.afterOptimizerStep(total, total);
    expect(byol.currentMomentum).to.equal(1);
    expectClosedForm(byol.targetEncoder, before, online[0], 1);
  });

  for (const method of ["moco", "byol"] as const) {
    it(`${method}: no gradient reaches the ${method === "moco" ? "key encoder" : "target"}; it moves only by one EMA step`, () => {
      const run = createRun(tinyConfig(method, { batchSize: 32, trainLimit: 64, ...(method === "moco" ? { queueSize: 64 } : {}) }));
      const model = run.method as MoCo | BYOL;
      const [slowEncoder, slowProjector] = model instanceof MoCo
        ? [model.keyEncoder, model.keyProjector]
        : [model.targetEncoder, model.targetProjector];
      const slowNames = new Set([...model.namedParameters()].filter(([, p]) => !p.requiresGrad).map(([name]) => name));
      const slowParameters = [...slowEncoder.parameters(), ...slowProjector.parameters()];
      expect(slowParameters.every((p) => p.requiresGrad === false)).to.equal(true);
      expect(slowNames.size).to.equal(slowParameters.length);
      // The optimizer does not hold them.
      const optimized = new Set(run.optimizer.paramGroups.flatMap((group) => group.params));
      expect(slowParameters.some((p) => optimized.has(p))).to.equal(false);
      expect(run.method.trainableParameters().some(([name]) => slowNames.has(name))).to.equal(false);

      const slowBefore = [snapshot(slowEncoder), snapshot(slowProjector)];
      const loss = run.method.trainingLoss(run.loader.next() as TwoViewBatch);
      run.optimizer.zeroGrad();
      loss.backward();
      expect(slowParameters.every((p) => p.grad === null)).to.equal(true);
      expect(model.encoder.parameters().every((p) => p.grad !== null)).to.equal(true);
      run.optimizer.step();
      // Backward and the optimizer step left the slow network exactly as it was…
      expectClosedForm(slowEncoder, slowBefore[0], slowBefore[0], 1);
      expectClosedForm(slowProjector, slowBefore[1], slowBefore[1], 1);
      const onlineAfterStep = [snapshot(model.encoder), snapshot(model.projector)];
      // …and afterOptimizerStep moves it one EMA step towards the updated online network.
      run.method.afterOptimizerStep(1, run.totalSteps);
      const m = model instanceof MoCo ? model.momentum : byolTau(model.baseMomentum, 1, run.totalSteps);
      expectClosedForm(slowEncoder, slowBefore[0], onlineAfterStep[0], m);
      expectClosedForm(slowProjector, slowBefore[1], onlineAfterStep[1], m);
    });
  }
});
