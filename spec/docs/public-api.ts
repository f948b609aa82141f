/**
 * The public API as the reader of src/index.ts sees it: every name the package root exports, with
 * whether it is a value or a type only and the file that declares it — read from the sources with
 * the TypeScript parser (syntax only, no type check, so it takes milliseconds), following
 * `export * from`, `export { a as b } from` and `export * as namespace from` through the barrels.
 *
 * Used by spec/docs/porting.spec.ts (every export has a row in docs/porting.md) and by
 * spec/docs/doc-examples.spec.ts (a doc block without imports may use any public name).
 */
import { readFileSync, existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/** The repository root (this file compiles to <build>/spec/docs/public-api.js). */
export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
/** The build root holding the compiled src/ (build/ for npm test). */
export const buildRoot = fileURLToPath(new URL("../../", import.meta.url));

export interface PublicName {
  name: string;
  kind: "value" | "type";
  /** The declaring file, relative to the repository root. */
  file: string;
  /** For members of a namespace export (`export * as data`): the namespace's name. */
  namespace?: string;
}

interface LocalExport {
  name: string;
  kind: "value" | "type";
  file: string;
}

const cache = new Map<string, LocalExport[]>();

function resolveModule(fromFile: string, specifier: string): string {
  const candidate = join(dirname(fromFile), specifier.replace(/\.js$/, ".ts"));
  if (existsSync(candidate)) return candidate;
  const index = join(dirname(fromFile), specifier, "index.ts");
  if (existsSync(index)) return index;
  throw new Error(`public-api: cannot resolve '${specifier}' from ${relative(repoRoot, fromFile)}`);
}

const isExported = (node: ts.Node): boolean =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);

/** The names a module exports (namespaces as one value name), following re-exports. */
function exportsOf(file: string): LocalExport[] {
  const cached = cache.get(file);
  if (cached) return cached;
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
  const found: LocalExport[] = [];
  const here = relative(repoRoot, file);
  const declared = new Map<string, "value" | "type">(); // local declarations, for `export { a }` without `from`
  for (const statement of source.statements) {
    const exported = isExported(statement);
    const add = (name: string, kind: "value" | "type") => {
      declared.set(name, declared.get(name) === "value" ? "value" : kind);
      if (exported) found.push({ name, kind, file: here });
    };
    if (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isEnumDeclaration(statement)) {
      if (statement.name) add(statement.name.text, "value");
    } else if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) {
      add(statement.name.text, "type");
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        if (ts.isIdentifier(declaration.name)) add(declaration.name.text, "value");
      }
    } else if (ts.isExportDeclaration(statement)) {
      const target = statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)
        ? resolveModule(file, statement.moduleSpecifier.text)
        : null;
      const clause = statement.exportClause;
      if (!clause && target) {
        found.push(...exportsOf(target)); // export * from "./x.js"
      } else if (clause && ts.isNamespaceExport(clause)) {
        found.push({ name: clause.name.text, kind: "value", file: relative(repoRoot, target!) }); // export * as ns from
      } else if (clause && ts.isNamedExports(clause)) {
        for (const element of clause.elements) {
          const original = (element.propertyName ?? element.name).text;
          const typeOnly = statement.isTypeOnly || element.isTypeOnly;
          if (target) {
            const origin = exportsOf(target).find((e) => e.name === original);
            if (!origin) {
              throw new Error(`public-api: ${here} re-exports '${original}', which ${relative(repoRoot, target)} does not export`);
            }
            found.push({ name: element.name.text, kind: typeOnly ? "type" : origin.kind, file: origin.file });
          } else {
            found.push({ name: element.name.text, kind: typeOnly ? "type" : declared.get(original) ?? "value", file: here });
          }
        }
      }
    }
  }
  cache.set(file, found);
  return found;
}

/** Every public name: the root's exports, then the members of each namespace export (as `ns.name`). */
export function publicApi(): PublicName[] {
  const root = join(repoRoot, "src/index.ts");
  const source = ts.createSourceFile(root, readFileSync(root, "utf8"), ts.ScriptTarget.ES2022, true);
  const names: PublicName[] = [...exportsOf(root)];
  for (const statement of source.statements) {
    if (
      ts.isExportDeclaration(statement) && statement.exportClause && ts.isNamespaceExport(statement.exportClause) &&
      statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)
    ) {
      const namespace = statement.exportClause.name.text;
      for (const member of exportsOf(resolveModule(root, statement.moduleSpecifier.text))) names.push({ ...member, namespace });
    }
  }
  const seen = new Set<string>();
  return names.filter((n) => {
    const key = `${n.namespace ?? ""}.${n.name}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
