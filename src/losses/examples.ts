/**
 * The worked examples of docs/losses.md. Each region between `// #region name` and
 * `// #endregion` is copied verbatim into the doc, followed by what the function returns;
 * spec/losses/docs.spec.ts checks that both the code and the printed numbers still match.
 * The inputs are small enough to check by hand: the closed forms are in the comments.
 *
 * @module
 */
import { tensor } from "../tensor/creation.js";
import { Generator } from "../tensor/random.js";
import { randn } from "../tensor/creation.js";
import { infoNCE, infoNCEFromSimilarities } from "./info-nce.js";
import { ntXent } from "./nt-xent.js";
import { clipLoss } from "./clip-loss.js";
import { mocoLoss } from "./moco-loss.js";
import { byolLoss } from "./byol-loss.js";
import { collapseMonitor, temperatureSweep } from "./diagnostics.js";

export type ExampleResult = Record<string, number | string>;

// #region chapterExample
export function chapterExample(): ExampleResult {
  // Chapter 7.2: similarities [positive, negatives…] at τ = 0.1, no normalization.
  const good = infoNCEFromSimilarities([0.8, 0.2, 0.15, 0.1], 0.1);
  const bad = infoNCEFromSimilarities([0.1, 0.5, 0.4, 0.3], 0.1);
  return {
    goodProbability: good.probability, // e^8 / (e^8 + e^2 + e^1.5 + e^1)
    goodLoss: good.loss, // −log of it
    badProbability: bad.probability, // e^1 / (e^1 + e^5 + e^4 + e^3)
    badLoss: bad.loss,
  };
}
// #endregion

// #region infoNCEExample
export function infoNCEExample(): ExampleResult {
  const query = tensor([[1, 0], [0, 1]], { dtype: "float64" }); // (N=2, D=2)
  const positiveKey = tensor([[3, 0], [0, 0.5]], { dtype: "float64" }); // same directions
  const negativeKeys = tensor([[-1, 0], [0, -2], [1, 1]], { dtype: "float64" }); // (M=3, D=2)
  return {
    // in-batch, τ = 1: each row is −1 + log(e¹ + e⁰) = log(1 + e⁻¹)
    inBatch: infoNCE(query, positiveKey, null, { temperature: 1 }).item(),
    // in-batch, τ = 0.1: log(1 + e⁻¹⁰), the same margin seen ten times sharper
    inBatchCold: infoNCE(query, positiveKey, null, { temperature: 0.1 }).item(),
    // shared negatives, τ = 1: row 0 has logits [1, −1, 0, 1/√2], positive first
    withNegatives: infoNCE(query, positiveKey, negativeKeys, { temperature: 1 }).item(),
    // upper bound for M = 3 at τ = 1: log(1 + 3e²); the chapter's log(1 + M) is 1.386
    bound: Math.log(1 + 3 * Math.exp(2)),
  };
}
// #endregion

// #region ntXentExample
export function ntXentExample(): ExampleResult {
  const z1 = tensor([[1, 0], [0, 1]], { dtype: "float64" }); // view 1 of images 0, 1
  const z2 = tensor([[2, 0], [0, 3]], { dtype: "float64" }); // view 2: same directions
  const same = tensor([[1, 1], [1, 1]], { dtype: "float64" }); // collapsed: all identical
  return {
    // every row: positive at 1/τ = 2, two orthogonal candidates at 0, self masked:
    // −2 + log(e² + 2) = log(1 + 2e⁻²)
    aligned: ntXent(z1, z2, { temperature: 0.5 }).item(),
    // 2N − 1 = 3 equal candidates per row: log 3
    collapsed: ntXent(same, same, { temperature: 0.5 }).item(),
  };
}
// #endregion

// #region clipExample
export function clipExample(): ExampleResult {
  const images = tensor([[1, 0], [0, 1]], { dtype: "float64" }); // (N=2, D=2)
  const texts = tensor([[1, 0], [0, 1]], { dtype: "float64" }); // perfectly matched
  const logitScale = tensor(Math.log(1 / 0.07), { dtype: "float64", requiresGrad: true }); // s = log(1/τ)
  const loss = clipLoss(images, texts, { logitScale });
  loss.backward();
  return {
    // both directions: log(1 + e^(−1/0.07))
    loss: loss.item(),
    sameWithTemperature: clipLoss(images, texts, { temperature: 0.07 }).item(),
    // ∂L/∂s = −(1/τ)·e^(−1/τ)/(1 + e^(−1/τ)) < 0: gradient descent raises s (sharper) for ever,
    // which is why CLIP clamps exp(s) at 100
    gradLogitScale: logitScale.grad!.item(),
  };
}
// #endregion

// #region mocoExample
export function mocoExample(): ExampleResult {
  const query = tensor([[1, 0]], { dtype: "float64", requiresGrad: true }); // (N=1, D=2)
  const key = tensor([[1, 0]], { dtype: "float64", requiresGrad: true }); // momentum encoder's key
  const queue = tensor([[0, 1], [-1, 0]], { dtype: "float64" }); // (K=2, D=2) past keys
  const loss = mocoLoss(query, key, queue, { temperature: 0.5 });
  loss.backward();
  return {
    // logits [2, 0, −2]: −2 + log(e² + 1 + e⁻²) = log(1 + e⁻² + e⁻⁴)
    loss: loss.item(),
    keyGrad: key.grad === null ? "null (detached)" : "has a gradient",
  };
}
// #endregion

// #region byolExample
export function byolExample(): ExampleResult {
  const prediction = tensor([[1, 0], [1, 1]], { dtype: "float64" }); // online predictor
  const target = tensor([[2, 0], [0, 1]], { dtype: "float64" }); // target network (EMA)
  return {
    // cosines 1 and 1/√2: mean of (2 − 2) and (2 − √2) = 1 − √2/2
    loss: byolLoss(prediction, target).item(),
  };
}
// #endregion

// #region diagnosticsExample
export function diagnosticsExample(): ExampleResult {
  const generator = new Generator(7);
  const healthy = randn([256, 16], generator, { dtype: "float64" }); // isotropic directions
  const direction = randn([1, 16], generator, { dtype: "float64" });
  const noise = randn([256, 16], generator, { dtype: "float64" });
  const collapsed = direction.expand(256, 16).add(noise.mul(0.01)); // one point, plus noise
  const healthyReport = collapseMonitor(healthy);
  const collapsedReport = collapseMonitor(collapsed);
  return {
    healthyStdRatio: healthyReport.stdRatio, // ≈ 1
    healthyEffectiveRank: healthyReport.effectiveRank, // most of the 16 dims
    collapsedStdRatio: collapsedReport.stdRatio, // ≈ 0.01: flagged
    collapsedEffectiveRank: collapsedReport.effectiveRank, // high! the noise is isotropic
    collapsedFlag: String(collapsedReport.collapsed),
    // the chapter's monitor on the same collapsed batch scaled by 100: "not collapsing"
    chapterWarningScaled: String(collapseMonitor(collapsed.mul(100)).chapterWarning),
    sweep: temperatureSweep({ z1: healthy, z2: healthy.add(noise.mul(0.5)) }).table,
  };
}
// #endregion

/** Every example by name, for the doc spec. */
export const examples: Record<string, () => ExampleResult> = {
  chapterExample,
  infoNCEExample,
  ntXentExample,
  clipExample,
  mocoExample,
  byolExample,
  diagnosticsExample,
};

/** One line per entry, numbers to 6 significant digits: the text shown under each example. */
export function formatExample(result: ExampleResult): string {
  return Object.entries(result)
    .map(([name, value]) => {
      if (typeof value === "string") return value.includes("\n") ? `${name}:\n${value}` : `${name}: ${value}`;
      return `${name}: ${Number(value.toPrecision(6))}`;
    })
    .join("\n");
}
