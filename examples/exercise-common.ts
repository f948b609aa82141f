/**
 * What the exercise scripts share: the budgets, a small training loop, and printing.
 *
 * The training loop is the trainer's (src/methods/trainer.ts) without checkpoints or progress bars,
 * so that an exercise can change one thing inside it (a temperature schedule, a custom loss):
 *
 *   for step = 0 … steps − 1:
 *     loss = lossOf(batch, step)          forward, recorded on the tape
 *     zeroGrad; loss.backward()
 *     lr ← cosineWithWarmup(step); AdamW step
 *     afterStep(step + 1)                 EMA target / key encoder, logit-scale clamp
 */
import { AdamW, cosineWithWarmup, type Parameter, type Tensor } from "../src/index.js";

export type Budget = "tiny" | "full";

export interface ExerciseOptions {
  /** "tiny": ≤ 512 images and a few seconds (what the spec runs); "full": the real experiment. */
  budget: Budget;
}

export interface TrainLoopOptions<Batch> {
  /** The parameters AdamW updates. */
  parameters: [string, Parameter][];
  /** The next batch (a loader's `next`). */
  nextBatch: () => Batch;
  /** The loss of one batch at a given step (0-based), recorded on the tape. */
  lossOf: (batch: Batch, step: number) => Tensor;
  steps: number;
  lr?: number;
  warmupSteps?: number;
  weightDecay?: number;
  /** Called after each optimizer step with the number of steps done (1-based). */
  afterStep?: (step: number) => void;
}

/** Train for `steps` steps with AdamW and a warmup + cosine learning rate; returns the loss of every step. */
export function trainLoop<Batch>(options: TrainLoopOptions<Batch>): number[] {
  const lr = options.lr ?? 1e-3;
  const decayed = options.parameters.filter(([, p]) => p.ndim >= 2);
  const notDecayed = options.parameters.filter(([, p]) => p.ndim < 2);
  const optimizer = new AdamW(
    [
      { params: decayed, weightDecay: options.weightDecay ?? 1e-6 },
      { params: notDecayed, weightDecay: 0 },
    ].filter((group) => group.params.length > 0),
    { lr },
  );
  const schedule = cosineWithWarmup({
    baseLr: lr,
    warmupSteps: Math.min(options.warmupSteps ?? 2, options.steps - 1),
    totalSteps: options.steps,
  });
  const losses: number[] = [];
  for (let step = 0; step < options.steps; step++) {
    const loss = options.lossOf(options.nextBatch(), step);
    optimizer.zeroGrad();
    loss.backward();
    for (const group of optimizer.paramGroups) group.lr = schedule(step);
    optimizer.step();
    options.afterStep?.(step + 1);
    const value = loss.item();
    if (!Number.isFinite(value)) throw new Error(`trainLoop: the loss became ${value} at step ${step + 1}`);
    losses.push(value);
  }
  return losses;
}

/** Mean of a list of numbers. */
export function mean(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0) / values.length;
}

/** Print an exercise's result: one `name: value` line per entry, numbers to 4 significant digits. */
export function printResult(title: string, result: object): void {
  console.log(title);
  for (const [name, value] of Object.entries(result)) console.log(`  ${name}: ${formatValue(value)}`);
}

function formatValue(value: unknown): string {
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : Number(value.toPrecision(4)).toString();
  if (Array.isArray(value)) return `[${value.map(formatValue).join(", ")}]`;
  if (typeof value === "string" && value.includes("\n")) return `\n    ${value.split("\n").join("\n    ")}`;
  if (value !== null && typeof value === "object") {
    return `{ ${Object.entries(value).map(([k, v]) => `${k}: ${formatValue(v)}`).join(", ")} }`;
  }
  return String(value);
}
