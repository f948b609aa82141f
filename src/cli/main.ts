#!/usr/bin/env node
/**
 * `contrastive`: the command-line interface.
 *
 *   contrastive train <simclr|moco|byol|clip> [--epochs N] [--batch-size B] [--lr X] [--wd X]
 *                     [--warmup STEPS] [--grad-clip-norm X] [--temperature T] [--seed S] [--out DIR]
 *                     [--resume] [--force] [--quiet] …
 *   contrastive eval DIR [--quiet]
 *   contrastive augment --out FILE.png [--count N] [--views V] [--seed S]
 *   contrastive demo [--out DIR] [--scale X] [--limit N] [--quiet]
 *   contrastive COMMAND --help     every flag of COMMAND, its default and meaning (docs/cli.md: one table)
 *   contrastive --version
 *
 * Bad arguments, a missing or corrupt checkpoint: a one-line message on stderr and a non-zero exit
 * (2 for usage, including a bad --out, --limit or batch size, found before training; 1 for
 * everything else), never a stack trace. Interrupted training (SIGINT, SIGTERM) exits 130 / 143
 * after saying which epoch's checkpoint --resume continues from.
 *
 * @module
 */
import { run } from "./commands.js";

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`contrastive: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
