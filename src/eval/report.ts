/**
 * The results table: one row per method (and baseline), one column per evaluation, as markdown.
 *
 *   | method | dim | linear probe | kNN | zero-shot | R@1 i→t / t→i | align ↓ | uniform ↓ | std vs 1/√D | eff. rank |
 *
 * Accuracies and recalls are percentages with one decimal; an evaluation that does not apply to a
 * method (zero-shot without a text encoder, health of raw pixels) shows "—". The legend under
 * the table says what each column measures, so a pasted table explains itself.
 *
 * @module
 */
import type { NormalizedStd } from "./health.js";
import { checkOptions } from "../tensor/options.js";

/** One method's numbers; every field but `method` is optional. Accuracies are in [0, 1]. */
export interface EvaluationRow {
  /** The method's name (the first column). */
  method: string;
  /** Feature dimension D. */
  dim?: number;
  /** Linear probe test accuracy. */
  linearProbe?: number;
  /** kNN test accuracy. */
  knn?: number;
  /** Zero-shot test accuracy (prompt ensemble). */
  zeroShot?: number;
  /** Retrieval recall@1 in both directions. */
  recallAt1?: {
    /** recall@1 of image → text. */
    imageToText: number;
    /** recall@1 of text → image. */
    textToImage: number;
  };
  /** ℓ_align of positive pairs (lower is better). */
  alignment?: number;
  /** ℓ_uniform (lower is more uniform). */
  uniformity?: number;
  /** The normalized features' std and its reference. */
  normalizedStd?: NormalizedStd;
  /** The effective rank of the features. */
  effectiveRank?: number;
}

/** Options of {@link formatEvaluationTable}. */
export interface ReportOptions {
  /** Print the column legend under the table (default true). */
  legend?: boolean;
}

const DASH = "—";

/** The report table's column headers, in order. */
export const REPORT_COLUMNS = [
  "method",
  "dim",
  "linear probe",
  "kNN",
  "zero-shot",
  "R@1 i→t / t→i",
  "align ↓",
  "uniform ↓",
  "std vs 1/√D",
  "eff. rank",
] as const;

const LEGEND = [
  "- linear probe: test accuracy of a multinomial logistic regression on frozen, train-standardized features (L-BFGS, weight decay λ).",
  "- kNN: test accuracy of a k-nearest-neighbour vote over cosine similarities to the train features (exp(s/τ) weights unless stated).",
  "- zero-shot: CLIP test accuracy against the class prompts, prompt-ensembled; " +
  "R@1: image→text / text→image recall@1, ties counted against the true item.",
  "- align: E‖u(x) − u(x⁺)‖² over positive pairs (0 best, 4 worst); " +
  "uniform: log E exp(−2‖u − v‖²) over all pairs (0 = collapsed, lower = more spread).",
  "- std vs 1/√D: mean per-dimension std of the L2-normalized features, " +
  "next to 1/√D (uniform on the sphere) and their ratio (→ 0: collapse).",
  "- eff. rank: exp of the entropy of the normalized singular values of the centered features, out of D.",
];

function percent(value: number | undefined): string {
  return value === undefined ? DASH : `${(100 * value).toFixed(1)}%`;
}

function fixed(value: number | undefined, digits: number): string {
  if (value === undefined) return DASH;
  const text = value.toFixed(digits);
  return text.startsWith("-") ? `−${text.slice(1)}` : text; // a real minus sign reads better in a table
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** The cells of one row, in REPORT_COLUMNS order. */
export function formatRowCells(row: EvaluationRow): string[] {
  const std = row.normalizedStd;
  const recall = row.recallAt1;
  return [
    escapeCell(row.method),
    row.dim === undefined ? DASH : String(row.dim),
    percent(row.linearProbe),
    percent(row.knn),
    percent(row.zeroShot),
    recall === undefined ? DASH : `${percent(recall.imageToText)} / ${percent(recall.textToImage)}`,
    fixed(row.alignment, 3),
    fixed(row.uniformity, 3),
    std === undefined ? DASH : `${std.std.toFixed(4)} vs ${std.expected.toFixed(4)} (${std.ratio.toFixed(2)})`,
    row.effectiveRank === undefined
      ? DASH
      : row.dim === undefined
      ? row.effectiveRank.toFixed(1)
      : `${row.effectiveRank.toFixed(1)} of ${row.dim}`,
  ];
}

/** The markdown table of `rows` (and, by default, its legend). */
export function formatEvaluationTable(rows: readonly EvaluationRow[], options: ReportOptions = {}): string {
  checkOptions("formatEvaluationTable", options, { legend: true });
  if (rows.length === 0) throw new Error("formatEvaluationTable: no rows to format");
  const lines = [
    `| ${REPORT_COLUMNS.join(" | ")} |`,
    `| ${REPORT_COLUMNS.map((_, column) => (column === 0 ? "---" : "---:")).join(" | ")} |`,
    ...rows.map((row) => `| ${formatRowCells(row).join(" | ")} |`),
  ];
  if (options.legend !== false) lines.push("", ...LEGEND);
  return lines.join("\n") + "\n";
}
