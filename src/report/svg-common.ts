/**
 * What every picture of this folder shares: escaping text for XML, numbers for tick labels, the
 * opening of a standalone SVG document, "nice" tick positions, and the ten digit colours.
 * Internal to src/report (not exported from the package).
 *
 * @module
 */

/** Text escaped for XML character data and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!);
}

/** A coordinate with one decimal (enough at screen resolution, and short files). */
export function px(value: number): string {
  return value.toFixed(1);
}

/** The opening tag of a standalone SVG document of the given size, and a white background. */
export function svgOpen(width: number, height: number): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="sans-serif" font-size="12">\n<rect width="100%" height="100%" fill="white"/>`
  );
}

/**
 * The smallest step of the form {1, 2, 5}·10^k that puts at most `maxTicks` ticks on a span
 * (the tick rule of most plotting libraries: round labels, never crowded).
 */
export function niceStep(span: number, maxTicks: number): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const rough = span / Math.max(1, maxTicks);
  const power = 10 ** Math.floor(Math.log10(rough));
  for (const factor of [1, 2, 5, 10]) if (factor * power >= rough) return factor * power > 0 ? factor * power : span;
  return 10 * power;
}

/**
 * The ten digit colours: matplotlib's "tab10" palette (the default colour cycle of matplotlib and
 * of most MNIST scatter plots), so a reader's own plots use the same colour for the same digit.
 */
export const DIGIT_COLORS: readonly string[] = [
  "#1f77b4", // 0 blue
  "#ff7f0e", // 1 orange
  "#2ca02c", // 2 green
  "#d62728", // 3 red
  "#9467bd", // 4 purple
  "#8c564b", // 5 brown
  "#e377c2", // 6 pink
  "#7f7f7f", // 7 gray
  "#bcbd22", // 8 olive
  "#17becf", // 9 cyan
];

/** The colour of class `label` (the palette repeats past ten classes). */
export function classColor(label: number): string {
  return DIGIT_COLORS[((label % DIGIT_COLORS.length) + DIGIT_COLORS.length) % DIGIT_COLORS.length];
}

/** An approximate text width in pixels for a sans-serif font of `size` (for layout only). */
export function textWidth(text: string, size = 12): number {
  return Math.ceil([...text].length * size * 0.55);
}

/** A tick label for a multiple of `step`: as many decimals as the step needs, and a real minus sign. */
export function tickLabel(value: number, step: number): string {
  const shown = Math.abs(value) < step / 1e6 ? 0 : value; // −1e-17 from summing steps is 0
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  // Exponent notation where fixed notation would be long: tiny steps or huge values.
  const text = decimals > 6 || Math.abs(shown) >= 1e6 ? shown.toPrecision(3) : shown.toFixed(decimals);
  return text.startsWith("-") ? `−${text.slice(1)}` : text;
}

/**
 * The multiples of `step` in [low, high], at most `limit` of them (a span too small for the
 * values' precision, where low + step rounds back to low, still ends).
 */
export function ticksBetween(low: number, high: number, step: number, limit = 50): number[] {
  const ticks: number[] = [];
  const first = Math.ceil(low / step - 1e-9);
  for (let i = first; ticks.length < limit; i++) {
    const t = i * step;
    if (t > high + 1e-9 * Math.abs(step)) break;
    if (ticks.length && t === ticks[ticks.length - 1]) break;
    ticks.push(t);
  }
  return ticks;
}
