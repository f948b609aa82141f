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

/** A method's row for `formatBaselineComparison`: its numbers, and what it cost. */
export interface ComparedRow extends EvaluationRow {
  /** Training epochs (shown in the epochs column). */
  epochs?: number;
  /** Training wall time in seconds. */
  trainSeconds?: number;
}

/** Signed difference of two accuracies in percentage points, "+1.2" / "−0.4"; "—" if either is missing. */
function points(value: number | undefined, baseline: number | undefined): string {
  if (value === undefined || baseline === undefined) return DASH;
  const difference = 100 * (value - baseline);
  const text = Math.abs(difference).toFixed(1);
  return text === "0.0" ? "±0.0" : difference > 0 ? `+${text}` : `−${text}`;
}

/**
 * Each method beside the baselines, as markdown: its linear probe and kNN accuracy and their
 * differences in percentage points from every baseline row (e.g. raw pixels and the randomly
 * initialized encoder), so "did it learn anything?" is one column to read.
 *
 *   | method | epochs | training | linear probe | kNN | vs raw pixels: probe / kNN | vs random-init encoder: probe / kNN |
 *   | simclr | 5 | 41 s | 93.8% | 94.1% | +3.4 / +1.0 | +5.0 / +2.4 |
 *
 * The baselines come first, with their own accuracies and dashes for the differences.
 */
export function formatBaselineComparison(methods: readonly ComparedRow[], baselines: readonly EvaluationRow[]): string {
  if (baselines.length === 0) throw new Error("formatBaselineComparison: no baseline rows to compare with");
  const header = [
    "method",
    "epochs",
    "training",
    "linear probe",
    "kNN",
    ...baselines.map((b) => `vs ${escapeCell(b.method)}: probe / kNN`),
  ];
  const row = (r: ComparedRow, differences: boolean) => [
    escapeCell(r.method),
    r.epochs === undefined ? DASH : String(r.epochs),
    r.trainSeconds === undefined ? DASH : `${Math.round(r.trainSeconds)} s`,
    percent(r.linearProbe),
    percent(r.knn),
    ...baselines.map((b) => (differences ? `${points(r.linearProbe, b.linearProbe)} / ${points(r.knn, b.knn)}` : DASH)),
  ];
  const lines = [
    `| ${header.join(" | ")} |`,
    `| ${header.map((_, column) => (column === 0 ? "---" : "---:")).join(" | ")} |`,
    ...baselines.map((b) => `| ${row(b, false).join(" | ")} |`),
    ...methods.map((m) => `| ${row(m, true).join(" | ")} |`),
  ];
  return lines.join("\n") + "\n";
}

/**
 * One sentence on how the methods fare against a baseline on the linear probe and kNN, from the
 * numbers (`name`: how the sentence calls the baseline, default its row's name), e.g.
 * "On the linear probe 4 of 4 methods beat raw pixels (+2.8 to +3.9 points); on kNN 3 of 4 do
 * (−0.4 to +1.2 points)."
 */
export function describeAgainstBaseline(methods: readonly EvaluationRow[], baseline: EvaluationRow, name = baseline.method): string {
  const part = (key: "linearProbe" | "knn") => {
    const differences = methods.map((m) => m[key]).filter((v): v is number => v !== undefined).map((v) => v - baseline[key]!);
    const beat = differences.filter((d) => d > 0).length;
    const range = differences.length
      ? `${points(Math.min(...differences), 0)} to ${points(Math.max(...differences), 0)} points`
      : "no numbers";
    return { beat, count: differences.length, range };
  };
  if (baseline.linearProbe === undefined || baseline.knn === undefined) {
    throw new Error(`describeAgainstBaseline: the baseline '${baseline.method}' needs a linear probe and a kNN accuracy`);
  }
  const probe = part("linearProbe");
  const knn = part("knn");
  return `On the linear probe ${probe.beat} of ${probe.count} methods beat ${name} (${probe.range}); ` +
    `on kNN ${knn.beat} of ${knn.count} do (${knn.range}).`;
}
