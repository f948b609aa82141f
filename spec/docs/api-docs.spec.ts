/**
 * The API reference (`npm run docs`, TypeDoc) and editor hover both read the doc comments on the
 * declarations, so this spec holds the sources to what they need:
 *
 *   - every name src/index.ts exports (following `export { … } from`, `export *` and
 *     `export * as ns`), and every public member of an exported class or interface, has a
 *     non-empty doc comment of its own (an override may inherit its base's; a constructor's
 *     parameter properties may be documented by its `@param` tags);
 *   - every file of src/ opens with a module comment carrying `@module`, and no declaration takes
 *     a module comment as its own (TypeScript attaches a file's first comment to its first
 *     statement: without a comment of its own, that export's hover would show the file header);
 *   - hovering a use of `ntXent` shows ntXent's own doc;
 *   - every relative link `[text](page.md#anchor)` in docs/ and README.md resolves under both
 *     GitHub's and TypeDoc's heading anchors (which differ: TypeDoc keeps `§`, drops inline code
 *     and collapses only the first `--`).
 *
 * Read with the TypeScript compiler API (one program, no type check, no lib: a couple of seconds).
 * A self-test runs the same checker on a small in-memory project with known omissions.
 */
import { expect } from "chai";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import ts from "typescript";
import { publicApi, repoRoot } from "./public-api.js";

const compilerOptions: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  noEmit: true,
  noLib: true, // only the project's own declarations are read: no need to parse lib.d.ts
  types: [],
};

/** A language service over real files plus in-memory ones (which win over the disk). */
function languageService(rootFiles: string[], virtualFiles: Map<string, string>, currentDirectory: string): ts.LanguageService {
  const read = (path: string): string | undefined => virtualFiles.get(path) ?? (existsSync(path) ? readFileSync(path, "utf8") : undefined);
  const host: ts.LanguageServiceHost = {
    getScriptFileNames: () => rootFiles,
    getScriptVersion: () => "1",
    getScriptSnapshot: (path) => {
      const text = read(path);
      return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
    },
    getCurrentDirectory: () => currentDirectory,
    getCompilationSettings: () => compilerOptions,
    getDefaultLibFileName: (options) => ts.getDefaultLibFilePath(options),
    fileExists: (path) => virtualFiles.has(path) || ts.sys.fileExists(path),
    readFile: read,
    readDirectory: ts.sys.readDirectory,
    directoryExists: (path) => [...virtualFiles.keys()].some((file) => file.startsWith(`${path}/`)) || ts.sys.directoryExists(path),
    getDirectories: ts.sys.getDirectories,
  };
  return ts.createLanguageService(host, ts.createDocumentRegistry());
}

const jsDocText = (doc: ts.JSDoc): string =>
  (typeof doc.comment === "string" ? doc.comment : (doc.comment ?? []).map((part) => part.text).join("")).trim();
const isModuleComment = (doc: ts.JSDoc): boolean =>
  (doc.tags ?? []).some((tag) => tag.tagName.text === "module" || tag.tagName.text === "packageDocumentation");
/** The doc comment a tool shows for a declaration: the last one before it, if it is not a module comment. */
function ownDoc(declaration: ts.Node): string {
  const docs = ts.getJSDocCommentsAndTags(declaration).filter(ts.isJSDoc);
  const last = docs[docs.length - 1];
  return last === undefined || isModuleComment(last) ? "" : jsDocText(last);
}
const isPublic = (declaration: ts.Declaration): boolean =>
  !(ts.getCombinedModifierFlags(declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) &&
  !((declaration as ts.NamedDeclaration).name && ts.isPrivateIdentifier((declaration as ts.NamedDeclaration).name!));

export interface ApiDocReport {
  /** "path:line name" of every export or member without a doc comment. */
  missing: string[];
  /** The exported names visited, namespace members as "ns.name". */
  visited: Set<string>;
}

/** Walk the exports of `entry` (and their members) and report those without a doc comment. */
export function undocumentedExports(program: ts.Program, entry: string, root: string): ApiDocReport {
  const checker = program.getTypeChecker();
  const missing: string[] = [];
  const visited = new Set<string>();
  const seen = new Set<ts.Declaration>();
  const where = (node: ts.Node) => {
    const file = node.getSourceFile();
    return `${relative(root, file.fileName)}:${file.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  };
  const hasDoc = (symbol: ts.Symbol) => ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() !== "";

  const checkMembers = (owner: string, members: ts.Symbol[]) => {
    for (const member of members) {
      const declarations = (member.declarations ?? []).filter((d) => !d.getSourceFile().isDeclarationFile);
      if (member.name === "prototype" || declarations.length === 0 || !declarations.some(isPublic)) continue;
      if (declarations.every((d) => seen.has(d))) continue;
      declarations.forEach((d) => seen.add(d));
      if (!hasDoc(member)) missing.push(`${where(declarations[0])} ${owner}.${member.name}`);
    }
  };

  const visit = (exported: ts.Symbol, prefix: string) => {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const name = prefix + exported.name;
    const declarations = symbol.declarations ?? [];
    if (declarations.some(ts.isSourceFile)) { // export * as ns from "…": its members
      for (const member of checker.getExportsOfModule(symbol)) visit(member, `${name}.`);
      return;
    }
    visited.add(name);
    if (declarations.length === 0 || declarations.every((d) => seen.has(d))) return;
    declarations.forEach((d) => seen.add(d));
    // Overloads: each signature needs its doc (the implementation's is not shown).
    const shown = declarations.filter((d) => !(ts.isFunctionDeclaration(d) && d.body && declarations.length > 1));
    const documented = shown.every(ts.isFunctionDeclaration) ? shown.every((d) => ownDoc(d) !== "") : shown.some((d) => ownDoc(d) !== "");
    if (!documented) missing.push(`${where(shown.find((d) => ownDoc(d) === "") ?? declarations[0])} ${name}`);
    if (symbol.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface)) {
      checkMembers(name, checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol)));
    }
    if (symbol.flags & ts.SymbolFlags.Class) {
      checkMembers(name, checker.getPropertiesOfType(checker.getTypeOfSymbol(symbol))); // statics
      for (const declaration of declarations.filter(ts.isClassDeclaration)) {
        for (const constructor of declaration.members.filter(ts.isConstructorDeclaration)) {
          if (isPublic(constructor) && ownDoc(constructor) === "") missing.push(`${where(constructor)} ${name}.constructor`);
        }
      }
    }
  };

  const entryFile = program.getSourceFile(entry);
  if (!entryFile) throw new Error(`api-docs: ${entry} is not in the program`);
  for (const exported of checker.getExportsOfModule(checker.getSymbolAtLocation(entryFile)!)) visit(exported, "");
  return { missing, visited };
}

/** Files whose opening comment is not a module comment, or whose module comment is some declaration's only doc. */
export function misplacedModuleComments(program: ts.Program, files: string[], root: string): string[] {
  const problems: string[] = [];
  for (const file of files) {
    const source = program.getSourceFile(file);
    if (!source) throw new Error(`api-docs: ${file} is not in the program`);
    const name = relative(root, file);
    const first = ts.getLeadingCommentRanges(source.text, 0)?.[0]; // after a #! line, if any
    const opening = first ? source.text.slice(first.pos, first.end) : "";
    if (!opening.startsWith("/**") || !/@module\b|@packageDocumentation\b/.test(opening)) {
      problems.push(`${name}: the opening comment is not a /** … @module */ module comment`);
    }
    const statement = source.statements[0];
    if (statement && !ts.isImportDeclaration(statement) && !ts.isExportDeclaration(statement)) {
      const docs = ts.getJSDocCommentsAndTags(statement).filter(ts.isJSDoc);
      if (docs.length > 0 && isModuleComment(docs[docs.length - 1])) {
        problems.push(`${name}: the module comment is the only doc of the first statement (give it its own)`);
      }
    }
  }
  return problems;
}

// ---- docs anchors ---------------------------------------------------------------------------

/** A heading's anchors, as GitHub and TypeDoc 0.28 compute them (numbered "-1", "-2" on repeats). */
function anchorsOf(markdown: string): { github: Set<string>; typedoc: Set<string> } {
  const headings: string[] = [];
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (/^(```|~~~)/.test(line)) fenced = !fenced;
    const heading = !fenced && /^#{1,6} (.*)$/.exec(line);
    if (heading) headings.push(heading[1].replace(/\[([^\]]*)\]\([^)]*\)/g, "$1").trim());
  }
  // GitHub: the text (inline code included), lowercase, everything but letters, digits, spaces, _ and - dropped.
  const github = (text: string) => text.replace(/`/g, "").toLowerCase().replace(/[^\p{L}\p{M}\p{N}\s_-]/gu, "").replace(/ /g, "-");
  // TypeDoc (Slugger.serialize): the text tokens only (inline code dropped), its punctuation set,
  // whitespace to "-", then only the FIRST run of hyphens collapsed.
  const typedoc = (text: string) =>
    text.replace(/`[^`]*`/g, "").trim().replace(/[\u2000-\u206F\u2E00-\u2E7F\\'!"#$%&()*+,./:;<=>?@[\]^`{|}~]/g, "")
      .replace(/\s/g, "-").replace(/--+/, "-").toLowerCase() || "_";
  const numbered = (slugs: string[]) => {
    const counts = new Map<string, number>();
    return new Set(slugs.map((slug) => {
      const count = counts.get(slug) ?? 0;
      counts.set(slug, count + 1);
      return count === 0 ? slug : `${slug}-${count}`;
    }));
  };
  return { github: numbered(headings.map(github)), typedoc: numbered(headings.map(typedoc)) };
}

/** Every relative link with an anchor in the given markdown files that does not resolve, and why. */
export function brokenAnchors(files: string[], root: string): string[] {
  const broken: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    for (const [, target, anchor] of text.matchAll(/\]\((?!https?:|mailto:)([^)#\s]*)#([^)\s]+)\)/g)) {
      const targetFile = target === "" ? file : normalize(join(dirname(file), target));
      if (!targetFile.endsWith(".md") || !existsSync(targetFile)) continue;
      const { github, typedoc } = anchorsOf(readFileSync(targetFile, "utf8"));
      const missingIn = [github.has(anchor) ? "" : "GitHub", typedoc.has(anchor) ? "" : "TypeDoc"].filter(Boolean);
      if (missingIn.length > 0) {
        broken.push(`${relative(root, file)} → ${relative(root, targetFile)}#${anchor} (no such anchor on ${missingIn.join(", ")})`);
      }
    }
  }
  return broken;
}

// ---- the specs ------------------------------------------------------------------------------

const srcDir = join(repoRoot, "src");
const sourceFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : [];
  });

describe("docs: the API reference and editor hover (spec/docs/api-docs.spec.ts)", function() {
  this.timeout(60000);
  const entry = join(srcDir, "index.ts");
  const files = sourceFiles(srcDir);
  const hoverFile = join(repoRoot, "api-docs-hover.ts"); // in memory only
  const hoverText = 'import { ntXent } from "./src/index.js";\nntXent;\n';
  let service: ts.LanguageService;
  let program: ts.Program;

  before(() => {
    service = languageService([entry, ...files, hoverFile], new Map([[hoverFile, hoverText]]), repoRoot);
    program = service.getProgram()!;
  });

  it("every export of src/index.ts, and every public member of an exported class or interface, has a doc comment", () => {
    const { missing, visited } = undocumentedExports(program, entry, repoRoot);
    expect(missing, `exports without a doc comment:\n  ${missing.join("\n  ")}\n`).to.deep.equal([]);
    // The walk sees every public name (spec/docs/public-api.ts reads the same exports syntactically).
    const expected = publicApi().map((n) => (n.namespace ? `${n.namespace}.${n.name}` : n.name)).filter((n) => n !== "data");
    expect(expected.filter((name) => !visited.has(name)), "public names the walk did not visit").to.deep.equal([]);
  });

  it("every file of src/ opens with a module comment (@module) that no declaration takes as its own", () => {
    const problems = misplacedModuleComments(program, files, repoRoot);
    expect(problems, problems.join("\n")).to.deep.equal([]);
  });

  it("hovering ntXent in an editor shows ntXent's own doc comment", () => {
    const info = service.getQuickInfoAtPosition(hoverFile, hoverText.lastIndexOf("ntXent"));
    const shown = ts.displayPartsToString(info?.documentation ?? []);
    const declaration = program.getSourceFile(join(srcDir, "losses/nt-xent.ts"))!.statements.find((s) =>
      ts.isFunctionDeclaration(s) && s.name?.text === "ntXent"
    )!;
    expect(shown).to.include("NT-Xent, SimCLR's loss");
    expect(shown).to.equal(ownDoc(declaration)); // its own comment, not the file header
  });

  it("every relative link with an anchor in docs/ and README.md resolves on GitHub and in TypeDoc", () => {
    const docs = join(repoRoot, "docs");
    const pages = [join(repoRoot, "README.md"), ...readdirSync(docs).filter((n) => n.endsWith(".md")).map((n) => join(docs, n))];
    const broken = brokenAnchors(pages, repoRoot);
    expect(broken, broken.join("\n")).to.deep.equal([]);
  });

  it("self-test: the checks report the omissions of a small project, and nothing else", () => {
    const root = "/virtual";
    const file = (name: string) => join(root, name);
    const project = new Map([
      [file("package.json"), '{ "type": "module" }'],
      [
        file("index.ts"),
        "/**\n * The entry.\n *\n * @module\n */\n" +
        'export * from "./a.js";\nexport * as ns from "./b.js";\nexport { c as renamed } from "./c.js";\n',
      ],
      [
        file("a.ts"),
        "/**\n * Header of a.\n *\n * @module\n */\n" +
        "/** Documented. */\nexport function documented(): number {\n  return 1;\n}\n" +
        "export function bare(): number {\n  return 2;\n}\n" +
        "/** A class. */\nexport class Box {\n  /** Documented field. */\n  size = 1;\n  open = false;\n  private hidden = 0;\n" +
        "  constructor(size: number) {\n    this.size = size + this.hidden;\n  }\n}\n" +
        "/** An interface. */\nexport interface Shape {\n  /** Documented. */\n  width: number;\n  height: number;\n}\n",
      ],
      [file("b.ts"), "/**\n * Header of b, attached to its first statement.\n */\nexport const answer = 42;\n"],
      [file("c.ts"), "/**\n * Header of c.\n *\n * @module\n */\n\nexport const c = 1;\n"],
    ]);
    const names = [...project.keys()].filter((name) => name.endsWith(".ts"));
    const virtualProgram = languageService(names, project, root).getProgram()!;
    const { missing } = undocumentedExports(virtualProgram, file("index.ts"), root);
    expect(missing.sort()).to.deep.equal(
      ["a.ts:10 bare", "a.ts:17 Box.open", "a.ts:19 Box.constructor", "a.ts:27 Shape.height", "c.ts:7 renamed"].sort(),
    );
    expect(misplacedModuleComments(virtualProgram, names, root)).to.deep.equal([
      "b.ts: the opening comment is not a /** … @module */ module comment",
      "c.ts: the module comment is the only doc of the first statement (give it its own)",
    ]);
  });
});
