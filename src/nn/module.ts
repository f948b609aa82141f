/**
 * Module: the base of every layer, encoder and head (PyTorch: torch.nn.Module).
 *
 * A module owns named parameters (leaf tensors with requiresGrad), named buffers (state that is
 * saved but not trained, such as BatchNorm's running statistics) and named child modules.
 * Registration is explicit — `this.registerParameter(name, t)`, `this.registerBuffer`,
 * `this.registerModule` — so that the order of `namedParameters()` is the order of registration,
 * as in PyTorch, and a state dict's keys are the dotted paths PyTorch would produce
 * ("encoder.0.weight").
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.js";
import { sameShape, shapeToString } from "../tensor/shape.js";
import { mutableStorage } from "../tensor/version.js";

/**
 * A leaf tensor that a module trains.
 * PyTorch: `torch.nn.Parameter`.
 */
export class Parameter extends Tensor {
  /**
   * Make a trainable leaf from `data`.
   *
   * @param data the initial values (used in place when contiguous, else copied).
   * @param requiresGrad whether it is trained (default true).
   */
  constructor(data: Tensor, requiresGrad = true) {
    super(data.isContiguous() && data.storage.offset === 0 ? data.storage : data.detach().clone().storage, requiresGrad);
  }
}

/**
 * The base of every layer and model: named parameters, buffers and child modules, registered explicitly so that state-dict keys and order
 * are PyTorch's. PyTorch: `torch.nn.Module`.
 */
export abstract class Module {
  /** True in training mode (the default), false after {@link Module.eval}. PyTorch: `Module.training`. */
  training = true;
  private readonly parameterSlots = new Map<string, Parameter | null>();
  private readonly bufferSlots = new Map<string, Tensor>();
  private readonly childSlots = new Map<string, Module>();

  /** The computation; subclasses define it with their own signature. */
  abstract forward(...inputs: unknown[]): unknown;

  /** Register a parameter under `name` (null for an absent optional one, e.g. no bias). PyTorch: `register_parameter`. */
  registerParameter(name: string, value: Parameter | null): void {
    this.checkName("registerParameter", name);
    this.parameterSlots.set(name, value);
  }

  /** Register a buffer, state that is saved but not trained (e.g. running statistics). PyTorch: `register_buffer`. */
  registerBuffer(name: string, value: Tensor): void {
    this.checkName("registerBuffer", name);
    this.bufferSlots.set(name, value);
  }

  /** Register a child module under `name`; returns the child. PyTorch: `add_module`. */
  registerModule<M extends Module>(name: string, child: M): M {
    this.checkName("registerModule", name);
    this.childSlots.set(name, child);
    return child;
  }

  private checkName(op: string, name: string): void {
    if (name === "" || name.includes(".")) throw new Error(`${this.constructor.name}.${op}: invalid name '${name}' (non-empty, no dots)`);
  }

  /** Replace a buffer's value (BatchNorm updates its running statistics this way). */
  protected setBuffer(name: string, value: Tensor): void {
    if (!this.bufferSlots.has(name)) throw new Error(`${this.constructor.name}: no buffer named '${name}'`);
    this.bufferSlots.set(name, value);
  }

  /** The current value of the buffer `name` (an error if there is none). */
  protected getBuffer(name: string): Tensor {
    const value = this.bufferSlots.get(name);
    if (!value) throw new Error(`${this.constructor.name}: no buffer named '${name}'`);
    return value;
  }

  /** The direct children with their names. PyTorch: `named_children`. */
  *namedChildren(): IterableIterator<[string, Module]> {
    yield* this.childSlots.entries();
  }

  /** The direct children. PyTorch: `children`. */
  *children(): IterableIterator<Module> {
    yield* this.childSlots.values();
  }

  /** This module and every descendant, depth first, with dotted names ("" for this one). */
  *namedModules(prefix = ""): IterableIterator<[string, Module]> {
    yield [prefix, this];
    for (const [name, child] of this.childSlots) yield* child.namedModules(prefix === "" ? name : `${prefix}.${name}`);
  }

  /** This module and every descendant, depth first. PyTorch: `modules`. */
  *modules(): IterableIterator<Module> {
    for (const [, module] of this.namedModules()) yield module;
  }

  /** Every parameter with its dotted name ("0.weight"), in registration order, each shared parameter once. PyTorch: `named_parameters`. */
  *namedParameters(prefix = ""): IterableIterator<[string, Parameter]> {
    const seen = new Set<Parameter>();
    for (const [path, module] of this.namedModules(prefix)) {
      for (const [name, parameter] of module.parameterSlots) {
        if (parameter === null || seen.has(parameter)) continue;
        seen.add(parameter);
        yield [path === "" ? name : `${path}.${name}`, parameter];
      }
    }
  }

  /** Every parameter, in the order of {@link Module.namedParameters}: what an optimizer takes. PyTorch: `parameters`. */
  parameters(): Parameter[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }

  /** Every buffer with its dotted name. PyTorch: `named_buffers`. */
  *namedBuffers(prefix = ""): IterableIterator<[string, Tensor]> {
    for (const [path, module] of this.namedModules(prefix)) {
      for (const [name, buffer] of module.bufferSlots) yield [path === "" ? name : `${path}.${name}`, buffer];
    }
  }

  /** Training mode (BatchNorm uses batch statistics, Dropout drops); returns this. */
  train(mode = true): this {
    for (const module of this.modules()) module.training = mode;
    return this;
  }

  /** Evaluation mode; returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Clear the `.grad` of every parameter (PyTorch sets them to None by default). */
  zeroGrad(): void {
    for (const parameter of this.parameters()) parameter.grad = null;
  }

  /** Turn gradients on or off for every parameter (freezing an encoder). */
  requiresGrad_(flag = true): this {
    for (const parameter of this.parameters()) parameter.requiresGrad = flag;
    return this;
  }

  /**
   * Every parameter and buffer by dotted name (the values, not copies), in PyTorch's
   * `state_dict()` order: a module's own parameters, then its own buffers, then each child's
   * entries, depth first — e.g. "0.weight", "0.bias", "1.weight", "1.bias", "1.runningMean",
   * "1.runningVar", "1.numBatchesTracked", "3.weight" for Linear–BatchNorm1d–ReLU–Linear.
   * As in torch, a parameter shared by two modules appears under both names.
   */
  stateDict(): Map<string, Tensor> {
    const state = new Map<string, Tensor>();
    for (const [path, module] of this.namedModules()) {
      const prefix = path === "" ? "" : `${path}.`;
      for (const [name, parameter] of module.parameterSlots) if (parameter !== null) state.set(prefix + name, parameter);
      for (const [name, buffer] of module.bufferSlots) state.set(prefix + name, buffer);
    }
    return state;
  }

  /**
   * Copy values into this module's parameters and buffers. Names and shapes are checked; with
   * `strict` (the default) a missing or unexpected key is an error, and nothing is changed unless
   * everything matches, so a failed load never leaves a half-loaded model.
   */
  loadStateDict(state: Map<string, Tensor> | Record<string, Tensor>, strict = true): {
    /** Keys of this module that `state` lacks (left unchanged). */
    missingKeys: string[];
    /** Keys of `state` this module does not have (ignored). */
    unexpectedKeys: string[];
  } {
    const incoming = state instanceof Map ? state : new Map(Object.entries(state));
    const own = this.stateDict();
    const missingKeys = [...own.keys()].filter((k) => !incoming.has(k));
    const unexpectedKeys = [...incoming.keys()].filter((k) => !own.has(k));
    if (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0)) {
      throw new Error(
        `${this.constructor.name}.loadStateDict: missing keys [${missingKeys.join(", ")}], unexpected keys [${unexpectedKeys.join(", ")}]`,
      );
    }
    for (const [name, target] of own) {
      const source = incoming.get(name);
      if (!source) continue;
      if (!sameShape(source.shape, target.shape)) {
        throw new Error(
          `${this.constructor.name}.loadStateDict: '${name}' has shape ${shapeToString(source.shape)} in the state dict but ${
            shapeToString(target.shape)
          } in the model`,
        );
      }
      if (source.dtype !== target.dtype) {
        throw new Error(
          `${this.constructor.name}.loadStateDict: '${name}' is ${source.dtype} in the state dict but ${target.dtype} in the model`,
        );
      }
    }
    for (const [name, target] of own) {
      const source = incoming.get(name);
      if (!source) continue;
      copyInto(target, source);
    }
    return { missingKeys, unexpectedKeys };
  }
}

/**
 * Overwrite the values of contiguous `target` with those of `source` (same shape), outside autograd.
 * PyTorch: `target.copy_(source)` under `torch.no_grad()`.
 */
export function copyInto(target: Tensor, source: Tensor): void {
  if (!target.isContiguous()) throw new Error("copyInto: target must be contiguous");
  const values = source.toTypedArray();
  const { data, offset } = mutableStorage(target);
  data.set(values, offset);
}
