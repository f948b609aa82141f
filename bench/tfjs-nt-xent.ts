/**
 * NT-Xent written in TensorFlow.js, for bench/peers.bench.ts (and checked against ours by
 * spec/bench/tfjs-nt-xent.spec.ts, so the benchmark's "same loss" is tested, not assumed).
 * Only tfjs-core is imported: the caller picks the backend.
 */
import * as tf from "@tensorflow/tfjs-core";

/**
 * NT-Xent in tfjs, line by line as src/losses/nt-xent.ts (ntXentReference):
 *   z = normalize(cat[z₁, z₂]),  S = z·zᵀ,  ℓ_ik = S_ik/τ with ℓ_ii = −∞,
 *   L = mean_i( logsumexp_k ℓ_ik − ℓ_i,pos(i) ),  pos(i) = i ± N.
 * The cross-entropy is written as logsumexp minus the positive logit (not one-hot · logSoftmax:
 * 0·(−∞) would be NaN on the masked diagonal).
 */
export function tfjsNtXent(z1: tf.Tensor2D, z2: tf.Tensor2D, temperature: number): tf.Scalar {
  const n = z1.shape[0];
  const joined = tf.concat([z1, z2], 0); // (2N, D)
  const norms = tf.maximum(tf.norm(joined, "euclidean", 1, true), 1e-12); // (2N, 1), max(‖z‖, ε) as F.normalize
  const z = tf.div(joined, norms); // (2N, D), unit rows
  const logits = tf.div(tf.matMul(z, z, false, true), temperature); // (2N, 2N), S/τ
  const selfMask = tf.cast(tf.eye(2 * n), "bool"); // (2N, 2N)
  const masked = tf.where(selfMask, tf.fill([2 * n, 2 * n], -Infinity), logits); // ℓ_ii = −∞
  // z_pos(i) for every row: the halves swapped (slices, not gather: wasm lacks gather's gradient kernel)
  const swapped = tf.concat([tf.slice(z, [n, 0], [n, -1]), tf.slice(z, [0, 0], [n, -1])], 0); // (2N, D)
  const positiveLogit = tf.div(tf.sum(tf.mul(z, swapped), 1), temperature); // (2N), ℓ_i,pos(i) = z_i·z_pos(i)/τ
  return tf.mean(tf.sub(tf.logSumExp(masked, 1), positiveLogit)); // mean over the 2N rows
}
