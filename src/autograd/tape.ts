/**
 * The tape: reverse-mode automatic differentiation.
 *
 * While gradients are enabled, every op whose inputs include a tensor with `requiresGrad` appends a
 * record to the tape: its name, its inputs, and its backward rule (the vector–Jacobian product
 * ḡ_input = ḡ_output · ∂output/∂input). Each record carries its position on the tape, and hangs
 * off the tensor it produced (`tensor.gradFn`), so a graph nobody holds is garbage-collected.
 *
 * `loss.backward()` collects the records reachable from `loss`, replays them from the last
 * appended to the first (reverse tape order is a valid reverse topological order, because an op
 * is appended after the ops that made its inputs), and accumulates into the `.grad` of every leaf.
 * The bookkeeping lives here, once, not in each op:
 *   - gradient accumulation: a tensor used twice receives the sum of both contributions;
 *   - un-broadcasting: a rule may return a gradient of the broadcast (output) shape; it is summed
 *     back to the input's shape here;
 *   - shape and dtype assertions on every gradient a rule returns;
 *   - saved-tensor checks: a record notes the version of its inputs and output (how many in-place
 *     writes their buffers have had, src/tensor/version.ts); before a rule runs, a saved tensor
 *     whose version changed is refused, since the rule would read values the forward never saw;
 *   - release: after backward the records are emptied (unless `retainGraph`), so a training loop
 *     of thousands of steps does not grow memory.
 *
 * PyTorch: the same design (`grad_fn`, `sequence_nr`, `retain_graph`, `torch.no_grad`, the saved
 * variables' `_version` check). One difference: PyTorch checks only the tensors a rule saves (add's
 * rule saves none); here every input and the output are checked, since a rule may read any of them.
 *
 * @module
 */
import { loops, stridedArray } from "../tensor/strided.js";
import { Tensor, allocate, logAllocations, type GradFn } from "../tensor/tensor.js";
import { versionOf } from "../tensor/version.js";
import { contiguousStrides, numel, sameShape, shapeToString, type Shape } from "../tensor/shape.js";

/** A rule maps the gradient of the output to one gradient per input (null: no gradient). */
export type BackwardRule = (gradOutput: Tensor) => ReadonlyArray<Tensor | null>;

/** The record of one op on the tape, hanging off its output as `tensor.gradFn`. */
export interface TapeRecord extends GradFn {
  /** Position on the tape: records are replayed in decreasing position. */
  readonly position: number;
  inputs: Tensor[];
  readonly outputShape: number[];
  backward: BackwardRule | null;
  /** versionOf(inputs[i]) when recorded; backward refuses the rule if one has changed. */
  readonly inputVersions: readonly number[];
  /** The output and its version when recorded: rules such as exp's and sqrt's read the output. */
  output: Tensor | null;
  readonly outputVersion: number;
}

let gradEnabled = true;
let tapeLength = 0;

/** Whether ops are currently recorded for backward (false inside {@link noGrad}). PyTorch: `torch.is_grad_enabled`. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Run `fn` without recording (PyTorch: `with torch.no_grad():`). Restores the mode even on error. */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/**
 * Run `fn` with recording on (inside a noGrad block, e.g. for a GradCache re-forward).
 * PyTorch: `torch.enable_grad()`.
 */
export function enableGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/**
 * Append `output = op(inputs)` to the tape, if any input needs a gradient and recording is on.
 * Only the op registry (src/autograd/registry.ts) calls this, once per call of a registered op,
 * so that every op that records is a registered one (spec/autograd/gradcheck-table.spec.ts
 * checks that no other file calls it).
 */
export function record(op: string, inputs: Tensor[], output: Tensor, backward: BackwardRule): Tensor {
  if (!gradEnabled || !inputs.some((t) => t.requiresGrad)) return output;
  output.requiresGrad = true;
  const entry: TapeRecord = {
    op,
    position: tapeLength++,
    inputs,
    outputShape: output.shape,
    backward,
    inputVersions: inputs.map(versionOf),
    output,
    outputVersion: versionOf(output),
  };
  output.gradFn = entry;
  return output;
}

/** The tape record that produced `t` (every gradFn is one: only `record` sets it). */
function recordOf(t: Tensor): TapeRecord | null {
  return t.gradFn as TapeRecord | null;
}

declare module "../tensor/tensor.js" {
  interface Tensor {
    /**
     * Reverse-mode differentiation from this tensor: replays the tape backwards and accumulates
     * into `.grad` of every leaf with `requiresGrad`. A non-scalar needs an explicit `gradient`.
     */
    backward(gradient?: Tensor, options?: BackwardOptions): void;
  }
}

// The tensor layer does not import the tape; the tape gives Tensor its backward().
Object.defineProperty(Tensor.prototype, "backward", {
  value: function backward(this: Tensor, gradient?: Tensor, options: BackwardOptions = {}): void {
    runBackward(this, gradient, options);
  },
  writable: true,
  configurable: true,
});

/** Options of `Tensor.backward`. */
export interface BackwardOptions {
  /** Keep the records so that backward can run again through the same graph. */
  retainGraph?: boolean;
}

export function runBackward(root: Tensor, gradient: Tensor | undefined, options: BackwardOptions): void {
  if (!root.requiresGrad) {
    throw new Error("backward: this tensor does not require grad (no input had requiresGrad, or it was computed in noGrad / detached)");
  }
  let seed: Tensor;
  if (gradient === undefined) {
    if (root.numel() !== 1) {
      throw new Error(
        `backward: grad can be implicitly created only for scalar outputs; this output has shape ${shapeToString(root.shape)}, ` +
          "pass a gradient of that shape: out.backward(gradient)",
      );
    }
    const ones = allocate(root.dtype, 1);
    ones[0] = 1;
    seed = Tensor.fromTypedArray(ones, root.shape);
  } else {
    if (!sameShape(gradient.shape, root.shape) || gradient.dtype !== root.dtype) {
      throw new Error(
        `backward: gradient has shape ${shapeToString(gradient.shape)} (${gradient.dtype}) but the output has shape ` +
          `${shapeToString(root.shape)} (${root.dtype})`,
      );
    }
    seed = gradient;
  }
  const rootRecord = recordOf(root);
  if (rootRecord === null) {
    accumulateLeaf(root, seed);
    return;
  }

  // 1. Collect the records reachable from the root.
  const reachable: TapeRecord[] = [];
  const seen = new Set<TapeRecord>();
  const stack: TapeRecord[] = [rootRecord];
  seen.add(rootRecord);
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.backward === null) {
      throw new Error(
        `backward: the graph through '${node.op}' was already released by an earlier backward(); ` +
          "recompute the forward, or pass { retainGraph: true } to the first backward",
      );
    }
    reachable.push(node);
    for (const input of node.inputs) {
      const producer = recordOf(input);
      if (producer !== null && !seen.has(producer)) {
        seen.add(producer);
        stack.push(producer);
      }
    }
  }
  // 2. Replay in reverse tape order: every consumer of a tensor runs before its producer.
  reachable.sort((a, b) => b.position - a.position);
  const gradOfOutput = new Map<TapeRecord, Tensor>([[rootRecord, seed]]);
  const buffers = new GradientBuffers();
  const previousLog = logAllocations(buffers.fresh);
  const previousMode = gradEnabled;
  gradEnabled = false; // rules are written with tensor ops; they must not record themselves
  try {
    for (const node of reachable) {
      const gradOutput = gradOfOutput.get(node);
      gradOfOutput.delete(node);
      if (gradOutput === undefined) continue; // no path from the root carried a gradient here
      buffers.release(gradOutput); // from here on only the rule holds it (and may return it, or a view of it)
      checkSavedVersions(node);
      const inputGrads = node.backward!(gradOutput);
      if (inputGrads.length !== node.inputs.length) {
        throw new Error(`backward: rule of '${node.op}' returned ${inputGrads.length} gradients for ${node.inputs.length} inputs`);
      }
      // Fit and count all of this rule's gradients before handing any out: a rule may return one
      // buffer for two inputs (add returns g for both), and then neither may keep it as its own.
      const fitted: (Tensor | null)[] = node.inputs.map((input, i) => {
        const raw = inputGrads[i];
        if (raw === null || !input.requiresGrad) return null;
        return buffers.hold(fitGradient(node.op, i, raw, input));
      });
      for (let i = 0; i < node.inputs.length; i++) {
        const input = node.inputs[i];
        const grad = fitted[i];
        if (grad === null) continue;
        const producer = recordOf(input);
        if (producer !== null) {
          const previous = gradOfOutput.get(producer);
          if (previous === undefined) gradOfOutput.set(producer, grad);
          else if (buffers.owns(previous)) {
            addInPlace(previous, grad); // previous is the tape's alone: no other tensor sees this write
            buffers.release(grad);
          } else {
            gradOfOutput.set(producer, buffers.hold(addInto(previous, grad)));
            buffers.release(previous);
            buffers.release(grad);
          }
        } else if (!accumulateLeaf(input, grad, buffers.owns(grad))) {
          buffers.release(grad); // copied or added into the existing .grad
        }
      }
    }
  } finally {
    gradEnabled = previousMode;
    logAllocations(previousLog);
  }
  // 3. Release the tape: drop inputs and rules so that the graph can be collected.
  if (!options.retainGraph) {
    for (const node of reachable) {
      node.inputs = [];
      node.output = null;
      node.backward = null;
    }
  }
}

/**
 * Refuse to run a rule on tensors written in place since the forward: the rule would read values
 * that the forward did not compute with, and return a wrong gradient without any sign of it.
 */
function checkSavedVersions(node: TapeRecord): void {
  node.inputs.forEach((input, i) => checkVersion(node.op, input, node.inputVersions[i], i));
  if (node.output !== null) checkVersion(node.op, node.output, node.outputVersion, "output");
}

function checkVersion(op: string, tensor: Tensor, saved: number, which: number | "output"): void {
  const now = versionOf(tensor);
  if (now === saved) return;
  throw new Error(
    `backward: ${which === "output" ? "the output" : `input ${which}`} of '${op}' (shape ${shapeToString(tensor.shape)}) ` +
      `was modified in place after it was saved (version ${now}, saved at version ${saved}); ` +
      "clone it before modifying, as MoCo's queue does",
  );
}

/** Check a rule's output and sum it back over broadcast axes to the input's shape. */
function fitGradient(op: string, inputIndex: number, grad: Tensor, input: Tensor): Tensor {
  if (grad.dtype !== input.dtype) {
    throw new Error(`backward: rule of '${op}' returned a ${grad.dtype} gradient for ${input.dtype} input ${inputIndex}`);
  }
  if (sameShape(grad.shape, input.shape)) return grad;
  return sumToShape(grad, input.shape, op);
}

/**
 * Undo broadcasting: sum `grad` over the axes along which `shape` was broadcast.
 * Done by adding `grad` into a zero tensor of `shape` viewed with stride 0 on the broadcast axes:
 * every element of `grad` lands on the input element it was read from in the forward.
 */
export function sumToShape(grad: Tensor, shape: Shape, op = "sumToShape"): Tensor {
  const gradShape = grad.shape;
  const lead = gradShape.length - shape.length;
  const broadcastable = lead >= 0 && shape.every((d, i) => d === gradShape[lead + i] || d === 1);
  if (!broadcastable) {
    throw new Error(
      `backward: rule of '${op}' returned a gradient of shape ${shapeToString(gradShape)} that does not broadcast to the input shape ${
        shapeToString(shape)
      }`,
    );
  }
  const out = allocate(grad.dtype, numel(shape));
  if (out.length === 0 || grad.numel() === 0) return Tensor.fromTypedArray(out, shape);
  const targetStrides = contiguousStrides(shape);
  const viewStrides = gradShape.map((d, axis) => {
    if (axis < lead) return 0;
    return shape[axis - lead] === 1 && d !== 1 ? 0 : targetStrides[axis - lead];
  });
  loops.addeq(stridedArray(out, gradShape, viewStrides, 0), grad.storage);
  return Tensor.fromTypedArray(out, shape);
}

/** a + b for two gradients of one shape, into a fresh buffer (either may be a view of another). */
function addInto(a: Tensor, b: Tensor): Tensor {
  const out = allocate(a.dtype, a.numel());
  const outView = stridedArray(out, a.shape, contiguousStrides(a.shape), 0);
  loops.add(outView, a.storage, b.storage);
  return new Tensor(outView);
}

/**
 * target += addend, same shape; `target` contiguous. A plain loop when `addend` is contiguous too
 * (the common case), the strided loop (src/tensor/strided.ts) for any other layout. Same additions, same bits, either way.
 */
function addInPlace(target: Tensor, addend: Tensor): void {
  if (!(target.isContiguous() && addend.isContiguous())) {
    loops.addeq(target.storage, addend.storage);
    return;
  }
  const { data: out, offset: outOffset } = target.storage;
  const { data: values, offset } = addend.storage;
  const n = target.numel();
  for (let i = 0; i < n; i++) out[outOffset + i] += values[offset + i];
}

/**
 * Which gradient buffers of one backward pass belong to the tape alone.
 *
 * A buffer may be kept (as a leaf's `.grad`, or summed into in place) instead of copied only if no
 * one else can see it: not the user's `gradient` argument, not a saved forward tensor, not a view
 * that another gradient shares. The proof here has two parts:
 *   - `fresh`: it was allocated (by `allocate`, which logs into this set) during this backward,
 *     i.e. a rule computed it; anything that existed before (the seed, forward tensors, a user's
 *     tensors, the buffers of an earlier or of a nested backward) is not in the set;
 *   - `holders`: how many places on the tape hold it now: pending gradients of non-leaves, and
 *     leaves that took it as `.grad`. A rule's gradOutput is released when the rule is called;
 *     every gradient a rule returns is held (twice, if it returns one buffer for two inputs).
 * Owned = fresh, held exactly once, and the tensor is the whole buffer, contiguous from offset 0
 * (a slice of a buffer could share it with another slice).
 *
 * PyTorch does the same in AccumulateGrad: a new gradient that nobody else references
 * (use_count ≤ 1) and laid out like the parameter is stolen as `.grad` rather than cloned.
 * Rules must therefore not keep a buffer they return (no memoized gradients) — none does.
 */
class GradientBuffers {
  readonly fresh = new Set<ArrayBufferLike>();
  private readonly holders = new Map<ArrayBufferLike, number>();

  hold(t: Tensor): Tensor {
    const buffer = t.storage.data.buffer;
    if (this.fresh.has(buffer)) this.holders.set(buffer, (this.holders.get(buffer) ?? 0) + 1);
    return t;
  }

  release(t: Tensor): void {
    const buffer = t.storage.data.buffer;
    const count = this.holders.get(buffer);
    if (count !== undefined) this.holders.set(buffer, count - 1);
  }

  owns(t: Tensor): boolean {
    const { data, offset } = t.storage;
    return this.fresh.has(data.buffer) && this.holders.get(data.buffer) === 1 && offset === 0 && data.length === t.numel() &&
      data.byteLength === data.buffer.byteLength && t.isContiguous();
  }
}

/**
 * Add a leaf's gradient into `.grad` (PyTorch's AccumulateGrad):
 *   - no `.grad` yet: `grad` becomes it: the very buffer when the tape owns it (`owned`, see
 *     GradientBuffers: nothing else can see it), else a private contiguous copy, since the rule's
 *     result may be the user's seed or a view of some other buffer;
 *   - a `.grad` already there (no zeroGrad since the last backward, or retainGraph): summed into it
 *     in place, as PyTorch does, so a reference the caller holds to `.grad` sees the sum.
 * After `optimizer.zeroGrad()` (set to null) the next backward stores a new buffer: an old `.grad`
 * the caller kept is never written again.
 * Returns whether the leaf kept `grad`'s buffer.
 */
function accumulateLeaf(leaf: Tensor, grad: Tensor, owned = false): boolean {
  if (leaf.grad === null) {
    leaf.grad = Tensor.fromTypedArray(owned ? grad.storage.data : grad.toTypedArray(), leaf.shape);
    return owned;
  }
  if (!sameShape(leaf.grad.shape, leaf.shape)) {
    throw new Error(
      `backward: existing .grad of shape ${shapeToString(leaf.grad.shape)} does not match its tensor ${shapeToString(leaf.shape)}`,
    );
  }
  addInPlace(leaf.grad, grad);
  return false;
}

/** Number of records ever appended (for specs that check the tape is released). */
export function tapePosition(): number {
  return tapeLength;
}
