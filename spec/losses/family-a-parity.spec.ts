/**
 * PyTorch parity of SupCon, DCL/DCLW, SigLIP (composed and tiled) and Barlow Twins: every case of
 * spec/fixtures/family-a.json (torch, float64, scripts/fixtures/make_family_fixtures.py, whose
 * references follow SupContrast, the DCL authors' code, open_clip and facebookresearch/barlowtwins).
 *   float64: value and every input gradient to 1e-9 relative (atol 1e-12·(1 + max |grad|));
 *   float32: the same inputs rounded to float32, to 1e-4.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import type { DType, Tensor } from "../../src/tensor/tensor.js";
import { barlowTwinsLoss, dclLoss, dclwLoss, sigLipLoss, supConLoss, tiledSigLipLoss } from "../../src/losses/index.js";
import { firstMismatch, fromFixture, maxAbs, repoFile, type FixtureTensor } from "./helpers.js";

interface FamilyCase {
  name: string;
  loss: "supConLoss" | "dclLoss" | "dclwLoss" | "sigLipLoss" | "barlowTwinsLoss";
  options: Record<string, number>;
  inputs: Record<string, FixtureTensor>;
  labels?: number[];
  value: number;
  grads: Record<string, FixtureTensor>;
}

const cases = (JSON.parse(readFileSync(repoFile("spec/fixtures/family-a.json"), "utf8")) as { cases: FamilyCase[] }).cases;

/** The case through this project's loss; `tiled` runs SigLIP's tiled form (tile 2) instead. */
function run(c: FamilyCase, dtype: DType, tiled = false): { value: number; grads: Record<string, Float64Array> } {
  const leaves: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(c.inputs)) leaves[name] = fromFixture(t, dtype, true);
  let loss: Tensor;
  if (c.loss === "supConLoss") loss = supConLoss(leaves.features, c.labels!, c.options);
  else if (c.loss === "dclLoss") loss = dclLoss(leaves.z1, leaves.z2, c.options);
  else if (c.loss === "dclwLoss") loss = dclwLoss(leaves.z1, leaves.z2, c.options);
  else if (c.loss === "barlowTwinsLoss") loss = barlowTwinsLoss(leaves.z1, leaves.z2, { lambda: c.options.lambda });
  else {
    const options = { logitScale: leaves.logitScale, logitBias: leaves.logitBias };
    loss = tiled
      ? tiledSigLipLoss(leaves.imageFeatures, leaves.textFeatures, { ...options, tileSize: 2 })
      : sigLipLoss(leaves.imageFeatures, leaves.textFeatures, options);
  }
  loss.backward();
  const grads: Record<string, Float64Array> = {};
  for (const [name, leaf] of Object.entries(leaves)) grads[name] = Float64Array.from(leaf.grad!.toTypedArray());
  return { value: loss.item(), grads };
}

describe("SupCon, DCL/DCLW, SigLIP, Barlow Twins: PyTorch parity (spec/fixtures/family-a.json)", () => {
  it("covers every loss of the family", () => {
    expect([...new Set(cases.map((c) => c.loss))].sort()).to.deep.equal([
      "barlowTwinsLoss",
      "dclLoss",
      "dclwLoss",
      "sigLipLoss",
      "supConLoss",
    ]);
  });

  for (const dtype of ["float64", "float32"] as const) {
    const rtol = dtype === "float64" ? 1e-9 : 1e-4;
    describe(`${dtype}: value and input gradients to ${rtol}`, () => {
      for (const c of cases) {
        const forms = c.loss === "sigLipLoss" ? [false, true] : [false];
        for (const tiled of forms) {
          it(`${c.name}${tiled ? " (tiledSigLipLoss, tile 2)" : ""}`, () => {
            const result = run(c, dtype, tiled);
            expect(firstMismatch([result.value], [c.value], rtol, dtype === "float64" ? 1e-14 : 1e-6), "value").to.equal(null);
            for (const [name, grad] of Object.entries(c.grads)) {
              const atol = (dtype === "float64" ? 1e-12 : 1e-4) * (1 + maxAbs(grad.data));
              expect(firstMismatch(result.grads[name], grad.data, rtol, atol), `grad ${name}`).to.equal(null);
            }
          });
        }
      }
    });
  }
});
