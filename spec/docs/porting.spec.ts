/**
 * docs/porting.md maps the whole public API to PyTorch: every name src/index.ts exports (and every
 * member of the `data` namespace) must appear on the page in backticks, so that adding an export
 * without its PyTorch equivalent fails here. The export list is read from the sources
 * (spec/docs/public-api.ts), not written down, so it cannot fall out of date.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { publicApi, repoRoot } from "./public-api.js";

const page = readFileSync(join(repoRoot, "docs/porting.md"), "utf8");
/** Every `code span` of the page, split into the identifiers it holds (`data.loadMnist(…)` → data, loadMnist). */
const mentioned = new Set([...page.matchAll(/`([^`\n]+)`/g)].flatMap((m) => m[1].match(/[A-Za-z_$][\w$]*/g) ?? []));

describe("docs: docs/porting.md covers the public API (spec/docs/porting.spec.ts)", () => {
  const api = publicApi();

  it("reads the public API from src/index.ts (sanity: the core names are there)", () => {
    const names = api.filter((n) => !n.namespace).map((n) => n.name);
    expect(names).to.include.members(["Tensor", "infoNCE", "ntXent", "clipLoss", "Module", "AdamW", "data"]);
    expect(api.filter((n) => n.namespace === "data").map((n) => n.name)).to.include.members(["loadMnist", "TwoViewLoader"]);
    expect(api.length).to.be.above(300);
  });

  it("every exported name (values and types) appears in a code span of docs/porting.md", () => {
    const missing = api.filter((n) => !mentioned.has(n.name)).map((n) =>
      `${n.namespace ? `${n.namespace}.` : ""}${n.name} (${n.kind}, ${n.file})`
    );
    expect(missing, `docs/porting.md has no row for:\n  ${missing.join("\n  ")}\n`).to.deep.equal([]);
  });
});
