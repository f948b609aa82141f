/**
 * Exercise 3 (⭐): understand positive/negative pairs in a batch (chapter 7.4, 7.5).
 *
 * SimCLR (NT-Xent): N images, two views each, stacked as z = cat(z1, z2), (2N, D). Row i is one
 * view; its candidates are the other 2N − 1 rows:
 *
 *   self      column i             excluded (S_ii = −∞): cos(z_i, z_i) = 1 always, nothing to learn
 *   positive  column (i + N) mod 2N the other view of the same image           (1 per row)
 *   negative  every other column    the 2N − 2 views of the other N − 1 images  (2N − 2 per row)
 *
 * CLIP: an N × N image–text matrix, positive on the diagonal, N − 1 negatives per row, read in
 * both directions. MoCo (explicit negatives): column 0 is the positive, then the K queue entries.
 *
 * The chapter's template (§7.5) uses labels cat(arange(N), arange(N)) on the unmasked matrix:
 * for the first N rows the "positive" is the row itself. The layout below shows both.
 *
 * Run: npm run build:spec && node build/examples/exercise-03-positive-negative-pairs.js
 */
import { Generator, randn, cat, eye, normalize, crossEntropy, ntXent, positiveIndices } from "../src/index.js";
import { printResult, type ExerciseOptions } from "./exercise-common.js";

export interface PairLayout {
  /** One string per row: "·" self (excluded), "+" positive, "−" negative. */
  grid: string[];
  positivesPerRow: number[];
  negativesPerRow: number[];
  excludedPerRow: number[];
}

/** The NT-Xent layout of a batch of N pairs: (2N, 2N). */
export function ntXentLayout(batchSize: number): PairLayout {
  const views = 2 * batchSize;
  const positive = positiveIndices(batchSize); // (2N,) = (i + N) mod 2N
  const grid: string[] = [];
  const [positivesPerRow, negativesPerRow, excludedPerRow] = [[], [], []] as number[][];
  for (let i = 0; i < views; i++) {
    const cells = Array.from({ length: views }, (_, j) => (j === i ? "·" : j === positive[i] ? "+" : "−"));
    grid.push(cells.join(" "));
    positivesPerRow.push(cells.filter((c) => c === "+").length);
    negativesPerRow.push(cells.filter((c) => c === "−").length);
    excludedPerRow.push(cells.filter((c) => c === "·").length);
  }
  return { grid, positivesPerRow, negativesPerRow, excludedPerRow };
}

/**
 * The chapter template's targets, cat(arange(N), arange(N)), on the same grid: "+" the target,
 * "s" the row's own self-similarity left in the softmax (unmasked), "−" the rest. For the first N
 * rows the target *is* the self-similarity.
 */
export function templateLayout(batchSize: number): string[] {
  const views = 2 * batchSize;
  return Array.from(
    { length: views },
    (_, i) => Array.from({ length: views }, (_, j) => (j === i % batchSize ? "+" : j === i ? "s" : "−")).join(" "),
  );
}

export interface Exercise03Result {
  batchSize: number;
  ntXentGrid: string;
  templateGrid: string;
  /** Per row of NT-Xent: 1 positive, 2N − 2 negatives, 1 excluded. */
  positivesPerRow: number;
  negativesPerRow: number;
  excludedPerRow: number;
  /** Rows of the template whose target is their own self-similarity (the first N). */
  templateRowsTargetingThemselves: number;
  /** |ntXent − cross entropy over the masked matrix with labels (i + N) mod 2N|. */
  layoutMatchesNtXent: number;
  /** CLIP in-batch: negatives per row (N − 1); MoCo: negatives per query (the queue size K). */
  clipNegativesPerRow: number;
  mocoNegativesPerQuery: number;
}

export function main(options: ExerciseOptions = { budget: "tiny" }): Exercise03Result {
  const batchSize = options.budget === "full" ? 8 : 4;
  const layout = ntXentLayout(batchSize);
  const template = templateLayout(batchSize);

  // The layout *is* the loss: cross entropy over S = z zᵀ/τ with S_ii = −∞ and labels (i + N) mod 2N.
  const generator = new Generator(3);
  const z1 = randn([batchSize, 16], generator, { dtype: "float64" }); // (N, D) view 1
  const z2 = randn([batchSize, 16], generator, { dtype: "float64" }); // (N, D) view 2
  const temperature = 0.5;
  const z = normalize(cat([z1, z2], 0)); // (2N, D)
  const selfMask = eye(2 * batchSize, 2 * batchSize, { dtype: "float64" }); // (2N, 2N), 1 on the diagonal
  const logits = z.matmul(z.t()).div(temperature).maskedFill(selfMask, -Infinity); // (2N, 2N)
  const byHand = crossEntropy(logits, positiveIndices(batchSize)).item();
  const library = ntXent(z1, z2, { temperature }).item();

  const queueSize = 4096;
  return {
    batchSize,
    ntXentGrid: layout.grid.join("\n"),
    templateGrid: template.join("\n"),
    positivesPerRow: Math.max(...layout.positivesPerRow),
    negativesPerRow: Math.min(...layout.negativesPerRow),
    excludedPerRow: Math.max(...layout.excludedPerRow),
    templateRowsTargetingThemselves: template.filter((row, i) => row.split(" ")[i] === "+").length,
    layoutMatchesNtXent: Math.abs(byHand - library),
    clipNegativesPerRow: batchSize - 1,
    mocoNegativesPerQuery: queueSize,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printResult(
    "Exercise 3: who is whose positive and negative in a batch",
    main({ budget: process.argv.includes("--full") ? "full" : "tiny" }),
  );
}
