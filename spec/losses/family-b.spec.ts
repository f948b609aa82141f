/**
 * Properties of the non-contrastive objectives (issue 15, family B): VICReg, SimSiam, DINO, SwAV.
 * Each test states what the paper's math promises and checks it against a plain loop reference or
 * a closed form, so a broken formula (a missing square root, a wrong divisor, a missing
 * stop-gradient, a row step where a column step belongs) turns it red. The float64 gradient checks
 * are rows of spec/autograd/gradcheck-table.spec.ts; the PyTorch values are spec/losses/family-b-parity.spec.ts.
 */
import { expect } from "chai";
import fc from "fast-check";
import { Tensor } from "../../src/tensor/tensor.js";
import { tensor, zeros } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import {
  vicregLoss,
  vicregTerms,
  vicregVariance,
  vicregCovariance,
  simsiamLoss,
  negativeCosine,
  dinoLoss,
  dinoTeacherProbabilities,
  dinoCenterUpdate,
  swavLoss,
  sinkhornKnopp,
  swappedPrediction,
} from "../../src/losses/index.js";
import { randomEmbeddings, runs } from "./helpers.js";

const sizes = fc.record({ n: fc.integer({ min: 2, max: 9 }), d: fc.integer({ min: 1, max: 7 }), seed: fc.nat() });

/** Rows of a (R, C) tensor as plain arrays. */
function rowsOf(t: Tensor): number[][] {
  const [r, c] = t.shape;
  const values = Array.from(t.toTypedArray());
  return Array.from({ length: r }, (_, i) => values.slice(i * c, (i + 1) * c));
}

/** Per-column unbiased variance of a (N, D) batch, by loops. */
function columnVariances(z: number[][]): number[] {
  const n = z.length;
  return z[0].map((_, j) => {
    const mean = z.reduce((s, row) => s + row[j], 0) / n;
    return z.reduce((s, row) => s + (row[j] - mean) ** 2, 0) / (n - 1);
  });
}

describe("losses/family B: VICReg", () => {
  it("the variance term is 0 once every dimension's std is ≥ 1, and (1/D) Σ (1 − √(Var + ε)) below", () => {
    fc.assert(
      fc.property(sizes, fc.double({ min: 1, max: 4, noNaN: true }), ({ n, d, seed }, target) => {
        const z = randomEmbeddings(new Generator(seed), n, d);
        // rescale each column to std exactly `target` (≥ 1): the hinge is off everywhere
        const std = z.std(0, { keepdim: true });
        const wide = z.sub(z.mean(0, true)).div(std).mul(target);
        expect(vicregVariance(wide).item()).to.equal(0);
        // shrink every column to std 0.5·target/4 < 1: the hinge is on, and equals the loop reference
        const narrow = wide.mul(0.5 / 4);
        const expected = columnVariances(rowsOf(narrow)).reduce((s, v) => s + Math.max(0, 1 - Math.sqrt(v + 1e-4)), 0) / d;
        expect(vicregVariance(narrow).item()).to.be.closeTo(expected, 1e-12);
        expect(expected).to.be.above(0);
      }),
      runs(30),
    );
  });

  it("the covariance term is (1/D) Σ_{j≠k} C_jk² with the unbiased covariance of the centered batch (loop reference)", () => {
    fc.assert(
      fc.property(sizes, ({ n, d, seed }) => {
        const z = randomEmbeddings(new Generator(seed), n, d).mul(2).add(3); // an offset: the centering must remove it
        const rows = rowsOf(z);
        const means = rows[0].map((_, j) => rows.reduce((s, row) => s + row[j], 0) / n);
        let offDiagonal = 0;
        for (let j = 0; j < d; j++) {
          for (let k = 0; k < d; k++) {
            if (j === k) continue;
            const c = rows.reduce((s, row) => s + (row[j] - means[j]) * (row[k] - means[k]), 0) / (n - 1);
            offDiagonal += c * c;
          }
        }
        expect(vicregCovariance(z).item()).to.be.closeTo(offDiagonal / d, 1e-10 * (1 + offDiagonal));
      }),
      runs(30),
    );
  });

  it("decorrelated dimensions cost no covariance; correlated ones do", () => {
    // columns ±1 patterns that are orthogonal and centered: C is diagonal
    const z = tensor([[1, 1], [1, -1], [-1, 1], [-1, -1]], { dtype: "float64" });
    expect(vicregCovariance(z).item()).to.equal(0);
    const correlated = tensor([[1, 1], [2, 2], [3, 3.5], [4, 4]], { dtype: "float64" });
    expect(vicregCovariance(correlated).item()).to.be.above(0.5);
  });

  it("L = 25·MSE + 25·½[v(Z) + v(Z′)] + 1·[c(Z) + c(Z′)], and identical branches leave only the regularizers", () => {
    fc.assert(
      fc.property(sizes, ({ n, d, seed }) => {
        const g = new Generator(seed);
        const z1 = randomEmbeddings(g, n, d);
        const z2 = randomEmbeddings(g, n, d);
        const terms = vicregTerms(z1, z2);
        const mse = rowsOf(z1).flatMap((row, i) => row.map((v, j) => (v - rowsOf(z2)[i][j]) ** 2)).reduce((a, b) => a + b, 0) / (n * d);
        expect(terms.invariance.item()).to.be.closeTo(mse, 1e-12);
        expect(terms.variance.item()).to.be.closeTo(0.5 * (vicregVariance(z1).item() + vicregVariance(z2).item()), 1e-14);
        expect(terms.covariance.item()).to.be.closeTo(vicregCovariance(z1).item() + vicregCovariance(z2).item(), 1e-12);
        const total = 25 * terms.invariance.item() + 25 * terms.variance.item() + terms.covariance.item();
        expect(vicregLoss(z1, z2).item()).to.be.closeTo(total, 1e-10 * (1 + total));
        const same = vicregTerms(z1, z1);
        expect(same.invariance.item()).to.equal(0);
        expect(vicregLoss(z1, z2, { invarianceWeight: 0, varianceWeight: 0 }).item()).to.be.closeTo(terms.covariance.item(), 1e-12);
      }),
      runs(20),
    );
  });

  it("is invariant to a shared translation of both branches", () => {
    const g = new Generator(3);
    const z1 = randomEmbeddings(g, 6, 4);
    const z2 = randomEmbeddings(g, 6, 4);
    const shift = tensor([[5, -2, 0.5, 7]], { dtype: "float64" });
    expect(vicregLoss(z1.add(shift), z2.add(shift)).item()).to.be.closeTo(vicregLoss(z1, z2).item(), 1e-11);
  });

  it("refuses a batch of one, mismatched shapes and a negative weight, naming the loss", () => {
    const one = zeros([1, 3], { dtype: "float64" });
    expect(() => vicregLoss(one, one)).to.throw(/vicregLoss: needs a batch of at least 2/);
    expect(() => vicregLoss(zeros([2, 3]), zeros([2, 4]))).to.throw(/vicregLoss: z1 has shape \[2, 3\] but z2 has shape \[2, 4\]/);
    expect(() => vicregLoss(zeros([2, 3]), zeros([2, 3]), { varianceWeight: -1 })).to.throw(/vicregLoss: varianceWeight must be/);
  });
});

describe("losses/family B: SimSiam", () => {
  it("the stop-gradient blocks the gradient into the projections: z1, z2 get none, p1, p2 do", () => {
    const g = new Generator(5);
    const [p1, p2, z1, z2] = [0, 1, 2, 3].map(() => randomEmbeddings(g, 4, 5, "float64", true));
    simsiamLoss(p1, p2, z1, z2).backward();
    expect(z1.grad).to.equal(null);
    expect(z2.grad).to.equal(null);
    expect(Math.max(...Array.from(p1.grad!.toTypedArray(), Math.abs))).to.be.above(1e-3);
    expect(Math.max(...Array.from(p2.grad!.toTypedArray(), Math.abs))).to.be.above(1e-3);
  });

  it("through a shared network the gradient is that of the prediction branch only (z recomputed as a constant)", () => {
    // z = x W (shared), p = z V: the loss's gradient w.r.t. W must equal the one where z is detached by hand
    const g = new Generator(8);
    const x1 = randomEmbeddings(g, 5, 3);
    const x2 = randomEmbeddings(g, 5, 3);
    const w = randomEmbeddings(g, 3, 4, "float64", true);
    const v = randomEmbeddings(g, 4, 4, "float64", true);
    const z1 = x1.matmul(w);
    const z2 = x2.matmul(w);
    simsiamLoss(z1.matmul(v), z2.matmul(v), z1, z2).backward();
    const viaLoss = w.grad!.toTypedArray();
    w.grad = null;
    const [y1, y2] = [x1.matmul(w), x2.matmul(w)]; // the forward again (the first graph was released)
    const byHand = negativeCosine(y1.matmul(v), y2.detach()).add(negativeCosine(y2.matmul(v), y1.detach())).mul(0.5);
    byHand.backward();
    expect(Array.from(w.grad!.toTypedArray())).to.deep.equal(Array.from(viaLoss));
  });

  it("is −½(mean cos(p1, z2) + mean cos(p2, z1)): −1 when aligned, +1 when opposed, scale-free, in [−1, 1]", () => {
    fc.assert(
      fc.property(sizes, fc.double({ min: 0.1, max: 10, noNaN: true }), ({ n, d, seed }, scale) => {
        const g = new Generator(seed);
        const [p1, p2, z1, z2] = [0, 1, 2, 3].map(() => randomEmbeddings(g, n, d));
        const cos = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0) / Math.hypot(...a) / Math.hypot(...b);
        const meanCos = (a: Tensor, b: Tensor) => rowsOf(a).reduce((s, row, i) => s + cos(row, rowsOf(b)[i]), 0) / n;
        const expected = -0.5 * (meanCos(p1, z2) + meanCos(p2, z1));
        const value = simsiamLoss(p1, p2, z1, z2).item();
        expect(value).to.be.closeTo(expected, 1e-12);
        expect(value).to.be.within(-1 - 1e-12, 1 + 1e-12);
        expect(simsiamLoss(p1.mul(scale), p2, z1, z2.mul(scale)).item()).to.be.closeTo(value, 1e-12);
        expect(simsiamLoss(z2, z1, z1, z2).item()).to.be.closeTo(-1, 1e-12);
        expect(simsiamLoss(z2.neg(), z1.neg(), z1, z2).item()).to.be.closeTo(1, 1e-12);
      }),
      runs(20),
    );
  });
});

describe("losses/family B: DINO", () => {
  const k = 6;
  it("at uniform distributions the loss is log K (a constant student, whatever the teacher)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 2, max: 12 }), fc.nat(), (n, classes, seed) => {
        const g = new Generator(seed);
        const constantStudent = zeros([n, classes], { dtype: "float64" }).add(1.5);
        const teacher = randomEmbeddings(g, n, classes);
        const center = randomEmbeddings(g, 1, classes);
        const value = dinoLoss([constantStudent, constantStudent], [teacher, teacher], center).item();
        expect(value).to.be.closeTo(Math.log(classes), 1e-12);
      }),
      runs(20),
    );
  });

  it("is the mean over the pairs (t ≠ s) of −Σ P_t log P_s with P_t = softmax((t − c)/0.04), P_s = softmax(s/0.1)", () => {
    const g = new Generator(11);
    const [s1, s2, s3, t1, t2] = [0, 1, 2, 3, 4].map(() => randomEmbeddings(g, 3, k));
    const center = randomEmbeddings(g, 1, k).mul(0.1);
    const softmax = (row: number[]) => {
      const m = Math.max(...row);
      const e = row.map((v) => Math.exp(v - m));
      const total = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / total);
    };
    const c = rowsOf(center)[0];
    const h = (teacher: Tensor, student: Tensor) =>
      rowsOf(teacher).reduce((sum, row, i) => {
        const p = softmax(row.map((v, j) => (v - c[j]) / 0.04));
        const q = softmax(rowsOf(student)[i].map((v) => v / 0.1));
        return sum - p.reduce((s, pj, j) => s + pj * Math.log(q[j]), 0);
      }, 0) / 3;
    // 2 teacher views, 3 student views: pairs (0,1), (0,2), (1,0), (1,2)
    const expected = (h(t1, s2) + h(t1, s3) + h(t2, s1) + h(t2, s3)) / 4;
    expect(dinoLoss([s1, s2, s3], [t1, t2], center).item()).to.be.closeTo(expected, 1e-10);
  });

  it("the student's gradient is (softmax(s/τ_s) − P_t)/(τ_s · N · pairs); the teacher and the center get none", () => {
    const g = new Generator(13);
    const s1 = randomEmbeddings(g, 4, k, "float64", true);
    const s2 = randomEmbeddings(g, 4, k, "float64", true);
    const t1 = randomEmbeddings(g, 4, k, "float64", true);
    const t2 = randomEmbeddings(g, 4, k, "float64", true);
    const center = randomEmbeddings(g, 1, k, "float64", true);
    dinoLoss([s1, s2], [t1, t2], center).backward();
    expect(t1.grad).to.equal(null);
    expect(t2.grad).to.equal(null);
    expect(center.grad).to.equal(null);
    const expected = s1.detach().div(0.1).softmax(1).sub(dinoTeacherProbabilities(t2, center)).div(0.1 * 4 * 2);
    const grad = Array.from(s1.grad!.toTypedArray());
    Array.from(expected.toTypedArray()).forEach((v, i) => expect(grad[i]).to.be.closeTo(v, 1e-12));
  });

  it("centering is an EMA with momentum 0.9: c ← 0.9 c + 0.1 mean(teacher rows); n steps toward a fixed mean give 0.9ⁿ", () => {
    const g = new Generator(17);
    const t1 = randomEmbeddings(g, 5, k);
    const t2 = randomEmbeddings(g, 5, k);
    const c0 = randomEmbeddings(g, 1, k);
    const mean = rowsOf(t1).concat(rowsOf(t2)).reduce((s, row) => s.map((v, j) => v + row[j] / 10), new Array<number>(k).fill(0));
    const c1 = dinoCenterUpdate(c0, [t1, t2]);
    expect(c1.shape).to.deep.equal([1, k]);
    rowsOf(c1)[0].forEach((v, j) => expect(v).to.be.closeTo(0.9 * rowsOf(c0)[0][j] + 0.1 * mean[j], 1e-14));
    let c = c0;
    for (let step = 0; step < 20; step++) c = dinoCenterUpdate(c, [t1, t2]);
    rowsOf(c)[0].forEach((v, j) => expect(v - mean[j]).to.be.closeTo(0.9 ** 20 * (rowsOf(c0)[0][j] - mean[j]), 1e-12));
    expect(dinoCenterUpdate(c0, [t1, t2], 0.5).toTypedArray()[0]).to.be.closeTo(0.5 * rowsOf(c0)[0][0] + 0.5 * mean[0], 1e-14);
  });

  it("sharpening: the teacher's distribution sums to 1 per row and is peakier at τ_t = 0.04 than at the student's 0.1", () => {
    const g = new Generator(19);
    const t = randomEmbeddings(g, 5, k);
    const center = zeros([1, k], { dtype: "float64" });
    const sharp = rowsOf(dinoTeacherProbabilities(t, center, 0.04));
    const soft = rowsOf(dinoTeacherProbabilities(t, center, 0.1));
    sharp.forEach((row, i) => {
      expect(row.reduce((a, b) => a + b, 0)).to.be.closeTo(1, 1e-12);
      expect(Math.max(...row)).to.be.above(Math.max(...soft[i]));
    });
  });

  it("refuses a center of the wrong shape and a teacher view without a student twin, naming the loss", () => {
    const s = zeros([2, 3], { dtype: "float64" });
    expect(() => dinoLoss([s, s], [s], zeros([3], { dtype: "float64" }))).to.throw(/dinoLoss: center must have shape \[1, 3\]/);
    expect(() => dinoLoss([s], [s], zeros([1, 3], { dtype: "float64" }))).to.throw(/dinoLoss: needs ≥ 1 teacher view and ≥ 2 student/);
  });
});

/** The official distributed_sinkhorn (world size 1), transliterated with loops: Q = exp(S/ε)ᵀ, … (K × N). */
function sinkhornReference(scores: number[][], epsilon: number, iterations: number): number[][] {
  const n = scores.length;
  const k = scores[0].length;
  let q = Array.from({ length: k }, (_, c) => scores.map((row) => Math.exp(row[c] / epsilon))); // (K, N)
  const total = q.flat().reduce((a, b) => a + b, 0);
  q = q.map((row) => row.map((v) => v / total));
  for (let it = 0; it < iterations; it++) {
    q = q.map((row) => {
      const s = row.reduce((a, b) => a + b, 0);
      return row.map((v) => v / s / k);
    });
    const columnSums = q[0].map((_, j) => q.reduce((s, row) => s + row[j], 0));
    q = q.map((row) => row.map((v, j) => v / columnSums[j] / n));
  }
  return Array.from({ length: n }, (_, i) => q.map((row) => row[i] * n)); // Qᵀ · N: (N, K)
}

describe("losses/family B: SwAV and Sinkhorn–Knopp", () => {
  const scoresArb = fc.record({ n: fc.integer({ min: 2, max: 12 }), k: fc.integer({ min: 2, max: 8 }), seed: fc.nat() }).map((
    { n, k, seed },
  ) => normalizedScores(n, k, seed));

  function normalizedScores(n: number, k: number, seed: number): Tensor {
    const g = new Generator(seed);
    const z = randomEmbeddings(g, n, 4);
    const prototypes = randomEmbeddings(g, k, 4);
    const unit = (t: Tensor) => t.div(t.square().sum(1, true).sqrt());
    return unit(z).matmul(unit(prototypes).t()); // (N, K) cosines
  }

  it("the codes equal the official code's Sinkhorn (loop transliteration, float64) for ε = 0.05, 3 iterations", () => {
    fc.assert(
      fc.property(scoresArb, (scores) => {
        const codes = rowsOf(sinkhornKnopp(scores));
        const reference = sinkhornReference(rowsOf(scores), 0.05, 3);
        codes.forEach((row, i) => row.forEach((v, j) => expect(v).to.be.closeTo(reference[i][j], 1e-12)));
      }),
      runs(25),
    );
  });

  it("each sample's code sums to 1 exactly; each prototype's share tends to N/K as the iterations grow", () => {
    fc.assert(
      fc.property(scoresArb, (scores) => {
        const [n, k] = scores.shape;
        const deviation = (iterations: number, epsilon = 0.05) => {
          const codes = rowsOf(sinkhornKnopp(scores, { iterations, epsilon }));
          codes.forEach((row) => expect(row.reduce((a, b) => a + b, 0)).to.be.closeTo(1, 1e-12));
          const shares = codes[0].map((_, j) => codes.reduce((s, row) => s + row[j], 0));
          return Math.max(...shares.map((s) => Math.abs(s - n / k)));
        };
        // at ε = 0.05 a peaked batch converges slowly (3 iterations are an approximation), but it does not move away
        expect(deviation(300)).to.be.at.most(deviation(3) + 1e-12);
        // at a softer ε the shares reach N/K to rounding
        expect(deviation(300, 0.5)).to.be.below(1e-9 * n);
      }),
      runs(20),
    );
  });

  it("spreads a batch that all prefers one prototype over every prototype (the equal partition against collapse)", () => {
    // every sample's best prototype is 0; a softmax would give prototype 0 nearly all the mass
    const n = 8;
    const k = 4;
    const scores = tensor(Array.from({ length: n }, (_, i) => [0.9, 0.5 + 0.01 * i, 0.5 - 0.01 * i, 0.4]).flat(), {
      shape: [n, k],
      dtype: "float64",
    });
    const codes = rowsOf(sinkhornKnopp(scores, { iterations: 100 }));
    const shares = codes[0].map((_, j) => codes.reduce((s, row) => s + row[j], 0));
    shares.forEach((s) => expect(s).to.be.closeTo(n / k, 1e-6));
    const softmaxShare = rowsOf(scores.div(0.05).softmax(1)).reduce((s, row) => s + row[0], 0);
    expect(softmaxShare).to.be.above(0.99 * n);
  });

  it("is detached: the codes are off the tape, and swavLoss's gradient is that of the swapped prediction with fixed codes", () => {
    const g = new Generator(23);
    const s1 = randomEmbeddings(g, 6, 5, "float64", true);
    const s2 = randomEmbeddings(g, 6, 5, "float64", true);
    const codes = sinkhornKnopp(s1);
    expect(codes.requiresGrad).to.equal(false);
    expect(codes.gradFn).to.equal(null);
    swavLoss(s1, s2).backward();
    const [viaLoss1, viaLoss2] = [s1.grad!.toTypedArray(), s2.grad!.toTypedArray()];
    s1.grad = null;
    s2.grad = null;
    const q1 = sinkhornKnopp(s1);
    const q2 = sinkhornKnopp(s2);
    swappedPrediction(q2, s1).add(swappedPrediction(q1, s2)).mul(0.5).backward();
    expect(Array.from(s1.grad!.toTypedArray())).to.deep.equal(Array.from(viaLoss1));
    expect(Array.from(s2.grad!.toTypedArray())).to.deep.equal(Array.from(viaLoss2));
  });

  it("the swapped prediction is −mean Σ q log softmax(s/0.1), each view predicting the other's code", () => {
    const scores1 = normalizedScores(5, 3, 29);
    const scores2 = normalizedScores(5, 3, 31);
    const q1 = sinkhornReference(rowsOf(scores1), 0.05, 3);
    const q2 = sinkhornReference(rowsOf(scores2), 0.05, 3);
    const ce = (q: number[][], s: Tensor) =>
      -rowsOf(s).reduce((sum, row, i) => {
        const logits = row.map((v) => v / 0.1);
        const m = Math.max(...logits);
        const lse = m + Math.log(logits.reduce((a, v) => a + Math.exp(v - m), 0));
        return sum + q[i].reduce((a, qv, j) => a + qv * (logits[j] - lse), 0);
      }, 0) / 5;
    expect(swavLoss(scores1, scores2).item()).to.be.closeTo(0.5 * (ce(q2, scores1) + ce(q1, scores2)), 1e-12);
  });

  it("uniform scores give uniform codes, and a constant shift of the scores changes no code", () => {
    const flat = zeros([4, 5], { dtype: "float64" }).add(0.3);
    rowsOf(sinkhornKnopp(flat)).flat().forEach((v) => expect(v).to.be.closeTo(1 / 5, 1e-15));
    const scores = normalizedScores(6, 4, 37);
    const shifted = rowsOf(sinkhornKnopp(scores.add(0.5)));
    rowsOf(sinkhornKnopp(scores)).forEach((row, i) => row.forEach((v, j) => expect(shifted[i][j]).to.be.closeTo(v, 1e-12)));
  });

  it("float32 scores give float32 codes, finite even where exp(s/ε) would overflow float32", () => {
    const scores = tensor([[5, 4, 0], [4, 5, 0]], { dtype: "float32" }); // exp(5/0.05) = e¹⁰⁰ > float32's max
    const codes = sinkhornKnopp(scores);
    expect(codes.dtype).to.equal("float32");
    Array.from(codes.toTypedArray()).forEach((v) => expect(Number.isFinite(v)).to.equal(true));
  });

  it("refuses a bad ε, iteration count or temperature, naming the function", () => {
    const s = zeros([2, 3], { dtype: "float64" });
    expect(() => sinkhornKnopp(s, { epsilon: 0 })).to.throw(/sinkhornKnopp: epsilon must be/);
    expect(() => sinkhornKnopp(s, { iterations: 0.5 })).to.throw(/sinkhornKnopp: iterations must be/);
    expect(() => swavLoss(s, s, { temperature: -1 })).to.throw(/swavLoss: temperature must be/);
  });
});
