/**
 * The layering STYLE promises and docs/tensor-and-autograd.md draws: a reader knows from a file's
 * folder what it may depend on, because lower layers never import higher ones, and no group of
 * files imports itself in a circle. Read from the import statements of src/ (type-only imports
 * included: a type is a dependency too).
 */
import { expect } from "chai";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { DEFAULT_IMAGE_SIZE } from "../../src/nn/vit.js";
import { IMAGE_SIDE } from "../../src/data/mnist.js";

/** Folders of src/ from the bottom up; a file may import its own layer and the ones below. */
const LAYERS: string[][] = [
  ["types", "tensor", "wasm"],
  ["autograd"],
  ["parallel"],
  ["ops", "linalg", "report"],
  ["nn", "losses"],
  ["optim"],
  ["io"],
  ["data"],
  ["eval"],
  ["methods"],
  ["cli"],
  ["."], // src/index.ts, the package entry
];
const layerOf = (folder: string): number => LAYERS.findIndex((layer) => layer.includes(folder));

const srcDir = new URL("../../../src/", import.meta.url).pathname;
const sourceFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [relative(srcDir, path)] : [];
  });

/** The src-relative files a file imports (relative specifiers only; ".js" is the built name of ".ts"). */
function importsOf(file: string): string[] {
  const source = readFileSync(join(srcDir, file), "utf8");
  const specifiers = [...source.matchAll(/(?:^|\n)\s*(?:import|export)[^;]*?from\s*"(\.[^"]+)"|(?:^|\n)\s*import\s*"(\.[^"]+)"/g)].map((
    m,
  ) => m[1] ?? m[2]);
  return specifiers.map((specifier) => normalize(join(dirname(file), specifier)).replace(/\.js$/, ".ts"));
}

const folderOf = (file: string): string => (file.includes("/") ? file.split("/")[0] : ".");
const files = sourceFiles(srcDir);
const graph = new Map(files.map((file) => [file, importsOf(file)]));

describe("layers: lower layers never import higher ones", () => {
  it("every folder of src/ has a layer", () => {
    const unplaced = [...new Set(files.map(folderOf))].filter((folder) => layerOf(folder) < 0);
    expect(unplaced, `folders missing from LAYERS: ${unplaced.join(", ")}`).to.deep.equal([]);
  });

  it("no file imports a folder above its own", () => {
    const upward = files.flatMap((file) =>
      graph.get(file)!.filter((target) => layerOf(folderOf(target)) > layerOf(folderOf(file))).map((target) => `${file} → ${target}`)
    );
    expect(upward, upward.join("\n")).to.deep.equal([]);
  });

  it("no import cycle between files (so tensor ↔ ops ↔ autograd cannot come back)", () => {
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const path: string[] = [];
    const visit = (file: string): void => {
      state.set(file, "open");
      path.push(file);
      for (const target of graph.get(file) ?? []) {
        if (state.get(target) === "open") cycles.push([...path.slice(path.indexOf(target)), target].join(" → "));
        else if (!state.has(target) && graph.has(target)) visit(target);
      }
      path.pop();
      state.set(file, "done");
    };
    for (const file of files) if (!state.has(file)) visit(file);
    expect(cycles, cycles.join("\n")).to.deep.equal([]);
  });

  it("the tensor layer imports nothing of the library above it", () => {
    const tensorImports = files.filter((file) => folderOf(file) === "tensor").flatMap((file) => graph.get(file)!);
    expect(tensorImports.every((target) => ["tensor", "types"].includes(folderOf(target))), tensorImports.join(", ")).to.equal(true);
    expect(files.filter((file) => folderOf(file) === "tensor").length).to.be.greaterThan(3);
  });
});

describe("layers: constants a lower layer restates instead of importing", () => {
  it("the ViT's default image size is MNIST's side (nn/ may not import data/)", () => {
    expect(DEFAULT_IMAGE_SIZE).to.equal(IMAGE_SIDE);
  });
});
