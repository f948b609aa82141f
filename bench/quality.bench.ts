/**
 * Quality benchmark (not a timed test): train each method at the issue's budget for seeds 0 and 1,
 * evaluate on the test split, and compare with the floors.
 *
 *   SimCLR ≥ 95% linear probe within 20 epochs     MoCo v2 ≥ 95% within 50
 *   BYOL   ≥ 94% within 50, normalized std ≥ ½·1/√D   CLIP ≥ 94% zero-shot within 20
 *   VICReg, SimSiam ≥ 94.5% within 50   SwAV, DINO ≥ 94% within 50   (issue 15; each normalized std ≥ ½·1/√D)
 *   every method beats the raw-pixel linear probe
 * Beyond the chapter (issue 15), each also with normalized std ≥ ½·1/√D (no collapse):
 *   SimCLR with --loss dcl / dclw ≥ 94.5% within 50   Barlow Twins ≥ 94.5% within 50
 *   CLIP with --loss siglip ≥ 94.5% zero-shot within 20   SupCon ≥ 97% within 50 (it sees the labels)
 *
 * Usage: npm run bench:quality [-- --methods simclr,clip --seeds 0,1 --epochs-scale 1 --out runs/quality]
 * A loss variant is METHOD:LOSS (simclr:dcl, simclr:dclw, clip:siglip); the default list is every
 * method and variant (simclr,moco,byol,clip,simclr:dcl,simclr:dclw,clip:siglip,supcon,barlow,vicreg,
 * simsiam,dino,swav: 26 runs one after another, hours of CPU), --methods picks some.
 * Each run writes DIR/<method>-seed<S>/{checkpoint.safetensors, metrics.json, loss.svg, similarity.svg};
 * the summary goes to DIR/summary.md and DIR/summary.json. A finished run is not trained again
 * (its metrics.json is reused), so an interrupted benchmark can be started again.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import os from "node:os";
import { run as runCli } from "../src/cli/commands.js";
import type { Metrics } from "../src/cli/commands.js";
import { loadMnist } from "../src/data/mnist-package.js";
import { rawPixelBaseline } from "../src/eval/baselines.js";
import type { MethodName } from "../src/methods/common.js";

const BUDGET: Record<MethodName, number> = {
  simclr: 20,
  moco: 50,
  byol: 50,
  clip: 20,
  supcon: 50,
  barlow: 50,
  vicreg: 50,
  simsiam: 50,
  dino: 50,
  swav: 50,
};

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

/** The default list: the chapter's four, the loss variants and the methods beyond the chapter (hours of CPU). */
const EVERY_METHOD = "simclr,moco,byol,clip,simclr:dcl,simclr:dclw,clip:siglip,supcon,barlow,vicreg,simsiam,dino,swav";

/** A run of the benchmark: a method, and a loss variant of it (`simclr:dcl`) or none. */
interface Entry {
  method: MethodName;
  loss?: string;
}

/** Epochs of a variant: DCL/DCLW get the family's 50 (the issue's budget), SigLIP CLIP's 20. */
const VARIANT_BUDGET: Record<string, number> = { dcl: 50, dclw: 50, siglip: 20 };

function parseEntry(text: string): Entry {
  const [method, loss] = text.split(":");
  return { method: method as MethodName, ...(loss === undefined ? {} : { loss }) };
}

const entryName = (entry: Entry): string => (entry.loss === undefined ? entry.method : `${entry.method}-${entry.loss}`);

function floorOf(metrics: Metrics, rawPixelProbe: number): { name: string; value: number; floor: number; pass: boolean }[] {
  const checks: { name: string; value: number; floor: number; pass: boolean }[] = [];
  const add = (name: string, value: number, floor: number) => checks.push({ name, value, floor, pass: value >= floor });
  const collapse = () => add("normalized std / (1/√D)", metrics.health.normalizedStd / metrics.health.normalizedStdExpected, 0.5);
  const loss = metrics.config.loss;
  if (metrics.method === "simclr" && (loss === "dcl" || loss === "dclw")) {
    add("linear probe", metrics.linearProbeAccuracy, 0.945);
    collapse();
  } else if (metrics.method === "simclr") add("linear probe", metrics.linearProbeAccuracy, 0.95);
  if (metrics.method === "clip" && loss === "siglip") {
    add("zero-shot", metrics.zeroShotAccuracy ?? 0, 0.945);
    collapse();
  } else if (metrics.method === "clip") add("zero-shot", metrics.zeroShotAccuracy ?? 0, 0.94);
  if (metrics.method === "supcon") {
    add("linear probe", metrics.linearProbeAccuracy, 0.97);
    collapse();
  }
  if (metrics.method === "barlow") {
    add("linear probe", metrics.linearProbeAccuracy, 0.945);
    collapse();
  }
  if (metrics.method === "moco") add("linear probe", metrics.linearProbeAccuracy, 0.95);
  if (metrics.method === "byol") {
    add("linear probe", metrics.linearProbeAccuracy, 0.94);
    add("normalized std / (1/√D)", metrics.health.normalizedStd / metrics.health.normalizedStdExpected, 0.5);
  }
  // issue 15: VICReg, SimSiam ≥ 94.5%; SwAV, DINO ≥ 94%; each without collapse (normalized std / (1/√D) ≥ 0.5)
  const familyB: Partial<Record<MethodName, number>> = { vicreg: 0.945, simsiam: 0.945, dino: 0.94, swav: 0.94 };
  const floor = familyB[metrics.method];
  if (floor !== undefined) {
    add("linear probe", metrics.linearProbeAccuracy, floor);
    add("normalized std / (1/√D)", metrics.health.normalizedStd / metrics.health.normalizedStdExpected, 0.5);
  }
  add("beats raw-pixel probe", metrics.linearProbeAccuracy, rawPixelProbe);
  return checks;
}

async function main(): Promise<void> {
  const methods = option("methods", EVERY_METHOD).split(",").map(parseEntry);
  const seeds = option("seeds", "0,1").split(",").map(Number);
  const scale = Number(option("epochs-scale", "1"));
  const out = resolve(option("out", join("runs", "quality")));
  mkdirSync(out, { recursive: true });
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  console.log(`quality benchmark on ${cpu} (${os.cpus().length} cores), node ${process.version}`);
  const raw = rawPixelBaseline(loadMnist());
  console.log(`raw pixels: linear probe ${(raw.linearProbe.testAccuracy * 100).toFixed(2)}%, kNN ${(raw.knn.accuracy * 100).toFixed(2)}%`);
  const rows: { method: string; seed: number; epochs: number; metrics: Metrics; checks: ReturnType<typeof floorOf> }[] = [];
  for (const entry of methods) {
    const method = entryName(entry);
    for (const seed of seeds) {
      const budget = entry.loss === undefined ? BUDGET[entry.method] : VARIANT_BUDGET[entry.loss] ?? BUDGET[entry.method];
      const epochs = Math.max(1, Math.round(budget * scale));
      const directory = join(out, `${method}-seed${seed}`);
      const metricsPath = join(directory, "metrics.json");
      const done = existsSync(metricsPath) && (JSON.parse(readFileSync(metricsPath, "utf8")) as Metrics).epochs === epochs;
      if (!done) {
        const resume = existsSync(join(directory, "checkpoint.safetensors"));
        const args = [
          "train",
          entry.method,
          ...(entry.loss === undefined ? [] : ["--loss", entry.loss]),
          "--epochs",
          String(epochs),
          "--seed",
          String(seed),
          "--out",
          directory,
          ...(resume ? ["--resume"] : []),
        ];
        const code = await runCli(args);
        if (code !== 0) throw new Error(`quality: training ${method} seed ${seed} failed (exit ${code})`);
      }
      const metrics = JSON.parse(readFileSync(metricsPath, "utf8")) as Metrics;
      rows.push({ method, seed, epochs, metrics, checks: floorOf(metrics, raw.linearProbe.testAccuracy) });
    }
  }
  const pct = (v: number | undefined) => (v === undefined ? "—" : `${(v * 100).toFixed(2)}%`);
  const lines = [
    `# Quality benchmark`,
    ``,
    `${
      new Date().toISOString().slice(0, 10)
    }, ${cpu} (${os.cpus().length} cores), node ${process.version}. Test split (2,004 digits); raw pixels: linear probe ${
      pct(raw.linearProbe.testAccuracy)
    }, kNN ${pct(raw.knn.accuracy)}.`,
    ``,
    `| method | seed | epochs | linear probe | kNN | zero-shot | R@1 (mean) | std / (1/√D) | eff. rank | minutes | floors |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |`,
    ...rows.map(({ method, seed, epochs, metrics, checks }) =>
      `| ${method} | ${seed} | ${epochs} | ${pct(metrics.linearProbeAccuracy)} | ${pct(metrics.knnAccuracy)} | ${
        pct(metrics.zeroShotAccuracy)
      } | ${pct(metrics.retrievalRecallAt1)} | ${(metrics.health.normalizedStd / metrics.health.normalizedStdExpected).toFixed(2)} | ${
        metrics.health.effectiveRank.toFixed(1)
      } | ${(metrics.wallSeconds / 60).toFixed(1)} | ${checks.map((c) => `${c.pass ? "✓" : "✗"} ${c.name}`).join(", ")} |`
    ),
    ``,
  ];
  writeFileSync(join(out, "summary.md"), lines.join("\n"));
  writeFileSync(
    join(out, "summary.json"),
    JSON.stringify({ rawPixels: raw.row, rows: rows.map(({ metrics, checks }) => ({ ...metrics, checks })) }, null, 2),
  );
  console.log(lines.join("\n"));
  const failed = rows.flatMap((r) =>
    r.checks.filter((c) => !c.pass).map((c) => `${r.method} seed ${r.seed}: ${c.name} ${pct(c.value)} < ${pct(c.floor)}`)
  );
  if (failed.length > 0) {
    console.log(`below the floors:\n  ${failed.join("\n  ")}`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(`quality: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
