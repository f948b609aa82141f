/**
 * The registry of differentiable primitives: every op that puts a record on the tape is defined
 * through it, once, by name, whichever folder it lives in (src/ops, src/nn, src/losses).
 *
 *   // e^a:  ∂/∂a = e^a (the output itself)
 *   export const exp = defineOp("exp", (a: Tensor) => {
 *     const out = …;                                              // forward
 *     return { output: out, inputs: [a], backward: (g) => [mul(g, out)] };   // rule
 *   });
 *
 * A definition is a name and a forward. The forward computes the output and returns it together
 * with its inputs and its rule (the vector–Jacobian product ḡ_input = ḡ_output · ∂output/∂input,
 * one gradient per input), written next to each other. The rule is a closure over what the
 * forward computed, the way PyTorch's `ctx.save_for_backward` keeps tensors for `backward`. The
 * function `defineOp` returns *is* the op: it runs the forward and appends the record to the tape
 * (src/autograd/tape.ts) when an input needs a gradient. A forward may also return
 * `{ unchanged: x }` when the call turned out to be the identity (a cast to the dtype the input
 * already has): nothing is recorded then, and the op returns x itself.
 *
 * Recording goes only through here, so the registry lists every primitive, and one spec
 * (spec/autograd/gradcheck-table.spec.ts) fails when a registered op has no gradient-check row:
 * adding an op without its check cannot go unnoticed. Composite ops (mean = sum / n, var, norm,
 * linear, the losses written with tensor ops) record nothing of their own and are not registered.
 *
 * tinygrad keeps its primitive rules in one table the same way. PyTorch: the rules of
 * tools/autograd/derivatives.yaml, and `torch.autograd.Function` (forward + backward) for your own.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";
import { record, type BackwardRule } from "./tape.js";

/** What a forward returns: its output, the tensors the rule differentiates with respect to, the rule. */
export interface Recordable {
  readonly output: Tensor;
  /** One rule output per input, in this order (null in the rule: no gradient for that input). */
  readonly inputs: Tensor[];
  readonly backward: BackwardRule;
}

/** What a forward returns when the call is the identity: the input itself, nothing recorded. */
export interface Unchanged {
  readonly unchanged: Tensor;
}

/** A registered primitive: its name (on the tape, in errors, in the gradcheck table) and forward. */
export interface OpDefinition<Args extends unknown[] = never[]> {
  readonly name: string;
  readonly forward: (...args: Args) => Recordable | Unchanged;
}

/** The op a definition produces: call it like a function; `.definition` is its registry entry. */
export type Op<Args extends unknown[]> = ((...args: Args) => Tensor) & { readonly definition: OpDefinition<Args> };

/**
 * A table of op definitions by name. The library's ops live in `opRegistry`; a spec that needs a
 * throwaway op (a deliberately wrong rule, to prove the gradient check fails) makes its own table,
 * so the library's list stays exactly the library's primitives.
 */
export class OpRegistry {
  private readonly definitions = new Map<string, OpDefinition<never>>();

  /** Register `forward` under `name` and return the recording op. */
  define<Args extends unknown[]>(name: string, forward: (...args: Args) => Recordable | Unchanged): Op<Args> {
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(name)) throw new Error(`defineOp: op name '${name}' must be a camelCase identifier`);
    if (this.definitions.has(name)) throw new Error(`defineOp: an op named '${name}' is already registered; op names are unique`);
    const definition: OpDefinition<Args> = Object.freeze({ name, forward });
    this.definitions.set(name, definition as unknown as OpDefinition<never>);
    const op = (...args: Args): Tensor => {
      const result = forward(...args);
      if ("unchanged" in result) return result.unchanged; // the identity: nothing to record
      return record(name, result.inputs, result.output, result.backward);
    };
    return Object.assign(op, { definition });
  }

  /** The names of every registered op, in registration order. */
  names(): string[] {
    return [...this.definitions.keys()];
  }

  has(name: string): boolean {
    return this.definitions.has(name);
  }
}

/** The library's registry: every differentiable primitive of src/ops, src/nn and src/losses. */
export const opRegistry = new OpRegistry();

/** Define a library primitive (see the top of this file); returns the op. */
export function defineOp<Args extends unknown[]>(name: string, forward: (...args: Args) => Recordable | Unchanged): Op<Args> {
  return opRegistry.define(name, forward);
}
