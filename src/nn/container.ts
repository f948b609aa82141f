/**
 * Containers (PyTorch: torch.nn.Sequential, torch.nn.ModuleList).
 *
 *   Sequential(m₀, m₁, …, mₖ)(x) = mₖ(… m₁(m₀(x)))
 *
 * Children are named "0", "1", … in order, exactly as PyTorch names them, so the state-dict keys of
 * `new Sequential(new Linear(784, 256, …), new ReLU(), new Linear(256, 10, …))` are
 * "0.weight", "0.bias", "2.weight", "2.bias" — those of the equivalent nn.Sequential. Modules without
 * parameters (ReLU) still take an index, as in PyTorch.
 *
 * ModuleList holds modules under the same "0", "1", … names without defining a forward
 * (TransformerEncoder keeps its layers in one, as PyTorch's `layers`).
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.js";
import { Module } from "./module.js";

/** A module whose forward maps one tensor to one tensor: what a Sequential can chain. */
export interface TensorModule extends Module {
  forward(x: Tensor): Tensor;
}

/** An indexed list of modules, registered as children "0", "1", …; it has no forward (iterate over it). PyTorch: `torch.nn.ModuleList`. */
export class ModuleList<M extends Module = Module> extends Module {
  private readonly items: M[] = [];

  /**
   * A list of `modules`, registered as "0", "1", ….
   *
   * @param modules the initial modules (default none), appended in order.
   */
  constructor(modules: Iterable<M> = []) {
    super();
    for (const module of modules) this.append(module);
  }

  /** Add a module at the end, named by its index. Returns this (as PyTorch's append). */
  append(module: M): this {
    if (!(module instanceof Module)) throw new Error(`${this.constructor.name}.append: expected a Module, got ${typeof module}`);
    this.registerModule(String(this.items.length), module);
    this.items.push(module);
    return this;
  }

  /** The number of modules. */
  get length(): number {
    return this.items.length;
  }

  /** The module at `index` (negative counts from the end), as PyTorch's `seq[i]`. */
  at(index: number): M {
    const i = index < 0 ? index + this.items.length : index;
    if (!Number.isInteger(i) || i < 0 || i >= this.items.length) {
      throw new Error(`${this.constructor.name}.at: index ${index} is out of range for ${this.items.length} module(s)`);
    }
    return this.items[i];
  }

  /** The modules in order (`for (const m of list)`). */
  [Symbol.iterator](): IterableIterator<M> {
    return this.items[Symbol.iterator]();
  }

  forward(..._inputs: unknown[]): unknown {
    throw new Error("ModuleList: has no forward; iterate over its modules");
  }
}

/** Modules applied in order, `mₖ(… m₁(m₀(x)))`, named "0", "1", … as in PyTorch. PyTorch: `torch.nn.Sequential`. */
export class Sequential extends ModuleList<TensorModule> {
  /**
   * Chain `modules`, registered as "0", "1", ….
   *
   * @param modules the modules to chain, each mapping one tensor to one tensor.
   */
  constructor(...modules: TensorModule[]) {
    super(modules);
  }

  override forward(x: Tensor): Tensor {
    let out = x;
    for (const module of this) out = module.forward(out);
    return out;
  }
}
