/**
 * What the math of SupCon, DCL/DCLW, SigLIP and Barlow Twins promises (issue 15), each checked on
 * random inputs (fast-check) or at a point where the value is known in closed form, plus a
 * by-hand loop reference of each formula and the tiled SigLIP against the composed one:
 *
 *   SupCon        unique labels, two views = NT-Xent (value and gradients); repeated labels ≠ NT-Xent;
 *                 = a loop over anchors and positives; × τ/τ_base; anchors without positives give 0
 *   DCL / DCLW    DCL goes below 0 where NT-Xent cannot (NT-Xent ≥ 0 everywhere); = a loop; DCLW's
 *                 weights have mean 1, so DCLW = DCL when every pair is equally aligned
 *   SigLIP        closed forms at known points; symmetric under swapping the towers; = a loop;
 *                 the tiled form = the composed one (values and every gradient, both dtypes)
 *   Barlow Twins  0 exactly when C = I; invariant to a per-dimension affine rescaling; = a loop;
 *                 linear in λ
 * Each property was checked to fail with its formula broken (docs/losses.md lists how).
 */
import { expect } from "chai";
import fc from "fast-check";
import { Tensor } from "../../src/tensor/tensor.js";
import { tensor, randn } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import { stack } from "../../src/ops/indexing.js";
import { barlowTwinsLoss, dclLoss, dclwLoss, ntXent, sigLipLoss, supConLoss, tiledSigLipLoss } from "../../src/losses/index.js";

const f64 = { dtype: "float64" as const };
const rows = (t: Tensor): number[][] => {
  const [n, d] = t.shape;
  const v = t.toTypedArray();
  return Array.from({ length: n }, (_, i) => Array.from(v.subarray(i * d, (i + 1) * d)));
};
const unit = (x: number[]): number[] => {
  const norm = Math.hypot(...x);
  return x.map((v) => v / norm);
};
const dot = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * b[i], 0);
const logSumExp = (xs: number[]): number => {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
};
const logSigmoid = (x: number): number => Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));

/** Random (N, D) float64 embeddings from a seed. */
const embeddings = (seed: number, n: number, d: number): Tensor => randn([n, d], new Generator(seed), f64);
const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const gradOf = (leaf: Tensor): number[] => Array.from(leaf.grad!.toTypedArray());
const leaf = (t: Tensor): Tensor => t.detach().clone().requiresGrad_();
const expectClose = (actual: number[], expected: number[], tol: number, what: string) => {
  expect(actual.length, what).to.equal(expected.length);
  actual.forEach((a, i) => expect(a, `${what}[${i}]`).to.be.closeTo(expected[i], tol * (1 + Math.abs(expected[i]))));
};

describe("SupCon (supConLoss)", () => {
  /** L_out by hand: anchors over the VN stacked views, positives = same label, k ≠ a. */
  function supConByHand(views: Tensor[], labels: number[], tau: number, base = tau): number {
    const z = views.flatMap((v) => rows(v).map(unit)); // (VN, D) view-major
    const n = labels.length;
    let total = 0;
    for (let a = 0; a < z.length; a++) {
      const logits = z.map((zk, k) => (k === a ? -Infinity : dot(z[a], zk) / tau));
      const lse = logSumExp(logits.filter((_, k) => k !== a));
      const positives = z.map((_, k) => k).filter((k) => k !== a && labels[k % n] === labels[a % n]);
      if (positives.length === 0) continue;
      total += -(tau / base) * positives.reduce((s, p) => s + logits[p] - lse, 0) / positives.length;
    }
    return total / z.length;
  }

  it("with unique labels and two views it is NT-Xent: value and gradients (1e-12)", () => {
    fc.assert(
      fc.property(
        seedArb,
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
        fc.double({ noNaN: true, min: 0.05, max: 2 }),
        (seed, n, d, tau) => {
          const a1 = leaf(embeddings(seed, n, d));
          const a2 = leaf(embeddings(seed + 1, n, d));
          const b1 = leaf(a1);
          const b2 = leaf(a2);
          const labels = Array.from({ length: n }, (_, i) => 3 * i + 1); // unique, any values
          const sup = supConLoss(stack([a1, a2], 1), labels, { temperature: tau });
          const nt = ntXent(b1, b2, { temperature: tau });
          sup.backward();
          nt.backward();
          expect(sup.item()).to.be.closeTo(nt.item(), 1e-12 * (1 + nt.item()));
          expectClose(gradOf(a1), gradOf(b1), 1e-10, "∂z1");
          expectClose(gradOf(a2), gradOf(b2), 1e-10, "∂z2");
        },
      ),
      { numRuns: 25 },
    );
  });

  it("with a repeated label it is not NT-Xent (the positives are more than the other view)", () => {
    const z1 = embeddings(1, 4, 3);
    const z2 = embeddings(2, 4, 3);
    const sup = supConLoss(stack([z1, z2], 1), [0, 1, 0, 2], { temperature: 0.5 }).item();
    expect(Math.abs(sup - ntXent(z1, z2, { temperature: 0.5 }).item())).to.be.above(1e-3);
  });

  it("equals the formula computed by hand, for 1–3 views, repeated labels and τ/τ_base", () => {
    fc.assert(
      fc.property(
        seedArb,
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        fc.double({ noNaN: true, min: 0.05, max: 1 }),
        fc.double({ noNaN: true, min: 0.05, max: 1 }),
        (seed, n, v, d, tau, base) => {
          fc.pre(n * v >= 2);
          const views = Array.from({ length: v }, (_, k) => embeddings(seed + k, n, d));
          const labels = Array.from({ length: n }, (_, i) => (seed >> i) % 3);
          const value = supConLoss(stack(views, 1), labels, { temperature: tau, baseTemperature: base }).item();
          expect(value).to.be.closeTo(supConByHand(views, labels, tau, base), 1e-10);
        },
      ),
      { numRuns: 30 },
    );
  });

  it("scales by τ/τ_base (SupContrast's rescaling), and an anchor without positives adds 0 to the sum", () => {
    const features = stack([embeddings(3, 5, 4), embeddings(4, 5, 4)], 1);
    const labels = [0, 1, 0, 2, 1];
    const plain = supConLoss(features, labels, { temperature: 0.2 }).item();
    expect(supConLoss(features, labels, { temperature: 0.2, baseTemperature: 0.07 }).item()).to.be.closeTo((plain * 0.2) / 0.07, 1e-12);
    // one view: label 2 has no other member, its anchor contributes 0 but is counted in the mean
    const single = embeddings(5, 5, 4);
    const value = supConLoss(stack([single], 1), labels, { temperature: 0.2 }).item();
    expect(value).to.be.closeTo(supConByHand([single], labels, 0.2), 1e-12);
  });

  it("refuses features that are not (N, V, D), a label count that does not match, non-integer labels", () => {
    expect(() => supConLoss(embeddings(1, 4, 3), [0, 1, 2, 3])).to.throw(/supConLoss: features must be \(N, V, D\).*\[4, 3\]/);
    expect(() => supConLoss(stack([embeddings(1, 4, 3)], 1), [0, 1])).to.throw(/supConLoss: labels has 2 entries for a batch of 4 images/);
    expect(() => supConLoss(stack([embeddings(1, 2, 3)], 1), [0, 0.5])).to.throw(/supConLoss: labels\[1\] must be an integer, got 0.5/);
    expect(() => supConLoss(stack([embeddings(1, 1, 3)], 1), [0])).to.throw(/supConLoss: one image with one view/);
  });
});

describe("DCL and DCLW (dclLoss, dclwLoss)", () => {
  function dclByHand(z1: Tensor, z2: Tensor, tau: number, sigma: number | null): number {
    const u = rows(z1).map(unit);
    const v = rows(z2).map(unit);
    const n = u.length;
    const c = u.map((ui, i) => dot(ui, v[i]));
    const q = c.map((ci) => Math.exp(ci / (sigma ?? 1)));
    const qSum = q.reduce((s, x) => s + x, 0);
    const w = c.map((_, i) => (sigma === null ? 1 : 2 - (n * q[i]) / qSum));
    const oneWay = (a: number[][], b: number[][]): number => {
      let total = 0;
      for (let i = 0; i < n; i++) {
        const negatives: number[] = [];
        for (let k = 0; k < n; k++) if (k !== i) negatives.push(dot(a[i], a[k]) / tau, dot(a[i], b[k]) / tau);
        total += -w[i] * c[i] / tau + logSumExp(negatives);
      }
      return total / n;
    };
    return 0.5 * (oneWay(u, v) + oneWay(v, u));
  }

  it("equals the formula computed by hand (DCL and DCLW)", () => {
    fc.assert(
      fc.property(
        seedArb,
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
        fc.double({ noNaN: true, min: 0.05, max: 1 }),
        (seed, n, d, tau) => {
          const z1 = embeddings(seed, n, d);
          const z2 = embeddings(seed + 1, n, d);
          expect(dclLoss(z1, z2, { temperature: tau }).item()).to.be.closeTo(dclByHand(z1, z2, tau, null), 1e-10 * (1 + 1 / tau));
          expect(dclwLoss(z1, z2, { temperature: tau, sigma: 0.5 }).item()).to.be.closeTo(
            dclByHand(z1, z2, tau, 0.5),
            1e-10 * (1 + 1 / tau),
          );
        },
      ),
      { numRuns: 30 },
    );
  });

  it("DCL goes below 0 where NT-Xent cannot: aligned views, orthogonal images", () => {
    // u_i = v_i = e_i: every positive has cos 1, every negative cos 0. DCL = −1/τ + log(2N − 2);
    // NT-Xent keeps the positive in its denominator: log(e^{1/τ} + 2N − 2) − 1/τ > 0.
    const n = 4;
    const basis = tensor(Array.from({ length: n * n }, (_, e) => (e % (n + 1) === 0 ? 1 : 0)), { shape: [n, n], ...f64 });
    const tau = 0.1;
    const dcl = dclLoss(basis, basis, { temperature: tau }).item();
    expect(dcl).to.be.closeTo(-1 / tau + Math.log(2 * n - 2), 1e-12);
    expect(dcl).to.be.below(0);
    const nt = ntXent(basis, basis, { temperature: tau }).item();
    expect(nt).to.be.closeTo(Math.log(Math.exp(1 / tau) + 2 * n - 2) - 1 / tau, 1e-12);
    expect(nt).to.be.above(0);
  });

  it("NT-Xent is ≥ 0 on any input (its terms are −log of a probability); DCL is not bounded by 0", () => {
    fc.assert(
      fc.property(
        seedArb,
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
        fc.double({ noNaN: true, min: 0.02, max: 2 }),
        (seed, n, d, tau) => {
          const z1 = embeddings(seed, n, d);
          const z2 = z1.add(embeddings(seed + 1, n, d).mul(0.05)); // views close to each other: the regime where DCL < 0
          expect(ntXent(z1, z2, { temperature: tau }).item()).to.be.at.least(0);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("DCLW's weights have mean 1: with every pair equally aligned (z2 = z1) DCLW = DCL", () => {
    fc.assert(
      fc.property(seedArb, fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 5 }), (seed, n, d) => {
        const z = embeddings(seed, n, d);
        expect(dclwLoss(z, z, { temperature: 0.3 }).item()).to.be.closeTo(dclLoss(z, z, { temperature: 0.3 }).item(), 1e-11);
      }),
      { numRuns: 20 },
    );
    const z1 = embeddings(7, 5, 3);
    const z2 = embeddings(8, 5, 3);
    expect(Math.abs(dclwLoss(z1, z2).item() - dclLoss(z1, z2).item())).to.be.above(1e-3); // unequal pairs: the weights matter
  });

  it("refuses one image (no negatives) and a bad σ", () => {
    expect(() => dclLoss(embeddings(1, 1, 3), embeddings(2, 1, 3))).to.throw(/dclLoss: needs N ≥ 2 images/);
    expect(() => dclwLoss(embeddings(1, 3, 3), embeddings(2, 3, 3), { sigma: 0 })).to.throw(
      /dclwLoss: sigma must be a finite number > 0, got 0/,
    );
  });
});

describe("SigLIP (sigLipLoss, tiledSigLipLoss)", () => {
  function sigLipByHand(image: Tensor, text: Tensor, logitScale: number, logitBias: number): number {
    const a = rows(image).map(unit);
    const b = rows(text).map(unit);
    let total = 0;
    for (let i = 0; i < a.length; i++) {
      for (let j = 0; j < b.length; j++) total -= logSigmoid((i === j ? 1 : -1) * (Math.exp(logitScale) * dot(a[i], b[j]) + logitBias));
    }
    return total / a.length;
  }

  it("at known points: identical rows −log σ(t + b) − (N − 1) log σ(−t − b); orthonormal at init log 2 + (N − 1) log(1 + e⁻¹⁰)", () => {
    const n = 5;
    const same = tensor(Array.from({ length: n * 3 }, () => 0.7), { shape: [n, 3], ...f64 });
    const t = 3;
    const b = -1.25;
    expect(sigLipLoss(same, same, { logitScale: Math.log(t), logitBias: b }).item()).to.be.closeTo(
      -logSigmoid(t + b) - (n - 1) * logSigmoid(-t - b),
      1e-12,
    );
    const basis = tensor(Array.from({ length: n * n }, (_, e) => (e % (n + 1) === 0 ? 2 : 0)), { shape: [n, n], ...f64 });
    // diagonal: z = 10·1 − 10 = 0 → −log σ(0) = log 2; off-diagonal: z = −10, y = −1 → −log σ(10)
    expect(sigLipLoss(basis, basis).item()).to.be.closeTo(Math.log(2) + (n - 1) * Math.log1p(Math.exp(-10)), 1e-12);
  });

  it("is symmetric under swapping the image and text towers (value and both gradients swapped)", () => {
    fc.assert(
      fc.property(
        seedArb,
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
        fc.double({ noNaN: true, min: -1, max: 3 }),
        fc.double({ noNaN: true, min: -12, max: 2 }),
        (seed, n, d, s, b) => {
          const image = leaf(embeddings(seed, n, d));
          const text = leaf(embeddings(seed + 1, n, d));
          const image2 = leaf(image);
          const text2 = leaf(text);
          const forward = sigLipLoss(image, text, { logitScale: s, logitBias: b });
          const swapped = sigLipLoss(text2, image2, { logitScale: s, logitBias: b });
          forward.backward();
          swapped.backward();
          expect(swapped.item()).to.be.closeTo(forward.item(), 1e-12 * (1 + forward.item()));
          expectClose(gradOf(image2), gradOf(image), 1e-12, "∂image");
          expectClose(gradOf(text2), gradOf(text), 1e-12, "∂text");
        },
      ),
      { numRuns: 25 },
    );
  });

  it("equals the formula computed by hand", () => {
    fc.assert(
      fc.property(
        seedArb,
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
        fc.double({ noNaN: true, min: -1, max: 3 }),
        fc.double({ noNaN: true, min: -12, max: 2 }),
        (seed, n, d, s, b) => {
          const image = embeddings(seed, n, d);
          const text = embeddings(seed + 1, n, d);
          const expected = sigLipByHand(image, text, s, b);
          expect(sigLipLoss(image, text, { logitScale: s, logitBias: b }).item()).to.be.closeTo(expected, 1e-10 * (1 + expected));
        },
      ),
      { numRuns: 30 },
    );
  });

  for (const dtype of ["float64", "float32"] as const) {
    it(`the tiled form equals the composed one (${dtype}): value, ∂image, ∂text, ∂t′, ∂b, any tile size and layout`, () => {
      const tol = dtype === "float64" ? 1e-11 : 2e-5;
      fc.assert(
        fc.property(
          seedArb,
          fc.integer({ min: 1, max: 9 }),
          fc.integer({ min: 1, max: 5 }),
          fc.integer({ min: 1, max: 10 }),
          fc.boolean(),
          (seed, n, d, tileSize, transposed) => {
            const make = (k: number) => {
              const base = embeddings(seed + k, transposed ? d : n, transposed ? n : d);
              return (transposed ? base.t() : base).to(dtype); // a transposed (strided) view, or contiguous
            };
            const image = make(0).detach().requiresGrad_();
            const text = make(1).detach().requiresGrad_();
            const scale = tensor(0.9, { dtype, requiresGrad: true });
            const bias = tensor(-2, { dtype, requiresGrad: true });
            const composed = sigLipLoss(image, text, { logitScale: scale, logitBias: bias });
            composed.backward();
            const reference = [composed.item(), ...gradOf(image), ...gradOf(text), scale.grad!.item(), bias.grad!.item()];
            image.grad = null;
            text.grad = null;
            scale.grad = null;
            bias.grad = null;
            const tiled = tiledSigLipLoss(image, text, { logitScale: scale, logitBias: bias, tileSize });
            tiled.backward();
            expect(tiled.dtype).to.equal(dtype);
            expectClose([tiled.item(), ...gradOf(image), ...gradOf(text), scale.grad!.item(), bias.grad!.item()], reference, tol, "tiled");
          },
        ),
        { numRuns: 30 },
      );
    });
  }

  it("refuses a logitScale whose exp overflows float32, a non-0-d scale, a bad tile size", () => {
    const z = embeddings(1, 3, 2);
    expect(() => sigLipLoss(z, z, { logitScale: 100 })).to.throw(/sigLipLoss: logitScale must be finite with exp\(logitScale\) ≤/);
    expect(() => sigLipLoss(z, z, { logitBias: tensor([1, 2], f64) })).to.throw(/sigLipLoss: logitBias must be a number or a 0-d tensor/);
    expect(() => tiledSigLipLoss(z, z, { tileSize: 0 })).to.throw(/tiledSigLipLoss: tileSize must be a whole number ≥ 1, got 0/);
  });
});

describe("Barlow Twins (barlowTwinsLoss)", () => {
  function barlowByHand(z1: Tensor, z2: Tensor, lambda: number, eps: number): number {
    const standardize = (z: number[][]) => {
      const n = z.length;
      const d = z[0].length;
      const out = z.map((r) => r.slice());
      for (let j = 0; j < d; j++) {
        const mean = z.reduce((s, r) => s + r[j], 0) / n;
        const variance = z.reduce((s, r) => s + (r[j] - mean) ** 2, 0) / n;
        for (let i = 0; i < n; i++) out[i][j] = (z[i][j] - mean) / Math.sqrt(variance + eps);
      }
      return out;
    };
    const a = standardize(rows(z1));
    const b = standardize(rows(z2));
    const n = a.length;
    const d = a[0].length;
    let loss = 0;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        const c = a.reduce((s, r, k) => s + r[i] * b[k][j], 0) / n;
        loss += i === j ? (1 - c) ** 2 : lambda * c * c;
      }
    }
    return loss;
  }

  it("is 0 exactly when C = I (orthogonal standardized columns, ε = 0), and not 0 when one view's column is flipped", () => {
    // columns 2–4 of the 4 × 4 Hadamard matrix: mean 0, variance 1, orthogonal, so C = ẑᵀẑ / 4 = I
    const hadamard = [[1, 1, 1], [-1, 1, -1], [1, -1, -1], [-1, -1, 1]].flat();
    const z = tensor(hadamard, { shape: [4, 3], ...f64 });
    expect(barlowTwinsLoss(z, z, { eps: 0 }).item()).to.equal(0);
    const shifted = z.mul(tensor([3, 0.5, 7], f64)).add(tensor([1, -2, 10], f64)); // the same standardized columns
    expect(barlowTwinsLoss(z, shifted, { eps: 0 }).item()).to.be.below(1e-30); // C = I up to the rounding of the standardization
    const flipped = z.mul(tensor([1, -1, 1], f64)); // C_22 = −1: on-diagonal (1 − (−1))² = 4
    expect(barlowTwinsLoss(z, flipped, { eps: 0 }).item()).to.equal(4);
    expect(barlowTwinsLoss(z, z).item()).to.be.above(0).and.below(1e-8); // ε = 1e-5: C_ii = 1/(1 + ε)
  });

  it("is invariant to a per-dimension affine rescaling a_i z_i + c_i (a_i > 0) of either view", () => {
    fc.assert(
      fc.property(
        seedArb,
        fc.integer({ min: 2, max: 8 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.double({ noNaN: true, min: 0.1, max: 10 }), { minLength: 5, maxLength: 5 }),
        fc.array(fc.double({ noNaN: true, min: -5, max: 5 }), { minLength: 5, maxLength: 5 }),
        (seed, n, d, scales, shifts) => {
          const z1 = embeddings(seed, n, d);
          const z2 = embeddings(seed + 1, n, d);
          const a = tensor(scales.slice(0, d), f64);
          const c = tensor(shifts.slice(0, d), f64);
          const base = barlowTwinsLoss(z1, z2, { eps: 0 }).item();
          expect(barlowTwinsLoss(z1.mul(a).add(c), z2, { eps: 0 }).item()).to.be.closeTo(base, 1e-9 * (1 + base));
          expect(barlowTwinsLoss(z1, z2.mul(a).add(c), { eps: 0 }).item()).to.be.closeTo(base, 1e-9 * (1 + base));
        },
      ),
      { numRuns: 30 },
    );
  });

  it("equals the formula computed by hand (ε = 1e-5, any λ), and is linear in λ", () => {
    fc.assert(
      fc.property(
        seedArb,
        fc.integer({ min: 2, max: 7 }),
        fc.integer({ min: 1, max: 5 }),
        fc.double({ noNaN: true, min: 0, max: 1 }),
        (seed, n, d, lambda) => {
          const z1 = embeddings(seed, n, d);
          const z2 = embeddings(seed + 1, n, d);
          const value = barlowTwinsLoss(z1, z2, { lambda }).item();
          expect(value).to.be.closeTo(barlowByHand(z1, z2, lambda, 1e-5), 1e-10 * (1 + value));
          const [l0, l1, l2] = [0, lambda, 2 * lambda].map((l) => barlowTwinsLoss(z1, z2, { lambda: l }).item());
          expect(l2 - l1).to.be.closeTo(l1 - l0, 1e-10 * (1 + l2));
        },
      ),
      { numRuns: 30 },
    );
  });

  it("refuses one sample (no batch statistics) and a negative λ", () => {
    expect(() => barlowTwinsLoss(embeddings(1, 1, 3), embeddings(2, 1, 3))).to.throw(/barlowTwinsLoss: needs N ≥ 2 samples/);
    expect(() => barlowTwinsLoss(embeddings(1, 3, 3), embeddings(2, 3, 3), { lambda: -1 })).to.throw(/barlowTwinsLoss: lambda must be/);
  });
});
