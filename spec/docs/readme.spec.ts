/**
 * docs/README.md is a map; this spec keeps it true:
 *   - every file it names exists;
 *   - each chapter section's `npm test -- --grep "<pattern>"` selects tests from exactly the spec
 *     files the row lists (checked against the titles of the whole suite: the suite as loaded when
 *     it is whole, as in a serial run; in `npm test`, which runs mocha in parallel workers that each
 *     load one file, the titles of a `mocha --dry-run` of every spec file; a partial serial run
 *     skips these);
 *   - every `--grep` pattern quoted on any docs/ page selects at least one test;
 *   - every spec title that docs/errata.md quotes is the start of a real test's title;
 *   - every relative link between the pages points at an existing file and heading.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve, dirname } from "node:path";
import type { Suite, Test } from "mocha";
import { repoRoot, buildRoot } from "./public-api.js";

const page = (name: string) => readFileSync(join(repoRoot, "docs", name), "utf8");
const readme = page("README.md");
const pages = readdirSync(join(repoRoot, "docs")).filter((f) => f.endsWith(".md")).sort();

interface MapRow {
  section: string;
  specFiles: string[];
  pattern: string;
}

/** The rows of the section table: the last cell holds `npm test -- --grep "…"` (pipes escaped as \|). */
function mapRows(): MapRow[] {
  return readme
    .split("\n")
    .filter((line) => line.startsWith("| ") && line.includes("npm test -- --grep"))
    .map((line) => line.split(/(?<!\\)\|/).map((cell) => cell.trim()))
    .filter((cells) => cells.length === 6 && /^`npm test -- --grep "(.*)"`$/.test(cells[4]))
    .map((cells) => {
      const command = /npm test -- --grep "(.*)"/.exec(cells[4])![1].replace(/\\\|/g, "|");
      return { section: cells[1], specFiles: [...cells[3].matchAll(/`(spec\/[\w/.-]+\.spec\.ts)`/g)].map((m) => m[1]), pattern: command };
    });
}

interface LoadedTest {
  title: string;
  file: string; // spec/…/x.spec.ts
}

function loadedTests(context: Mocha.Context): LoadedTest[] {
  let root: Suite = context.test!.parent!;
  while (root.parent) root = root.parent;
  const tests: LoadedTest[] = [];
  const walk = (suite: Suite) => {
    suite.tests.forEach((test: Test) =>
      tests.push({ title: test.fullTitle(), file: relative(buildRoot, test.file ?? "").replace(/\.js$/, ".ts") })
    );
    suite.suites.forEach(walk);
  };
  walk(root);
  return tests;
}

function allSpecFiles(): string[] {
  return readdirSync(join(repoRoot, "spec"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".spec.ts")).map((f) =>
    `spec/${f}`
  ).sort();
}

let dryRunTests: LoadedTest[] | null = null;

/**
 * Every test of every spec file, as `mocha --dry-run` loads them in a child process (nothing runs:
 * no hook, no test), with the same `--require`s as .mocharc.json; spec/support/titles-reporter.cjs
 * writes the titles. About 2 CPU seconds, once per process.
 */
function allTestsByDryRun(): LoadedTest[] {
  if (dryRunTests !== null) return dryRunTests;
  const folder = mkdtempSync(join(tmpdir(), "contrastive-spec-titles-"));
  try {
    const output = join(folder, "titles.json");
    const mocha = join(repoRoot, "node_modules", "mocha", "bin", "mocha.js");
    const args = ["--no-config", "--dry-run", "--reporter", "./spec/support/titles-reporter.cjs"];
    for (const required of ["build/src/ops/tensor-methods.js", "./spec/support/fast-check-seed.mjs"]) args.push("--require", required);
    const specs = allSpecFiles().map((file) => relative(repoRoot, join(buildRoot, file.replace(/\.ts$/, ".js"))));
    execFileSync(process.execPath, [mocha, ...args, ...specs], {
      cwd: repoRoot,
      env: { ...process.env, TITLES_JSON: output },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const tests = JSON.parse(readFileSync(output, "utf8")) as LoadedTest[];
    dryRunTests = tests.map((t) => ({ title: t.title, file: relative(buildRoot, t.file).replace(/\.js$/, ".ts") }));
    return dryRunTests;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/**
 * The tests of the whole suite: the loaded suite when every spec file of the repository is in it
 * (a serial whole-suite run); in a mocha parallel worker (MOCHA_WORKER_ID is set), which loads
 * only this file, the tests of a dry run of every spec file; otherwise (a partial serial run) skip.
 */
function requireWholeSuite(context: Mocha.Context): LoadedTest[] {
  const tests = loadedTests(context);
  const loaded = new Set(tests.map((t) => t.file));
  if (allSpecFiles().every((file) => loaded.has(file))) return tests;
  if (process.env.MOCHA_WORKER_ID !== undefined) return allTestsByDryRun();
  context.skip();
}

/** GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens. */
const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/ /g, "-");

describe("docs: docs/README.md, the map (spec/docs/readme.spec.ts)", () => {
  it("names files that exist", () => {
    const paths = [...readme.matchAll(/`((?:src|spec|examples|scripts|bench)\/[\w/.*-]+)`/g)].map((m) => m[1]).filter((p) =>
      !p.includes("*")
    );
    expect(paths.length).to.be.above(40);
    for (const path of paths) expect(existsSync(join(repoRoot, path)), `docs/README.md names ${path}, which does not exist`).to.equal(true);
    for (const folder of [...readme.matchAll(/`((?:src)\/\w+)\/\*\.ts`/g)].map((m) => m[1])) {
      expect(existsSync(join(repoRoot, folder)), folder).to.equal(true);
    }
  });

  it("lists every page of docs/", () => {
    for (const name of pages.filter((p) => p !== "README.md")) {
      expect(readme, `docs/README.md does not link ${name}`).to.include(`](${name})`);
    }
  });

  it("has a row for each chapter section 7.1–7.6 and the exercises", () => {
    const sections = mapRows().map((row) => row.section);
    for (const s of ["7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "Exercises"]) {
      expect(sections.some((cell) => cell.includes(s)), s).to.equal(true);
    }
  });

  for (const row of mapRows()) {
    it(`the pattern of '${row.section.replace(/\*/g, "").slice(0, 40)}' selects exactly its listed spec files`, function() {
      const tests = requireWholeSuite(this);
      const pattern = new RegExp(row.pattern);
      const selected = [...new Set(tests.filter((t) => pattern.test(t.title)).map((t) => t.file))].sort();
      expect(selected, `--grep "${row.pattern}" selects tests from these files; list exactly them in docs/README.md`).to.deep.equal(
        [...new Set(row.specFiles)].sort(),
      );
    });
  }

  it("every --grep pattern quoted in docs/*.md selects at least one test", function() {
    const tests = requireWholeSuite(this);
    for (const name of pages) {
      for (const match of page(name).matchAll(/npm test -- --grep "([^"<]+)"/g)) {
        const pattern = new RegExp(match[1].replace(/\\\|/g, "|"));
        expect(tests.some((t) => pattern.test(t.title)), `docs/${name}: --grep "${match[1]}" selects no test`).to.equal(true);
      }
    }
  });

  it("every spec title quoted in docs/errata.md starts a real test title (or names a describe block)", function() {
    const tests = requireWholeSuite(this);
    const errata = page("errata.md");
    const quoted = errata
      .split(/\n\s*\n/)
      .filter((paragraph) => /^Specs?:/m.test(paragraph))
      .flatMap((paragraph) => [...paragraph.slice(paragraph.search(/Specs?:/)).matchAll(/`([^`]+)`/g)].map((m) => m[1]))
      .filter((span) => !/\.(ts|md|json)$/.test(span) && !span.startsWith("spec/"));
    expect(quoted.length).to.be.above(15);
    for (const span of quoted) {
      expect(tests.some((t) => t.title.includes(span)), `docs/errata.md quotes the spec title '${span}', which no test has`).to.equal(true);
    }
  });

  it("every relative link between the pages points at an existing file and heading", () => {
    const anchors = new Map(pages.map((name) => [name, new Set([...page(name).matchAll(/^#+ (.*)$/gm)].map((m) => slug(m[1])))]));
    for (const name of pages) {
      for (const [, target, anchor] of page(name).matchAll(/\]\((?!https?:)([^)#\s]*)(?:#([^)\s]+))?\)/g)) {
        const file = target === "" ? name : target;
        const path = resolve(dirname(join(repoRoot, "docs", name)), file);
        expect(existsSync(path), `docs/${name} links ${file}, which does not exist`).to.equal(true);
        if (anchor && file.endsWith(".md") && anchors.has(file)) {
          expect(anchors.get(file)!.has(anchor), `docs/${name} links ${file}#${anchor}: no such heading`).to.equal(true);
        }
      }
    }
  });
});
