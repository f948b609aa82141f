/**
 * Options objects: the one check every public function and constructor runs on its `options`
 * argument before it reads anything else.
 *
 *   infoNCE(q, k, null, { temprature: 0.1 })
 *     → infoNCE: unknown option 'temprature' (did you mean 'temperature'? valid: temperature, reduction, metric)
 *
 * PyTorch raises a TypeError for an unexpected keyword argument; a JavaScript options object
 * would silently ignore it (and train with the default τ), so each key is checked here.
 * `undefined` means "use the default"; `null` is refused unless the key is declared nullable
 * (e.g. `stride: null` in the pooling ops, which torch also accepts), because `null` where a
 * number is expected is a mistake, not a request for the default.
 *
 * The valid keys are given as an object with one entry per key of the options type, so the
 * compiler checks that the list is complete and has no typo: `{ temperature: true, … }`.
 *
 * @module
 */

/** One entry per option key: `true`, or `"nullable"` when `null` is a meaningful value. */
export type OptionKeys<O> = { readonly [K in keyof Required<O>]-?: true | "nullable" };

/**
 * Check `options` (undefined allowed: every option takes its default) against `keys`, naming
 * `fn` in every error; returns the options object ({} when undefined).
 */
export function checkOptions<O extends object>(fn: string, options: O | undefined, keys: OptionKeys<O>): O {
  if (options === undefined) return {} as O;
  const valid = Object.keys(keys);
  const nullable = valid.filter((key) => (keys as Record<string, true | "nullable">)[key] === "nullable");
  checkOptionKeys(fn, options, valid, nullable);
  return options;
}

/**
 * The same check with the keys as a list (for the optimizers, whose keys are known at run time).
 * Throws for a non-object, an unknown key (suggesting the closest valid one) or a null value.
 */
export function checkOptionKeys(fn: string, options: unknown, valid: readonly string[], nullable: readonly string[] = []): void {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    const shown = options === null ? "null" : Array.isArray(options) ? "an array" : typeof options;
    throw new Error(`${fn}: options must be an object, got ${shown}`);
  }
  for (const [key, value] of Object.entries(options)) {
    if (!valid.includes(key)) {
      const closest = closestKey(key, valid);
      const hint = closest === null ? "" : `did you mean '${closest}'? `;
      const list = valid.length === 0 ? "it takes no options" : `valid: ${valid.join(", ")}`;
      throw new Error(`${fn}: unknown option '${key}' (${hint}${list})`);
    }
    if (value === null && !nullable.includes(key)) {
      throw new Error(`${fn}: option '${key}' is null; leave it out (or undefined) for the default`);
    }
  }
}

/** The valid key within edit distance 2 of `key` (case-insensitive), the closest first; or null. */
export function closestKey(key: string, valid: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of valid) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance, with a swap of two adjacent letters counting as one edit ("temprature"). */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1, cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const substitution = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + substitution);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
