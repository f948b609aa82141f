/**
 * The package's version, as `contrastive --version` prints it: read at run time from the
 * package.json of contrastive-ts, found by walking up from this file's directory. That works from
 * src/ (tsx), build/src/ (the specs) and dist/ in an installed package
 * (node_modules/contrastive-ts/dist/cli/ → node_modules/contrastive-ts/package.json); a package.json
 * of another name on the way (a nested "type": "module" one, the user's own project) is skipped.
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The npm name of this package. */
export const PACKAGE_NAME = "contrastive-ts";

/** The `version` of the nearest package.json named contrastive-ts above `from` (a file URL or path). */
export function packageVersion(from: string = import.meta.url): string {
  const start = from.startsWith("file:") ? fileURLToPath(from) : from;
  for (let directory = dirname(start);; directory = dirname(directory)) {
    const candidate = join(directory, "package.json");
    if (existsSync(candidate)) {
      const manifest = JSON.parse(readFileSync(candidate, "utf8")) as { name?: unknown; version?: unknown };
      if (manifest.name === PACKAGE_NAME && typeof manifest.version === "string") return manifest.version;
    }
    if (dirname(directory) === directory) break;
  }
  throw new Error(`version: no package.json of ${PACKAGE_NAME} in ${dirname(start)} or above it`);
}
