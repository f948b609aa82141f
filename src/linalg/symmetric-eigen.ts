/**
 * Eigenvalues (and, on request, eigenvectors) of a real symmetric matrix by the cyclic Jacobi
 * method, in float64; and the effective rank of a spectrum. One routine for the whole project:
 * collapseMonitor (src/losses/diagnostics.ts) reads the spectrum of a batch's D×D covariance,
 * effectiveRank (src/eval/health.ts) that of the test split's scatter matrix.
 * Source: Golub & Van Loan, "Matrix Computations", 4th ed., §8.5 (Algorithms 8.5.1–8.5.3);
 * Numerical Recipes §11.1.
 *
 * Each step picks an off-diagonal pair (p, q) and applies the plane rotation J(p, q, θ) that
 * zeroes a_pq = a_qp of A ← Jᵀ A J:
 *
 *   θ = (a_qq − a_pp) / (2 a_pq),  t = sign(θ) / (|θ| + √(1 + θ²)),  c = 1/√(1 + t²),  s = t·c
 *   a_pp ← a_pp − t a_pq,   a_qq ← a_qq + t a_pq,   a_pq ← 0
 *   for r ≠ p, q:  a_rp ← c a_rp − s a_rq,   a_rq ← s a_rp + c a_rq     (and the mirrored entries)
 *   V ← V J  (only when eigenvectors are asked for)
 *
 * t is the smaller root of t² + 2θt − 1 = 0, so the rotation angle is at most π/4: this is what
 * makes the method converge (quadratically, once the off-diagonal part is small). A sweep visits
 * every pair p < q once; we stop when off(A) = √(Σ_{p≠q} a_pq²) ≤ 1e-15·‖A‖_F. Pairs with
 * |a_pq| ≤ 1e-15·‖A‖_F / n are skipped: they cannot move an eigenvalue by more than that, and
 * n(n − 1) of them still pass the stopping test, so skipping never stalls a sweep. Then
 * A ≈ Vᵀ A₀ V is diagonal: the diagonal holds the eigenvalues and V's columns the eigenvectors.
 *
 * Why Jacobi: it is short, needs no tridiagonalization, and computes small eigenvalues of a
 * positive semi-definite matrix to high relative accuracy, which matters when they enter
 * log-terms (effective rank). O(n³) per sweep, about 6–10 sweeps: fine for D ≤ a few hundred.
 * PyTorch: torch.linalg.eigh / eigvalsh (LAPACK's syevd: another algorithm, the same numbers).
 *
 * @module
 */
import { checkOptions } from "../tensor/options.js";
/** The result of {@link symmetricEigen}: eigenvalues and (optionally) eigenvectors. */
export interface SymmetricEigen {
  /** Eigenvalues, in decreasing order. */
  values: Float64Array;
  /** n×n row-major; column k is the unit eigenvector of values[k]. Empty when not asked for. */
  vectors: Float64Array;
  /** Sweeps used. */
  sweeps: number;
}

/** Options of {@link symmetricEigen}. */
export interface SymmetricEigenOptions {
  /** Accumulate the eigenvectors (default true). Without them a sweep costs about 2/3 as much. */
  vectors?: boolean;
  /** Give up (with an error) after this many sweeps; default 100. */
  maxSweeps?: number;
}

/**
 * Eigenvalues (decreasing) and, unless `vectors: false`, eigenvectors of a real symmetric n×n
 * matrix by the cyclic Jacobi method in float64. `matrix` is row-major, checked for symmetry and
 * left unchanged. PyTorch: `torch.linalg.eigh` (ascending there, decreasing here).
 */
export function symmetricEigen(matrix: ArrayLike<number>, n: number, options: SymmetricEigenOptions = {}): SymmetricEigen {
  checkOptions("symmetricEigen", options, { vectors: true, maxSweeps: true });
  const wantVectors = options.vectors ?? true;
  const maxSweeps = options.maxSweeps ?? 100;
  if (!Number.isInteger(n) || n < 0) throw new Error(`symmetricEigen: n must be a whole number ≥ 0, got ${n}`);
  if (matrix.length !== n * n) throw new Error(`symmetricEigen: ${matrix.length} values cannot form a ${n}×${n} matrix`);
  const a = Float64Array.from(matrix); // (n, n), rotated in place into diagonal form
  let frobeniusSquared = 0;
  for (let i = 0; i < n * n; i++) {
    if (!Number.isFinite(a[i])) throw new Error(`symmetricEigen: entry ${i} is ${a[i]}`);
    frobeniusSquared += a[i] * a[i];
  }
  const frobenius = Math.sqrt(frobeniusSquared);
  for (let p = 0; p < n; p++) {
    for (let q = p + 1; q < n; q++) {
      if (Math.abs(a[p * n + q] - a[q * n + p]) > 1e-12 * Math.max(frobenius, Number.MIN_VALUE)) {
        throw new Error(`symmetricEigen: the matrix is not symmetric (A[${p}][${q}] = ${a[p * n + q]}, A[${q}][${p}] = ${a[q * n + p]})`);
      }
      a[q * n + p] = a[p * n + q]; // exactly symmetric from here on
    }
  }
  const v = wantVectors ? new Float64Array(n * n) : new Float64Array(0); // (n, n), starts as I
  for (let i = 0; wantVectors && i < n; i++) v[i * n + i] = 1;

  const stop = 1e-15 * frobenius;
  const skip = stop / Math.max(n, 1);
  let sweeps = 0;
  while (offDiagonalNorm(a, n) > stop) {
    if (sweeps === maxSweeps) throw new Error(`symmetricEigen: no convergence after ${maxSweeps} sweeps (n = ${n})`);
    sweeps++;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) <= skip) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(1 + theta * theta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        a[p * n + p] = app - t * apq;
        a[q * n + q] = aqq + t * apq;
        a[p * n + q] = 0; // exactly zero by construction
        a[q * n + p] = 0;
        // Rows p and q are contiguous: rotate them, then mirror into columns p and q.
        const rowP = p * n;
        const rowQ = q * n;
        for (let r = 0; r < n; r++) {
          if (r === p || r === q) continue;
          const arp = a[rowP + r];
          const arq = a[rowQ + r];
          const newP = c * arp - s * arq;
          const newQ = s * arp + c * arq;
          a[rowP + r] = newP;
          a[rowQ + r] = newQ;
          a[r * n + p] = newP;
          a[r * n + q] = newQ;
        }
        if (!wantVectors) continue;
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  // Eigenpairs by decreasing eigenvalue.
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j * n + j] - a[i * n + i]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(wantVectors ? n * n : 0);
  order.forEach((from, to) => {
    values[to] = a[from * n + from];
    for (let k = 0; wantVectors && k < n; k++) vectors[k * n + to] = v[k * n + from];
  });
  return { values, vectors, sweeps };
}

function offDiagonalNorm(a: Float64Array, n: number): number {
  let total = 0;
  for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) total += 2 * a[p * n + q] * a[p * n + q];
  return Math.sqrt(total);
}

/**
 * Effective rank (Roy & Vetterli, 2007) of a spectrum of singular values:
 *   erank = exp(−Σ_k p_k log p_k),  p_k = σ_k / Σ_j σ_j
 * k equal nonzero singular values give exactly k; an all-zero spectrum gives 0.
 */
export function effectiveRankOfSpectrum(singularValues: ArrayLike<number>): number {
  let total = 0;
  for (let k = 0; k < singularValues.length; k++) total += singularValues[k];
  if (!(total > 0)) return 0;
  let entropy = 0;
  for (let k = 0; k < singularValues.length; k++) {
    const p = singularValues[k] / total;
    if (p > 0) entropy -= p * Math.log(p);
  }
  return Math.exp(entropy);
}

/**
 * The singular values σ_k = √λ_k of a data matrix X from the eigenvalues λ of XᵀX (or of its
 * covariance, which differs by a common factor that p_k removes), with eigenvalues below
 * n·ε·λ_max counted as 0. Jacobi returns each eigenvalue to within about ε·λ_max, so an exact 0
 * (a batch of N < D embeddings has at least D − N + 1) comes back as ±1e-17·λ_max, and its square
 * root, 3e-9·σ_max, would add about 1e-7 to the rank for every such direction. (The price of going
 * through XᵀX: singular values below √(nε)·σ_max, 2e-7·σ_max at n = 256, cannot be told from 0.)
 */
export function singularValuesFromEigenvalues(eigenvalues: ArrayLike<number>): Float64Array {
  let largest = 0;
  for (let k = 0; k < eigenvalues.length; k++) largest = Math.max(largest, eigenvalues[k]);
  const noiseFloor = eigenvalues.length * Number.EPSILON * largest;
  return Float64Array.from(eigenvalues, (lambda) => (lambda > noiseFloor ? Math.sqrt(lambda) : 0));
}

/** effectiveRankOfSpectrum(singularValuesFromEigenvalues(λ)): the effective rank from XᵀX's eigenvalues. */
export function effectiveRankOf(eigenvalues: ArrayLike<number>): number {
  return effectiveRankOfSpectrum(singularValuesFromEigenvalues(eigenvalues));
}
