/**
 * The `contrastive` command line, end to end on a tiny budget (256 images, batch 64, 2 epochs;
 * the evaluation runs on the full MNIST split, as a user's run does):
 *  - a real process (node …/cli/main.js) trains with --stop-after 1 and exits 0 after one epoch;
 *    a second one continues with --resume, writes checkpoint.safetensors, metrics.json (every
 *    field of the schema), loss.svg and similarity.svg, and ends with every tensor and the
 *    training state (wall time aside) of an uninterrupted run; `eval DIR` of that uninterrupted
 *    run's checkpoint writes the same metrics and plots;
 *  - augment writes a valid PNG;
 *  - bad arguments and bad files: exit 2 (usage) or 1 (anything else), one line on stderr, no
 *    stack trace; an existing checkpoint is never overwritten without --resume or --force (more
 *    bad inputs, and signals, in spec/robustness/cli.spec.ts).
 *
 * The processes are started first and run beside the in-process tests (two cores). The
 * uninterrupted reference is the same run through the API (createRun + trainRun): the resumed
 * checkpoint must equal it bit for bit, and a third process evaluates it with `eval DIR`, beside
 * the resumed run's own evaluation (the two full evaluations are most of this spec's time).
 */
import { expect } from "chai";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inflateSync, crc32 } from "node:zlib";
import { loadSafetensors } from "../../src/io/safetensors.js";
import { CHECKPOINT_FILE, createRun, defaultConfig, trainRun, type Run } from "../../src/methods/trainer.js";
import { metricsOf, readMetrics } from "../../src/cli/commands.js";
import { DEMO_BUDGET } from "../../src/cli/demo.js";
import { checkpointDifferences, cachedTiny, cleanupTempDirs, jsonBitEqual, tempDir } from "../methods/helpers.js";
import { allElements, parseSvg } from "../report/xml.js";
import { lossCurveSvg } from "../../src/report/svg.js";
import { STEP_LOG_FILE } from "../../src/cli/step-log.js";
import { cli, cliProcess, expectCleanFailure, type CliResult } from "./helpers.js";

const TINY_ARGS = ["--epochs", "2", "--limit", "256", "--batch-size", "64"];

function expectUnitInterval(value: unknown, name: string): void {
  expect(value, name).to.be.a("number");
  expect(value as number, name).to.be.within(0, 1);
}

interface ProcessRuns {
  directory: string;
  stopped: CliResult;
  checkpointAfterStop: Record<string, string>;
  metricsAfterStop: boolean;
  resumed: CliResult;
}

/** train --stop-after 1, then train --resume, as two real processes (not awaited until needed). */
async function interruptedProcessRun(): Promise<ProcessRuns> {
  const directory = tempDir("contrastive-cli-process-");
  const stopped = await cliProcess(["train", "simclr", ...TINY_ARGS, "--out", directory, "--stop-after", "1"]);
  const checkpointAfterStop = existsSync(join(directory, CHECKPOINT_FILE))
    ? loadSafetensors(join(directory, CHECKPOINT_FILE)).metadata
    : {};
  const metricsAfterStop = existsSync(join(directory, "metrics.json"));
  const resumed = await cliProcess(["train", "simclr", ...TINY_ARGS, "--out", directory, "--resume", "--quiet"]);
  return { directory, stopped, checkpointAfterStop, metricsAfterStop, resumed };
}

describe("cli", () => {
  let processRuns: Promise<ProcessRuns>;
  let referenceEval: Promise<CliResult>;
  let directory: string;
  let uninterrupted: Run;
  let reference: string;
  let referenceCheckpoint: Buffer;

  before(() => {
    processRuns = interruptedProcessRun();
    processRuns.catch(() => {}); // reported by the tests that await it
    // Meanwhile, in this process: the same run through the API, uninterrupted (seed 0 is the CLI's
    // default); its directory has a checkpoint and nothing else, and `eval` (a third process,
    // beside the resumed one) evaluates it.
    reference = tempDir("contrastive-cli-reference-");
    uninterrupted = createRun(defaultConfig("simclr", { epochs: 2, batchSize: 64, trainLimit: 256 }));
    trainRun(uninterrupted, { checkpointDirectory: reference });
    referenceCheckpoint = readFileSync(join(reference, CHECKPOINT_FILE));
    referenceEval = cliProcess(["eval", reference, "--quiet"]);
    referenceEval.catch(() => {});
  });

  after(async () => {
    await Promise.allSettled([processRuns, referenceEval]);
    cleanupTempDirs();
  });

  describe("argument and file errors (in process)", () => {
    const usageErrors: [string[], RegExp | string][] = [
      [["frobnicate"], "unknown command 'frobnicate' (train, eval, augment, demo, help)"],
      [["train"], "train: expected one method (simclr, moco, byol, clip, supcon, barlow, vicreg, simsiam, dino, swav), got none"],
      [["train", "simclr", "moco"], "got simclr moco"],
      [["train", "supervised"], "train: unknown method 'supervised'"],
      [["train", "simclr", "--bogus"], /^contrastive: train: unknown option --bogus \(known: --epochs, /],
      [["train", "simclr", "--epochs", "abc"], "train: --epochs must be a number, got 'abc'"],
      [["train", "simclr", "--epochs", "1.5"], "train: --epochs must be a whole number, got '1.5'"],
      [["train", "simclr", "--epochs", "0"], "train: --epochs must be a positive integer, got 0"],
      [["train", "simclr", "--epochs", "-3"], "train: --epochs must be a positive integer, got -3"],
      [["train", "simclr", "--epochs"], "train: --epochs needs a value"],
      [["train", "simclr", "--epochs", "--quiet"], "train: --epochs needs a value"],
      [["train", "simclr", "--lr", "0"], "train: --lr must be a positive number, got 0"],
      [["train", "simclr", "--batch-size", "1"], "train: --batch-size must be an integer ≥ 2, got 1"],
      [["train", "simclr", "--encoder", "resnet"], "train: --encoder must be one of mlp, conv, got 'resnet'"],
      [["train", "simclr", "--quiet=yes"], "train: --quiet takes no value"],
      [["train", "simclr", "--limit", "1"], "train: --limit must be at least 2"],
      [["train", "simclr", "--queue-size", "4096"], "train: --queue-size applies to moco only (this run is simclr)"],
      [["train", "clip", "--moco-loss", "one-sided"], "train: --moco-loss applies to moco only (this run is clip)"],
      [["train", "moco", "--moco-loss", "both"], "train: --moco-loss must be one of symmetric, one-sided, got 'both'"],
      [["train", "moco", "--queue-size", "0"], "train: --queue-size must be a positive whole number, got 0"],
      [
        ["train", "moco", "--queue-size", "1000"],
        "train: MoCo queue size 1000 must be a multiple of twice the batch size 128 (256 keys a step)",
      ],
      [["train", "byol", "--image-tower", "vit"], "train: --image-tower applies to clip only (this run is byol)"],
      [["augment"], "augment: --out FILE.png is required"],
      [["augment", "--out", "views.jpg"], "augment: --out must name a .png file, got 'views.jpg'"],
      [["augment", "--out", "v.png", "--count", "0"], "augment: --count must be between 1 and 100, got 0"],
      [["augment", "--out", "v.png", "extra"], "augment: unexpected argument 'extra'"],
      [["eval"], "eval: expected one run directory (contrastive eval DIR)"],
      [["demo", "--scale", "-1"], "demo: --scale must be positive, got -1"],
      [["demo", "--limit", "100"], "demo: --limit must be at least 256 (one batch), got 100"],
    ];
    for (const [argv, message] of usageErrors) {
      it(`${argv.join(" ")} → exit 2`, async () => {
        expectCleanFailure(await cli(argv), 2, message);
      });
    }

    it("--resume of a directory without a checkpoint → exit 2", async () => {
      const empty = tempDir();
      expectCleanFailure(
        await cli(["train", "simclr", "--resume", "--out", empty]),
        2,
        `train: --resume, but ${join(empty, CHECKPOINT_FILE)} does not exist`,
      );
    });

    it("a batch larger than --limit → exit 2, before anything is written", async () => {
      const out = join(tempDir(), "run");
      expectCleanFailure(
        await cli(["train", "simclr", "--limit", "32", "--batch-size", "64", "--out", out]),
        2,
        "train: --batch-size 64 is larger than the 32 training images (--limit 32)",
      );
      expect(existsSync(out)).to.equal(false);
    });

    it("eval of a missing directory, a corrupt or a foreign checkpoint → exit 1", async () => {
      const missing = join(tempDir(), "missing");
      expectCleanFailure(await cli(["eval", missing]), 1, `eval: no checkpoint at ${join(missing, CHECKPOINT_FILE)}`);
      const truncated = tempDir();
      const bytes = readFileSync(join(reference, CHECKPOINT_FILE));
      writeFileSync(join(truncated, CHECKPOINT_FILE), bytes.subarray(0, bytes.length - 1000));
      expectCleanFailure(await cli(["eval", truncated]), 1, /^contrastive: loadSafetensors: '.*' is not a valid safetensors file: /);
      const foreign = tempDir();
      writeFileSync(join(foreign, CHECKPOINT_FILE), lossCurveSvg([1, 2, 3]));
      expectCleanFailure(await cli(["eval", foreign]), 1, /is not a valid safetensors file/);
    });

    it("help prints the usage and exits 0; no command prints it and exits 2", async () => {
      const help = await cli(["help"]);
      expect(help.code).to.equal(0);
      expect(help.stdout).to.include("usage:").and.include(
        "contrastive train <simclr|moco|byol|clip|supcon|barlow|vicreg|simsiam|dino|swav>",
      );
      const none = await cli([]);
      expect(none.code).to.equal(2);
      expect(none.stdout).to.equal(help.stdout);
    });
  });

  describe("augment", () => {
    it("writes a valid grayscale PNG: signature, chunk CRCs, IHDR size, IDAT that inflates to the image", async () => {
      const file = join(tempDir(), "nested", "views.png");
      mkdirSync(join(file, ".."), { recursive: true });
      const result = await cli(["augment", "--out", file, "--count", "3", "--views", "2", "--seed", "4"]);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.equal(`wrote ${file}: 3 test digits (left column) and 2 augmented views each\n`);
      const png = readFileSync(file);
      expect([...png.subarray(0, 8)]).to.deep.equal([137, 80, 78, 71, 13, 10, 26, 10]);
      const chunks: { type: string; data: Buffer }[] = [];
      for (let at = 8; at < png.length;) {
        const length = png.readUInt32BE(at);
        const type = png.subarray(at + 4, at + 8);
        const data = png.subarray(at + 8, at + 8 + length);
        expect(png.readUInt32BE(at + 8 + length), `CRC of ${type}`).to.equal(crc32(Buffer.concat([type, data])));
        chunks.push({ type: type.toString("latin1"), data });
        at += 12 + length;
      }
      expect(chunks[0].type).to.equal("IHDR");
      expect(chunks[chunks.length - 1].type).to.equal("IEND");
      const width = chunks[0].data.readUInt32BE(0);
      const height = chunks[0].data.readUInt32BE(4);
      expect([width, height]).to.deep.equal([3 * 30 + 2, 3 * 30 + 2]); // 3 columns (original + 2 views) × 3 rows of 28 px + 2 px padding
      expect([chunks[0].data[8], chunks[0].data[9]]).to.deep.equal([8, 0]); // 8-bit grayscale
      const pixels = inflateSync(Buffer.concat(chunks.filter((c) => c.type === "IDAT").map((c) => c.data)));
      expect(pixels.length).to.equal(height * (1 + width)); // a filter byte per row
      // The same seed writes the same file.
      const again = join(tempDir(), "again.png");
      await cli(["augment", "--out", again, "--count", "3", "--views", "2", "--seed", "4"]);
      expect(readFileSync(again).equals(png)).to.equal(true);
    });
  });

  describe("demo --limit 256 --scale 0.05 (npm start's command on a smoke-test budget, in process)", () => {
    it("trains all four methods one epoch each, evaluates them beside both baselines, writes report.md and every run's files", async () => {
      const out = join(tempDir(), "demo");
      const result = await cli(["demo", "--limit", "256", "--scale", "0.05", "--out", out]);
      expect(result.code, result.stderr).to.equal(0);
      const report = readFileSync(join(out, "report.md"), "utf8");
      expect(report).to.match(
        new RegExp(
          /^# contrastive-ts demo\n\nFour methods trained on 256 MNIST training digits \(short budgets\), /.source +
            /evaluated on the 64 test digits, in \d+\.\d minutes\./.source,
        ),
      );
      for (const row of ["raw pixels", "random-init encoder", "simclr (1 ep)", "moco (1 ep)", "byol (1 ep)", "clip (1 ep)"]) {
        expect(report, row).to.include(`| ${row} |`);
        expect(result.stdout, row).to.include(`| ${row} |`);
      }
      for (const method of ["simclr", "moco", "byol", "clip"] as const) {
        for (const file of [CHECKPOINT_FILE, STEP_LOG_FILE, "metrics.json", "loss.svg", "similarity.svg"]) {
          expect(existsSync(join(out, method, file)), `${method}/${file}`).to.equal(true);
        }
        const steps = Math.floor(256 / (DEMO_BUDGET[method]!.batchSize ?? defaultConfig(method).batchSize)); // one epoch of 256 images
        expect(readFileSync(join(out, method, STEP_LOG_FILE), "utf8").trim().split("\n"), method).to.have.length(steps);
        const metrics = readMetrics(join(out, method));
        expect(metrics).to.include({ method, epochs: 1, seed: 0 });
        expect(metrics.lossPerEpoch).to.have.length(1);
        expectUnitInterval(metrics.linearProbeAccuracy, `${method} linearProbeAccuracy`);
        expect(report).to.include(`[metrics](${method}/metrics.json)`);
      }
      expect(result.stdout).to.include(`wrote ${join(out, "report.md")}`);
      // The evaluations say where they are (on stderr): the baselines' and each method's stages.
      for (const name of ["raw pixels", "random-init encoder", "simclr", "clip"]) {
        for (const stage of name === "raw pixels" ? ["kNN", "linear probe"] : ["features: train images", "features: test images", "kNN"]) {
          expect(result.stderr, `${name}: ${stage}`).to.include(`[${name}] eval: ${stage} `);
        }
      }
    });
  });

  describe("metricsOf: the metrics.json of a CLIP run", () => {
    it("adds zeroShotAccuracy and retrievalRecallAt1 (the mean of both directions' recall@1 over the distinct captions) in [0, 1]", () => {
      const { run, evaluation } = cachedTiny("clip");
      const metrics = metricsOf(run.config, run.state, evaluation);
      expect(metrics).to.include({ method: "clip", seed: 1, epochs: 2 });
      expectUnitInterval(metrics.zeroShotAccuracy, "zeroShotAccuracy");
      expectUnitInterval(metrics.zeroShotSinglePromptAccuracy, "zeroShotSinglePromptAccuracy");
      expectUnitInterval(metrics.retrievalRecallAt1, "retrievalRecallAt1");
      expect(metrics.zeroShotAccuracy).to.equal(evaluation.zeroShot!.ensembleAccuracy);
      const recall = evaluation.retrieval!;
      expect(metrics.retrievalRecallAt1).to.equal((recall.imageToText[1] + recall.textToImage[1]) / 2);
      expect(metrics.retrievalRecall!.imageToText[5]).to.be.within(recall.imageToText[1], 1);
      expect(metrics.retrievalRecall!.distinctCaptions).to.equal(recall.captions);
      expect(metrics.health).to.have.all.keys("alignment", "uniformity", "normalizedStd", "normalizedStdExpected", "effectiveRank");
      expect(metrics.lossPerEpoch).to.deep.equal(run.state.lossPerEpoch);
      // As written to disk: JSON keeps every field.
      expect(Object.keys(JSON.parse(JSON.stringify(metrics)))).to.include.members([
        "zeroShotAccuracy",
        "retrievalRecallAt1",
        "health",
        "lossPerEpoch",
        "wallSeconds",
      ]);
    });
  });

  describe("train simclr --stop-after 1, then --resume: two real processes (node cli/main.js)", () => {
    let runs: ProcessRuns;
    before(async function() {
      this.timeout(300_000); // the processes started with the suite; on a busy machine they may still be evaluating
      runs = await processRuns;
      directory = runs.directory;
    });

    it("--stop-after 1 exits 0 after one epoch with a checkpoint, a progress line and no metrics", () => {
      const { stopped, checkpointAfterStop, metricsAfterStop } = runs;
      expect(stopped.code, stopped.stderr).to.equal(0);
      expect(checkpointAfterStop).to.include({ method: "simclr", epoch: "1", step: "4" });
      expect(metricsAfterStop).to.equal(false);
      const lines = stopped.stderr.trim().split("\n");
      expect(lines[0]).to.match(/^\[simclr\] 256 images, batch 64, 4 steps\/epoch, epochs 1–2, out /);
      expect(lines[1]).to.match(
        /^\[simclr\] epoch 1\/2 █{20} 4\/4 {2}loss \d\.\d{4} {2}lr \d\.\d\de-\d+ {2}τ 0\.5000 {2}\d+ img\/s {2}ETA \S+$/,
      );
      expect(lines[2]).to.equal("[simclr] stopped after epoch 1 of 2; continue with --resume");
      expect(lines).to.have.length(3);
    });

    it("--resume exits 0, prints the evaluation table, and writes the checkpoint, metrics.json and both plots", () => {
      const { resumed } = runs;
      expect(resumed.code, resumed.stderr).to.equal(0);
      expect(resumed.stderr).to.equal(""); // --quiet
      expect(resumed.stdout).to.match(/simclr/);
      for (const file of [CHECKPOINT_FILE, "metrics.json", "loss.svg", "similarity.svg"]) {
        expect(existsSync(join(directory, file)), file).to.equal(true);
      }
    });

    it("the resumed run is bit-identical to the uninterrupted one: every checkpoint tensor, the loss history, the config", () => {
      expect(checkpointDifferences(join(directory, CHECKPOINT_FILE), join(reference, CHECKPOINT_FILE))).to.deep.equal([]);
      const metrics = readMetrics(directory);
      expect(jsonBitEqual(metrics.lossPerEpoch, uninterrupted.state.lossPerEpoch)).to.equal(true);
      expect(metrics.config).to.deep.equal(uninterrupted.config);
    });

    it("writes metrics.json with every field of the schema", () => {
      const metrics = readMetrics(directory);
      expect(metrics).to.include({ method: "simclr", seed: 0, epochs: 2 });
      expect(metrics.wallSeconds).to.be.a("number").and.above(0);
      expect(metrics.lossPerEpoch).to.be.an("array").with.length(2);
      metrics.lossPerEpoch.forEach((loss) => expect(loss).to.be.finite.and.above(0));
      expectUnitInterval(metrics.linearProbeAccuracy, "linearProbeAccuracy");
      expectUnitInterval(metrics.knnAccuracy, "knnAccuracy");
      expect(metrics.linearProbeAccuracy).to.be.above(0.5);
      expect(metrics.health).to.have.all.keys("alignment", "uniformity", "normalizedStd", "normalizedStdExpected", "effectiveRank");
      for (const [key, value] of Object.entries(metrics.health)) expect(value, key).to.be.a("number").and.satisfy(Number.isFinite);
      expect(metrics.health.normalizedStdExpected).to.be.closeTo(1 / Math.sqrt(256), 1e-12);
      expect(metrics.health.effectiveRank).to.be.within(1, 256);
      expect(metrics).to.not.have.any.keys("zeroShotAccuracy", "retrievalRecallAt1");
      expect(metrics.config).to.include({ method: "simclr", epochs: 2, batchSize: 64, trainLimit: 256, seed: 0 });
    });

    it("writes loss.svg and similarity.svg as well-formed SVG with the data drawn", () => {
      const loss = parseSvg(readFileSync(join(directory, "loss.svg"), "utf8"));
      const paths = allElements(loss).filter((e) => e.name === "path");
      expect(paths).to.have.length(2); // per step and per epoch mean
      expect(paths[0].attributes.d.match(/[ML]/g)).to.have.length(8); // 2 epochs × 4 steps
      expect(paths[1].attributes.d.match(/[ML]/g)).to.have.length(2);
      const similarity = parseSvg(readFileSync(join(directory, "similarity.svg"), "utf8"));
      const cells = allElements(similarity).filter((e) => e.name === "rect").length - 1 - 5; // minus background and legend
      const side = Math.round(Math.sqrt(cells));
      expect(side * side).to.equal(cells); // a square matrix…
      expect(side).to.be.at.least(10); // …of at least one image per digit
    });

    it("eval DIR --quiet re-evaluates a checkpoint: the same table, metrics.json and plots as train wrote for these weights", async () => {
      const evaluated = await referenceEval;
      expect(evaluated.code, evaluated.stderr).to.equal(0);
      expect(evaluated.stderr).to.equal("");
      expect(evaluated.stdout).to.equal(runs.resumed.stdout);
      expect(readFileSync(join(reference, CHECKPOINT_FILE)).equals(referenceCheckpoint)).to.equal(true); // eval never writes the checkpoint
      // The two checkpoints are bit-identical (above); so are the evaluations, except the training wall time.
      const fromEval = readMetrics(reference);
      const fromTrain = readMetrics(directory);
      expect(fromEval.wallSeconds).to.equal(uninterrupted.state.wallSeconds);
      expect(jsonBitEqual({ ...fromEval, wallSeconds: 0 }, { ...fromTrain, wallSeconds: 0 }), JSON.stringify([fromEval, fromTrain])).to
        .equal(true);
      for (const file of ["loss.svg", "similarity.svg"]) {
        expect(readFileSync(join(reference, file)).equals(readFileSync(join(directory, file))), file).to.equal(true);
      }
    });

    it("refuses to overwrite the checkpoint without --resume or --force", async () => {
      const modified = statSync(join(directory, CHECKPOINT_FILE)).mtimeMs;
      const refused = await cli(["train", "simclr", ...TINY_ARGS, "--out", directory]);
      expectCleanFailure(
        refused,
        2,
        `train: ${directory} already holds a checkpoint; pass --resume to continue it or --force to start over`,
      );
      expect(statSync(join(directory, CHECKPOINT_FILE)).mtimeMs).to.equal(modified);
    });

    it("refuses to resume a checkpoint as another method or with another config", async () => {
      expectCleanFailure(await cli(["train", "moco", "--resume", "--out", directory]), 2, /holds a simclr run, not moco$/);
      expectCleanFailure(
        await cli(["train", "simclr", "--resume", "--seed", "5", "--out", directory]),
        1,
        /was trained with seed 0, not 5 \(only epochs may change on resume\)$/,
      );
      expectCleanFailure(
        await cli(["train", "simclr", "--resume", "--batch-size", "32", "--out", directory]),
        1,
        /was trained with batchSize 64, not 32/,
      );
    });

    it("--force starts over in a directory that holds a checkpoint, even a broken one", async () => {
      const other = tempDir();
      writeFileSync(join(other, CHECKPOINT_FILE), "not a checkpoint");
      const forced = await cli(["train", "simclr", ...TINY_ARGS, "--out", other, "--force", "--stop-after", "1", "--quiet"]);
      expect(forced.code, forced.stderr).to.equal(0);
      expect(loadSafetensors(join(other, CHECKPOINT_FILE)).metadata).to.include({ method: "simclr", epoch: "1" });
    });

    it(
      "exits 2 on a usage mistake and 1 on a corrupt checkpoint, " +
        "with one line on stderr and no stack trace (real processes)",
      async () => {
        const corrupt = tempDir();
        writeFileSync(join(corrupt, CHECKPOINT_FILE), Buffer.alloc(100, 7));
        const [usage, missing, broken] = await Promise.all([
          cliProcess(["train", "supervised"]),
          cliProcess(["eval", join(corrupt, "nothing-here")]),
          cliProcess(["eval", corrupt]),
        ]);
        expectCleanFailure(
          usage,
          2,
          "contrastive: train: unknown method 'supervised' (simclr, moco, byol, clip, supcon, barlow, vicreg, simsiam, dino, swav)",
        );
        expectCleanFailure(missing, 1, /eval: no checkpoint at .*nothing-here/);
        expectCleanFailure(broken, 1, /is not a valid safetensors file: .*truncated/);
      },
    );
  });
});
