/**
 * Running the CLI from the specs: in process (`run(argv)` with stdout and stderr captured) and as
 * a real `node …/cli/main.js` process (exit code, streams). The compiled CLI is found relative to
 * this file, so the path works in build/ and in any other out dir with the same layout.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { run } from "../../src/cli/commands.js";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const CLI_PATH = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** `contrastive …argv` in this process, with its output captured instead of printed. */
export async function cli(argv: readonly string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const stdoutWrite = process.stdout.write;
  const stderrWrite = process.stderr.write;
  process.stdout.write = ((chunk: string | Uint8Array) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => err.push(String(chunk)) > 0) as typeof process.stderr.write;
  let code: number;
  try {
    code = await run(argv);
  } finally {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
  }
  return { code, stdout: out.join(""), stderr: err.join("") };
}

/** `node main.js …argv` as a child process. */
export function cliProcess(argv: readonly string[], options: { cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...argv], { cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === null) reject(new Error(`${CLI_PATH} ${argv.join(" ")} was killed by ${signal}`));
      else resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
  });
}

/** A failure as the CLI promises it: the exit code, one line on stderr that matches, no stack trace. */
export function expectCleanFailure(result: CliResult, code: number, message: RegExp | string): void {
  const context = JSON.stringify(result);
  expect(result.code, context).to.equal(code);
  const lines = result.stderr.split("\n").filter((line) => line !== "");
  expect(lines, context).to.have.length(1);
  expect(lines[0], context).to.match(/^contrastive: /);
  if (typeof message === "string") expect(lines[0], context).to.include(message);
  else expect(lines[0], context).to.match(message);
  expect(result.stderr, context).to.not.match(/^\s+at /m);
}

/** `node main.js …argv` as a child process that the spec can signal: the child, and its result once it exits. */
export function startCliProcess(argv: readonly string[]): { child: ChildProcess; result: Promise<CliResult> } {
  const child = spawn(process.execPath, [CLI_PATH, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on("data", (chunk: Buffer) => out.push(chunk));
  child.stderr!.on("data", (chunk: Buffer) => err.push(chunk));
  const result = new Promise<CliResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === null) reject(new Error(`${CLI_PATH} ${argv.join(" ")} was killed by ${signal}`));
      else resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
  });
  return { child, result };
}
