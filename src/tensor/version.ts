/**
 * Version counters: how many times a buffer has been written in place (PyTorch: `tensor._version`).
 *
 * Why autograd needs them. The tape keeps the tensors each op read, and a backward rule reads them
 * again: mul's rule multiplies by the other input, exp's by its own output. If one of them is
 * overwritten between the forward and the backward (an optimizer step, MoCo's enqueue, a
 * BatchNorm running-statistics update), the rule silently computes the gradient of some other
 * function. So `record` notes the version of every tensor it saves, and `runBackward` refuses to
 * run a rule whose saved tensors have a different version now (src/autograd/tape.ts).
 *
 * One counter per buffer, not per Tensor. A transpose, a slice, a reshape or `detach()` is a new
 * Tensor over the same memory, and a write through any of them changes what all of them read; so
 * the counter belongs to the memory, the ArrayBuffer under the typed array, and every Tensor over
 * that ArrayBuffer (any view, any offset) sees the same count. PyTorch does the same: a view
 * shares its base's version counter.
 *
 *   versionOf(t)        the count of t's buffer; 0 for a buffer never written in place
 *   mutableStorage(t)   the storage to write into; bumps the count first
 *
 * Cost: one integer on one object per buffer that has ever been written in place, found through a
 * WeakMap (freed with the buffer); nothing per element. Buffers never written in place, i.e. almost
 * every op's output, get no counter at all.
 *
 * What counts as a write: every in-place change of values that a later backward could read.
 * Filling a fresh tensor before anyone else can see it (an op's own output) is not a write; nor is
 * accumulating into `.grad` (gradients are never saved by the tape).
 *
 * @module
 */
import { Tensor, type Storage } from "./tensor.js";

interface VersionCounter {
  version: number;
}

const counters = new WeakMap<ArrayBufferLike, VersionCounter>();

/**
 * How many in-place writes the buffer under `t` has had (shared by all views of that buffer).
 * PyTorch: `Tensor._version`.
 */
export function versionOf(t: Tensor): number {
  return counters.get(t.storage.data.buffer)?.version ?? 0;
}

/**
 * The storage of `t`, to write into in place. Every in-place write in the library goes through here
 * (optimizers, EMA, MoCo's queue, BatchNorm's running statistics, init fills, copyInto, checkpoint
 * loads), so that no write site can forget to bump the version. Call it once per write (per step),
 * not per element.
 */
export function mutableStorage(t: Tensor): Storage {
  const buffer = t.storage.data.buffer;
  const counter = counters.get(buffer);
  if (counter === undefined) counters.set(buffer, { version: 1 });
  else counter.version++;
  return t.storage;
}

declare module "./tensor.js" {
  interface Tensor {
    /**
     * How many times this tensor's buffer has been written in place (PyTorch: `_version`); shared
     * by every view of the buffer. Read-only: writes bump it through `mutableStorage`.
     */
    readonly version: number;
  }
}

// Attached here rather than written in tensor.ts, so that tensor.ts need not import this file
// (which imports it): the layering spec allows no import cycle. The tape gives `backward` the same way.
Object.defineProperty(Tensor.prototype, "version", {
  get(this: Tensor): number {
    return versionOf(this);
  },
  configurable: true,
});
