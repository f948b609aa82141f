/**
 * The public API as data, for the robustness tables: every exported function and class of
 * src/index.ts (and of its `data` namespace), and which of them take an options object.
 *
 * A parameter named `options` or `config` is an options object (the project's convention). It is
 * read from the compiled source of the function (for an op, its registered forward; for a class,
 * the nearest constructor up its prototype chain), so an export added tomorrow joins the tables
 * without anyone listing it.
 */
import * as T from "../../src/index.js";

export interface Export {
  /** The exported name, which is also the name its errors must start with. */
  name: string;
  value: Function;
  isClass: boolean;
  /** Parameter names, as compiled (defaults stripped). */
  params: string[];
  /** Position of the options parameter, or −1. */
  optionsIndex: number;
}

/** The parameter list of the source of `fn` (a function, arrow or class constructor). */
function parameterNames(source: string): string[] | null {
  const open = source.indexOf("(");
  if (open < 0) return null;
  let depth = 0;
  let end = open;
  for (; end < source.length; end++) {
    const c = source[end];
    if (c === "(" || c === "{" || c === "[") depth++;
    else if (c === ")" || c === "}" || c === "]") {
      depth--;
      if (depth === 0) break;
    }
  }
  const inside = source.slice(open + 1, end);
  // split at top-level commas
  const names: string[] = [];
  let level = 0, current = "";
  for (const c of inside) {
    if (c === "(" || c === "{" || c === "[") level++;
    if (c === ")" || c === "}" || c === "]") level--;
    if (c === "," && level === 0) {
      names.push(current);
      current = "";
    } else current += c;
  }
  if (current.trim() !== "") names.push(current);
  return names.map((p) => p.split("=")[0].replace("...", "").trim());
}

function constructorSource(cls: Function): string | null {
  for (let c: Function | null = cls; c && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    const source = c.toString();
    const at = source.search(/\bconstructor\s*\(/);
    if (at >= 0) return source.slice(at);
  }
  return null;
}

function describeExport(name: string, value: Function): Export {
  const isClass = /^class\b/.test(Function.prototype.toString.call(value));
  const definition = (value as { definition?: { forward: Function } }).definition;
  const source = isClass ? constructorSource(value) : (definition?.forward ?? value).toString();
  const params = source === null ? [] : parameterNames(source.replace(/^async\s+/, "").replace(/^function\s*\w*\s*/, "")) ?? [];
  return { name, value, isClass, params, optionsIndex: params.findIndex((p) => p === "options" || p === "config") };
}

/** Every exported function and class, `data.*` included (as "data.name"). */
export function publicExports(): Export[] {
  const out: Export[] = [];
  const visit = (prefix: string, namespace: Record<string, unknown>) => {
    for (const [name, value] of Object.entries(namespace)) {
      if (typeof value === "function") out.push(describeExport(prefix + name, value));
    }
  };
  visit("", T as unknown as Record<string, unknown>);
  visit("data.", T.data as unknown as Record<string, unknown>);
  return out;
}
