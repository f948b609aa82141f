// Mocha's spec reporter, plus one closing line "N passed, N failed, N skipped" that CI reads.
// Just above it, the fast-check seed of the run (spec/support/fast-check-seed.mjs sets FC_SEED), so
// that the line to reproduce a failure sits next to the failures; the closing line stays last.
const Mocha = require("mocha");

class CountingSpecReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats;
      const seed = process.env.FC_SEED;
      if (seed !== undefined) {
        process.stdout.write(`\nfast-check seed ${seed}: reproduce with FC_SEED=${seed} npm test -- --grep "<title>"\n`);
      }
      process.stdout.write(`\n${passes} passed, ${failures} failed, ${pending} skipped\n`);
    });
  }
}

module.exports = CountingSpecReporter;
