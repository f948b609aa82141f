/**
 * docs/methods.md stays true:
 *  - every ```ts block is one of spec/methods/doc-examples.ts's regions, verbatim, and runs with
 *    the result its comments claim;
 *  - every command of the command-line section runs: `contrastive train …` on a tiny budget
 *    (appended: --limit 128 --batch-size 64 --stop-after 1 --quiet; --out moved to a temp dir),
 *    `contrastive augment` into a temp dir, `contrastive eval DIR` up to the checkpoint lookup
 *    (a full evaluation is spec/cli/cli.spec.ts's job), `npm …` as a script of package.json;
 *  - the metrics.json example has exactly the fields a real metrics.json has;
 *  - every flag the page names is one the CLI knows, and every spec and source file it names exists.
 */
import { expect } from "chai";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { HELP_COMMANDS, metricsOf } from "../../src/cli/commands.js";
import { CHECKPOINT_FILE } from "../../src/methods/trainer.js";
import { cli } from "../cli/helpers.js";
import { cachedTiny, cleanupTempDirs, jsonBitEqual, tempDir } from "./helpers.js";
import { mocoQueue, oneLoss, quickEvaluation, trainAndResume } from "./doc-examples.js";

/** A file of the repository (this spec runs from build/spec/methods/ or any out dir of that depth). */
const repoFile = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
const doc = readFileSync(repoFile("docs/methods.md"), "utf8");
const source = readFileSync(repoFile("spec/methods/doc-examples.ts"), "utf8");

function fencedBlocks(language: string): { body: string; before: string }[] {
  return [...doc.matchAll(new RegExp(`(.*)\\n\`\`\`${language}\\n([\\s\\S]*?)\\n\`\`\``, "g"))].map((m) => ({ before: m[1], body: m[2] }));
}

function sourceRegion(name: string): string | null {
  const match = new RegExp(`// #region ${name}\\n([\\s\\S]*?)\\n// #endregion`).exec(source);
  return match ? match[1] : null;
}

/** The keys of an object and of its object-valued fields, as "a", "a.b" paths. */
function keyPaths(value: unknown, prefix = ""): string[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([key, inner]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    const nested = /^\d+$/.test(Object.keys(inner ?? {})[0] ?? "") ? [] : keyPaths(inner, path); // {"1": …, "5": …}: the ks, not fields
    return [path, ...nested];
  });
}

describe("methods: docs/methods.md", () => {
  after(cleanupTempDirs);

  it("every ts block is a region of doc-examples.ts, verbatim", () => {
    const blocks = fencedBlocks("ts");
    expect(blocks.length).to.equal(4);
    for (const block of blocks) {
      const name = /^<!-- example: (\w+) -->$/.exec(block.before)?.[1];
      expect(name, `a ts block without <!-- example: name --> before it:\n${block.body}`).to.be.a("string");
      expect(block.body, `docs/methods.md: the block after <!-- example: ${name} --> should be\n${sourceRegion(name!)}\n`).to.equal(
        sourceRegion(name!),
      );
    }
  });

  it("oneLoss: a SimCLR loss a little below log(2N − 1) at initialization", () => {
    const loss = oneLoss();
    expect(loss).to.be.within(4, Math.log(127));
  });

  it("mocoQueue: three steps of 2 × 64 keys leave the pointer at 128 of K = 256", () => {
    expect(mocoQueue()).to.deep.equal({ pointer: 128, keysInQueue: 256 });
  });

  it("trainAndResume and quickEvaluation: bit-identical to the uninterrupted run and its evaluation", () => {
    const resumed = trainAndResume(tempDir());
    const { run, evaluation } = cachedTiny("simclr"); // the same config, uninterrupted
    expect(jsonBitEqual(resumed.state.lossPerStep, run.state.lossPerStep)).to.equal(true);
    expect(resumed.state.epoch).to.equal(2);
    const quick = quickEvaluation(resumed);
    expect(quick).to.deep.equal({ linearProbe: evaluation.linearProbe.testAccuracy, knn: evaluation.knn.accuracy });
  });

  it("the metrics.json example has exactly the fields of a real CLIP metrics.json", () => {
    const block = fencedBlocks("json").find((b) => b.before === "<!-- metrics-schema -->");
    expect(block, "no json block after <!-- metrics-schema -->").to.not.equal(undefined);
    const { run, evaluation } = cachedTiny("clip");
    const real = JSON.parse(JSON.stringify(metricsOf(run.config, run.state, evaluation)));
    expect(keyPaths(JSON.parse(block!.body)).sort()).to.deep.equal(keyPaths(real).sort());
    // and every field of metrics.json and of its health record is explained in the table below it
    for (const key of Object.keys(real)) expect(doc, key).to.include(`\`${key}\``);
    for (const key of Object.keys(real.health)) {
      expect(doc.includes(`\`${key}\``) || doc.includes(`\`health.${key}\``), `health.${key}`).to.equal(true);
    }
  });

  it("every command of the command-line section runs (on a tiny budget)", async function() {
    const section = doc.slice(doc.indexOf("## The command line"), doc.indexOf("## metrics.json"));
    const lines = fencedBlocks("sh")
      .filter((b) => section.includes(b.body))
      .flatMap((b) => b.body.split("\n"))
      .map((line) => line.replace(/#.*/, "").trim())
      .filter((line) => line !== "");
    expect(lines.length).to.be.at.least(8);
    const scratch = tempDir();
    const directoryFor = (path: string) => join(scratch, path.replace(/[^\w.-]/g, "_"));
    const scripts = (JSON.parse(readFileSync(repoFile("package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    for (const line of lines) {
      const [program, ...words] = line.split(/\s+/);
      if (program === "npm") {
        const script = words[0] === "run" ? words[1] : words[0];
        expect(scripts, line).to.have.property(script);
        continue;
      }
      expect(program, line).to.equal("contrastive");
      const argv = [...words];
      const out = argv.indexOf("--out");
      if (argv[0] === "train") {
        if (out >= 0) argv[out + 1] = directoryFor(argv[out + 1]);
        else argv.push("--out", directoryFor(`default-${argv[1]}`));
        argv.push("--limit", "128", "--batch-size", "64", "--stop-after", "1", "--quiet");
        const result = await cli(argv);
        expect(result.code, `${line}\n${result.stderr}`).to.equal(0);
        expect(existsSync(join(argv[argv.indexOf("--out") + 1], CHECKPOINT_FILE)), line).to.equal(true);
      } else if (argv[0] === "augment") {
        argv[out + 1] = directoryFor(argv[out + 1]);
        const result = await cli(argv);
        expect(result.code, `${line}\n${result.stderr}`).to.equal(0);
        expect(readFileSync(argv[out + 1]).subarray(1, 4).toString(), line).to.equal("PNG");
      } else if (argv[0] === "eval") {
        // Accepted as written: it gets as far as looking for the checkpoint.
        const result = await cli(["eval", directoryFor("never-trained")]);
        expect(result.code, line).to.equal(1);
        expect(result.stderr, line).to.match(/^contrastive: eval: no checkpoint at /);
        expect(argv, line).to.have.length(2);
      } else {
        expect.fail(`docs/methods.md: no spec runs '${line}'`);
      }
    }
  });

  it("every flag the page names is one the CLI knows", async () => {
    // The usage, and every command's --help (the flags are listed there).
    let help = (await cli(["help"])).stdout;
    for (const command of HELP_COMMANDS) help += (await cli([command, "--help"])).stdout;
    const flags = new Set([...doc.matchAll(/`(--[a-z-]+)/g)].map((m) => m[1]));
    expect(flags.size).to.be.above(10);
    for (const flag of flags) expect(help, `docs/methods.md names ${flag}`).to.include(flag);
  });

  it("every spec and source file the page names exists", () => {
    const paths = new Set([...doc.matchAll(/`((?:spec|src)\/[\w/.-]+\.ts)`/g)].map((m) => m[1]));
    expect(paths.size).to.be.above(15);
    for (const path of paths) expect(existsSync(repoFile(path)), path).to.equal(true);
  });
});
