/**
 * A small, strict command-line parser: `--name value` and `--flag`, positional words, and a clear
 * one-line error for anything unknown, missing or malformed (no stack trace reaches the user).
 *
 * @module
 */

/** A command-line mistake (unknown, missing or malformed option): the CLI prints its one-line message and exits with code 2. */
export class UsageError extends Error {}

export interface FlagSpec {
  kind: "number" | "integer" | "string" | "boolean";
  /** For strings: the allowed values. */
  choices?: readonly string[];
}

export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, string | number | boolean>;
}

export function parseArgs(argv: readonly string[], specs: Record<string, FlagSpec>, command: string): ParsedArgs {
  const positionals: string[] = [];
  const flags: Record<string, string | number | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (!word.startsWith("--")) {
      positionals.push(word);
      continue;
    }
    const [rawName, inlineValue] = word.slice(2).split(/=(.*)/s, 2);
    const spec = specs[rawName];
    if (!spec) {
      const known = Object.keys(specs).map((name) => `--${name}`).join(", ");
      throw new UsageError(`${command}: unknown option --${rawName} (known: ${known || "none"})`);
    }
    if (spec.kind === "boolean") {
      if (inlineValue !== undefined) throw new UsageError(`${command}: --${rawName} takes no value`);
      flags[rawName] = true;
      continue;
    }
    const value = inlineValue ?? argv[++i];
    if (value === undefined || (value.startsWith("--") && inlineValue === undefined)) {
      throw new UsageError(`${command}: --${rawName} needs a value`);
    }
    flags[rawName] = convert(command, rawName, value, spec);
  }
  return { positionals, flags };
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
