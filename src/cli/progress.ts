/**
 * The training progress line: epoch, a bar, loss, learning rate, temperature or logit scale,
 * samples per second and the time left. On a terminal it redraws one line; elsewhere (a log file,
 * CI, a spec) it prints one line per epoch.
 *
 * @module
 */
import type { Progress } from "../methods/trainer.js";

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m${String(rest).padStart(2, "0")}s` : `${rest}s`;
}

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

export function progressReporter(name: string, stream: NodeJS.WriteStream = process.stderr): (p: Progress) => void {
  const interactive = Boolean(stream.isTTY);
  return (p) => {
    const line = progressLine(name, p);
    if (interactive) stream.write(`\r\x1b[2K${line}${p.stepInEpoch === p.stepsPerEpoch ? "\n" : ""}`);
    else if (p.stepInEpoch === p.stepsPerEpoch) stream.write(`${line}\n`);
  };
}
