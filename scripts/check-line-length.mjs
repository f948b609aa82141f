#!/usr/bin/env node
/**
 * Line-length check: every line of the tracked *.ts, *.cjs and *.mjs files must be at most 140 columns.
 *
 * Why a separate check: dprint (dprint.json, lineWidth 140) wraps code, but it never breaks a string
 * literal, a template literal, a regex literal or a comment, so a long error message or a long comment
 * passes `dprint check` however wide it is. This script catches those lines; split them by hand
 * (`"…" + "…"` at a phrase boundary, or rewrap the comment).
 *
 * Columns are counted as characters (Unicode code points), not bytes or UTF-16 units: the sources use
 * many math symbols (∑, ‖, τ, …) that are one column each.
 *
 * Usage: node scripts/check-line-length.mjs   (exit 0 when clean; otherwise prints `file:line: N columns`
 * for each long line and exits 1). Plain Node, no dependencies; run from anywhere inside the repository.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const MAX_COLUMNS = 140;
const SKIPPED_DIRECTORIES = ["build/", "dist/", "node_modules/", "spec/fixtures/"];

const root = execFileSync("git", ["rev-parse", "--show-toplevel"], { encoding: "utf8" }).trim();
const files = execFileSync("git", ["ls-files", "-z", "--", "*.ts", "*.cjs", "*.mjs"], { cwd: root, encoding: "utf8" })
  .split("\0")
  .filter((file) => file !== "" && !SKIPPED_DIRECTORIES.some((directory) => file.startsWith(directory)));

let longLines = 0;
for (const file of files) {
  let text;
  try {
    text = readFileSync(join(root, file), "utf8");
  } catch (error) {
    if (error.code === "ENOENT") continue; // tracked but deleted in the work tree
    throw error;
  }
  const lines = text.split(/\r?\n/);
  lines.forEach((line, index) => {
    const columns = [...line].length;
    if (columns > MAX_COLUMNS) {
      console.log(`${file}:${index + 1}: ${columns} columns`);
      longLines++;
    }
  });
}

if (longLines > 0) {
  console.error(`${longLines} line(s) over ${MAX_COLUMNS} columns (dprint does not break strings or comments; split them by hand).`);
  process.exit(1);
}
