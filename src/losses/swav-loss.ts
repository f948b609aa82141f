/**
 * SwAV's loss: swapped prediction of cluster codes. Source: Caron et al., "Unsupervised Learning of
 * Visual Features by Contrasting Cluster Assignments" (SwAV), NeurIPS 2020, eqs. 1–3 and §3.1
 * (facebookresearch/swav, main_swav.py: `train` and `distributed_sinkhorn`).
 *
 *   z_v = normalize(g(f(x_v)))            (N, D) unit embeddings of view v
 *   s_v = z_v Cᵀ                          (N, K) scores against K unit prototypes C (K, D)
 *   q_v = SinkhornKnopp(s_v; ε, iters)    (N, K) codes: no gradient, equal partition of the batch
 *   ℓ(q, s) = −mean_n Σ_k q_nk log softmax(s_n / τ)_k          τ = 0.1
 *   L = ½[ℓ(q₁, s₂) + ℓ(q₂, s₁)]          each view predicts the other's code ("swapped")
 *
 * Sinkhorn–Knopp (ε = 0.05, 3 iterations) finds Q = Diag(u) exp(Sᵀ/ε) Diag(v), a K × N matrix
 * whose rows (prototypes) sum to 1/K and columns (samples) to 1/N: every prototype gets an equal
 * share of the batch, which is what keeps all samples from landing in one cluster (collapse).
 * Then Q·N: each sample's code sums to 1. After the last column step the column sums are exact,
 * the row sums only approximate (3 iterations), as in the official code.
 *
 * The prototypes are renormalized to unit rows after every optimizer step (the method's job:
 * src/methods/swav.ts), so the scores are cosines in [−1, 1].
 *
 * Gradient: the codes are constants (computed without the tape), so ∂ℓ/∂s_nk = (softmax(s_n/τ)_k − q_nk)/(N τ);
 * the prototypes receive their gradient through s = z Cᵀ (matmul's rule).
 *
 * Shapes: scores (N, K) per view; codes (N, K); the loss is a scalar.
 *
 * PyTorch (main_swav.py):
 *   Q = torch.exp(out / epsilon).t(); B = Q.shape[1]; K = Q.shape[0]
 *   Q /= torch.sum(Q)
 *   for it in range(3): Q /= torch.sum(Q, dim=1, keepdim=True); Q /= K; Q /= torch.sum(Q, dim=0, keepdim=True); Q /= B
 *   Q *= B; return Q.t()
 *   subloss -= torch.mean(torch.sum(q * F.log_softmax(x / temperature, dim=1), dim=1))   # x the other view's scores
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.js";
import { noGrad } from "../autograd/tape.js";
import { contiguousData, checkSameDtype } from "../ops/util.js";
import { checkOptions } from "../tensor/options.js";
import { checkEmbeddings, checkSameShape, checkTemperature } from "./checks.js";

/** Options of {@link sinkhornKnopp} (facebookresearch/swav `--epsilon`, `--sinkhorn_iterations`). */
export interface SinkhornOptions {
  /** ε, the entropic regularization (default 0.05): smaller is closer to a hard assignment. */
  epsilon?: number;
  /** Sinkhorn–Knopp iterations (default 3). */
  iterations?: number;
}

/** Options of {@link swavLoss}: the softmax temperature plus the {@link SinkhornOptions} of both views' codes. */
export interface SwAVLossOptions extends SinkhornOptions {
  /** τ of the softmax over the prototypes (default 0.1). */
  temperature?: number;
}

/**
 * The Sinkhorn–Knopp codes of a batch of scores (N, K) → (N, K), rows summing to 1 and, at
 * convergence, columns to N/K. No gradient: the result is a fresh tensor off the tape.
 *
 * exp(s/ε) is computed as exp((s − max s)/ε): the global factor exp(max s/ε) cancels in the first
 * normalization (Q /= ΣQ), and this way no entry overflows even in float32 (the official code,
 * on cosines with ε = 0.05, reaches at most e²⁰, and does without it).
 */
export function sinkhornKnopp(scores: Tensor, options: SinkhornOptions = {}): Tensor {
  checkOptions("sinkhornKnopp", options, { epsilon: true, iterations: true });
  checkEmbeddings("sinkhornKnopp", "scores", scores);
  const epsilon = options.epsilon ?? 0.05;
  const iterations = options.iterations ?? 3;
  if (typeof epsilon !== "number" || !Number.isFinite(epsilon) || !(epsilon > 0)) {
    throw new Error(`sinkhornKnopp: epsilon must be a finite number > 0, got ${String(epsilon)}`);
  }
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new Error(`sinkhornKnopp: iterations must be a whole number ≥ 1, got ${String(iterations)}`);
  }
  const [n, k] = scores.shape;
  const { data, offset } = contiguousData(scores.detach());
  // Q is kept as (N, K) here (the paper's K × N, transposed): "rows" of the paper = columns here.
  const q = new Float64Array(n * k);
  let largest = -Infinity;
  for (let i = 0; i < n * k; i++) largest = Math.max(largest, data[offset + i]);
  let total = 0;
  for (let i = 0; i < n * k; i++) {
    q[i] = Math.exp((data[offset + i] - largest) / epsilon);
    total += q[i];
  }
  for (let i = 0; i < n * k; i++) q[i] /= total; // Q /= ΣQ
  const prototypeSums = new Float64Array(k);
  for (let iteration = 0; iteration < iterations; iteration++) {
    prototypeSums.fill(0);
    for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) prototypeSums[c] += q[r * k + c];
    for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) q[r * k + c] /= prototypeSums[c] * k; // each prototype: 1/K
    for (let r = 0; r < n; r++) {
      let sampleSum = 0;
      for (let c = 0; c < k; c++) sampleSum += q[r * k + c];
      for (let c = 0; c < k; c++) q[r * k + c] /= sampleSum * n; // each sample: 1/N
    }
  }
  for (let i = 0; i < n * k; i++) q[i] *= n; // Q·N: each sample's code sums to 1
  return noGrad(() => Tensor.fromTypedArray(scores.dtype === "float64" ? q : Float32Array.from(q), [n, k])); // (N, K), detached
}

/** ℓ(q, s) = −mean_n Σ_k q_nk log softmax(s_n/τ)_k: cross entropy of fixed codes q against scores s. */
export function swappedPrediction(codes: Tensor, scores: Tensor, temperature = 0.1): Tensor {
  checkEmbeddings("swappedPrediction", "codes", codes);
  checkEmbeddings("swappedPrediction", "scores", scores);
  checkSameShape("swappedPrediction", "codes", codes, "scores", scores);
  checkSameDtype("swappedPrediction", "codes", codes, "scores", scores);
  const tau = checkTemperature("swappedPrediction", temperature);
  return codes.detach().mul(scores.div(tau).logSoftmax(1)).sum(1).mean().neg();
}

/** L = ½[ℓ(q₁, s₂) + ℓ(q₂, s₁)] with q_v = sinkhornKnopp(s_v) (see the file's header). (N, K), (N, K) → scalar. */
export function swavLoss(scores1: Tensor, scores2: Tensor, options: SwAVLossOptions = {}): Tensor {
  checkOptions("swavLoss", options, { temperature: true, epsilon: true, iterations: true });
  checkEmbeddings("swavLoss", "scores1", scores1);
  checkEmbeddings("swavLoss", "scores2", scores2);
  checkSameShape("swavLoss", "scores1", scores1, "scores2", scores2);
  checkSameDtype("swavLoss", "scores1", scores1, "scores2", scores2);
  const temperature = checkTemperature("swavLoss", options.temperature ?? 0.1);
  const sinkhorn = { epsilon: options.epsilon, iterations: options.iterations };
  const codes1 = sinkhornKnopp(scores1, sinkhorn); // (N, K), no gradient
  const codes2 = sinkhornKnopp(scores2, sinkhorn); // (N, K), no gradient
  return swappedPrediction(codes2, scores1, temperature).add(swappedPrediction(codes1, scores2, temperature)).mul(0.5);
}
