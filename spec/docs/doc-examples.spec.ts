/**
 * No code example in docs/ rots: every ```ts block of every docs/*.md page is checked, in one of
 * three ways chosen by an HTML comment right above the block (invisible on the rendered page):
 *
 *   <!-- example: NAME -->     the block is, verbatim, the region `// #region NAME … // #endregion`
 *                              of a .ts file under src/, examples/ or spec/ that is a spec or that
 *                              a spec imports (and so runs): docs/losses.md's worked examples
 *                              (spec/losses/docs.spec.ts also checks their printed output).
 *   <!-- excerpt: PATH -->     the block's lines appear, in order and contiguous (a `// …` line
 *                              marks an elision), in PATH, a file that a spec imports:
 *                              docs/exercises.md's excerpts of examples/exercise-*.ts.
 *   (no marker)                the block is a program: it is type-checked (strict) against src/
 *                              and then run, in a fresh temporary working directory with console
 *                              output silenced. Imports from "contrastive-ts" (or paths relative
 *                              to docs/, like "../src/eval/index.js") are resolved to this
 *                              checkout; a block without imports gets the public names it uses
 *                              imported for it, members of the `data` namespace included.
 *
 * Modifiers for programs:
 *   <!-- docs-check: setup CODE -->      CODE runs before the block (the variables a fragment
 *                                        assumes: a model, a batch); it may span lines.
 *   <!-- docs-check: compile-only REASON --> type-checked but not run (too slow for the suite).
 *
 * Blocks in other languages (python, sh, text) are not checked here. A block that is not valid
 * TypeScript (pseudo-code, a bare signature) should be fenced as `text`.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { publicApi, repoRoot, buildRoot } from "./public-api.js";

export interface DocBlock {
  page: string; // docs/x.md
  line: number; // 1-based line of the opening fence
  language: string;
  code: string;
  directives: string[]; // the contents of the HTML comments right above the fence
}

/** Every fenced block of a markdown page, with the HTML comments immediately above it. */
export function fencedBlocks(page: string, text: string): DocBlock[] {
  const lines = text.split("\n");
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)/.exec(lines[i]);
    if (!open) continue;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    // HTML comments directly above (no blank line between them and the fence)
    const directives: string[] = [];
    let above = i - 1;
    while (above >= 0 && lines[above].trimEnd().endsWith("-->")) {
      let start = above;
      while (start >= 0 && !lines[start].includes("<!--")) start--;
      if (start < 0) break;
      const comment = lines.slice(start, above + 1).join("\n");
      directives.unshift(comment.slice(comment.indexOf("<!--") + 4, comment.lastIndexOf("-->")).trim());
      above = start - 1;
    }
    blocks.push({ page, line: i + 1, language: open[1], code: lines.slice(i + 1, end).join("\n"), directives });
    i = end;
  }
  return blocks;
}

const normalize = (line: string) => line.trim().replace(/\s+/g, " ");
const normalizedLines = (code: string) => code.split("\n").map(normalize).filter((line) => line !== "");

function filesUnder(folder: string, suffix: string): string[] {
  const absolute = join(repoRoot, folder);
  if (!existsSync(absolute)) return [];
  return readdirSync(absolute, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(suffix)).map((f) => join(folder, f));
}

/** Is `file` (repo-relative .ts) imported by some spec? Then the suite runs it. */
function importedBySpec(file: string): boolean {
  const target = resolve(repoRoot, file).replace(/\.ts$/, ".js");
  return filesUnder("spec", ".ts").some((spec) => {
    const source = readFileSync(join(repoRoot, spec), "utf8");
    return [...source.matchAll(/from\s+"(\.[^"]+)"/g)].some((m) => resolve(dirname(join(repoRoot, spec)), m[1]) === target);
  });
}

const pages = readdirSync(join(repoRoot, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`);
const blocks = pages.flatMap((page) => fencedBlocks(page, readFileSync(join(repoRoot, page), "utf8"))).filter((b) =>
  b.language === "ts" || b.language === "typescript"
);
const directive = (block: DocBlock, name: string): string | null => {
  const found = block.directives.find((d) => d === name || d.startsWith(`${name}:`) || d.startsWith(`${name} `));
  return found === undefined ? null : found.slice(name.length).replace(/^:/, "").trim();
};
const checkDirective = (block: DocBlock, name: string): string | null => {
  const check = directive(block, "docs-check");
  if (check === null) return null;
  return check === name || check.startsWith(`${name} `) || check.startsWith(`${name}\n`)
    ? check.slice(name.length).trim().replace(/^\((.*)\)$/s, "$1")
    : null;
};
const isProgram = (block: DocBlock) => directive(block, "example") === null && directive(block, "excerpt") === null;

// ---- programs: build one .ts file per block (type check) and one .mjs per block (run) ----------

const api = publicApi();
const rootValues = new Map(api.filter((n) => !n.namespace).map((n) => [n.name, n.kind]));
const namespaceMembers = new Map(api.filter((n) => n.namespace).map((n) => [n.name, n]));

/** Names the code binds itself (imports, declarations, parameters) and identifiers it reads. */
function bindingsAndReferences(code: string): { bound: Set<string>; referenced: Set<string> } {
  const source = ts.createSourceFile("block.ts", code, ts.ScriptTarget.ES2022, true);
  const bound = new Set<string>();
  const referenced = new Set<string>();
  const bindName = (name: ts.BindingName) => {
    if (ts.isIdentifier(name)) bound.add(name.text);
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) bindName(element.name);
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportSpecifier(node) || ts.isNamespaceImport(node) || ts.isImportClause(node)) {
      if (node.name) bound.add(node.name.text);
    } else if (ts.isVariableDeclaration(node) || ts.isParameter(node) || ts.isBindingElement(node)) {
      bindName(node.name);
    } else if (
      (ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node) || ts.isInterfaceDeclaration(node) ||
        ts.isTypeAliasDeclaration(node)) && node.name
    ) {
      bound.add(node.name.text);
    } else if (ts.isIdentifier(node)) {
      const parent = node.parent;
      const isPropertyName = (ts.isPropertyAccessExpression(parent) && parent.name === node) ||
        (ts.isPropertyAssignment(parent) && parent.name === node) || (ts.isQualifiedName(parent) && parent.right === node) ||
        ((ts.isMethodDeclaration(parent) || ts.isPropertyDeclaration(parent) || ts.isPropertySignature(parent)) && parent.name === node);
      if (!isPropertyName) referenced.add(node.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { bound, referenced };
}

/** Rewrite the module specifiers of `code`; `map` returns the new specifier (or the old one). */
function rewriteSpecifiers(code: string, map: (specifier: string) => string): string {
  const source = ts.createSourceFile("block.ts", code, ts.ScriptTarget.ES2022, true);
  const edits: { start: number; end: number; text: string }[] = [];
  const visit = (node: ts.Node) => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)
    ) {
      edits.push({
        start: node.moduleSpecifier.getStart(source) + 1,
        end: node.moduleSpecifier.getEnd() - 1,
        text: map(node.moduleSpecifier.text),
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  let result = code;
  for (const edit of edits.sort((a, b) => b.start - a.start)) result = result.slice(0, edit.start) + edit.text + result.slice(edit.end);
  return result;
}

/** The block as a module: setup + block, plus imports of the public names it uses without importing. */
function programSource(block: DocBlock): string {
  const setup = checkDirective(block, "setup") ?? "";
  const body = `${setup}\n${block.code}`;
  const { bound, referenced } = bindingsAndReferences(body);
  const wanted = [...referenced].filter((name) => !bound.has(name));
  const rootImports = wanted.filter((name) => rootValues.has(name)).map((
    name,
  ) => (rootValues.get(name) === "type" ? `type ${name}` : name));
  const fromNamespace = wanted.filter((name) => !rootValues.has(name) && namespaceMembers.has(name)).map((name) =>
    namespaceMembers.get(name)!
  );
  const prelude: string[] = [];
  const namespaces = [...new Set(fromNamespace.map((n) => n.namespace!))].filter((ns) => !bound.has(ns));
  if (rootImports.length + namespaces.length > 0) {
    prelude.push(`import { ${[...rootImports, ...namespaces].join(", ")} } from "contrastive-ts";`);
  }
  for (const member of fromNamespace) {
    prelude.push(
      member.kind === "type"
        ? `type ${member.name} = ${member.namespace}.${member.name};`
        : `const ${member.name} = ${member.namespace}.${member.name};`,
    );
  }
  return `${prelude.join("\n")}\n${body}\n`;
}

/** Where an import of a doc block points: "contrastive-ts" is src/index, relative paths are relative to docs/. */
function sourceTarget(specifier: string): string | null {
  if (specifier === "contrastive-ts") return join(repoRoot, "src/index.js");
  if (specifier.startsWith(".")) return resolve(repoRoot, "docs", specifier);
  return null; // node:fs and other packages stay as they are
}

// Created by the `before` hook (so a run that filters these tests out leaves nothing behind).
const workDirectory = join(tmpdir(), `contrastive-ts-docs-check-${process.pid}-${Date.now()}`);
const programs = blocks.filter(isProgram).map((block, index) => {
  const source = programSource(block);
  const base = `${block.page.replace(/[^\w]+/g, "-")}-line${block.line}-${index}`;
  const checkFile = join(workDirectory, `${base}.ts`);
  const runFile = join(workDirectory, `${base}.mjs`);
  return { block, source, checkFile, runFile };
});

function typeCheck(): Map<string, string[]> {
  for (const program of programs) writeFileSync(program.checkFile, rewriteSpecifiers(program.source, (s) => sourceTarget(s) ?? s));
  const program = ts.createProgram([...programs.map((p) => p.checkFile), join(repoRoot, "src/types/ndarray-ops.d.ts")], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ["node"],
    typeRoots: [join(repoRoot, "node_modules/@types")],
  });
  const errors = new Map<string, string[]>();
  for (const p of programs) {
    const file = program.getSourceFile(p.checkFile)!;
    const diagnostics = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
    errors.set(
      p.checkFile,
      diagnostics.map((d) => {
        const { line } = d.file ? d.file.getLineAndCharacterOfPosition(d.start ?? 0) : { line: 0 };
        return `line ${line + 1} of the checked program: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
      }),
    );
  }
  return errors;
}

async function runProgram(p: (typeof programs)[number]): Promise<void> {
  const compiled =
    ts.transpileModule(p.source, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText;
  const runnable = rewriteSpecifiers(compiled, (s) => {
    const target = sourceTarget(s);
    return target === null ? s : pathToFileURL(join(buildRoot, relative(repoRoot, target))).href;
  });
  writeFileSync(p.runFile, runnable);
  const cwd = mkdtempSync(join(workDirectory, "cwd-"));
  const previous = process.cwd();
  const { log, info, table } = console;
  process.chdir(cwd);
  console.log = console.info = console.table = () => {};
  try {
    await import(pathToFileURL(p.runFile).href);
  } finally {
    console.log = log;
    console.info = info;
    console.table = table;
    process.chdir(previous);
  }
}

describe("docs: every ts example in docs/*.md is checked (spec/docs/doc-examples.spec.ts)", function() {
  this.timeout(120_000);
  let typeErrors = new Map<string, string[]>();

  before(function() {
    this.timeout(120_000);
    mkdirSync(workDirectory, { recursive: true });
    typeErrors = typeCheck();
  });

  after(() => rmSync(workDirectory, { recursive: true, force: true }));

  it("finds the examples of every page", () => {
    expect(pages).to.include.members(["docs/losses.md", "docs/nn-and-optim.md", "docs/exercises.md"]);
    expect(blocks.length).to.be.above(20);
  });

  for (const block of blocks) {
    const where = `${block.page}:${block.line}`;
    const example = directive(block, "example");
    const excerpt = directive(block, "excerpt");
    if (example !== null) {
      it(`${where} is region '${example}' of a file a spec runs`, () => {
        const holders = [...filesUnder("src", ".ts"), ...filesUnder("examples", ".ts"), ...filesUnder("spec", ".ts")].filter((file) =>
          readFileSync(join(repoRoot, file), "utf8").includes(`// #region ${example}\n`)
        );
        expect(holders, `no '// #region ${example}' under src/, examples/ or spec/`).to.have.length(1);
        const text = readFileSync(join(repoRoot, holders[0]), "utf8");
        const region = new RegExp(`// #region ${example}\\n([\\s\\S]*?)\\n// #endregion`).exec(text)![1];
        expect(normalizedLines(block.code).join("\n"), `${where} differs from the region in ${holders[0]}`).to.equal(
          normalizedLines(region).join("\n"),
        );
        expect(holders[0].endsWith(".spec.ts") || importedBySpec(holders[0]), `${holders[0]} is not imported by any spec`).to.equal(true);
      });
    } else if (excerpt !== null) {
      it(`${where} is an excerpt of ${excerpt}, which a spec runs`, () => {
        expect(existsSync(join(repoRoot, excerpt)), `${excerpt} does not exist`).to.equal(true);
        const fileLines = normalizedLines(readFileSync(join(repoRoot, excerpt), "utf8"));
        // pieces separated by `// …` lines must each appear contiguously, in order
        const pieces = block.code.split(/\n\s*\/\/ …\s*(?=\n|$)/).map(normalizedLines).filter((piece) => piece.length > 0);
        let from = 0;
        for (const piece of pieces) {
          let at = -1;
          for (let i = from; i + piece.length <= fileLines.length && at < 0; i++) {
            if (piece.every((line, k) => fileLines[i + k] === line)) at = i;
          }
          expect(at, `${where}: these lines are not in ${excerpt} (in this order, after the previous piece):\n${piece.join("\n")}`).to.be.at
            .least(0);
          from = at + piece.length;
        }
        expect(importedBySpec(excerpt), `${excerpt} is not imported by any spec`).to.equal(true);
      });
    } else {
      const program = programs.find((p) => p.block === block)!;
      const compileOnly = checkDirective(block, "compile-only");
      const what = compileOnly === null ? "type-checks and runs" : `type-checks (not run: ${compileOnly || "compile-only"})`;
      it(`${where} ${what}`, async () => {
        const errors = typeErrors.get(program.checkFile) ?? [];
        expect(
          errors,
          `${where} does not type-check:\n${errors.join("\n")}\n--- checked program ---\n${readFileSync(program.checkFile, "utf8")}`,
        ).to.deep.equal([]);
        if (compileOnly === null) await runProgram(program);
      });
    }
  }
});
