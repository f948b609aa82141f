/**
 * `log.jsonl`: the per-step training log beside metrics.json in a run directory. One JSON object
 * per line, one line per optimizer step, in step order (JSON Lines: what pandas `read_json(lines=True)`,
 * jq, DuckDB and the TensorBoard converters read):
 *
 *   {"step":1,"epoch":1,"loss":5.4171,"lr":0,"temperature":0.5,"samplesPerSecond":812.4,"wallSeconds":0.31}
 *
 *   step              optimizer steps done in the run, this one included (1, 2, …)
 *   epoch             the epoch the step belongs to (from 1)
 *   loss, lr          the step's loss and the learning rate it used
 *   temperature       SimCLR, MoCo: τ           logitScale   CLIP: exp(learned log-scale)
 *   emaMomentum       BYOL: the target's EMA momentum τ_ema
 *   gradNorm          ‖g‖₂ before clipping, only with --grad-clip-norm
 *   samplesPerSecond, wallSeconds   timing (wall-clock seconds of training so far, over all sessions)
 *
 * Append-safe across --resume. A checkpoint is written at the end of each epoch, after that
 * epoch's lines, so the log always reaches at least the checkpoint's step; after a crash (Ctrl-C,
 * kill -9 mid-epoch, a partial last line) it may hold more. `openStepLog(directory, step)` keeps
 * the lines up to the checkpoint's step and drops the rest (rewriting the file atomically), so the
 * resumed run appends the steps it redoes exactly once: the log of an interrupted and resumed run
 * equals an uninterrupted run's, line for line, except the timing fields. A fresh run (step 0)
 * starts an empty log. A log that holds fewer lines than the checkpoint (deleted, or written by an
 * older version) is kept as it is and continued from the checkpoint's step.
 *
 * @module
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../io/safetensors.js";
import { removeStaleTemporaryFiles } from "../io/temporary-files.js";
import type { Progress } from "../methods/trainer.js";

/** The per-step log's file name in a run directory. */
export const STEP_LOG_FILE = "log.jsonl";

/** The fields of a log line that measure time, and so differ between two runs of the same steps. */
export const STEP_LOG_TIMING_FIELDS: readonly string[] = ["samplesPerSecond", "wallSeconds"];

/** The JSON key of each method's extra number (Progress.extra.label); another label is used as it is. */
const EXTRA_KEYS: Record<string, string> = { "τ": "temperature", scale: "logitScale", "τ_ema": "emaMomentum" };

/** One log line's object, from the progress of one step. */
export function stepLogEntry(p: Progress): Record<string, number> {
  const entry: Record<string, number> = { step: p.step, epoch: p.epoch, loss: p.loss, lr: p.lr };
  if (p.extra) entry[EXTRA_KEYS[p.extra.label] ?? p.extra.label] = p.extra.value;
  if (p.gradNorm !== undefined) entry.gradNorm = p.gradNorm;
  entry.samplesPerSecond = p.samplesPerSecond;
  entry.wallSeconds = p.wallSeconds;
  return entry;
}

/** The lines of a log text worth keeping: whole JSON objects with strictly increasing integer steps ≤ `throughStep`. */
export function keptLogLines(text: string, throughStep: number): string[] {
  const kept: string[] = [];
  let lastStep = 0;
  for (const line of text.split("\n")) {
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      break; // a partial line (the process died while writing it) or garbage: nothing after it is trusted
    }
    const step = (entry as { step?: unknown } | null)?.step;
    if (typeof step !== "number" || !Number.isInteger(step) || step <= lastStep || step > throughStep) break;
    kept.push(line);
    lastStep = step;
  }
  return kept;
}

/** An open log.jsonl that appends one line per step. */
export interface StepLog {
  path: string;
  append(progress: Progress): void;
  close(): void;
}

/**
 * Open `directory/log.jsonl` to continue a run whose checkpoint is at `checkpointStep` (0 for a
 * fresh run): lines after that step are removed first (see the header), then each `append` writes
 * one line (one write call, to a file opened for appending).
 */
export function openStepLog(directory: string, checkpointStep: number): StepLog {
  mkdirSync(directory, { recursive: true });
  const path = join(directory, STEP_LOG_FILE);
  const text = existsSync(path) ? readFileSync(path, "utf8") : "";
  const kept = checkpointStep > 0 ? keptLogLines(text, checkpointStep) : [];
  const keptText = kept.map((line) => `${line}\n`).join("");
  if (keptText !== text) {
    writeFileAtomic(path, [new TextEncoder().encode(keptText)]);
    removeStaleTemporaryFiles(path);
  }
  let fd: number | null = openSync(path, "a");
  return {
    path,
    append(progress) {
      if (fd === null) throw new Error(`step log: ${path} is closed`);
      writeSync(fd, `${JSON.stringify(stepLogEntry(progress))}\n`);
    },
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}
