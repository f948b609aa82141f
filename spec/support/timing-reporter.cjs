// A mocha reporter for finding slow specs: `npx mocha --reporter ./spec/support/timing-reporter.cjs`.
// Prints failures as they happen and, at the end, the 30 slowest files and tests (wall time; a
// file's time is the sum of its tests' and hooks' durations, which mocha measures where they run,
// so it also holds in a parallel run, whose events reach the reporter one file at a time, in a
// burst when the file is done) and the closing "N passed, N failed, N skipped".
// TIMING_JSON=path also writes every test's duration there (for comparing two runs).
const Mocha = require("mocha");
const fs = require("node:fs");
const { EVENT_RUN_END, EVENT_HOOK_END, EVENT_TEST_END, EVENT_TEST_FAIL } = Mocha.Runner.constants;

class TimingReporter extends Mocha.reporters.Base {
  constructor(runner, options) {
    super(runner, options);
    const started = Date.now();
    const tests = [];
    const files = new Map(); // file → ms, summed over its tests and hooks
    const finished = new Map(); // file → ms since the start when its last result arrived (in parallel: when it ended)
    const addToFile = (file, ms) => {
      files.set(file, (files.get(file) ?? 0) + ms);
      finished.set(file, Date.now() - started);
    };
    runner.on(EVENT_HOOK_END, (hook) => addToFile(hook.file, hook.duration ?? 0));
    runner.on(EVENT_TEST_END, (test) => {
      tests.push({ file: test.file, title: test.fullTitle(), ms: test.duration ?? 0 });
      addToFile(test.file, test.duration ?? 0);
    });
    runner.on(EVENT_TEST_FAIL, (test, error) => process.stdout.write(`FAIL ${test.fullTitle()}\n  ${error && error.stack}\n`));
    runner.once(EVENT_RUN_END, () => {
      const total = Date.now() - started;
      const short = (file) => (file ?? "?").replace(/^.*?build\//, "");
      const seconds = (ms) => (ms / 1000).toFixed(2).padStart(7);
      const topFiles = [...files].sort((a, b) => b[1] - a[1]).slice(0, 30);
      process.stdout.write(`\nslowest files (total ${seconds(total)} s)\n`);
      for (const [file, ms] of topFiles) process.stdout.write(`${seconds(ms)} s  ${short(file)}\n`);
      process.stdout.write(`\nthe last files to finish (seconds since the start; in a parallel run, the tail the workers share)\n`);
      for (const [file, ms] of [...finished].sort((a, b) => b[1] - a[1]).slice(0, 8)) {
        process.stdout.write(`${seconds(ms)} s  ${short(file)} (${seconds(files.get(file) ?? 0).trim()} s)\n`);
      }
      process.stdout.write(`\nslowest tests\n`);
      for (const t of [...tests].sort((a, b) => b.ms - a.ms).slice(0, 30)) {
        process.stdout.write(`${seconds(t.ms)} s  ${short(t.file)}  ${t.title}\n`);
      }
      if (process.env.TIMING_JSON) {
        fs.writeFileSync(process.env.TIMING_JSON, JSON.stringify({ total, files: [...files], finished: [...finished], tests }, null, 1));
      }
      const { passes, failures, pending } = runner.stats;
      process.stdout.write(`\n${passes} passed, ${failures} failed, ${pending} skipped\n`);
    });
  }
}

module.exports = TimingReporter;
