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
import { vicregTerms } from "./vicreg-loss.js";
import { simsiamLoss } from "./simsiam-loss.js";
import { dinoCenterUpdate, dinoLoss } from "./dino-loss.js";
import { sinkhornKnopp, swavLoss } from "./swav-loss.js";
import { supConLoss } from "./supcon-loss.js";
import { dclLoss, dclwLoss } from "./dcl-loss.js";
import { sigLipLoss, tiledSigLipLoss } from "./siglip-loss.js";
import { barlowTwinsLoss } from "./barlow-twins-loss.js";
import { stack } from "../ops/indexing.js";

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

// #region vicregExample
export function vicregExample(): ExampleResult {
  const z1 = tensor([[2, 0], [0, 2], [-2, 0], [0, -2]], { dtype: "float64" }); // Var = 8/3 per dim: std 1.63 ≥ 1
  const z2 = z1.mul(0.25); // Var = 1/6: std 0.408 < 1, the hinge is on
  const terms = vicregTerms(z1, z2);
  return {
    invariance: terms.invariance.item(), // mean of (1.5² on 4 of 8 entries) = 1.125
    variance: terms.variance.item(), // ½[0 + (1 − √(1/6 + 10⁻⁴))] = 0.2958
    covariance: terms.covariance.item(), // the dims are uncorrelated: 0
    loss: terms.loss.item(), // 25 · 1.125 + 25 · 0.2958 + 0
    sameBatchVariance: vicregTerms(z1, z1).variance.item(), // every std ≥ 1: exactly 0
  };
}
// #endregion

// #region simsiamExample
export function simsiamExample(): ExampleResult {
  const p1 = tensor([[1, 0], [0, 1]], { dtype: "float64", requiresGrad: true }); // predictions h(z)
  const p2 = tensor([[0, 1], [1, 0]], { dtype: "float64", requiresGrad: true });
  const z1 = tensor([[1, 0], [1, 0]], { dtype: "float64", requiresGrad: true }); // projections (stop-gradient)
  const z2 = tensor([[1, 1], [0, 1]], { dtype: "float64", requiresGrad: true });
  const loss = simsiamLoss(p1, p2, z1, z2); // −½[mean(1/√2, 1) + mean(0, 1)]
  loss.backward();
  return { loss: loss.item(), gradientIntoZ1: String(z1.grad), gradientIntoP1: String(p1.grad !== null) };
}
// #endregion

// #region dinoExample
export function dinoExample(): ExampleResult {
  const student = tensor([[0, 0, 0, 0], [0, 0, 0, 0]], { dtype: "float64" }); // uniform P_s over K = 4
  const teacher = tensor([[1, 0, 0, 0], [0, 1, 0, 0]], { dtype: "float64" }); // sharpened by τ_t = 0.04
  const center = tensor([[0, 0, 0, 0]], { dtype: "float64" });
  return {
    uniformStudent: dinoLoss([student, student], [teacher, teacher], center).item(), // log 4, whatever the teacher
    matchedStudent: dinoLoss([teacher, teacher], [teacher, teacher], center).item(), // P_s = softmax(t/0.1) ≈ P_t
    centerAfter: Array.from(dinoCenterUpdate(center, [teacher]).toTypedArray(), (v) => v.toFixed(3)).join(", "), // 0.1 · mean rows
  };
}
// #endregion

// #region swavExample
export function swavExample(): ExampleResult {
  // every sample scores prototype 0 highest: a softmax would put the whole batch in cluster 0
  const scores = tensor([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.6, 0.4]], { dtype: "float64" }); // (N = 4, K = 2)
  const codes = sinkhornKnopp(scores); // ε = 0.05, 3 iterations
  const share = (k: number) => codes.select(1, k).sum().item(); // the batch's mass on prototype k
  return {
    softmaxShareOfPrototype0: scores.div(0.05).softmax(1).select(1, 0).sum().item(), // ≈ 4 of 4
    codesShareOfPrototype0: share(0), // ≈ N/K = 2: equal partition
    codesShareOfPrototype1: share(1),
    codeRowSum: codes.select(0, 0).sum().item(), // each sample's code sums to 1
    loss: swavLoss(scores, scores).item(), // ½[ℓ(q₂, s₁) + ℓ(q₁, s₂)], here both views alike
  };
}
// #endregion

// #region supConExample
export function supConExample(): ExampleResult {
  // 4 images of 2 classes, two views each; every view of an image points the same way
  const view = tensor([[1, 0], [1, 0], [0, 1], [0, 1]], { dtype: "float64" }); // images 0, 1 alike; 2, 3 alike
  const features = stack([view, view], 1); // (N=4, V=2, D=2)
  return {
    // labels [0, 0, 1, 1]: each anchor's 3 positives are at cos 1, its 4 negatives at cos 0, τ = 1:
    // −1 + log(3e¹ + 4)
    byClass: supConLoss(features, [0, 0, 1, 1], { temperature: 1 }).item(),
    // unique labels: only the other view is a positive, = ntXent(view, view, τ = 1) = −1 + log(3e¹ + 4) too
    unique: supConLoss(features, [0, 1, 2, 3], { temperature: 1 }).item(),
    // τ/τ_base: SupContrast's rescaling at τ = 1, τ_base = 0.5 doubles the value
    rescaled: supConLoss(features, [0, 0, 1, 1], { temperature: 1, baseTemperature: 0.5 }).item(),
  };
}
// #endregion

// #region dclExample
export function dclExample(): ExampleResult {
  const aligned = tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1]], { dtype: "float64" }); // N = 3 orthogonal images
  return {
    // both views equal: positive cos 1, the 2N − 2 = 4 negatives cos 0: −1/τ + log 4 at τ = 0.5
    dcl: dclLoss(aligned, aligned, { temperature: 0.5 }).item(),
    // NT-Xent keeps the positive in the denominator: −2 + log(e² + 4) > 0
    ntXent: ntXent(aligned, aligned, { temperature: 0.5 }).item(),
    // every pair equally aligned: DCLW's weights are all 1
    dclw: dclwLoss(aligned, aligned, { temperature: 0.5 }).item(),
  };
}
// #endregion

// #region sigLipExample
export function sigLipExample(): ExampleResult {
  const image = tensor([[1, 0], [0, 1]], { dtype: "float64" }); // N = 2 orthogonal pairs
  const text = tensor([[5, 0], [0, 2]], { dtype: "float64" }); // the same directions
  return {
    // at SigLIP's init t = 10, b = −10: matched z = 0 → log 2; unmatched z = −10 → log(1 + e⁻¹⁰);
    // (2 log 2 + 2 log(1 + e⁻¹⁰)) / N
    atInit: sigLipLoss(image, text).item(),
    // swapping the towers changes nothing
    swapped: sigLipLoss(text, image).item(),
    // the tiled form (1 × 1 blocks here) gives the same number without the N × N matrix
    tiled: tiledSigLipLoss(image, text, { tileSize: 1 }).item(),
    // t = e¹, b = 0: matched log(1 + e^{−e}), unmatched log 2
    scaleE: sigLipLoss(image, text, { logitScale: 1, logitBias: 0 }).item(),
  };
}
// #endregion

// #region barlowTwinsExample
export function barlowTwinsExample(): ExampleResult {
  // columns of a 4 × 4 Hadamard matrix: each has mean 0 and variance 1, and they are orthogonal
  const z = tensor([[1, 1, 1], [-1, 1, -1], [1, -1, -1], [-1, -1, 1]], { dtype: "float64" });
  const flipped = z.mul(tensor([1, -1, 1], { dtype: "float64" })); // the second dimension disagrees
  return {
    // C = I exactly (ε = 0): 0
    identity: barlowTwinsLoss(z, z, { eps: 0 }).item(),
    // the same views rescaled and shifted per dimension: still C = I
    rescaled: barlowTwinsLoss(z.mul(3).add(1), z, { eps: 0 }).item(),
    // C_22 = −1: (1 − (−1))² = 4
    flipped: barlowTwinsLoss(z, flipped, { eps: 0 }).item(),
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
  vicregExample,
  simsiamExample,
  dinoExample,
  swavExample,
  supConExample,
  dclExample,
  sigLipExample,
  barlowTwinsExample,
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
