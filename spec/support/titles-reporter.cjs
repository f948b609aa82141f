// A mocha reporter that runs nothing of its own: with `--dry-run` it writes the full title and the
// file of every loaded test, as JSON, to the file named by TITLES_JSON. spec/docs/readme.spec.ts
// uses it in a parallel run (mocha's --parallel: a worker loads one spec file, not the suite) to
// see the whole suite's titles, as a serial run sees them in its own root suite.
const Mocha = require("mocha");
const fs = require("node:fs");

class TitlesReporter extends Mocha.reporters.Base {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_BEGIN, () => {
      const tests = [];
      const walk = (suite) => {
        for (const test of suite.tests) tests.push({ title: test.fullTitle(), file: test.file ?? "" });
        suite.suites.forEach(walk);
      };
      walk(runner.suite);
      if (!process.env.TITLES_JSON) throw new Error("spec/support/titles-reporter.cjs: set TITLES_JSON to the output file");
      fs.writeFileSync(process.env.TITLES_JSON, JSON.stringify(tests));
    });
  }
}

module.exports = TitlesReporter;
