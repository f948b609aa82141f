/**
 * docs/losses.md stays true: each worked example in it is the code of src/losses/examples.ts
 * (between `// #region name` and `// #endregion`), the output printed under it is what that code
 * returns today, and every name exported by src/losses is mentioned on the page.
 * On a mismatch the failure message holds the text to paste into the doc.
 */
import { expect } from "chai";
import { existsSync, readFileSync } from "node:fs";
import * as losses from "../../src/losses/index.js";
import { examples, formatExample } from "../../src/losses/examples.js";
import { repoFile } from "./helpers.js";

const doc = readFileSync(repoFile("docs/losses.md"), "utf8");
const source = readFileSync(repoFile("src/losses/examples.ts"), "utf8");

/** The fenced block right after `<!-- kind: name -->` in the doc. */
function docBlock(kind: "example" | "output", name: string): string | null {
  const match = new RegExp(`<!-- ${kind}: ${name} -->\\n\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\``).exec(doc);
  return match ? match[1] : null;
}

/** The lines between `// #region name` and `// #endregion` in examples.ts. */
function sourceRegion(name: string): string | null {
  const match = new RegExp(`// #region ${name}\\n([\\s\\S]*?)\\n// #endregion`).exec(source);
  return match ? match[1] : null;
}

describe("losses: docs/losses.md", () => {
  for (const [name, run] of Object.entries(examples)) {
    it(`example ${name}: the doc shows the code of src/losses/examples.ts and its output`, () => {
      const region = sourceRegion(name);
      expect(region, `no // #region ${name} in examples.ts`).to.not.equal(null);
      expect(docBlock("example", name), `docs/losses.md: the block after <!-- example: ${name} --> should be\n${region}\n`).to.equal(
        region,
      );
      const output = formatExample(run());
      expect(docBlock("output", name), `docs/losses.md: the block after <!-- output: ${name} --> should be\n${output}\n`).to.equal(output);
    });
  }

  it("every example block in the doc is a known example", () => {
    const names = [...doc.matchAll(/<!-- (?:example|output): (\w+) -->/g)].map((m) => m[1]);
    names.forEach((name) => expect(Object.keys(examples)).to.include(name));
  });

  it("every export of src/losses is documented on the page", () => {
    for (const name of Object.keys(losses)) expect(doc, `docs/losses.md does not mention ${name}`).to.include(name);
  });

  it("every spec file the page points to exists", () => {
    const paths = [...new Set([...doc.matchAll(/`((?:spec\/losses\/)?[\w-]+\.spec\.ts)`/g)].map((m) => m[1]))];
    expect(paths.length).to.be.above(5);
    for (const path of paths) expect(existsSync(repoFile(path.startsWith("spec/") ? path : `spec/losses/${path}`)), path).to.equal(true);
  });
});
