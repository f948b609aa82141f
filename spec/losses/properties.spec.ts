/**
 * Properties of the losses, on random float64 embeddings (fast-check). Each one fails for a
 * specific kind of broken formula: a wrong bound for a wrong denominator, "identical → log K"
 * for a wrong candidate count (an unmasked diagonal, a missing positive), the invariances for
 * a missing normalization or a mislabeled row, the symmetries for a one-directional CLIP.
 */
import { expect } from "chai";
import fc from "fast-check";
import { tensor } from "../../src/tensor/creation.js";
import { infoNCE, rawInfoNCE, ntXent, clipLoss, mocoLoss, byolLoss } from "../../src/losses/index.js";
import {
  embeddingsArb,
  embeddingValuesArb,
  identicalRows,
  permutationArb,
  permuteRows,
  rowScalesArb,
  runs,
  scaleRows,
  temperatureArb,
} from "./helpers.js";

const size = (min: number, max: number) => fc.integer({ min, max });
const dim = size(1, 6);

/** |a − b| ≤ 1e-12·(1 + |b|): the same value up to float64 rounding. */
function same(a: number, b: number, tolerance = 1e-12): void {
  expect(Math.abs(a - b), `${a} vs ${b}`).to.be.at.most(tolerance * (1 + Math.abs(b)));
}

const values = (t: { toTypedArray(): ArrayLike<number> }) => Array.from(t.toTypedArray());

describe("losses: properties (fast-check)", () => {
  describe("bounds: 0 < L ≤ log(1 + M·e^{2/τ}) with M negatives per row (cosine)", () => {
    const bound = (negatives: number, temperature: number) => Math.log(1 + negatives * Math.exp(2 / temperature));

    it("infoNCE with shared negatives, every row", () => {
      fc.assert(
        fc.property(
          fc.tuple(size(1, 5), size(1, 5), dim).chain(([n, m, d]) =>
            fc.tuple(embeddingsArb(n, d), embeddingsArb(n, d), embeddingsArb(m, d), temperatureArb)
          ),
          ([query, positiveKey, negativeKeys, temperature]) => {
            const rows = values(infoNCE(query, positiveKey, negativeKeys, { temperature, reduction: "none" }));
            for (const loss of rows) {
              expect(loss).to.be.above(0);
              expect(loss).to.be.at.most(bound(negativeKeys.shape[0], temperature) * (1 + 1e-12));
            }
          },
        ),
        runs(100),
      );
    });

    it("infoNCE in-batch (M = N − 1), ntXent (M = 2N − 2), clipLoss (M = N − 1), mocoLoss (M = K)", () => {
      fc.assert(
        fc.property(
          fc.tuple(size(2, 5), size(1, 6), dim).chain(([n, k, d]) =>
            fc.tuple(embeddingsArb(n, d), embeddingsArb(n, d), embeddingsArb(k, d), temperatureArb)
          ),
          ([a, b, queue, temperature]) => {
            const n = a.shape[0];
            const checks: [number, number][] = [
              ...values(infoNCE(a, b, null, { temperature, reduction: "none" })).map((l) => [l, n - 1] as [number, number]),
              [ntXent(a, b, { temperature }).item(), 2 * n - 2],
              [clipLoss(a, b, { temperature }).item(), n - 1],
              [mocoLoss(a, b, queue, { temperature }).item(), queue.shape[0]],
            ];
            for (const [loss, negatives] of checks) {
              expect(loss).to.be.above(0);
              expect(loss).to.be.at.most(bound(negatives, temperature) * (1 + 1e-12));
            }
          },
        ),
        runs(100),
      );
    });

    it("byolLoss lies in [0, 4]", () => {
      fc.assert(
        fc.property(fc.tuple(size(1, 5), dim).chain(([n, d]) => fc.tuple(embeddingsArb(n, d), embeddingsArb(n, d))), ([p, z]) => {
          const loss = byolLoss(p, z).item();
          expect(loss).to.be.at.least(-1e-15);
          expect(loss).to.be.at.most(4 + 1e-15);
        }),
        runs(100),
      );
    });
  });

  describe("identical embeddings give exactly log(number of candidates)", () => {
    const setup = fc.tuple(size(1, 5), size(1, 5), size(1, 6)).chain(([n, m, d]) =>
      fc.tuple(embeddingValuesArb(1, d), rowScalesArb(n), rowScalesArb(n), rowScalesArb(m), fc.double({ min: 0.05, max: 2, noNaN: true }))
    );

    it("infoNCE: log N in-batch, log(M + 1) with M negatives; ntXent: log(2N − 1); clipLoss: log N; mocoLoss: log(K + 1)", () => {
      fc.assert(
        fc.property(setup, ([direction, scalesA, scalesB, scalesM, temperature]) => {
          const a = identicalRows(direction, scalesA);
          const b = identicalRows(direction, scalesB);
          const negatives = identicalRows(direction, scalesM);
          const n = scalesA.length;
          const m = scalesM.length;
          same(infoNCE(a, b, null, { temperature }).item(), Math.log(n));
          same(infoNCE(a, b, negatives, { temperature }).item(), Math.log(m + 1));
          same(ntXent(a, b, { temperature }).item(), Math.log(2 * n - 1));
          same(clipLoss(a, b, { temperature }).item(), Math.log(n));
          same(mocoLoss(a, b, negatives, { temperature }).item(), Math.log(m + 1));
          same(byolLoss(a, b).item(), 0, 1e-14);
        }),
        runs(100),
      );
    });

    it("at batch 128, NT-Xent of identical embeddings is log 255 = 5.5413 (the chapter's 'stuck near 5.5')", () => {
      const z = identicalRows([0.3, -1, 2], new Array(128).fill(1));
      expect(ntXent(z, z, { temperature: 0.5 }).item()).to.be.closeTo(Math.log(255), 1e-12);
      expect(Math.log(255).toFixed(4)).to.equal("5.5413");
    });
  });

  describe("invariances", () => {
    const pairSetup = fc.tuple(size(1, 5), size(1, 5), dim).chain(([n, m, d]) =>
      fc.tuple(
        embeddingsArb(n, d),
        embeddingsArb(n, d),
        embeddingsArb(m, d),
        rowScalesArb(n),
        rowScalesArb(n),
        rowScalesArb(m),
        permutationArb(n),
        permutationArb(m),
        temperatureArb,
      )
    );

    it("scaling any embedding row by a positive factor changes nothing (every loss normalizes)", () => {
      fc.assert(
        fc.property(pairSetup, ([a, b, negatives, sa, sb, sm, , , temperature]) => {
          const [a2, b2, negatives2] = [scaleRows(a, sa), scaleRows(b, sb), scaleRows(negatives, sm)];
          same(infoNCE(a2, b2, negatives2, { temperature }).item(), infoNCE(a, b, negatives, { temperature }).item());
          same(infoNCE(a2, b2, null, { temperature }).item(), infoNCE(a, b, null, { temperature }).item());
          same(ntXent(a2, b2, { temperature }).item(), ntXent(a, b, { temperature }).item());
          same(clipLoss(a2, b2, { temperature }).item(), clipLoss(a, b, { temperature }).item());
          same(mocoLoss(a2, b2, negatives2, { temperature }).item(), mocoLoss(a, b, negatives, { temperature }).item());
          same(byolLoss(a2, b2).item(), byolLoss(a, b).item());
        }),
        runs(100),
      );
    });

    it("permuting the batch consistently changes nothing; infoNCE's per-row losses follow the permutation", () => {
      fc.assert(
        fc.property(pairSetup, ([a, b, negatives, , , , permutation, , temperature]) => {
          const [pa, pb] = [permuteRows(a, permutation), permuteRows(b, permutation)];
          const perRow = values(infoNCE(a, b, negatives, { temperature, reduction: "none" }));
          const permutedPerRow = values(infoNCE(pa, pb, negatives, { temperature, reduction: "none" }));
          permutation.forEach((from, to) => same(permutedPerRow[to], perRow[from]));
          const inBatch = values(infoNCE(a, b, null, { temperature, reduction: "none" }));
          const permutedInBatch = values(infoNCE(pa, pb, null, { temperature, reduction: "none" }));
          permutation.forEach((from, to) => same(permutedInBatch[to], inBatch[from]));
          same(ntXent(pa, pb, { temperature }).item(), ntXent(a, b, { temperature }).item());
          same(clipLoss(pa, pb, { temperature }).item(), clipLoss(a, b, { temperature }).item());
          same(mocoLoss(pa, pb, negatives, { temperature }).item(), mocoLoss(a, b, negatives, { temperature }).item());
          same(byolLoss(pa, pb).item(), byolLoss(a, b).item());
        }),
        runs(100),
      );
    });

    it("permuting the shared negatives (or MoCo's queue) changes no row's loss", () => {
      fc.assert(
        fc.property(pairSetup, ([a, b, negatives, , , , , negativePermutation, temperature]) => {
          const shuffled = permuteRows(negatives, negativePermutation);
          const perRow = values(infoNCE(a, b, negatives, { temperature, reduction: "none" }));
          values(infoNCE(a, b, shuffled, { temperature, reduction: "none" })).forEach((loss, i) => same(loss, perRow[i]));
          same(mocoLoss(a, b, shuffled, { temperature }).item(), mocoLoss(a, b, negatives, { temperature }).item());
        }),
        runs(100),
      );
    });

    it("NT-Xent is symmetric in z1, z2; CLIP is symmetric in its modalities", () => {
      fc.assert(
        fc.property(pairSetup, ([a, b, , , , , , , temperature]) => {
          same(ntXent(b, a, { temperature }).item(), ntXent(a, b, { temperature }).item());
          same(clipLoss(b, a, { temperature }).item(), clipLoss(a, b, { temperature }).item());
        }),
        runs(100),
      );
    });

    it("in-batch infoNCE is one direction of CLIP: clipLoss(I, T) = ½[infoNCE(I, T) + infoNCE(T, I)]", () => {
      fc.assert(
        fc.property(pairSetup, ([a, b, , , , , , , temperature]) => {
          const halves = 0.5 * (infoNCE(a, b, null, { temperature }).item() + infoNCE(b, a, null, { temperature }).item());
          same(clipLoss(a, b, { temperature }).item(), halves);
        }),
        runs(50),
      );
    });

    it("mocoLoss equals infoNCE with the queue as shared negatives", () => {
      fc.assert(
        fc.property(pairSetup, ([a, b, negatives, , , , , , temperature]) => {
          same(mocoLoss(a, b, negatives, { temperature }).item(), infoNCE(a, b, negatives, { temperature }).item());
        }),
        runs(50),
      );
    });
  });

  describe("monotonicity", () => {
    it("raising a positive pair's similarity lowers that row's loss (and no other row's changes)", () => {
      fc.assert(
        fc.property(
          fc.tuple(size(1, 4), size(1, 4), size(2, 6)).chain(([n, m, d]) =>
            fc.tuple(
              embeddingsArb(n, d),
              embeddingsArb(n, d),
              embeddingsArb(m, d),
              fc.nat(n - 1),
              fc.double({ min: 0.05, max: 5, noNaN: true }),
              temperatureArb,
            )
          ),
          ([query, positiveKey, negatives, row, step, temperature]) => {
            // k'_row = k̂_row + t·q̂_row: cos(q, k') increases with t (d/dt = (1 − c²)/‖k'‖³ ≥ 0)
            const unitQuery = query.div(query.norm(2, 1, true));
            const unitKey = positiveKey.div(positiveKey.norm(2, 1, true));
            const mask = tensor(Array.from({ length: query.shape[0] }, (_, i) => (i === row ? step : 0)), {
              shape: [query.shape[0], 1],
              dtype: "float64",
            });
            const movedKey = unitKey.add(unitQuery.mul(mask));
            const before = values(infoNCE(query, unitKey, negatives, { temperature, reduction: "none" }));
            const after = values(infoNCE(query, movedKey, negatives, { temperature, reduction: "none" }));
            const cosine = values(unitQuery.mul(unitKey).sum(1))[row];
            before.forEach((loss, i) => {
              if (i !== row) expect(after[i]).to.equal(loss);
            });
            expect(after[row]).to.be.at.most(before[row]);
            // strictly, unless already (almost) aligned or (almost) zero loss
            if (1 - cosine * cosine > 1e-3 && before[row] > 1e-6) expect(after[row]).to.be.below(before[row]);
          },
        ),
        runs(100),
      );
    });

    it("rawInfoNCE: raising the positive logit lowers the loss; the loss → 0 as the margin grows", () => {
      fc.assert(
        fc.property(
          fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 2, maxLength: 8 }),
          fc.double({ min: 0.01, max: 5, noNaN: true }),
          (row, raise) => {
            const loss = rawInfoNCE(tensor([row], { dtype: "float64" })).item();
            const raised = rawInfoNCE(tensor([[row[0] + raise, ...row.slice(1)]], { dtype: "float64" })).item();
            expect(raised).to.be.below(loss);
          },
        ),
        runs(100),
      );
      // logits [m, 0, 0, 0]: L = log(1 + 3e^{−m}) exactly, → 0
      let previous = Infinity;
      for (const margin of [0, 1, 5, 10, 20, 40]) {
        const loss = rawInfoNCE(tensor([[margin, 0, 0, 0]], { dtype: "float64" })).item();
        // absolute error ~ ulp(margin): the cross entropy forms (x₀ − max) − log Σ
        expect(loss).to.be.closeTo(Math.log1p(3 * Math.exp(-margin)), 1e-14);
        expect(loss).to.be.below(previous);
        previous = loss;
      }
      expect(previous).to.be.below(1e-16);
    });

    it("NT-Xent of aligned pairs → 0 as τ → 0 (the margin 1/τ grows)", () => {
      const z = tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1]], { dtype: "float64" });
      const losses = [1, 0.5, 0.1, 0.05, 0.02].map((temperature) => ntXent(z, z, { temperature }).item());
      losses.slice(1).forEach((loss, i) => expect(loss).to.be.below(losses[i]));
      expect(losses[3]).to.be.closeTo(Math.log1p(4 * Math.exp(-20)), 1e-14); // 8.2e-9
      expect(losses[4]).to.be.at.most(1e-20); // log(1 + 4e^{−50}) = 7.7e-22 rounds to 0
    });
  });

  describe("logit shift and scale (rawInfoNCE on logits)", () => {
    const rowsArb = fc.tuple(size(1, 4), size(2, 6)).chain(([n, c]) => embeddingValuesArb(n, c).map((v) => ({ n, c, v })));

    it("adding a constant to all logits of a row changes nothing", () => {
      fc.assert(
        fc.property(
          rowsArb,
          fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 4, maxLength: 4 }),
          ({ n, c, v }, shifts) => {
            const logits = tensor(v, { shape: [n, c], dtype: "float64" });
            const shifted = logits.add(tensor(shifts.slice(0, n), { shape: [n, 1], dtype: "float64" }));
            const a = values(rawInfoNCE(logits, { reduction: "none" }));
            values(rawInfoNCE(shifted, { reduction: "none" })).forEach((loss, i) => expect(loss).to.be.closeTo(a[i], 1e-12));
          },
        ),
        runs(100),
      );
    });

    it(
      "multiplying the similarities by K > 1 changes the loss: " +
        "down when the positive is the best candidate, up when it is the worst",
      () => {
        fc.assert(
          fc.property(
            fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 2, maxLength: 8 }),
            fc.double({ min: 1.5, max: 10, noNaN: true }),
            fc.boolean(),
            (similarities, factor, positiveBest) => {
              const spread = Math.max(...similarities) - Math.min(...similarities);
              fc.pre(spread > 1e-3);
              // put the best (or the worst) similarity in column 0, strictly
              const sorted = [...similarities].sort((x, y) => (positiveBest ? y - x : x - y));
              const row = [sorted[0] + (positiveBest ? 1e-3 : -1e-3), ...sorted.slice(1)];
              const loss = rawInfoNCE(tensor([row], { dtype: "float64" })).item();
              const scaled = rawInfoNCE(tensor([row.map((s) => s * factor)], { dtype: "float64" })).item();
              if (positiveBest) expect(scaled).to.be.below(loss);
              else expect(scaled).to.be.above(loss);
            },
          ),
          runs(100),
        );
      },
    );
  });
});
