/**
 * The command line, read with `node:util`'s `parseArgs` and then checked against a table of flags
 * (one `FlagSpec` per flag) that also writes each command's `--help`, so the two cannot disagree.
 *
 * `util.parseArgs` splits the words (`--name value`, `--name=value`, `--flag`, positionals, `--`
 * ending the options); it runs with `strict: false` and `tokens: true`, and this file does what it
 * does not do, from its tokens:
 *  - typed values: `number` (any finite double, "1e-3", "-0.5") and `integer` (a whole number),
 *    where util.parseArgs only knows strings and booleans;
 *  - choices: `--encoder vit` → "must be one of mlp, conv, got 'vit'";
 *  - unknown flags: the known ones listed, and the nearest one suggested ("did you mean --epochs?");
 *    util.parseArgs says "Unknown option '--epoch'" and no more;
 *  - a missing value: `--lr --epochs 3` is "--lr needs a value" (util.parseArgs, non-strict, would
 *    take "--epochs" as --lr's value; strict, it throws a message about ambiguity);
 *  - `--help` / `-h` anywhere: the command's help, before any other check;
 *  - every message names the command, the flag and the value, as one line (UsageError: exit 2).
 *
 * @module
 */
import { parseArgs as parseWords } from "node:util";

/** A mistake in the command line: the CLI prints its message and exits 2. */
export class UsageError extends Error {}

/** `--help` or `-h` was given: the CLI prints the command's help and exits 0. */
export class HelpRequested extends Error {
  constructor(readonly command: string) {
    super(`${command}: help requested`);
  }
}

/** One flag: its type, and what `--help` says about it. */
export interface FlagSpec {
  kind: "number" | "integer" | "string" | "boolean";
  /** For strings: the allowed values. */
  choices?: readonly string[];
  /** One line: what the flag does (for --help). */
  help?: string;
  /** The placeholder of the value in --help ("N", "X", "DIR"); default from the kind. */
  value?: string;
  /** The default, as --help prints it (omitted: none shown). */
  default?: string;
}

/** The words of a command line, sorted: positionals in order, flags by name with their typed values. */
export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, string | number | boolean>;
}

/**
 * Read `argv` against `specs`. Throws HelpRequested for --help / -h, UsageError (naming `command`,
 * the flag and the value) for an unknown flag, a missing, malformed or out-of-choice value.
 */
export function parseArgs(argv: readonly string[], specs: Record<string, FlagSpec>, command: string): ParsedArgs {
  const { tokens } = parseWords({ args: [...argv], options: wordOptions(specs), strict: false, allowPositionals: true, tokens: true });
  if (tokens.some((token) => token.kind === "option" && (token.name === "help" || token.name === "h") && !(token.name in specs))) {
    throw new HelpRequested(command);
  }
  const positionals: string[] = [];
  const flags: Record<string, string | number | boolean> = {};
  for (const token of tokens) {
    if (token.kind === "positional") positionals.push(token.value);
    if (token.kind !== "option") continue;
    const name = token.name;
    const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
    if (!spec || token.rawName !== `--${name}`) throw new UsageError(unknownFlag(command, token.rawName, specs));
    if (spec.kind === "boolean") {
      if (token.value !== undefined) throw new UsageError(`${command}: --${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const value = token.value;
    if (value === undefined || (!token.inlineValue && value.startsWith("--"))) throw new UsageError(`${command}: --${name} needs a value`);
    flags[name] = convert(command, name, value, spec);
  }
  return { positionals, flags };
}

/** What util.parseArgs needs to know: which flags take a value (strings to it; typed here). */
function wordOptions(specs: Record<string, FlagSpec>): Record<string, { type: "string" | "boolean" }> {
  const options: Record<string, { type: "string" | "boolean" }> = {};
  for (const [name, spec] of Object.entries(specs)) options[name] = { type: spec.kind === "boolean" ? "boolean" : "string" };
  return options;
}

function unknownFlag(command: string, rawName: string, specs: Record<string, FlagSpec>): string {
  const names = Object.keys(specs);
  const known = names.map((name) => `--${name}`).join(", ");
  const asked = rawName.replace(/^-+/, "");
  // The nearest known name, if it is close: at most a third of the letters wrong (typos, a missing s).
  let nearest: string | null = null;
  let nearestDistance = Infinity;
  for (const name of names) {
    const distance = editDistance(asked, name);
    if (distance < nearestDistance) [nearest, nearestDistance] = [name, distance];
  }
  const suggestion = nearest !== null && nearestDistance <= Math.max(1, Math.floor(asked.length / 3)) ? `; did you mean --${nearest}?` : "";
  return `${command}: unknown option ${rawName} (known: ${known || "none"})${suggestion}`;
}

/** Levenshtein distance: the fewest insertions, deletions and substitutions that turn a into b. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

function convert(command: string, name: string, value: string, spec: FlagSpec): string | number {
  if (spec.kind === "string") {
    if (spec.choices && !spec.choices.includes(value)) {
      throw new UsageError(`${command}: --${name} must be one of ${spec.choices.join(", ")}, got '${value}'`);
    }
    return value;
  }
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number)) throw new UsageError(`${command}: --${name} must be a number, got '${value}'`);
  if (spec.kind === "integer" && !Number.isInteger(number)) {
    throw new UsageError(`${command}: --${name} must be a whole number, got '${value}'`);
  }
  return number;
}

/**
 * A command's --help: its usage line(s), a sentence or two, then one line per flag,
 * `--name VALUE   meaning (default: …)`, in the table's order, with `-h, --help` last. A line
 * that would pass `columns` puts the default (and a long flag's meaning) on lines of their own.
 */
export function formatHelp(usage: string, description: string, specs: Record<string, FlagSpec>, columns = 100): string {
  const rows: [string, string, string][] = Object.entries(specs).map(([name, spec]) => {
    const placeholder = spec.kind === "boolean"
      ? ""
      : ` ${spec.choices ? spec.choices.join("|") : spec.value ?? (spec.kind === "string" ? "TEXT" : spec.kind === "integer" ? "N" : "X")}`;
    return [`--${name}${placeholder}`, spec.help ?? "", spec.default !== undefined ? `(default: ${spec.default})` : ""];
  });
  rows.push(["-h, --help", "print this help and exit", ""]);
  const width = Math.min(24, Math.max(...rows.map(([left]) => left.length)));
  const indent = " ".repeat(width + 4);
  const lines = rows.map(([left, meaning, fallback]) => {
    const head = left.length > width ? `  ${left}\n${indent}${meaning}` : `  ${left.padEnd(width)}  ${meaning}`;
    if (fallback === "") return head;
    const lastLine = head.slice(head.lastIndexOf("\n") + 1);
    return lastLine.length + 1 + fallback.length <= columns ? `${head} ${fallback}` : `${head}\n${indent}${fallback}`;
  });
  return `usage: ${usage}\n\n${description}\n\noptions:\n${lines.join("\n")}\n`;
}
