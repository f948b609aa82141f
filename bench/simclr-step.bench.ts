/**
 * The SimCLR step of docs/performance.md ("What each change bought"), through the public API:
 * MLP 784 → 512 → ReLU → 128, batch 256 × 2 views, NT-Xent τ 0.5, Adam, float32.
 *
 *   node build/bench/simclr-step.bench.js [steps = 20]         prints ms per step (median of the steps after 3 warm-up)
 *   node --cpu-prof build/bench/simclr-step.bench.js 20        the profile of the same steps
 *
 * Prints the median wall time per step, the median CPU time of this process per step (user + system:
 * less disturbed than wall time when other jobs share the cores), then every step's wall time. Same
 * seed, so two runs compute the same bits; the last line prints the final step's loss to check that.
 */
import { Adam, MLP, manualSeed, ntXent, randn } from "../src/index.js";

const steps = Number(process.argv[2] ?? 20);
const generator = manualSeed(0);
const model = new MLP([784, 512, 128], { generator });
const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
const view1 = randn([256, 784], generator); // (N, 784)
const view2 = randn([256, 784], generator); // (N, 784)

const times: number[] = [];
const cpuTimes: number[] = [];
let lastLoss = NaN;
for (let step = 0; step < steps + 3; step++) {
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  optimizer.zeroGrad();
  const loss = ntXent(model.forward(view1), model.forward(view2), { temperature: 0.5 });
  loss.backward();
  optimizer.step();
  lastLoss = loss.item();
  if (step >= 3) {
    times.push(performance.now() - start);
    const cpu = process.cpuUsage(cpuStart);
    cpuTimes.push((cpu.user + cpu.system) / 1000);
  }
}
const median = (values: number[]) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(
  `simclr step: median ${median(times).toFixed(1)} ms wall, ${median(cpuTimes).toFixed(1)} ms cpu over ${steps} steps ` +
    `[${times.map((t) => t.toFixed(0)).join(" ")}]`,
);
console.log(`final loss ${lastLoss}`);
