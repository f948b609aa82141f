/**
 * src/methods/evaluate.ts beyond the numbers checked in methods.spec.ts and clip.spec.ts:
 * `similaritySample` (the heatmap's matrix) is a square matrix of cosines over test digits ordered
 * by class, reproducible from its seed; evaluation leaves the model's mode and weights alone.
 */
import { expect } from "chai";
import { similaritySample, evaluateMethod } from "../../src/methods/evaluate.js";
import type { MethodName } from "../../src/methods/common.js";
import { cachedTiny, evaluationSubset, sameBits } from "./helpers.js";

describe("methods/evaluate", () => {
  for (const method of ["simclr", "clip"] as MethodName[]) {
    it(`${method}: similaritySample is a square matrix of cosines over digits ordered by class, the same for the same seed`, () => {
      const { run } = cachedTiny(method);
      const data = evaluationSubset();
      const sample = similaritySample(run.method, data, { seed: 3 });
      expect(sample.size).to.equal(30);
      expect(sample.values).to.have.length(30 * 30);
      expect(Array.from(sample.labels)).to.deep.equal(Array.from({ length: 30 }, (_, i) => Math.floor(i / 3))); // three of each digit
      sample.values.forEach((v) => expect(v).to.be.within(-1 - 1e-6, 1 + 1e-6));
      expect(sameBits(similaritySample(run.method, data, { seed: 3 }).values, sample.values)).to.equal(true);
      expect(run.method.training).to.equal(true); // restored after the eval-mode forward
      // The diagonal (an image against its own other view, or its own caption) beats the average.
      let diagonal = 0;
      let all = 0;
      for (let i = 0; i < 30; i++) {
        for (let j = 0; j < 30; j++) {
          i === j
            ? (diagonal += sample.values[i * 30 + j] / 30)
            : (all += sample.values[i * 30 + j] / 870);
        }
      }
      expect(diagonal).to.be.above(all);
    });
  }

  it("evaluateMethod changes no weight and restores training mode", () => {
    const { run } = cachedTiny("byol");
    const before = new Map([...run.method.stateDict()].map(([name, t]) => [name, t.toTypedArray()]));
    evaluateMethod(run.method, evaluationSubset(), { seed: 0 });
    expect(run.method.training).to.equal(true);
    for (const [name, t] of run.method.stateDict()) {
      expect(sameBits(t, before.get(name)! as Float32Array | Float64Array), name).to.equal(true);
    }
  });
});
