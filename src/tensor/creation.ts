/**
 * Creating tensors: from values, constants, ranges and seeded random draws.
 * PyTorch: torch.tensor, zeros, ones, full, eye, arange, rand, randn (camelCase here).
 *
 * @module
 */
import { Tensor, allocate, checkDType, dtypeOf, type DType, type NestedArray, type TypedArray } from "./tensor.js";
import { checkShape, numel, shapeToString, type Shape } from "./shape.js";
import type { Generator } from "./random.js";
import { checkOptions } from "./options.js";

/** The options every creation function takes. */
export interface TensorOptions {
  /** Element type (default `"float32"`). */
  dtype?: DType;
  /** Make a leaf that gradients accumulate into (default false). */
  requiresGrad?: boolean;
}

/** Options of {@link tensor}: {@link TensorOptions} plus an explicit shape. */
export interface TensorFromValuesOptions extends TensorOptions {
  /** Required when `values` is a flat typed array or flat list meant as a multi-dimensional tensor. */
  shape?: Shape;
}

/**
 * `tensor(3)` is 0-d, `tensor([[1, 2], [3, 4]])` is (2, 2), `tensor(float32Array, { shape: [2, 3] })`
 * wraps a copy of typed data. The dtype defaults to float32, or to the typed array's own type.
 * PyTorch: `torch.tensor`.
 */
export function tensor(values: number | NestedArray | TypedArray, options: TensorFromValuesOptions = {}): Tensor {
  checkOptions("tensor", options, { dtype: true, requiresGrad: true, shape: true });
  let flat: number[] | TypedArray;
  let inferredShape: number[];
  if (typeof values === "number") {
    flat = [values];
    inferredShape = [];
  } else if (values instanceof Float32Array || values instanceof Float64Array) {
    flat = values;
    inferredShape = [values.length];
  } else {
    inferredShape = inferShape(values);
    flat = flattenNested(values);
    for (const v of flat) {
      if (typeof v !== "number") throw new Error(`tensor: every value must be a number, got ${typeof v}`);
    }
  }
  const shape = options.shape ? options.shape.slice() : inferredShape;
  checkShape("tensor", shape);
  if (numel(shape) !== flat.length) {
    throw new Error(`tensor: ${flat.length} values cannot fill shape ${shapeToString(shape)} (needs ${numel(shape)})`);
  }
  const dtype = checkDType("tensor", options.dtype, flat instanceof Float64Array ? "float64" : "float32");
  const data = allocate(dtype, flat.length);
  data.set(flat);
  return Tensor.fromTypedArray(data, shape, options.requiresGrad ?? false);
}

function flattenNested(values: NestedArray): number[] {
  const out: number[] = [];
  const walk = (node: NestedArray): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else out.push(node);
  };
  walk(values);
  return out;
}

function inferShape(values: NestedArray): number[] {
  const shape: number[] = [];
  let level: NestedArray = values;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  // Check that the nesting is rectangular, so that a ragged list is an error and not a wrong shape.
  const check = (node: NestedArray, axis: number): void => {
    if (axis === shape.length) {
      if (Array.isArray(node)) {
        throw new Error(`tensor: ragged nested array (too deep at axis ${axis}, expected shape ${shapeToString(shape)})`);
      }
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[axis]) {
      throw new Error(`tensor: ragged nested array (axis ${axis} should have length ${shape[axis]}, shape ${shapeToString(shape)})`);
    }
    for (const child of node) check(child, axis + 1);
  };
  check(values, 0);
  return shape;
}

/** A tensor of `shape` filled with `value` (float32 unless `options.dtype`). PyTorch: `torch.full`. */
export function full(shape: Shape, value: number, options: TensorOptions = {}): Tensor {
  return filled("full", shape, value, options);
}

/** A tensor of `shape` filled with 0. PyTorch: `torch.zeros`. */
export function zeros(shape: Shape, options: TensorOptions = {}): Tensor {
  return filled("zeros", shape, 0, options);
}

/** A tensor of `shape` filled with 1. PyTorch: `torch.ones`. */
export function ones(shape: Shape, options: TensorOptions = {}): Tensor {
  return filled("ones", shape, 1, options);
}

/** Zeros with the shape and dtype of `like` (the dtype can be overridden). PyTorch: `torch.zeros_like`. */
export function zerosLike(like: Tensor, options: TensorOptions = {}): Tensor {
  return filledLike("zerosLike", like, 0, options);
}

/** Ones with the shape and dtype of `like`. PyTorch: `torch.ones_like`. */
export function onesLike(like: Tensor, options: TensorOptions = {}): Tensor {
  return filledLike("onesLike", like, 1, options);
}

/** `value` everywhere, with the shape and dtype of `like`. PyTorch: `torch.full_like`. */
export function fullLike(like: Tensor, value: number, options: TensorOptions = {}): Tensor {
  return filledLike("fullLike", like, value, options);
}

const TENSOR_OPTION_KEYS = { dtype: true, requiresGrad: true } as const;

/** The *Like forms: the shape and (by default) the dtype of `like`. */
function filledLike(fn: string, like: Tensor, value: number, options: TensorOptions): Tensor {
  checkOptions(fn, options, TENSOR_OPTION_KEYS);
  if (!(like instanceof Tensor)) throw new Error(`${fn}: like must be a Tensor, got ${like === null ? "null" : typeof like}`);
  return filled(fn, like.shape, value, options, like.dtype);
}

/** full, zeros, ones and the *Like forms, each checking its arguments under its own name. */
function filled(fn: string, shape: Shape, value: number, options: TensorOptions, defaultDType: DType = "float32"): Tensor {
  checkOptions(fn, options, TENSOR_OPTION_KEYS);
  const dtype = checkDType(fn, options.dtype, defaultDType);
  checkShape(fn, shape);
  const data = allocate(dtype, numel(shape));
  data.fill(value);
  return Tensor.fromTypedArray(data, shape, options.requiresGrad ?? false);
}

/**
 * n×m identity (m defaults to n).
 * PyTorch: `torch.eye`.
 */
export function eye(n: number, m = n, options: TensorOptions = {}): Tensor {
  checkOptions("eye", options, TENSOR_OPTION_KEYS);
  const dtype = checkDType("eye", options.dtype);
  checkShape("eye", [n, m]);
  const data = allocate(dtype, n * m);
  for (let i = 0; i < Math.min(n, m); i++) data[i * m + i] = 1;
  return Tensor.fromTypedArray(data, [n, m], options.requiresGrad ?? false);
}

/**
 * `arange(end)` or `arange(start, end, step)`: start, start+step, … < end.
 * PyTorch: `torch.arange`.
 */
export function arange(startOrEnd: number, end?: number, step = 1, options: TensorOptions = {}): Tensor {
  checkOptions("arange", options, TENSOR_OPTION_KEYS);
  const start = end === undefined ? 0 : startOrEnd;
  const stop = end === undefined ? startOrEnd : end;
  if (step === 0 || !Number.isFinite(step)) throw new Error(`arange: step must be a non-zero finite number, got ${step}`);
  if (!Number.isFinite(start) || !Number.isFinite(stop)) {
    throw new Error(`arange: start and end must be finite numbers, got start=${start}, end=${stop}`);
  }
  const dtype = checkDType("arange", options.dtype);
  const count = Math.max(0, Math.ceil((stop - start) / step));
  checkShape("arange", [count]);
  const data = allocate(dtype, count);
  for (let i = 0; i < count; i++) data[i] = start + i * step;
  return Tensor.fromTypedArray(data, [count], options.requiresGrad ?? false);
}

/**
 * Uniform [0, 1) draws from an explicit seeded generator.
 * PyTorch: `torch.rand(shape, generator=g)`.
 */
export function rand(shape: Shape, generator: Generator, options: TensorOptions = {}): Tensor {
  checkOptions("rand", options, TENSOR_OPTION_KEYS);
  requireGenerator("rand", generator);
  const dtype = checkDType("rand", options.dtype);
  checkShape("rand", shape);
  const data = allocate(dtype, numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = generator.random();
  return Tensor.fromTypedArray(data, shape, options.requiresGrad ?? false);
}

/**
 * Standard normal draws from an explicit seeded generator.
 * PyTorch: `torch.randn(shape, generator=g)`.
 */
export function randn(shape: Shape, generator: Generator, options: TensorOptions = {}): Tensor {
  checkOptions("randn", options, TENSOR_OPTION_KEYS);
  requireGenerator("randn", generator);
  const dtype = checkDType("randn", options.dtype);
  checkShape("randn", shape);
  const data = allocate(dtype, numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = generator.normal();
  return Tensor.fromTypedArray(data, shape, options.requiresGrad ?? false);
}

function requireGenerator(opName: string, generator: Generator | undefined): void {
  if (!generator || typeof (generator as Generator).random !== "function") {
    throw new Error(`${opName}: pass a seeded Generator (new Generator(seed)); there is no global random state`);
  }
}

export { dtypeOf };
