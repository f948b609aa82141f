/**
 * The leftovers of interrupted atomic writes. `writeFileAtomic` (src/io/safetensors.ts) writes
 * `<path>.tmp-<pid>-<n>`, flushes it and renames it over `<path>`; a process killed in between
 * (kill -9, a power cut) leaves that temporary file behind, next to an intact `<path>`.
 *
 * After a successful write of `<path>`, `removeStaleTemporaryFiles(path)` removes the temporary
 * files of `<path>` whose writer is gone: this process (its writes are synchronous, so none is in
 * flight) or a process id that no longer runs. A live process's file is left alone: it may be
 * another writer of the same path, between its write and its rename. (A dead writer's id reused
 * by an unrelated process keeps its file until that process ends: harmless, and rare.)
 *
 * @module
 */
import { readdirSync, unlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Is a process with this id running? `kill(pid, 0)` sends nothing; EPERM means it runs as another user. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Remove the stale `<filePath>.tmp-<pid>-<n>` files; returns the paths removed. */
export function removeStaleTemporaryFiles(filePath: string): string[] {
  const directory = dirname(filePath);
  const pattern = new RegExp(`^${basename(filePath).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.tmp-(\\d+)-\\d+$`);
  const removed: string[] = [];
  for (const name of readdirSync(directory)) {
    const match = pattern.exec(name);
    if (match === null) continue;
    const pid = Number(match[1]);
    if (pid !== process.pid && isRunning(pid)) continue;
    try {
      unlinkSync(join(directory, name));
      removed.push(join(directory, name));
    } catch {
      // already removed (by another writer's cleanup)
    }
  }
  return removed;
}
