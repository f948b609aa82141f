// One fixed fast-check seed for the whole spec run, so that a property that fails fails again.
//
// Loaded by mocha before any spec (.mocharc.json "require"), in every process that loads specs.
// Every fc.assert / fc.check of the run starts from this seed (fc.configureGlobal), unless a spec passes its own `seed`; each property
// draws the same values whatever ran before it, so a failure reproduces with the same seed and a
// --grep for that spec alone. The seed is FC_SEED when set (any 32-bit integer, as fast-check prints
// them), else 42. Printed once at the start, and again by the counting reporter next to the
// closing line, so a log shows it wherever one looks.
//
// An ES module on purpose: fast-check ships a CommonJS and an ES build, each with its own global
// configuration, and the compiled specs import the ES one.
import fc from "fast-check";

const DEFAULT_SEED = 42;
const raw = process.env.FC_SEED;
let seed = DEFAULT_SEED;
if (raw !== undefined && raw.trim() !== "") {
  seed = Number(raw);
  if (!/^\s*-?\d+\s*$/.test(raw) || seed < -(2 ** 31) || seed >= 2 ** 32) {
    throw new Error(`spec/support/fast-check-seed.mjs: FC_SEED must be an integer in [-2^31, 2^32), got '${raw}'`);
  }
}
process.env.FC_SEED = String(seed); // for the counting reporter, and for child processes of the specs
fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
// In a parallel run (.mocharc.json "parallel") mocha loads this file in its main process and in
// every worker (MOCHA_WORKER_ID set): each worker configures its own fast-check, the main process prints.
if (process.env.MOCHA_WORKER_ID === undefined) process.stdout.write(`fast-check seed ${seed} (set FC_SEED to change)\n`);
