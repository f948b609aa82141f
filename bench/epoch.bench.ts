/**
 * A SimCLR epoch as `contrastive train simclr` runs it (issue 11: "a SimCLR epoch from the CLI,
 * augmentation included, at least 5× faster"): the CLI's default run (MLP encoder 784 → 512 → ReLU → 256,
 * projector 256 → 256 → BN → ReLU → 128, batch 256 × 2 augmented views, NT-Xent τ 0.5, AdamW with the
 * cosine schedule, all 7,996 training digits, 31 steps an epoch), through `createRun` and `trainSteps`,
 * the functions the CLI calls. The checkpoint and the evaluation at the end of a CLI run are not timed.
 *
 *   npm run bench:epoch                         (or: node build/bench/epoch.bench.js [epochs = 3])
 *
 * Prints per epoch: wall ms, CPU ms of the process (user + system, all threads), and how much of the
 * wall time went into making the batches (the loader: gathering the digits and augmenting both views,
 * timed around each `next()` of the epoch's batch iterator); then the median over the epochs and the
 * final loss (same seed, same bits on every run and thread count). The load average is printed before
 * and after: the machine may be shared.
 */
import os from "node:os";
import { createRun, getNumThreads } from "../src/index.js"; // the Node entry: installs the worker threads
import { defaultConfig, trainSteps } from "../src/methods/trainer.js";
import type { TwoViewLoader } from "../src/data/loader.js";

const epochs = Number(process.argv[2] ?? 3);
if (!(Number.isInteger(epochs) && epochs >= 1)) throw new Error(`epoch.bench: epochs must be a positive integer, got ${process.argv[2]}`);

const loadAverage = () => os.loadavg().map((l) => l.toFixed(2)).join(" / ");
console.log(`machine: ${os.cpus()[0]?.model ?? "?"}, ${os.cpus().length} cores, node ${process.version}; load ${loadAverage()}`);

const run = createRun(defaultConfig("simclr", { epochs }));
console.log(
  `simclr: ${run.train.count} images, batch ${run.config.batchSize}, ${run.stepsPerEpoch} steps/epoch, ${getNumThreads()} threads`,
);

// Time the loader inside the trainer's loop: wrap the epoch's batch iterator.
let dataMs = 0;
const loader = run.loader as TwoViewLoader; // SimCLR's: two augmented views per digit
const epochBatches = loader.epochBatches.bind(loader);
loader.epochBatches = function* timedBatches() {
  const batches = epochBatches();
  for (;;) {
    const start = performance.now();
    const next = batches.next();
    dataMs += performance.now() - start;
    if (next.done) return;
    yield next.value;
  }
};

interface EpochTime {
  wallMs: number;
  cpuMs: number;
  dataMs: number;
}
const times: EpochTime[] = [];
let start = performance.now();
let cpuStart = process.cpuUsage();
let lastLoss = NaN;
for (const event of trainSteps(run)) {
  if (event.kind === "step") {
    lastLoss = event.progress.loss;
    continue;
  }
  const cpu = process.cpuUsage(cpuStart);
  times.push({ wallMs: performance.now() - start, cpuMs: (cpu.user + cpu.system) / 1000, dataMs });
  const t = times[times.length - 1];
  console.log(
    `epoch ${event.epoch}: ${t.wallMs.toFixed(0)} ms wall, ${t.cpuMs.toFixed(0)} ms cpu, batches (augmentation) ${
      t.dataMs.toFixed(0)
    } ms ` +
      `(${((100 * t.dataMs) / t.wallMs).toFixed(1)}%), mean loss ${event.meanLoss.toFixed(6)}`,
  );
  dataMs = 0;
  start = performance.now();
  cpuStart = process.cpuUsage();
}
const median = (values: number[]) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(
  `simclr epoch: median ${median(times.map((t) => t.wallMs)).toFixed(0)} ms wall, ${
    median(times.map((t) => t.cpuMs)).toFixed(0)
  } ms cpu, ` +
    `batches ${median(times.map((t) => t.dataMs)).toFixed(0)} ms, over ${epochs} epochs; load ${loadAverage()}`,
);
console.log(`final loss ${lastLoss}`);
