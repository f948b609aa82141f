/**
 * Optimizer: the base of SGD, Adam, AdamW and LARS (PyTorch: torch.optim.Optimizer).
 *
 * An optimizer holds *parameter groups*. Each group is a list of parameters plus its own
 * hyperparameters (lr, weight decay, …), so that, for example, biases can get no weight decay and
 * a head can get a larger learning rate:
 *
 *   new SGD(model.parameters(), { lr: 0.1 })                        // one group
 *   new SGD(model.namedParameters(), { lr: 0.1 })                   // one group, with names
 *   new SGD([{ params: backbone, lr: 0.01 }, { params: head }], { lr: 0.1 })  // two groups
 *
 * Options missing from a group are filled from the defaults (the second argument), as in
 * PyTorch. `optimizer.paramGroups[i].lr` may be changed at any time (a schedule does exactly
 * that); it is read at every `step()`.
 *
 * Per-parameter state (momentum buffers, Adam moments, step counts) lives in `state`, a map from
 * the parameter to a record of tensors and numbers, created on the parameter's first step.
 *
 * The update itself runs directly on the typed arrays of the parameters: a parameter is updated
 * in place, nothing is recorded on the autograd tape (PyTorch's `@torch.no_grad()` on `step`),
 * and no memory is allocated per element or per step once the state exists.
 *
 * @module
 */
import { Tensor, allocate, type TypedArray } from "../tensor/tensor.js";
import { sameShape, shapeToString } from "../tensor/shape.js";
import { enableGrad } from "../autograd/tape.js";
import { contiguousData } from "../ops/util.js";
import { checkOptionKeys } from "../tensor/options.js";

/** A parameter with its dotted name, as yielded by `module.namedParameters()`. */
export type NamedTensor = readonly [string, Tensor];

/** A plain list of parameters, or a list of (name, parameter) pairs. */
export type ParamList = Iterable<Tensor> | Iterable<NamedTensor>;

/** One group as given to a constructor: its parameters and any options that override the defaults. */
export type ParamGroupSpec<O> = Partial<O> & {
  /** The group's parameters (plain or named). */
  params: ParamList;
};

/** What an optimizer constructor accepts: a parameter list, a named list, or a list of groups. */
export type OptimizerParams<O> = ParamList | Iterable<ParamGroupSpec<O>>;

/** The fields every group has besides its hyperparameters. */
export interface ParamGroupFields {
  /** The parameters of this group (contiguous leaf tensors). */
  params: Tensor[];
  /** Their names, when the optimizer was built from named parameters (PyTorch ≥ 2.6: `param_names`). */
  paramNames?: string[];
  /** The learning rate a scheduler started from (PyTorch: `initial_lr`, set by the scheduler). */
  initialLr?: number;
}

/**
 * One parameter group: its hyperparameters `O` (lr, …) plus the {@link ParamGroupFields}. PyTorch: an entry of `optimizer.param_groups`.
 */
export type ParamGroup<O> = O & ParamGroupFields;

/** One value of per-parameter state: a buffer shaped like the parameter, or a number (a step count). */
export type StateValue = Tensor | number;
/** The state of one parameter: named buffers and counters (e.g. `momentumBuffer`, `step`). */
export type ParamState = Record<string, StateValue>;

/** Which state keys a parameter may have, and whether each is a tensor or a number. */
export interface StateSchema {
  /** The keys every state has once the parameter has taken a step. */
  required: Record<string, "tensor" | "number">;
  /** The keys a state may have. */
  optional?: Record<string, "tensor" | "number">;
}

/**
 * The resumable state of an optimizer (PyTorch: `optimizer.state_dict()`), as plain data:
 * parameters are referred to by their index in the order of the groups (0, 1, …), `state[i]` is
 * the state of parameter i (absent before its first step), and each group lists its options and the
 * indices of its parameters. Tensors here are copies, not the live buffers.
 */
export interface OptimizerStateDict {
  /** The state of each parameter, by its index. */
  state: Record<number, ParamState>;
  /** Each group's options with the indices (and names, if any) of its parameters. */
  paramGroups: Array<
    Record<string, unknown> & {
      /** The indices of the group's parameters. */
      params: number[];
      /** Their names, when the optimizer has them. */
      paramNames?: string[];
    }
  >;
}

/** The contiguous gradient of one parameter, as a typed array and an offset into it. */
export interface GradientView {
  /** The buffer holding the gradient's values. */
  data: TypedArray;
  /** The index of the gradient's first value in `data`. */
  offset: number;
}

/**
 * The base of {@link SGD}, {@link Adam}, {@link AdamW} and {@link LARS}: parameter groups with their own hyperparameters, per-parameter
 * state, `step()`, `zeroGrad()` and a resumable state dict. PyTorch: `torch.optim.Optimizer`.
 */
export abstract class Optimizer<
  O extends {
    /** Every optimizer has a learning rate. */
    lr: number;
  },
> {
  /** The options a group falls back to (the constructor's second argument, with defaults filled in). */
  readonly defaults: O;
  /** The parameter groups; change `paramGroups[i].lr` at any time (schedules do). PyTorch: `param_groups`. */
  readonly paramGroups: ParamGroup<O>[] = [];
  /** Per-parameter state, keyed by the parameter tensor itself (as PyTorch's `optimizer.state`). */
  state = new Map<Tensor, ParamState>();

  /** The names of the options a group has (anything else is a typo, e.g. `weight_decay`). */
  private readonly optionNames: readonly string[];

  protected constructor(params: OptimizerParams<O>, defaults: O, optionNames: readonly (keyof O & string)[]) {
    this.optionNames = optionNames;
    this.checkOptions(defaults, "options", true);
    this.defaults = defaults;
    const groups = toGroupSpecs(this.constructor.name, params);
    if (groups.length === 0) throw new Error(`${this.constructor.name}: optimizer got an empty parameter list`);
    for (const group of groups) this.addParamGroup(group);
  }

  /** The option values must be valid (lr ≥ 0, 0 ≤ β < 1, …); throws naming the bad value. */
  protected abstract validateOptions(options: O, where: string): void;

  /** The state keys this optimizer keeps per parameter in `group` (checked by `loadStateDict`). */
  protected abstract stateSchema(group: ParamGroup<O>): StateSchema;

  /**
   * Update one parameter in place from its gradient. `state` is the parameter's state record
   * (empty `{}` on its first step; fill it). `name` is the parameter's name when the optimizer was
   * built from named parameters.
   */
  protected abstract updateParameter(
    group: ParamGroup<O>,
    param: Tensor,
    grad: GradientView,
    state: ParamState,
    name: string | undefined,
  ): void;

  /**
   * One optimization step over every parameter that has a gradient (parameters whose `.grad` is
   * null are skipped, as in PyTorch). `closure`, if given, re-evaluates the loss with gradients
   * enabled and its value is returned (PyTorch's `step(closure)`).
   */
  step<T>(closure?: () => T): T | undefined {
    const loss = closure ? enableGrad(closure) : undefined;
    for (const group of this.paramGroups) {
      for (let i = 0; i < group.params.length; i++) {
        const param = group.params[i];
        const grad = param.grad;
        if (grad === null) continue;
        const name = group.paramNames?.[i];
        if (!sameShape(grad.shape, param.shape) || grad.dtype !== param.dtype) {
          throw new Error(
            `${this.constructor.name}.step: parameter ${describe(name, param)} has a gradient of shape ${
              shapeToString(grad.shape)
            } (${grad.dtype}); ` +
              `expected ${shapeToString(param.shape)} (${param.dtype})`,
          );
        }
        if (!param.isContiguous()) {
          throw new Error(
            `${this.constructor.name}.step: parameter ${describe(name, param)} is not contiguous; optimize a contiguous tensor`,
          );
        }
        let state = this.state.get(param);
        if (state === undefined) {
          state = {};
          this.state.set(param, state);
        }
        this.updateParameter(group, param, contiguousData(grad), state, name);
      }
    }
    return loss;
  }

  /**
   * Clear the gradients of every parameter. With `setToNone` (the default, as PyTorch ≥ 2.0)
   * `.grad` becomes null, and a reference the caller kept to the old `.grad` is never written again;
   * otherwise the same `.grad` buffer is filled with zeros in place (a kept reference sees the zeros,
   * then the next backward's sum).
   */
  zeroGrad(setToNone = true): void {
    for (const group of this.paramGroups) {
      for (const param of group.params) {
        if (param.grad === null) continue;
        if (setToNone) param.grad = null;
        else if (param.grad.isContiguous()) {
          // In place, as PyTorch's grad.zero_(): the next backward sums into this same buffer.
          const { data, offset } = param.grad.storage;
          data.fill(0, offset, offset + param.grad.numel());
        } else param.grad = Tensor.fromTypedArray(allocate(param.dtype, param.numel()), param.shape);
      }
    }
  }

  /** Add a group (PyTorch: `add_param_group`); its missing options come from the defaults. */
  addParamGroup(spec: ParamGroupSpec<O>): void {
    const op = `${this.constructor.name}.addParamGroup`;
    if (spec === null || typeof spec !== "object" || !("params" in spec)) {
      throw new Error(`${op}: a parameter group must be an object with a 'params' list`);
    }
    const { params: rawParams, ...overrides } = spec as ParamGroupSpec<O> & Record<string, unknown>;
    const { params, names } = toParamList(op, rawParams);
    if (params.length === 0) throw new Error(`${op}: parameter group ${this.paramGroups.length} has no parameters`);
    const seen = new Set<Tensor>(this.paramGroups.flatMap((g) => g.params));
    params.forEach((param, i) => {
      const name = names?.[i];
      if (!param.isLeaf) {
        throw new Error(`${op}: cannot optimize a non-leaf tensor (${describe(name, param)}); optimize the leaf it was computed from`);
      }
      if (!param.isContiguous()) throw new Error(`${op}: parameter ${describe(name, param)} is not contiguous`);
      if (seen.has(param)) {
        throw new Error(`${op}: parameter ${describe(name, param)} appears more than once (in this group or an earlier one)`);
      }
      seen.add(param);
    });
    const options = { ...cloneOptions(this.defaults as unknown as Record<string, unknown>), ...cloneOptions(overrides) } as unknown as O & {
      initialLr?: number;
    };
    this.checkOptions(options, `parameter group ${this.paramGroups.length}`);
    const group = { ...options, params } as ParamGroup<O>;
    if (names) group.paramNames = names;
    this.paramGroups.push(group);
  }

  /** A copy of the state and the group options (PyTorch: `state_dict()`). */
  stateDict(): OptimizerStateDict {
    // Parameters are numbered 0, 1, … across the groups, in order (as PyTorch does).
    const indexOf = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((group) => {
      const { params, paramNames, ...options } = group;
      const indices = params.map((param) => {
        indexOf.set(param, indexOf.size);
        return indexOf.size - 1;
      });
      const entry = { ...cloneOptions(options as Record<string, unknown>), params: indices } as OptimizerStateDict["paramGroups"][number];
      if (paramNames) entry.paramNames = paramNames.slice();
      return entry;
    });
    const state: Record<number, ParamState> = {};
    for (const [param, index] of indexOf) {
      const entry = this.state.get(param);
      if (entry === undefined) continue;
      const copy: ParamState = {};
      for (const [key, value] of Object.entries(entry)) copy[key] = value instanceof Tensor ? copyTensor(value) : value;
      state[index] = copy;
    }
    return { state, paramGroups };
  }

  /**
   * Restore a `stateDict()` (PyTorch: `load_state_dict`). The groups must have the same sizes as
   * this optimizer's; the saved options replace the current ones, as in PyTorch. Everything is
   * checked before anything changes: a bad state dict throws and leaves the optimizer as it was.
   * State tensors are copied (and cast to the parameter's dtype, as PyTorch does).
   */
  loadStateDict(stateDict: OptimizerStateDict): void {
    const op = `${this.constructor.name}.loadStateDict`;
    if (!stateDict || !Array.isArray(stateDict.paramGroups) || typeof stateDict.state !== "object" || stateDict.state === null) {
      throw new Error(`${op}: expected { state, paramGroups }`);
    }
    const saved = stateDict.paramGroups;
    if (saved.length !== this.paramGroups.length) {
      throw new Error(`${op}: the state dict has ${saved.length} parameter groups, this optimizer has ${this.paramGroups.length}`);
    }
    const paramOfIndex = new Map<number, { param: Tensor; group: ParamGroup<O>; name?: string }>();
    const newOptions: Array<O & { initialLr?: number }> = [];
    saved.forEach((savedGroup, g) => {
      const group = this.paramGroups[g];
      const { params: indices, paramNames, ...options } = savedGroup;
      if (!Array.isArray(indices) || indices.length !== group.params.length) {
        throw new Error(
          `${op}: parameter group ${g} has ${
            Array.isArray(indices) ? indices.length : "no"
          } parameters in the state dict, ${group.params.length} in this optimizer`,
        );
      }
      if (paramNames !== undefined && group.paramNames !== undefined) {
        const differ = paramNames.findIndex((n, i) => n !== group.paramNames![i]);
        if (differ >= 0) {
          throw new Error(
            `${op}: parameter ${differ} of group ${g} is '${paramNames[differ]}' in the state dict but '${
              group.paramNames[differ]
            }' in this optimizer`,
          );
        }
      }
      indices.forEach((index, i) => {
        if (!Number.isInteger(index) || paramOfIndex.has(index)) {
          throw new Error(`${op}: group ${g} has an invalid or repeated parameter index ${String(index)}`);
        }
        paramOfIndex.set(index, { param: group.params[i], group, name: group.paramNames?.[i] });
      });
      const merged = cloneOptions(options) as unknown as O & { initialLr?: number };
      this.checkOptions(merged, `parameter group ${g} of the state dict`, true);
      newOptions.push(merged);
    });
    const newState = new Map<Tensor, ParamState>();
    for (const [key, entry] of Object.entries(stateDict.state)) {
      const target = paramOfIndex.get(Number(key));
      if (target === undefined) throw new Error(`${op}: state for parameter index ${key}, which no group of the state dict lists`);
      const { param, group, name } = target;
      const groupIndex = this.paramGroups.indexOf(group);
      const schema = this.stateSchema({ ...group, ...newOptions[groupIndex] });
      newState.set(param, this.checkParamState(op, entry, param, name, schema));
    }
    // Everything is valid: apply.
    this.paramGroups.forEach((group, g) => {
      const { params, paramNames } = group;
      for (const key of Object.keys(group)) delete (group as unknown as Record<string, unknown>)[key];
      Object.assign(group, newOptions[g], { params });
      if (paramNames) group.paramNames = paramNames;
    });
    this.state = newState;
  }

  /** Check an options object: known keys only, every default key present, valid values. */
  private checkOptions(options: object, where: string, requireAll = false): void {
    const op = this.constructor.name;
    const known = this.optionNames;
    checkOptionKeys(`${op}: ${where}`, options, [...known, "initialLr"]); // the shared check (src/tensor/options.ts)
    const initialLr = (options as { initialLr?: unknown }).initialLr;
    if (initialLr !== undefined && (typeof initialLr !== "number" || !Number.isFinite(initialLr))) {
      throw new Error(`${op}: ${where}: initialLr must be a finite number, got ${String(initialLr)}`);
    }
    if (requireAll) {
      for (const key of known) if (!(key in options)) throw new Error(`${op}: ${where}: missing option '${key}'`);
    }
    this.validateOptions(options as O, where);
  }

  private checkParamState(op: string, entry: unknown, param: Tensor, name: string | undefined, schema: StateSchema): ParamState {
    const who = `state of parameter ${describe(name, param)}`;
    if (entry === null || typeof entry !== "object") throw new Error(`${op}: ${who} is not an object`);
    const kinds = { ...schema.required, ...(schema.optional ?? {}) };
    const out: ParamState = {};
    for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
      const kind = kinds[key];
      if (kind === undefined) throw new Error(`${op}: ${who} has an unknown key '${key}' (expected ${Object.keys(kinds).join(", ")})`);
      if (kind === "number") {
        if (typeof value !== "number" || !Number.isFinite(value)) {
          throw new Error(`${op}: ${who}: '${key}' must be a finite number, got ${String(value)}`);
        }
        out[key] = value;
      } else {
        if (!(value instanceof Tensor)) throw new Error(`${op}: ${who}: '${key}' must be a Tensor`);
        if (!sameShape(value.shape, param.shape)) {
          throw new Error(
            `${op}: ${who}: '${key}' has shape ${shapeToString(value.shape)}, the parameter has shape ${shapeToString(param.shape)}`,
          );
        }
        const data = allocate(param.dtype, param.numel());
        data.set(value.toTypedArray());
        out[key] = Tensor.fromTypedArray(data, param.shape);
      }
    }
    for (const key of Object.keys(schema.required)) if (!(key in out)) throw new Error(`${op}: ${who} lacks '${key}'`);
    return out;
  }
}

// ---- helpers shared by the optimizers ---------------------------------------------------------

/** "'encoder.weight' (shape [3, 4])" or "of shape [3, 4]" when unnamed. */
export function describe(name: string | undefined, param: Tensor): string {
  return name === undefined ? `of shape ${shapeToString(param.shape)}` : `'${name}' (shape ${shapeToString(param.shape)})`;
}

/** A zero-filled buffer with the parameter's dtype and shape (PyTorch: `torch.zeros_like(p)`). */
export function zerosLikeParam(param: Tensor): Tensor {
  return Tensor.fromTypedArray(allocate(param.dtype, param.numel()), param.shape);
}

export function copyTensor(t: Tensor): Tensor {
  return Tensor.fromTypedArray(t.toTypedArray(), t.shape);
}

export function checkNumber(
  op: string,
  where: string,
  name: string,
  value: unknown,
  min: number,
  max = Infinity,
  maxExclusive = false,
): void {
  if (typeof value !== "number" || Number.isNaN(value) || value < min || (maxExclusive ? value >= max : value > max)) {
    const range = max === Infinity ? `≥ ${min}` : `in [${min}, ${max}${maxExclusive ? ")" : "]"}`;
    throw new Error(`${op}: ${where}: invalid ${name} ${String(value)} (must be a number ${range})`);
  }
}

/** `defaults` overridden by the options that are set (an option given as `undefined` keeps its default). */
export function withDefaults<O extends object>(defaults: O, options: Partial<O>): O {
  const out: Record<string, unknown> = { ...(defaults as unknown as Record<string, unknown>) };
  for (const [key, value] of Object.entries(options)) if (value !== undefined) out[key] = value;
  return out as O;
}

function cloneOptions(options: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) if (value !== undefined) out[key] = Array.isArray(value) ? value.slice() : value;
  return out;
}

function isNamed(item: unknown): item is NamedTensor {
  return Array.isArray(item) && item.length === 2 && typeof item[0] === "string" && item[1] instanceof Tensor;
}

/** A list of parameters or (name, parameter) pairs → parameters and (all or no) names. */
function toParamList(op: string, raw: unknown): { params: Tensor[]; names?: string[] } {
  if (raw instanceof Tensor) throw new Error(`${op}: params must be a list of tensors, got a single Tensor; wrap it: [tensor]`);
  if (raw === null || typeof raw !== "object" || !(Symbol.iterator in raw)) {
    throw new Error(`${op}: params must be an iterable of tensors or of [name, tensor] pairs`);
  }
  const items = [...(raw as Iterable<unknown>)];
  const named = items.filter(isNamed).length;
  if (named > 0 && named !== items.length) {
    throw new Error(`${op}: params mixes named [name, tensor] pairs and plain tensors; use one or the other`);
  }
  if (named > 0) {
    const pairs = items as NamedTensor[];
    return { params: pairs.map(([, p]) => p), names: pairs.map(([n]) => n) };
  }
  items.forEach((item, i) => {
    if (!(item instanceof Tensor)) throw new Error(`${op}: params[${i}] is not a Tensor (${item === null ? "null" : typeof item})`);
  });
  return { params: items as Tensor[] };
}

/** The constructor's first argument → a list of group specs. */
function toGroupSpecs<O>(op: string, params: OptimizerParams<O>): ParamGroupSpec<O>[] {
  if (params instanceof Tensor) throw new Error(`${op}: params must be a list of tensors, got a single Tensor; wrap it: [tensor]`);
  if (params === null || typeof params !== "object" || !(Symbol.iterator in params)) {
    throw new Error(`${op}: params must be a list of tensors, of [name, tensor] pairs, or of parameter groups`);
  }
  const items = [...(params as Iterable<unknown>)];
  const groups = items.filter((item) =>
    item !== null && typeof item === "object" && !(item instanceof Tensor) && !Array.isArray(item) && "params" in item
  );
  if (groups.length === 0) return items.length === 0 ? [] : [{ params: items as Tensor[] } as unknown as ParamGroupSpec<O>];
  if (groups.length !== items.length) {
    throw new Error(`${op}: params mixes parameter groups ({ params, … }) and tensors; use one or the other`);
  }
  return groups as ParamGroupSpec<O>[];
}
