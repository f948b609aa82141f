/**
 * The k nearest neighbours of a few query rows among many, by cosine similarity: what the
 * nearest-neighbour grid shows, and the neighbours the kNN evaluation votes with
 * (src/eval/knn.ts uses the same similarity and the same tie rule).
 *
 *   u = x / max(‖x‖₂, 1e-12)                                   every row L2-normalized
 *   s_qj = u_q · u_j                                           cosine similarity, in float64
 *   N_k(q) = the k rows j with the largest s_qj, best first; equal similarities: smaller j first
 *
 * Each query keeps its k best so far in a sorted list (k is small: 8 in the grid), so a query costs
 * one pass over the pool, O(n·D + n·k). A row of zeros has similarity 0 with everything.
 * PyTorch: `torch.topk(F.normalize(q) @ F.normalize(pool).T, k)` (its order among ties is unspecified).
 *
 * @module
 */
import { checkOptions } from "../tensor/options.js";

/** Options of `nearestNeighbours`. */
export interface NearestNeighboursOptions {
  /** Neighbours per query (default 8). */
  k?: number;
}

/** The result of `nearestNeighbours`. */
export interface NearestNeighbours {
  /** (q, k) row-major: the pool row of each query's j-th nearest neighbour, nearest first. */
  indices: Int32Array;
  /** (q, k) row-major: their cosine similarities, decreasing along each row. */
  similarities: Float64Array;
  /** Neighbours per query. */
  k: number;
}

/** Rows of a (rows, dim) matrix scaled to unit length, in float64; names the input in errors. */
function unitRows(name: string, values: ArrayLike<number>, rows: number, dim: number): Float64Array {
  if (!(Number.isInteger(rows) && rows >= 0) || values.length !== rows * dim) {
    throw new Error(`nearestNeighbours: ${name} has ${values.length} values, not ${rows} rows of ${dim}`);
  }
  const unit = new Float64Array(rows * dim);
  for (let i = 0; i < rows; i++) {
    let squared = 0;
    for (let j = 0; j < dim; j++) {
      const value = values[i * dim + j];
      if (!Number.isFinite(value)) throw new Error(`nearestNeighbours: ${name} holds ${value} at row ${i}, column ${j}`);
      squared += value * value;
    }
    const scale = 1 / Math.max(Math.sqrt(squared), 1e-12);
    for (let j = 0; j < dim; j++) unit[i * dim + j] = values[i * dim + j] * scale;
  }
  return unit;
}

/**
 * For each of the `queryRows` rows of `queries` (q, D), its k nearest rows of `pool` (n, D) by
 * cosine similarity (see the file header).
 */
export function nearestNeighbours(
  queries: ArrayLike<number>,
  queryRows: number,
  pool: ArrayLike<number>,
  poolRows: number,
  dim: number,
  options: NearestNeighboursOptions = {},
): NearestNeighbours {
  checkOptions("nearestNeighbours", options, { k: true });
  const k = options.k ?? 8;
  if (!(Number.isInteger(dim) && dim >= 1)) throw new Error(`nearestNeighbours: dim must be a positive whole number, got ${dim}`);
  if (!(Number.isInteger(k) && k >= 1 && k <= poolRows)) {
    throw new Error(`nearestNeighbours: k must be in 1 … ${poolRows} (the pool's rows), got ${k}`);
  }
  const q = unitRows("queries", queries, queryRows, dim); // (q, D)
  const p = unitRows("pool", pool, poolRows, dim); //        (n, D)
  const indices = new Int32Array(queryRows * k);
  const similarities = new Float64Array(queryRows * k);
  const bestIndex = new Int32Array(k);
  const bestSimilarity = new Float64Array(k);
  for (let a = 0; a < queryRows; a++) {
    let kept = 0;
    for (let j = 0; j < poolRows; j++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += q[a * dim + d] * p[j * dim + d];
      // Rows arrive in increasing j, so a tie never displaces an earlier row: strictly greater only.
      if (kept === k && !(s > bestSimilarity[k - 1])) continue;
      let at = kept === k ? k - 1 : kept++;
      while (at > 0 && s > bestSimilarity[at - 1]) {
        bestSimilarity[at] = bestSimilarity[at - 1];
        bestIndex[at] = bestIndex[at - 1];
        at--;
      }
      bestSimilarity[at] = s;
      bestIndex[at] = j;
    }
    indices.set(bestIndex, a * k);
    similarities.set(bestSimilarity, a * k);
  }
  return { indices, similarities, k };
}
