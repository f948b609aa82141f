/**
 * Principal component analysis of a feature matrix, for drawing it in two dimensions
 * (Pearson 1901; Hotelling 1933; Bishop, "Pattern Recognition and Machine Learning", §12.1).
 *
 *   X (n, D) row-major, μ = (1/n) Σ_i x_i                     mean feature
 *   C = (1/(n − 1)) Σ_i (x_i − μ)(x_i − μ)ᵀ                   (D, D) sample covariance
 *   C v_k = λ_k v_k,  λ_1 ≥ λ_2 ≥ … ≥ λ_D ≥ 0                 eigenpairs (src/linalg/symmetric-eigen.ts)
 *   y_ik = (x_i − μ) · v_k                                    coordinate of row i on component k
 *   explained_k = λ_k / Σ_j λ_j                               share of the total variance
 *
 * v_1 is the direction along which the rows spread the most (the variance of y_·1 is λ_1), v_2 the
 * most among the directions orthogonal to v_1, and so on. An eigenvector's sign is arbitrary; here
 * each component is flipped so that its entry of largest magnitude is positive (the first such
 * entry on a tie), so that the same features always give the same picture (scikit-learn's
 * `svd_flip` does the same on its own factor, so its signs can differ from these).
 *
 * Cost: forming C is n·D² multiply-adds (0.1 s for the 2,004 × 256 test features), the Jacobi
 * eigensolver O(D³) per sweep.
 * PyTorch: `torch.pca_lowrank(X, q=2, center=True)` (randomized) or `U, S, Vh =
 * torch.linalg.svd(X - X.mean(0))`, y = (X − μ) Vhᵀ[:, :2]; scikit-learn `PCA(n_components=2)`.
 *
 * @module
 */
import { checkOptions } from "../tensor/options.js";
import { symmetricEigen } from "../linalg/symmetric-eigen.js";

/** Options of `principalComponents`. */
export interface PrincipalComponentsOptions {
  /** How many components to keep, k (default 2). */
  components?: number;
}

/** The result of `principalComponents`. */
export interface PrincipalComponents {
  /** (n, k) row-major: the coordinates y_ik of every row on the first k components. */
  coordinates: Float64Array;
  /** (k, D) row-major: the unit component directions v_k. */
  components: Float64Array;
  /** λ_1 … λ_k, the variance along each component (decreasing). */
  variances: Float64Array;
  /** λ_k / Σ_j λ_j for k = 1 … k. */
  explainedRatio: Float64Array;
  /** (D,) the mean μ that was subtracted. */
  mean: Float64Array;
  /** n, the rows of the input. */
  rows: number;
  /** D, the feature dimension of the input. */
  dim: number;
}

/** The first k principal components of `features` (n, D) and every row's coordinates on them. */
export function principalComponents(
  features: ArrayLike<number>,
  rows: number,
  dim: number,
  options: PrincipalComponentsOptions = {},
): PrincipalComponents {
  checkOptions("principalComponents", options, { components: true });
  const k = options.components ?? 2;
  if (!(Number.isInteger(rows) && rows >= 2)) throw new Error(`principalComponents: need at least 2 rows, got ${rows}`);
  if (!(Number.isInteger(dim) && dim >= 1)) throw new Error(`principalComponents: dim must be a positive whole number, got ${dim}`);
  if (features.length !== rows * dim) {
    throw new Error(`principalComponents: ${features.length} values do not form a ${rows}×${dim} matrix`);
  }
  if (!(Number.isInteger(k) && k >= 1 && k <= dim)) throw new Error(`principalComponents: components must be in 1 … ${dim}, got ${k}`);

  const mean = new Float64Array(dim); // (D,)
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < dim; j++) {
      const value = features[i * dim + j];
      if (!Number.isFinite(value)) throw new Error(`principalComponents: features hold ${value} at row ${i}, column ${j}`);
      mean[j] += value;
    }
  }
  for (let j = 0; j < dim; j++) mean[j] /= rows;

  // C = XcᵀXc / (n − 1), the upper triangle accumulated one centered row at a time, then mirrored.
  const covariance = new Float64Array(dim * dim); // (D, D)
  const centered = new Float64Array(dim); //          (D,) one row of Xc
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < dim; j++) centered[j] = features[i * dim + j] - mean[j];
    for (let a = 0; a < dim; a++) {
      const ca = centered[a];
      if (ca === 0) continue;
      const row = a * dim;
      for (let b = a; b < dim; b++) covariance[row + b] += ca * centered[b];
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      const value = covariance[a * dim + b] / (rows - 1);
      covariance[a * dim + b] = value;
      covariance[b * dim + a] = value;
    }
  }

  const { values, vectors } = symmetricEigen(covariance, dim); // λ decreasing; column c of vectors is v_c
  let total = 0;
  for (let c = 0; c < dim; c++) total += Math.max(0, values[c]);
  const components = new Float64Array(k * dim); // (k, D)
  const variances = new Float64Array(k);
  const explainedRatio = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    // The sign: the entry of largest magnitude positive.
    let largest = 0;
    for (let j = 1; j < dim; j++) if (Math.abs(vectors[j * dim + c]) > Math.abs(vectors[largest * dim + c])) largest = j;
    const sign = vectors[largest * dim + c] < 0 ? -1 : 1;
    for (let j = 0; j < dim; j++) components[c * dim + j] = sign * vectors[j * dim + c];
    variances[c] = Math.max(0, values[c]); // a round-off −1e-17 of a zero eigenvalue is 0
    explainedRatio[c] = total > 0 ? variances[c] / total : 0;
  }

  const coordinates = new Float64Array(rows * k); // (n, k): y = (x − μ) Vₖ
  for (let i = 0; i < rows; i++) {
    for (let c = 0; c < k; c++) {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += (features[i * dim + j] - mean[j]) * components[c * dim + j];
      coordinates[i * k + c] = dot;
    }
  }
  return { coordinates, components, variances, explainedRatio, mean, rows, dim };
}
