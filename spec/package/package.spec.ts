/**
 * The package as a user gets it: `npm pack` the repository, install the tarball into an empty
 * project, and use it from there the three ways users do: ESM `import`, CommonJS `require` (Node
 * >= 20.19 loads the ESM graph, through the `default` condition of `exports`), and TypeScript with
 * `strict` and `skipLibCheck: false` (every shipped .d.ts must resolve: `@types/ndarray` is a
 * dependency because `Tensor.storage` is an `NdArray`).
 *
 * Offline: `npm install --offline` of the tarball needs the dependencies in npm's cache. Where they
 * are not, the tarball is unpacked into the project's node_modules and exactly the `dependencies`
 * listed in the PACKED package.json are linked from this repository's node_modules, so a dependency
 * missing from that list (a dev-only `@types/ndarray`, say) still fails the TypeScript check.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ntXent, tensor } from "../../src/index.js";

const root = new URL("../../../", import.meta.url).pathname;

/** Run a command, returning its stdout; on failure the error carries its stdout and stderr. */
function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${stdout ?? ""}\n${stderr ?? ""}`);
  }
}

/** The same computation in every consumer: NT-Xent of two fixed views, through a tensor method. */
const CONSUMER_BODY = "ntXent(tensor([[1, 0], [0, 1]]), tensor([[2, 0], [0, 3]])).sum().item()";

describe("the packed package (npm pack → install → import, require, tsc)", function() {
  this.timeout(120000);
  let work = "";
  let app = "";
  let packedFiles: string[] = [];
  let installedOffline = false;

  before(() => {
    work = mkdtempSync(join(tmpdir(), "contrastive-ts-pack-"));
    app = join(work, "app");
    mkdirSync(app);
    run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], root); // dist/
    const [packed] = JSON.parse(run("npm", ["pack", "--json", "--silent", "--pack-destination", work], root)) as {
      filename: string;
      files: { path: string }[];
    }[];
    packedFiles = packed!.files.map((file) => file.path);
    const tarball = join(work, packed!.filename);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true, type: "module" }));
    try {
      run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--silent", tarball], app);
      installedOffline = true;
    } catch {
      const target = join(app, "node_modules", "contrastive-ts");
      mkdirSync(target, { recursive: true });
      run("tar", ["-xzf", tarball, "-C", target, "--strip-components=1"], app);
      const manifest = JSON.parse(readFileSync(join(target, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
      for (const name of Object.keys(manifest.dependencies ?? {})) {
        const link = join(app, "node_modules", name);
        mkdirSync(dirname(link), { recursive: true });
        symlinkSync(join(root, "node_modules", name), link, "dir");
      }
    }
  });

  after(() => {
    if (work !== "") rmSync(work, { recursive: true, force: true });
  });

  it("ships LICENSE, README, the entry and its types (and the installed copy has them)", () => {
    for (const file of ["LICENSE", "README.md", "package.json", "dist/index.js", "dist/index.d.ts"]) {
      expect(packedFiles, file).to.include(file);
    }
    expect(existsSync(join(app, "node_modules/contrastive-ts/dist/index.d.ts")), `installed (offline: ${installedOffline})`).to.equal(true);
  });

  it("import works from an ESM consumer", () => {
    writeFileSync(join(app, "consumer.mjs"), `import { ntXent, tensor } from "contrastive-ts";\nconsole.log(${CONSUMER_BODY});\n`);
    const expected = ntXent(tensor([[1, 0], [0, 1]]), tensor([[2, 0], [0, 3]])).sum().item();
    expect(Number(run(process.execPath, ["consumer.mjs"], app).trim())).to.equal(expected);
  });

  it("require works from a CommonJS consumer (no ERR_PACKAGE_PATH_NOT_EXPORTED)", () => {
    writeFileSync(join(app, "consumer.cjs"), `const { ntXent, tensor } = require("contrastive-ts");\nconsole.log(${CONSUMER_BODY});\n`);
    const expected = ntXent(tensor([[1, 0], [0, 1]]), tensor([[2, 0], [0, 3]])).sum().item();
    expect(Number(run(process.execPath, ["consumer.cjs"], app).trim())).to.equal(expected);
  });

  it("tsc --strict --skipLibCheck false type-checks a consumer, and Tensor.storage is not any", () => {
    writeFileSync(
      join(app, "consumer.ts"),
      [
        `import { Tensor, ntXent, tensor } from "contrastive-ts";`,
        `type IsAny<T> = 0 extends 1 & T ? true : false;`,
        `const storageIsAny: IsAny<Tensor["storage"]> = false;`,
        `const loss: number = ${CONSUMER_BODY};`,
        `console.log(storageIsAny, loss);`,
        "",
      ].join("\n"),
    );
    const compilerOptions = {
      strict: true,
      skipLibCheck: false,
      noEmit: true,
      module: "nodenext",
      moduleResolution: "nodenext",
      target: "es2022",
      types: [], // no @types/node: a consumer in a browser project has none
    };
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["consumer.ts"] }));
    run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], app);
  });
});
