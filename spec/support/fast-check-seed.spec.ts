/**
 * The spec run's fixed fast-check seed (spec/support/fast-check-seed.mjs, loaded by .mocharc.json):
 * every property starts from FC_SEED (default 42), so a failure reproduces with the seed it prints.
 */
import { expect } from "chai";
import fc from "fast-check";

describe("spec support: fast-check runs with the printed seed (FC_SEED)", () => {
  it("the global configuration holds the seed the run printed", () => {
    expect(process.env.FC_SEED, "run the specs through mocha's config (.mocharc.json)").to.match(/^-?\d+$/);
    expect(fc.readConfigureGlobal().seed).to.equal(Number(process.env.FC_SEED));
  });

  it("so two draws are the same values, those of an explicit { seed }", () => {
    const seed = Number(process.env.FC_SEED);
    const first = fc.sample(fc.double(), 5);
    expect(fc.sample(fc.double(), 5)).to.deep.equal(first);
    expect(fc.sample(fc.double(), { seed, numRuns: 5 })).to.deep.equal(first);
  });
});
