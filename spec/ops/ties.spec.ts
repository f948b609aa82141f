/**
 * Gradients at ties and kinks, against PyTorch (spec/fixtures/ties.json, written by
 * scripts/fixtures/make_tie_fixtures.py with torch 1.13).
 *
 * At a tie (maximum(a, b) with a = b, max over equal values) or a kink (relu and abs at 0, clamp at
 * its bounds) the function has no derivative and each library picks a subgradient. The gradcheck
 * table stays away from these points on purpose (central differences there measure the average of
 * the two sides, not a choice), so the choices are pinned here, case by case. The rules and where
 * they differ from PyTorch: docs/porting.md, "Ties and kinks".
 *
 * The upstream gradient is 1, 2, 3, … so that a share landing on the wrong element, or a tie given
 * the whole gradient instead of half, changes the numbers.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { Tensor, tensor, type DType } from "../../src/index.js";
import * as T from "../../src/index.js";
import { flat } from "../helpers/arbitraries.js";

interface TensorJson {
  shape: number[];
  data: number[];
}

interface TieCase {
  name: string;
  torch: string;
  op: string;
  options: { dim?: number; keepdim?: boolean; min?: number; max?: number };
  inputs: Record<string, TensorJson>;
  gradOutput: TensorJson;
  grads: Record<string, TensorJson>;
}

const fixture = JSON.parse(readFileSync(new URL("../../../spec/fixtures/ties.json", import.meta.url), "utf8")) as { cases: TieCase[] };

/** The op of contrastive-ts that each fixture case checks. */
const ours: Record<string, (inputs: Record<string, Tensor>, options: TieCase["options"]) => Tensor> = {
  maximum: ({ a, b }) => T.maximum(a, b),
  minimum: ({ a, b }) => T.minimum(a, b),
  max: ({ x }, { dim, keepdim }) => T.max(x, dim, keepdim),
  min: ({ x }, { dim, keepdim }) => T.min(x, dim, keepdim),
  relu: ({ x }) => T.relu(x),
  abs: ({ x }) => T.abs(x),
  clamp: ({ x }, { min, max }) => T.clamp(x, min, max),
};

const fromJson = (t: TensorJson, dtype: DType, requiresGrad = false) => tensor(t.data, { shape: t.shape, dtype, requiresGrad });

/** Run one case: the input gradients of sum(op(inputs) · gradOutput). */
function gradientsOf(c: TieCase, op: string, dtype: DType): Record<string, number[]> {
  const leaves = Object.fromEntries(Object.entries(c.inputs).map(([name, t]) => [name, fromJson(t, dtype, true)]));
  ours[op](leaves, c.options).mul(fromJson(c.gradOutput, dtype)).sum().backward();
  return Object.fromEntries(Object.entries(leaves).map(([name, leaf]) => [name, flat(leaf.grad!)]));
}

describe("ops: gradients at ties and kinks match PyTorch (spec/fixtures/ties.json)", () => {
  it("the fixture covers every rule docs/porting.md states", () => {
    expect([...new Set(fixture.cases.map((c) => c.op))]).to.have.members([...Object.keys(ours), "torch.max(dim)"]);
    expect(fixture.cases.length).to.be.at.least(18);
  });

  for (const c of fixture.cases.filter((c) => c.op !== "torch.max(dim)")) {
    for (const dtype of ["float64", "float32"] as const) {
      it(`${c.name}: ${c.torch} (${dtype})`, () => {
        const grads = gradientsOf(c, c.op, dtype);
        for (const [name, expected] of Object.entries(c.grads)) {
          // Halves, thirds and small integers: float64 reproduces torch's values exactly.
          if (dtype === "float64") expect(grads[name], `∂/∂${name}`).to.deep.equal(expected.data);
          else grads[name].forEach((v, i) => expect(v, `∂/∂${name}[${i}]`).to.be.closeTo(expected.data[i], 1e-6));
        }
      });
    }
  }

  it("max(dim) is torch's amax(dim), not torch.max(x, dim).values: ties share instead of the first taking all", () => {
    const torchMax = fixture.cases.find((c) => c.op === "torch.max(dim)")!;
    const amax = fixture.cases.find((c) => c.torch === "x.amax(1)")!;
    expect(torchMax.inputs.x).to.deep.equal(amax.inputs.x); // the same input…
    const grads = gradientsOf(torchMax, "max", "float64");
    expect(grads.x).to.deep.equal(amax.grads.x.data); // …our gradient is amax's
    expect(grads.x).to.not.deep.equal(torchMax.grads.x.data); // [0, 1, 0, 2, 0, 0] in torch
  });
});

describe("ops: maximum and minimum at ties (the rule, written out)", () => {
  it("a tie splits the gradient in half; the larger input takes it all", () => {
    const a = tensor([1, 2, 3], { dtype: "float64", requiresGrad: true });
    const b = tensor([1, 5, 0], { dtype: "float64", requiresGrad: true });
    a.maximum(b).sum().backward();
    expect(flat(a.grad!)).to.deep.equal([0.5, 0, 1]);
    expect(flat(b.grad!)).to.deep.equal([0.5, 1, 0]);
    a.grad = null;
    b.grad = null;
    a.minimum(b).sum().backward();
    expect(flat(a.grad!)).to.deep.equal([0.5, 1, 0]);
    expect(flat(b.grad!)).to.deep.equal([0.5, 0, 1]);
  });

  it("a 0-d tensor tied with k elements collects k halves (broadcasting sums them)", () => {
    const x = tensor([2, 2, 2, 1], { dtype: "float64", requiresGrad: true });
    const floor = tensor(2, { dtype: "float64", requiresGrad: true });
    x.maximum(floor).sum().backward();
    expect(flat(x.grad!)).to.deep.equal([0.5, 0.5, 0.5, 0]);
    expect(floor.grad!.item()).to.equal(3 * 0.5 + 1); // three ties and one win
  });

  it("a number operand: the tensor gets half at the ties", () => {
    const x = tensor([0, -1, 1], { dtype: "float64", requiresGrad: true });
    x.maximum(0).sum().backward(); // unlike relu, whose gradient at 0 is 0
    expect(flat(x.grad!)).to.deep.equal([0.5, 0, 1]);
  });

  it("NaN on either side sends the whole gradient to both inputs (torch 1.13 does the same)", () => {
    const a = tensor([NaN, 1], { dtype: "float64", requiresGrad: true });
    const b = tensor([1, NaN], { dtype: "float64", requiresGrad: true });
    a.maximum(b).sum().backward();
    expect(flat(a.grad!)).to.deep.equal([1, 1]);
    expect(flat(b.grad!)).to.deep.equal([1, 1]);
  });
});
