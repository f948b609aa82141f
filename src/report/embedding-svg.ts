/**
 * Two pictures of what an encoder learned, as standalone SVG documents:
 *   pcaScatterSvg      the test embeddings projected on their first two principal components
 *                      (./pca.ts), one dot per image coloured by digit, with a legend
 *   neighbourGridSvg   query images and their nearest neighbours in embedding space
 *                      (./neighbours.ts), each neighbour framed green (same digit) or red (another)
 * The pixels of the grid come in as image URLs (the CLI passes PNG data URLs made by
 * src/data/png.ts), so this file needs no image encoder and the SVG opens anywhere by itself.
 *
 * @module
 */
import { checkOptions } from "../tensor/options.js";
import { classColor, escapeXml, niceStep, px, svgOpen, textWidth, tickLabel, ticksBetween } from "./svg-common.js";

/** Options of `pcaScatterSvg`. */
export interface ScatterOptions {
  /** The plot's title (default "embeddings, first two principal components"). */
  title?: string;
  /** The x axis caption (default "PC 1"). */
  xLabel?: string;
  /** The y axis caption (default "PC 2"). */
  yLabel?: string;
  /** Number of classes C in the legend (default 1 + the largest label). */
  numClasses?: number;
  /** Legend text of class c (default "digit c"). */
  className?: (label: number) => string;
}

/**
 * A scatter plot of n points (x_i, y_i) coloured by class, with equal scales on both axes (a
 * distance on the page is a distance in the projection), one legend entry per class (with its
 * count), and each class's name at the median of its points.
 *
 *   points: (n, 2) row-major, e.g. `principalComponents(features, n, D).coordinates`
 *   labels: (n,) whole numbers 0 … C − 1
 *
 * Points are drawn in a fixed shuffled order so that no class is always painted over the others.
 * Classes: circles class "point" (fill = the class's colour), "legend-entry", "class-label".
 * matplotlib: `plt.scatter(y[:, 0], y[:, 1], c=labels, cmap="tab10", s=4); plt.legend(); plt.axis("equal")`.
 */
export function pcaScatterSvg(points: ArrayLike<number>, labels: ArrayLike<number>, options: ScatterOptions = {}): string {
  checkOptions("pcaScatterSvg", options, { title: true, xLabel: true, yLabel: true, numClasses: true, className: true });
  const n = labels.length;
  if (points.length !== 2 * n) throw new Error(`pcaScatterSvg: ${points.length} coordinates for ${n} labels (expected ${2 * n})`);
  let largestLabel = -1;
  for (let i = 0; i < n; i++) {
    const label = labels[i];
    if (!(Number.isInteger(label) && label >= 0)) throw new Error(`pcaScatterSvg: label ${i} is ${label}, not a whole number ≥ 0`);
    if (!Number.isFinite(points[2 * i]) || !Number.isFinite(points[2 * i + 1])) {
      throw new Error(`pcaScatterSvg: point ${i} is (${points[2 * i]}, ${points[2 * i + 1]})`);
    }
    largestLabel = Math.max(largestLabel, label);
  }
  const classes = options.numClasses ?? largestLabel + 1;
  if (!(Number.isInteger(classes) && classes > largestLabel)) {
    throw new Error(`pcaScatterSvg: numClasses ${classes} does not cover the largest label ${largestLabel}`);
  }
  const className = options.className ?? ((label: number) => `digit ${label}`);

  const side = 464; // the square plot area
  const margin = { left: 64, top: 44, bottom: 52 };
  const legendX = margin.left + side + 24;
  const names = Array.from({ length: classes }, (_, c) => className(c));
  const width = legendX + 36 + Math.max(60, ...names.map((name) => textWidth(`${name} (00000)`)));
  const height = margin.top + side + margin.bottom;
  // Equal scales: the larger span fills the square (with 4% padding), the other is centered.
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    minX = Math.min(minX, points[2 * i]), maxX = Math.max(maxX, points[2 * i]);
    minY = Math.min(minY, points[2 * i + 1]), maxY = Math.max(maxY, points[2 * i + 1]);
  }
  if (n === 0) minX = minY = -1, maxX = maxY = 1;
  const span = Math.max(maxX - minX, maxY - minY) * 1.08 || 1;
  const centerX = (minX + maxX) / 2;
  const centerY = (minY + maxY) / 2;
  const sx = (v: number) => margin.left + ((v - centerX) / span + 0.5) * side;
  const sy = (v: number) => margin.top + (0.5 - (v - centerY) / span) * side; // up is positive

  const parts: string[] = [svgOpen(width, height)];
  parts.push(
    `<text x="${margin.left}" y="22" font-size="15">${escapeXml(options.title ?? "embeddings, first two principal components")}</text>`,
  );
  // Ticks at round values on both axes (the same step: the scales are equal).
  const step = niceStep(span, 6);
  const bottom = margin.top + side;
  for (const t of ticksBetween(centerX - span / 2, centerX + span / 2, step)) {
    const at = px(sx(t));
    parts.push(
      `<line x1="${at}" x2="${at}" y1="${margin.top}" y2="${bottom}" stroke="#eee"/>` +
        `<text x="${at}" y="${bottom + 16}" text-anchor="middle">${tickLabel(t, step)}</text>`,
    );
  }
  for (const t of ticksBetween(centerY - span / 2, centerY + span / 2, step)) {
    const at = px(sy(t));
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + side}" y1="${at}" y2="${at}" stroke="#eee"/>` +
        `<text x="${margin.left - 6}" y="${px(sy(t) + 4)}" text-anchor="end">${tickLabel(t, step)}</text>`,
    );
  }
  parts.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${side}" height="${side}" fill="none" stroke="#333"/>`,
    `<text class="axis-label" x="${margin.left + side / 2}" y="${height - 12}" text-anchor="middle">${
      escapeXml(options.xLabel ?? "PC 1")
    }</text>`,
    `<text class="axis-label" x="16" y="${margin.top + side / 2}" text-anchor="middle" transform="rotate(-90 16 ${
      margin.top + side / 2
    })">${escapeXml(options.yLabel ?? "PC 2")}</text>`,
  );
  // The points, in a fixed pseudo-random order (multiplicative hashing of the index).
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (Math.imul(a, 2654435761) >>> 0) - (Math.imul(b, 2654435761) >>> 0));
  for (const i of order) {
    parts.push(
      `<circle class="point" cx="${px(sx(points[2 * i]))}" cy="${px(sy(points[2 * i + 1]))}" r="2.2" fill="${
        classColor(labels[i])
      }" fill-opacity="0.75"/>`,
    );
  }
  // Each class's name at the median of its points, with a white halo to read over the dots.
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const counts = new Array<number>(classes).fill(0);
  for (let c = 0; c < classes; c++) {
    const xs: number[] = [];
    const ys: number[] = [];
    for (let i = 0; i < n; i++) {
      if (labels[i] !== c) continue;
      xs.push(points[2 * i]);
      ys.push(points[2 * i + 1]);
    }
    counts[c] = xs.length;
    if (xs.length === 0) continue;
    parts.push(
      `<text class="class-label" x="${px(sx(median(xs)))}" y="${px(sy(median(ys)) + 6)}" text-anchor="middle" font-size="18" ` +
        `font-weight="bold" fill="${classColor(c)}" stroke="white" stroke-width="3" paint-order="stroke">${c}</text>`,
    );
  }
  for (let c = 0; c < classes; c++) {
    const y = margin.top + 10 + c * 22;
    parts.push(
      `<g class="legend-entry"><circle cx="${legendX + 6}" cy="${y - 4}" r="5" fill="${classColor(c)}"/>` +
        `<text x="${legendX + 18}" y="${y}">${escapeXml(`${names[c]} (${counts[c]})`)}</text></g>`,
    );
  }
  parts.push(`</svg>`);
  return parts.join("\n");
}

/** One image of the nearest-neighbour grid. */
export interface GridImage {
  /** Its class (digit). */
  label: number;
  /** Its pixels as an image URL, e.g. `data:image/png;base64,…` of a 28×28 PNG. */
  href: string;
}

/** One row of the nearest-neighbour grid: a query and its neighbours, nearest first. */
export interface NeighbourRow {
  /** The query image (drawn in the first column). */
  query: GridImage;
  /** Its neighbours, nearest first, each with its cosine similarity to the query. */
  neighbours: (GridImage & { similarity: number })[];
}

/** Options of `neighbourGridSvg`. */
export interface NeighbourGridOptions {
  /** The picture's title (default "nearest neighbours in embedding space"). */
  title?: string;
  /** Side of an image tile in pixels (default 56: a 28×28 digit at 2×). */
  tile?: number;
  /** What the neighbours are drawn from (default "training images"). */
  poolName?: string;
}

/**
 * A grid with one row per query: the query image, then its neighbours nearest first, each framed
 * green when it has the query's label and red otherwise, with its label and cosine similarity
 * underneath; a last line counts the neighbours that share their query's label.
 * Classes: "query", "neighbour" (with data-label, data-similarity), "frame-same", "frame-other", "summary".
 */
export function neighbourGridSvg(rows: readonly NeighbourRow[], options: NeighbourGridOptions = {}): string {
  checkOptions("neighbourGridSvg", options, { title: true, tile: true, poolName: true });
  const tile = options.tile ?? 56;
  if (!(tile > 0)) throw new Error(`neighbourGridSvg: tile must be positive, got ${tile}`);
  const k = rows.length ? rows[0].neighbours.length : 0;
  rows.forEach((row, r) => {
    if (row.neighbours.length !== k) throw new Error(`neighbourGridSvg: row ${r} has ${row.neighbours.length} neighbours, row 0 has ${k}`);
  });
  const gap = 8;
  const left = 16;
  const top = 58;
  const rowHeight = tile + 22;
  const neighboursX = left + tile + 28; // a wider gap after the query column
  const width = Math.max(neighboursX + k * (tile + gap) + 8, 360);
  const height = top + rows.length * rowHeight + 30;
  const image = (href: string, x: number, y: number) =>
    `<image href="${escapeXml(href)}" x="${x}" y="${y}" width="${tile}" height="${tile}" image-rendering="optimizeSpeed" ` +
    `style="image-rendering:pixelated"/>`;
  const parts: string[] = [svgOpen(width, height)];
  parts.push(
    `<text x="${left}" y="22" font-size="15">${escapeXml(options.title ?? "nearest neighbours in embedding space")}</text>`,
    `<text x="${left}" y="${top - 10}" font-size="11">query</text>`,
    `<text x="${neighboursX}" y="${top - 10}" font-size="11">${
      escapeXml(`its ${k} nearest ${options.poolName ?? "training images"}, nearest first (digit · cosine)`)
    }</text>`,
  );
  let same = 0;
  rows.forEach((row, r) => {
    const y = top + r * rowHeight;
    parts.push(
      `<g class="query" data-label="${row.query.label}">${image(row.query.href, left, y)}` +
        `<text x="${left + tile / 2}" y="${y + tile + 14}" text-anchor="middle" font-size="11">digit ${row.query.label}</text></g>`,
    );
    row.neighbours.forEach((neighbour, j) => {
      const x = neighboursX + j * (tile + gap);
      const matches = neighbour.label === row.query.label;
      if (matches) same++;
      const color = matches ? "#2ca02c" : "#d62728";
      parts.push(
        `<g class="neighbour" data-label="${neighbour.label}" data-similarity="${neighbour.similarity}">${image(neighbour.href, x, y)}` +
          `<rect class="${matches ? "frame-same" : "frame-other"}" x="${x - 1}" y="${y - 1}" width="${tile + 2}" height="${tile + 2}" ` +
          `fill="none" stroke="${color}" stroke-width="2"/>` +
          `<text x="${x + tile / 2}" y="${y + tile + 14}" text-anchor="middle" font-size="10" fill="${
            matches ? "#333" : color
          }">${neighbour.label} · ${neighbour.similarity.toFixed(2)}</text></g>`,
      );
    });
  });
  const total = rows.length * k;
  parts.push(
    `<text class="summary" x="${left}" y="${
      height - 10
    }">${same} of ${total} neighbours have their query's digit (green frame; red: another digit)</text>`,
    `</svg>`,
  );
  return parts.join("\n");
}
