/**
 * The progress lines, on stderr:
 *  - training: epoch, a bar, loss, learning rate, temperature or logit scale, samples per second
 *    and the time left;
 *  - evaluation (and the demo's baselines): the stage (features, kNN, linear probe), a bar, what
 *    the stage is doing (the λ being fitted, the L-BFGS iteration) and the seconds it has taken.
 * On a terminal each redraws one line; elsewhere (a log file, CI, a spec) training prints one line
 * per epoch and evaluation one line per finished stage.
 *
 * @module
 */
import type { Progress } from "../methods/trainer.js";
import type { EvaluationProgress, EvaluationProgressFn } from "../eval/progress.js";

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m${String(rest).padStart(2, "0")}s` : `${rest}s`;
}

/** The training line of one step. */
export function progressLine(name: string, p: Progress, width = 20): string {
  const filled = Math.round((p.stepInEpoch / Math.max(1, p.stepsPerEpoch)) * width);
  const bar = "█".repeat(filled) + "░".repeat(width - filled);
  const extra = p.extra ? `  ${p.extra.label} ${p.extra.value.toPrecision(4)}` : "";
  return (
    `[${name}] epoch ${p.epoch}/${p.epochs} ${bar} ${p.stepInEpoch}/${p.stepsPerEpoch}` +
    `  loss ${p.loss.toFixed(4)}  lr ${p.lr.toExponential(2)}${extra}` +
    `  ${Math.round(p.samplesPerSecond)} img/s  ETA ${formatDuration(p.etaSeconds)}`
  );
}

/** A training `onProgress` that writes `progressLine`s to `stream` (see the file header). */
export function progressReporter(name: string, stream: NodeJS.WriteStream = process.stderr): (p: Progress) => void {
  const interactive = Boolean(stream.isTTY);
  return (p) => {
    const line = progressLine(name, p);
    if (interactive) stream.write(`\r\x1b[2K${line}${p.stepInEpoch === p.stepsPerEpoch ? "\n" : ""}`);
    else if (p.stepInEpoch === p.stepsPerEpoch) stream.write(`${line}\n`);
  };
}

/** The evaluation line: `[name] eval: stage ███░░ done/total  detail  seconds`. */
export function evaluationProgressLine(name: string, p: EvaluationProgress, seconds: number, width = 20): string {
  const filled = Math.round((Math.min(p.done, p.total) / Math.max(1, p.total)) * width);
  const bar = "█".repeat(filled) + "░".repeat(width - filled);
  const detail = p.detail ? `  ${p.detail}` : "";
  return `[${name}] eval: ${p.stage} ${bar} ${p.done}/${p.total}${detail}  ${formatDuration(seconds)}`;
}

/**
 * An evaluation `onProgress` that writes `evaluationProgressLine`s to `stream`: on a terminal a
 * line redrawn at most every `intervalMs` (and at the end of each stage, which then keeps its
 * line), elsewhere one line per finished stage. `now` is the clock (milliseconds), for the specs.
 */
export function evaluationReporter(
  name: string,
  stream: NodeJS.WriteStream = process.stderr,
  options: { intervalMs?: number; now?: () => number } = {},
): EvaluationProgressFn {
  const interactive = Boolean(stream.isTTY);
  const now = options.now ?? (() => performance.now());
  const intervalMs = options.intervalMs ?? 100;
  let stage: string | null = null;
  let stageStarted = 0;
  let lastDrawn = -Infinity;
  return (p) => {
    const time = now();
    if (p.stage !== stage) [stage, stageStarted] = [p.stage, time];
    const finished = p.done >= p.total;
    const line = evaluationProgressLine(name, p, (time - stageStarted) / 1000);
    if (interactive) {
      if (!finished && time - lastDrawn < intervalMs) return;
      lastDrawn = time;
      stream.write(`\r\x1b[2K${line}${finished ? "\n" : ""}`);
    } else if (finished) stream.write(`${line}\n`);
    if (finished) stage = null; // the next report starts a new stage (and its clock), even if it has the same name
  };
}
