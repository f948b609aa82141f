/**
 * Eigenvalues and eigenvectors of a real symmetric matrix by the cyclic Jacobi method, in
 * float64. Used by collapseMonitor (diagnostics.ts) for the spectrum of the D×D covariance.
 * Source: Golub & Van Loan, "Matrix Computations", 4th ed., §8.5 (Algorithms 8.5.1–8.5.3).
 *
 * Each step picks an off-diagonal pair (p, q) and applies the plane rotation J(p, q, θ) that
 * zeroes A_pq:
 *
 *   θ' = (A_qq − A_pp) / (2 A_pq),  t = sign(θ') / (|θ'| + √(1 + θ'²)),  c = 1/√(1 + t²), s = t·c
 *   A ← Jᵀ A J,   V ← V J
 *
 * t is the smaller root of t² + 2θ't − 1 = 0, so the rotation angle is at most π/4: this is
 * what makes the method converge (quadratically, once the off-diagonal part is small). A sweep
 * visits every pair p < q once; we stop when off(A) = √(Σ_{p≠q} A_pq²) ≤ 1e-15·‖A‖_F. Then
 * A ≈ Vᵀ A₀ V is diagonal: the diagonal holds the eigenvalues and V's columns the eigenvectors.
 *
 * Why Jacobi: it is short, needs no tridiagonalization, and computes small eigenvalues of a
 * positive semi-definite matrix to high relative accuracy, which matters when they enter
 * log-terms (effective rank). O(n³) per sweep, about 6–10 sweeps: fine for D ≤ a few hundred.
 * PyTorch: torch.linalg.eigh (LAPACK's syevd, a different algorithm, the same numbers).
 */

export interface SymmetricEigen {
  /** Eigenvalues, in decreasing order. */
  values: Float64Array;
  /** n×n row-major; column k is the unit eigenvector of values[k]. */
  vectors: Float64Array;
  /** Sweeps used. */
  sweeps: number;
}

/** matrix: n×n row-major (only symmetric input is meaningful; symmetry is checked). */
export function symmetricEigen(matrix: ArrayLike<number>, n: number, maxSweeps = 100): SymmetricEigen {
  if (!Number.isInteger(n) || n < 0) throw new Error(`symmetricEigen: n must be a whole number ≥ 0, got ${n}`);
  if (matrix.length !== n * n) throw new Error(`symmetricEigen: ${matrix.length} values cannot form a ${n}×${n} matrix`);
  const a = Float64Array.from(matrix);
  let frobenius = 0;
  for (let i = 0; i < n * n; i++) {
    if (!Number.isFinite(a[i])) throw new Error(`symmetricEigen: entry ${i} is ${a[i]}`);
    frobenius += a[i] * a[i];
  }
  frobenius = Math.sqrt(frobenius);
  for (let p = 0; p < n; p++) {
    for (let q = p + 1; q < n; q++) {
      if (Math.abs(a[p * n + q] - a[q * n + p]) > 1e-12 * Math.max(frobenius, Number.MIN_VALUE)) {
        throw new Error(`symmetricEigen: the matrix is not symmetric (A[${p}][${q}] = ${a[p * n + q]}, A[${q}][${p}] = ${a[q * n + p]})`);
      }
    }
  }
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;

  let sweeps = 0;
  while (offDiagonalNorm(a, n) > 1e-15 * frobenius) {
    if (sweeps === maxSweeps) throw new Error(`symmetricEigen: no convergence after ${maxSweeps} sweeps (n = ${n})`);
    sweeps++;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(1 + theta * theta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        // A ← A J: columns p and q
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        // A ← Jᵀ A: rows p and q
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        a[p * n + q] = 0; // exactly zero by construction; drop the rounding residue
        a[q * n + p] = 0;
        // V ← V J
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  // Sort eigenpairs by decreasing eigenvalue.
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j * n + j] - a[i * n + i]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((from, to) => {
    values[to] = a[from * n + from];
    for (let k = 0; k < n; k++) vectors[k * n + to] = v[k * n + from];
  });
  return { values, vectors, sweeps };
}

function offDiagonalNorm(a: Float64Array, n: number): number {
  let total = 0;
  for (let p = 0; p < n; p++) {
    for (let q = 0; q < n; q++) if (p !== q) total += a[p * n + q] * a[p * n + q];
  }
  return Math.sqrt(total);
}
