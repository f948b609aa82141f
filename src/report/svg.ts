/**
 * Two plots people would rather look at than read, as standalone SVG (no dependencies):
 *   lossCurveSvg      the loss per step (thin) with its per-epoch mean (thick)
 *   heatmapSvg        a square matrix, e.g. a batch's cosine similarity matrix, in a diverging
 *                     blue–white–red scale fixed to [−1, 1] so that plots compare across runs
 *
 * @module
 */
import { checkOptions } from "../tensor/options.js";

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!);
}

function niceNumber(value: number): string {
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  return magnitude >= 100 || magnitude < 0.01 ? value.toExponential(1) : value.toFixed(magnitude < 1 ? 3 : 2);
}

/**
 * An SVG line plot of the loss per step (thin), with its per-epoch mean (thick) when `stepsPerEpoch` is given; default 720×360.
 * @returns the SVG document as a string.
 */
export function lossCurveSvg(
  lossPerStep: readonly number[],
  options: { title?: string; stepsPerEpoch?: number; width?: number; height?: number } = {},
): string {
  checkOptions("lossCurveSvg", options, { title: true, stepsPerEpoch: true, width: true, height: true });
  const width = options.width ?? 720;
  const height = options.height ?? 360;
  const margin = { left: 64, right: 20, top: 36, bottom: 44 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const values = lossPerStep.filter(Number.isFinite);
  const low = values.length ? Math.min(...values) : 0;
  const high = values.length ? Math.max(...values) : 1;
  const span = high - low || 1;
  const x = (i: number) => margin.left + (lossPerStep.length <= 1 ? 0 : (i / (lossPerStep.length - 1)) * plotWidth);
  const y = (v: number) => margin.top + (1 - (v - low) / span) * plotHeight;
  const path = lossPerStep.map((v, i) => `${i === 0 ? "M" : "L"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join("");
  let epochPath = "";
  const perEpoch = options.stepsPerEpoch ?? 0;
  if (perEpoch > 0) {
    const points: string[] = [];
    for (let start = 0; start + perEpoch <= lossPerStep.length; start += perEpoch) {
      const mean = lossPerStep.slice(start, start + perEpoch).reduce((a, b) => a + b, 0) / perEpoch;
      points.push(`${points.length === 0 ? "M" : "L"}${x(start + perEpoch - 1).toFixed(1)},${y(mean).toFixed(1)}`);
    }
    epochPath = points.join("");
  }
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => low + f * span);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(options.title ?? "training loss")}</text>`,
    ...ticks.map((t) =>
      `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#eee"/><text x="${
        margin.left - 6
      }" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${niceNumber(t)}</text>`
    ),
    `<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${height - margin.bottom}" stroke="#333"/>`,
    `<line x1="${margin.left}" x2="${width - margin.right}" y1="${height - margin.bottom}" y2="${height - margin.bottom}" stroke="#333"/>`,
    `<text x="${width / 2}" y="${height - 10}" text-anchor="middle">step (${lossPerStep.length} in all)</text>`,
    `<path d="${path}" fill="none" stroke="#7aa6d6" stroke-width="1"/>`,
    epochPath
      ? `<path d="${epochPath}" fill="none" stroke="#d1495b" stroke-width="2.5"/><text x="${width - margin.right}" y="${
        margin.top - 6
      }" text-anchor="end" fill="#d1495b">epoch mean</text>`
      : "",
    `</svg>`,
  ].join("\n");
}

/** Diverging color for v in [−1, 1]: blue (−1) → white (0) → red (+1). */
function divergingColor(v: number): string {
  const t = Math.max(-1, Math.min(1, v));
  const channel = (a: number) => Math.round(255 - a * (255 - 40));
  if (t >= 0) return `rgb(255,${channel(t)},${channel(t)})`;
  return `rgb(${channel(-t)},${channel(-t)},255)`;
}

/**
 * An SVG heatmap of a `rows × cols` matrix (row-major `values`), blue −1 / white 0 / red +1, e.g. a batch's cosine similarity matrix.
 * @returns the SVG document as a string.
 */
export function heatmapSvg(values: ArrayLike<number>, rows: number, cols: number, options: { title?: string; cell?: number } = {}): string {
  checkOptions("heatmapSvg", options, { title: true, cell: true });
  if (values.length !== rows * cols) throw new Error(`heatmapSvg: ${values.length} values do not form a ${rows}×${cols} matrix`);
  const cell = options.cell ?? Math.max(2, Math.floor(480 / Math.max(rows, cols)));
  const left = 20;
  const top = 36;
  const title = options.title ?? "similarity matrix";
  const width = Math.max(left + cols * cell + 90, Math.ceil(left + title.length * 8));
  const height = top + rows * cell + 20;
  const cells: string[] = [];
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      cells.push(
        `<rect x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="${
          divergingColor(values[i * cols + j])
        }"/>`,
      );
    }
  }
  const legendX = left + cols * cell + 20;
  const legend = [-1, -0.5, 0, 0.5, 1].map((v, k) =>
    `<rect x="${legendX}" y="${top + k * 24}" width="16" height="16" fill="${divergingColor(v)}" stroke="#999"/><text x="${
      legendX + 22
    }" y="${top + k * 24 + 12}">${v}</text>`
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="22" font-size="15">${escapeXml(title)}</text>`,
    ...cells,
    ...legend,
    `</svg>`,
  ].join("\n");
}
