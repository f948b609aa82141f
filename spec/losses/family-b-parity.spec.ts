/**
 * PyTorch parity of the family B losses: every case of spec/fixtures/family-b.json (computed in
 * float64 by scripts/fixtures/make_family_b_fixtures.py, transliterations of the official
 * facebookresearch code) through this project's losses.
 *   float64: value and input gradients to 1e-9 relative (plus a 1e-12·(1 + max |grad|) floor);
 *   float32: the same inputs rounded to float32, to 1e-4 (SwAV's and DINO's 1/ε and 1/τ_t amplify rounding: 1e-3);
 *   extras: DINO's center after its EMA update, SwAV's Sinkhorn codes;
 *   the stop-gradient inputs (SimSiam's z, DINO's teacher and center) receive no gradient.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import type { Tensor, DType } from "../../src/tensor/tensor.js";
import { vicregLoss, simsiamLoss, dinoLoss, dinoCenterUpdate, swavLoss, sinkhornKnopp } from "../../src/losses/index.js";
import { firstMismatch, fromFixture, maxAbs, repoFile, type FixtureTensor } from "./helpers.js";

interface FamilyBCase {
  name: string;
  loss: "vicregLoss" | "simsiamLoss" | "dinoLoss" | "swavLoss";
  options: Record<string, number>;
  inputs: Record<string, FixtureTensor>;
  value: number;
  grads: Record<string, FixtureTensor>;
  extras: Record<string, FixtureTensor>;
}

const fixture = JSON.parse(readFileSync(repoFile("spec/fixtures/family-b.json"), "utf8")) as { cases: FamilyBCase[] };

/** The loss of a case on leaves of `dtype` (every input a leaf with requiresGrad), and its extras. */
function run(c: FamilyBCase, dtype: DType): { value: number; leaves: Record<string, Tensor>; extras: Record<string, Tensor> } {
  const leaves = Object.fromEntries(Object.entries(c.inputs).map(([name, t]) => [name, fromFixture(t, dtype, true)]));
  const extras: Record<string, Tensor> = {};
  let loss: Tensor;
  if (c.loss === "vicregLoss") loss = vicregLoss(leaves.z1, leaves.z2);
  else if (c.loss === "simsiamLoss") loss = simsiamLoss(leaves.p1, leaves.p2, leaves.z1, leaves.z2);
  else if (c.loss === "dinoLoss") {
    const students = Object.keys(leaves).filter((k) => k.startsWith("student")).sort().map((k) => leaves[k]);
    const teachers = Object.keys(leaves).filter((k) => k.startsWith("teacher")).sort().map((k) => leaves[k]);
    loss = dinoLoss(students, teachers, leaves.center, c.options);
    extras.centerAfter = dinoCenterUpdate(leaves.center, teachers);
  } else {
    const sinkhorn = { epsilon: c.options.epsilon, iterations: c.options.iterations };
    loss = swavLoss(leaves.scores1, leaves.scores2, c.options);
    extras.codes1 = sinkhornKnopp(leaves.scores1, sinkhorn);
    extras.codes2 = sinkhornKnopp(leaves.scores2, sinkhorn);
  }
  loss.backward();
  return { value: loss.item(), leaves, extras };
}

describe("losses/family B: PyTorch parity (spec/fixtures/family-b.json)", () => {
  it("covers the four losses, each with several shapes", () => {
    const counts = new Map<string, number>();
    for (const c of fixture.cases) counts.set(c.loss, (counts.get(c.loss) ?? 0) + 1);
    expect([...counts.keys()].sort()).to.deep.equal(["dinoLoss", "simsiamLoss", "swavLoss", "vicregLoss"]);
    for (const count of counts.values()) expect(count).to.be.at.least(2);
  });

  for (const dtype of ["float64", "float32"] as const) {
    describe(`${dtype}: value, input gradients and extras`, () => {
      for (const c of fixture.cases) {
        it(c.name, () => {
          const amplified = c.loss === "dinoLoss" || c.loss === "swavLoss";
          const rtol = dtype === "float64" ? 1e-9 : amplified ? 1e-3 : 1e-4;
          const floor = dtype === "float64" ? 1e-12 : rtol;
          const result = run(c, dtype);
          expect(result.leaves[Object.keys(c.inputs)[0]].dtype).to.equal(dtype);
          expect(firstMismatch([result.value], [c.value], rtol, floor * 1e-2), "value").to.equal(null);
          for (const [name, grad] of Object.entries(c.grads)) {
            expect(result.leaves[name].grad, `grad ${name}`).to.not.equal(null);
            const actual = result.leaves[name].grad!.toTypedArray();
            expect(firstMismatch(actual, grad.data, rtol, floor * (1 + maxAbs(grad.data))), `grad ${name}`).to.equal(null);
          }
          // the inputs PyTorch gives no gradient (stop-gradient, teacher, center, codes) get none here either
          for (const name of Object.keys(c.inputs).filter((n) => !(n in c.grads))) {
            expect(result.leaves[name].grad, `${name} is stop-gradient`).to.equal(null);
          }
          for (const [name, expected] of Object.entries(c.extras)) {
            const actual = result.extras[name].toTypedArray();
            expect(firstMismatch(actual, expected.data, rtol, floor * (1 + maxAbs(expected.data))), name).to.equal(null);
          }
        });
      }
    });
  }
});
