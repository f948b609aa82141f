/**
 * Two plots people would rather look at than read, as standalone SVG (no dependencies):
 *   lossCurveSvg      the loss per step (thin) with its per-epoch mean (thick), axis labels,
 *                     epoch ticks and a reference line at the loss's chance value
 *   heatmapSvg        a square matrix, e.g. a batch's cosine similarity matrix, in a diverging
 *                     blue–white–red scale fixed to [−1, 1] so that plots compare across runs,
 *                     with its rows and columns grouped by label (digit)
 * The pictures of the embeddings (PCA scatter, nearest-neighbour grid) are in ./embedding-svg.ts.
 *
 * @module
 */
import { checkOptions } from "../tensor/options.js";
import { escapeXml, niceStep, px, svgOpen, textWidth, tickLabel, ticksBetween } from "./svg-common.js";

/** A horizontal line to read a curve against, e.g. a loss's value at chance. */
export interface ReferenceLine {
  /** Where the line is drawn, on the loss's own scale. */
  value: number;
  /** Its legend entry, e.g. "chance: log(2N − 1) = 5.541". */
  label: string;
}

/** Options of `lossCurveSvg`. */
export interface LossCurveOptions {
  /** The plot's title (default "training loss"). */
  title?: string;
  /** Steps per epoch: draws the per-epoch mean and puts the x axis in epochs (0 or absent: in steps). */
  stepsPerEpoch?: number;
  /** Width in pixels (default 720). */
  width?: number;
  /** Height in pixels (default 360). */
  height?: number;
  /** A dashed horizontal line with its own legend entry, e.g. the chance value of the loss. */
  reference?: ReferenceLine;
}

/**
 * The loss per step (thin line) with its per-epoch mean (thick), as a standalone SVG document:
 * x axis in epochs (ticks at epoch boundaries) or steps, y axis "loss", an optional dashed
 * reference line (the loss of a model that has learned nothing, `chanceLine` in src/report/chance.ts),
 * and a legend naming each line.
 *
 *   step s (1 … T) is drawn at x = s / T of the plot's width, so epoch e ends at x = e·S / T
 *   (S steps per epoch), where its tick and its mean's point are.
 *   y spans [min, max] of the finite losses and the reference value, 5% of that span to spare on
 *   each side (a flat curve: ±max(0.5, 5% of its value)): y = top + (1 − (v − low) / (high − low))·height.
 *
 * Every element a reader (or a spec) looks for carries a class: "loss-per-step", "epoch-mean",
 * "reference", "epoch-tick", "legend-entry", "axis-label".
 * matplotlib: `plt.plot(loss); plt.axhline(math.log(2 * N - 1), ls="--"); plt.legend()`.
 */
export function lossCurveSvg(lossPerStep: readonly number[], options: LossCurveOptions = {}): string {
  checkOptions("lossCurveSvg", options, { title: true, stepsPerEpoch: true, width: true, height: true, reference: true });
  const width = options.width ?? 720;
  const height = options.height ?? 360;
  const margin = { left: 64, right: 20, top: 56, bottom: 48 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const reference = options.reference;
  if (reference !== undefined && !Number.isFinite(reference.value)) {
    throw new Error(`lossCurveSvg: the reference line's value must be finite, got ${reference.value}`);
  }
  const values = lossPerStep.filter(Number.isFinite);
  if (reference !== undefined) values.push(reference.value);
  // y spans the data and the reference line, with 5% to spare above and below.
  const dataLow = values.length ? Math.min(...values) : 0;
  const dataHigh = values.length ? Math.max(...values) : 1;
  // A flat curve (or one flatter than its values' precision) gets a span of its own.
  const flat = !(dataHigh - dataLow > 1e-9 * Math.max(1, Math.abs(dataHigh)));
  const pad = flat ? Math.max(0.5, 0.05 * Math.abs(dataHigh)) : 0.05 * (dataHigh - dataLow);
  const low = dataLow - pad;
  const high = dataHigh + pad;
  const span = high - low;
  const steps = lossPerStep.length;
  const x = (t: number) => margin.left + (steps === 0 ? 0 : (t / steps) * plotWidth); // t = steps done
  const y = (v: number) => margin.top + (1 - (v - low) / span) * plotHeight;
  const path = lossPerStep.map((v, i) => `${i === 0 ? "M" : "L"}${px(x(i + 1))},${px(y(v))}`).join("");

  const perEpoch = options.stepsPerEpoch ?? 0;
  const wholeEpochs = perEpoch > 0 ? Math.floor(steps / perEpoch) : 0;
  const epochMeans: string[] = [];
  for (let e = 1; e <= wholeEpochs; e++) {
    const mean = lossPerStep.slice((e - 1) * perEpoch, e * perEpoch).reduce((a, b) => a + b, 0) / perEpoch;
    epochMeans.push(`${e === 1 ? "M" : "L"}${px(x(e * perEpoch))},${px(y(mean))}`);
  }

  // y ticks at round values; x ticks at epoch boundaries (every k-th when there are many) or steps.
  const yStep = niceStep(span, 5);
  const yTicks = ticksBetween(low, high, yStep);
  const bottom = height - margin.bottom;
  const parts: string[] = [svgOpen(width, height)];
  parts.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="15">${escapeXml(options.title ?? "training loss")}</text>`);
  for (const t of yTicks) {
    const at = px(y(t));
    parts.push(
      `<line x1="${margin.left}" x2="${width - margin.right}" y1="${at}" y2="${at}" stroke="#eee"/>` +
        `<text x="${margin.left - 6}" y="${px(y(t) + 4)}" text-anchor="end">${tickLabel(t, yStep)}</text>`,
    );
  }
  let xLabel: string;
  if (wholeEpochs > 0) {
    const every = Math.max(1, Math.round(niceStep(wholeEpochs, 10)));
    for (let e = 0; e <= wholeEpochs; e++) {
      const at = px(x(e * perEpoch));
      const labelled = e % every === 0;
      parts.push(
        `<line class="epoch-tick" x1="${at}" x2="${at}" y1="${margin.top}" y2="${bottom + 5}" stroke="${e === 0 ? "none" : "#ddd"}"/>` +
          `<line x1="${at}" x2="${at}" y1="${bottom}" y2="${bottom + 5}" stroke="#333"/>` +
          (labelled ? `<text x="${at}" y="${bottom + 18}" text-anchor="middle">${e}</text>` : ""),
      );
    }
    xLabel = `epoch (${steps} steps, ${perEpoch} per epoch)`;
  } else {
    const xStep = Math.max(1, Math.round(niceStep(steps, 8)));
    for (let t = 0; t <= steps; t += xStep) {
      const at = px(x(t));
      parts.push(
        `<line x1="${at}" x2="${at}" y1="${bottom}" y2="${bottom + 5}" stroke="#333"/>` +
          `<text x="${at}" y="${bottom + 18}" text-anchor="middle">${t}</text>`,
      );
    }
    xLabel = `step (${steps} in all)`;
  }
  parts.push(
    `<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${bottom}" stroke="#333"/>`,
    `<line x1="${margin.left}" x2="${width - margin.right}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`,
    `<text class="axis-label" x="${margin.left + plotWidth / 2}" y="${height - 8}" text-anchor="middle">${xLabel}</text>`,
    `<text class="axis-label" x="16" y="${margin.top + plotHeight / 2}" text-anchor="middle" ` +
      `transform="rotate(-90 16 ${margin.top + plotHeight / 2})">loss</text>`,
  );
  if (reference !== undefined) {
    const at = px(y(reference.value));
    parts.push(
      `<line class="reference" x1="${margin.left}" x2="${width - margin.right}" y1="${at}" y2="${at}" ` +
        `stroke="#444" stroke-width="1.5" stroke-dasharray="6 4"/>`,
    );
  }
  parts.push(`<path class="loss-per-step" d="${path}" fill="none" stroke="#7aa6d6" stroke-width="1"/>`);
  if (epochMeans.length) {
    parts.push(`<path class="epoch-mean" d="${epochMeans.join("")}" fill="none" stroke="#d1495b" stroke-width="2.5"/>`);
  }

  // The legend: one row above the plot, one entry per line drawn.
  const entries: { label: string; stroke: string; strokeWidth: number; dash?: string }[] = [
    { label: "loss per step", stroke: "#7aa6d6", strokeWidth: 1 },
  ];
  if (epochMeans.length) entries.push({ label: "epoch mean", stroke: "#d1495b", strokeWidth: 2.5 });
  if (reference !== undefined) entries.push({ label: reference.label, stroke: "#444", strokeWidth: 1.5, dash: "6 4" });
  let legendX = margin.left;
  const legendY = 40;
  for (const entry of entries) {
    parts.push(
      `<g class="legend-entry"><line x1="${legendX}" x2="${legendX + 24}" y1="${legendY - 4}" y2="${
        legendY - 4
      }" stroke="${entry.stroke}" ` +
        `stroke-width="${entry.strokeWidth}"${entry.dash ? ` stroke-dasharray="${entry.dash}"` : ""}/>` +
        `<text x="${legendX + 30}" y="${legendY}">${escapeXml(entry.label)}</text></g>`,
    );
    legendX += 30 + textWidth(entry.label) + 12;
  }
  parts.push(`</svg>`);
  return parts.join("\n");
}

/** Diverging color for v in [−1, 1]: blue (−1) → white (0) → red (+1). */
function divergingColor(v: number): string {
  const t = Math.max(-1, Math.min(1, v));
  const channel = (a: number) => Math.round(255 - a * (255 - 40));
  if (t >= 0) return `rgb(255,${channel(t)},${channel(t)})`;
  return `rgb(${channel(-t)},${channel(-t)},255)`;
}

/** Options of `heatmapSvg`. */
export interface HeatmapOptions {
  /** The plot's title (default "similarity matrix"). */
  title?: string;
  /** Side of a cell in pixels (default: the matrix fills about 480 px). */
  cell?: number;
  /**
   * A label per row (e.g. each image's digit). Rows with the same label should be adjacent: each
   * run of equal labels is one block, named once at its middle, with a separator line between blocks.
   */
  rowLabels?: ArrayLike<number | string>;
  /** A label per column, as rowLabels. */
  colLabels?: ArrayLike<number | string>;
  /** What the rows are (a caption along the left edge, e.g. "view 1 of test image i"). */
  rowTitle?: string;
  /** What the columns are (a caption above the matrix). */
  colTitle?: string;
}

/** The runs of equal labels: [start, end) of each block and its label. */
function labelBlocks(labels: ArrayLike<number | string>): { start: number; end: number; label: string }[] {
  const blocks: { start: number; end: number; label: string }[] = [];
  for (let i = 0; i < labels.length; i++) {
    const label = String(labels[i]);
    if (blocks.length && blocks[blocks.length - 1].label === label) blocks[blocks.length - 1].end = i + 1;
    else blocks.push({ start: i, end: i + 1, label });
  }
  return blocks;
}

/**
 * A matrix as a grid of coloured cells, as a standalone SVG document: the diverging scale of
 * `divergingColor` fixed to [−1, 1] (a cosine similarity matrix compares across runs), its colour
 * key on the right, and, with `rowLabels` / `colLabels`, the blocks of equal labels named and
 * separated by lines (class "separator"; block names class "block-label").
 *
 *   values: (rows, cols) row-major; entry (i, j) is the cell in row i, column j.
 *
 * A good contrastive model's similarity matrix of images ordered by digit shows a bright
 * diagonal (each image against its own other view) inside brighter blocks (same digit).
 * matplotlib: `plt.imshow(S, cmap="bwr", vmin=-1, vmax=1); plt.colorbar()`.
 */
export function heatmapSvg(values: ArrayLike<number>, rows: number, cols: number, options: HeatmapOptions = {}): string {
  checkOptions("heatmapSvg", options, { title: true, cell: true, rowLabels: true, colLabels: true, rowTitle: true, colTitle: true });
  if (values.length !== rows * cols) throw new Error(`heatmapSvg: ${values.length} values do not form a ${rows}×${cols} matrix`);
  for (const [name, labels, count] of [["rowLabels", options.rowLabels, rows], ["colLabels", options.colLabels, cols]] as const) {
    if (labels !== undefined && labels.length !== count) {
      throw new Error(`heatmapSvg: ${name} has ${labels.length} labels for ${count} ${name === "rowLabels" ? "rows" : "columns"}`);
    }
  }
  const cell = options.cell ?? Math.max(2, Math.floor(480 / Math.max(rows, cols)));
  const rowBlocks = options.rowLabels ? labelBlocks(options.rowLabels) : [];
  const colBlocks = options.colLabels ? labelBlocks(options.colLabels) : [];
  const rowLabelWidth = rowBlocks.length ? Math.max(...rowBlocks.map((b) => textWidth(b.label))) + 10 : 0;
  const left = 20 + (options.rowTitle ? 18 : 0) + rowLabelWidth;
  const top = 36 + (options.colTitle ? 18 : 0) + (colBlocks.length ? 18 : 0);
  const title = options.title ?? "similarity matrix";
  const right = left + cols * cell;
  const bottom = top + rows * cell;
  const width = Math.max(right + 90, 20 + textWidth(title, 15), left + textWidth(options.colTitle ?? ""));
  const height = bottom + 20;
  const parts: string[] = [svgOpen(width, height), `<text x="20" y="22" font-size="15">${escapeXml(title)}</text>`];
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      parts.push(
        `<rect x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="${
          divergingColor(values[i * cols + j])
        }"/>`,
      );
    }
  }
  // Block separators (between two runs of labels) and the block names.
  for (const block of rowBlocks) {
    if (block.start > 0) {
      parts.push(
        `<line class="separator" x1="${left}" x2="${right}" y1="${top + block.start * cell}" y2="${
          top + block.start * cell
        }" stroke="#222"/>`,
      );
    }
    parts.push(
      `<text class="block-label" x="${left - 5}" y="${px(top + ((block.start + block.end) / 2) * cell + 4)}" text-anchor="end">${
        escapeXml(block.label)
      }</text>`,
    );
  }
  for (const block of colBlocks) {
    if (block.start > 0) {
      parts.push(
        `<line class="separator" x1="${left + block.start * cell}" x2="${
          left + block.start * cell
        }" y1="${top}" y2="${bottom}" stroke="#222"/>`,
      );
    }
    parts.push(
      `<text class="block-label" x="${px(left + ((block.start + block.end) / 2) * cell)}" y="${top - 5}" text-anchor="middle">${
        escapeXml(block.label)
      }</text>`,
    );
  }
  if (options.colTitle) {
    parts.push(`<text class="axis-label" x="${left}" y="${top - (colBlocks.length ? 22 : 5)}">${escapeXml(options.colTitle)}</text>`);
  }
  if (options.rowTitle) {
    const middle = (top + bottom) / 2;
    parts.push(
      `<text class="axis-label" x="24" y="${middle}" text-anchor="middle" transform="rotate(-90 24 ${middle})">${
        escapeXml(options.rowTitle)
      }</text>`,
    );
  }
  const legendX = right + 20;
  parts.push(`<text x="${legendX}" y="${top - 5}">cosine</text>`);
  for (const [k, v] of [-1, -0.5, 0, 0.5, 1].entries()) {
    parts.push(
      `<rect x="${legendX}" y="${top + k * 24}" width="16" height="16" fill="${divergingColor(v)}" stroke="#999"/><text x="${
        legendX + 22
      }" y="${top + k * 24 + 12}">${v < 0 ? `−${-v}` : v}</text>`, // a minus sign (U+2212), not a hyphen
    );
  }
  parts.push(`</svg>`);
  return parts.join("\n");
}
